"""Partial compression: compress only what online tokenization left as plain events.

During online evaluation the tokenizer already replaces known non-terminals in the
tokenized sequence C. Between them lie runs of plain events (terminal tokens and
unknown tokens). Partial compression (Guan et al., TKDD 2026, section 3.3.3) joins
those runs with separators, runs Sequitur once over all of them, lowers the grammar
with the model's FREQ and rewrites every run with the kept rules.

A separator is never part of a digram, so no rule spans two runs and each run's
new tokens expand back to exactly that run. Repeats that occur in different runs
are still found together, as one Sequitur run over the joined runs finds them.
A kept rule whose expansion is already a token reuses that token. The other
kept rules and the events that have no token yet become new tokens. Their ids
start at ``vocab.size``, in order of first appearance.
"""
import dataclasses
import time

import numpy as np

from predictor.errors import GrammarError
from predictor.lowering import lower
from predictor.sequitur import SEPARATOR, build_grammar
from predictor.vocabulary import UNKNOWN


@dataclasses.dataclass
class PartialCompression:
    """Result of compressing a list of plain event runs.

    ``pieces[i]`` is run i rewritten as token ids. ``new_expansions[j]`` is the
    event expansion of new token ``first_new_token + j``; append them to the
    vocabulary in this order to give them those ids. ``time_ns`` covers Sequitur,
    lowering and the rewriting.
    """

    pieces: list  # run index -> int64 token ids
    new_expansions: list  # tuple of events per new token, in id order
    first_new_token: int
    time_ns: int

    @property
    def num_new_tokens(self) -> int:
        return len(self.new_expansions)


@dataclasses.dataclass
class RewrittenInterval:
    """An interval's tokenized sequence with its plain runs partially compressed."""

    tokens: np.ndarray  # int64 token ids to train on
    session_starts: np.ndarray  # int64 index in tokens where each session begins
    partial: PartialCompression
    num_runs: int
    run_events: int  # events inside plain runs, the input size of Sequitur


def partial_compress(runs, vocab, freq) -> PartialCompression:
    """Compress the plain event ``runs`` (int64 arrays) together, rewriting each one.

    ``freq`` is the lowering threshold; None keeps no non-terminals, as in default
    learning. Empty runs give empty pieces. The vocabulary is not changed.
    """
    started = time.perf_counter_ns()
    runs = [np.asarray(run, dtype=np.int64) for run in runs]
    lengths = np.array([len(run) for run in runs], dtype=np.int64)
    kept = [run for run in runs if len(run)]
    if not kept:
        return PartialCompression([np.zeros(0, np.int64) for _ in runs], [], vocab.size,
                                  time.perf_counter_ns() - started)

    # 1. One Sequitur run over the runs joined with separators, then lowering.
    events = np.concatenate(kept)
    starts = np.concatenate([[0], np.cumsum([len(run) for run in kept])[:-1]]).astype(np.int64)
    if freq is None:
        symbols = events
        rule_expansions = {}
    else:
        grammar = build_grammar(events, session_starts=starts)
        lowered = lower(grammar, freq)
        symbols = lowered.sequence[lowered.sequence != SEPARATOR]
        rule_expansions = {r: tuple(int(e) for e in grammar.expand(r)) for r in lowered.counts}

    # 2. Token id and event length of every symbol; new tokens in order of first use.
    tokens, symbol_lengths, new_expansions = _symbol_tokens(symbols, rule_expansions, vocab)

    # 3. Cut the rewritten sequence back into runs at the run boundaries.
    pieces = _split_at(tokens, symbol_lengths, lengths)
    return PartialCompression(pieces, new_expansions, vocab.size,
                              time.perf_counter_ns() - started)


def _symbol_tokens(symbols, rule_expansions, vocab):
    """Map symbols (events >= 0, non-terminal r as -(r + 1)) to token ids and lengths."""
    unique, first, inverse = np.unique(symbols, return_index=True, return_inverse=True)
    unique_tokens = np.empty(len(unique), dtype=np.int64)
    unique_lengths = np.empty(len(unique), dtype=np.int64)
    new_expansions = []
    new_token_of = {}
    for i in np.argsort(first, kind="stable"):
        symbol = int(unique[i])
        if symbol >= 0:
            expansion = (symbol,)
        else:
            expansion = rule_expansions.get(-symbol - 1)
            if expansion is None:
                raise GrammarError(f"lowered sequence contains rule {-symbol - 1}, "
                                   "which lowering did not keep: internal lowering error")

        # Two rules can expand to the same events: Sequitur writes 2 2 2 1 2 2 2 1
        # 2 2 2 1 2 2 2 1 with rules 2 (2 2) 1 and (2 2) 2 1. So new tokens are
        # looked up too.
        token = vocab.token_of(expansion)
        if token is None:
            token = new_token_of.setdefault(expansion, vocab.size + len(new_expansions))
            if token == vocab.size + len(new_expansions):
                new_expansions.append(expansion)
        unique_tokens[i] = token
        unique_lengths[i] = len(expansion)
    return unique_tokens[inverse], unique_lengths[inverse], new_expansions


def _split_at(tokens, symbol_lengths, run_lengths):
    """Split ``tokens`` into pieces whose events add up to ``run_lengths`` each."""
    symbol_ends = np.cumsum(symbol_lengths)
    run_ends = np.cumsum(run_lengths)[run_lengths > 0]
    last_symbols = np.searchsorted(symbol_ends, run_ends)
    if not np.array_equal(symbol_ends[last_symbols], run_ends):
        raise GrammarError("a partial-compression token spans two runs: "
                           "Sequitur joined a digram across a separator")

    nonempty = iter(np.split(tokens, last_symbols[:-1] + 1))
    return [next(nonempty) if length else np.zeros(0, np.int64) for length in run_lengths]


def plain_runs(tokens, events, vocab, session_starts=None):
    """Find the runs of plain events in a tokenized sequence C.

    ``tokens`` are the token ids of C and ``events`` the events C stands for (an
    UNKNOWN token stands for one event). ``session_starts`` are token indexes where
    an independent session begins, and a run never crosses one. Returns (runs,
    spans): ``runs[i]`` is the int64 event array of run i and ``spans[i]`` its
    (start, stop) slice of ``tokens``. Raises ValueError when the expansions of
    ``tokens`` do not add up to ``events``.
    """
    tokens = np.asarray(tokens, dtype=np.int64)
    events = np.asarray(events, dtype=np.int64)
    lengths = vocab.token_lengths()[tokens]
    lengths[tokens == UNKNOWN] = 1
    if int(lengths.sum()) != len(events):
        raise ValueError(f"tokens expand to {int(lengths.sum())} events, "
                         f"but {len(events)} events were given")

    # A run starts where a plain token follows a non-plain one or opens a session.
    plain = lengths == 1
    opens = plain & ~np.concatenate([[False], plain[:-1]])
    closes = plain & ~np.concatenate([plain[1:], [False]])
    if session_starts is not None:
        cuts = np.asarray(session_starts, dtype=np.int64)
        cuts = cuts[(cuts > 0) & (cuts < len(tokens))]
        opens[cuts] |= plain[cuts]
        closes[cuts - 1] |= plain[cuts - 1]

    offsets = np.concatenate([[0], np.cumsum(lengths)])
    spans = list(zip(np.flatnonzero(opens).tolist(), (np.flatnonzero(closes) + 1).tolist()))
    runs = [events[offsets[a]:offsets[b]] for a, b in spans]
    return runs, spans


def rewrite_interval(tokens, events, vocab, freq, session_starts=None) -> RewrittenInterval:
    """Partially compress the tokenized sequence C of one interval.

    Non-terminal tokens of C stay as they are, and every plain run is replaced by its
    partially compressed tokens. ``session_starts`` are token indexes of C where a
    session begins. Returns the training sequence, which may contain ids from
    ``vocab.size`` on, so append ``partial.new_expansions`` to the vocabulary
    before using it.
    """
    runs, spans = plain_runs(tokens, events, vocab, session_starts)
    partial = partial_compress(runs, vocab, freq)

    # Splice the pieces in; shift[i] is how much token i of C moves in the result.
    tokens = np.asarray(tokens, dtype=np.int64)
    parts = []
    shift = np.zeros(len(tokens) + 1, dtype=np.int64)
    previous = 0
    for (start, stop), piece in zip(spans, partial.pieces):
        parts.append(tokens[previous:start])
        parts.append(piece)
        shift[stop] += len(piece) - (stop - start)
        previous = stop
    parts.append(tokens[previous:])
    sequence = np.concatenate(parts) if parts else np.zeros(0, np.int64)

    starts = np.zeros(1, dtype=np.int64) if session_starts is None \
        else np.asarray(session_starts, dtype=np.int64)
    starts = starts + np.cumsum(shift)[starts]
    return RewrittenInterval(sequence, starts, partial, len(runs),
                             int(sum(len(run) for run in runs)))
