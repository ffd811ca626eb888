"""Prediction files as the simulator replays them: checked against the trace,
latencies turned into delays in accesses."""
import dataclasses
import math
import numbers

import numpy as np

from predictor.errors import PredictorError
from predictor.predfile import REQUIRED_META, read_predictions
from sim.errors import ConfigError, PredictionFileError

# Delays are capped so arrival times stay far from int64 overflow.
MAX_DELAY_ACCESSES = 1 << 60


@dataclasses.dataclass
class Replay:
    """Predictions ready for the C core; ``delay[j]`` is in accesses (>= 1)."""

    path: str
    event_index: np.ndarray  # (P,) int64
    offsets: np.ndarray  # (P + 1,) int64
    predicted: np.ndarray  # (sum of lengths,) int64 block numbers
    delay: np.ndarray  # (P,) int64
    meta: dict

    @property
    def count(self) -> int:
        return int(self.event_index.shape[0])

    @property
    def stream_start(self) -> int:
        return int(self.meta["stream_start"])

    @property
    def stream_stop(self) -> int:
        return int(self.meta["stream_stop"])


def delay_accesses(latency_ns, access_interval_ns):
    """Convert latencies in ns to arrival delays in accesses: max(1, ceil(latency / interval)).

    A delay of 1 means the prefetch is usable by the next access, which is what
    latency 0 (the ideal case) gives.
    """
    latency = np.asarray(latency_ns, dtype=np.float64)
    delay = np.ceil(latency / float(access_interval_ns))
    return np.clip(delay, 1, MAX_DELAY_ACCESSES).astype(np.int64)


def check_timing(access_interval_ns, latency_ns):
    """Raise ConfigError unless the interval is positive and the latency override non-negative."""
    if not (isinstance(access_interval_ns, numbers.Real) and math.isfinite(access_interval_ns)
            and access_interval_ns > 0):
        raise ConfigError(f"access interval {access_interval_ns!r} ns is invalid; give a positive "
                          "number of ns per access")
    if latency_ns is not None and not (isinstance(latency_ns, numbers.Real)
                                       and math.isfinite(latency_ns) and latency_ns >= 0):
        raise ConfigError(f"latency {latency_ns!r} ns is invalid; give 0 or more ns")


def load_replay(path, trace, access_interval_ns, latency_ns=None) -> Replay:
    """Read a prediction file made for ``trace`` and compute each prediction's delay.

    ``latency_ns`` (when not None) replaces every measured latency. Raises
    PredictionFileError for an unreadable file, a file made for another trace
    (event count or checksum differs) or inconsistent arrays.
    """
    try:
        data = read_predictions(path)
    except PredictorError as error:
        raise PredictionFileError(str(error)) from None
    meta = data["meta"]
    missing = list(REQUIRED_META)
    if isinstance(meta, dict):
        missing = [key for key in REQUIRED_META if key not in meta]
    if missing:
        raise PredictionFileError(f"{path}: prediction metadata lacks {', '.join(missing)}; "
                                  "write the file with predictor.predfile.write_predictions")
    _check_trace(path, meta, trace)
    event_index = np.asarray(data["event_index"], dtype=np.int64)
    offsets = np.asarray(data["offsets"], dtype=np.int64)
    predicted = np.asarray(data["predicted"], dtype=np.int64)
    latency = np.asarray(data["latency_ns"], dtype=np.int64)
    _check_arrays(path, trace.num_events, meta, event_index, offsets, predicted, latency)

    if latency_ns is not None:
        latency = np.full(event_index.shape, latency_ns, dtype=np.float64)
    return Replay(path=str(path), event_index=event_index, offsets=offsets, predicted=predicted,
                  delay=delay_accesses(latency, access_interval_ns), meta=meta)


def _check_trace(path, meta, trace):
    if int(meta["trace_events"]) != trace.num_events:
        raise PredictionFileError(
            f"{path}: predictions were made for a trace of {meta['trace_events']} events, "
            f"{trace.path} has {trace.num_events}; use the prediction file of this trace")
    if meta["trace_checksum"] != trace.checksum:
        raise PredictionFileError(
            f"{path}: predictions were made for trace checksum {str(meta['trace_checksum'])[:16]}..., "
            f"{trace.path} has {trace.checksum[:16]}...; use the prediction file of this trace")


def _check_arrays(path, num_events, meta, event_index, offsets, predicted, latency):
    start, stop = int(meta["stream_start"]), int(meta["stream_stop"])
    if not 0 <= start <= stop <= num_events:
        raise PredictionFileError(f"{path}: stream range [{start}, {stop}) lies outside the "
                                  f"trace's {num_events} events")
    if event_index.shape[0] and (event_index.min() < 0 or event_index.max() >= num_events):
        raise PredictionFileError(f"{path}: an event index lies outside the trace's {num_events} events")
    if np.any(np.diff(event_index) < 0):
        raise PredictionFileError(f"{path}: event indices decrease; predictions must be in trace order")
    if (offsets.shape[0] != event_index.shape[0] + 1 or np.any(np.diff(offsets) < 0)
            or (offsets.shape[0] and (offsets[0] != 0 or offsets[-1] != predicted.shape[0]))):
        raise PredictionFileError(f"{path}: offsets do not run from 0 to {predicted.shape[0]} "
                                  "in non-decreasing order, one per prediction plus one")
    if latency.shape != event_index.shape or np.any(latency < 0):
        raise PredictionFileError(f"{path}: need one non-negative latency per prediction")
