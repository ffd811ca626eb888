"""Online refinement cost: compression share and refinement speedup per trace.

For each real trace this script fits a compressed model (fixed FREQ) and a default
model with the same preset, then refines each one online after every interval of
the test stream (predictor.refine). It reports, beside the figures of Guan et al.
(TKDD 2026, Table 5) for the same kind of trace:

- compression share = partial-compression time / refinement time of compressed
  learning (refinement = compression + growth + one training epoch);
- refinement speedup = default-1's refinement time / compressed learning's.

The refinement loop runs ``--repeats`` times per method from the same fitted
model, alternating the methods. Every repeat does the same work (seeded
training), so each interval's compression, growth and training times are the
minimum over repeats, which filters out part of the time other processes take
from a shared machine.

Usage: python benchmarks/bench_refine.py [--traces windows,thunderbird,hdfs,libquantum]
       [--repeats 3] [--preset default] [--epochs 3] [--json OUT]
Data: the real traces in ../shared/data (or $COMPLEARN_SHARED_DATA).
"""
import argparse
import csv
import gzip
import json
import os
import pathlib
import sys
import tempfile
import time

import numpy as np

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from predictor.checkpoint import load_model  # noqa: E402
from predictor.fitting import fit  # noqa: E402
from predictor.refine import refine_online  # noqa: E402
from tracer.tracefile import read_trace, write_trace  # noqa: E402

DATA = pathlib.Path(os.environ.get("COMPLEARN_SHARED_DATA", REPO.parent / "shared" / "data"))

# Table 5 of Guan et al. (TKDD 2026): compression overhead (%) and refinement
# speedup (x) of the paper's traces of the same kind, 500,000 events each.
PAPER = {
    "log": "windows-log1/2: 0.01 %, 5.6-5.9x; thunderbird-log1/2: 0.02-0.03 %, 1.7-3.4x",
    "windows": "windows-log1: 0.01 %, 5.6x; windows-log2: 0.01 %, 5.9x",
    "thunderbird": "thunderbird-log1: 0.02 %, 3.4x; thunderbird-log2: 0.03 %, 1.7x",
    "mem": "6 memory traces: 0.10-6.08 %, 1.8-39.4x (molecule-mem 6.08 %, 1.8x)",
}


def log_keys(path):
    """Read the EventId column of a LogHub structured CSV as dense event ids, with the names."""
    with open(path, newline="", encoding="utf-8") as handle:
        keys = [row["EventId"] for row in csv.DictReader(handle)]
    names = sorted(set(keys))
    index = {name: i for i, name in enumerate(names)}
    return np.array([index[key] for key in keys], dtype=np.int64), names


def hdfs_sessions(path, max_events):
    """Read the log keys of the first DeepLog HDFS sessions, up to ``max_events`` events."""
    events, starts = [], []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            keys = [int(v) for v in line.split()]
            if not keys:
                continue
            if len(events) + len(keys) > max_events:
                break
            starts.append(len(events))
            events.extend(keys)
    names = [str(k) for k in range(max(events) + 1)]
    return np.array(events, dtype=np.int64), np.array(starts, dtype=np.int64), names


def libquantum_blocks(path, max_events):
    """Read the first ``max_events`` 64-byte block numbers of the DPC-2 libquantum trace."""
    with gzip.open(path, "rt", encoding="ascii") as handle:
        blocks = [int(line) for _, line in zip(range(max_events), handle)]
    return np.array(blocks, dtype=np.int64)


def make_traces(folder, chosen):
    """Write the chosen traces; return {name: (path, kind, freq)}."""
    traces = {}
    if "windows" in chosen:
        events, names = log_keys(DATA / "loghub/Windows/Windows_2k.log_structured.csv")
        traces["windows"] = (write_trace(folder / "windows.trace", "log", events,
                                         meta={"names": names}), "log", 2)
    if "thunderbird" in chosen:
        events, names = log_keys(DATA / "loghub/Thunderbird/Thunderbird_2k.log_structured.csv")
        traces["thunderbird"] = (write_trace(folder / "thunderbird.trace", "log", events,
                                             meta={"names": names}), "log", 2)
    if "hdfs" in chosen:
        events, starts, names = hdfs_sessions(DATA / "deeplog_hdfs/hdfs_train", 40_000)
        traces["hdfs"] = (write_trace(folder / "hdfs.trace", "log", events, session_starts=starts,
                                      meta={"names": names}), "log", 5)
    if "libquantum" in chosen:
        blocks = libquantum_blocks(DATA / "dpc2/dpc2_libquantum_blocks64.txt.gz", 100_000)
        traces["libquantum"] = (write_trace(folder / "libquantum.trace", "mem", blocks,
                                            meta={"block_size": 64}), "mem", 5)
    return traces


def refine_once(method, model_dir, trace, interval_events):
    """Refine a fresh copy of the model once; return the report and per-interval times."""
    loaded = load_model(model_dir)
    start, stop = loaded.split.test_range
    report = refine_online(method, loaded.model, loaded.vocab, loaded.preset,
                           trace.events[start:stop], interval_events=interval_events,
                           session_starts=_sessions(trace, start, stop), trace_offset=start,
                           freq=loaded.freq, device="cpu")
    times = np.array([[r.compression_time_ns, r.growth_time_ns, r.training_time_ns]
                      for r in report.intervals], dtype=np.int64)  # (intervals, 3)
    return report, times


def refine_repeats(model_dirs, trace, interval_events, repeats):
    """Refine each method's model ``repeats`` times, alternating the methods.

    Alternating gives both methods the same share of the other processes' load.
    Returns {method: (report, per-interval minimum times)}.
    """
    best = {}
    for _ in range(repeats):
        for method, model_dir in model_dirs.items():
            report, times = refine_once(method, model_dir, trace, interval_events)
            previous = best.get(method, (None, times))[1]
            best[method] = (report, np.minimum(previous, times))
    return best


def _sessions(trace, start, stop):
    from predictor.splits import part_sessions

    return part_sessions(trace.session_starts, start, stop)


def measure(name, path, kind, freq, repeats, epochs, preset, folder):
    """Fit both models of one trace and measure refinement; return a result dict."""
    trace = read_trace(path)
    started = time.perf_counter()
    compressed = fit(trace, folder / f"{name}-compressed", method="compressed", preset=preset,
                     freq=freq, epochs=epochs, device="cpu", progress=False)
    default = fit(trace, folder / f"{name}-default", method="default", preset=preset,
                  epochs=epochs, device="cpu", progress=False)
    split = compressed.split
    interval_events = max(2, (split.test_stop - split.test_start) // 5)

    best = refine_repeats({"compressed": compressed.model_dir, "default-1": default.model_dir},
                          trace, interval_events, repeats)
    ours, ours_times = best["compressed"]
    base, base_times = best["default-1"]
    ours_total = int(ours_times.sum())
    base_total = int(base_times.sum())
    return {
        "trace": name, "kind": kind, "preset": preset, "events": trace.num_events,
        "test_events": split.test_stop - split.test_start, "interval_events": interval_events,
        "freq": compressed.freq, "vocab_size": compressed.vocab_size,
        "compressed_train_tokens": ours.train_tokens, "default_train_tokens": base.train_tokens,
        "new_tokens": ours.new_tokens,
        "compressed_vocab_after": ours.intervals[-1].vocab_size,
        "default_vocab_after": base.intervals[-1].vocab_size,
        "compression_time_s": int(ours_times[:, 0].sum()) / 1e9,
        "compressed_refinement_time_s": ours_total / 1e9,
        "default_refinement_time_s": base_total / 1e9,
        "compression_share_pct": 100.0 * int(ours_times[:, 0].sum()) / max(ours_total, 1),
        "refinement_speedup": base_total / max(ours_total, 1),
        "compressed_accuracy_pct": 100.0 * ours.event_accuracy,
        "default_accuracy_pct": 100.0 * base.event_accuracy,
        "paper": PAPER.get(name, PAPER[kind]),
        "seconds": time.perf_counter() - started,
    }


def format_table(rows):
    lines = ["| trace | events (test) | L | FREQ | tokens trained: compressed / default | "
             "vocabulary after: compressed / default | compression share (%) | "
             "refinement speedup (×) | Table 5, same kind of trace |",
             "|" + "---|" * 9]
    for r in rows:
        lines.append(f"| {r['trace']} ({r['kind']}) | {r['events']:,} ({r['test_events']:,}) | "
                     f"{r['interval_events']:,} | {r['freq']} | "
                     f"{r['compressed_train_tokens']:,} / {r['default_train_tokens']:,} | "
                     f"{r['compressed_vocab_after']:,} / {r['default_vocab_after']:,} | "
                     f"{r['compression_share_pct']:.2f} | "
                     f"{r['refinement_speedup']:.1f} | {r['paper']} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", default="windows,thunderbird,hdfs,libquantum")
    parser.add_argument("--repeats", type=int, default=3,
                        help="refinement runs per method; times are per-interval minimums")
    parser.add_argument("--epochs", type=int, default=3, help="maximum epochs of each fit")
    parser.add_argument("--preset", default="default",
                        help="model and training preset of the fits and refinements "
                        "(paper: embedding 256, GRU 1,024, batch size 1)")
    parser.add_argument("--json", help="write the results as JSON to this path")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(1)  # steadier timings on a shared machine
    chosen = [name.strip() for name in args.traces.split(",") if name.strip()]
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-refine-") as tmp:
        folder = pathlib.Path(tmp)
        for name, (path, kind, freq) in make_traces(folder, chosen).items():
            rows.append(measure(name, path, kind, freq, args.repeats, args.epochs, args.preset,
                                folder))
            print(f"{name}: done in {rows[-1]['seconds']:.0f} s", file=sys.stderr)
    print(format_table(rows))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(rows, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
