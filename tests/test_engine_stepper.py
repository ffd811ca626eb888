"""GRUStepper against the full GRUPredictor, and its rollbacks inside the online engine."""
import random

import numpy as np
import pytest
import torch

from predictor.engine import Engine
from predictor.errors import PredictorError
from predictor.model import GRUPredictor
from predictor.online import run_compressed
from predictor.stepper import GRUStepper, resolve_device

from engine_helpers import random_stream, random_vocabulary


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny models run fastest on one thread, and the test machine is shared."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def small_model(vocab_size, seed=0):
    torch.manual_seed(seed)
    return GRUPredictor(vocab_size, n_embd=8, n_hidden=16).eval()


def hidden_from_scratch(model, tokens):
    """Hidden state after feeding ``tokens`` from a zero state, through nn.GRU."""
    if len(tokens) == 0:
        return torch.zeros(model.n_hidden)
    with torch.no_grad():
        _, hidden = model(torch.as_tensor(np.asarray(tokens), dtype=torch.int64).view(1, -1))
    return hidden.view(-1)


def test_stepper_matches_model_forward():
    model = small_model(12)
    stepper = GRUStepper(model, "cpu", ring_size=4)
    tokens = np.array([3, 1, 4, 1, 5, 9, 2, 6], dtype=np.int64)
    with torch.no_grad():
        logits, hidden = model(torch.as_tensor(tokens).view(1, -1))

    predicted = stepper.feed(tokens)
    assert torch.allclose(stepper.hidden, hidden.view(-1), atol=1e-5)
    assert predicted == int(torch.argmax(logits[0, -1]))


def test_stepper_feed_in_pieces_equals_one_feed():
    model = small_model(12)
    whole = GRUStepper(model, "cpu", ring_size=4)
    pieces = GRUStepper(model, "cpu", ring_size=4)
    tokens = np.array([7, 0, 11, 3, 3], dtype=np.int64)
    last = whole.feed(tokens)
    for j in range(len(tokens)):
        piece_last = pieces.feed(tokens[j:j + 1])
    assert piece_last == last
    assert torch.allclose(whole.hidden, pieces.hidden)


def test_stepper_rollback_restores_earlier_state():
    model = small_model(12)
    stepper = GRUStepper(model, "cpu", ring_size=3)
    stepper.feed(np.array([1, 2, 3, 4, 5], dtype=np.int64))
    stepper.rollback(3)
    assert torch.allclose(stepper.hidden, hidden_from_scratch(model, [1, 2]), atol=1e-5)
    stepper.feed(np.array([6], dtype=np.int64))
    assert torch.allclose(stepper.hidden, hidden_from_scratch(model, [1, 2, 6]), atol=1e-5)


def test_stepper_rollback_beyond_ring_raises():
    stepper = GRUStepper(small_model(12), "cpu", ring_size=2)
    stepper.feed(np.array([1, 2, 3], dtype=np.int64))
    with pytest.raises(PredictorError, match="only the last 2"):
        stepper.rollback(3)


def test_stepper_reset_zeroes_state():
    stepper = GRUStepper(small_model(12), "cpu", ring_size=2)
    stepper.feed(np.array([1, 2], dtype=np.int64))
    stepper.reset()
    assert torch.count_nonzero(stepper.hidden) == 0
    with pytest.raises(PredictorError):
        stepper.rollback(1)


def test_stepper_without_input_table(monkeypatch):
    # large vocabularies skip the precomputed input projections
    monkeypatch.setattr("predictor.stepper.INPUT_TABLE_MAX_BYTES", 0)
    model = small_model(12)
    stepper = GRUStepper(model, "cpu", ring_size=2)
    stepper.feed(np.array([4, 5, 6], dtype=np.int64))
    assert torch.allclose(stepper.hidden, hidden_from_scratch(model, [4, 5, 6]), atol=1e-5)


class EagerReplay:
    """Stands in for a captured CUDA graph by running its body eagerly."""

    def __init__(self, stepper, with_head):
        self.stepper, self.with_head = stepper, with_head

    def replay(self):
        self.stepper._graph_step(self.with_head)


def test_stepper_graph_body_matches_eager_path():
    # the CUDA-graph step reads token and slot from device tensors; run it on CPU
    model = small_model(12)
    plain = GRUStepper(model, "cpu", ring_size=3)
    graphed = GRUStepper(model, "cpu", ring_size=3)
    graphed._make_graph_inputs()
    graphed._graphs = {False: EagerReplay(graphed, False), True: EagerReplay(graphed, True)}

    for tokens, rollback in (([1, 2, 3], 0), ([4, 5], 2), ([6, 7, 8, 9], 1), ([10], 3)):
        for stepper in (plain, graphed):
            if rollback:
                stepper.rollback(rollback)
        tokens = np.array(tokens, dtype=np.int64)
        assert graphed.feed(tokens) == plain.feed(tokens)
        assert torch.allclose(graphed.hidden, plain.hidden, atol=1e-6)


def test_rollbacks_restore_state_of_c_prefix():
    # after every rollback the GRU state equals the state recomputed over C[:cursor]
    checked = 0
    for seed in range(8):
        rng = random.Random(seed)
        vocab = random_vocabulary(rng, [0, 1, 2], max_nonterminals=6, max_length=6)
        events = random_stream(rng, vocab, [0, 1, 2], 100)
        model = small_model(vocab.size, seed)
        stepper = GRUStepper(model, "cpu", ring_size=vocab.max_token_length())
        engine = Engine(vocab, history=len(events) + 1)
        engine.bind(events)
        engine.reset()
        stepper.reset()

        request = engine.advance(len(events))
        while request is not None:
            _, rollback, tokens = request
            tokens = tokens.copy()
            if rollback:
                stepper.rollback(rollback)
                _, cursor = engine.cursor()
                prefix = engine.tokens()[:cursor]
                assert torch.allclose(stepper.hidden, hidden_from_scratch(model, prefix), atol=1e-5)
                checked += 1
            engine.predicted(stepper.feed(tokens))
            length, cursor = engine.cursor()
            assert torch.allclose(stepper.hidden, hidden_from_scratch(model, engine.tokens()),
                                  atol=1e-5)
            request = engine.advance(len(events))
    assert checked > 10


def test_run_compressed_with_gru_stepper():
    rng = random.Random(3)
    vocab = random_vocabulary(rng, [0, 1, 2, 3], max_nonterminals=5, max_length=5)
    events = random_stream(rng, vocab, [0, 1, 2, 3], 300)
    stepper = GRUStepper(small_model(vocab.size), "cpu")
    result = run_compressed(events, vocab, stepper, session_starts=[100, 200])
    assert result.events == 300
    assert 0 < result.predictions <= 300
    assert result.model_time_ns > 0
    assert result.total_time_ns >= result.model_time_ns
    assert stepper.ring_size >= vocab.max_token_length()


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU message")
def test_cuda_device_without_gpu_raises():
    with pytest.raises(PredictorError, match="no CUDA GPU"):
        GRUStepper(small_model(4), "cuda")


def test_invalid_device_string_raises():
    with pytest.raises(PredictorError, match="invalid device"):
        resolve_device("quantum")


def test_default_device_is_available_one():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device(None).type == expected
    assert resolve_device("cpu").type == "cpu"
