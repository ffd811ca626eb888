"""fit and evaluate end to end on real log sequences, and the commands' error lines."""
import csv
import json

import numpy as np
import pytest
import torch

from complearn.cli import main
from predictor.checkpoint import load_model
from predictor.evaluation import evaluate, summary_rows
from predictor.fitting import fit
from predictor.predfile import read_predictions
from predictor.splits import make_split
from tracer.tracefile import read_trace, write_trace


def _windows_trace(shared_data, path):
    """Write the LogHub Windows EventId sequence (2,000 events) as a log trace."""
    names = {}
    with open(shared_data / "loghub" / "Windows" / "Windows_2k.log_structured.csv",
              newline="") as handle:
        events = [names.setdefault(row["EventId"], len(names)) for row in csv.DictReader(handle)]
    write_trace(path, "log", np.array(events), meta={"names": list(names)})
    return path


def _hdfs_trace(shared_data, path, sessions=600):
    """Write the first DeepLog HDFS sessions as a log trace with session starts."""
    events, starts, names = [], [], {}
    with open(shared_data / "deeplog_hdfs" / "hdfs_train") as handle:
        for line in handle:
            keys = line.split()
            if not keys:
                continue
            starts.append(len(events))
            events.extend(names.setdefault(key, len(names)) for key in keys)
            if len(starts) == sessions:
                break
    write_trace(path, "log", np.array(events), session_starts=np.array(starts),
                meta={"names": list(names)})
    return path


@pytest.fixture(scope="module")
def windows(tmp_path_factory):
    from conftest import SHARED_DATA

    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} not found")
    folder = tmp_path_factory.mktemp("windows")
    trace = _windows_trace(SHARED_DATA, folder / "windows.trace")
    default = fit(trace, folder / "default", method="default", preset="tiny", progress=False)
    compressed = fit(trace, folder / "compressed", method="compressed", preset="tiny",
                     tolerance=1.0, progress=False)
    return {"trace": trace, "default": default, "compressed": compressed, "folder": folder}


def test_hdfs_model_beats_most_frequent_event(shared_data, tmp_path):
    trace = read_trace(_hdfs_trace(shared_data, tmp_path / "hdfs.trace"))
    fit(trace, tmp_path / "default", method="default", preset="tiny", progress=False)
    fit(trace, tmp_path / "compressed", method="compressed", preset="tiny", freq=20,
        progress=False)
    default1, compressed = evaluate([tmp_path / "default", tmp_path / "compressed"], trace,
                                    ["default-1", "compressed"], progress=False)

    split = make_split(trace.num_events)
    train = np.asarray(trace.events[:split.train_stop])
    test = np.asarray(trace.events[split.test_start:split.test_stop])
    most_frequent = np.bincount(train).argmax()
    baseline = float(np.mean(test == most_frequent))
    assert default1.events == compressed.events == len(test)
    assert default1.event_accuracy > baseline + 0.2
    assert compressed.event_accuracy > baseline + 0.2
    assert compressed.predictions < compressed.events
    assert compressed.model_inputs <= compressed.events


def test_fits_with_same_seed_are_identical(windows, tmp_path):
    again = fit(windows["trace"], tmp_path / "again", method="default", preset="tiny",
                progress=False)
    first = load_model(windows["default"].model_dir).model.state_dict()
    second = load_model(again.model_dir).model.state_dict()
    assert all(torch.equal(first[key], second[key]) for key in first)


class Interrupt(Exception):
    pass


def test_fit_resumes_after_interruption(windows, tmp_path):
    def stop_after_first(epoch, record):
        if epoch == 1:
            raise Interrupt()

    with pytest.raises(Interrupt):
        fit(windows["trace"], tmp_path / "m", method="default", preset="tiny", progress=False,
            on_epoch_end=stop_after_first)
    assert not (tmp_path / "m" / "model.json").exists()
    fit(windows["trace"], tmp_path / "m", method="default", preset="tiny", progress=False)
    resumed = load_model(tmp_path / "m")
    uninterrupted = load_model(windows["default"].model_dir)
    assert resumed.info["training"]["epochs"] == uninterrupted.info["training"]["epochs"]
    first, second = uninterrupted.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(first[key], second[key]) for key in first)


def test_search_records_every_tried_freq(windows):
    result = windows["compressed"]
    info = json.loads((windows["folder"] / "compressed" / "model.json").read_text())
    search = info["freq_search"]
    assert search == json.loads(json.dumps(result.freq_search))
    assert search["options"] == [2, 5, 10, 20, 50, 100, 200, 500]  # below 800 training events
    assert search["tried"]
    for trial in search["tried"]:
        assert trial["freq"] in search["options"]
        assert 0 <= trial["event_accuracy_pct"] <= 100
        assert trial["avg_prediction_length"] >= 1
        assert trial["speedup"] > 0
    passed = [t["freq"] for t in search["tried"] if t["passed"]]
    assert search["chosen_freq"] == (min(passed) if passed else None)
    assert info["freq"] == search["chosen_freq"]


def test_freq_above_training_length_equals_default1(windows, tmp_path):
    trace = windows["trace"]
    fit(trace, tmp_path / "nofreq", method="compressed", preset="tiny", freq=100_000,
        progress=False)
    loaded = load_model(tmp_path / "nofreq")
    assert loaded.vocab.rules == [-1] * loaded.vocab.size
    evaluate([windows["default"].model_dir, tmp_path / "nofreq"], trace,
             ["default-1", "compressed"], predictions_dir=tmp_path / "pred", progress=False)
    default1 = read_predictions(tmp_path / "pred" / "default-1.npz")
    compressed = read_predictions(tmp_path / "pred" / "compressed.npz")
    for key in ("event_index", "offsets", "predicted"):
        assert np.array_equal(default1[key], compressed[key]), key


def test_evaluate_command_writes_table_json_and_predictions(windows, tmp_path, capsys):
    folder = windows["folder"]
    status = main(["evaluate", str(folder / "default"), str(folder / "compressed"),
                   str(windows["trace"]), "--json", str(tmp_path / "out.json"),
                   "--predictions", str(tmp_path / "pred")])
    assert status == 0
    table = capsys.readouterr().out
    assert "| default-1 |" in table
    assert "| default-k |" in table
    assert "| compressed |" in table
    data = json.loads((tmp_path / "out.json").read_text())
    assert [run["method"] for run in data["runs"]] == ["default-1", "default-k", "compressed"]
    rows = {run["method"]: run for run in data["runs"]}
    assert rows["default-1"]["speedup"] == pytest.approx(1.0)
    assert rows["default-k"]["k"] == max(1, round(rows["compressed"]["avg_prediction_length"]))
    for method in rows:
        meta = read_predictions(tmp_path / "pred" / f"{method}.npz")["meta"]
        assert meta["method"] == method
        assert (meta["stream_start"], meta["stream_stop"]) == (1000, 2000)


def test_summary_rows_units(windows):
    results = evaluate([windows["default"].model_dir], windows["trace"], ["default-1"],
                       progress=False)
    (row,) = summary_rows(results)
    assert row["event_accuracy_pct"] == pytest.approx(100 * results[0].event_accuracy)
    assert row["avg_latency_us"] == pytest.approx(results[0].avg_latency_ns / 1000)


def _error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_log_model_on_mem_trace_is_rejected(windows, tmp_path, capsys):
    mem = tmp_path / "mem.trace"
    write_trace(mem, "mem", np.arange(100), flags=np.zeros(100, dtype=np.uint8))
    status = main(["evaluate", str(windows["folder"] / "default"), str(mem),
                   "--methods", "default-1"])
    assert status == 1
    assert "fitted on a log trace" in _error_line(capsys)


def test_reimported_trace_keeps_test_stream(windows, tmp_path):
    # same events, other metadata: the checksum differs, but the training part
    # must not join the test stream
    trace = read_trace(windows["trace"])
    copy = tmp_path / "copy.trace"
    write_trace(copy, "log", np.asarray(trace.events), meta={"names": trace.names,
                                                            "source": "re-imported"})
    assert read_trace(copy).checksum != trace.checksum

    (result,) = evaluate([windows["folder"] / "default"], copy, ["default-1"], progress=False)

    assert result.events == 1000


def test_fit_command_counts_nonterminals(windows, tmp_path, capsys):
    # a FREQ that keeps no rule must be visible: the vocabulary alone does not say so
    status = main(["fit", str(windows["trace"]), "-o", str(tmp_path / "m"), "--preset", "tiny",
                   "--epochs", "1", "--freq", "2"])

    assert status == 0
    kept = sum(rule >= 0 for rule in load_model(tmp_path / "m").vocab.rules)
    assert kept > 0
    assert f"({kept} non-terminals)" in capsys.readouterr().out


def test_empty_test_stream_is_rejected(windows, tmp_path, capsys):
    assert main(["fit", str(windows["trace"]), "-o", str(tmp_path / "m"), "--method",
                 "default", "--preset", "tiny", "--epochs", "1", "--test-events", "0"]) == 0
    capsys.readouterr()
    status = main(["evaluate", str(tmp_path / "m"), str(windows["trace"]),
                   "--methods", "default-1"])
    assert status == 1
    assert "test stream" in _error_line(capsys)


def test_missing_and_corrupted_checkpoints_are_rejected(windows, tmp_path, capsys):
    status = main(["evaluate", str(tmp_path / "nothing"), str(windows["trace"])])
    assert status == 1
    assert "not found" in _error_line(capsys)

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model.json").write_text("{not json")
    status = main(["evaluate", str(broken), str(windows["trace"])])
    assert status == 1
    assert "corrupted" in _error_line(capsys)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a CUDA GPU")
def test_cuda_device_without_gpu_is_rejected(windows, tmp_path, capsys):
    status = main(["fit", str(windows["trace"]), "-o", str(tmp_path / "m"), "--device", "cuda"])
    assert status == 1
    assert "no CUDA GPU is available" in _error_line(capsys)


def test_too_short_trace_is_rejected(tmp_path, capsys):
    write_trace(tmp_path / "short.trace", "log", np.arange(10) % 3)
    status = main(["fit", str(tmp_path / "short.trace"), "-o", str(tmp_path / "m")])
    assert status == 1
    assert "at least 20 are needed" in _error_line(capsys)


@pytest.mark.parametrize("methods, message", [
    ("default-k", "default-k needs --k"),
    ("default-3", "unknown method default-3"),
    ("compressed", "needs a model fitted with --method compressed"),
    ("default-1,default-1", "default-1 is listed twice"),
])
def test_evaluate_rejects_bad_method_sets(windows, methods, message, capsys):
    status = main(["evaluate", str(windows["folder"] / "default"), str(windows["trace"]),
                   "--methods", methods])
    assert status == 1
    assert message in _error_line(capsys)


def test_fit_progress_goes_to_stderr(tmp_path, capsys):
    # `complearn fit ... > result.txt` must leave only the summary in the file.
    pattern = [0, 1, 2, 3, 1, 2, 4, 0, 2, 3]
    write_trace(tmp_path / "loop.trace", "log", np.array(pattern * 40),
                meta={"names": ["open", "read", "seek", "write", "close"]})
    status = main(["fit", str(tmp_path / "loop.trace"), "-o", str(tmp_path / "m"),
                   "--preset", "tiny", "--epochs", "1"])
    captured = capsys.readouterr()

    assert status == 0
    assert "fit default epoch 1: train loss" in captured.err
    assert "fit freq-" in captured.err
    assert "validation accuracy" in captured.err
    assert "train loss" not in captured.out
    assert "within tolerance" not in captured.out
    assert "too inaccurate" not in captured.out
    assert captured.out.startswith("fitted compressed model: ")
