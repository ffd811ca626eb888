"""Partial compression of the plain runs of a tokenized sequence."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from predictor.errors import PredictorError
from predictor.lowering import lower
from predictor.partial import partial_compress, plain_runs, rewrite_interval
from predictor.refine import refine_online, training_sequence
from predictor.sequitur import SEPARATOR, build_grammar
from predictor.vocabulary import UNKNOWN, Vocabulary

# Events of the running example of Guan et al. (TKDD 2026, Figure 2). The event y
# does not occur in its training sequence.
a, b, c, d, e, f, g, x, y = range(1, 10)


def paper_vocabulary():
    """Training vocabulary of the running example `x (abcabcabcabcd)x4 (ae)x4 f abc g abcabc` at FREQ 3."""
    abc = (a, b, c)
    return Vocabulary.from_events([a, b, c, d, e, f, g, x],
                                  nonterminals=[(3, abc), (5, abc * 4 + (d,)), (6, (a, e))],
                                  freq=3)


def expand(tokens, vocab):
    """Event expansions of ``tokens`` as a list of tuples."""
    return [vocab.expansions[t] for t in tokens]


def grown(vocab, partial):
    """A copy of ``vocab`` with the new tokens of ``partial`` appended."""
    copy = Vocabulary.from_json(vocab.to_json())
    for j, expansion in enumerate(partial.new_expansions):
        assert copy.append(expansion) == partial.first_new_token + j
    return copy


def test_paper_example_pieces():
    vocab = paper_vocabulary()
    pieces = [[x], [a, b, a, b, d, a, y, a, b, f], [g]]

    partial = partial_compress(pieces, vocab, freq=3)

    ab, new_y = vocab.size, vocab.size + 1
    assert partial.first_new_token == vocab.size
    assert partial.new_expansions == [(a, b), (y,)]
    T = vocab.terminal_token
    assert partial.pieces[0].tolist() == [T(x)]
    assert partial.pieces[1].tolist() == [ab, ab, T(d), T(a), new_y, ab, T(f)]
    assert partial.pieces[2].tolist() == [T(g)]


def test_paper_example_interval():
    vocab = paper_vocabulary()
    t3 = vocab.rule_token(3)
    T = vocab.terminal_token
    # C = x 3 ababdayabf 3 g; y is unseen, so the tokenizer keeps it as UNKNOWN.
    tokens = [T(x), t3] + [T(e_) for e_ in (a, b, a, b, d, a)] + [UNKNOWN] \
        + [T(a), T(b), T(f), t3, T(g)]
    events = [x, a, b, c, a, b, a, b, d, a, y, a, b, f, a, b, c, g]

    rewritten = rewrite_interval(tokens, events, vocab, freq=3)

    ab, new_y = vocab.size, vocab.size + 1
    assert rewritten.tokens.tolist() == [T(x), t3, ab, ab, T(d), T(a), new_y, ab, T(f), t3, T(g)]
    assert rewritten.num_runs == 3
    assert rewritten.run_events == 12
    vocab = grown(vocab, rewritten.partial)
    assert sum(expand(rewritten.tokens, vocab), ()) == tuple(events)


def test_paper_example_high_freq_keeps_runs_plain():
    vocab = paper_vocabulary()

    partial = partial_compress([[x], [a, b, a, b, d, a, y, a, b, f], [g]], vocab, freq=4)

    assert partial.new_expansions == [(y,)]
    assert expand(partial.pieces[1], grown(vocab, partial)) == [(e_,) for e_ in
                                                               (a, b, a, b, d, a, y, a, b, f)]


def test_nothing_joins_across_separator():
    vocab = paper_vocabulary()
    # Joined without separators these read c a b c a b c a b, full of repeats.
    pieces = [[c, a], [b, c], [a, b], [c, a], [b]]

    partial = partial_compress(pieces, vocab, freq=2)

    assert partial.new_expansions == [(c, a)]
    for piece, tokens in zip(pieces, partial.pieces):
        assert sum(expand(tokens, grown(vocab, partial)), ()) == tuple(piece)


def test_existing_expansion_reuses_token():
    vocab = paper_vocabulary()

    partial = partial_compress([[a, b, c, a, b, c], [a, b, c]], vocab, freq=2)

    assert partial.new_expansions == []
    t3 = vocab.rule_token(3)
    assert [p.tolist() for p in partial.pieces] == [[t3, t3], [t3]]


def test_default_vocabulary_gets_only_terminals():
    vocab = Vocabulary.from_events([a, b, c])

    partial = partial_compress([[a, b, a, b, y, a, b]], vocab, freq=None)

    assert partial.new_expansions == [(y,)]
    assert len(partial.pieces[0]) == 7


def test_empty_and_no_runs():
    vocab = paper_vocabulary()

    assert partial_compress([], vocab, freq=2).pieces == []
    partial = partial_compress([[], [a, b], []], vocab, freq=2)
    assert [len(p) for p in partial.pieces] == [0, 2, 0]


def test_plain_runs_rejects_wrong_event_count():
    vocab = paper_vocabulary()

    with pytest.raises(ValueError):
        plain_runs([vocab.rule_token(3)], [a, b], vocab)


def test_plain_runs_spans():
    vocab = paper_vocabulary()
    t3, t6 = vocab.rule_token(3), vocab.rule_token(6)
    T = vocab.terminal_token

    runs, spans = plain_runs([t3, T(a), UNKNOWN, t6, t3, T(g)], [a, b, c, a, y, a, e, a, b, c, g],
                             vocab)

    assert spans == [(1, 3), (5, 6)]
    assert [r.tolist() for r in runs] == [[a, y], [g]]


def compress_alone(events, freq):
    """Lowered expansions of one event sequence compressed with the grammar API directly."""
    events = np.asarray(events, dtype=np.int64)
    if len(events) == 0:
        return []
    grammar = build_grammar(events)
    lowered = lower(grammar, freq)
    out = []
    for symbol in lowered.sequence:
        if symbol == SEPARATOR:
            out.append(None)
        elif symbol >= 0:
            out.append((int(symbol),))
        else:
            out.append(tuple(int(v) for v in grammar.expand(-int(symbol) - 1)))
    return out


def split_on(items, marker):
    pieces, current = [], []
    for item in items:
        if item == marker:
            pieces.append(current)
            current = []
        else:
            current.append(item)
    return pieces + [current]


pieces_strategy = st.lists(st.lists(st.integers(1, 4), max_size=30), max_size=8)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pieces=pieces_strategy, freq=st.sampled_from([2, 3, 5]))
def test_partial_equals_unique_separator_events(pieces, freq):
    """Separators act like events that occur once each, and every piece expands to itself."""
    vocab = Vocabulary.from_events([1, 2])
    partial = partial_compress(pieces, vocab, freq)
    vocab = grown(vocab, partial)

    for piece, tokens in zip(pieces, partial.pieces):
        assert sum(expand(tokens, vocab), ()) == tuple(piece)

    # Reference: join the non-empty pieces with distinct fresh events instead of separators.
    kept = [p for p in pieces if p]
    fresh = 1000
    joined = []
    for i, piece in enumerate(kept):
        joined += piece + ([fresh + i] if i < len(kept) - 1 else [])
    reference = compress_alone(joined, freq)
    reference_pieces = [[s for s in part] for part in
                        split_on([None if s[0] >= fresh else s for s in reference], None)] \
        if kept else []
    assert [expand(t, vocab) for t in partial.pieces if len(t)] == reference_pieces


@settings(max_examples=800, deadline=None)
@given(pieces=pieces_strategy, freq=st.sampled_from([2, 3, 5]))
def test_partial_equals_separate_on_disjoint_alphabets(pieces, freq):
    """With no event shared between pieces, one joint run equals one run per piece."""
    pieces = [[10 * i + v for v in piece] for i, piece in enumerate(pieces)]
    vocab = Vocabulary.from_events([10, 11])

    partial = partial_compress(pieces, vocab, freq)
    vocab = grown(vocab, partial)

    for piece, tokens in zip(pieces, partial.pieces):
        assert expand(tokens, vocab) == compress_alone(piece, freq)


def test_runs_break_at_session_starts():
    vocab = paper_vocabulary()
    T = vocab.terminal_token
    t3 = vocab.rule_token(3)
    # Two sessions: "a b | a b t3 a b". A run must not join the b of session 1 to
    # the a of session 2.
    tokens = [T(a), T(b), T(a), T(b), t3, T(a), T(b)]
    events = [a, b, a, b, a, b, c, a, b]

    runs, spans = plain_runs(tokens, events, vocab, session_starts=[0, 2])
    rewritten = rewrite_interval(tokens, events, vocab, freq=3, session_starts=[0, 2])

    assert spans == [(0, 2), (2, 4), (5, 7)]
    assert [r.tolist() for r in runs] == [[a, b], [a, b], [a, b]]
    ab = vocab.size
    assert rewritten.tokens.tolist() == [ab, ab, t3, ab]
    assert rewritten.session_starts.tolist() == [0, 1]


def test_default_training_appends_unseen_events():
    vocab = Vocabulary.from_events([1, 2])

    tokens, starts, new_tokens, run_events, compression_ns = training_sequence(
        "default-1", np.array([1, 5, 2, 5, 7]), np.array([0, 3]), vocab, None)

    assert new_tokens == 2
    assert vocab.terminal_token(5) == 3
    assert vocab.terminal_token(7) == 4
    assert tokens.tolist() == [1, 3, 2, 3, 4]
    assert starts.tolist() == [0, 3]
    assert run_events == 0
    assert compression_ns == 0


def test_compressed_training_grows_vocabulary():
    vocab = paper_vocabulary()
    T = vocab.terminal_token
    events = np.array([a, b, a, b, y, a, b])
    size = vocab.size

    tokens, starts, new_tokens, run_events, compression_ns = training_sequence(
        "compressed", events, np.zeros(1, np.int64), vocab, 3,
        tokenized=(np.array([T(a), T(b), T(a), T(b), UNKNOWN, T(a), T(b)]), np.zeros(1, np.int64)))

    assert new_tokens == 2
    assert vocab.size == size + 2
    assert vocab.token_of((a, b)) == size
    assert vocab.terminal_token(y) == size + 1
    assert tokens.tolist() == [size, size, size + 1, size]
    assert run_events == 7
    assert compression_ns > 0


@pytest.mark.parametrize("interval, epochs", [(1, 1), (0, 1), (10, 0)])
def test_refine_online_rejects_bad_options(interval, epochs):
    with pytest.raises(PredictorError):
        refine_online("compressed", None, paper_vocabulary(), None, np.arange(20),
                      interval_events=interval, epochs=epochs)
