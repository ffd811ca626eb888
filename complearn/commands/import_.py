"""``complearn import``: turn a log, key list or memory-access file into a trace."""
from tracer.importers import IMPORTERS, import_file
from tracer.tracefile import KINDS

NAME = "import"
HELP = "convert a text, CSV, session, lackey or pinatrace file into a complearn trace"


def add_arguments(parser):
    parser.add_argument("input", metavar="FILE", help="file to import (plain or gzip)")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.trace",
                        help="trace file to write (its folder must exist)")
    parser.add_argument("--format", required=True, choices=sorted(IMPORTERS),
                        help="input format: text (one event per line), csv (one column, "
                        "e.g. LogHub *_structured.csv), sessions (one session of "
                        "space-separated keys per line), lackey (valgrind --tool=lackey "
                        "--trace-mem=yes output), pinatrace (Pin pinatrace output)")
    parser.add_argument("--column", metavar="NAME",
                        help="CSV column holding the events (default: EventId)")
    parser.add_argument("--kind", choices=KINDS,
                        help="trace kind (default: events for text, log for csv and sessions, "
                        "mem for lackey and pinatrace); with mem, text values are 64-byte "
                        "block numbers, decimal or 0x-hex")
    parser.add_argument("--address", action="store_true",
                        help="with --kind mem: the values are byte addresses, stored as "
                        "address >> 6 (64-byte blocks)")


def run(args) -> int:
    result = import_file(args.input, args.output, args.format, kind=args.kind,
                         column=args.column, address_values=args.address)
    sessions = "session" if result.num_sessions == 1 else "sessions"
    article = "an" if result.kind == "events" else "a"
    print(f"imported {result.num_events} events ({result.num_distinct} distinct) in "
          f"{result.num_sessions} {sessions} to {result.out_path} as {article} {result.kind} trace")
    return 0
