"""Prediction files: what an online run predicted, where, and how long the model took.

A prediction file is a NumPy ``.npz`` archive (written atomically) with arrays

``event_index``  (P,) int64
    Trace index t of the event after which the prediction was made. The
    prediction covers the events at t + 1, t + 2, ...
``offsets``      (P + 1,) int64
    Prediction j covers ``predicted[offsets[j]:offsets[j + 1]]``.
``predicted``    (sum of lengths,) int64
    Predicted events, as stored in the trace (block numbers for memory traces).
``latency_ns``   (P,) int64
    Wall time of the model call that made prediction j, plus the engine work since
    the previous call, in nanoseconds.
``meta``         0-d array holding a JSON string with at least ``method``
    (``default-1``, ``default-k`` or ``compressed``), ``trace_checksum`` (the
    trace file's SHA-256), ``trace_events`` (its event count), ``stream_start``
    and ``stream_stop`` (the trace index range of the test stream).
"""
import json
import os

import numpy as np

from predictor.errors import PredictorError
from tracer.atomic import atomic_writer

REQUIRED_META = ("method", "trace_checksum", "trace_events", "stream_start", "stream_stop")


def write_predictions(path, event_index, offsets, predicted, latency_ns, meta):
    """Write a prediction file atomically; raises PredictorError on inconsistent arrays."""
    event_index = np.asarray(event_index, dtype=np.int64)
    offsets = np.asarray(offsets, dtype=np.int64)
    predicted = np.asarray(predicted, dtype=np.int64)
    latency_ns = np.asarray(latency_ns, dtype=np.int64)
    missing = [key for key in REQUIRED_META if key not in meta]
    if missing:
        raise PredictorError(f"{path}: prediction metadata lacks {', '.join(missing)}")
    if offsets.shape[0] != event_index.shape[0] + 1 or latency_ns.shape != event_index.shape:
        raise PredictorError(f"{path}: {event_index.shape[0]} predictions need "
                             f"{event_index.shape[0] + 1} offsets and as many latencies")
    if offsets.shape[0] and (offsets[0] != 0 or offsets[-1] != predicted.shape[0]):
        raise PredictorError(f"{path}: offsets must run from 0 to {predicted.shape[0]}")

    if os.path.isdir(path):
        raise PredictorError(f"{path}: is a folder; give a prediction file name such as "
                             f"{os.path.join(path, 'compressed.npz')}")
    try:
        with atomic_writer(path) as handle:
            np.savez(handle, event_index=event_index, offsets=offsets, predicted=predicted,
                     latency_ns=latency_ns, meta=np.array(json.dumps(meta, sort_keys=True)))
    except OSError as error:
        raise PredictorError(f"{path}: cannot write the prediction file ({error.strerror}); "
                             "check that the folder exists and is writable") from None
    return path


def read_predictions(path):
    """Read a prediction file into a dict of arrays plus ``meta`` (a dict).

    Raises PredictorError naming the file for a missing or malformed file.
    """
    try:
        with np.load(path, allow_pickle=False) as archive:
            data = {key: archive[key] for key in archive.files}
    except FileNotFoundError:
        raise PredictorError(f"{path}: prediction file not found") from None
    except (OSError, ValueError) as error:
        raise PredictorError(f"{path}: not a readable prediction file ({error})") from None

    expected = ("event_index", "offsets", "predicted", "latency_ns", "meta")
    missing = [key for key in expected if key not in data]
    if missing:
        raise PredictorError(f"{path}: prediction file lacks arrays {', '.join(missing)}")
    try:
        data["meta"] = json.loads(str(data["meta"]))
    except json.JSONDecodeError:
        raise PredictorError(f"{path}: prediction metadata is not valid JSON; the file is corrupt") from None
    missing = [key for key in REQUIRED_META if key not in data["meta"]]
    if missing:
        raise PredictorError(f"{path}: prediction metadata lacks {', '.join(missing)}; "
                             "write it again with complearn evaluate --predictions")
    return data
