"""The study behind ``complearn compare``: one trace from fitting to results.json and plots.

``run_study(trace_path, study_dir, settings)`` runs these steps and writes into
``study_dir``:

1. fit a default model and a compressed model with the FREQ search at
   ``settings.tolerance_pct`` (``predictor.fitting.fit``)
   -> ``models/default``, ``models/compressed``;
2. predict the test stream online with default-1, default-k and compressed
   (``predictor.evaluation.evaluate``) -> ``predictions/<method>.npz``;
3. for memory traces, simulate the test stream with no prefetching, next-line,
   stride and the three prediction files at ``settings.access_interval_ns``, and
   the prediction runs again at each of ``settings.intervals_ns``
   (``sim.run.simulate``);
4. assemble the results (``complearn.results``) -> ``results.json`` and draw the
   plots (``complearn.plots``) -> ``timeline.png``, ``freq_search.png`` and, for
   memory traces, ``hit_rate_vs_interval.png``.

Every simulation counts the accesses of the test stream only; the training part
before it warms the caches. Fixed-latency prefetchers (next-line, stride) fetch
with no delay. A prediction's prefetches arrive after the model latency measured
for it, converted to accesses at the access interval, unless
``settings.latency_ns`` replaces that latency (then the simulated hit counts do
not depend on timing and a rerun reproduces them exactly).
"""
import dataclasses
import logging
import os
import pathlib
import shutil
import sys
from typing import Optional

from complearn import plots, results as schema
from predictor.errors import PredictorError

log = logging.getLogger(__name__)

DEFAULT_CACHE = "32K,8"  # one level: 32 KiB, 8 ways, 64-byte lines
DEFAULT_ACCESS_INTERVAL_NS = 100.0
# Access intervals of the hit-rate plot, in ns per access: from a core's L1
# access rate up to a slow stream, one point per decade.
DEFAULT_INTERVALS_NS = (1.0, 10.0, 100.0, 1000.0, 10000.0, 100000.0)


@dataclasses.dataclass
class StudySettings:
    """Settings of one study; the fields are the ``complearn compare`` options."""

    preset: str = "default"
    tolerance_pct: float = 1.0  # accepted validation accuracy drop against default-1, points
    seed: int = 0
    device: Optional[str] = None  # None: CUDA when present, else CPU
    epochs: Optional[int] = None  # None: the preset's maximum
    access_interval_ns: float = DEFAULT_ACCESS_INTERVAL_NS
    latency_ns: Optional[float] = None  # replaces measured prediction latency when set
    cache: str = DEFAULT_CACHE
    intervals_ns: tuple = DEFAULT_INTERVALS_NS
    timeline_events: int = schema.TIMELINE_EVENTS
    progress: bool = True


@dataclasses.dataclass
class StudyOutput:
    """Output of ``run_study``: the results dict and the paths of the files it wrote."""

    results: dict
    study_dir: pathlib.Path
    results_path: pathlib.Path
    plot_paths: list


# ---------------------------------------------------------------- 1. fit

def fit_models(trace, models_dir, split, settings):
    """Fit the default and the compressed model; return their FitResults.

    The compressed fit's FREQ search trains a default model as its default-1
    baseline. That model is the same as the default fit's (same trace, split,
    preset and seed), so its finished training state is handed over and the
    search does not train it again.
    """
    from predictor.fitting import fit

    models_dir = pathlib.Path(models_dir)
    options = dict(preset=settings.preset, epochs=settings.epochs, device=settings.device,
                   seed=settings.seed, split=split, progress=settings.progress)
    default = fit(trace, models_dir / "default", method="default", **options)

    # NOTE: the state file name follows predictor.fitting's work folder layout. If that
    # layout changes, the search trains the default model a second time.
    state = models_dir / "default" / "work" / "default.pt"
    if state.is_file():
        (models_dir / "compressed" / "work").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(state, models_dir / "compressed" / "work" / "default.pt")
    compressed = fit(trace, models_dir / "compressed", method="compressed",
                     tolerance=settings.tolerance_pct, **options)

    # The training states (one per FREQ tried) are only needed to resume a fit.
    for fitted in (default, compressed):
        shutil.rmtree(pathlib.Path(fitted.model_dir) / "work", ignore_errors=True)
    return default, compressed


def freq_search_points(compressed_fit) -> list:
    """Return the FREQ search as ``freq_search`` rows of the results schema, by FREQ."""
    search = compressed_fit.freq_search or {"tried": []}
    points = [schema.freq_point(trial["freq"], trial["event_accuracy_pct"] / 100.0,
                                trial["avg_prediction_length"], _finite(trial["speedup"]))
              for trial in search["tried"] if trial["freq"] is not None]
    return sorted(points, key=lambda point: point["freq"])


def _finite(value):
    if value is None or value != value or value in (float("inf"), float("-inf")):
        return None
    return float(value)


# ---------------------------------------------------------------- 2. evaluate

def evaluate_models(trace, fits, predictions_dir, settings) -> list:
    """Run default-1, default-k and compressed over the test stream; return their RunResults.

    Each run's predictions go to ``predictions_dir/<method>.npz``.
    """
    from predictor.evaluation import evaluate

    model_dirs = [fitted.model_dir for fitted in fits]
    return evaluate(model_dirs, trace, schema.METHODS, device=settings.device,
                    predictions_dir=os.fspath(predictions_dir), progress=settings.progress)


# ---------------------------------------------------------------- 3. simulate

def _simulation_row(name, result):
    level = result.levels[0]
    prefetch = result.prefetch
    counts = dict(issued=0, useful=0, late=0, useless=0)
    if prefetch is not None:
        counts = dict(issued=prefetch.issued, useful=prefetch.useful, late=prefetch.late,
                      useless=prefetch.useless)
    return schema.simulation_row(name, accesses=level.accesses, hits=level.hits,
                                 misses=level.misses, **counts)


def _simulate(trace, split, settings, prefetcher, predictions=None, access_interval_ns=None):
    from sim.run import simulate

    interval = settings.access_interval_ns if access_interval_ns is None else access_interval_ns
    return simulate(trace, caches=[settings.cache], prefetcher=prefetcher,
                    predictions=None if predictions is None else os.fspath(predictions),
                    access_interval_ns=interval,
                    latency_ns=settings.latency_ns if predictions is not None else None,
                    seed=settings.seed, start=split.test_start, stop=split.test_stop,
                    baseline=False)


def simulate_prefetchers(trace, split, predictions_dir, settings):
    """Simulate the test stream with every prefetcher; return (simulation, sweep) sections.

    ``simulation`` has one row per prefetcher at ``settings.access_interval_ns``.
    ``sweep`` is the hit rate of each prefetcher at each of ``settings.intervals_ns``.
    The fixed-latency prefetchers give the same hit rate at every interval.
    """
    from tqdm import tqdm

    predictions_dir = pathlib.Path(predictions_dir)
    runs = [(name, name, None) for name in schema.BASELINE_PREFETCHERS]
    runs += [(method, "predictions", predictions_dir / f"{method}.npz")
             for method in schema.METHODS]
    total = len(runs) + len(schema.METHODS) * len(settings.intervals_ns)
    bar = tqdm(total=total, desc="simulate", unit="run", disable=not settings.progress,
               leave=False)

    rows, sweep = [], {}
    for name, prefetcher, path in runs:
        rows.append(_simulation_row(name, _simulate(trace, split, settings, prefetcher, path)))
        bar.update()
    for (name, prefetcher, path), row in zip(runs, rows):
        if path is None:
            sweep[name] = [row["hit_rate"]] * len(settings.intervals_ns)
            continue
        sweep[name] = []
        for interval in settings.intervals_ns:
            result = _simulate(trace, split, settings, prefetcher, path, interval)
            sweep[name].append(result.levels[0].hit_rate)
            bar.update()
    bar.close()

    simulation = schema.simulation_section(rows, settings.access_interval_ns,
                                           describe_cache(settings.cache))
    return simulation, schema.hit_rate_vs_interval_section(settings.intervals_ns, sweep)


def describe_cache(cache) -> str:
    """Describe a ``SIZE,WAYS[,LINE]`` cache level in words; raises ConfigError when invalid."""
    from sim.config import parse_levels

    level = parse_levels([cache])[0]
    return (f"one level, {level.size_bytes // 1024} KiB, {level.ways} ways, "
            f"{level.line_bytes}-byte lines, LRU")


# ---------------------------------------------------------------- 4. results and plots

def timeline(trace, split, predictions_dir, settings):
    """Return the ``timeline`` section: the start of the test stream and each method's predictions."""
    from predictor.predfile import read_predictions

    records = {method: read_predictions(os.fspath(pathlib.Path(predictions_dir) / f"{method}.npz"))
               for method in schema.METHODS}
    return schema.timeline_section(trace.events, records, split.test_start,
                                   settings.timeline_events, names=trace.names)


def build_results(trace, name, settings, device, compressed_fit, runs, simulated, timeline_data,
                  shown_path=None):
    """Assemble and validate the results dict of one study."""
    simulation, sweep = simulated if simulated is not None else (None, None)
    access_interval = settings.access_interval_ns if trace.kind == "mem" else None
    trace_info = schema.trace_section(trace, name)
    if shown_path is not None:
        trace_info["path"] = os.fspath(shown_path)
    return schema.new_results(
        trace=trace_info,
        settings=schema.settings_section(settings.preset, settings.tolerance_pct, settings.seed,
                                         device, access_interval),
        freq_search=freq_search_points(compressed_fit),
        runs=schema.run_rows(runs),
        simulation=simulation,
        hit_rate_vs_interval=sweep,
        timeline=timeline_data,
    )


def write_outputs(results, study_dir):
    """Write ``results.json`` and the plots into ``study_dir``; return (results path, plots)."""
    study_dir = pathlib.Path(study_dir)
    results_path = schema.save_results(results, study_dir / "results.json")
    return results_path, plots.plot_all(results, study_dir)


# ---------------------------------------------------------------- the whole study

def run_study(trace_path, study_dir, settings: StudySettings, name=None,
              shown_path=None) -> StudyOutput:
    """Run the study of one trace into ``study_dir``; see the module docstring.

    ``name`` labels the trace in the report (default: its file name).
    ``shown_path`` replaces the trace path stored in the results, because a
    trace recorded into a staging folder moves later (default: ``trace_path``).

    Raises PredictorError (or TraceError, SimError) with one line when a step fails.
    """
    from predictor.splits import make_split
    from predictor.stepper import resolve_device
    from tracer.tracefile import read_trace

    study_dir = pathlib.Path(study_dir)
    study_dir.mkdir(parents=True, exist_ok=True)
    trace = read_trace(os.fspath(trace_path))
    split = make_split(trace.num_events)
    device = resolve_device(settings.device)
    if trace.kind == "mem" and trace.num_sessions > 1:
        log.info("%s: %d sessions are simulated one after another through the same cache",
                 trace.path, trace.num_sessions)

    if settings.progress:
        # Label the training and FREQ-search lines that follow, since a study may hold several traces.
        label = name or pathlib.Path(trace.path).name
        print(f"== {label}: {trace.kind} trace, {trace.num_events:,} events ==", file=sys.stderr)
    default_fit, compressed_fit = fit_models(trace, study_dir / "models", split, settings)
    predictions_dir = study_dir / "predictions"
    runs = evaluate_models(trace, (default_fit, compressed_fit), predictions_dir, settings)
    simulated = None
    if trace.kind == "mem":
        simulated = simulate_prefetchers(trace, split, predictions_dir, settings)
    timeline_data = timeline(trace, split, predictions_dir, settings)

    results = build_results(trace, name, settings, device, compressed_fit, runs, simulated,
                            timeline_data, shown_path)
    results_path, plot_paths = write_outputs(results, study_dir)
    return StudyOutput(results=results, study_dir=study_dir, results_path=results_path,
                       plot_paths=list(plot_paths))


def check_trace_length(trace_path):
    """Raise PredictorError when a trace is too short for the train, validation and test split."""
    from predictor.splits import make_split
    from tracer.tracefile import read_trace

    trace = read_trace(os.fspath(trace_path))
    try:
        make_split(trace.num_events)
    except PredictorError as error:
        raise PredictorError(f"{trace_path}: {error}") from None
    return trace
