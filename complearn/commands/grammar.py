"""``complearn grammar``: the Sequitur grammar of a trace and its lowering at FREQ.

Prints the statistics researchers report for grammar-based compression: events,
rules, length of rule 0, grammar size, kept non-terminals, lowered length,
compression ratio (events per lowered symbol) and the length in events of the
kept non-terminal tokens. ``--print rules`` and ``--print lowered`` print the
grammar or the lowered sequence instead: terminals by event name (hex block
numbers for memory traces), non-terminals by rule number after ``--rule-prefix``.
Without ``--rule-prefix``, rule numbers print bare unless an event name of the trace is
a number too. Then they print after ``R``, and a one-line note on stderr names the prefix.
Sessions of the trace are kept apart by separators, printed as ``|``.
"""
import json
import re
import sys

import numpy as np

from predictor.lowering import check_freq, lower
from predictor.sequitur import SEPARATOR, build_grammar, format_symbol
from tracer.tracefile import read_trace

NAME = "grammar"
HELP = "build the Sequitur grammar of a trace and print its statistics at a FREQ"
DEFAULT_FREQ = 2
AUTO_RULE_PREFIX = "R"


def add_arguments(parser):
    parser.add_argument("trace", metavar="TRACE", help="trace file")
    parser.add_argument("--freq", type=int, default=DEFAULT_FREQ, metavar="N",
                        help="keep non-terminals occurring at least N times in the lowered "
                             f"sequence (default {DEFAULT_FREQ})")
    parser.add_argument("--print", dest="show", choices=("rules", "lowered"),
                        help="print the rules ('N -> symbols', one per line) or the lowered "
                             "sequence (one line) instead of the statistics")
    parser.add_argument("--rule-prefix", metavar="TEXT",
                        help="text before rule numbers in --print output; '' prints them bare "
                             f"(default: none, or {AUTO_RULE_PREFIX} when an event name is a "
                             "number too)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def grammar_statistics(grammar, lowered, num_events: int) -> dict:
    """Return the statistics of a grammar and its lowering, in printing order.

    Lengths leave session separators out. Token lengths are in events, over the
    kept non-terminals (None when FREQ keeps none).
    """
    symbols = grammar.symbols
    rule0 = grammar.rule(0)
    lowered_length = int(np.count_nonzero(lowered.sequence != SEPARATOR))
    kept = sorted(lowered.counts)
    token_lengths = grammar.lengths[kept] if kept else np.zeros(0, dtype=np.int64)
    return {
        "events": int(num_events),
        "sessions": int(np.count_nonzero(rule0 == SEPARATOR)) + (1 if num_events else 0),
        "rules": int(grammar.num_rules),
        "rule0_length": int(np.count_nonzero(rule0 != SEPARATOR)),
        "grammar_size": int(np.count_nonzero(symbols != SEPARATOR)),
        "freq": int(lowered.freq),
        "kept_nonterminals": len(kept),
        "lowered_length": lowered_length,
        "compression_ratio": num_events / lowered_length if lowered_length else None,
        "token_length_min": int(token_lengths.min()) if kept else None,
        "token_length_mean": float(token_lengths.mean()) if kept else None,
        "token_length_max": int(token_lengths.max()) if kept else None,
    }


LABELS = {
    "events": "events",
    "sessions": "sessions",
    "rules": "rules",
    "rule0_length": "rule 0 length",
    "grammar_size": "grammar size (symbols)",
    "freq": "FREQ",
    "kept_nonterminals": "kept non-terminals",
    "lowered_length": "lowered length",
    "compression_ratio": "compression ratio (events / lowered length)",
    "token_length_min": "token length min (events)",
    "token_length_mean": "token length mean (events)",
    "token_length_max": "token length max (events)",
}


def format_statistics(stats: dict) -> list:
    """Return a two-column table, labels left and values right-aligned."""
    values = {}
    for key, value in stats.items():
        if value is None:
            values[key] = "-"
        elif isinstance(value, float):
            values[key] = f"{value:.2f}"
        else:
            values[key] = str(value)
    label_width = max(len(LABELS[key]) for key in stats)
    value_width = max(len(text) for text in values.values())
    return [f"{LABELS[key]:<{label_width}}  {values[key]:>{value_width}}" for key in stats]


def terminal_namer(trace):
    """Return the function printing a terminal: its event name, or the block
    number in hex for memory traces."""
    if trace.kind == "mem":
        return lambda event: hex(event)
    return trace.event_name


def find_rule_lookalike(names, rule_prefix):
    """Return the first of ``names`` that reads as a rule reference after ``rule_prefix``.

    A rule reference is ``rule_prefix`` followed by decimal digits. Returns None
    when no name matches.
    """
    lookalike = re.compile(re.escape(rule_prefix) + "[0-9]+")
    return next((name for name in names if lookalike.fullmatch(name)), None)


def choose_rule_prefix(names):
    """Return (prefix, clashing event name), or ("", None) when no name is a bare number.

    The prefix is AUTO_RULE_PREFIX, repeated until no event name reads as a rule
    reference after it.
    """
    clash = find_rule_lookalike(names, "")
    if clash is None:
        return "", None

    prefix = AUTO_RULE_PREFIX
    while find_rule_lookalike(names, prefix) is not None:
        prefix += AUTO_RULE_PREFIX
    return prefix, clash


def format_output(args, grammar, lowered, trace, rule_prefix="") -> str:
    """Return the text to print: rules, the lowered sequence or the statistics."""
    name = terminal_namer(trace)
    if args.show == "rules":
        lines = grammar.format_rules(name, rule_prefix)
        return json.dumps({"rules": lines}, indent=2) if args.json else "\n".join(lines)
    if args.show == "lowered":
        line = " ".join(format_symbol(int(v), name, rule_prefix) for v in lowered.sequence)
        return json.dumps({"lowered": line}) if args.json else line

    stats = grammar_statistics(grammar, lowered, trace.num_events)
    return json.dumps(stats, indent=2) if args.json else "\n".join(format_statistics(stats))


def run(args) -> int:
    freq = check_freq(args.freq)
    trace = read_trace(args.trace)
    grammar = build_grammar(np.asarray(trace.events), trace.session_starts)
    lowered = lower(grammar, freq)
    rule_prefix = resolve_rule_prefix(args, trace)
    print(format_output(args, grammar, lowered, trace, rule_prefix))
    return 0


def resolve_rule_prefix(args, trace) -> str:
    """Return --rule-prefix, or choose one and print a note on stderr when it is not given."""
    if args.rule_prefix is not None:
        return args.rule_prefix
    if args.show is None:
        return ""

    # Every event of the trace counts, printed or not, because a reader who sees a
    # bare number cannot tell which events the output contains.
    name = terminal_namer(trace)
    names = [name(int(event)) for event in np.unique(trace.events)]
    rule_prefix, clash = choose_rule_prefix(names)
    if clash is not None:
        print(f"complearn grammar: event name {clash!r} reads as a rule number, so rules "
              f"print as {rule_prefix}0, {rule_prefix}1, ...; set --rule-prefix to choose "
              "the prefix", file=sys.stderr)
    return rule_prefix
