"""Online evaluation of fitted models: default-1, default-k and compressed runs.

``evaluate`` runs each requested method over a trace's test stream with the online
engine and returns the engine's RunResults; ``summary_rows`` turns them into the
columns of Guan et al.'s Table 4 (TKDD 2026), with the speedup of each run against
the default-1 run of the same call.
"""
import logging
import os

import numpy as np
import torch

from predictor.checkpoint import events_digest, load_model, names_digest
from predictor.errors import CheckpointError, PredictorError
from predictor.splits import part_sessions
from predictor.stepper import resolve_device

log = logging.getLogger(__name__)

METHODS = ("default-1", "default-k", "compressed")
MODEL_METHOD = {"default-1": "default", "default-k": "default", "compressed": "compressed"}


def make_stepper(model, vocab, device):
    """Return a GRUStepper whose rollback ring covers the longest token."""
    from predictor.stepper import GRUStepper

    stepper = GRUStepper(model.to(device), device, max(1, vocab.max_token_length()))
    # One throw-away step first, so one-time costs (lazy allocation, CUDA graph
    # capture) do not land in the timed run's first prediction.
    stepper.feed(np.ones(1, dtype=np.int64) if vocab.size > 1 else np.zeros(1, dtype=np.int64))
    stepper.reset()
    return stepper


def run_method(method, events, vocab, model, device, *, session_starts=None, trace_offset=0,
               k=None, record=False, progress=False):
    """Run one online method over ``events`` and return its RunResult.

    On the CPU the run uses one torch thread: a single GRU step is too small to
    share, and on the 2-core sandbox, under load from other jobs, two threads
    made default-1 5 to 30 times slower (650 to 4,000 µs per event against 130).
    """
    from predictor import online

    if method not in METHODS:
        raise PredictorError(f"unknown method {method!r}: choose from {', '.join(METHODS)}")
    threads = torch.get_num_threads()
    if torch.device(device).type == "cpu":
        torch.set_num_threads(1)
    try:
        stepper = make_stepper(model, vocab, device)
        options = dict(session_starts=session_starts, trace_offset=trace_offset,
                       record=record, progress=progress)
        if method == "default-1":
            return online.run_default1(events, vocab, stepper, **options)
        if method == "default-k":
            return online.run_defaultk(events, vocab, stepper, k, **options)
        return online.run_compressed(events, vocab, stepper, **options)
    finally:
        torch.set_num_threads(threads)


def parse_methods(text) -> list:
    """Parse a comma-separated method list; raises PredictorError for unknown names."""
    methods = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in methods if name not in METHODS]
    if unknown or not methods:
        raise PredictorError(f"unknown method {', '.join(unknown) or '(none)'}: choose from "
                             f"{', '.join(METHODS)}")
    repeated = sorted({name for name in methods if methods.count(name) > 1})
    if repeated:
        raise PredictorError(f"method {', '.join(repeated)} is listed twice in --methods: "
                             "list each method once")
    return methods


def _models_by_method(model_dirs) -> dict:
    models = {}
    for model_dir in model_dirs:
        loaded = load_model(model_dir)
        if loaded.method in models:
            raise PredictorError(f"{model_dir} and {models[loaded.method].model_dir} are both "
                                 f"fitted with --method {loaded.method}: pass one of each")
        models[loaded.method] = loaded
    return models


def check_trace(loaded, trace):
    """Raise CheckpointError when ``trace`` uses other event ids than the model's trace."""
    fitted = loaded.info.get("trace", {})
    if fitted.get("kind") != trace.kind:
        raise CheckpointError(
            f"model {loaded.model_dir} was fitted on a {fitted.get('kind')} trace but "
            f"{trace.path} is a {trace.kind} trace: fit a model on a {trace.kind} trace")
    if trace.kind != "mem" and fitted.get("names_sha256") not in (None, names_digest(trace.names)):
        raise CheckpointError(
            f"{trace.path} names its events differently from the trace model "
            f"{loaded.model_dir} was fitted on, so event ids do not match: import both with "
            "the same templates or refit")


def stream_range(loaded, trace) -> tuple:
    """Return the test stream [start, stop) of ``trace`` for a fitted model.

    The model's own trace keeps its split's test stream, and so does a trace with
    the same events (a re-import of the same file has another checksum, because
    the metadata differ). Any other trace is a test stream as a whole.
    """
    fitted = loaded.info.get("trace", {})
    if fitted.get("checksum") == trace.checksum:
        return loaded.split.test_range
    if fitted.get("events") == trace.num_events and \
            fitted.get("events_sha256") == events_digest(trace.events):
        return loaded.split.test_range
    log.warning("%s is not the trace model %s was fitted on, so all its %d events are the "
                "test stream", trace.path, loaded.model_dir, trace.num_events)
    return (0, trace.num_events)


def evaluate(model_dirs, trace, methods=METHODS, k=None, device=None, predictions_dir=None,
             progress=True) -> list:
    """Run ``methods`` online over the trace's test stream; return RunResults in that order.

    default-1 and default-k use the model fitted with --method default, compressed
    the one fitted with --method compressed. ``k`` defaults to the compressed run's
    average prediction length, rounded. With ``predictions_dir`` each run's
    predictions go to ``<predictions_dir>/<method>.npz`` (predictor.predfile).
    Raises PredictorError (CheckpointError for model problems) with one line.
    """
    from predictor.online import k_from
    from tracer.tracefile import read_trace

    if isinstance(trace, (str, os.PathLike)):
        trace = read_trace(trace)
    methods = list(methods)
    device = resolve_device(device)
    models = _models_by_method(model_dirs)

    # 1. Every method needs its model, and all models need one test stream.
    ranges = {}
    for method in methods:
        needed = MODEL_METHOD[method]
        if needed not in models:
            raise PredictorError(f"method {method} needs a model fitted with --method {needed}; "
                                 f"none of {', '.join(map(str, model_dirs))} is one")
        check_trace(models[needed], trace)
        ranges[method] = stream_range(models[needed], trace)
    if len(set(ranges.values())) > 1:
        raise PredictorError(f"the models split {trace.path} differently ({ranges}): fit them "
                             "with the same --train-events, --test-events and --interval")
    start, stop = next(iter(ranges.values()))
    if stop <= start:
        raise PredictorError(f"the test stream of {trace.path} is empty (events {start} to "
                             f"{stop}): fit with fewer --train-events or more --test-events")
    events = np.asarray(trace.events[start:stop], dtype=np.int64)
    sessions = part_sessions(trace.session_starts, start, stop)
    if "default-k" in methods and k is None and "compressed" not in methods:
        raise PredictorError("default-k needs --k, or the compressed method in --methods to "
                             "take k from its average prediction length")

    # 2. default-1 first (the speedup reference), compressed before default-k (k).
    order = sorted(methods, key=lambda name: METHODS.index(name) if name != "compressed" else 0.5)
    results = {}
    for method in order:
        loaded = models[MODEL_METHOD[method]]
        run_k = None
        if method == "default-k":
            run_k = k if k is not None else k_from(results["compressed"])
        if progress:
            log.info("running %s on %d events", method, len(events))
        result = run_method(method, events, loaded.vocab, loaded.model, device,
                            session_starts=sessions, trace_offset=start, k=run_k,
                            record=predictions_dir is not None, progress=progress)
        results[method] = result
        if predictions_dir is not None:
            _write_predictions(predictions_dir, method, result, trace, start, stop, loaded)
    return [results[method] for method in methods]


def _write_predictions(folder, method, result, trace, start, stop, loaded):
    from predictor.predfile import write_predictions

    os.makedirs(folder, exist_ok=True)
    meta = {"method": method, "trace_checksum": trace.checksum, "trace_events": trace.num_events,
            "stream_start": start, "stream_stop": stop, "trace_path": str(trace.path),
            "model_dir": loaded.model_dir, "freq": loaded.freq, "k": result.k}
    write_predictions(os.path.join(folder, f"{method}.npz"), result.event_index, result.offsets,
                      result.predicted, result.latency_ns, meta)


def summary_rows(results) -> list:
    """Return one dict per RunResult with the Table 4 figures.

    Keys: method, freq, k, events, predictions, model_inputs, rollbacks,
    avg_prediction_length, tokenization_overhead_pct, avg_latency_us,
    speedup (default-1's avg latency / this run's; None without a default-1 run),
    event_accuracy_pct, and ``run`` (RunResult.to_dict()).
    """
    reference = next((r for r in results if r.method == "default-1"), None)
    rows = []
    for result in results:
        speedup = None
        if reference is not None and result.avg_latency_ns > 0:
            speedup = reference.avg_latency_ns / result.avg_latency_ns
        rows.append({
            "method": result.method, "freq": result.freq, "k": result.k,
            "events": result.events, "predictions": result.predictions,
            "model_inputs": result.model_inputs, "rollbacks": result.rollbacks,
            "avg_prediction_length": result.avg_prediction_length,
            "tokenization_overhead_pct": 100.0 * result.tokenization_overhead,
            "avg_latency_us": result.avg_latency_ns / 1000.0,
            "speedup": speedup,
            "event_accuracy_pct": 100.0 * result.event_accuracy,
            "run": result.to_dict(),
        })
    return rows


def format_table(rows) -> str:
    """Format summary rows as a Markdown table with units in the header."""
    header = ("| method | FREQ | avg pred length | #predictions | #rollbacks | "
              "tokenization overhead (%) | avg latency (µs/event) | speedup (×) | "
              "event accuracy (%) |")
    lines = [header, "|" + "---|" * 9]
    for row in rows:
        freq = "-" if row["freq"] is None else str(row["freq"])
        speedup = "-" if row["speedup"] is None else f"{row['speedup']:.2f}"
        lines.append(f"| {row['method']} | {freq} | {row['avg_prediction_length']:.2f} | "
                     f"{row['predictions']:,} | {row['rollbacks']:,} | "
                     f"{row['tokenization_overhead_pct']:.3f} | {row['avg_latency_us']:.2f} | "
                     f"{speedup} | {row['event_accuracy_pct']:.2f} |")
    return "\n".join(lines)
