"""``complearn compare``: the whole study, from a program or a trace to a report.

With a TRACE it studies that trace. With ``--program PATH [ARGS...]`` it first
records the program with the Valgrind backend, one trace per kind. With neither,
it records the bundled example program (complearn.example) for both kinds, or
uses the traces shipped with it when Valgrind is unavailable.

Output folder (--out): ``report.md`` over every trace studied, and per trace its
``results.json``, plots, models, prediction files and, when recorded here, the
trace. One trace puts them in --out itself; several put each in --out/KIND/.
"""
import argparse
import os
import pathlib
import sys

from complearn import pipeline
from predictor.errors import PredictorError
from predictor.presets import PRESETS

NAME = "compare"
HELP = ("run the whole study: trace a program (or read a trace), fit default and compressed "
        "models, predict, simulate the cache, and write a report with plots")
DEFAULT_OUT = "out"
DEFAULT_PROGRAM_MAX_EVENTS = 100_000
# The example's memory trace touches about 380 blocks (24 KiB), which a 32 KiB cache
# would hold entirely. In a 4 KiB cache, prefetching matters.
EXAMPLE_CACHE = "4K,4"


def add_arguments(parser):
    parser.add_argument("trace", nargs="?", metavar="TRACE",
                        help="trace file to study (default: trace the bundled example program)")
    parser.add_argument("--program", nargs=argparse.REMAINDER, metavar="PATH [ARGS...]",
                        help="record this program and study its traces; everything after "
                        "--program is the command, so give the other options before it")
    parser.add_argument("--kind", choices=("calls", "mem", "both"), default=None,
                        help="with --program or no TRACE: the traces to record and study "
                        "(default: both)")
    parser.add_argument("--out", default=DEFAULT_OUT, metavar="DIR",
                        help="output folder; it receives the files only when the study has "
                        "finished (default: %(default)s)")
    parser.add_argument("--tolerance", type=float, default=1.0, metavar="PCT",
                        help="FREQ search: accept the most compressing FREQ whose validation "
                        "event accuracy is at most PCT percentage points below default-1's "
                        "(default: %(default)s)")
    parser.add_argument("--preset", choices=sorted(PRESETS), default="default",
                        help="model size and training settings (default: %(default)s)")
    parser.add_argument("--epochs", type=int, metavar="N",
                        help="maximum training epochs per model (default: the preset's)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--device", metavar="D",
                        help="torch device, e.g. cpu or cuda (default: cuda when present)")
    parser.add_argument("--access-interval-ns", type=float,
                        default=pipeline.DEFAULT_ACCESS_INTERVAL_NS, metavar="X",
                        help="memory traces: ns between two accesses, which turns a "
                        "prediction's latency into accesses (default: %(default)s)")
    parser.add_argument("--latency-ns", type=float, metavar="X",
                        help="memory traces: simulate every prediction with this latency in ns "
                        "instead of the measured one (0: ideal); makes hit counts repeatable")
    parser.add_argument("--cache", metavar="SIZE,WAYS[,LINE]",
                        help="memory traces: the simulated cache level, sizes in bytes with "
                        f"K/M suffixes (default: {pipeline.DEFAULT_CACHE}; for the bundled "
                        f"example {EXAMPLE_CACHE}, scaled to its small grid)")
    parser.add_argument("--max-events", type=int, default=DEFAULT_PROGRAM_MAX_EVENTS,
                        metavar="N", help="with --program: keep at most N events per trace "
                        "(default: %(default)s)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def _check_arguments(args):
    if args.trace is not None and args.program is not None:
        raise PredictorError("give either a TRACE or --program, not both")
    if args.program is not None and not args.program:
        raise PredictorError("--program needs the path of the program to trace")
    if args.trace is not None and args.kind is not None:
        raise PredictorError("--kind applies to --program and the bundled example; a TRACE "
                             "is studied as the kind it was recorded as")
    if args.tolerance < 0:
        raise PredictorError(f"--tolerance {args.tolerance} is invalid: give 0 or more "
                             "percentage points")
    if args.epochs is not None and args.epochs < 1:
        raise PredictorError(f"--epochs {args.epochs} is invalid: train at least 1 epoch")
    if args.access_interval_ns <= 0:
        raise PredictorError(f"--access-interval-ns {args.access_interval_ns} is invalid: "
                             "give a positive number of ns")
    if args.latency_ns is not None and args.latency_ns < 0:
        raise PredictorError(f"--latency-ns {args.latency_ns} is invalid: give 0 or more ns")
    if args.max_events < 1:
        raise PredictorError(f"--max-events {args.max_events} is invalid: keep at least 1 event")


def _settings(args) -> pipeline.StudySettings:
    intervals = tuple(sorted(set(pipeline.DEFAULT_INTERVALS_NS) | {args.access_interval_ns}))
    return pipeline.StudySettings(
        preset=args.preset, tolerance_pct=args.tolerance, seed=args.seed, device=args.device,
        epochs=args.epochs, access_interval_ns=args.access_interval_ns,
        latency_ns=args.latency_ns, cache=_cache(args), intervals_ns=intervals,
        progress=not args.quiet)


def _cache(args):
    if args.cache is not None:
        return args.cache
    if args.trace is None and args.program is None:
        return EXAMPLE_CACHE
    return pipeline.DEFAULT_CACHE


def _kinds(args):
    return ("calls", "mem") if args.kind in (None, "both") else (args.kind,)


def _traces(args, stage_dir):
    """Return ({label: trace path}, note or None) for the chosen input."""
    from complearn.example import example_traces
    from tracer.record import record, resolve_program

    if args.trace is not None:
        trace = pipeline.check_trace_length(args.trace)
        return {trace.kind: pathlib.Path(args.trace)}, None

    traces_dir = stage_dir / "traces"
    traces_dir.mkdir()
    if args.program is None:
        return example_traces(_kinds(args), traces_dir, progress=not args.quiet)

    program = pathlib.Path(resolve_program(args.program[0]))
    paths = {}
    for kind in _kinds(args):
        path = traces_dir / f"{program.name}-{kind}.trace"
        record([os.fspath(program), *args.program[1:]], kind, os.fspath(path),
               max_events=args.max_events, progress=not args.quiet)
        paths[kind] = path
    return paths, None


def _study_all(traces, stage_dir, out_dir, settings):
    """Run one study per trace; return the StudyOutputs in the order of ``traces``."""
    outputs = []
    for label, path in traces.items():
        pipeline.check_trace_length(path)
        study_dir = stage_dir if len(traces) == 1 else stage_dir / label
        name = pathlib.Path(path).name.split(".")[0]
        # A trace recorded here moves into --out with the results.
        shown_path = None
        if pathlib.Path(path).is_relative_to(stage_dir):
            shown_path = _final_path(path, stage_dir, out_dir)
        outputs.append(pipeline.run_study(path, study_dir, settings, name=name,
                                          shown_path=shown_path))
    return outputs


def _final_path(path, stage_dir, out_dir):
    return out_dir / pathlib.Path(path).relative_to(stage_dir)


def _print_summary(final, report_path):
    """Print each trace's summary table, then where the report, results and plots are."""
    from complearn.report import summary_text

    for results, _, _ in final:
        print()
        print(summary_text(results), end="")
    print()
    print(f"report: {report_path}")
    for _, results_path, plot_paths in final:
        print(f"results: {results_path}")
        for plot in plot_paths:
            print(f"plot: {plot}")


def run(args) -> int:
    from complearn.commands.fit import set_threads
    from complearn.report import write_report
    from complearn.staging import check_output_dir, staged_output

    from predictor.stepper import resolve_device

    _check_arguments(args)
    resolve_device(args.device)
    settings = _settings(args)
    pipeline.describe_cache(settings.cache)
    out_dir = check_output_dir(args.out)
    set_threads()

    with staged_output(out_dir) as stage_dir:
        traces, note = _traces(args, stage_dir)
        if note is not None:
            print(f"complearn compare: {note}; using the traces shipped in examples/traces/ "
                  "instead", file=sys.stderr)
        outputs = _study_all(traces, stage_dir, out_dir, settings)
        report_path = write_report([output.results for output in outputs],
                                   stage_dir / "report.md", title="complearn compare")
        final = [(output.results, _final_path(output.results_path, stage_dir, out_dir),
                  [_final_path(plot, stage_dir, out_dir) for plot in output.plot_paths])
                 for output in outputs]
        report_path = _final_path(report_path, stage_dir, out_dir)
    _print_summary(final, report_path)
    return 0
