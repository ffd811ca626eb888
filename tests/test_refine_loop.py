"""Online refinement runs on a real log sequence: growth, figures, checkpoints."""
import csv
import json

import numpy as np
import pytest
import torch

from complearn.cli import main
from predictor.checkpoint import load_model
from predictor.evaluation import run_method
from predictor.fitting import fit
from predictor.predfile import read_predictions
from predictor.refine import evaluate_with_refinement, refine_online
from predictor.refine_state import RefinementCheckpoint, latest_model_dir
from tracer.tracefile import read_trace, write_trace

INTERVAL = 250  # events per refinement; the 1,000-event test stream has 4 intervals


@pytest.fixture(scope="module")
def windows_models(tmp_path_factory):
    """Windows EventId trace (2,000 events) with a tiny default and compressed model."""
    from conftest import SHARED_DATA

    source = SHARED_DATA / "loghub" / "Windows" / "Windows_2k.log_structured.csv"
    if not source.exists():
        pytest.skip(f"real data file {source} not found")
    with open(source, newline="", encoding="utf-8") as handle:
        keys = [row["EventId"] for row in csv.DictReader(handle)]
    names = sorted(set(keys))
    events = np.array([names.index(key) for key in keys], dtype=np.int64)

    folder = tmp_path_factory.mktemp("windows")
    trace_path = folder / "windows.trace"
    write_trace(trace_path, "log", events, meta={"names": names})
    trace = read_trace(trace_path)
    compressed = fit(trace, folder / "compressed", method="compressed", preset="tiny", freq=2,
                     epochs=2, device="cpu", progress=False)
    default = fit(trace, folder / "default", method="default", preset="tiny", epochs=2,
                  device="cpu", progress=False)
    return trace_path, compressed.model_dir, default.model_dir


def test_evaluate_refine_reports_figures(windows_models, tmp_path, capsys):
    trace_path, compressed_dir, default_dir = windows_models
    out = tmp_path / "refine.json"

    status = main(["evaluate", compressed_dir, default_dir, str(trace_path), "--device", "cpu",
                   "--refine-interval", str(INTERVAL), "--json", str(out),
                   "--predictions", str(tmp_path / "predictions")])

    assert status == 0
    assert "compression share (%)" in capsys.readouterr().out
    data = json.loads(out.read_text())
    assert data["trace"]["checksum"] == read_trace(trace_path).checksum  # same layout as without refinement
    assert data["trace"]["events"] == 2000
    runs = {row["method"]: row for row in data["runs"]}
    assert set(runs) == {"default-1", "default-k", "compressed"}
    compressed = runs["compressed"]
    assert compressed["intervals"] == 4
    assert compressed["events"] == 1000
    assert compressed["new_tokens"] > 0
    assert compressed["vocab_size"] == load_model(compressed_dir).vocab.size + compressed["new_tokens"]
    assert compressed["compression_time_s"] > 0
    assert 0 < compressed["compression_share_pct"] < 100
    assert compressed["train_tokens"] < runs["default-1"]["train_tokens"]
    assert compressed["refinement_speedup"] > 0
    assert runs["default-1"]["compression_time_s"] == 0
    assert runs["default-1"]["refinement_speedup"] == 1.0
    assert runs["default-1"]["train_tokens"] == 1000
    for method, row in runs.items():
        intervals = row["report"]["intervals"]
        assert [r["stop"] - r["start"] for r in intervals] == [INTERVAL] * 4
        assert all(r["training_time_ns"] > 0 for r in intervals)
        predictions = read_predictions(tmp_path / "predictions" / f"{method}.npz")
        assert len(predictions["event_index"]) == row["report"]["counters"]["predictions"]
        assert predictions["offsets"][-1] == len(predictions["predicted"])
        assert np.all(np.diff(predictions["event_index"]) > 0)
        assert predictions["event_index"][0] >= 1000
        assert predictions["event_index"][-1] < 2000
        assert predictions["meta"]["refine_interval"] == INTERVAL


def test_refined_vocabulary_keeps_old_ids(windows_models, tmp_path):
    trace_path, compressed_dir, default_dir = windows_models
    before = load_model(compressed_dir).vocab

    evaluate_with_refinement([compressed_dir], trace_path, ["compressed"],
                             interval_events=INTERVAL, device="cpu", checkpoint_dir=tmp_path)

    after = load_model(latest_model_dir(tmp_path / "compressed")).vocab
    assert after.size > before.size
    assert after.expansions[:before.size] == before.expansions
    assert after.rules[:before.size] == before.rules


def refine_compressed(trace_path, compressed_dir, folder, **options):
    """Refine the compressed model over the test stream with a checkpoint in ``folder``."""
    trace = read_trace(trace_path)
    loaded = load_model(compressed_dir)
    start, stop = loaded.split.test_range
    fingerprint = {"test": "resume"}
    checkpoint = RefinementCheckpoint(folder, fingerprint, loaded.info)
    report = refine_online("compressed", loaded.model, loaded.vocab, loaded.preset,
                           trace.events[start:stop], interval_events=INTERVAL,
                           trace_offset=start, freq=loaded.freq, device="cpu",
                           checkpoint=checkpoint, record=True, **options)
    return report, loaded


def test_refine_resumes_after_interruption(windows_models, tmp_path, monkeypatch):
    trace_path, compressed_dir, _ = windows_models
    whole, whole_loaded = refine_compressed(trace_path, compressed_dir, tmp_path / "whole")

    # Stop the run in the third interval before its state is saved, as Ctrl-C would.
    calls = []
    real_save = RefinementCheckpoint.save

    def interrupted(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(RefinementCheckpoint, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        refine_compressed(trace_path, compressed_dir, tmp_path / "cut")
    monkeypatch.setattr(RefinementCheckpoint, "save", real_save)
    resumed, resumed_loaded = refine_compressed(trace_path, compressed_dir, tmp_path / "cut")

    assert resumed.resumed_from == 2
    assert len(resumed.intervals) == 4
    for name in ("events", "predictions", "model_inputs", "rollbacks", "correct", "covered"):
        assert resumed.counters[name] == whole.counters[name], name
    assert [r.train_tokens for r in resumed.intervals] == [r.train_tokens for r in whole.intervals]
    assert len(resumed.predictions) == 4
    for part, expected in zip(resumed.predictions, whole.predictions):
        assert np.array_equal(part["event_index"], expected["event_index"])
        assert np.array_equal(part["predicted"], expected["predicted"])
    assert resumed_loaded.vocab.expansions == whole_loaded.vocab.expansions
    for name, value in whole_loaded.model.state_dict().items():
        assert torch.equal(resumed_loaded.model.state_dict()[name], value), name


def test_refined_checkpoint_loads_and_predicts(windows_models, tmp_path):
    trace_path, compressed_dir, _ = windows_models
    report, _ = refine_compressed(trace_path, compressed_dir, tmp_path)
    trace = read_trace(trace_path)

    refined = load_model(latest_model_dir(tmp_path))
    result = run_method("compressed", np.asarray(trace.events[1000:], np.int64), refined.vocab,
                        refined.model, "cpu")

    assert refined.info["refinement"]["intervals_done"] == 4
    assert refined.model.vocab_size == refined.vocab.size == report.intervals[-1].vocab_size
    assert result.events == 1000
    assert result.predictions <= result.events


def test_refine_without_record_keeps_no_predictions(windows_models):
    # Two intervals: the second one used to record predictions (inside the timed
    # loop) although the caller asked for none.
    trace_path, compressed_dir, _ = windows_models
    loaded = load_model(compressed_dir)
    trace = read_trace(trace_path)
    start, _ = loaded.split.test_range
    events = np.asarray(trace.events[start:start + 2 * INTERVAL], dtype=np.int64)

    report = refine_online("compressed", loaded.model, loaded.vocab, loaded.preset, events,
                           interval_events=INTERVAL, freq=loaded.freq, device="cpu",
                           trace_offset=start, record=False)

    assert len(report.intervals) == 2
    assert report.predictions == []
