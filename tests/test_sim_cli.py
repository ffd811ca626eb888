"""``complearn simulate``: output, JSON, and one-line errors with exit status 1."""
import json
import os

import numpy as np
import pytest

from complearn.cli import main
from predictor.predfile import write_predictions
from tracer.tracefile import read_trace, write_trace


@pytest.fixture
def mem_path(tmp_path):
    blocks = np.arange(2000, dtype=np.int64) % 700
    path = tmp_path / "mem.trace"
    write_trace(path, "mem", blocks, flags=np.zeros(blocks.shape[0], dtype=np.uint8))
    return path


def write_prediction_file(path, trace, **meta_changes):
    meta = {"method": "default-1", "trace_checksum": trace.checksum, "trace_events": trace.num_events,
            "stream_start": 0, "stream_stop": trace.num_events}
    meta.update(meta_changes)
    index = np.arange(trace.num_events - 1)
    write_predictions(path, index, np.arange(trace.num_events), np.asarray(trace.events[1:]),
                      np.full(index.shape[0], 500), meta)
    return path


def run_cli(capsys, *argv):
    status = main(["simulate", *map(str, argv)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_default_table_and_json(mem_path, tmp_path, capsys):
    out_json = tmp_path / "result.json"
    status, out, err = run_cli(capsys, mem_path, "--prefetcher", "next-line", "--json", out_json)
    assert status == 0, err
    assert "| L1 | 2,000 |" in out
    assert "| L1 (no prefetch) |" in out
    assert "accuracy = useful / issued" in out

    data = json.loads(out_json.read_text())
    assert data["config"]["levels"] == [{"name": "L1", "size_bytes": 32768, "sets": 64, "ways": 8,
                                         "line_bytes": 64}]
    assert data["levels"][0]["accesses"] == 2000
    # Blocks 0..699 cycle through 512 lines: without prefetching every access
    # misses; with next-line only the three visits of block 0 do.
    assert data["baseline"][0]["misses"] == 2000
    assert data["levels"][0]["misses"] == 3
    assert data["prefetch"]["useful"] == 1997
    assert set(data) == {"config", "accesses", "start", "stop", "warmup_accesses", "levels",
                         "prefetch", "baseline", "improvement", "denominators"}


def test_two_levels_and_predictions(mem_path, tmp_path, capsys):
    trace = read_trace(mem_path)
    predictions = write_prediction_file(tmp_path / "p.npz", trace)
    status, out, err = run_cli(capsys, mem_path, "--cache", "32K,8", "--cache", "1M,16",
                               "--predictions", predictions, "--access-interval-ns", "1000")
    assert status == 0, err
    assert "| L2 |" in out
    assert "| predictions |" in out


@pytest.mark.parametrize("argv, message", [
    (["--cache", "32K,8,96"], "line size 96 B is invalid"),
    (["--cache", "24K,8"], "48 sets"),
    (["--cache", "32K,0"], "0 ways"),
    (["--cache", "32K"], "expected SIZE,WAYS[,LINE]"),
    (["--cache", "32X,8"], "cache size '32X' is invalid"),
    (["--cache", "32K,8,128", "--cache", "1M,16,64"], "line sizes may only grow"),
    (["--degree", "0", "--prefetcher", "next-line"], "prefetch degree 0 is invalid"),
    (["--access-interval-ns", "0"], "access interval 0.0 ns is invalid"),
    (["--prefetcher", "predictions"], "go together"),
    (["--start", "5000"], "access range [5000, 2000) is invalid"),
])
def test_bad_settings_one_line_error(mem_path, capsys, argv, message):
    status, out, err = run_cli(capsys, mem_path, *argv)
    assert status == 1
    assert err.count("\n") == 1
    assert err.startswith("complearn simulate: error: ")
    assert message in err


def test_predictions_for_other_length(mem_path, tmp_path, capsys):
    trace = read_trace(mem_path)
    predictions = write_prediction_file(tmp_path / "p.npz", trace, trace_events=trace.num_events + 1)
    status, _, err = run_cli(capsys, mem_path, "--predictions", predictions)
    assert status == 1
    assert "made for a trace of 2001 events" in err
    assert err.count("\n") == 1


def test_predictions_for_other_checksum(mem_path, tmp_path, capsys):
    trace = read_trace(mem_path)
    predictions = write_prediction_file(tmp_path / "p.npz", trace, trace_checksum="0" * 64)
    status, _, err = run_cli(capsys, mem_path, "--predictions", predictions)
    assert status == 1
    assert "trace checksum 0000000000000000" in err


def test_prediction_meta_without_stream_keys(mem_path, tmp_path, capsys):
    # An archive from another writer, without trace_events and the stream range, used
    # to end in a KeyError traceback.
    path = tmp_path / "p.npz"
    np.savez(path, event_index=np.zeros(0, np.int64), offsets=np.zeros(1, np.int64),
             predicted=np.zeros(0, np.int64), latency_ns=np.zeros(0, np.int64),
             meta=np.array(json.dumps({"method": "default-1"})))
    status, _, err = run_cli(capsys, mem_path, "--predictions", path)
    assert status == 1
    assert err.startswith("complearn simulate: error:")
    assert "lacks trace_checksum, trace_events, stream_start, stream_stop" in err


def test_missing_prediction_file(mem_path, tmp_path, capsys):
    status, _, err = run_cli(capsys, mem_path, "--predictions", tmp_path / "absent.npz")
    assert status == 1
    assert "prediction file not found" in err


def test_call_trace_rejected(tmp_path, capsys):
    path = tmp_path / "calls.trace"
    write_trace(path, "calls", np.array([0, 1, 0, 2]), meta={"names": ["main", "f", "g"]})
    status, _, err = run_cli(capsys, path)
    assert status == 1
    assert "a calls trace, but the cache simulator needs a mem trace" in err
    assert err.count("\n") == 1


def test_missing_trace(tmp_path, capsys):
    status, _, err = run_cli(capsys, tmp_path / "absent.trace")
    assert status == 1
    assert "trace file not found" in err


def test_json_output_is_folder(mem_path, tmp_path, capsys):
    # --json with a folder used to end in an IsADirectoryError traceback and left a
    # temporary .sim-*.json file beside the folder.
    out_dir = tmp_path / "results"
    out_dir.mkdir()
    status, _, err = run_cli(capsys, mem_path, "--json", out_dir)
    assert status == 1
    assert err.startswith("complearn simulate: error:")
    assert "is a folder" in err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["mem.trace", "results"]
    assert list(out_dir.iterdir()) == []


def test_json_file_follows_umask(mem_path, tmp_path, capsys):
    previous = os.umask(0o022)
    try:
        status, _, _ = run_cli(capsys, mem_path, "--json", tmp_path / "sim.json")
    finally:
        os.umask(previous)
    assert status == 0
    assert (tmp_path / "sim.json").stat().st_mode & 0o777 == 0o644


def test_improvement_line_in_percentage_points(mem_path, capsys):
    # Hit rate goes from 0 to 1997 / 2000 with next-line (see the test above). The
    # line used to read "hit rate 99.85 % points".
    status, out, _ = run_cli(capsys, mem_path, "--prefetcher", "next-line")
    assert status == 0
    assert ("L1: hit rate +99.85 percentage points against no prefetching, "
            "misses reduced by 99.85 %") in out.splitlines()


def test_table_states_prefetch_delay(mem_path, capsys):
    # The table showed no timing, so the latency behind "late" was invisible.
    status, out, _ = run_cli(capsys, mem_path, "--prefetcher", "next-line", "--latency-ns", "25",
                             "--access-interval-ns", "10")
    assert status == 0
    assert "Prefetch delay: mean 3.00 accesses from request to arrival, at 10 ns per access" in out


def test_denominators_say_fills_are_uncounted(mem_path, capsys):
    # With next-line, L2 demand misses fall because prefetch fills reach L2 uncounted;
    # the printed denominators must say so, or the L2 miss reduction reads as less traffic.
    status, out, _ = run_cli(capsys, mem_path, "--cache", "32K,8", "--cache", "256K,8",
                             "--prefetcher", "next-line")
    assert status == 0
    assert "prefetch fills pass through lower levels uncounted" in out


def test_table_names_cache_geometry(mem_path, capsys):
    assert main(["simulate", str(mem_path)]) == 0
    out = capsys.readouterr().out
    assert "L1: 32 KiB, 8-way, 64 B lines, 64 sets, LRU" in out
    assert main(["simulate", str(mem_path), "--cache", "4K,4", "--cache", "64K,8",
                 "--policy", "fifo"]) == 0
    out = capsys.readouterr().out
    assert "L1: 4 KiB, 4-way, 64 B lines, 16 sets, FIFO" in out
    assert "L2: 64 KiB, 8-way, 64 B lines, 128 sets, FIFO" in out
