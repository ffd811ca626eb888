"""Tokenize a held-out event sequence with a fixed vocabulary, offline.

Training needs the validation interval as tokens of the model's vocabulary. The
online tokenizer (Guan et al., TKDD 2026, Algorithm 2) builds a token sequence C.
For each event it takes the longest vocabulary token whose expansion ends at that
event and starts at a token boundary of C. That token replaces the suffix of C it
covers, or the event's terminal token is appended when no longer token fits. This module computes the same final C
in pure Python; it only feeds validation losses, so it favours clarity over speed.
Events the vocabulary does not know become the unknown token.
"""
import numpy as np

from predictor.vocabulary import UNKNOWN

_TOKEN = -1  # key of a trie node's token id; events are >= 0, so it never collides


def _reverse_trie(vocab) -> dict:
    """Build a trie over the reversed expansions of every non-empty token."""
    root = {}
    for token, expansion in enumerate(vocab.expansions):
        if not expansion:
            continue
        node = root
        for event in reversed(expansion):
            node = node.setdefault(event, {})
        node[_TOKEN] = token
    return root


def _tokenize_session(events, trie) -> list:
    tokens, starts = [], []  # C and the event index where each of its tokens starts
    for t in range(len(events)):
        best_token, best_start = UNKNOWN, t
        node = trie
        boundary = len(starts) - 1  # index of the latest token start at or before j
        for j in range(t, -1, -1):
            node = node.get(int(events[j]))
            if node is None:
                break
            while boundary >= 0 and starts[boundary] > j:
                boundary -= 1
            at_boundary = j == t or (boundary >= 0 and starts[boundary] == j)
            if at_boundary and _TOKEN in node:
                best_token, best_start = node[_TOKEN], j
        while starts and starts[-1] >= best_start:
            starts.pop()
            tokens.pop()
        tokens.append(best_token)
        starts.append(best_start)
    return tokens


def tokenize(events, vocab, session_starts=None):
    """Return (tokens, token_session_starts) of ``events`` under ``vocab``.

    ``session_starts`` are event indexes where a new independent session begins;
    tokens never span two sessions.
    """
    events = np.asarray(events, dtype=np.int64)
    if session_starts is None or len(session_starts) == 0:
        session_starts = np.zeros(1, dtype=np.int64)
    bounds = list(session_starts) + [len(events)]
    trie = _reverse_trie(vocab)
    tokens, token_starts = [], []
    for start, stop in zip(bounds[:-1], bounds[1:]):
        token_starts.append(len(tokens))
        tokens.extend(_tokenize_session(events[int(start):int(stop)], trie))
    return np.asarray(tokens, dtype=np.int64), np.asarray(token_starts, dtype=np.int64)
