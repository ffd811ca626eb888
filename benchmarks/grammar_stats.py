"""Grammar statistics of the real traces, as ``complearn grammar`` prints them.

Usage: python benchmarks/grammar_stats.py [--freq N]

Prints one Markdown table row per sequence: LogHub Windows and Thunderbird
EventId columns, DeepLog HDFS sessions (one separator between sessions) and
the DPC-2 libquantum block sequence.
"""
import argparse

from complearn.commands.grammar import grammar_statistics
from predictor.lowering import lower
from predictor.sequitur import build_grammar
from real_sequences import hdfs_sessions, libquantum_blocks, loghub_event_ids

SEQUENCES = {
    "LogHub Windows EventId": lambda: loghub_event_ids("Windows"),
    "LogHub Thunderbird EventId": lambda: loghub_event_ids("Thunderbird"),
    "DeepLog HDFS sessions": hdfs_sessions,
    "DPC-2 libquantum blocks": libquantum_blocks,
}
COLUMNS = ["events", "sessions", "rules", "rule0_length", "grammar_size", "kept_nonterminals",
           "lowered_length", "compression_ratio", "token_length_min", "token_length_mean",
           "token_length_max"]
HEADERS = ["sequence", "events", "sessions", "rules", "rule 0 length", "grammar size",
           "kept non-terminals", "lowered length", "ratio (events / lowered)",
           "token length min", "mean", "max"]


def format_value(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}"
    return f"{value:,}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--freq", type=int, default=5, help="lowering threshold FREQ (default 5)")
    args = parser.parse_args()

    print(f"FREQ {args.freq}\n")
    print("| " + " | ".join(HEADERS) + " |")
    print("|" + "---|" * len(HEADERS))
    for name, load in SEQUENCES.items():
        events, starts = load()
        grammar = build_grammar(events, starts)
        stats = grammar_statistics(grammar, lower(grammar, args.freq), len(events))
        print("| " + " | ".join([name] + [format_value(stats[c]) for c in COLUMNS]) + " |")


if __name__ == "__main__":
    main()
