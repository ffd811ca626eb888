"""``complearn trace``: record a call or memory trace of a program."""
import argparse
import os
import sys

from tracer.record import record
from tracer.tracefile import read_trace

NAME = "trace"
HELP = "record the calls or 64-byte memory blocks of a program into a trace file"


def add_arguments(parser):
    parser.add_argument("--kind", choices=("calls", "mem"), default="calls",
                        help="calls: callee function ids; mem: 64-byte block numbers with a "
                        "load/store flag (default: calls)")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.trace",
                        help="trace file to write")
    parser.add_argument("--backend", choices=("valgrind", "pin"), default="valgrind",
                        help="instrumentation framework (default: valgrind; pin needs PIN_ROOT)")
    parser.add_argument("--start-at", default="main", metavar="SYMBOL",
                        help="start recording when this function first runs; 'none' = from "
                        "the first instruction (default: main)")
    parser.add_argument("--skip-events", type=int, default=0, metavar="N",
                        help="drop the first N events after the start (default: 0)")
    parser.add_argument("--max-events", type=int, default=None, metavar="N",
                        help="keep at most N events, then stop the program (default: no limit)")
    parser.add_argument("--images", nargs="+", default=["main"], metavar="IMAGE",
                        help="call traces: keep calls into 'main' (the program), 'all', or "
                        "the named files, e.g. libc (default: main)")
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    parser.add_argument("program", nargs=argparse.REMAINDER, metavar="-- PROGRAM [ARGS...]",
                        help="the command to trace, after '--'")


def run(args):
    program = args.program[1:] if args.program[:1] == ["--"] else args.program
    path = record(program, args.kind, args.output, backend=args.backend,
                  start_at=args.start_at, skip_events=args.skip_events,
                  max_events=args.max_events, images=args.images, progress=not args.quiet)
    trace = read_trace(path, verify=False)
    meta = trace.meta
    if meta.get("signal"):
        ended = f"killed by {meta['signal']}"
    else:
        ended = f"exit status {meta.get('exit_status')}"
    if meta.get("stopped"):
        ended += f", stopped: {meta['stopped']}"
    summary = f"{path}: {trace.num_events} {trace.kind} events in {trace.num_sessions} session(s)"
    if trace.kind == "calls":
        summary += f", {len(trace.names)} functions"
    print(f"{summary}; program {ended}", file=sys.stderr)
    if trace.kind == "calls" and trace.num_events == 0 and "all" not in args.images:
        print(_no_calls_hint(meta, args.images), file=sys.stderr)
    return 130 if meta.get("stopped") == "interrupted" else 0


def _no_calls_hint(meta, images):
    """Say which images were mapped when an image filter kept no call at all."""
    mapped = sorted({os.path.basename(entry[0]) for entry in meta.get("mappings", [])
                     if not os.path.basename(entry[0]).startswith(("complearn-", "vgpreload_"))})
    return (f"note: no call matched --images {' '.join(images)}; the program mapped "
            f"{', '.join(mapped) or 'no file'} (Debian's perl, for one, has the interpreter "
            "in the perl binary itself, not in libperl)")
