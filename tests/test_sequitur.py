"""Sequitur in C: known grammars, scikit-sequitur as the oracle, invariants, bad input."""
import csv
import gzip
import pathlib
import shutil
import subprocess

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sksequitur import Mark, Production
from sksequitur import parse as oracle_parse

from grammar_helpers import (RUNNING_EXAMPLE, RUNNING_EXAMPLE_RULES, assert_invariants,
                             encode, rule_lines, split_sessions)
from predictor.errors import GrammarError
from predictor.sequitur import SEPARATOR, Grammar, build_grammar

KNOWN_GRAMMARS = {
    "abcabc": ["0 -> 1 1", "1 -> a b c"],
    "abbbabcbb": ["0 -> 1 2 1 c 2", "1 -> a b", "2 -> b b"],
    "cdddcdadd": ["0 -> 1 2 1 a 2", "1 -> c d", "2 -> d d"],
    "aaaaaaaa": ["0 -> 1 1", "1 -> 2 2", "2 -> a a"],
    "": ["0 ->"],
    "a": ["0 -> a"],
    "ab": ["0 -> a b"],
    "aa": ["0 -> a a"],
    "aaa": ["0 -> a a a"],
    "aaaa": ["0 -> 1 1", "1 -> a a"],
    "aaaaa": ["0 -> 1 1 a", "1 -> a a"],
    "ab|ab": ["0 -> 1 | 1", "1 -> a b"],
    "a|aa|a": ["0 -> a | a a | a"],
    "abab|abab": ["0 -> 1 | 1", "1 -> 2 2", "2 -> a b"],
    RUNNING_EXAMPLE: RUNNING_EXAMPLE_RULES,
}


@pytest.mark.parametrize("text", list(KNOWN_GRAMMARS))
def test_build_grammar_known_answer(text):
    events, starts = split_sessions(text)
    grammar = build_grammar(events, starts)
    assert rule_lines(grammar) == KNOWN_GRAMMARS[text]
    assert_invariants(grammar, events, starts)


def test_build_grammar_returns_contract_types():
    grammar = build_grammar(encode("abcabc"))
    assert grammar.num_rules == 2
    assert all(body.dtype == np.int64 for body in grammar.rules)
    assert grammar.rules[0].tolist() == [-2, -2]
    assert grammar.expand(1).tolist() == encode("abc").tolist()
    assert grammar.lengths.tolist() == [6, 3]


def test_build_grammar_keeps_64bit_event_values():
    big = np.array([2**62, 2**40 + 7, 2**62, 2**40 + 7, 5], dtype=np.int64)
    grammar = build_grammar(big)
    assert grammar.rules[1].tolist() == [2**62, 2**40 + 7]
    assert np.array_equal(grammar.expand(0), big)


def test_build_grammar_accepts_smaller_int_dtypes():
    grammar = build_grammar(np.array([1, 2, 1, 2], dtype=np.uint8))
    assert grammar.rules[0].tolist() == [-2, -2]


# --- scikit-sequitur as the oracle -----------------------------------------

def oracle_rules(events, starts=None) -> list:
    """scikit-sequitur's grammar in our symbol encoding; a fresh Mark per separator."""
    values = []
    boundaries = set(int(s) for s in starts[1:]) if starts is not None else set()
    for i, event in enumerate(events.tolist()):
        if i in boundaries:
            values.append(Mark())
        values.append(event)
    grammar = oracle_parse(values)
    rules = []
    for number in range(len(grammar)):
        body = []
        for value in grammar[number]:
            if type(value) is Production:
                body.append(-(int(value) + 1))
            elif isinstance(value, Mark):
                body.append(SEPARATOR)
            else:
                body.append(value)
        rules.append(body)
    return rules


def assert_same_as_oracle(events, starts=None):
    events = np.asarray(events, dtype=np.int64)
    grammar = build_grammar(events, starts)
    assert [body.tolist() for body in grammar.rules] == oracle_rules(events, starts)
    return grammar


@settings(max_examples=1000, deadline=None)
@given(st.integers(1, 6).flatmap(
    lambda k: st.lists(st.integers(0, k - 1), max_size=400)))
def test_build_grammar_matches_oracle_random(values):
    events = np.array(values, dtype=np.int64)
    grammar = assert_same_as_oracle(events)
    assert_invariants(grammar, events)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 2), min_size=1, max_size=200), st.data())
def test_build_grammar_matches_oracle_with_sessions(values, data):
    events = np.array(values, dtype=np.int64)
    cuts = data.draw(st.lists(st.integers(1, max(1, len(values) - 1)), max_size=6))
    starts = np.array(sorted({0} | {c for c in cuts if c < len(values)}), dtype=np.int64)
    grammar = assert_same_as_oracle(events, starts)
    assert_invariants(grammar, events, starts)


def test_build_grammar_matches_oracle_seeded_batch():
    rng = np.random.default_rng(2026)
    for _ in range(1500):
        alphabet = int(rng.integers(1, 5))
        events = rng.integers(0, alphabet, size=int(rng.integers(0, 400)))
        grammar = assert_same_as_oracle(events)
        assert_invariants(grammar, events)


def read_event_ids(path) -> np.ndarray:
    """EventId column of a LogHub structured CSV as dense ids in order of appearance."""
    with open(path, newline="", encoding="utf-8") as handle:
        keys = [row["EventId"] for row in csv.DictReader(handle)]
    ids = {}
    return np.array([ids.setdefault(key, len(ids)) for key in keys], dtype=np.int64)


def read_hdfs_sessions(path):
    """Events and session starts of the DeepLog session-per-line file."""
    sessions = [[int(v) for v in line.split()] for line in open(path, encoding="utf-8")]
    sessions = [s for s in sessions if s]
    starts = np.cumsum([0] + [len(s) for s in sessions[:-1]])
    return np.concatenate([np.array(s, dtype=np.int64) for s in sessions]), starts


def read_blocks(path) -> np.ndarray:
    with gzip.open(path, "rt") as handle:
        return np.array([int(line) for line in handle], dtype=np.int64)


@pytest.mark.parametrize("system", ["Windows", "Thunderbird"])
def test_build_grammar_matches_oracle_on_loghub(shared_data, system):
    events = read_event_ids(shared_data / "loghub" / system / f"{system}_2k.log_structured.csv")
    grammar = assert_same_as_oracle(events)
    assert_invariants(grammar, events)


def test_build_grammar_matches_oracle_on_hdfs_sessions(shared_data):
    events, starts = read_hdfs_sessions(shared_data / "deeplog_hdfs" / "hdfs_train")
    grammar = assert_same_as_oracle(events, starts)
    assert_invariants(grammar, events, starts)


def test_build_grammar_matches_oracle_on_libquantum_prefix(shared_data):
    # A 60k-event prefix: scikit-sequitur needs about a second for it.
    events = read_blocks(shared_data / "dpc2" / "dpc2_libquantum_blocks64.txt.gz")[:60_000]
    grammar = assert_same_as_oracle(events)
    assert_invariants(grammar, events)


# --- deep grammars -----------------------------------------------------------

def test_build_grammar_deep_doubling():
    # 1.2 million events of one symbol: rules a^2, a^4, ..., a^(2**19), nested
    # 19 deep, and rule 0 writes 1,200,000 as a sum of them.
    events = np.zeros(1_200_000, dtype=np.int64)
    grammar = build_grammar(events)
    assert sorted(grammar.lengths[1:].tolist()) == [2**k for k in range(1, 20)]
    assert_invariants(grammar, events)


def test_build_grammar_deep_nested_prefixes():
    # Prefixes 0, 0 1, 0 1 2, ... nest every rule in the previous one: a rule
    # chain over a thousand deep, 1.2 million events in all.
    prefixes = [np.arange(k, dtype=np.int64) for k in range(1, 1550)]
    events = np.concatenate(prefixes)
    grammar = build_grammar(events)
    assert len(events) > 1_200_000
    assert grammar_depth(grammar) > 1000
    assert_invariants(grammar, events)


def grammar_depth(grammar) -> int:
    """Number of rules on the longest path from rule 0 down to terminals."""
    depth = np.zeros(grammar.num_rules, dtype=np.int64)
    for r in grammar.topological_order()[::-1]:
        body = grammar.rule(r)
        children = -(body[(body < 0) & (body != SEPARATOR)] + 1)
        depth[r] = 1 + (depth[children].max() if len(children) else 0)
    return int(depth[0])


# --- bad input ---------------------------------------------------------------

def test_build_grammar_rejects_negative_event():
    with pytest.raises(GrammarError, match=r"events\[2\] is -5"):
        build_grammar(np.array([1, 2, -5, 3]))


def test_build_grammar_rejects_float_dtype():
    with pytest.raises(GrammarError, match="must be integers, got dtype float64"):
        build_grammar(np.array([1.0, 2.0]))


def test_build_grammar_rejects_2d_array():
    with pytest.raises(GrammarError, match="1-D"):
        build_grammar(np.zeros((2, 2), dtype=np.int64))


def test_build_grammar_rejects_uint64_above_int64():
    with pytest.raises(GrammarError, match="above the int64 maximum"):
        build_grammar(np.array([2**63], dtype=np.uint64))


@pytest.mark.parametrize("starts", [[1, 2], [0, 2, 2], [0, 9]])
def test_build_grammar_rejects_bad_session_starts(starts):
    with pytest.raises(GrammarError, match="session start"):
        build_grammar(encode("abcd"), starts)


def test_grammar_rejects_cycle():
    with pytest.raises(GrammarError, match="refer to themselves"):
        Grammar([[-2, -2], [1, -2]])


def test_grammar_rejects_missing_rule():
    with pytest.raises(GrammarError, match="does not exist"):
        Grammar([[-2, -4], [1, 2]])


def test_grammar_expand_rejects_bad_rule_number():
    with pytest.raises(GrammarError, match="rule 5 does not exist"):
        build_grammar(encode("abab")).expand(5)


def test_sequitur_core_links_without_python(tmp_path):
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler (cc or gcc) on PATH")
    repo = pathlib.Path(__file__).resolve().parent.parent
    driver = tmp_path / "sequitur_driver"
    subprocess.run([compiler, "-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror",
                    "-I", str(repo / "predictor"), str(repo / "tests" / "c" / "sequitur_driver.c"),
                    str(repo / "predictor" / "sequitur.c"), "-o", str(driver)], check=True)
    output = subprocess.run([str(driver), "abbbabcbb"], check=True, capture_output=True,
                            text=True).stdout
    assert output.splitlines() == KNOWN_GRAMMARS["abbbabcbb"]
