"""Table 4 of Guan et al. (TKDD 2026) on the real traces that ship with the team data.

For each trace: fit a default model and compressed models with the FREQ search at
0 and 1 percentage point tolerance, then run default-1, default-k and compressed
online over the test stream (the second half of the trace). Prints a Markdown
table and writes every figure to OUT/table4.json.

    python benchmarks/table4.py [--data ../shared/data] [--out /tmp/table4]
                                [--preset default] [--epochs N] [--repeats 3]
                                [--traces windows,thunderbird,hdfs,libquantum]

Latencies come from the fastest of ``--repeats`` online runs per method, because
other processes on a shared machine only ever add time. Candidate models are
shared between the fits through their resumable training states (same trace,
split, preset and seed), so each FREQ trains once, and rerunning the script on
the same --out reuses every finished model.
"""
import argparse
import csv
import gzip
import json
import pathlib
import shutil
import time

import numpy as np

from predictor.checkpoint import load_model
from predictor.evaluation import evaluate, summary_rows
from predictor.fitting import fit
from tracer.tracefile import write_trace

REPO = pathlib.Path(__file__).resolve().parent.parent


def _loghub(data, name, path):
    names = {}
    csv_path = data / "loghub" / name / f"{name}_2k.log_structured.csv"
    with open(csv_path, newline="") as handle:
        events = [names.setdefault(row["EventId"], len(names)) for row in csv.DictReader(handle)]
    write_trace(path, "log", np.array(events), meta={"names": list(names), "source": str(csv_path)})


def _hdfs(data, path):
    events, starts, names = [], [], {}
    source = data / "deeplog_hdfs" / "hdfs_train"
    with open(source) as handle:
        for line in handle:
            keys = line.split()
            if keys:
                starts.append(len(events))
                events.extend(names.setdefault(key, len(names)) for key in keys)
    write_trace(path, "log", np.array(events), session_starts=np.array(starts),
                meta={"names": list(names), "source": str(source)})


def _libquantum(data, path):
    source = data / "dpc2" / "dpc2_libquantum_blocks64.txt.gz"
    with gzip.open(source, "rt") as handle:
        blocks = np.array([int(line) for line in handle], dtype=np.int64)
    write_trace(path, "mem", blocks, flags=np.zeros(len(blocks), dtype=np.uint8),
                meta={"source": str(source)})


TRACES = {
    "windows": lambda data, path: _loghub(data, "Windows", path),
    "thunderbird": lambda data, path: _loghub(data, "Thunderbird", path),
    "hdfs": _hdfs,
    "libquantum": _libquantum,
}


def _share_states(source_dir, target_dir):
    """Copy finished candidate training states so the target fit resumes them."""
    source, target = pathlib.Path(source_dir) / "work", pathlib.Path(target_dir) / "work"
    target.mkdir(parents=True, exist_ok=True)
    for state in source.glob("*.pt"):
        if not (target / state.name).exists():
            shutil.copy2(state, target / state.name)


def _fastest_runs(model_dirs, trace, repeats):
    """Evaluate ``repeats`` times and keep, per method, the run with the lowest latency.

    Runs are deterministic except for their clocks, so repeating only filters
    out time lost to other processes on a shared machine.
    """
    best = None
    for _ in range(repeats):
        results = evaluate(model_dirs, trace, progress=False)
        if best is None:
            best = results
            continue
        best = [new if new.total_time_ns < old.total_time_ns else old
                for old, new in zip(best, results)]
    return best


def run_trace(name, data, out, preset, epochs=None, repeats=1):
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    trace = folder / f"{name}.trace"
    TRACES[name](data, trace)
    timings = {}

    started = time.perf_counter()
    fit(trace, folder / "default", method="default", preset=preset, epochs=epochs,
        progress=False)
    timings["fit_default_s"] = time.perf_counter() - started

    rows = {}
    previous = folder / "default"
    for tolerance in (0.0, 1.0):
        model_dir = folder / f"compressed-tol{tolerance:g}"
        _share_states(previous, model_dir)
        started = time.perf_counter()
        fit(trace, model_dir, method="compressed", preset=preset, tolerance=tolerance,
            epochs=epochs, progress=False)
        timings[f"fit_compressed_tol{tolerance:g}_s"] = time.perf_counter() - started
        previous = model_dir
        results = _fastest_runs([folder / "default", model_dir], trace, repeats)
        search = load_model(model_dir).info["freq_search"]
        rows[f"{tolerance:g}"] = {"runs": summary_rows(results), "freq_search": search}
    return {"trace": name, "preset": preset, "epochs": epochs, "repeats": repeats,
            "timings": timings,
            "tolerances": rows}


def markdown(records) -> str:
    lines = ["| trace | tol. (pp) | FREQ | method | avg pred length | #predictions | #rollbacks "
             "| tok. overhead (%) | latency (µs/event) | speedup (×) | event accuracy (%) |",
             "|" + "---|" * 11]
    for record in records:
        for tolerance, block in record["tolerances"].items():
            for row in block["runs"]:
                freq = "-" if row["freq"] is None else row["freq"]
                if row["method"] == "compressed" and row["freq"] is None:
                    freq = "none"
                lines.append(
                    f"| {record['trace']} | {tolerance} | {freq} | {row['method']} | "
                    f"{row['avg_prediction_length']:.1f} | {row['predictions']:,} | "
                    f"{row['rollbacks']:,} | {row['tokenization_overhead_pct']:.2f} | "
                    f"{row['avg_latency_us']:.1f} | {row['speedup']:.2f} | "
                    f"{row['event_accuracy_pct']:.2f} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument("--out", default="/tmp/table4")
    parser.add_argument("--preset", default="default")
    parser.add_argument("--traces", default=",".join(TRACES))
    parser.add_argument("--epochs", type=int, help="maximum epochs (default: the preset's)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="online runs per method; the fastest one is reported (default: 3)")
    args = parser.parse_args()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    records = []
    for name in args.traces.split(","):
        records.append(run_trace(name, pathlib.Path(args.data), out, args.preset, args.epochs,
                                 args.repeats))
        (out / "table4.json").write_text(json.dumps(records, indent=1))
        print(f"{name}: {records[-1]['timings']}", flush=True)
    print(markdown(records))


if __name__ == "__main__":
    main()
