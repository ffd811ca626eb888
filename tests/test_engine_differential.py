"""The C engine against the plain-Python reference engine on random vocabularies and streams."""
import random

import numpy as np
from hypothesis import given, settings, strategies as st

from predictor.engine import Engine
from predictor.online import run_compressed
from predictor.reference_engine import run_reference
from predictor.stepper import ScriptedStepper

from engine_helpers import (merged_log, oracle_stepper, random_session_starts, random_stream,
                            random_vocabulary)


def random_case(seed):
    """Return (vocab, events, session starts) for one seed."""
    rng = random.Random(seed)
    if rng.random() < 0.5:
        alphabet = list(range(rng.randint(1, 4)))  # few symbols: many matches and rollbacks
    else:
        alphabet = [rng.randrange(2**40) for _ in range(rng.randint(1, 6))]  # block-number-like values
    vocab = random_vocabulary(rng, alphabet)
    length = rng.randint(1, 120)
    events = random_stream(rng, vocab, alphabet, length)
    return vocab, events, random_session_starts(rng, length)


def compare_runs(seed):
    vocab, events, starts = random_case(seed)
    c_stepper = oracle_stepper(events, vocab, starts, seed)
    ref_stepper = oracle_stepper(events, vocab, starts, seed)
    result = run_compressed(events, vocab, c_stepper, session_starts=starts, record=True)
    reference = run_reference(events, vocab, ref_stepper, session_starts=starts)

    counters = ("events", "predictions", "model_inputs", "rollbacks", "correct", "covered")
    assert {name: getattr(result, name) for name in counters} == \
        {name: getattr(reference, name) for name in counters}, f"seed {seed}"
    assert merged_log(c_stepper.log) == merged_log(ref_stepper.log), f"seed {seed}"
    assert result.event_index.tolist() == [call[0] for call in reference.calls], f"seed {seed}"
    return reference


def test_differential_seeded_cases():
    rollbacks = 0
    for seed in range(1500):
        rollbacks += compare_runs(seed).rollbacks
    assert rollbacks > 100  # the generator must exercise rollbacks


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=10_000, max_value=2**31))
def test_differential_hypothesis_cases(seed):
    compare_runs(seed)


def sequences_step_by_step(vocab, events, starts, stepper):
    """Drive the C engine one event at a time; return (C, cursor) after every event."""
    engine = Engine(vocab, history=len(events) + 1)
    engine.bind(events)
    bounds = sorted(set([0] + list(starts or []))) + [len(events)]
    out = []
    for begin, end in zip(bounds, bounds[1:]):
        engine.reset()
        stepper.reset()
        for index in range(begin, end):
            request = engine.advance(index + 1)
            if request is not None:
                _, rollback, tokens = request
                if rollback:
                    stepper.rollback(rollback)
                engine.predicted(stepper.feed(tokens))
            length, cursor = engine.cursor()
            out.append((tuple(engine.tokens().tolist()), cursor))
    return out


def test_differential_tokenized_sequences():
    for seed in range(400):
        vocab, events, starts = random_case(seed)
        reference = run_reference(events, vocab, oracle_stepper(events, vocab, starts, seed),
                                  session_starts=starts)
        ours = sequences_step_by_step(vocab, events, starts,
                                      oracle_stepper(events, vocab, starts, seed))
        assert ours == reference.sequences, f"seed {seed}"


def test_differential_long_tokens_and_long_stream():
    # long expansions stress the automaton's failure links and the C ring buffers
    rng = random.Random(7)
    alphabet = [0, 1, 2]
    vocab = random_vocabulary(rng, alphabet, max_nonterminals=12, max_length=40)
    events = random_stream(rng, vocab, alphabet, 3000)
    starts = [1000, 2000]
    c_stepper = oracle_stepper(events, vocab, starts, 7, hit_rate=0.9)
    ref_stepper = oracle_stepper(events, vocab, starts, 7, hit_rate=0.9)
    result = run_compressed(events, vocab, c_stepper, session_starts=starts)
    reference = run_reference(events, vocab, ref_stepper, session_starts=starts)
    assert (result.predictions, result.rollbacks, result.correct) == \
        (reference.predictions, reference.rollbacks, reference.correct)
    assert merged_log(c_stepper.log) == merged_log(ref_stepper.log)


def test_engine_duplicate_expansion_takes_lowest_token():
    # a non-terminal spelling the same events as another: both engines pick the lower id
    from predictor.vocabulary import Vocabulary
    vocab = Vocabulary.from_events([0, 1], nonterminals=[(1, (0, 1)), (2, (0, 1))])
    events = np.array([0, 1, 0, 1], dtype=np.int64)
    engine = Engine(vocab, history=8)
    engine.bind(events)
    engine.reset()
    request = engine.advance(4)
    while request is not None:
        engine.predicted(1)
        request = engine.advance(4)
    assert engine.tokens().tolist() == [3, 3]
    reference = run_reference(events, vocab, ScriptedStepper(lambda call, history: 1))
    assert reference.sequences[-1][0] == (3, 3)
