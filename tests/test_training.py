"""Training loop, splits, offline tokenization and model directories (no grammar or engine)."""
import dataclasses
import json
import os

import numpy as np
import pytest
import torch

from predictor.checkpoint import load_model, save_model
from predictor.errors import CheckpointError, PredictorError
from predictor.model import GRUPredictor
from predictor.presets import PRESETS, TINY, get_preset
from predictor.retokenize import tokenize
from predictor.splits import make_split, part_sessions
from predictor.stepper import resolve_device
from predictor.training import make_windows, train_model
from predictor.vocabulary import UNKNOWN, Vocabulary

PRESET = dataclasses.replace(TINY, max_epochs=3, patience=10, max_windows=64)


def _sequence(length=3000, seed=1):
    """A repetitive token sequence over tokens 1..9 with some noise."""
    rng = np.random.default_rng(seed)
    pattern = np.array([1, 2, 3, 4, 5, 2, 3, 6, 7, 8, 9, 4])
    tokens = np.resize(pattern, length)
    noise = rng.random(length) < 0.05
    tokens[noise] = rng.integers(1, 10, noise.sum())
    return tokens


def _train(state_path=None, on_epoch_end=None, preset=PRESET):
    tokens = _sequence()
    return train_model(10, (tokens[:2400], [0]), (tokens[2400:], [0]), preset, "cpu",
                       state_path=state_path, progress=False, on_epoch_end=on_epoch_end)


def _same_weights(a, b):
    state_a, state_b = a.state_dict(), b.state_dict()
    return state_a.keys() == state_b.keys() and all(
        torch.equal(state_a[key], state_b[key]) for key in state_a)


def test_presets_paper_setting():
    paper = get_preset("paper")
    assert (paper.n_embd, paper.n_hidden, paper.input_length) == (256, 1024, 100)
    assert (paper.lr, paper.max_epochs, paper.patience, paper.batch_size) == (1e-3, 100, 5, 1)
    assert set(PRESETS) == {"paper", "default", "tiny"}
    with pytest.raises(PredictorError, match="unknown preset"):
        get_preset("huge")


def test_windows_stop_at_session_starts():
    inputs, targets, lengths = make_windows(np.arange(10), [0, 4], 3)
    assert lengths.tolist() == [3, 3, 2]
    assert inputs[0].tolist() == [0, 1, 2]
    assert targets[0].tolist() == [1, 2, 3]
    assert inputs[1].tolist() == [4, 5, 6]
    assert targets[2].tolist() == [8, 9, -100]


def test_training_learns_and_seeds_repeat():
    first = _train()
    second = _train()
    assert _same_weights(first.model, second.model)
    losses = [(r["train_loss"], r["valid_loss"]) for r in first.history]
    assert losses == [(r["train_loss"], r["valid_loss"]) for r in second.history]
    # A uniform guess over 10 tokens costs ln(10) = 2.30 nats per token.
    assert first.best_valid_loss < 1.5


def test_other_seed_gives_other_weights():
    first = _train()
    other = _train(preset=dataclasses.replace(PRESET, seed=7))
    assert not _same_weights(first.model, other.model)


class Interrupt(Exception):
    pass


def test_resume_after_interruption_matches(tmp_path):
    uninterrupted = _train(state_path=str(tmp_path / "a.pt"))

    def stop_after_first(epoch, record):
        if epoch == 1:
            raise Interrupt()

    state_path = str(tmp_path / "b.pt")
    with pytest.raises(Interrupt):
        _train(state_path=state_path, on_epoch_end=stop_after_first)
    resumed = _train(state_path=state_path)
    assert resumed.resumed_from == 1
    assert resumed.epochs == uninterrupted.epochs == PRESET.max_epochs
    assert _same_weights(resumed.model, uninterrupted.model)


def test_finished_state_is_reused(tmp_path):
    state_path = str(tmp_path / "s.pt")
    first = _train(state_path=state_path)
    again = _train(state_path=state_path)
    assert again.resumed_from == first.epochs
    assert _same_weights(first.model, again.model)


def test_corrupted_training_state_raises(tmp_path):
    state_path = tmp_path / "s.pt"
    state_path.write_bytes(b"not a torch file")
    with pytest.raises(CheckpointError, match="training state is unreadable"):
        _train(state_path=str(state_path))


def test_training_without_pairs_raises():
    with pytest.raises(PredictorError, match="no next-token pair"):
        train_model(5, (np.array([1]), [0]), (np.array([1, 2]), [0]), PRESET, "cpu",
                    progress=False)


def test_split_defaults_follow_paper_layout():
    split = make_split(500_000)
    assert split.train_stop == 250_000
    assert split.interval == 50_000
    assert split.fit_range == (0, 200_000)
    assert split.valid_range == (200_000, 250_000)
    assert split.test_range == (250_000, 500_000)


def test_split_overrides():
    split = make_split(1000, train_events=600, test_events=100, interval=50)
    assert split.fit_range == (0, 550)
    assert split.valid_range == (550, 600)
    assert split.test_range == (600, 700)
    assert make_split(1000, test_events=0).test_range == (500, 500)


@pytest.mark.parametrize("kwargs, message", [
    ({"num_events": 19}, "at least 20 are needed"),
    ({"num_events": 100, "train_events": 101}, "outside the trace"),
    ({"num_events": 100, "interval": 49}, "leaves no room"),
    ({"num_events": 100, "test_events": 51}, "does not fit"),
    ({"num_events": 100, "train_events": 3}, "--train-events 3 is too few"),
])
def test_split_rejects_bad_sizes(kwargs, message):
    with pytest.raises(PredictorError, match=message):
        make_split(**kwargs)


def test_part_sessions_restart_at_boundary():
    starts = np.array([0, 5, 12])
    assert part_sessions(starts, 3, 10).tolist() == [0, 2]
    assert part_sessions(starts, 5, 12).tolist() == [0]
    assert part_sessions(starts, 10, 20).tolist() == [0, 2]


def test_retokenize_longest_token_at_boundary():
    vocab = Vocabulary.from_events([1, 2, 3], [(1, (1, 2, 3)), (2, (1, 2, 3, 1, 2, 3))])
    tokens, starts = tokenize([1, 2, 3, 1, 2, 3, 1, 2, 9, 1, 2, 3], vocab)
    # Token ids: 1, 2, 3 are terminals, 4 = (1 2 3), 5 = (1 2 3 1 2 3).
    assert tokens.tolist() == [5, 1, 2, UNKNOWN, 4]
    assert starts.tolist() == [0]


def test_retokenize_keeps_sessions_apart():
    vocab = Vocabulary.from_events([1, 2, 3], [(1, (1, 2, 3)), (2, (1, 2, 3, 1, 2, 3))])
    tokens, starts = tokenize([1, 2, 3, 1, 2, 3, 1, 2, 9, 1, 2, 3], vocab, [0, 4])
    assert tokens.tolist() == [4, 1, 2, 3, 1, 2, UNKNOWN, 4]
    assert starts.tolist() == [0, 2]


def _saved_model(tmp_path):
    torch.manual_seed(0)
    model = GRUPredictor(5, 4, 6)
    vocab = Vocabulary.from_events([1, 2, 3], [(1, (1, 2))], freq=2)
    info = {"method": "compressed", "freq": 2, "preset": TINY.to_json(),
            "split": make_split(100).to_json(), "trace": {"kind": "log"}}
    save_model(tmp_path / "m", model, vocab, info)
    return model, vocab


def test_checkpoint_round_trip(tmp_path):
    model, vocab = _saved_model(tmp_path)
    loaded = load_model(tmp_path / "m")
    assert _same_weights(loaded.model, model)
    assert loaded.vocab.expansions == vocab.expansions
    assert (loaded.freq, loaded.method, loaded.preset) == (2, "compressed", TINY)
    assert loaded.split == make_split(100)


def test_checkpoint_missing_raises(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_model(tmp_path / "none")
    os.makedirs(tmp_path / "empty")
    with pytest.raises(CheckpointError, match="the fit did not"):
        load_model(tmp_path / "empty")


def test_checkpoint_corrupted_weights_raise(tmp_path):
    _saved_model(tmp_path)
    with open(tmp_path / "m" / "weights.pt", "ab") as handle:
        handle.write(b"x")
    with pytest.raises(CheckpointError, match="does not match the checksum"):
        load_model(tmp_path / "m")


def test_checkpoint_corrupted_json_raises(tmp_path):
    _saved_model(tmp_path)
    text = (tmp_path / "m" / "model.json").read_text()
    (tmp_path / "m" / "model.json").write_text(text[: len(text) // 2])
    with pytest.raises(CheckpointError, match="is corrupted"):
        load_model(tmp_path / "m")
    data = json.loads(text)
    data["version"] = 99
    (tmp_path / "m" / "model.json").write_text(json.dumps(data))
    with pytest.raises(CheckpointError, match="version 99"):
        load_model(tmp_path / "m")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a CUDA GPU")
def test_cuda_without_gpu_raises():
    with pytest.raises(PredictorError, match="no CUDA GPU is available"):
        resolve_device("cuda")


def test_unknown_device_raises():
    with pytest.raises(PredictorError, match="invalid device"):
        resolve_device("tpu9")
