"""Tracer slowdown against native runs, next to Valgrind's lackey.

For three real programs with small fixed inputs (perl, gzip, python3) this
measures the wall time of:

- the native run;
- ``valgrind --tool=none`` (the floor any Valgrind tool pays);
- calls only: ``tracer.record.record(kind="calls", images=("all",))``, the
  function behind ``complearn trace``, into a trace file;
- calls + memory: the complearn tool recording both, read the way
  ``complearn trace --kind mem`` reads (shared-memory ring, events packed in
  C, zstd in a background thread) into compressed per-thread spools. A
  whole-run memory trace file takes 9 bytes per event, too big to write for
  each run, so this measures the recording up to the compressed spool;
- ``valgrind --tool=lackey --trace-mem=yes`` on an input ``LACKEY_SCALE``
  times smaller, its output to /dev/null, against the native time of that
  smaller input (lackey would take many minutes on the full input).

Each time is the best of ``--repeat`` runs. Slowdown = tool wall time / native
wall time of the same input. Run from the repository root:

    .venv/bin/python benchmarks/bench_tracer.py [--repeat 3] [--json out.json] [--no-lackey]
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time


from tracer.backends import ToolOptions, get_backend
from tracer.collect import _Window
from tracer.record import _Run, record, resolve_program
from tracer.spool import ThreadSpools
from tracer.tracefile import read_trace

LACKEY_SCALE = 20
PERL_SCRIPT = ("my %h; $h{$_ % 997} += $_ for 1..N; "
               "my @k = sort { $a <=> $b } keys %h; print scalar(@k), qq(\\n);")


def workloads(folder, scale=1):
    """Return {name: argv} for the three programs; ``scale`` divides the input size."""
    text = folder / f"gzip-input-{scale}.txt"
    if not text.exists():
        rng = random.Random(1)
        words = ["".join(rng.choice("abcdefghij") for _ in range(rng.randint(2, 8)))
                 for _ in range(2000)]
        text.write_text(" ".join(rng.choice(words) for _ in range(1200000 // scale)))
    return {
        "perl": ["perl", "-e", PERL_SCRIPT.replace("N", str(4000000 // scale))],
        "gzip": ["gzip", "-c", "-6", str(text)],
        "python3": ["/usr/bin/python3", "-c", f"print(sum(i * i for i in range({10000000 // scale})))"],
    }


def best_wall(run, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return min(times), result


def run_quiet(argv, env=None):
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                   env=env)


def trace_calls(argv, folder):
    # record() in this process: the complearn command would add the import
    # time of every subcommand (torch among them) to each run.
    out = folder / "calls.trace"
    with open(os.devnull, "w") as devnull:
        saved = os.dup(1)
        os.dup2(devnull.fileno(), 1)
        try:
            record(argv, "calls", out, images=("all",), progress=False)
        finally:
            os.dup2(saved, 1)
            os.close(saved)
    events = read_trace(out, verify=False).num_events
    out.unlink()
    return events


class _BothCollector:
    """A ``MemCollector`` that keeps the call events in the packed spool too."""

    kind = "mem"

    def __init__(self, folder):
        self.window = _Window(0, None)
        self.spools = ThreadSpools(folder, has_flags=True, compress=True, packed=True)

    def add_mapping(self, mapping):
        pass

    def add_packed(self, events):
        self.spools.append_packed(events.buffer, events.length, events.num_events, events.tid)

    @property
    def num_events(self):
        return self.spools.num_events


def trace_calls_and_mem(argv, folder):
    """Record calls and memory blocks into zstd spools; return (events, spool bytes)."""
    backend = get_backend("valgrind")
    backend.prepare()
    argv = [resolve_program(argv[0]), *argv[1:]]
    with tempfile.TemporaryDirectory(dir=folder) as spool_dir:
        collector = _BothCollector(spool_dir)
        run = _Run(backend, argv, ToolOptions(calls=True, mem=True), collector, None, False)
        with open(os.devnull, "w") as devnull:
            saved = os.dup(1)
            os.dup2(devnull.fileno(), 1)
            try:
                run.execute()
            finally:
                os.dup2(saved, 1)
                os.close(saved)
                collector.spools.finish()
        size = sum(os.path.getsize(os.path.join(spool_dir, name)) for name in os.listdir(spool_dir))
    if run.returncode != 0:
        raise RuntimeError(f"{argv[0]} under the tool exited with {run.returncode}")
    return collector.num_events, size


def measure(name, argv, small_argv, folder, repeat, lackey=True):
    native, _ = best_wall(lambda: run_quiet(argv), repeat)
    none, _ = best_wall(lambda: run_quiet(["valgrind", "-q", "--tool=none", *argv]), repeat)
    calls, call_events = best_wall(lambda: trace_calls(argv, folder), repeat)
    both, (both_events, spool_bytes) = best_wall(lambda: trace_calls_and_mem(argv, folder), repeat)
    native_small = lackey_small = float("nan")
    if lackey:
        native_small, _ = best_wall(lambda: run_quiet(small_argv), repeat)
        lackey_small, _ = best_wall(lambda: run_quiet(
            ["valgrind", "-q", "--tool=lackey", "--trace-mem=yes", "--log-file=/dev/null",
             *small_argv]), 1)
    return {
        "workload": name,
        "native_s": native,
        "none_x": none / native,
        "calls_x": calls / native,
        "calls_events": call_events,
        "calls_events_per_s": call_events / calls,
        "calls_mem_x": both / native,
        "calls_mem_events": both_events,
        "calls_mem_events_per_s": both_events / both,
        "spool_bytes_per_event": spool_bytes / max(both_events, 1),
        "native_small_s": native_small,
        "lackey_x": lackey_small / native_small,
    }


def markdown(rows):
    lines = ["| workload | native s | none × | calls × | calls ev/s | calls+mem × | "
             "calls+mem ev/s | spool B/ev | lackey × (input /{}) |".format(LACKEY_SCALE),
             "|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(
            f"| {row['workload']} | {row['native_s']:.2f} | {row['none_x']:.1f} | "
            f"{row['calls_x']:.1f} | {row['calls_events_per_s'] / 1e6:.1f} M | "
            f"{row['calls_mem_x']:.1f} | {row['calls_mem_events_per_s'] / 1e6:.1f} M | "
            f"{row['spool_bytes_per_event']:.3f} | {row['lackey_x']:.0f} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (best is kept)")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    parser.add_argument("--only", nargs="+", help="workload names to run")
    parser.add_argument("--no-lackey", action="store_true",
                        help="skip lackey (minutes per workload); its column shows nan")
    args = parser.parse_args()

    import pathlib

    with tempfile.TemporaryDirectory(prefix="bench-tracer-") as tmp:
        folder = pathlib.Path(tmp)
        full, small = workloads(folder), workloads(folder, LACKEY_SCALE)
        rows = []
        for name in args.only or full:
            rows.append(measure(name, full[name], small[name], folder, args.repeat,
                                lackey=not args.no_lackey))
            print(json.dumps(rows[-1]), file=sys.stderr)
    print(markdown(rows))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=2)


if __name__ == "__main__":
    main()
