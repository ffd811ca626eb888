"""``complearn info``: describe a trace file, optionally with its first events."""
import argparse
import shlex

from tracer.stats import count_distinct, top_events
from tracer.tracefile import read_trace

NAME = "info"
HELP = "print a trace's kind, event and session counts, source, and optionally its first events"


def add_arguments(parser):
    parser.add_argument("trace", metavar="TRACE", help="trace file to describe")
    parser.add_argument("--head", type=_count, default=0, metavar="N",
                        help="also print the first N events by name, one per line")


def _count(text):
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"invalid count {text!r}: expected an integer >= 0")
    return value


def run(args) -> int:
    trace = read_trace(args.trace)
    for line in format_info(trace):
        print(line)
    if args.head > 0:
        print(f"first {min(args.head, trace.num_events)} events:")
        for line in format_head(trace, args.head):
            print(line)
    return 0


def format_info(trace) -> list:
    """Return the summary lines of a trace: common fields, then the lines for its kind."""
    lines = [
        _field("trace", trace.path),
        _field("kind", trace.kind),
        _field("events", trace.num_events),
        _field("distinct", count_distinct(trace.events)),
        _field("sessions", trace.num_sessions),
        _field("source", _describe_source(trace.meta)),
        _field("created", trace.meta.get("created", "unknown")),
    ]
    lines.extend(_recording_lines(trace.meta))
    extras = KIND_EXTRAS.get(trace.kind)
    if extras is not None:
        lines.extend(extras(trace))
    return lines


def format_head(trace, count) -> list:
    """Return the first ``count`` events, one name (or block number) per line."""
    return [trace.event_name(int(event)) for event in trace.events[:count]]


def _field(label, value):
    return f"{label + ':':<14}{value}"


def _describe_source(meta):
    source = meta.get("source")
    if source is None:
        return "unknown"
    details = [f"format {meta['format']}"] if meta.get("format") else []
    if meta.get("column"):
        details.append(f"column {meta['column']}")
    return f"{source} ({', '.join(details)})" if details else str(source)


# Per-kind extra lines, printed after the common fields. Each function takes a Trace
# and returns lines built with _field. A new kind's details need one function and one
# entry in KIND_EXTRAS.

def _mem_lines(trace):
    lines = [_field("block size", f"{trace.meta.get('block_size', 64)} bytes")]
    if trace.meta.get("format") and trace.meta.get("complete") is False:
        lines.append(_field("complete", "no, the input has no end marker (pinatrace #eof), "
                            "so the traced program may have stopped early"))
    if trace.flags is None or trace.meta.get("stores_known") is False:
        lines.append(_field("loads/stores", "unknown (the source has no load/store bit)"))
        return lines

    stores = int(trace.flags.sum(dtype="int64"))
    lines.append(_field("loads", trace.num_events - stores))
    lines.append(_field("stores", stores))
    return lines


def _log_lines(trace):
    templates = trace.meta.get("templates")
    if templates is None:
        return []

    known = sum(template is not None for template in templates)
    return [_field("templates", f"{known} of {len(trace.names)} event ids")]


def _recording_lines(meta):
    """Format how ``complearn trace`` ran the program, for a trace of any kind it recorded.

    Imported traces have none of these keys, so they get no lines.
    """
    lines = []
    if meta.get("command"):
        lines.append(_field("command", shlex.join(str(part) for part in meta["command"])))
    if "backend" in meta:
        lines.append(_field("backend", meta["backend"]))
    if "program" in meta:
        lines.append(_field("program", f"{meta['program']} ({_describe_end(meta)})"))
    if meta.get("threads"):
        lines.append(_field("threads", " ".join(str(tid) for tid in meta["threads"])))
    if meta.get("seconds") is not None:
        lines.append(_field("run time", f"{meta['seconds']:.3f} s wall clock"))
    return lines


def _calls_lines(trace, top=10):
    lines = []
    counts = top_events(trace.events, top)
    if counts:
        lines.append(f"top functions ({len(counts)} most called):")
        for event, occurrences in counts:
            share = 100.0 * occurrences / trace.num_events
            lines.append(f"  {occurrences:>12}  {share:5.1f}%  {trace.event_name(event)}")
    return lines


def _describe_end(meta):
    """Return how a recorded program ended: exit status or signal, and completeness."""
    if meta.get("signal"):
        ended = f"killed by {meta['signal']}"
    elif meta.get("exit_status") is not None:
        ended = f"exit status {meta['exit_status']}"
    else:
        ended = "exit status unknown"
    if meta.get("stopped"):
        ended += f", stopped: {meta['stopped']}"
    return ended + (", complete" if meta.get("complete") else ", incomplete")


KIND_EXTRAS = {
    "calls": _calls_lines,
    "log": _log_lines,
    "mem": _mem_lines,
}
