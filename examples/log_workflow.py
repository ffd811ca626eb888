#!/usr/bin/env python3
"""From raw log lines to a compressed-learning study: the log workflow, step by step.

1. Read a raw LogHub log (by default the Windows 2k sample of the project's data folder).
2. Strip each line's header (date, time, level, host, component). Drain merges
   clusters on the varying timestamp tokens otherwise: on Windows_2k.log, with the
   settings below and drain3 0.9.11, the grouping accuracy against LogHub's EventIds
   is 0.998 with headers stripped and 0.71 with them kept.
3. Mine templates with drain3 (``pip install -e '.[examples]'``), with Drain settings
   (similarity threshold, tree depth, masks) chosen per log format.
4. Write one template id per line (``NAME.keys.txt``) and the id -> template table
   (``NAME.templates.tsv``).
5. ``complearn import NAME.keys.txt -o NAME-log.trace --format text --kind log``.
6. ``complearn compare NAME-log.trace --out OUT/NAME-compare``.

Usage::

    python examples/log_workflow.py                        # Windows_2k.log, the whole workflow
    python examples/log_workflow.py LOG --format Thunderbird --out runs/logs
    python examples/log_workflow.py LOG --mine-only        # stop after step 4
    python examples/log_workflow.py LOG --dry-run          # mine, print steps 5-6
"""
import argparse
import collections
import dataclasses
import pathlib
import re
import shlex
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_LOG = REPO.parent / "shared" / "data" / "loghub" / "Windows" / "Windows_2k.log"


@dataclasses.dataclass(frozen=True)
class LogFormat:
    """How to read one LogHub log: its header layout and the Drain settings for it."""

    header: re.Pattern  # must have a named group "Content"
    masks: tuple  # (regex, mask name) pairs applied before mining
    sim_th: float  # Drain similarity threshold
    depth: int  # Drain parse-tree depth


# Header layouts of the LogHub files. The Drain settings were picked by grouping
# accuracy against LogHub's EventIds on the 2k samples, measured with drain3 0.9.11:
# 0.998 for Windows (52 templates, 50 EventIds), 0.955 for Thunderbird (182, 149).
FORMATS = {
    "Windows": LogFormat(
        header=re.compile(r"^(?P<Date>\S+) (?P<Time>\S+), (?P<Level>\S+)\s+(?P<Component>\S+)\s+"
                          r"(?P<Content>.*)$"),
        masks=((r"0x[0-9a-fA-F]+", "HEX"),),
        sim_th=0.7,
        depth=5,
    ),
    "Thunderbird": LogFormat(
        header=re.compile(r"^(?P<Label>\S+) (?P<Timestamp>\d+) (?P<Date>\S+) (?P<User>\S+) "
                          r"(?P<Month>\S+) +(?P<Day>\d+) (?P<Time>\S+) (?P<Location>\S+) "
                          r"((?P<Component>\S+?)(\[(?P<PID>\d+)\])?: )?(?P<Content>.*)$"),
        masks=((r"(\d+\.){3}\d+", "IP"),),
        sim_th=0.5,
        depth=4,
    ),
}


def guess_format(path):
    """Pick a format from a LogHub file name such as ``Windows_2k.log``; None if unknown."""
    stem = pathlib.Path(path).name.split("_")[0]
    return stem if stem in FORMATS else None


def strip_headers(lines, log_format):
    """Return the message part of each line and the number of lines without a header.

    A line that does not match the header layout is kept whole, so no event is lost.
    """
    contents, unmatched = [], 0
    for line in lines:
        match = log_format.header.match(line)
        if match is None:
            unmatched += 1
            contents.append(line.strip())
        else:
            contents.append(match.group("Content").strip())
    return contents, unmatched


def mine_templates(contents, log_format):
    """Cluster messages with drain3; returns (cluster id per message, {cluster id: template}).

    Templates are read after all messages are mined, because Drain generalizes a
    cluster's template with each message it adds to the cluster.
    """
    try:
        from drain3 import TemplateMiner
        from drain3.masking import MaskingInstruction
        from drain3.template_miner_config import TemplateMinerConfig
    except ImportError:
        sys.exit("log_workflow: drain3 is not installed; run: pip install -e '.[examples]'")

    config = TemplateMinerConfig()
    config.profiling_enabled = False
    config.drain_sim_th = log_format.sim_th
    config.drain_depth = log_format.depth
    config.masking_instructions = [MaskingInstruction(pattern, name)
                                   for pattern, name in log_format.masks]
    miner = TemplateMiner(config=config)

    cluster_ids = [miner.add_log_message(content)["cluster_id"] for content in contents]
    templates = {cluster.cluster_id: cluster.get_template() for cluster in miner.drain.clusters}
    return cluster_ids, templates


def grouping_accuracy(cluster_ids, truth):
    """Return the share of lines whose mined cluster contains exactly their true group.

    This is the grouping accuracy of the LogHub benchmark; ``truth`` is a label per
    line (the EventId column of a ``*_structured.csv`` file).
    """
    by_cluster, by_truth = collections.defaultdict(set), collections.defaultdict(set)
    for line, (cluster, label) in enumerate(zip(cluster_ids, truth)):
        by_cluster[cluster].add(line)
        by_truth[label].add(line)
    exact = sum(1 for cluster, label in zip(cluster_ids, truth) if by_cluster[cluster] == by_truth[label])
    return exact / len(cluster_ids)


def write_keys(cluster_ids, templates, out_dir, name):
    """Write NAME.keys.txt (one ``E<id>`` per line) and NAME.templates.tsv; returns the keys path."""
    keys_path = out_dir / f"{name}.keys.txt"
    keys_path.write_text("".join(f"E{cluster}\n" for cluster in cluster_ids))
    rows = [f"E{cluster}\t{templates[cluster]}\n" for cluster in sorted(templates)]
    (out_dir / f"{name}.templates.tsv").write_text("id\ttemplate\n" + "".join(rows))
    return keys_path


def complearn_command(*args):
    """Build the argv that runs ``complearn`` with the Python running this script."""
    return [sys.executable, "-m", "complearn.cli", *map(str, args)]


def run_steps(commands, dry_run):
    for command in commands:
        print("+ complearn " + shlex.join(command[3:]), flush=True)
        if dry_run:
            continue
        status = subprocess.run(command).returncode
        if status != 0:
            sys.exit(f"log_workflow: 'complearn {command[3]}' failed with exit status {status}")


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("log", nargs="?", default=str(DEFAULT_LOG),
                        help=f"raw LogHub log file (default: {DEFAULT_LOG})")
    parser.add_argument("--format", choices=sorted(FORMATS),
                        help="header layout and Drain settings (default: from the file name)")
    parser.add_argument("--out", default=str(REPO / "runs" / "logs"),
                        help="folder for keys, templates, trace and compare results")
    parser.add_argument("--name", help="name of the trace (default: lower-case format name)")
    parser.add_argument("--tolerance", type=float, default=1.0,
                        help="accepted validation accuracy drop of compressed learning, in percent")
    parser.add_argument("--preset", default="default", help="model preset for complearn compare")
    parser.add_argument("--mine-only", action="store_true", help="stop after writing the keys")
    parser.add_argument("--dry-run", action="store_true",
                        help="mine templates, then print the complearn steps without running them")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    name = args.format or guess_format(args.log)
    if name is None:
        sys.exit(f"log_workflow: cannot tell the format of {args.log}; "
                 f"pass --format ({', '.join(sorted(FORMATS))})")
    log_format = FORMATS[name]
    trace_name = args.name or name.lower()
    out_dir = pathlib.Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)

    # Steps 1-4: read, strip headers, mine, write keys.
    try:
        lines = pathlib.Path(args.log).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as error:
        sys.exit(f"log_workflow: cannot read log {args.log}: {error.strerror}; "
                 "give the path of a raw LogHub log")
    contents, unmatched = strip_headers(lines, log_format)
    cluster_ids, templates = mine_templates(contents, log_format)
    keys_path = write_keys(cluster_ids, templates, out_dir, trace_name)
    print(f"{len(lines):,} lines ({unmatched} without a {name} header) -> "
          f"{len(templates)} templates; keys in {keys_path}")
    if args.mine_only:
        return 0

    # Steps 5-6: import the keys as a log trace and run the study on it.
    trace_path = out_dir / f"{trace_name}-log.trace"
    run_steps([
        complearn_command("import", keys_path, "-o", trace_path, "--format", "text", "--kind", "log"),
        complearn_command("compare", trace_path, "--out", out_dir / f"{trace_name}-compare",
                          "--tolerance", args.tolerance, "--preset", args.preset),
    ], args.dry_run)
    return 0


if __name__ == "__main__":
    sys.exit(main())
