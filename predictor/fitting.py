"""``fit``: train the model of one method on a trace and write its model directory.

Every model trains on the training part before its validation interval (the
first four training intervals by default, see predictor.splits) with early
stopping on the validation interval's loss. For ``method="compressed"`` without
an explicit FREQ, the candidate models of the FREQ search are such models, and
the one at the chosen FREQ becomes the fitted model, so the search costs no extra
final training. Each candidate's training state is kept under ``MODEL_DIR/work``,
so rerunning an interrupted fit with the same arguments resumes it.
"""
import dataclasses
import json
import logging
import os
import sys
import time
from typing import Optional

import numpy as np

from predictor import freqsearch
from predictor.checkpoint import events_digest, names_digest, save_model
from predictor.errors import PredictorError
from predictor.evaluation import run_method
from predictor.presets import Preset, get_preset
from predictor.retokenize import tokenize
from predictor.splits import Split, make_split, part_sessions
from predictor.stepper import resolve_device
from predictor.training import train_model

log = logging.getLogger(__name__)

FIT_METHODS = ("default", "compressed")


@dataclasses.dataclass
class FitResult:
    """Model directory and main figures of one ``fit`` call."""

    model_dir: str
    method: str
    freq: Optional[int]  # None: no non-terminals
    vocab_size: int
    epochs: int
    best_valid_loss: float
    split: Split
    freq_search: Optional[dict]  # the model.json block, None unless searched
    seconds: float
    nonterminals: int = 0  # vocabulary tokens that stand for a grammar rule


class _Fitter:
    """Trains candidate models of one trace and split, caching them by FREQ."""

    def __init__(self, trace, split, preset, device, work_dir, progress, on_epoch_end):
        self.trace, self.split, self.preset, self.device = trace, split, preset, device
        self.work_dir, self.progress, self.on_epoch_end = work_dir, progress, on_epoch_end
        fit_start, fit_stop = split.fit_range
        valid_start, valid_stop = split.valid_range
        self.fit_events = np.asarray(trace.events[fit_start:fit_stop], dtype=np.int64)
        self.fit_sessions = part_sessions(trace.session_starts, fit_start, fit_stop)
        self.valid_events = np.asarray(trace.events[valid_start:valid_stop], dtype=np.int64)
        self.valid_sessions = part_sessions(trace.session_starts, valid_start, valid_stop)
        self.candidates = {}

    def candidate(self, freq):
        """Return (vocab, TrainResult) of the model trained at ``freq`` (None: default)."""
        if freq in self.candidates:
            return self.candidates[freq]
        from predictor.lowering import compress

        compressed = compress(self.fit_events, self.fit_sessions, freq)
        vocab = compressed.vocab
        valid = tokenize(self.valid_events, vocab, self.valid_sessions)
        name = "default" if freq is None else f"freq-{freq}"
        fingerprint = {"trace": self.trace.checksum, "split": self.split.to_json(), "freq": freq,
                       "tokens": int(len(compressed.tokens))}
        result = train_model(vocab.size, (compressed.tokens, compressed.session_starts), valid,
                             self.preset, self.device,
                             state_path=os.path.join(self.work_dir, f"{name}.pt"),
                             fingerprint=fingerprint, progress=self.progress,
                             description=f"fit {name}", on_epoch_end=self.on_epoch_end)
        self.candidates[freq] = (vocab, result)
        return vocab, result

    def validate(self, freq, method, reference_latency_ns=None) -> freqsearch.Trial:
        """Run the candidate at ``freq`` online over the validation interval."""
        vocab, trained = self.candidate(freq)
        run = run_method(method, self.valid_events, vocab, trained.model, self.device,
                         session_starts=self.valid_sessions, trace_offset=self.split.valid_start)
        reference = reference_latency_ns or run.avg_latency_ns
        return freqsearch.Trial(
            freq=freq, event_accuracy_pct=100.0 * run.event_accuracy,
            avg_prediction_length=run.avg_prediction_length, predictions=run.predictions,
            events=run.events, avg_latency_ns=run.avg_latency_ns,
            speedup=reference / run.avg_latency_ns if run.avg_latency_ns else float("nan"),
            vocab_size=vocab.size, train_tokens=trained.train_tokens, passed=True)


def _search(fitter, tolerance_pct, progress):
    """Binary-search FREQ; return (chosen freq, freq_search block)."""
    from tqdm import tqdm

    baseline = fitter.validate(None, "default-1")
    threshold = baseline.event_accuracy_pct - tolerance_pct
    options = freqsearch.freq_options(len(fitter.fit_events))
    trials = []

    def passes(index):
        trial = fitter.validate(options[index], "compressed", baseline.avg_latency_ns)
        trial.passed = trial.event_accuracy_pct >= threshold - 1e-9
        trials.append(trial)
        if progress:
            tqdm.write(f"FREQ {trial.freq}: validation accuracy {trial.event_accuracy_pct:.2f} % "
                       f"(default-1 {baseline.event_accuracy_pct:.2f} %), avg prediction "
                       f"length {trial.avg_prediction_length:.1f}, speedup {trial.speedup:.2f}x: "
                       f"{'within tolerance' if trial.passed else 'too inaccurate'}",
                       file=sys.stderr)
        return trial.passed

    index = freqsearch.binary_search(options, passes)
    chosen = options[index] if index < len(options) else None
    return chosen, freqsearch.search_record(tolerance_pct, baseline, options, trials, chosen)


def _resolve_preset(preset, epochs, seed) -> Preset:
    preset = get_preset(preset) if isinstance(preset, str) else preset
    changes = {"seed": int(seed)}
    if epochs is not None:
        if epochs < 1:
            raise PredictorError(f"--epochs {epochs} is invalid: train at least 1 epoch")
        changes["max_epochs"] = int(epochs)
    return dataclasses.replace(preset, **changes)


def fit(trace, out_dir, method="compressed", preset="default", freq=None, tolerance=None,
        epochs=None, device=None, seed=0, split=None, progress=True,
        on_epoch_end=None) -> FitResult:
    """Fit a model of ``method`` ("default" or "compressed") on ``trace``; see the module docstring.

    ``trace`` is a tracer.tracefile.Trace or a path. ``preset`` is a name or a
    Preset; ``epochs`` overrides its max_epochs and ``seed`` its seed. For the
    compressed method, ``freq`` fixes FREQ and skips the search; otherwise the
    search keeps validation accuracy within ``tolerance`` percentage points of
    default-1's (default 1.0). ``split`` defaults to make_split(trace length).
    ``on_epoch_end(epoch, record)`` is called after each saved epoch (tests use it
    to interrupt a run). Raises PredictorError for invalid settings or data.
    """
    from tracer.tracefile import read_trace

    started = time.perf_counter()
    if isinstance(trace, (str, os.PathLike)):
        trace = read_trace(trace)
    if method not in FIT_METHODS:
        raise PredictorError(f"unknown method {method!r}: choose default or compressed")
    if method == "default" and (freq is not None or tolerance is not None):
        raise PredictorError("--freq and --tolerance apply to --method compressed only")
    if freq is not None and tolerance is not None:
        raise PredictorError("give either --freq or --tolerance, not both")
    if freq is not None and freq < 1:
        raise PredictorError(f"--freq {freq} is invalid: FREQ is a rule count of at least 1")
    if tolerance is not None and tolerance < 0:
        raise PredictorError(f"--tolerance {tolerance} is invalid: give 0 or more percentage points")
    preset = _resolve_preset(preset, epochs, seed)
    device = resolve_device(device)
    split = split or make_split(trace.num_events)

    # 1. Train the candidate(s): default, a fixed FREQ, or the search's.
    fitter = _Fitter(trace, split, preset, device, os.path.join(out_dir, "work"), progress,
                     on_epoch_end)
    search = None
    if method == "default":
        chosen = None
    elif freq is not None:
        chosen = int(freq)
    else:
        tolerance = freqsearch.DEFAULT_TOLERANCE if tolerance is None else float(tolerance)
        chosen, search = _search(fitter, tolerance, progress)
    vocab, trained = fitter.candidate(chosen)

    # 2. Write the model directory.
    info = {
        "method": method, "freq": chosen, "preset": preset.to_json(), "split": split.to_json(),
        "device": str(device),
        "trace": {"path": str(trace.path), "checksum": trace.checksum, "kind": trace.kind,
                  "events": trace.num_events, "sessions": trace.num_sessions,
                  "names_sha256": names_digest(trace.names),
                  "events_sha256": events_digest(trace.events)},
        "training": {"epochs": trained.epochs, "best_epoch": trained.best_epoch,
                     "best_valid_loss": trained.best_valid_loss,
                     "train_tokens": trained.train_tokens, "valid_tokens": trained.valid_tokens,
                     "history": trained.history},
        "freq_search": search,
    }
    save_model(out_dir, trained.model, vocab, json.loads(json.dumps(info, default=float)))
    return FitResult(model_dir=str(out_dir), method=method, freq=chosen, vocab_size=vocab.size,
                     epochs=trained.epochs, best_valid_loss=trained.best_valid_loss, split=split,
                     freq_search=search, seconds=time.perf_counter() - started,
                     nonterminals=sum(rule >= 0 for rule in vocab.rules))
