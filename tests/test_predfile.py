"""Prediction files: round trip, file mode, and damaged or incomplete files."""
import json
import os
import stat

import numpy as np
import pytest

from predictor.errors import PredictorError
from predictor.predfile import read_predictions, write_predictions

META = {"method": "compressed", "trace_checksum": "ab" * 32, "trace_events": 100,
        "stream_start": 50, "stream_stop": 100}


def write_sample(path, meta=META):
    return write_predictions(path, event_index=[50, 53], offsets=[0, 3, 4],
                             predicted=[7, 8, 9, 7], latency_ns=[1200, 900], meta=meta)


def test_round_trip_arrays_and_meta(tmp_path):
    data = read_predictions(write_sample(tmp_path / "p.npz"))
    assert data["event_index"].tolist() == [50, 53]
    assert data["predicted"][data["offsets"][0]:data["offsets"][1]].tolist() == [7, 8, 9]
    assert data["latency_ns"].tolist() == [1200, 900]
    assert data["meta"] == META


def test_file_mode_follows_umask(tmp_path):
    old = os.umask(0o022)
    try:
        path = write_sample(tmp_path / "p.npz")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644


def test_inconsistent_offsets_rejected(tmp_path):
    with pytest.raises(PredictorError, match="offsets"):
        write_predictions(tmp_path / "p.npz", [1], [0, 5], [1, 2], [10], META)
    assert os.listdir(tmp_path) == []


def test_missing_meta_key_on_read(tmp_path):
    path = tmp_path / "p.npz"
    np.savez(path, event_index=np.zeros(0, np.int64), offsets=np.zeros(1, np.int64),
             predicted=np.zeros(0, np.int64), latency_ns=np.zeros(0, np.int64),
             meta=np.array(json.dumps({"method": "default-1"})))
    with pytest.raises(PredictorError, match="trace_checksum"):
        read_predictions(path)


def test_folder_as_output_rejected(tmp_path):
    with pytest.raises(PredictorError, match="is a folder"):
        write_sample(tmp_path)


def test_not_a_prediction_file(tmp_path):
    path = tmp_path / "p.npz"
    path.write_text("hello")
    with pytest.raises(PredictorError, match="not a readable prediction file"):
        read_predictions(path)
