"""complearn compare end to end on a small compiled program, and its error lines.

One module fixture compiles a C program, records its call and memory traces and
runs the whole study with the tiny preset. The tests then read what it wrote and
repeat the deterministic steps with the separate fit, evaluate and simulate
commands. Hit counts of prediction replay depend on each prediction's latency, so
the separate simulate runs replay the prediction files that compare wrote. Those
files hold the measured latencies, so the hit counts must match exactly.
"""
import json
import os
import pathlib
import shutil
import subprocess

import numpy as np
import pytest

from complearn import example, report
from complearn.cli import main
from complearn.results import load_results
from complearn.staging import OutputError, staged_output
from predictor.predfile import read_predictions
from tracer.tracefile import read_trace, write_trace

HAVE_TOOLS = shutil.which("valgrind") is not None and shutil.which("gcc") is not None
needs_valgrind = pytest.mark.skipif(not HAVE_TOOLS, reason="valgrind or gcc not installed")

# A stencil over a 2 KiB array: each sweep calls one helper per element, so the
# call trace repeats a short pattern and the memory trace walks the same blocks
# again in every sweep.
PROGRAM_C = r"""
#include <stdio.h>
#define N 256
static double grid[N], next[N];
double weight(int i) { return (i % 3) ? 0.25 : 0.5; }
double smooth(int i) {
    double left = grid[(i + N - 1) % N], right = grid[(i + 1) % N];
    return weight(i) * (left + right) + (1 - 2 * weight(i)) * grid[i];
}
void sweep(void) {
    for (int i = 0; i < N; i++) next[i] = smooth(i);
    for (int i = 0; i < N; i++) grid[i] = next[i];
}
int main(void) {
    for (int i = 0; i < N; i++) grid[i] = i % 7;
    for (int step = 0; step < 40; step++) sweep();
    printf("%f\n", grid[0]);
    return 0;
}
"""
MAX_EVENTS = 4000
# The two arrays span 64 blocks, so a 1 KiB cache (16 lines) misses and the
# prediction files issue prefetches.
CACHE = "1K,2"
TINY = ["--preset", "tiny", "--epochs", "1", "--seed", "0", "--quiet"]


def _compile(folder):
    source = folder / "stencil.c"
    source.write_text(PROGRAM_C)
    program = folder / "stencil"
    subprocess.run(["gcc", "-O1", "-fno-inline", "-o", str(program), str(source)], check=True)
    return program


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    if not HAVE_TOOLS:
        pytest.skip("valgrind or gcc not installed")
    folder = tmp_path_factory.mktemp("compare")
    program = _compile(folder)
    out = folder / "out"
    status = main(["compare", *TINY, "--max-events", str(MAX_EVENTS), "--cache", CACHE,
                   "--out", str(out), "--program", str(program)])
    assert status == 0
    return {"folder": folder, "out": out,
            "calls": load_results(out / "calls"), "mem": load_results(out / "mem")}


def _png_pixels(path):
    from matplotlib.image import imread

    return imread(os.fspath(path))


@needs_valgrind
def test_compare_writes_report_results_and_plots(study):
    out = study["out"]

    assert (out / "report.md").is_file()
    for kind in ("calls", "mem"):
        assert (out / kind / "results.json").is_file()
        assert (out / "traces" / f"stencil-{kind}.trace").is_file()
    plots = [out / "calls" / "timeline.png", out / "calls" / "freq_search.png",
             out / "mem" / "timeline.png", out / "mem" / "freq_search.png",
             out / "mem" / "hit_rate_vs_interval.png"]
    for path in plots:
        pixels = _png_pixels(path)[..., :3]  # (H, W, RGB) floats in [0, 1]
        assert pixels.shape[0] > 100, path
        assert pixels.shape[1] > 100, path
        drawn = (pixels < 0.9).any(axis=2).mean()  # share of pixels that are not near white
        assert 0.01 < drawn < 0.9, path
    assert not list(out.parent.glob(".out.partial-*"))


@needs_valgrind
def test_compare_report_is_made_from_results(study):
    text = (study["out"] / "report.md").read_text()

    expected = report.render_markdown([study["calls"], study["mem"]], title="complearn compare")
    assert text == expected
    for column in report.PREDICTION_COLUMNS:
        for row in study["calls"]["runs"] + study["mem"]["runs"]:
            assert column[2] in row
    for column in report.SIMULATION_COLUMNS:
        for row in study["mem"]["simulation"]["rows"]:
            assert column[2] in row


@needs_valgrind
def test_compare_results_cover_every_step(study):
    calls, mem = study["calls"], study["mem"]

    assert [row["method"] for row in calls["runs"]] == ["default-1", "default-k", "compressed"]
    assert calls["simulation"] is None
    assert calls["hit_rate_vs_interval"] is None
    assert [row["prefetcher"] for row in mem["simulation"]["rows"]] == [
        "none", "next-line", "stride", "default-1", "default-k", "compressed"]
    assert mem["settings"]["access_interval_ns"] in mem["hit_rate_vs_interval"]["intervals_ns"]
    assert calls["freq_search"], "the FREQ search tried no FREQ"
    trace = read_trace(study["out"] / "traces" / "stencil-mem.trace")
    assert mem["trace"]["checksum"] == trace.checksum
    assert mem["trace"]["path"] == os.fspath(study["out"] / "traces" / "stencil-mem.trace")
    assert trace.num_events == MAX_EVENTS
    for row in calls["runs"] + mem["runs"]:
        assert row["events"] == MAX_EVENTS // 2
        assert row["predictions"] <= row["events"]


@needs_valgrind
def test_compare_trace_writes_into_out(study, tmp_path):
    trace = study["out"] / "traces" / "stencil-calls.trace"
    out = tmp_path / "out"

    assert main(["compare", str(trace), *TINY, "--out", str(out)]) == 0

    assert sorted(path.name for path in out.iterdir()) == [
        "freq_search.png", "models", "predictions", "report.md", "results.json", "timeline.png"]
    results = load_results(out)
    assert results["trace"]["path"] == str(trace)
    for again, first in zip(results["runs"], study["calls"]["runs"]):
        assert again["freq"] == first["freq"]
        assert again["predictions"] == first["predictions"]
        assert again["event_accuracy"] == first["event_accuracy"]


def _run_json(argv, json_path):
    assert main(argv + ["--json", os.fspath(json_path)]) == 0
    return json.loads(json_path.read_text())


@needs_valgrind
def test_compare_matches_fit_evaluate_simulate(study, tmp_path):
    out, mem = study["out"], study["mem"]
    trace = out / "traces" / "stencil-mem.trace"
    common = ["--preset", "tiny", "--epochs", "1", "--seed", "0"]

    # 1. The same fits and online runs, one command at a time.
    assert main(["fit", str(trace), "-o", str(tmp_path / "default"), "--method", "default",
                 *common]) == 0
    assert main(["fit", str(trace), "-o", str(tmp_path / "compressed"), "--tolerance", "1",
                 *common]) == 0
    evaluated = _run_json(["evaluate", str(tmp_path / "default"), str(tmp_path / "compressed"),
                           str(trace), "--predictions", str(tmp_path / "predictions")],
                          tmp_path / "evaluate.json")
    for separate, row in zip(evaluated["runs"], mem["runs"]):
        assert separate["method"] == row["method"]
        assert separate["freq"] == row["freq"]
        assert separate["k"] == row["k"]
        assert separate["predictions"] == row["predictions"]
        assert separate["event_accuracy_pct"] == pytest.approx(100 * row["event_accuracy"])
        assert separate["avg_prediction_length"] == pytest.approx(row["avg_prediction_length"])
    for method in ("default-1", "default-k", "compressed"):
        ours = read_predictions(out / "mem" / "predictions" / f"{method}.npz")
        theirs = read_predictions(tmp_path / "predictions" / f"{method}.npz")
        for key in ("event_index", "offsets", "predicted"):
            np.testing.assert_array_equal(ours[key], theirs[key])

    # 2. The simulator on the same range and prediction files gives the same hits.
    start, stop = MAX_EVENTS // 2, MAX_EVENTS
    interval = str(mem["settings"]["access_interval_ns"])
    rows = {row["prefetcher"]: row for row in mem["simulation"]["rows"]}
    for name in ("none", "next-line", "stride", "default-1", "default-k", "compressed"):
        argv = ["simulate", str(trace), "--cache", CACHE, "--access-interval-ns", interval,
                "--start", str(start), "--stop", str(stop)]
        if name in ("none", "next-line", "stride"):
            argv += ["--prefetcher", name]
        else:
            argv += ["--predictions", str(out / "mem" / "predictions" / f"{name}.npz")]
        simulated = _run_json(argv, tmp_path / f"sim-{name}.json")
        level = simulated["levels"][0]
        assert (level["hits"], level["misses"]) == (rows[name]["hits"], rows[name]["misses"]), name
        if simulated["prefetch"] is not None:
            assert simulated["prefetch"]["issued"] == rows[name]["issued"], name
            assert simulated["prefetch"]["useful"] == rows[name]["useful"], name
    # The replays above had predictions to replay. Whether they issue prefetches
    # depends on the trace: its stack blocks move with the size of the
    # environment, and a one-epoch model may predict only cached stack blocks.
    for method in ("default-1", "default-k", "compressed"):
        assert read_predictions(out / "mem" / "predictions" / f"{method}.npz")["predicted"].size > 0


def test_compare_missing_program_fails_cleanly(tmp_path, capsys):
    out = tmp_path / "out"

    status = main(["compare", "--out", str(out), "--program", str(tmp_path / "missing")])

    assert status == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("complearn compare: error:")
    assert "not found" in error
    assert len(error.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_compare_short_trace_fails_cleanly(tmp_path, capsys):
    trace = tmp_path / "short.trace"
    write_trace(trace, "events", np.arange(10) % 3, meta={"names": ["a", "b", "c"]})
    out = tmp_path / "out"

    status = main(["compare", str(trace), "--out", str(out)])

    assert status == 1
    error = capsys.readouterr().err.strip()
    assert "10 events" in error
    assert "too few" in error
    assert len(error.splitlines()) == 1
    assert sorted(path.name for path in tmp_path.iterdir()) == ["short.trace"]


@pytest.mark.parametrize("where", ["file", "under_file"])
def test_compare_unwritable_out_fails_cleanly(tmp_path, capsys, where):
    trace = tmp_path / "ok.trace"
    write_trace(trace, "events", np.arange(100) % 5, meta={"names": list("abcde")})
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder\n")
    out = blocker if where == "file" else blocker / "out"

    status = main(["compare", str(trace), "--out", str(out)])

    assert status == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("complearn compare: error: --out")
    assert len(error.splitlines()) == 1
    assert blocker.read_text() == "not a folder\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["blocker", "ok.trace"]


def test_compare_rejects_trace_and_program(tmp_path, capsys):
    status = main(["compare", str(tmp_path / "a.trace"), "--out", str(tmp_path / "out"),
                   "--program", "/bin/true"])

    assert status == 1
    assert "either a TRACE or --program" in capsys.readouterr().err


def test_staged_output_keeps_out_on_failure(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.md").write_text("old report\n")

    with pytest.raises(RuntimeError):
        with staged_output(out) as stage:
            (stage / "report.md").write_text("half")
            raise RuntimeError("step failed")

    assert (out / "report.md").read_text() == "old report\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out"]


def test_staged_output_replaces_entries_on_success(tmp_path):
    out = tmp_path / "out"
    (out / "mem").mkdir(parents=True)
    (out / "mem" / "stale.png").write_text("old")
    (out / "notes.txt").write_text("the user's own file\n")

    with staged_output(out) as stage:
        (stage / "mem").mkdir()
        (stage / "mem" / "results.json").write_text("{}")
        (stage / "report.md").write_text("new report\n")

    assert sorted(path.name for path in (out / "mem").iterdir()) == ["results.json"]
    assert (out / "report.md").read_text() == "new report\n"
    assert (out / "notes.txt").read_text() == "the user's own file\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out"]


def test_staged_output_rejects_file_as_out(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")

    with pytest.raises(OutputError, match="is a file"):
        with staged_output(target):
            pass


def test_example_falls_back_to_shipped_traces(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPLEARN_VALGRIND", os.fspath(tmp_path / "no-valgrind"))

    paths, reason = example.example_traces(("calls", "mem"), tmp_path, progress=False)

    assert "Valgrind backend is unavailable" in reason
    assert not (tmp_path / "build").exists()
    for kind in ("calls", "mem"):
        trace = read_trace(paths[kind])
        assert trace.kind == kind
        assert trace.num_events > 1000
        assert pathlib.Path(paths[kind]).parent == tmp_path


def test_out_with_missing_parents_is_created(tmp_path):
    """A fresh --out path such as out/mine works without creating out/ first."""
    from complearn.staging import check_output_dir

    out_dir = check_output_dir(tmp_path / "out" / "mine")
    assert out_dir.parent.is_dir()
    assert not out_dir.exists()


def test_out_under_a_file_is_rejected(tmp_path):
    from complearn.staging import OutputError, check_output_dir

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="is a file"):
        check_output_dir(blocker / "a" / "b")


@needs_valgrind
def test_compare_labels_each_trace_on_stderr(study, tmp_path, capsys):
    trace = study["out"] / "traces" / "stencil-calls.trace"
    options = [option for option in TINY if option != "--quiet"]

    assert main(["compare", str(trace), *options, "--out", str(tmp_path / "out")]) == 0

    err = capsys.readouterr().err
    assert "== stencil-calls: calls trace, 4,000 events ==" in err
