"""The results file of a compare run (``results.json``): schema, builders, load and save.

One results file describes one trace studied once. Its top level is a JSON object::

    schema_version        SCHEMA_VERSION
    trace                 name, path, kind, events, sessions, checksum, source
    settings              preset, tolerance_pct, seed, access_interval_ns, device,
                          versions {complearn, torch, numpy, python}
    freq_search           list of {freq, valid_accuracy, avg_prediction_length, speedup}
    runs                  list of RUN_KEYS dicts, one per method
                          (default-1, default-k, compressed)
    simulation            null, or {access_interval_ns, cache, rows: list of SIM_KEYS dicts}
                          with one row per prefetcher (none, next-line, stride,
                          default-1, default-k, compressed)
    hit_rate_vs_interval  null, or {intervals_ns: [...], hit_rate: {prefetcher: [...]}}
    timeline              null, or {start, events: [...],
                          methods: {method: {event_index: [...], length: [...]}},
                          names: {event id as text: name}}. names maps each event of
                          the stretch that has a name (memory traces have none);
                          files written by older versions lack it

Units: accuracies, rates, shares and overheads are fractions in [0, 1], which the report
shows as percentages. Latencies and intervals are in nanoseconds. ``tolerance_pct`` is
the accepted drop of validation event accuracy against default-1, in percentage points.
``mpki`` is misses per 1000 accesses, because a block trace has no instruction count.
A figure that is undefined (accuracy of a prefetcher that issued nothing) is null.
``simulation`` and ``hit_rate_vs_interval`` are null for traces other than ``mem``.

Readers accept unknown extra keys, so later versions may add keys without a version
bump; removing or renaming one needs a new ``SCHEMA_VERSION``.
"""
import json
import math
import os
import pathlib
import platform
from importlib import metadata

import numpy as np

from complearn import __version__
from predictor.errors import PredictorError
from tracer.atomic import atomic_writer

SCHEMA_VERSION = 1

METHODS = ("default-1", "default-k", "compressed")
BASELINE_PREFETCHERS = ("none", "next-line", "stride")
PREFETCHERS = BASELINE_PREFETCHERS + METHODS

TRACE_KEYS = ("name", "path", "kind", "events", "sessions", "checksum", "source")
SETTINGS_KEYS = ("preset", "tolerance_pct", "seed", "access_interval_ns", "device", "versions")
VERSION_KEYS = ("complearn", "torch", "numpy", "python")
FREQ_KEYS = ("freq", "valid_accuracy", "avg_prediction_length", "speedup")
RUN_KEYS = ("method", "freq", "k", "events", "predictions", "model_inputs", "rollbacks",
            "avg_prediction_length", "tokenization_overhead", "avg_latency_ns", "speedup",
            "event_accuracy")
SIM_KEYS = ("prefetcher", "accesses", "hits", "misses", "hit_rate", "mpki", "issued", "useful",
            "late", "useless", "accuracy", "coverage", "late_share")
TOP_KEYS = ("schema_version", "trace", "settings", "freq_search", "runs", "simulation",
            "hit_rate_vs_interval", "timeline")

# Default stretch of the test stream kept for the prediction timeline plot, in events.
TIMELINE_EVENTS = 3000


class ResultsError(PredictorError):
    """A results file is missing, unreadable, of another schema version or lacks a key.

    Results come out of the predictor's evaluation, so this is a ``PredictorError``
    and the command line prints it as one line.
    """


# ---------------------------------------------------------------- builders

def _ratio(numerator, denominator):
    """Return numerator / denominator as a float, or None when the denominator is 0."""
    if not denominator:
        return None
    return float(numerator) / float(denominator)


def _package_version(name):
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def trace_section(trace, name=None):
    """Describe a trace read by ``tracer.tracefile.read_trace``.

    ``name`` labels the trace in reports (default: the file name without suffix).
    ``source`` is the command or input file the trace came from, as its metadata has it.
    """
    path = os.fspath(trace.path)
    source = trace.meta.get("source", trace.meta.get("command", ""))
    if isinstance(source, (list, tuple)):
        source = " ".join(str(part) for part in source)
    return {
        "name": name or pathlib.Path(path).stem,
        "path": path,
        "kind": trace.kind,
        "events": int(trace.num_events),
        "sessions": int(trace.num_sessions),
        "checksum": trace.checksum,
        "source": str(source),
    }


def settings_section(preset, tolerance_pct, seed, device, access_interval_ns=None):
    """Record the study's settings and the versions of the software that ran it."""
    return {
        "preset": str(preset),
        "tolerance_pct": float(tolerance_pct),
        "seed": int(seed),
        "access_interval_ns": None if access_interval_ns is None else float(access_interval_ns),
        "device": str(device),
        "versions": {
            "complearn": __version__,
            "torch": _package_version("torch"),
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
    }


def freq_point(freq, valid_accuracy, avg_prediction_length, speedup):
    """Record one step of the FREQ search: a candidate FREQ and how it did on validation."""
    return {
        "freq": int(freq),
        "valid_accuracy": float(valid_accuracy),
        "avg_prediction_length": float(avg_prediction_length),
        "speedup": None if speedup is None else float(speedup),
    }


def run_rows(run_results):
    """Turn online-run results into ``runs`` rows, with speedups against default-1.

    ``run_results`` contains objects with the attributes of ``predictor.online.RunResult``
    (method, freq, k, events, predictions, model_inputs, rollbacks,
    avg_prediction_length, tokenization_overhead, avg_latency_ns, event_accuracy).
    Speedup is default-1's latency per event over the run's; it is null when no
    default-1 run is given or a latency is 0.
    """
    baseline = next((run for run in run_results if run.method == "default-1"), None)
    rows = []
    for run in run_results:
        speedup = None
        if baseline is not None:
            speedup = _ratio(baseline.avg_latency_ns, run.avg_latency_ns)
        rows.append({
            "method": run.method,
            "freq": None if run.freq is None else int(run.freq),
            "k": None if run.k is None else int(run.k),
            "events": int(run.events),
            "predictions": int(run.predictions),
            "model_inputs": int(run.model_inputs),
            "rollbacks": int(run.rollbacks),
            "avg_prediction_length": float(run.avg_prediction_length),
            "tokenization_overhead": float(run.tokenization_overhead),
            "avg_latency_ns": float(run.avg_latency_ns),
            "speedup": speedup,
            "event_accuracy": float(run.event_accuracy),
        })
    return rows


def simulation_row(prefetcher, *, accesses, hits, misses, issued, useful, late, useless):
    """Build the ``simulation`` row of one simulator run, computing its ratios.

    hit_rate = hits / accesses; mpki = 1000 * misses / accesses;
    accuracy = useful / issued; coverage = useful / (useful + misses), where misses
    counts demand misses; late_share = late / issued. A ratio over 0 is null.
    """
    return {
        "prefetcher": str(prefetcher),
        "accesses": int(accesses),
        "hits": int(hits),
        "misses": int(misses),
        "hit_rate": _ratio(hits, accesses),
        "mpki": _ratio(1000 * misses, accesses),
        "issued": int(issued),
        "useful": int(useful),
        "late": int(late),
        "useless": int(useless),
        "accuracy": _ratio(useful, issued),
        "coverage": _ratio(useful, useful + misses),
        "late_share": _ratio(late, issued),
    }


def simulation_section(rows, access_interval_ns, cache):
    """Group simulation rows with the access interval and a cache description."""
    return {"access_interval_ns": float(access_interval_ns), "cache": str(cache), "rows": list(rows)}


def hit_rate_vs_interval_section(intervals_ns, hit_rate):
    """Build the hit-rate sweep: hit rate per prefetcher at each access interval.

    ``hit_rate`` maps a prefetcher name to a list with one hit rate per interval.
    Raises ResultsError when a list has another length than ``intervals_ns``.
    """
    intervals = [float(value) for value in intervals_ns]
    series = {}
    for prefetcher, values in hit_rate.items():
        values = [None if value is None else float(value) for value in values]
        if len(values) != len(intervals):
            raise ResultsError(f"hit rate series {prefetcher!r} has {len(values)} values "
                               f"for {len(intervals)} access intervals")
        series[prefetcher] = values
    return {"intervals_ns": intervals, "hit_rate": series}


def timeline_section(events, predictions, start, length=TIMELINE_EVENTS, names=()):
    """Cut a stretch of the test stream and the predictions made inside it.

    ``events`` is the whole trace's event array (indexed by trace index), ``start``
    the trace index where the stretch begins, ``length`` its size in events.
    ``predictions`` maps a method to a dict with the ``event_index`` and ``offsets``
    arrays of ``predictor.predfile.read_predictions``. A prediction belongs to the
    stretch when the event it follows is inside it or is the event just before it.
    ``names`` is the trace's id -> name list; the stretch keeps the names of its events.
    """
    stop = min(int(start) + int(length), len(events))
    stretch = np.asarray(events[start:stop])
    section = {"start": int(start),
               "events": [int(value) for value in stretch],
               "methods": {},
               "names": {str(int(event)): names[event] for event in np.unique(stretch)
                         if event < len(names)}}
    for method, record in predictions.items():
        event_index = np.asarray(record["event_index"], dtype=np.int64)
        lengths = np.diff(np.asarray(record["offsets"], dtype=np.int64))
        inside = (event_index >= start - 1) & (event_index < stop - 1)
        section["methods"][method] = {
            "event_index": [int(value) for value in event_index[inside]],
            "length": [int(value) for value in lengths[inside]],
        }
    return section


def new_results(trace, settings, freq_search, runs, simulation=None, hit_rate_vs_interval=None,
                timeline=None):
    """Assemble the sections into a results dict and validate it."""
    results = {
        "schema_version": SCHEMA_VERSION,
        "trace": trace,
        "settings": settings,
        "freq_search": list(freq_search),
        "runs": list(runs),
        "simulation": simulation,
        "hit_rate_vs_interval": hit_rate_vs_interval,
        "timeline": timeline,
    }
    validate(results)
    return results


# ---------------------------------------------------------------- validation

def _require(mapping, keys, where, source):
    if not isinstance(mapping, dict):
        raise ResultsError(f"{source}: {where} is {type(mapping).__name__}, expected an object")
    for key in keys:
        if key not in mapping:
            raise ResultsError(f"{source}: missing key '{where}.{key}'; "
                               "rewrite the file with 'complearn compare'")


def _require_list(value, where, source):
    if not isinstance(value, list):
        raise ResultsError(f"{source}: {where} is {type(value).__name__}, expected a list")


def _validate_runs(results, source):
    _require_list(results["runs"], "runs", source)
    for index, row in enumerate(results["freq_search"]):
        _require(row, FREQ_KEYS, f"freq_search[{index}]", source)
    for index, row in enumerate(results["runs"]):
        _require(row, RUN_KEYS, f"runs[{index}]", source)
        if row["method"] not in METHODS:
            raise ResultsError(f"{source}: runs[{index}].method is {row['method']!r}, "
                               f"expected one of {', '.join(METHODS)}")


def _validate_simulation(results, source):
    simulation = results["simulation"]
    if simulation is not None:
        _require(simulation, ("access_interval_ns", "cache", "rows"), "simulation", source)
        _require_list(simulation["rows"], "simulation.rows", source)
        for index, row in enumerate(simulation["rows"]):
            _require(row, SIM_KEYS, f"simulation.rows[{index}]", source)

    sweep = results["hit_rate_vs_interval"]
    if sweep is not None:
        _require(sweep, ("intervals_ns", "hit_rate"), "hit_rate_vs_interval", source)
        _require(sweep["hit_rate"], (), "hit_rate_vs_interval.hit_rate", source)
        for prefetcher, values in sweep["hit_rate"].items():
            if len(values) != len(sweep["intervals_ns"]):
                raise ResultsError(f"{source}: hit_rate_vs_interval.hit_rate.{prefetcher} has "
                                   f"{len(values)} values for {len(sweep['intervals_ns'])} intervals")


def _validate_timeline(results, source):
    timeline = results["timeline"]
    if timeline is None:
        return
    _require(timeline, ("start", "events", "methods"), "timeline", source)
    _require(timeline["methods"], (), "timeline.methods", source)
    if "names" in timeline:
        _require(timeline["names"], (), "timeline.names", source)
    for method, marks in timeline["methods"].items():
        _require(marks, ("event_index", "length"), f"timeline.methods.{method}", source)
        if len(marks["event_index"]) != len(marks["length"]):
            raise ResultsError(f"{source}: timeline.methods.{method} has "
                               f"{len(marks['event_index'])} prediction points but "
                               f"{len(marks['length'])} lengths")


def validate(results, source="results"):
    """Check that a results dict has every key of this schema version.

    Raises ResultsError naming ``source`` (a file name in messages) and the first
    missing key, as a dotted path such as ``runs[1].speedup``.
    """
    if not isinstance(results, dict):
        raise ResultsError(f"{source}: top level is {type(results).__name__}, expected an object")
    if "schema_version" not in results:
        raise ResultsError(f"{source}: missing key 'schema_version'; not a complearn results file")
    version = results["schema_version"]
    if version != SCHEMA_VERSION:
        raise ResultsError(f"{source}: results schema version {version}, this build reads "
                           f"version {SCHEMA_VERSION}: rerun 'complearn compare' or upgrade")
    for key in TOP_KEYS:
        if key not in results:
            raise ResultsError(f"{source}: missing key '{key}'; "
                               "rewrite the file with 'complearn compare'")

    _require(results["trace"], TRACE_KEYS, "trace", source)
    _require(results["settings"], SETTINGS_KEYS, "settings", source)
    _require(results["settings"]["versions"], VERSION_KEYS, "settings.versions", source)
    _require_list(results["freq_search"], "freq_search", source)
    _validate_runs(results, source)
    _validate_simulation(results, source)
    _validate_timeline(results, source)


# ---------------------------------------------------------------- files

def write_atomic(path, data):
    """Write text or bytes to ``path`` through a temporary file renamed into place."""
    path = pathlib.Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_writer(path) as handle:
        handle.write(payload)
    return path


def _reject_nan(results):
    """Raise ResultsError on NaN or infinity, which strict JSON cannot hold."""
    stack = [("", results)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            raise ResultsError(f"results value {where or 'top level'} is {value}; "
                               "store an undefined figure as None")
        if isinstance(value, dict):
            stack.extend((f"{where}.{key}" if where else str(key), item) for key, item in value.items())
        elif isinstance(value, list):
            stack.extend((f"{where}[{index}]", item) for index, item in enumerate(value))


def save_results(results, path):
    """Validate ``results`` and write it as indented JSON, atomically; returns the path."""
    validate(results, source=os.fspath(path))
    _reject_nan(results)
    try:
        text = json.dumps(results, indent=2, allow_nan=False) + "\n"
    except TypeError as error:
        raise ResultsError(f"{path}: results hold a value JSON cannot store ({error}); "
                           "convert numpy values with int() or float()") from None
    try:
        return write_atomic(path, text)
    except OSError as error:
        raise ResultsError(f"{path}: cannot write results: {error.strerror}") from None


def load_results(path):
    """Read and validate a results file; a folder means the ``results.json`` inside it."""
    path = pathlib.Path(path)
    if path.is_dir():
        path = path / "results.json"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ResultsError(f"{path}: results file not found") from None
    except OSError as error:
        raise ResultsError(f"{path}: cannot read results file: {error.strerror}") from None
    try:
        results = json.loads(text)
    except json.JSONDecodeError as error:
        raise ResultsError(f"{path}: not valid JSON at line {error.lineno}: {error.msg}") from None
    validate(results, source=str(path))
    return results
