"""Checkpoints of online refinement: a refined model directory and a state file.

predictor.refine saves the state after every interval through RefinementCheckpoint,
so an interrupted run resumes at the last finished interval.
"""
import dataclasses
import json
import logging
import os
import shutil
from typing import Optional

import numpy as np

from predictor.errors import CheckpointError

log = logging.getLogger(__name__)

STATE_VERSION = 1


class RefinementCheckpoint:
    """Saved state of one refinement run in ``folder``.

    After each interval the refined model goes to a new model directory
    ``interval-NNNNN``, which predictor.checkpoint.load_model reads, so a refined
    model can be evaluated or refined further. Then ``state.json`` is replaced
    atomically to name it, with the interval records. Older interval directories
    are removed last. A crash at any point leaves ``state.json`` naming a complete
    directory. ``fingerprint`` identifies the run: a saved state with another
    fingerprint is ignored. ``info`` is the source model's model.json content.
    """

    STATE = "state.json"

    def __init__(self, folder, fingerprint: dict, info: dict):
        self.folder = os.fspath(folder)
        self.fingerprint = json.loads(json.dumps(fingerprint))
        self.info = info

    def _read_state(self) -> Optional[dict]:
        state = read_state(self.folder)
        if state is None:
            return None
        if state.get("version") != STATE_VERSION or state.get("fingerprint") != self.fingerprint:
            log.info("%s belongs to another refinement run; starting from interval 0",
                     self.folder)
            return None
        return state

    def resume(self, report, model, vocab):
        """Load the saved state into ``model`` and ``vocab`` and return the saved report.

        Returns ``report`` unchanged when nothing of this run is saved. Raises
        CheckpointError when the saved vocabulary does not extend ``vocab``.
        """
        from predictor.checkpoint import load_model
        from predictor.growth import grow_model
        from predictor.refine import IntervalRecord

        state = self._read_state()
        if state is None:
            return report
        loaded = load_model(os.path.join(self.folder, state["latest"]))
        if loaded.vocab.expansions[:vocab.size] != vocab.expansions:
            raise CheckpointError(f"{self.folder}: the saved vocabulary does not extend the "
                                  f"model's vocabulary: delete {self.folder} to start over")
        for expansion in loaded.vocab.expansions[vocab.size:]:
            vocab.append(expansion)
        grow_model(model, vocab.size)
        model.load_state_dict(loaded.model.state_dict())

        saved = state["report"]
        records = [IntervalRecord(**{f.name: r[f.name] for f in dataclasses.fields(IntervalRecord)})
                   for r in saved["intervals"]]
        predictions = [self._load_predictions(i) for i in range(len(records))
                       if os.path.exists(self._predictions_path(i))]
        if len(predictions) not in (0, len(records)):
            raise CheckpointError(f"{self.folder} has predictions for {len(predictions)} of "
                                  f"{len(records)} finished intervals: delete it to refine "
                                  "from the start")
        return dataclasses.replace(report, counters=dict(saved["counters"]), intervals=records,
                                   resumed_from=len(records), predictions=predictions)

    def _predictions_path(self, index) -> str:
        return os.path.join(self.folder, f"predictions-{index:05d}.npz")

    def _load_predictions(self, index) -> dict:
        path = self._predictions_path(index)
        try:
            with np.load(path, allow_pickle=False) as archive:
                return {key: archive[key] for key in archive.files}
        except (OSError, ValueError) as error:
            raise CheckpointError(f"{path} is unreadable ({error}): delete {self.folder} to "
                                  "refine from the start") from None

    def save(self, report, model, vocab):
        """Write the state after the last interval of ``report``."""
        from predictor.checkpoint import save_model
        from tracer.atomic import atomic_writer

        # The predictions and the model go first, so that state.json never names an
        # interval whose files are missing.
        os.makedirs(self.folder, exist_ok=True)
        if len(report.predictions) == len(report.intervals):
            with atomic_writer(self._predictions_path(len(report.intervals) - 1)) as handle:
                np.savez(handle, **report.predictions[-1])
        name = f"interval-{len(report.intervals) - 1:05d}"
        summary = {"interval_events": report.interval_events, "epochs": report.epochs,
                   "intervals_done": len(report.intervals), "method": report.method}
        save_model(os.path.join(self.folder, name), model, vocab,
                   dict(self.info, refinement=summary))
        state = {"version": STATE_VERSION, "fingerprint": self.fingerprint, "latest": name,
                 "report": report.to_dict()}
        _write_json(os.path.join(self.folder, self.STATE), state)
        for entry in os.listdir(self.folder):
            if entry.startswith("interval-") and entry != name:
                shutil.rmtree(os.path.join(self.folder, entry), ignore_errors=True)


def read_state(folder) -> Optional[dict]:
    """Return the parsed ``state.json`` of a refinement folder, or None if there is none.

    Raises CheckpointError for an unreadable file.
    """
    path = os.path.join(folder, RefinementCheckpoint.STATE)
    if not os.path.exists(path):
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path} is corrupted ({error}): delete {folder} to refine "
                              "from the start") from None


def latest_model_dir(folder) -> Optional[str]:
    """Return the model directory of the last finished interval in ``folder``, or None."""
    state = read_state(folder)
    return None if state is None else os.path.join(os.fspath(folder), state["latest"])


def _write_json(path, data):
    from tracer.atomic import atomic_writer

    with atomic_writer(path, "w") as handle:
        json.dump(data, handle, indent=1, sort_keys=True)
