"""``complearn report``: merge results files of compare runs into one Markdown table."""
import pathlib
import sys

from complearn.plots import plot_all
from complearn.report import render_markdown, summary_text, write_report
from complearn.results import ResultsError, load_results

NAME = "report"
HELP = "merge results.json files of compare runs into one Table-4-style Markdown report"


def add_arguments(parser):
    parser.add_argument("results", nargs="+", metavar="RESULTS",
                        help="results.json files of 'complearn compare', or folders containing one; "
                             "each becomes one block of rows, in the order given")
    parser.add_argument("-o", "--out", metavar="OUT.md",
                        help="write the Markdown report here and print a summary per trace "
                             "(default: print the Markdown to standard output)")
    parser.add_argument("--title", default="complearn report", help="heading of the report")
    parser.add_argument("--plots", metavar="DIR",
                        help="also draw each results file's plots into DIR as "
                             "NAME-timeline.png, NAME-freq_search.png and, for memory traces, "
                             "NAME-hit_rate_vs_interval.png; a repeated trace name gets "
                             "NAME-2-, NAME-3-, ...")


def run(args):
    results_list = [load_results(path) for path in args.results]

    if args.plots:
        plot_dir = pathlib.Path(args.plots)
        if plot_dir.exists() and not plot_dir.is_dir():
            raise ResultsError(f"{plot_dir}: is a file, not a folder; give a folder for --plots")
        try:
            plot_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ResultsError(f"{plot_dir}: cannot create the plot folder ({error.strerror})") from None
        for results, prefix in zip(results_list, _plot_prefixes(results_list)):
            for path in plot_all(results, plot_dir, prefix=prefix):
                print(f"plot written to {path}", file=sys.stderr)

    if not args.out:
        sys.stdout.write(render_markdown(results_list, title=args.title))
        return 0

    out = pathlib.Path(args.out)
    if not out.parent.is_dir():
        raise ResultsError(f"{out}: folder {out.parent} not found; create it or choose another --out")
    for results in results_list:
        print(summary_text(results))
    write_report(results_list, out, title=args.title)
    print(f"report written to {out}")
    return 0


def _plot_prefixes(results_list):
    """Return one file name prefix per results dict: the trace name, numbered on repeats.

    Studies of one trace at several tolerances share a trace name, and their plots
    would otherwise overwrite each other. The second gets NAME-2-, the third NAME-3-.
    """
    prefixes, seen = [], {}
    for results in results_list:
        name = results["trace"]["name"]
        seen[name] = seen.get(name, 0) + 1
        prefixes.append(f"{name}-" if seen[name] == 1 else f"{name}-{seen[name]}-")
    return prefixes
