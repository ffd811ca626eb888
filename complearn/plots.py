"""PNG plots of a results dict (see ``complearn.results``), drawn without a display.

Figures are built on matplotlib's Agg canvas directly, so importing this module does not
touch pyplot's global backend. Each plot function writes one PNG atomically (a temporary
file renamed into place) and returns its path. A plot whose section is missing from the
results raises ``ResultsError``.
"""
import pathlib

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

from complearn.results import BASELINE_PREFETCHERS, METHODS, ResultsError
from tracer.atomic import atomic_writer

# One colour per method or prefetcher, the same in every plot.
COLORS = {
    "default-1": "tab:blue",
    "default-k": "tab:orange",
    "compressed": "tab:green",
    "none": "tab:gray",
    "next-line": "tab:purple",
    "stride": "tab:brown",
}
DPI = 120

# The timeline labels its event axis with names only when the stretch has at most this
# many distinct events, because more labels would overlap.
MAX_NAMED_EVENTS = 40
NAME_LABEL_CHARS = 26  # longer names are cut to fit the figure's left margin
INCHES_PER_NAME = 0.16  # height of one labelled event row at font size 7


def _color(name):
    return COLORS.get(name, "black")


def _save(figure, out_path):
    """Render ``figure`` to ``out_path`` as PNG through a temporary file; returns the path."""
    out_path = pathlib.Path(out_path)
    FigureCanvasAgg(figure)
    try:
        with atomic_writer(out_path) as handle:
            figure.savefig(handle, format="png", dpi=DPI)
    except OSError as error:
        raise ResultsError(f"{out_path}: cannot write plot: {error.strerror}") from None
    return out_path


def _section(results, key, hint):
    section = results.get(key)
    if not section:
        raise ResultsError(f"results for {results['trace']['name']} have no '{key}' data; {hint}")
    return section


def _trace_label(results):
    trace = results["trace"]
    return f"{trace['name']} ({trace['kind']})"


# ---------------------------------------------------------------- (a) timeline

def _event_axis(kind, events, names):
    """Return (y values, tick positions, tick labels or None, axis label) for the events.

    Memory traces plot each block's rank among the distinct blocks shown, because
    stack and heap block numbers lie so far apart that each band would be a flat
    line. Other traces plot one row per distinct event, labelled by name, when every
    event has a name and there are at most MAX_NAMED_EVENTS of them, else the event id.
    """
    events = np.asarray(events, dtype=np.int64)
    distinct = np.unique(events)
    ranks = np.searchsorted(distinct, events)
    if kind == "mem":
        return ranks, None, None, "block (rank among distinct blocks)"

    if 0 < len(distinct) <= MAX_NAMED_EVENTS and all(str(e) in names for e in distinct):
        labels = [_shorten(names[str(event)]) for event in distinct]
        return ranks, list(range(len(distinct))), labels, "function" if kind == "calls" else "event"
    return events, None, None, "event id"


def _shorten(name):
    if len(name) <= NAME_LABEL_CHARS:
        return name
    return name[:NAME_LABEL_CHARS - 1] + "…"


def timeline_figure(results, methods=None) -> Figure:
    """Draw the prediction timeline of ``plot_timeline`` and return the Figure.

    ``figure.axes[0]`` shows the events, ``figure.axes[1]`` the methods' model calls.
    """
    timeline = _section(results, "timeline", "run 'complearn compare' to record one")
    start, events = timeline["start"], timeline["events"]
    stop = start + len(events)
    names = methods or [m for m in METHODS if m in timeline["methods"]] + \
        [m for m in timeline["methods"] if m not in METHODS]
    values, ticks, tick_labels, event_label = _event_axis(
        results["trace"]["kind"], events, timeline.get("names") or {})

    upper_height = 3 if ticks is None else max(3, INCHES_PER_NAME * len(ticks))
    lower_height = max(1, 0.6 * len(names))
    figure = Figure(figsize=(10, upper_height + lower_height))
    grid = figure.add_gridspec(2, 1, height_ratios=[upper_height, lower_height], hspace=0.08)
    upper = figure.add_subplot(grid[0])
    lower = figure.add_subplot(grid[1], sharex=upper)

    # 1. The events themselves: one dot per event.
    upper.scatter(range(start, stop), values, s=2, color="black", linewidths=0)
    if ticks is not None:
        upper.set_yticks(ticks, labels=tick_labels, fontsize=7)
    upper.set_ylabel(event_label)
    upper.set_title(f"{_trace_label(results)}: predictions over trace index {start:,}–{stop - 1:,}")
    upper.tick_params(labelbottom=False)

    # 2. One row per method: bars over covered events, ticks at each model call.
    for row, method in enumerate(names):
        marks = timeline["methods"].get(method, {"event_index": [], "length": []})
        points = [index + 1 for index in marks["event_index"]]
        spans = [(point, length) for point, length in zip(points, marks["length"])]
        lower.broken_barh(spans, (row - 0.3, 0.6), facecolors=_color(method), alpha=0.35)
        lower.vlines(points, row - 0.4, row + 0.4, colors=_color(method), linewidth=0.8)
    labels = []
    for method in names:
        calls = len(timeline["methods"].get(method, {"event_index": []})["event_index"])
        labels.append(f"{method} ({calls:,} calls)")
    lower.set_yticks(range(len(names)), labels=labels)
    lower.set_ylim(-0.6, len(names) - 0.4)
    lower.invert_yaxis()
    lower.set_xlim(start - 0.5, stop - 0.5)
    lower.set_xlabel("trace index (events)")
    figure.subplots_adjust(left=0.2, right=0.98, top=0.92, bottom=0.12)
    return figure


def plot_timeline(results, out_path, methods=None):
    """Plot a stretch of the test stream and each method's model calls over it.

    The upper panel shows the events against their trace index (time): function or
    event names when few enough to label, block ranks for memory traces. Below it, one
    row per method has a tick where a model call made a prediction and a bar over the
    events that prediction covered, like Figure 3 of Guan et al. (TKDD 2026): long
    bars and few ticks mean few model calls. ``methods`` picks and orders the rows
    (default: every method in the timeline, in the usual order).
    """
    return _save(timeline_figure(results, methods), out_path)


# ---------------------------------------------------------------- (b) FREQ search

def plot_freq_search(results, out_path):
    """Plot validation event accuracy and speedup against FREQ from the FREQ search.

    FREQ is on a log axis; accuracy (%) is on the left axis, speedup (×) on the right.
    A dotted line marks the FREQ of the compressed run when there is one.
    """
    points = sorted(_section(results, "freq_search", "the run used a fixed FREQ"),
                    key=lambda point: point["freq"])
    freqs = [point["freq"] for point in points]

    figure = Figure(figsize=(7, 4.2))
    accuracy_axis = figure.add_subplot()
    accuracy_axis.plot(freqs, [100 * point["valid_accuracy"] for point in points], marker="o",
                       color=_color("default-1"), label="validation event accuracy")
    accuracy_axis.set_xscale("log")
    accuracy_axis.set_xticks(freqs, labels=[f"{freq:,}" for freq in freqs])
    accuracy_axis.xaxis.set_minor_locator(NullLocator())
    accuracy_axis.set_xlabel("FREQ (minimum rule frequency kept as a token)")
    accuracy_axis.set_ylabel("validation event accuracy (%)", color=_color("default-1"))

    speedup_axis = accuracy_axis.twinx()
    timed = [point for point in points if point["speedup"] is not None]
    speedup_axis.plot([point["freq"] for point in timed], [point["speedup"] for point in timed],
                      marker="s", color=_color("compressed"), label="speedup over default-1")
    speedup_axis.set_ylabel("speedup (×)", color=_color("compressed"))

    chosen = [run["freq"] for run in results["runs"]
              if run["method"] == "compressed" and run["freq"] is not None]
    if chosen:
        accuracy_axis.axvline(chosen[0], color="tab:red", linestyle=":",
                              label=f"chosen FREQ {chosen[0]:,}")
    handles = accuracy_axis.get_legend_handles_labels()
    extra = speedup_axis.get_legend_handles_labels()
    accuracy_axis.legend(handles[0] + extra[0], handles[1] + extra[1], loc="upper center",
                         bbox_to_anchor=(0.5, -0.18), ncol=3, fontsize=8)
    accuracy_axis.set_title(f"{_trace_label(results)}: FREQ search")
    figure.tight_layout()
    return _save(figure, out_path)


# ---------------------------------------------------------------- (c) hit rate

def plot_hit_rate_vs_interval(results, out_path):
    """Plot the cache hit rate against the access interval (ns per access).

    One line per prefetcher: the three prediction runs solid, the non-learned
    prefetchers dashed. A slower access stream gives a prediction more time to arrive,
    so the learned prefetchers' lines rise with the interval. A dotted line marks the
    interval used for the main simulation.
    """
    sweep = _section(results, "hit_rate_vs_interval", "only memory traces are simulated")
    intervals = sweep["intervals_ns"]

    figure = Figure(figsize=(7, 4.2))
    axis = figure.add_subplot()
    order = [name for name in METHODS + BASELINE_PREFETCHERS if name in sweep["hit_rate"]]
    order += [name for name in sweep["hit_rate"] if name not in order]
    for name in order:
        pairs = [(x, y) for x, y in zip(intervals, sweep["hit_rate"][name]) if y is not None]
        style = "--" if name in BASELINE_PREFETCHERS else "-"
        axis.plot([x for x, _ in pairs], [100 * y for _, y in pairs], linestyle=style,
                  marker="o", markersize=3, color=_color(name), label=name)
    if min(intervals) > 0 and max(intervals) / min(intervals) >= 10:
        axis.set_xscale("log")
        axis.set_xticks(intervals, labels=[f"{interval:g}" for interval in intervals])
        axis.xaxis.set_minor_locator(NullLocator())

    simulation = results.get("simulation")
    if simulation:
        axis.axvline(simulation["access_interval_ns"], color="tab:red", linestyle=":",
                     label=f"study interval {simulation['access_interval_ns']:g} ns")
    axis.set_xlabel("access interval (ns per access)")
    axis.set_ylabel("hit rate (%)")
    axis.set_title(f"{_trace_label(results)}: hit rate against access interval")
    axis.legend(loc="best", fontsize=8)
    figure.tight_layout()
    return _save(figure, out_path)


def plot_all(results, out_dir, prefix=""):
    """Write every plot the results have data for into ``out_dir``; returns the paths.

    Files are ``{prefix}timeline.png``, ``{prefix}freq_search.png`` and, for memory
    traces, ``{prefix}hit_rate_vs_interval.png``.
    """
    out_dir = pathlib.Path(out_dir)
    paths = []
    if results.get("timeline"):
        paths.append(plot_timeline(results, out_dir / f"{prefix}timeline.png"))
    if results.get("freq_search"):
        paths.append(plot_freq_search(results, out_dir / f"{prefix}freq_search.png"))
    if results.get("hit_rate_vs_interval"):
        paths.append(plot_hit_rate_vs_interval(results, out_dir / f"{prefix}hit_rate_vs_interval.png"))
    return paths
