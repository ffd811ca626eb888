"""Model directories: what ``complearn fit`` writes and ``complearn evaluate`` reads.

Layout of a model directory::

    model.json    settings and provenance (below), written last
    weights.pt    state_dict of the GRUPredictor (torch.save)
    work/         resumable training states and FREQ search results

``model.json`` keys: ``format`` ("complearn-model"), ``version`` (1), ``method``
("default" or "compressed"), ``freq`` (the lowering threshold, null for default
learning or when the search fell back to no non-terminals), ``preset`` (the
Preset fields), ``split`` (Split fields), ``trace`` (path, checksum, kind, events,
sessions, names_sha256, events_sha256), ``vocabulary`` (Vocabulary.to_json()), ``weights_sha256``,
``training`` (epochs, best_epoch, best_valid_loss, train_tokens, valid_tokens,
history) and ``freq_search`` (see predictor.freqsearch; null unless searched).
The directory is written so that a crash never leaves a ``model.json`` that points
at other weights: the weights go first, then ``model.json`` is renamed into place.
"""
import dataclasses
import hashlib
import json
import os

import numpy as np
import torch

from predictor.errors import CheckpointError
from predictor.model import GRUPredictor
from predictor.presets import Preset
from predictor.splits import Split
from predictor.vocabulary import Vocabulary
from tracer.atomic import atomic_writer

FORMAT = "complearn-model"
VERSION = 1
MODEL_JSON = "model.json"
WEIGHTS = "weights.pt"


@dataclasses.dataclass
class LoadedModel:
    """A fitted model read back from its directory."""

    model: GRUPredictor  # on the CPU, in eval mode
    vocab: Vocabulary
    freq: object  # int or None
    preset: Preset
    split: Split
    method: str  # "default" or "compressed"
    model_dir: str
    info: dict  # the whole model.json


def names_digest(names) -> str:
    """Return the SHA-256 of an event name table, to tell traces' id spaces apart."""
    return hashlib.sha256(json.dumps(list(names)).encode()).hexdigest()


def events_digest(events, chunk=1 << 20) -> str:
    """Return the SHA-256 of a trace's event values (int64), to recognize the same events
    in a trace file whose metadata, and so whose checksum, differs."""
    hasher = hashlib.sha256()
    for start in range(0, len(events), chunk):
        hasher.update(np.ascontiguousarray(events[start:start + chunk], dtype=np.int64).data)
    return hasher.hexdigest()


def _file_digest(path) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def save_model(model_dir, model, vocab, info: dict):
    """Write weights and ``model.json`` (``info`` plus vocabulary and checksums)."""
    os.makedirs(model_dir, exist_ok=True)
    weights_path = os.path.join(model_dir, WEIGHTS)
    state = {key: value.detach().cpu() for key, value in model.state_dict().items()}
    with atomic_writer(weights_path) as handle:
        torch.save(state, handle)
    data = dict(info, format=FORMAT, version=VERSION, vocabulary=vocab.to_json(),
                weights_sha256=_file_digest(weights_path),
                model={"vocab_size": model.vocab_size, "n_embd": model.n_embd,
                       "n_hidden": model.n_hidden})
    text = json.dumps(data, indent=1, sort_keys=True)
    with atomic_writer(os.path.join(model_dir, MODEL_JSON), "w") as handle:
        handle.write(text)


def read_info(model_dir) -> dict:
    """Return the parsed ``model.json`` of a model directory; raises CheckpointError."""
    path = os.path.join(model_dir, MODEL_JSON)
    if not os.path.isdir(model_dir):
        raise CheckpointError(f"model directory {model_dir} not found: run complearn fit first")
    if not os.path.exists(path):
        raise CheckpointError(f"{MODEL_JSON} is missing from {model_dir}, so the fit did not "
                              "finish: rerun complearn fit with the same -o to resume it")
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path} is corrupted ({error}): refit the model") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a complearn model description")
    if data.get("version") != VERSION:
        raise CheckpointError(f"{path} has model format version {data.get('version')}, this "
                              f"build reads version {VERSION}: refit the model")
    return data


def load_model(model_dir) -> LoadedModel:
    """Load a fitted model; raises CheckpointError for a missing or corrupted directory."""
    info = read_info(model_dir)
    weights_path = os.path.join(model_dir, WEIGHTS)
    if not os.path.exists(weights_path):
        raise CheckpointError(f"{weights_path} is missing: refit the model")
    if _file_digest(weights_path) != info.get("weights_sha256"):
        raise CheckpointError(f"{weights_path} does not match the checksum in {MODEL_JSON} "
                              "(corrupted or replaced): refit the model")
    try:
        vocab = Vocabulary.from_json(info["vocabulary"])
        preset = Preset.from_json(info["preset"])
        split = Split.from_json(info["split"])
        shape = info["model"]
        model = GRUPredictor(shape["vocab_size"], shape["n_embd"], shape["n_hidden"])
        model.load_state_dict(torch.load(weights_path, map_location="cpu", weights_only=True))
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        raise CheckpointError(f"{model_dir}: the model description or weights are "
                              f"inconsistent ({error}): refit the model") from None
    model.eval()
    return LoadedModel(model=model, vocab=vocab, freq=info.get("freq"), preset=preset,
                       split=split, method=info["method"], model_dir=str(model_dir), info=info)
