"""Render results dicts (see ``complearn.results``) as a Markdown report or a terminal summary.

The main table follows Table 4 of Guan et al. (TKDD 2026): one block of rows per trace,
one row per prediction method, with the simulator's columns added for memory traces.
Every figure printed is the value of a key of the results dict. At most it is converted
to another unit (fractions to percent, nanoseconds to microseconds).
"""
import pathlib

from complearn.results import BASELINE_PREFETCHERS, ResultsError, write_atomic

MISSING = "–"

# (header, section, key, formatter name): section "run" reads the runs row,
# "sim" the simulation row of the same prefetcher.
PREDICTION_COLUMNS = (
    ("Method", "run", "method", "text"),
    ("FREQ", "run", "freq", "int"),
    ("Avg pred length", "run", "avg_prediction_length", "length"),
    ("#Predictions", "run", "predictions", "int"),
    ("#Rollbacks", "run", "rollbacks", "int"),
    ("Tokenization overhead (%)", "run", "tokenization_overhead", "small_pct"),
    ("Avg latency (µs/event)", "run", "avg_latency_ns", "us"),
    ("Speedup (×)", "run", "speedup", "speedup"),
    ("Event accuracy (%)", "run", "event_accuracy", "pct"),
)
SIMULATION_COLUMNS = (
    ("Hit rate (%)", "sim", "hit_rate", "pct"),
    ("Misses / 1000 acc", "sim", "mpki", "float2"),
    ("Prefetch accuracy (%)", "sim", "accuracy", "pct1"),
    ("Coverage (%)", "sim", "coverage", "pct1"),
    ("Late share (%)", "sim", "late_share", "pct1"),
)

DEFINITIONS = (
    "Avg pred length: events covered by predictions / predictions.",
    "Tokenization overhead: tokenizer time / total prediction time.",
    "Avg latency: model time plus tokenizer, matching and rollback time, per event of the test stream.",
    "Speedup: default-1's avg latency / the row's avg latency.",
    "Event accuracy: correctly predicted events / events of the test stream.",
    "Hit rate: demand hits / accesses. Misses / 1000 acc: demand misses per 1000 accesses "
    "(not MPKI: a block trace has no instruction count).",
    "Prefetch accuracy: useful / issued prefetches. Coverage: useful / (useful + demand misses). "
    "Late share: late / issued prefetches.",
)


# ---------------------------------------------------------------- number formats

def _format_value(value, style):
    """Format one figure; None (undefined) becomes a dash."""
    if value is None:
        return MISSING
    if style == "text":
        return str(value)
    if style == "int":
        return f"{int(value):,}"
    if style == "length":
        return f"{value:,.1f}"
    if style == "pct":
        return f"{100 * value:.2f}"
    if style == "pct1":
        return f"{100 * value:.1f}"
    if style == "small_pct":
        return _significant(100 * value)
    if style == "us":
        return _significant(value / 1000)
    if style == "speedup":
        return f"{value:,.1f}"
    if style == "float2":
        return f"{value:,.2f}"
    raise ValueError(f"unknown format style {style!r}")


def _significant(value):
    """Three decimals for ordinary values, three significant digits for small ones."""
    if value == 0 or abs(value) >= 0.01:
        return f"{value:,.3f}"
    return f"{value:.3g}"


def _escape(text):
    return str(text).replace("|", "\\|")


# ---------------------------------------------------------------- table rows

def is_memory_study(results):
    """Return True when the results carry simulator rows (memory traces)."""
    return results["simulation"] is not None and bool(results["simulation"]["rows"])


def _simulation_by_prefetcher(results):
    if not is_memory_study(results):
        return {}
    return {row["prefetcher"]: row for row in results["simulation"]["rows"]}


def _block_rows(results):
    """Yield (run row or None, simulation row or None) pairs for one trace.

    Prediction runs come first in their stored order, each with the simulation row
    of the same name; the non-learned prefetchers follow with no run row.
    """
    simulation = _simulation_by_prefetcher(results)
    for run in results["runs"]:
        yield run, simulation.get(run["method"])
    for prefetcher in BASELINE_PREFETCHERS:
        if prefetcher in simulation:
            yield None, simulation[prefetcher]
    known = {run["method"] for run in results["runs"]} | set(BASELINE_PREFETCHERS)
    for prefetcher, row in simulation.items():
        if prefetcher not in known:
            yield None, row


def _cells(run, sim, columns):
    cells = []
    for _, section, key, style in columns:
        row = run if section == "run" else sim
        if row is None and key == "method" and sim is not None:
            cells.append(f"{sim['prefetcher']} (no model)")
        elif row is None:
            cells.append(MISSING)
        else:
            cells.append(_format_value(row[key], style))
    return cells


def markdown_table(results_list):
    """Return the Table-4-style Markdown table over one or more results dicts.

    The simulator columns appear when at least one of the results is a memory study;
    rows without simulator figures show a dash there.
    """
    with_simulation = any(is_memory_study(results) for results in results_list)
    columns = PREDICTION_COLUMNS + (SIMULATION_COLUMNS if with_simulation else ())
    headers = ["Trace", "Tolerance (%)"] + [column[0] for column in columns]
    lines = ["| " + " | ".join(headers) + " |",
             "|" + "|".join(["---", "---:"] + ["---" if column[3] == "text" else "---:"
                                               for column in columns]) + "|"]
    for results in results_list:
        first = True
        for run, sim in _block_rows(results):
            lead = ["", ""]
            if first:
                lead = [_escape(results["trace"]["name"]),
                        f"{results['settings']['tolerance_pct']:g}"]
                first = False
            cells = lead + [_escape(cell) for cell in _cells(run, sim, columns)]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- sections

def _trace_lines(results):
    trace, settings = results["trace"], results["settings"]
    versions = ", ".join(f"{name} {version}" for name, version in settings["versions"].items())
    session_word = "session" if trace["sessions"] == 1 else "sessions"
    lines = [
        f"- **{_escape(trace['name'])}**: {trace['kind']} trace, {trace['events']:,} events, "
        f"{trace['sessions']:,} {session_word}, from `{trace['source'] or trace['path']}`; "
        f"SHA-256 `{trace['checksum'][:16]}…`",
        f"  - settings: preset {settings['preset']}, tolerance {_points(settings['tolerance_pct'])}, "
        f"seed {settings['seed']}, device {settings['device']}; {versions}",
    ]
    if is_memory_study(results):
        simulation = results["simulation"]
        lines.append(f"  - cache: {simulation['cache']}; access interval "
                     f"{simulation['access_interval_ns']:g} ns")
    return lines


def freq_search_table(results):
    """Return the FREQ search of one results dict as a Markdown table, or '' when empty."""
    if not results["freq_search"]:
        return ""
    lines = ["| FREQ | Validation accuracy (%) | Avg pred length | Speedup (×) |",
             "|---:|---:|---:|---:|"]
    for point in results["freq_search"]:
        lines.append(f"| {_format_value(point['freq'], 'int')} "
                     f"| {_format_value(point['valid_accuracy'], 'pct')} "
                     f"| {_format_value(point['avg_prediction_length'], 'length')} "
                     f"| {_format_value(point['speedup'], 'speedup')} |")
    return "\n".join(lines) + "\n"


def render_markdown(results_list, title="complearn report"):
    """Return a whole Markdown report: the main table, definitions, traces and FREQ searches."""
    parts = [f"# {title}\n", markdown_table(results_list), "Definitions:\n"]
    parts.append("\n".join(f"- {line}" for line in DEFINITIONS) + "\n")
    parts.append("## Traces and settings\n")
    for results in results_list:
        parts.append("\n".join(_trace_lines(results)) + "\n")
    for results in results_list:
        table = freq_search_table(results)
        if table:
            parts.append(f"## FREQ search: {_escape(results['trace']['name'])}\n")
            parts.append(table)
    return "\n".join(parts)


def write_report(results_list, path, title="complearn report"):
    """Write ``render_markdown`` to ``path`` atomically; returns the path.

    Raises ResultsError when the file cannot be written.
    """
    text = render_markdown(results_list, title=title)
    try:
        return write_atomic(pathlib.Path(path), text)
    except OSError as error:
        raise ResultsError(f"{path}: cannot write report: {error.strerror}") from None


# ---------------------------------------------------------------- terminal

def _text_table(headers, rows):
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]
    lines = []
    for row in [headers] + rows:
        cells = [str(cell).ljust(width) if index == 0 else str(cell).rjust(width)
                 for index, (cell, width) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
    return lines


def summary_text(results):
    """Return a plain-text summary of one results dict for the terminal."""
    trace = results["trace"]
    lines = [f"{trace['name']}: {trace['kind']} trace, {trace['events']:,} events, "
             f"tolerance {_points(results['settings']['tolerance_pct'])}"]
    headers = ["method", "FREQ", "pred length", "predictions", "rollbacks",
               "µs/event", "speedup", "accuracy %"]
    rows = [[run["method"], _format_value(run["freq"], "int"),
             _format_value(run["avg_prediction_length"], "length"),
             _format_value(run["predictions"], "int"), _format_value(run["rollbacks"], "int"),
             _format_value(run["avg_latency_ns"], "us"),
             _format_value(run["speedup"], "speedup") + ("×" if run["speedup"] is not None else ""),
             _format_value(run["event_accuracy"], "pct")]
            for run in results["runs"]]
    lines += _text_table(headers, rows)

    if is_memory_study(results):
        headers = ["prefetcher", "hit rate %", "misses/1000 acc", "accuracy %", "coverage %", "late %"]
        rows = [[row["prefetcher"], _format_value(row["hit_rate"], "pct"),
                 _format_value(row["mpki"], "float2"), _format_value(row["accuracy"], "pct1"),
                 _format_value(row["coverage"], "pct1"), _format_value(row["late_share"], "pct1")]
                for row in results["simulation"]["rows"]]
        lines.append("")
        lines += _text_table(headers, rows)
    return "\n".join(lines) + "\n"


def _points(value) -> str:
    """Format an accuracy tolerance in percentage points, singular for exactly 1."""
    return f"{value:g} percentage point" + ("" if value == 1 else "s")
