"""The running example of Guan et al. (TKDD 2026, Figure 2(c)) through the C engine, the reference and run_compressed.

Training sequence x (abcabcabcabcd)x4 (ae)x4 f abc g abcabc at FREQ 3 keeps the
non-terminals 3 = abc, 5 = abcabcabcabcd and 6 = ae. Token ids: 0 unknown,
a..g = 1..7, x = 8, then rule 3 = 9, rule 5 = 10, rule 6 = 11. The event y of
the test stream never occurs in training, so it becomes the unknown token.

Test stream (times 1..18): x a b c a b a b d a y a b f a b c g.
Scripted model predictions, one per call, and what follows from the engine rules:

 t  event  C after the event (names)        cursor  model call
 1  x      x                                 1       feed [x] -> 5 (abcabcabcabcd)
 2  a      x a                               1       a = 5[0], no call
 3  b      x a b                             1       b = 5[1], no call
 4  c      x 3          (abc replaced)       1       c = 5[2], no call; a b were never fed: no rollback
 5  a      x 3 a                             1       5[3], no call
 6  b      x 3 a b                           1       5[4], no call
 7  a      x 3 a b a                         5       miss (5[5] = c): feed [3 a b a] -> b
 8  b      ... b                             6       hit, used up: feed [b] -> a
 9  d      ... d                             7       miss: feed [d] -> a
10  a      ... a                             8       hit, used up: feed [a] -> 6 (ae)
11  y      ... unknown                       9       miss (expected a): feed [unknown] -> a
12  a      ... a                             10      hit, used up: feed [a] -> b
13  b      ... b                             11      hit, used up: feed [b] -> unknown
14  f      ... f                             12      an unknown prediction never matches: feed [f] -> a
15  a      ... a                             13      hit, used up: feed [a] -> b
16  b      ... b                             14      hit, used up: feed [b] -> c
17  c      x 3 a b a b d a y a b f 3         13      abc replaces the fed a b: rollback of 2 tokens,
                                                     cursor 12; hit c, used up: feed [3] -> g
18  g      x 3 a b a b d a y a b f 3 g       14      hit, used up: feed [g] -> x

Totals: 13 predictions; model inputs 1 + 4 + 11 * 1 = 16; one rollback; correct
events at t = 2..6, 8, 10, 12, 13, 15..18 = 13; covered 13 + 2 (ae) + 11 * 1 = 26.
"""
import numpy as np
import pytest

from predictor.engine import Engine
from predictor.online import run_compressed
from predictor.reference_engine import run_reference
from predictor.stepper import ScriptedStepper
from predictor.vocabulary import Vocabulary

from engine_helpers import letters

TRAIN = letters("x " + "a b c a b c a b c a b c d " * 4 + "a e " * 4 + "f a b c g a b c a b c")
STREAM = letters("x a b c a b a b d a y a b f a b c g")

VOCAB = Vocabulary.from_events(TRAIN, nonterminals=[
    (3, letters("a b c")), (5, letters("a b c a b c a b c a b c d")), (6, letters("a e"))], freq=3)

UNK, A, B, C, D, E, F, G, X = 0, 1, 2, 3, 4, 5, 6, 7, 8
R3, R5, R6 = 9, 10, 11
SCRIPT = [R5, B, A, A, R6, A, B, UNK, A, B, C, G, X]

# (tokens of C, cursor) after each event, from the table above
EXPECTED_C = [
    ([X], 1), ([X, A], 1), ([X, A, B], 1), ([X, R3], 1), ([X, R3, A], 1), ([X, R3, A, B], 1),
    ([X, R3, A, B, A], 5), ([X, R3, A, B, A, B], 6), ([X, R3, A, B, A, B, D], 7),
    ([X, R3, A, B, A, B, D, A], 8), ([X, R3, A, B, A, B, D, A, UNK], 9),
    ([X, R3, A, B, A, B, D, A, UNK, A], 10), ([X, R3, A, B, A, B, D, A, UNK, A, B], 11),
    ([X, R3, A, B, A, B, D, A, UNK, A, B, F], 12), ([X, R3, A, B, A, B, D, A, UNK, A, B, F, A], 13),
    ([X, R3, A, B, A, B, D, A, UNK, A, B, F, A, B], 14),
    ([X, R3, A, B, A, B, D, A, UNK, A, B, F, R3], 13),
    ([X, R3, A, B, A, B, D, A, UNK, A, B, F, R3, G], 14),
]

# (event index, rollback, fed tokens) of each model call
EXPECTED_CALLS = [
    (0, 0, [X]), (6, 0, [R3, A, B, A]), (7, 0, [B]), (8, 0, [D]), (9, 0, [A]), (10, 0, [UNK]),
    (11, 0, [A]), (12, 0, [B]), (13, 0, [F]), (14, 0, [A]), (15, 0, [B]), (16, 2, [R3]),
    (17, 0, [G]),
]


def test_example_vocabulary_layout():
    assert VOCAB.expansions[R3] == tuple(letters("a b c"))
    assert VOCAB.rule_token(5) == R5
    assert VOCAB.terminal_token(letters("y")[0]) == UNK
    assert VOCAB.max_token_length() == 13


def test_example_vocabulary_from_sequitur_and_lowering():
    from predictor.lowering import compress
    compressed = compress(TRAIN, None, 3)
    assert compressed.vocab.expansions == VOCAB.expansions
    assert compressed.vocab.rules == VOCAB.rules
    # lowered training sequence x 5 5 5 5 6 6 6 6 f 3 g 3 3
    assert compressed.tokens.tolist() == [X, R5, R5, R5, R5, R6, R6, R6, R6, F, R3, G, R3, R3]


def test_example_c_engine_step_by_step():
    engine = Engine(VOCAB, history=64)
    engine.bind(STREAM)
    engine.reset()
    script = iter(SCRIPT)
    calls, sequences = [], []
    for index in range(len(STREAM)):
        request = engine.advance(index + 1)
        if request is not None:
            event, rollback, tokens = request
            calls.append((event, rollback, tokens.tolist()))
            engine.predicted(next(script))
            assert engine.advance(index + 1) is None
        length, cursor = engine.cursor()
        sequences.append((engine.tokens().tolist(), cursor))

    assert sequences == EXPECTED_C
    assert calls == EXPECTED_CALLS


def test_example_c_engine_final_sequence():
    # the tokenized stream the design gives: x 3 a b a b d a y a b f 3 g
    engine = Engine(VOCAB, history=64)
    engine.bind(STREAM)
    engine.reset()
    script = iter(SCRIPT)
    request = engine.advance(len(STREAM))
    while request is not None:
        engine.predicted(next(script))
        request = engine.advance(len(STREAM))
    assert engine.tokens().tolist() == [X, R3, A, B, A, B, D, A, UNK, A, B, F, R3, G]


def test_example_run_compressed_counters():
    stepper = ScriptedStepper(SCRIPT)
    result = run_compressed(STREAM, VOCAB, stepper)
    assert result.events == 18
    assert result.predictions == 13
    assert result.model_inputs == 16
    assert result.rollbacks == 1
    assert result.correct == 13
    assert result.covered == 26
    assert result.event_accuracy == pytest.approx(13 / 18)
    assert result.avg_prediction_length == pytest.approx(2.0)
    assert result.freq == 3


def test_example_run_compressed_stepper_calls():
    stepper = ScriptedStepper(SCRIPT)
    run_compressed(STREAM, VOCAB, stepper)
    feeds = [(list(entry[1]), entry[2]) for entry in stepper.log if entry[0] == "feed"]
    assert feeds == [(fed, answer) for (_, _, fed), answer in zip(EXPECTED_CALLS, SCRIPT)]
    assert ("rollback", 2) in stepper.log
    assert stepper.log.index(("rollback", 2)) == stepper.log.index(("feed", (R3,), G)) - 1


def test_example_recorded_predictions():
    result = run_compressed(STREAM, VOCAB, ScriptedStepper(SCRIPT), trace_offset=100, record=True)
    assert result.event_index.tolist() == [100 + call[0] for call in EXPECTED_CALLS]
    first = result.predicted[result.offsets[0]:result.offsets[1]]
    assert first.tolist() == list(letters("a b c a b c a b c a b c d"))

    # the unknown prediction (8th call) records no events
    assert result.offsets[8] == result.offsets[7]
    assert result.offsets[-1] == len(result.predicted)
    assert len(result.latency_ns) == 13
    assert np.all(result.latency_ns > 0)


def test_example_reference_engine_agrees():
    stepper = ScriptedStepper(SCRIPT)
    result = run_reference(STREAM, VOCAB, stepper)
    assert [(list(c), cursor) for c, cursor in result.sequences] == EXPECTED_C
    assert [call[0] for call in result.calls] == [call[0] for call in EXPECTED_CALLS]
    assert (result.predictions, result.model_inputs, result.rollbacks) == (13, 16, 1)
    assert (result.correct, result.covered) == (13, 26)
