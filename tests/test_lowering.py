"""Lowering at FREQ and the compressed training sequence."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grammar_helpers import RUNNING_EXAMPLE, encode
from predictor.errors import GrammarError
from predictor.lowering import compress, lower
from predictor.sequitur import Grammar, build_grammar, format_symbol

# FREQ -> lowered running example, kept rules with their counts and expansions.
RUNNING_EXAMPLE_LOWERED = {
    2: ("x 1 1 2 2 f 3 g 3 3", {1: 2, 2: 2, 3: 3}),
    3: ("x 5 5 5 5 6 6 6 6 f 3 g 3 3", {3: 3, 5: 4, 6: 4}),
    4: ("x 5 5 5 5 6 6 6 6 f a b c g a b c a b c", {5: 4, 6: 4}),
}
RUNNING_EXAMPLE_EXPANSIONS = {
    1: "abcabcabcabcdabcabcabcabcd",
    2: "aeae",
    3: "abc",
    5: "abcabcabcabcd",
    6: "ae",
}


def printed(sequence) -> str:
    return " ".join(format_symbol(int(v), chr) for v in sequence)


@pytest.mark.parametrize("freq", sorted(RUNNING_EXAMPLE_LOWERED))
def test_lower_running_example(freq):
    expected_line, expected_counts = RUNNING_EXAMPLE_LOWERED[freq]
    lowered = lower(build_grammar(encode(RUNNING_EXAMPLE)), freq)
    assert printed(lowered.sequence) == expected_line
    assert lowered.counts == expected_counts
    assert lowered.freq == freq


@pytest.mark.parametrize("freq", sorted(RUNNING_EXAMPLE_LOWERED))
def test_compress_running_example_vocabulary(freq):
    events = encode(RUNNING_EXAMPLE)
    compressed = compress(events, None, freq)
    vocab = compressed.vocab
    kept = sorted(RUNNING_EXAMPLE_LOWERED[freq][1])

    assert vocab.freq == freq
    assert vocab.num_terminals == len(set(RUNNING_EXAMPLE))
    assert vocab.size == 1 + vocab.num_terminals + len(kept)
    for rule in kept:
        expansion = vocab.expansions[vocab.rule_token(rule)]
        assert "".join(chr(e) for e in expansion) == RUNNING_EXAMPLE_EXPANSIONS[rule]

    decoded = [e for token in compressed.tokens for e in vocab.expansions[token]]
    assert decoded == events.tolist()
    assert len(compressed.tokens) == len(RUNNING_EXAMPLE_LOWERED[freq][0].split())
    assert compressed.session_starts.tolist() == [0]


def test_compress_running_example_tokens_at_freq3():
    compressed = compress(encode(RUNNING_EXAMPLE), None, 3)
    vocab = compressed.vocab
    expected = ([vocab.terminal_token(ord("x"))] + [vocab.rule_token(5)] * 4
                + [vocab.rule_token(6)] * 4
                + [vocab.terminal_token(ord("f")), vocab.rule_token(3),
                   vocab.terminal_token(ord("g")), vocab.rule_token(3), vocab.rule_token(3)])
    assert compressed.tokens.tolist() == expected


def test_lower_freq_one_keeps_every_rule_of_rule0():
    grammar = build_grammar(encode(RUNNING_EXAMPLE))
    lowered = lower(grammar, 1)
    assert np.array_equal(lowered.sequence, grammar.rule(0))


def test_lower_freq_above_length_expands_everything():
    events = encode(RUNNING_EXAMPLE)
    lowered = lower(build_grammar(events), len(events))
    assert lowered.counts == {}
    assert np.array_equal(lowered.sequence, events)


def test_lower_counts_a_child_of_several_expanded_parents():
    # Rule 3 (b c) occurs once in rule 0 and once in each of rules 1 and 2.
    # Rules 1 and 2 occur twice each, so expanding both gives 3 a count of 1 + 2 + 2.
    grammar = Grammar([[-2, -2, -3, -3, -4],
                       [ord("a"), -4],
                       [ord("d"), -4],
                       [ord("b"), ord("c")]])
    lowered = lower(grammar, 3)
    assert lowered.counts == {3: 5}
    assert printed(lowered.sequence) == "a 3 a 3 d 3 d 3 3"


def test_lower_decides_parent_numbered_after_child():
    # Rule 4 uses rule 3 although it has the higher number: rule 3 must wait
    # for rule 4's decision. Rule 4 (count 2 < 3) expands, so 3 reaches 1 + 2.
    grammar = Grammar([[-2, -2, -3, -5, -5],
                       [ord("a"), ord("b")],
                       [ord("c"), -4],
                       [ord("d"), ord("e")],
                       [-4, ord("f")]])
    lowered = lower(grammar, 3)
    assert lowered.counts == {3: 3}
    assert printed(lowered.sequence) == "a b a b c 3 3 f 3 f"


def lower_by_rewriting(grammar, freq) -> list:
    """Reference lowering by literal rewriting: visit rules parents first, count
    each one in the current sequence, and expand it in place when below FREQ."""
    sequence = grammar.rule(0).tolist()
    for r in grammar.topological_order().tolist():
        if r == 0:
            continue
        symbol = -(r + 1)
        if 0 < sequence.count(symbol) < freq:
            body = grammar.rule(r).tolist()
            rewritten = []
            for value in sequence:
                rewritten.extend(body if value == symbol else [value])
            sequence = rewritten
    return sequence


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 3), max_size=300), st.integers(1, 12))
def test_lower_matches_rewriting_reference(values, freq):
    events = np.array(values, dtype=np.int64)
    grammar = build_grammar(events)
    lowered = lower(grammar, freq)
    sequence = lowered.sequence.tolist()

    assert sequence == lower_by_rewriting(grammar, freq)
    for rule, count in lowered.counts.items():
        assert count >= freq
        assert sequence.count(-(rule + 1)) == count
    assert np.array_equal(_expand_lowered(grammar, sequence), events)


def _expand_lowered(grammar, sequence) -> np.ndarray:
    parts = [grammar.expand(-(v + 1)) if v < 0 else np.array([v]) for v in sequence]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def test_compress_sessions_map_to_token_starts():
    # Grammar 0 -> 1 | 1 | 2, 1 -> 2 2, 2 -> a b c: at FREQ 2 rule 1 is kept
    # and rule 2, left with one occurrence, is expanded.
    events = encode("abcabc" "abcabc" "abc")
    compressed = compress(events, [0, 6, 12], 2)
    vocab = compressed.vocab
    assert printed(compressed.lowered.sequence) == "1 | 1 | a b c"
    assert compressed.session_starts.tolist() == [0, 1, 2]
    expected = [vocab.rule_token(1)] * 2 + [vocab.terminal_token(e) for e in encode("abc")]
    assert compressed.tokens.tolist() == expected


def test_compress_default_learning_has_no_nonterminals():
    events = encode(RUNNING_EXAMPLE)
    for freq in (None, len(events), len(events) + 5):
        compressed = compress(events, [0, 10], freq)
        assert compressed.vocab.rules.count(-1) == compressed.vocab.size
        assert compressed.grammar is None
        assert compressed.lowered is None
        assert compressed.tokens.tolist() == compressed.vocab.encode_events(events).tolist()
        assert compressed.session_starts.tolist() == [0, 10]


def test_compress_empty_events():
    compressed = compress(np.zeros(0, dtype=np.int64), None, 2)
    assert compressed.tokens.tolist() == []
    assert compressed.vocab.size == 1


def test_compress_hdfs_sessions_round_trip(shared_data):
    lines = (shared_data / "deeplog_hdfs" / "hdfs_train").read_text().splitlines()
    sessions = [[int(v) for v in line.split()] for line in lines if line.split()]
    events = np.array([v for s in sessions for v in s], dtype=np.int64)
    starts = np.cumsum([0] + [len(s) for s in sessions[:-1]])
    compressed = compress(events, starts, 5)
    vocab = compressed.vocab

    bounds = list(compressed.session_starts) + [len(compressed.tokens)]
    assert len(bounds) - 1 == len(sessions)
    for i in (0, 1, len(sessions) // 2, len(sessions) - 1):
        tokens = compressed.tokens[bounds[i]:bounds[i + 1]]
        assert [e for t in tokens for e in vocab.expansions[t]] == sessions[i]
    assert len(compressed.tokens) < len(events) / 2


@pytest.mark.parametrize("freq", [0, -3, 2.5, True, "5"])
def test_lower_rejects_bad_freq(freq):
    with pytest.raises(GrammarError, match="FREQ must be an integer >= 1"):
        lower(build_grammar(encode("abab")), freq)


def test_compress_rejects_negative_events():
    with pytest.raises(GrammarError, match="must be >= 0"):
        compress(np.array([3, -1, 3]), None, 2)
