"""Results schema, Markdown report, `complearn report` and the PNG plots, on synthetic results."""
import dataclasses
import json
import os
import re

import numpy as np
import pytest
from matplotlib import image as mpimg
from matplotlib.colors import to_rgb

from complearn import plots, report, results
from complearn.cli import main
from complearn.results import ResultsError
from tracer.tracefile import read_trace, write_trace


@dataclasses.dataclass
class FakeRun:
    """Stand-in with the attributes of predictor.online.RunResult that results.run_rows reads."""

    method: str
    freq: object
    k: object
    events: int
    predictions: int
    model_inputs: int
    rollbacks: int
    avg_prediction_length: float
    tokenization_overhead: float
    avg_latency_ns: float
    event_accuracy: float


def _runs(events):
    return [
        FakeRun("default-1", None, None, events, events, events, 0, 1.0, 0.0, 3600.0, 0.9912),
        FakeRun("default-k", None, 45, events, events // 45, events, 0, 45.0, 0.0, 3600.0, 0.8125),
        FakeRun("compressed", 20, None, events, 2588, 3100, 12, 45.3, 1.7e-6, 80.0, 0.989),
    ]


def _predictions(stream_start, stream_stop, step):
    """Prediction records as predfile.read_predictions returns them: one every `step` events."""
    event_index = np.arange(stream_start - 1, stream_stop - 1, step, dtype=np.int64)
    lengths = np.full(event_index.shape, step, dtype=np.int64)
    return {"event_index": event_index, "offsets": np.concatenate([[0], np.cumsum(lengths)])}


def make_results(tmp_path, name, kind):
    """Build a whole results dict through the results builders, from a real trace file."""
    rng = np.random.default_rng(7)
    pattern = rng.integers(0, 30, size=40)
    events = np.tile(pattern, 100)  # 4,000 events, test stream is the second half
    flags = np.zeros(len(events), dtype=np.uint8) if kind == "mem" else None
    path = tmp_path / f"{name}.trace"
    write_trace(path, kind, events, flags=flags, meta={"source": f"examples/programs/{name}"})
    trace = read_trace(path)

    predictions = {"default-1": _predictions(2000, 4000, 1), "default-k": _predictions(2000, 4000, 45),
                   "compressed": _predictions(2000, 4000, 40)}
    simulation = None
    sweep = None
    if kind == "mem":
        rows = [results.simulation_row("none", accesses=2000, hits=1500, misses=500, issued=0,
                                       useful=0, late=0, useless=0),
                results.simulation_row("next-line", accesses=2000, hits=1600, misses=400,
                                       issued=500, useful=100, late=20, useless=300),
                results.simulation_row("stride", accesses=2000, hits=1550, misses=450,
                                       issued=200, useful=50, late=5, useless=100),
                results.simulation_row("default-1", accesses=2000, hits=1700, misses=300,
                                       issued=1000, useful=200, late=150, useless=50),
                results.simulation_row("default-k", accesses=2000, hits=1650, misses=350,
                                       issued=800, useful=150, late=60, useless=400),
                results.simulation_row("compressed", accesses=2000, hits=1900, misses=100,
                                       issued=600, useful=400, late=10, useless=100)]
        simulation = results.simulation_section(rows, access_interval_ns=10.0,
                                                cache="32 KiB, 8 ways, 64-byte lines, LRU")
        intervals = [1, 3, 10, 30, 100]
        sweep = results.hit_rate_vs_interval_section(intervals, {
            "none": [0.75] * 5, "next-line": [0.8] * 5,
            "default-1": [0.76, 0.78, 0.85, 0.9, 0.92],
            "default-k": [0.77, 0.8, 0.82, 0.84, 0.85],
            "compressed": [0.9, 0.93, 0.95, 0.95, 0.95]})

    return results.new_results(
        trace=results.trace_section(trace, name=name),
        settings=results.settings_section("tiny", 1.0, 0, "cpu", access_interval_ns=10.0),
        freq_search=[results.freq_point(freq, accuracy, length, speedup) for freq, accuracy, length, speedup
                     in [(50, 0.991, 10.2, 9.0), (5, 0.95, 80.0, 60.0), (20, 0.989, 45.3, 45.0)]],
        runs=results.run_rows(_runs(2000)),
        simulation=simulation,
        hit_rate_vs_interval=sweep,
        timeline=results.timeline_section(trace.events, predictions, start=2000, length=600),
    )


@pytest.fixture
def calls_results(tmp_path):
    return make_results(tmp_path, "fluid-calls", "calls")


@pytest.fixture
def mem_results(tmp_path):
    return make_results(tmp_path, "fluid-mem", "mem")


def _table_rows(markdown):
    """Split the first Markdown table into rows of stripped cells."""
    rows = []
    for line in markdown.splitlines():
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
        elif rows:
            break
    return rows


# ---------------------------------------------------------------- builders

def test_run_rows_speedup_against_default1(calls_results):
    speedups = {row["method"]: row["speedup"] for row in calls_results["runs"]}
    assert speedups["default-1"] == 1.0
    assert speedups["default-k"] == 1.0
    assert speedups["compressed"] == pytest.approx(45.0)


def test_run_rows_without_default1_has_no_speedup():
    rows = results.run_rows(_runs(100)[1:])
    assert [row["speedup"] for row in rows] == [None, None]


def test_simulation_row_ratios_by_hand():
    row = results.simulation_row("next-line", accesses=2000, hits=1600, misses=400, issued=500,
                                 useful=100, late=20, useless=300)
    assert row["hit_rate"] == 0.8
    assert row["mpki"] == 200.0
    assert row["accuracy"] == 0.2
    assert row["coverage"] == 0.2
    assert row["late_share"] == 0.04


def test_simulation_row_nothing_issued_is_null():
    row = results.simulation_row("none", accesses=10, hits=5, misses=5, issued=0, useful=0,
                                 late=0, useless=0)
    assert row["accuracy"] is None
    assert row["late_share"] is None
    assert row["coverage"] == 0.0


def test_timeline_section_clips_to_stretch():
    events = np.arange(100)
    record = _predictions(0, 100, 10)  # predictions after events -1, 9, 19, ...
    section = results.timeline_section(events, {"compressed": record}, start=20, length=30)
    assert section["events"] == list(range(20, 50))
    assert section["methods"]["compressed"]["event_index"] == [19, 29, 39]
    assert section["methods"]["compressed"]["length"] == [10, 10, 10]


def test_hit_rate_sweep_rejects_length_mismatch():
    with pytest.raises(ResultsError, match="'stride' has 2 values for 3 access intervals"):
        results.hit_rate_vs_interval_section([1, 2, 3], {"stride": [0.1, 0.2]})


def test_trace_section_from_trace_file(calls_results):
    trace = calls_results["trace"]
    assert trace["kind"] == "calls"
    assert trace["events"] == 4000
    assert trace["sessions"] == 1
    assert trace["source"] == "examples/programs/fluid-calls"
    assert re.fullmatch(r"[0-9a-f]{64}", trace["checksum"])


def test_settings_record_versions(calls_results):
    versions = calls_results["settings"]["versions"]
    assert versions["numpy"] == np.__version__
    assert set(versions) == set(results.VERSION_KEYS)


# ---------------------------------------------------------------- validate, save, load

@pytest.mark.parametrize("path, expected", [
    (("runs", 1, "speedup"), "runs[1].speedup"),
    (("trace", "checksum"), "trace.checksum"),
    (("settings", "versions", "torch"), "settings.versions.torch"),
    (("simulation", "rows", 5, "late_share"), "simulation.rows[5].late_share"),
    (("timeline", "methods", "compressed", "length"), "timeline.methods.compressed.length"),
    (("freq_search", 0, "valid_accuracy"), "freq_search[0].valid_accuracy"),
    (("hit_rate_vs_interval",), "'hit_rate_vs_interval'"),
])
def test_validate_names_missing_key(mem_results, path, expected):
    holder = mem_results
    for step in path[:-1]:
        holder = holder[step]
    del holder[path[-1]]
    with pytest.raises(ResultsError, match=re.escape(expected)):
        results.validate(mem_results, source="study/results.json")


def test_validate_rejects_other_schema_version(calls_results):
    calls_results["schema_version"] = results.SCHEMA_VERSION + 1
    with pytest.raises(ResultsError, match="schema version"):
        results.validate(calls_results)


def test_validate_rejects_unknown_method(calls_results):
    calls_results["runs"][0]["method"] = "default-2"
    with pytest.raises(ResultsError, match="'default-2'"):
        results.validate(calls_results)


def test_save_load_roundtrip(tmp_path, mem_results):
    path = results.save_results(mem_results, tmp_path / "results.json")
    assert results.load_results(path) == mem_results
    assert results.load_results(tmp_path) == mem_results  # a folder means its results.json
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_save_rejects_nan(tmp_path, calls_results):
    calls_results["runs"][2]["speedup"] = float("nan")
    with pytest.raises(ResultsError, match=re.escape("runs[2].speedup is nan")):
        results.save_results(calls_results, tmp_path / "results.json")
    assert not (tmp_path / "results.json").exists()


def test_load_rejects_bad_json(tmp_path):
    path = tmp_path / "results.json"
    path.write_text("{\"schema_version\": 1,\n")
    with pytest.raises(ResultsError, match="not valid JSON at line"):
        results.load_results(path)


def test_load_missing_file(tmp_path):
    with pytest.raises(ResultsError, match="results file not found"):
        results.load_results(tmp_path / "absent.json")


# ---------------------------------------------------------------- Markdown report

def test_report_columns_are_results_keys():
    for _, section, key, _ in report.PREDICTION_COLUMNS + report.SIMULATION_COLUMNS:
        assert key in (results.RUN_KEYS if section == "run" else results.SIM_KEYS)


def test_markdown_table_calls_formatting(calls_results):
    rows = _table_rows(report.markdown_table([calls_results]))
    assert rows[0] == ["Trace", "Tolerance (%)", "Method", "FREQ", "Avg pred length",
                       "#Predictions", "#Rollbacks", "Tokenization overhead (%)",
                       "Avg latency (µs/event)", "Speedup (×)", "Event accuracy (%)"]
    assert rows[2] == ["fluid-calls", "1", "default-1", "–", "1.0", "2,000", "0", "0.000",
                       "3.600", "1.0", "99.12"]
    assert rows[3] == ["", "", "default-k", "–", "45.0", "44", "0", "0.000", "3.600", "1.0", "81.25"]
    assert rows[4] == ["", "", "compressed", "20", "45.3", "2,588", "12", "0.00017", "0.080",
                       "45.0", "98.90"]
    assert len(rows) == 5


def test_markdown_table_mem_has_simulator_columns(mem_results):
    rows = _table_rows(report.markdown_table([mem_results]))
    assert rows[0][-5:] == ["Hit rate (%)", "Misses / 1000 acc", "Prefetch accuracy (%)", "Coverage (%)",
                            "Late share (%)"]
    compressed = rows[4]
    assert compressed[2] == "compressed"
    assert compressed[-5:] == ["95.00", "50.00", "66.7", "80.0", "1.7"]
    baselines = [row[2] for row in rows[5:]]
    assert baselines == ["none (no model)", "next-line (no model)", "stride (no model)"]
    assert rows[5][3:11] == ["–"] * 8
    assert rows[5][-5:] == ["75.00", "250.00", "–", "0.0", "–"]


def test_every_shown_figure_matches_results(mem_results):
    """Each number in a run row is the formatted value of the key its column names."""
    rows = _table_rows(report.markdown_table([mem_results]))
    columns = report.PREDICTION_COLUMNS + report.SIMULATION_COLUMNS
    simulation = {row["prefetcher"]: row for row in mem_results["simulation"]["rows"]}
    for table_row, run in zip(rows[2:5], mem_results["runs"]):
        for cell, (_, section, key, style) in zip(table_row[2:], columns):
            source = run if section == "run" else simulation[run["method"]]
            assert cell == report._format_value(source[key], style), key


def test_render_markdown_sections(calls_results, mem_results):
    text = report.render_markdown([calls_results, mem_results], title="Study")
    assert text.startswith("# Study\n")
    assert "## FREQ search: fluid-calls" in text
    assert "| 20 | 98.90 | 45.3 | 45.0 |" in text
    assert "cache: 32 KiB, 8 ways, 64-byte lines, LRU; access interval 10 ns" in text
    assert "- **fluid-mem**: mem trace, 4,000 events, 1 session" in text
    # The calls block shows dashes under the simulator columns of the merged table.
    calls_row = _table_rows(text)[2]
    assert calls_row[0] == "fluid-calls"
    assert calls_row[-5:] == ["–"] * 5


def test_summary_text_lists_runs_and_prefetchers(mem_results):
    text = report.summary_text(mem_results)
    lines = text.splitlines()
    assert lines[0] == "fluid-mem: mem trace, 4,000 events, tolerance 1 percentage point"
    assert lines[1].split() == ["method", "FREQ", "pred", "length", "predictions", "rollbacks",
                                "µs/event", "speedup", "accuracy", "%"]
    assert lines[4].split() == ["compressed", "20", "45.3", "2,588", "12", "0.080", "45.0×", "98.90"]
    assert any(line.split()[:2] == ["compressed", "95.00"] for line in lines[5:])


# ---------------------------------------------------------------- complearn report

def test_report_command_merges_two_files(tmp_path, capsys, calls_results, mem_results):
    first = results.save_results(calls_results, tmp_path / "a.json")
    second = results.save_results(mem_results, tmp_path / "b.json")
    out = tmp_path / "report.md"

    assert main(["report", str(first), str(second), "-o", str(out)]) == 0
    rows = _table_rows(out.read_text())
    names = [row[0] for row in rows[2:] if row[0]]
    assert names == ["fluid-calls", "fluid-mem"]
    assert len(rows) == 2 + 3 + 6
    printed = capsys.readouterr().out
    assert "fluid-calls: calls trace" in printed
    assert f"report written to {out}" in printed


def test_report_command_prints_markdown(tmp_path, capsys, calls_results):
    results.save_results(calls_results, tmp_path / "results.json")
    assert main(["report", str(tmp_path)]) == 0
    assert "| fluid-calls | 1 | default-1 |" in capsys.readouterr().out


def test_report_command_missing_key_exits_1(tmp_path, capsys, calls_results):
    del calls_results["runs"][0]["rollbacks"]
    path = tmp_path / "results.json"
    path.write_text(json.dumps(calls_results))
    assert main(["report", str(path), "-o", str(tmp_path / "report.md")]) == 1
    error = capsys.readouterr().err.strip()
    assert error == (f"complearn report: error: {path}: missing key 'runs[0].rollbacks'; "
                     "rewrite the file with 'complearn compare'")
    assert not (tmp_path / "report.md").exists()


def test_report_command_writes_plots(tmp_path, mem_results):
    results.save_results(mem_results, tmp_path / "results.json")
    plot_dir = tmp_path / "plots" / "new"
    assert main(["report", str(tmp_path), "-o", str(tmp_path / "r.md"), "--plots", str(plot_dir)]) == 0
    assert sorted(p.name for p in plot_dir.iterdir()) == [
        "fluid-mem-freq_search.png", "fluid-mem-hit_rate_vs_interval.png", "fluid-mem-timeline.png"]


def test_report_plots_of_same_trace_kept_apart(tmp_path, calls_results):
    # Two studies of one trace (two tolerances) used to write the same plot files,
    # so the second silently replaced the first.
    first = results.save_results(calls_results, tmp_path / "tol0.json")
    calls_results["settings"]["tolerance_pct"] = 0.0
    second = results.save_results(calls_results, tmp_path / "tol1.json")
    plot_dir = tmp_path / "plots"
    plot_dir.mkdir()
    assert main(["report", str(first), str(second), "--plots", str(plot_dir)]) == 0
    assert sorted(p.name for p in plot_dir.iterdir()) == [
        "fluid-calls-2-freq_search.png", "fluid-calls-2-timeline.png",
        "fluid-calls-freq_search.png", "fluid-calls-timeline.png"]


# ---------------------------------------------------------------- plots

def _assert_real_png(path):
    pixels = mpimg.imread(path)
    assert pixels.ndim == 3
    assert pixels.shape[0] > 200
    assert pixels.shape[1] > 200
    assert pixels.var() > 0
    colours = np.unique((pixels[..., :3] * 255).round().astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) >= 5


@pytest.mark.parametrize("plot", [plots.plot_timeline, plots.plot_freq_search,
                                  plots.plot_hit_rate_vs_interval])
def test_plot_writes_png(tmp_path, mem_results, plot):
    out = tmp_path / "plot.png"
    assert plot(mem_results, out) == out
    _assert_real_png(out)
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".png"] == ["plot.png"]


def test_timeline_plot_colours_each_method(tmp_path, calls_results):
    out = plots.plot_timeline(calls_results, tmp_path / "timeline.png")
    pixels = (mpimg.imread(out)[..., :3] * 255).round().astype(int)
    for name in ("default-1", "default-k", "compressed"):
        target = (np.array(to_rgb(plots.COLORS[name])) * 255).round().astype(int)
        assert (np.abs(pixels - target).sum(axis=-1) <= 6).any(), name


def test_plot_all_skips_missing_sections(tmp_path, calls_results):
    paths = plots.plot_all(calls_results, tmp_path, prefix="x-")
    assert sorted(p.name for p in paths) == ["x-freq_search.png", "x-timeline.png"]


def test_hit_rate_plot_needs_memory_study(tmp_path, calls_results):
    with pytest.raises(ResultsError, match="no 'hit_rate_vs_interval' data"):
        plots.plot_hit_rate_vs_interval(calls_results, tmp_path / "hit.png")


def test_written_files_follow_umask(tmp_path, mem_results):
    # results.json, the report and the plots used to keep tempfile's mode 0o600.
    previous = os.umask(0o022)
    try:
        results.save_results(mem_results, tmp_path / "results.json")
        report.write_report([mem_results], tmp_path / "report.md")
        plots.plot_freq_search(mem_results, tmp_path / "freq.png")
    finally:
        os.umask(previous)
    for name in ("results.json", "report.md", "freq.png"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o644, name
