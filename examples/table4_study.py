#!/usr/bin/env python3
"""Reproduce a Table-4-style comparison (default-1, default-k, compressed) over many traces.

The traces stand in for those of Table 4 in Guan et al. (TKDD 2026). Call and memory
traces of the four example programs and of perl are recorded with ``complearn trace``.
Real sequences from the data folder (``--data``) are loaded with ``complearn import``:
LogHub Windows and Thunderbird log keys, DeepLog HDFS sessions and the DPC-2
libquantum memory trace. Each trace is studied with ``complearn compare TRACE --out
DIR``, and ``complearn report DIR*/results.json`` merges the results into one table.

Usage::

    python examples/table4_study.py                       # everything, into runs/table4
    python examples/table4_study.py --only fluid-calls,windows-log --tolerances 0,1
    python examples/table4_study.py --dry-run             # print the commands only
    python examples/table4_study.py --list                # list the traces

Steps whose output exists are skipped, so an interrupted study resumes where it
stopped; ``--force`` redoes them.
"""
import argparse
import dataclasses
import pathlib
import shlex
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parent.parent
PROGRAM_DIR = REPO / "examples" / "programs"
DEFAULT_DATA = REPO.parent / "shared" / "data"

# A small perl workload: hashing, sorting and string work, like the perl of Table 4.
PERL_SCRIPT = ('my %h; for my $i (1..20000) { $h{"k$i"} = $i * 7919 % 10007 } '
               'my @s = sort { $h{$a} <=> $h{$b} or $a cmp $b } keys %h; '
               'my $sum = 0; $sum += length($_) for @s; print scalar(@s), " $sum\\n"')


@dataclasses.dataclass(frozen=True)
class TraceSpec:
    """One row block of the table: how to make its trace file."""

    name: str
    kind: str
    program: tuple = ()  # argv to record with `complearn trace`
    import_args: tuple = ()  # input file and options for `complearn import`

    def make_command(self, trace_path, data_dir, max_events):
        """Build the complearn arguments that write this trace to ``trace_path``."""
        if self.program:
            return ["trace", "--kind", self.kind, "-o", trace_path, "--max-events", max_events,
                    "--", *self.program]
        source, *options = self.import_args
        return ["import", data_dir / source, "-o", trace_path, "--kind", self.kind, *options]

    def input_path(self, data_dir):
        """Return the input file of an imported trace, None for a recorded one."""
        return data_dir / self.import_args[0] if self.import_args else None


def study_traces():
    """List every trace of the study, in table order."""
    specs = []
    for program in ("fluid", "wave", "tree", "molecule"):
        for kind in ("calls", "mem"):
            specs.append(TraceSpec(f"{program}-{kind}", kind, program=(PROGRAM_DIR / "build" / program,)))
    for kind in ("calls", "mem"):
        specs.append(TraceSpec(f"perl-{kind}", kind, program=("perl", "-e", PERL_SCRIPT)))
    specs += [
        TraceSpec("libquantum-mem", "mem",
                  import_args=("dpc2/dpc2_libquantum_blocks64.txt.gz", "--format", "text")),
        TraceSpec("windows-log", "log",
                  import_args=("loghub/Windows/Windows_2k.log_structured.csv", "--format", "csv",
                               "--column", "EventId")),
        TraceSpec("thunderbird-log", "log",
                  import_args=("loghub/Thunderbird/Thunderbird_2k.log_structured.csv", "--format",
                               "csv", "--column", "EventId")),
        TraceSpec("hdfs-log", "log", import_args=("deeplog_hdfs/hdfs_train", "--format", "sessions")),
    ]
    return specs


def complearn_command(args):
    """Build the argv that runs ``complearn`` with the Python running this script."""
    return [sys.executable, "-m", "complearn.cli", *map(str, args)]


class Runner:
    """Runs (or, dry, only prints) commands, skipping those whose output exists."""

    def __init__(self, dry_run, force):
        self.dry_run = dry_run
        self.force = force

    def run(self, argv, output=None):
        if output is not None and pathlib.Path(output).exists() and not self.force:
            print(f"# exists, skipped: {output}")
            return
        print("+ " + shlex.join(str(part) for part in argv), flush=True)
        if self.dry_run:
            return
        status = subprocess.run([str(part) for part in argv]).returncode
        if status != 0:
            sys.exit(f"table4_study: step failed with exit status {status}; fix it and rerun, "
                     "finished steps are skipped")


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(REPO / "runs" / "table4"),
                        help="folder for traces, compare results and the report")
    parser.add_argument("--data", default=str(DEFAULT_DATA),
                        help="folder of the real data sets (loghub/, deeplog_hdfs/, dpc2/)")
    parser.add_argument("--only", help="comma-separated trace names to study (see --list)")
    parser.add_argument("--tolerances", default="1",
                        help="comma-separated accepted accuracy drops in percent; "
                             "Table 4 used 0,1 (default: 1)")
    parser.add_argument("--preset", default="default", help="model preset for complearn compare")
    parser.add_argument("--max-events", type=int, default=200_000,
                        help="events recorded per traced program (default: 200000)")
    parser.add_argument("--dry-run", action="store_true", help="print the commands, run none")
    parser.add_argument("--force", action="store_true", help="redo steps whose output exists")
    parser.add_argument("--list", action="store_true", help="list the trace names and exit")
    return parser.parse_args(argv)


def select_traces(only):
    specs = study_traces()
    if not only:
        return specs
    wanted = [name.strip() for name in only.split(",") if name.strip()]
    known = {spec.name for spec in specs}
    unknown = [name for name in wanted if name not in known]
    if unknown:
        sys.exit(f"table4_study: unknown trace {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return [spec for spec in specs if spec.name in wanted]


def main(argv=None):
    args = parse_args(argv)
    specs = select_traces(args.only)
    if args.list:
        for spec in specs:
            print(f"{spec.name}\t{spec.kind}\t{'recorded' if spec.program else 'imported'}")
        return 0

    out_dir, data_dir = pathlib.Path(args.out), pathlib.Path(args.data)
    trace_dir = out_dir / "traces"
    if not args.dry_run:
        trace_dir.mkdir(parents=True, exist_ok=True)
    runner = Runner(args.dry_run, args.force)
    tolerances = [value.strip() for value in args.tolerances.split(",") if value.strip()]

    # 1. Build the example programs (make skips what is up to date).
    if any(spec.program and spec.program[0].parent == PROGRAM_DIR / "build" for spec in specs):
        runner.run(["make", "-C", PROGRAM_DIR])

    # 2. Make each trace, 3. study it at each tolerance.
    result_files = []
    for spec in specs:
        source = spec.input_path(data_dir)
        if source is not None and not source.exists():
            print(f"# {spec.name}: input {source} not found, trace left out")
            continue
        trace_path = trace_dir / f"{spec.name}.trace"
        runner.run(complearn_command(spec.make_command(trace_path, data_dir, args.max_events)),
                   output=trace_path)
        for tolerance in tolerances:
            study_dir = out_dir / f"{spec.name}-tol{tolerance}"
            runner.run(complearn_command(["compare", trace_path, "--out", study_dir,
                                          "--tolerance", tolerance, "--preset", args.preset]),
                       output=study_dir / "results.json")
            result_files.append(study_dir / "results.json")

    # 4. One table over every study.
    if result_files:
        runner.run(complearn_command(["report", *result_files, "-o", out_dir / "report.md",
                                      "--title", "Table-4-style study"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
