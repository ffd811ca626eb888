"""Helpers shared by the grammar tests: text inputs, printed rules, invariants."""
import collections

import numpy as np

from predictor.sequitur import SEPARATOR

# The running example of Guan et al. (TKDD 2026): x (abcabcabcabcd)x4 (ae)x4 f abc g abcabc.
RUNNING_EXAMPLE = "x" + "abcabcabcabcd" * 4 + "ae" * 4 + "f" + "abc" + "g" + "abcabc"
RUNNING_EXAMPLE_RULES = [
    "0 -> x 1 1 2 2 f 3 g 4",
    "1 -> 5 5",
    "2 -> 6 6",
    "3 -> a b c",
    "4 -> 3 3",
    "5 -> 4 4 d",
    "6 -> a e",
]


def encode(text: str) -> np.ndarray:
    """Events of a string, one per character (its code point)."""
    return np.array([ord(c) for c in text], dtype=np.int64)


def split_sessions(text: str):
    """Turn ``"ab|ab"`` into the events of ``"abab"`` and session starts ``[0, 2]``."""
    pieces = text.split("|")
    starts = np.cumsum([0] + [len(piece) for piece in pieces[:-1]])
    return encode("".join(pieces)), starts


def rule_lines(grammar) -> list:
    return grammar.format_rules(chr)


def with_separators(events, starts) -> np.ndarray:
    """The input as rule 0 expands to it: a SEPARATOR before every session but the first."""
    events = np.asarray(events, dtype=np.int64)
    if starts is None or len(starts) < 2:
        return events
    return np.insert(events, np.asarray(starts[1:]), SEPARATOR)


def digram_violations(grammar) -> list:
    """Digrams occurring twice without overlapping, over all rules."""
    places = collections.defaultdict(list)
    for r, body in enumerate(grammar.rules):
        body = body.tolist()
        for i in range(len(body) - 1):
            if SEPARATOR in (body[i], body[i + 1]):
                continue
            places[(body[i], body[i + 1])].append((r, i))
    violations = []
    for digram, found in places.items():
        for (r1, i1), (r2, i2) in zip(found, found[1:]):
            if r1 != r2 or i2 - i1 > 1:
                violations.append((digram, found))
                break
    return violations


def rule_uses(grammar) -> collections.Counter:
    return collections.Counter(-(int(v) + 1) for v in grammar.symbols
                               if v < 0 and v != SEPARATOR)


def assert_invariants(grammar, events, starts=None):
    """Check digram uniqueness, rule utility, separators and the expansion."""
    assert digram_violations(grammar) == []

    uses = rule_uses(grammar)
    underused = [r for r in range(1, grammar.num_rules) if uses[r] < 2]
    assert underused == []
    assert uses[0] == 0

    short = [r for r in range(1, grammar.num_rules) if len(grammar.rule(r)) < 2]
    assert short == []

    for r in range(1, grammar.num_rules):
        assert SEPARATOR not in grammar.rule(r).tolist()

    assert np.array_equal(grammar.expand(0), with_separators(events, starts))
