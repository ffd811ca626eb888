"""Lowering of a Sequitur grammar into the training sequence of compressed learning.

A grammar's rule 0 is the whole training sequence written with non-terminals,
and many of those non-terminals are too rare for a model to learn. Lowering
keeps a non-terminal as a token only if it occurs at least FREQ times in the
lowered sequence itself and expands the others in place (accuracy-conscious
lowering, Guan et al., "Recurrent Neural Networks Meet Context-Free Grammar:
Two Birds with One Stone", ICDM 2021).

Rules are decided top-down, each after every rule whose body uses it:

1. Rule 0's non-terminals start with their number of occurrences in rule 0.
2. A rule whose count is at least FREQ is kept as one token.
3. A rule below FREQ is expanded in place, so each non-terminal in its body
   gains the rule's count (once per occurrence in the body).

Processing the rules in a topological order of the rule graph guarantees that a
rule's count is final when it is decided, because all its parents came first.
"""
import dataclasses
from typing import Optional

import numpy as np

from predictor.errors import GrammarError
from predictor.sequitur import (SEPARATOR, Grammar, build_grammar, check_events,
                                check_session_starts)
from predictor.vocabulary import Vocabulary


@dataclasses.dataclass
class Lowered:
    """A lowered sequence in the grammar's symbol encoding.

    ``sequence`` contains terminals, kept non-terminals ``-(rule + 1)`` and the
    separators of rule 0. ``counts`` maps each kept rule to its number of
    occurrences in ``sequence``.
    """

    sequence: np.ndarray  # (lowered length,) int64
    counts: dict
    freq: int


@dataclasses.dataclass
class Compressed:
    """The training sequence of one trace as tokens of a vocabulary.

    ``tokens`` is the lowered sequence without separators; session ``i`` starts
    at ``tokens[session_starts[i]]``. ``grammar`` and ``lowered`` are None for
    default learning (no non-terminals).
    """

    vocab: Vocabulary
    tokens: np.ndarray  # (num tokens,) int64 token ids
    session_starts: np.ndarray  # (num sessions,) int64
    grammar: Optional[Grammar]
    lowered: Optional[Lowered]


def check_freq(freq) -> int:
    """Return FREQ as an int >= 1, or raise GrammarError."""
    if isinstance(freq, bool) or not isinstance(freq, (int, np.integer)) or freq < 1:
        raise GrammarError(f"FREQ must be an integer >= 1, got {freq!r}")
    return int(freq)


def _children(grammar):
    """Return the non-terminal children of every rule, with repeats, in CSR form."""
    symbols = grammar.symbols
    is_child = (symbols < 0) & (symbols != SEPARATOR)
    owners = np.repeat(np.arange(grammar.num_rules), np.diff(grammar.offsets))
    child_offsets = np.zeros(grammar.num_rules + 1, dtype=np.int64)
    child_offsets[1:] = np.cumsum(np.bincount(owners[is_child], minlength=grammar.num_rules))
    return (-(symbols[is_child] + 1)).tolist(), child_offsets.tolist()


def decide_rules(grammar: Grammar, freq: int):
    """Return ``(counts, kept)``: each rule's count in the lowered sequence and
    whether it is kept as a token (see the module docstring). Rule 0 is never kept."""
    freq = check_freq(freq)
    children, child_offsets = _children(grammar)
    counts = [0] * grammar.num_rules
    for child in children[child_offsets[0]:child_offsets[1]]:
        counts[child] += 1

    kept = np.zeros(grammar.num_rules, dtype=bool)
    for r in grammar.topological_order().tolist():
        count = counts[r]
        if r == 0 or count == 0:
            continue
        if count >= freq:
            kept[r] = True
            continue
        for child in children[child_offsets[r]:child_offsets[r + 1]]:
            counts[child] += count
    return np.asarray(counts, dtype=np.int64), kept


def lower(grammar: Grammar, freq: int) -> Lowered:
    """Lower ``grammar`` at threshold ``freq``: keep rules occurring at least
    ``freq`` times in the result, expand the rest. Raises GrammarError for a
    FREQ below 1."""
    counts, kept = decide_rules(grammar, freq)
    sequence = grammar.expand(0, keep=kept)
    kept_counts = {int(r): int(counts[r]) for r in np.flatnonzero(kept)}
    return Lowered(sequence=sequence, counts=kept_counts, freq=int(freq))


def _terminal_lookup(vocab):
    """Return sorted terminal event values and their token ids."""
    pairs = sorted((expansion[0], token) for token, (expansion, rule)
                   in enumerate(zip(vocab.expansions, vocab.rules))
                   if rule == -1 and len(expansion) == 1)
    values = np.array([value for value, _ in pairs], dtype=np.int64)
    tokens = np.array([token for _, token in pairs], dtype=np.int64)
    return values, tokens


def encode_lowered(sequence, vocab: Vocabulary, num_rules: int):
    """Map a lowered sequence to token ids and drop its separators.

    Returns ``(tokens, session_starts)``. Every terminal and non-terminal of the
    sequence must be in ``vocab``; raises GrammarError otherwise.
    """
    sequence = np.asarray(sequence, dtype=np.int64)
    is_separator = sequence == SEPARATOR
    is_terminal = sequence >= 0
    is_rule = ~is_separator & ~is_terminal
    tokens = np.zeros(len(sequence), dtype=np.int64)

    # 1. Terminals through a sorted lookup of the vocabulary's terminal tokens.
    values, value_tokens = _terminal_lookup(vocab)
    events = sequence[is_terminal]
    where = np.minimum(np.searchsorted(values, events), max(len(values) - 1, 0))
    if len(events) and (len(values) == 0 or np.any(values[where] != events)):
        missing = events[(len(values) == 0) | (values[where] != events)][0]
        raise GrammarError(f"event {int(missing)} of the lowered sequence has no terminal "
                           "token in the vocabulary")
    tokens[is_terminal] = value_tokens[where] if len(values) else 0

    # 2. Kept non-terminals through a rule -> token table.
    rule_tokens = np.full(max(num_rules, 1), -1, dtype=np.int64)
    for token, rule in enumerate(vocab.rules):
        if 0 <= rule < num_rules:
            rule_tokens[rule] = token
    rules = -(sequence[is_rule] + 1)
    if np.any(rule_tokens[rules] < 0):
        missing = rules[rule_tokens[rules] < 0][0]
        raise GrammarError(f"rule {int(missing)} of the lowered sequence has no token "
                           "in the vocabulary")
    tokens[is_rule] = rule_tokens[rules]

    # 3. Separators mark session starts; the tokens themselves leave them out.
    separator_positions = np.flatnonzero(is_separator)
    session_starts = np.concatenate([[0], separator_positions - np.arange(len(separator_positions))])
    if len(sequence) == 0:
        session_starts = np.zeros(0, dtype=np.int64)
    return tokens[~is_separator], session_starts.astype(np.int64)


def compress(events, session_starts=None, freq=None) -> Compressed:
    """Build the vocabulary and token sequence of a training sequence.

    ``events`` are int64 values >= 0; ``session_starts`` the first event of each
    session (None for one session). With ``freq`` None or at least the number
    of events this is default learning: terminal tokens only. Otherwise the
    Sequitur grammar of the events is lowered at ``freq`` and every kept
    non-terminal becomes a token with its event expansion. Raises GrammarError
    on invalid events, session starts or FREQ.
    """
    events = check_events(events)
    starts = check_session_starts(session_starts, len(events))
    if len(events) and len(starts) == 0:
        starts = np.zeros(1, dtype=np.int64)

    if freq is None or check_freq(freq) >= len(events):
        vocab = Vocabulary.from_events(events)
        tokens, _ = encode_lowered(events, vocab, 0)
        return Compressed(vocab=vocab, tokens=tokens, session_starts=starts, grammar=None,
                          lowered=None)

    grammar = build_grammar(events, starts)
    lowered = lower(grammar, freq)
    nonterminals = [(rule, grammar.expand(rule)) for rule in sorted(lowered.counts)]
    vocab = Vocabulary.from_events(events, nonterminals, freq=int(freq))
    tokens, token_starts = encode_lowered(lowered.sequence, vocab, grammar.num_rules)
    return Compressed(vocab=vocab, tokens=tokens, session_starts=token_starts, grammar=grammar,
                      lowered=lowered)
