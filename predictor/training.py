"""Next-token training of the GRU predictor on a token sequence.

The token sequence (compressed tokens, or terminal tokens for default learning)
is cut into windows of ``preset.input_length`` tokens that never cross a session
start. The model reads each window from a zero hidden state and learns the next
token at every position (cross-entropy). Windows are shuffled each epoch with a
generator seeded by (seed, epoch), Adam updates the weights, and training stops
early after ``preset.patience`` epochs without a lower validation loss. The
weights of the epoch with the lowest validation loss are the result.

After every epoch the whole training state (weights, optimizer, epoch, best loss
and weights, RNG states) is written atomically to ``state_path``, so a run killed
part way resumes from its last finished epoch and ends with the same weights as
an uninterrupted run on CPU.
"""
import copy
import dataclasses
import logging
import os
import random
import sys
import time
from typing import Callable, Optional

import numpy as np
import torch
from torch import nn

from predictor.errors import CheckpointError, PredictorError
from predictor.model import GRUPredictor
from predictor.presets import Preset
from tracer.atomic import atomic_writer

log = logging.getLogger(__name__)

IGNORE = -100  # target of padding positions; nn.CrossEntropyLoss skips it
STATE_VERSION = 1


def seed_everything(seed: int):
    """Seed Python's, NumPy's and torch's generators."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def make_windows(tokens, session_starts, input_length: int):
    """Cut a token sequence into (inputs, targets, lengths) windows.

    inputs and targets are (W, input_length) int64 arrays; targets are the inputs
    shifted by one token, padded with IGNORE. No window crosses a session start.
    """
    tokens = np.asarray(tokens, dtype=np.int64)
    bounds = list(np.asarray(session_starts, dtype=np.int64)) + [len(tokens)]
    inputs, targets, lengths = [], [], []
    for start, stop in zip(bounds[:-1], bounds[1:]):
        for first in range(int(start), int(stop) - 1, input_length):
            n = min(input_length, int(stop) - 1 - first)
            x = np.zeros(input_length, dtype=np.int64)
            y = np.full(input_length, IGNORE, dtype=np.int64)
            x[:n] = tokens[first:first + n]
            y[:n] = tokens[first + 1:first + 1 + n]
            inputs.append(x)
            targets.append(y)
            lengths.append(n)
    if not inputs:
        empty = np.zeros((0, input_length), dtype=np.int64)
        return empty, empty.copy(), np.zeros(0, dtype=np.int64)
    return np.stack(inputs), np.stack(targets), np.asarray(lengths, dtype=np.int64)


def _batches(lengths, batch_size: int, rng: Optional[np.random.Generator]):
    """Yield index arrays of batches; windows of equal length share batches.

    Sorting by length after a random permutation keeps padding low (short final
    windows of sessions go together) while the order among equal lengths and the
    order of batches stay random.
    """
    order = np.arange(len(lengths)) if rng is None else rng.permutation(len(lengths))
    order = order[np.argsort(-lengths[order], kind="stable")]
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    if rng is not None:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


def _batch_loss(model, inputs, targets, lengths, index, device):
    width = int(lengths[index].max())
    x = torch.from_numpy(inputs[index, :width]).to(device)  # (B, T)
    y = torch.from_numpy(targets[index, :width]).to(device)  # (B, T)
    logits, _ = model(x)  # (B, T, V)
    loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1),
                                       ignore_index=IGNORE, reduction="sum")
    return loss, int(lengths[index].sum())


@torch.no_grad()
def validation_loss(model, windows, batch_size: int, device) -> float:
    """Return the mean next-token cross-entropy (nats per token) over ``windows``."""
    inputs, targets, lengths = windows
    if len(lengths) == 0:
        return float("nan")
    model.eval()
    total, count = 0.0, 0
    for index in _batches(lengths, batch_size, None):
        loss, n = _batch_loss(model, inputs, targets, lengths, index, device)
        total += float(loss)
        count += n
    return total / max(count, 1)


@dataclasses.dataclass
class TrainResult:
    """Outcome of one training run; ``model`` contains the best validation weights."""

    model: GRUPredictor
    epochs: int  # epochs finished
    best_epoch: int  # 1-based epoch with the lowest validation loss
    best_valid_loss: float
    history: list  # one dict per epoch: epoch, train_loss, valid_loss, tokens_per_s, seconds
    train_tokens: int
    valid_tokens: int
    resumed_from: int  # epochs loaded from a saved state (0 for a fresh run)


def _save_state(path, state):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic_writer(path) as handle:
        torch.save(state, handle)


def _load_state(path, fingerprint):
    """Return the saved training state at ``path`` if it belongs to this run, else None."""
    if path is None or not os.path.exists(path):
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # torch raises many types for a damaged file
        raise CheckpointError(f"{path}: training state is unreadable ({error}): delete it "
                              "to train from the start") from None
    if state.get("version") != STATE_VERSION or state.get("fingerprint") != fingerprint:
        log.info("%s belongs to another training run; starting from epoch 0", path)
        return None
    return state


def _restore_rng(state):
    torch.set_rng_state(state["rng"]["torch"])
    np.random.set_state(state["rng"]["numpy"])
    random.setstate(state["rng"]["python"])


def _rng_state():
    return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(),
            "python": random.getstate()}


def train_model(vocab_size: int, train, valid, preset: Preset, device,
                state_path: Optional[str] = None, fingerprint: Optional[dict] = None,
                progress: bool = True, description: str = "train",
                on_epoch_end: Optional[Callable[[int, dict], None]] = None) -> TrainResult:
    """Train a GRUPredictor and return the weights with the lowest validation loss.

    ``train`` and ``valid`` are (tokens, session_starts) pairs of token ids below
    ``vocab_size``. ``state_path`` (optional) is where the training state is saved
    after each epoch and resumed from when ``fingerprint`` matches the saved one.
    ``on_epoch_end(epoch, record)`` runs after each saved epoch. Raises
    PredictorError when the training sequence has no next-token pair.
    """
    from tqdm import tqdm  # the CLI's progress bars; imported here to keep import light

    device = torch.device(device)
    fingerprint = dict(fingerprint or {}, preset=preset.to_json(), vocab_size=vocab_size)
    train_windows = make_windows(*train, preset.input_length)
    valid_windows = make_windows(*valid, preset.input_length)
    train_tokens = int(train_windows[2].sum())
    if train_tokens == 0:
        raise PredictorError(f"the training sequence has {len(train[0])} tokens and no "
                             "next-token pair: use a longer trace or a larger --train-events")

    # 1. Fresh model and optimizer, or the saved state of an interrupted run.
    seed_everything(preset.seed)
    model = GRUPredictor(vocab_size, preset.n_embd, preset.n_hidden).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=preset.lr)
    state = _load_state(state_path, fingerprint)
    if state is None:
        state = {"version": STATE_VERSION, "fingerprint": fingerprint, "epoch": 0,
                 "best_loss": float("inf"), "best_epoch": 0, "best_weights": None,
                 "bad_epochs": 0, "history": [], "finished": False}
    else:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        _restore_rng(state)
    resumed_from = state["epoch"]

    # 2. Epochs until the budget or the patience runs out.
    while not state["finished"]:
        epoch = state["epoch"] + 1
        record = _run_epoch(model, optimizer, train_windows, valid_windows, preset, device,
                            epoch, progress, description, tqdm)
        state["history"].append(record)
        loss = record["valid_loss"] if not np.isnan(record["valid_loss"]) else record["train_loss"]
        if loss < state["best_loss"]:
            state.update(best_loss=loss, best_epoch=epoch, bad_epochs=0,
                         best_weights=copy.deepcopy(model.state_dict()))
        else:
            state["bad_epochs"] += 1
        state["epoch"] = epoch
        state["finished"] = epoch >= preset.max_epochs or state["bad_epochs"] >= preset.patience
        state.update(model=model.state_dict(), optimizer=optimizer.state_dict(), rng=_rng_state())
        if state_path is not None:
            _save_state(state_path, state)
        if on_epoch_end is not None:
            on_epoch_end(epoch, record)

    model.load_state_dict(state["best_weights"])
    model.eval()
    return TrainResult(model=model, epochs=state["epoch"], best_epoch=state["best_epoch"],
                       best_valid_loss=float(state["best_loss"]), history=state["history"],
                       train_tokens=train_tokens, valid_tokens=int(valid_windows[2].sum()),
                       resumed_from=resumed_from)


def _run_epoch(model, optimizer, train_windows, valid_windows, preset, device, epoch,
               progress, description, tqdm) -> dict:
    inputs, targets, lengths = train_windows
    rng = np.random.default_rng([preset.seed, epoch])
    chosen = np.arange(len(lengths))
    if preset.max_windows is not None and len(chosen) > preset.max_windows:
        chosen = np.sort(rng.choice(len(chosen), preset.max_windows, replace=False))
    batches = [chosen[b] for b in _batches(lengths[chosen], preset.batch_size, rng)]

    model.train()
    started = time.perf_counter()
    total, count = 0.0, 0
    bar = tqdm(batches, desc=f"{description} epoch {epoch}/{preset.max_epochs}", unit="batch",
               disable=not progress, leave=False)
    for index in bar:
        optimizer.zero_grad(set_to_none=True)
        loss, n = _batch_loss(model, inputs, targets, lengths, index, device)
        (loss / n).backward()
        if preset.grad_clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), preset.grad_clip)
        optimizer.step()
        total += loss.item()
        count += n
        elapsed = time.perf_counter() - started
        bar.set_postfix(loss=f"{total / count:.3f}", tok_s=f"{count / max(elapsed, 1e-9):.0f}")
    bar.close()
    seconds = time.perf_counter() - started
    valid = validation_loss(model, valid_windows, max(preset.batch_size, 64), device)
    record = {"epoch": epoch, "train_loss": total / max(count, 1), "valid_loss": valid,
              "tokens": count, "tokens_per_s": count / max(seconds, 1e-9), "seconds": seconds}
    if progress:
        tqdm.write(f"{description} epoch {epoch}: train loss {record['train_loss']:.4f}, "
                   f"validation loss {valid:.4f} nats/token, {record['tokens_per_s']:.0f} tokens/s",
                   file=sys.stderr)
    return record
