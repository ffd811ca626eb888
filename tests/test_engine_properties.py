"""Invariants of the online runs, the baselines, and the errors users can cause."""
import random

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from predictor.errors import PredictorError
from predictor.online import k_from, run_compressed, run_default1, run_defaultk, speedup
from predictor.stepper import ScriptedStepper
from predictor.vocabulary import Vocabulary

from engine_helpers import oracle_stepper, random_session_starts, random_stream, random_vocabulary


def random_stepper(vocab, seed):
    """A scripted model whose prediction depends only on (seed, call number)."""
    return ScriptedStepper(lambda call, history: random.Random(seed * 7919 + call).randrange(vocab.size))


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**31), length=st.integers(1, 200), oracle=st.booleans())
def test_predictions_and_inputs_at_most_events(seed, length, oracle):
    # Propositions 1 and 2 of Guan et al. (TKDD 2026): predictions <= events, model inputs <= events
    rng = random.Random(seed)
    alphabet = list(range(rng.randint(1, 4)))
    vocab = random_vocabulary(rng, alphabet)
    events = random_stream(rng, vocab, alphabet, length)
    starts = random_session_starts(rng, length)
    stepper = oracle_stepper(events, vocab, starts, seed) if oracle else random_stepper(vocab, seed)
    result = run_compressed(events, vocab, stepper, session_starts=starts)

    assert result.events == length
    assert result.predictions <= result.events
    assert result.model_inputs <= result.events
    assert result.correct <= result.events
    assert result.covered >= result.predictions


def test_propositions_hold_with_many_rollbacks():
    # prefix-sharing tokens (ab, abc, abcab...) over a two-letter-heavy stream roll back often
    vocab = Vocabulary.from_events([0, 1, 2], nonterminals=[
        (1, (0, 1)), (2, (0, 1, 2)), (3, (0, 1, 2, 0, 1)), (4, (1, 2, 0, 1, 2, 0))])
    rng = random.Random(5)
    events = np.array([rng.choice([0, 1, 2, 0, 1]) for _ in range(1500)], dtype=np.int64)
    for seed in range(5):
        for stepper in (oracle_stepper(events, vocab, None, seed), random_stepper(vocab, seed)):
            result = run_compressed(events, vocab, stepper)
            assert result.rollbacks > 0
            assert result.predictions <= result.events
            assert result.model_inputs <= result.events


def history_stepper(vocab):
    """A scripted model whose prediction is a function of what it has been fed."""
    return ScriptedStepper(lambda call, history: hash(history[-3:]) % vocab.size)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31), length=st.integers(1, 150))
def test_terminal_vocabulary_equals_default1(seed, length):
    rng = random.Random(seed)
    alphabet = list(range(rng.randint(1, 5)))
    vocab = Vocabulary.from_events([e for e in alphabet if rng.random() < 0.8] or [0])
    events = np.array([rng.choice(alphabet) for _ in range(length)], dtype=np.int64)
    starts = random_session_starts(rng, length)

    compressed = run_compressed(events, vocab, history_stepper(vocab), session_starts=starts,
                                record=True)
    default1 = run_default1(events, vocab, history_stepper(vocab), session_starts=starts,
                            record=True)
    for name in ("events", "predictions", "model_inputs", "correct", "covered"):
        assert getattr(compressed, name) == getattr(default1, name), name
    assert compressed.rollbacks == 0
    assert compressed.event_index.tolist() == default1.event_index.tolist()
    assert compressed.offsets.tolist() == default1.offsets.tolist()
    assert compressed.predicted.tolist() == default1.predicted.tolist()


def test_default1_counts_by_hand():
    # stream a b a b, model always predicts b: events 2 (b) and 4 (b) are correct
    vocab = Vocabulary.from_events([0, 1])  # tokens: 1 = a, 2 = b
    events = np.array([0, 1, 0, 1], dtype=np.int64)
    result = run_default1(events, vocab, ScriptedStepper(lambda call, history: 2), trace_offset=10,
                          record=True)
    assert (result.events, result.predictions, result.model_inputs, result.correct) == (4, 4, 4, 2)
    assert result.event_accuracy == 0.5
    assert result.event_index.tolist() == [10, 11, 12, 13]
    assert result.predicted.tolist() == [1, 1, 1, 1]


def true_next_stepper(events, vocab):
    """A scripted model that always predicts the true next event's token."""
    values = events.tolist()

    def script(call, history):
        position = len(history)
        return vocab.terminal_token(values[position]) if position < len(values) else 1
    return ScriptedStepper(script)


def test_defaultk_counts_with_perfect_model():
    # a b a b a b, k = 2: blocks after events 0, 2, 4 and 5 (the last event)
    vocab = Vocabulary.from_events([0, 1])
    events = np.array([0, 1, 0, 1, 0, 1], dtype=np.int64)
    result = run_defaultk(events, vocab, true_next_stepper(events, vocab), 2, record=True)
    assert result.predictions == 4
    assert result.correct == 5
    assert result.covered == 8
    # 1 (event 0) + per block: 1 fed-back prediction + 1 real event; the last block has no refeed
    assert result.model_inputs == 1 + 2 + 2 + 2 + 1
    assert result.event_index.tolist() == [0, 2, 4, 5]
    # past the end of the stream the scripted model returns a (event 0)
    assert result.predicted.tolist() == [1, 0, 1, 0, 1, 0, 0, 0]


def test_defaultk_refeeds_after_wrong_prediction():
    # model always returns a: fed-back predictions are wrong from b on and are rolled back
    vocab = Vocabulary.from_events([0, 1])
    events = np.array([0, 1, 1, 1, 1, 1, 1], dtype=np.int64)
    stepper = ScriptedStepper(lambda call, history: 1)
    result = run_defaultk(events, vocab, stepper, 3)
    rollbacks = [entry[1] for entry in stepper.log if entry[0] == "rollback"]
    assert rollbacks == [2, 2]
    assert result.correct == 0
    assert result.model_inputs <= result.predictions * (2 * 3 - 1)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31), length=st.integers(1, 120))
def test_defaultk_with_k1_equals_default1(seed, length):
    rng = random.Random(seed)
    vocab = Vocabulary.from_events([0, 1, 2])
    events = np.array([rng.choice([0, 1, 2, 3]) for _ in range(length)], dtype=np.int64)
    starts = random_session_starts(rng, length)
    k1 = run_defaultk(events, vocab, history_stepper(vocab), 1, session_starts=starts, record=True)
    d1 = run_default1(events, vocab, history_stepper(vocab), session_starts=starts, record=True)
    for name in ("predictions", "model_inputs", "correct", "covered"):
        assert getattr(k1, name) == getattr(d1, name), name
    assert k1.predicted.tolist() == d1.predicted.tolist()


def test_k_from_and_speedup():
    vocab = Vocabulary.from_events([0, 1], nonterminals=[(1, (0, 1, 0, 1))])
    events = np.array([0, 1] * 20, dtype=np.int64)
    compressed = run_compressed(events, vocab, ScriptedStepper(lambda call, history: 3))
    assert compressed.avg_prediction_length == pytest.approx(compressed.covered / compressed.predictions)
    assert k_from(compressed) == round(compressed.avg_prediction_length)
    default1 = run_default1(events, vocab, ScriptedStepper(lambda call, history: 1))
    assert speedup(default1, compressed) == pytest.approx(default1.avg_latency_ns / compressed.avg_latency_ns)
    data = compressed.to_dict()
    assert data["method"] == "compressed"
    assert 0 <= data["tokenization_overhead"] <= 1
    assert "predicted" not in data


@pytest.mark.parametrize("run", [run_compressed, run_default1,
                                 lambda *args, **kw: run_defaultk(*args, 2, **kw)])
def test_empty_stream_raises(run):
    vocab = Vocabulary.from_events([0, 1])
    with pytest.raises(PredictorError, match="empty"):
        run(np.zeros(0, dtype=np.int64), vocab, ScriptedStepper([1]))


def test_bad_session_starts_raise():
    vocab = Vocabulary.from_events([0, 1])
    with pytest.raises(PredictorError, match="session starts"):
        run_compressed(np.array([0, 1, 0]), vocab, ScriptedStepper([1] * 3), session_starts=[5])


def test_token_outside_vocabulary_raises():
    vocab = Vocabulary.from_events([0, 1])
    with pytest.raises(PredictorError, match="outside the vocabulary"):
        run_compressed(np.array([0, 1]), vocab, ScriptedStepper([99]))
    with pytest.raises(PredictorError, match="outside the vocabulary"):
        run_default1(np.array([0, 1]), vocab, ScriptedStepper([99]))


def test_defaultk_rejects_k_zero():
    vocab = Vocabulary.from_events([0, 1])
    with pytest.raises(PredictorError, match="k >= 1"):
        run_defaultk(np.array([0, 1]), vocab, ScriptedStepper([1]), 0)


def test_engine_call_order_errors():
    from predictor.engine import Engine
    engine = Engine(Vocabulary.from_events([0, 1]))
    engine.bind(np.array([0, 1], dtype=np.int64))
    engine.reset()
    with pytest.raises(PredictorError, match="out of order"):
        engine.predicted(1)
    assert engine.advance(2) is not None
    with pytest.raises(PredictorError, match="out of order"):
        engine.advance(2)
    with pytest.raises(PredictorError, match="outside the vocabulary"):
        engine.predicted(-1)
    assert engine.resume(1, 2) is not None


def test_chunk_boundaries_change_nothing(monkeypatch):
    # the run loop hands the C engine a chunk of events at a time; tiny chunks must agree
    from predictor.reference_engine import run_reference
    rng = random.Random(11)
    vocab = random_vocabulary(rng, [0, 1, 2], max_length=6)
    events = random_stream(rng, vocab, [0, 1, 2], 400)
    monkeypatch.setattr("predictor.online.CHUNK_EVENTS", 7)
    result = run_compressed(events, vocab, oracle_stepper(events, vocab, [150], 11),
                            session_starts=[150])
    reference = run_reference(events, vocab, oracle_stepper(events, vocab, [150], 11),
                              session_starts=[150])
    assert (result.predictions, result.model_inputs, result.rollbacks, result.correct) == \
        (reference.predictions, reference.model_inputs, reference.rollbacks, reference.correct)


def test_progress_bars_run(capsys):
    vocab = Vocabulary.from_events([0, 1], nonterminals=[(1, (0, 1))])
    events = np.array([0, 1] * 50, dtype=np.int64)
    for run in (run_compressed, run_default1):
        result = run(events, vocab, ScriptedStepper(lambda call, history: 3), progress=True)
        assert result.events == 100
    result = run_defaultk(events, vocab, ScriptedStepper(lambda call, history: 1), 3, progress=True)
    assert result.events == 100
    assert "event" in capsys.readouterr().err


def test_vocabulary_without_terminals():
    # every event is unknown: one model call per event, nothing correct
    vocab = Vocabulary.from_events([])
    events = np.array([5, 6, 7], dtype=np.int64)
    result = run_compressed(events, vocab, ScriptedStepper([0, 0, 0]))
    assert (result.predictions, result.model_inputs, result.correct) == (3, 3, 0)


class _CountingBar:
    """Stands in for the tqdm bar and counts its updates."""

    def __init__(self):
        self.n = 0
        self.updates = 0

    def update(self, count):
        self.n += count
        self.updates += 1

    def close(self):
        pass


@pytest.mark.parametrize("method", ["default-1", "default-k"])
def test_progress_updates_once_per_chunk(monkeypatch, method):
    # bar updates run inside the timed loop, so they must not happen per block
    bars = []

    def make_bar(total, enabled, name):
        bars.append(_CountingBar())
        return bars[-1]

    monkeypatch.setattr("predictor.online._progress", make_bar)
    monkeypatch.setattr("predictor.online.CHUNK_EVENTS", 64)
    vocab = Vocabulary.from_events([0, 1])
    events = np.array([0, 1] * 500, dtype=np.int64)
    stepper = ScriptedStepper(lambda call, history: 1)
    if method == "default-1":
        run_default1(events, vocab, stepper, progress=True)
    else:
        run_defaultk(events, vocab, stepper, 1, progress=True)

    assert bars[0].n == len(events)
    assert bars[0].updates <= len(events) // 64 + 2
