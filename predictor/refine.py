"""Online refinement: retrain the model after every interval of L test events.

Guan et al. (TKDD 2026, Algorithm 1 lines 19-27 and section 3.3.3) refine the model
while it predicts. Once the online engine has predicted an interval of L events,
the model trains for one epoch on that interval. The stream then goes on with the
updated model and vocabulary. Compressed learning trains on the interval's
tokenized sequence C after partial compression (predictor.partial). Default-1 and
default-k train on the uncompressed interval. Every method appends tokens for the
events its vocabulary has never seen, and compressed learning also appends the
new repeats that lowering keeps. The model then grows by those rows
(predictor.growth).

Each interval is one engine run, so C starts empty at each interval as Algorithm 1
(line 25) resets it, and the model state starts from zero because the weights
changed. The next interval's engine is built from the grown vocabulary, which
updates the tokenizer without restarting the stream.

Refinement time per interval = compression + growth + training. Compression time
counts Sequitur, lowering and rewriting but not reading C, because the online
tokenizer has already built C during prediction. After each interval the state
(weights, vocabulary, counters, timings) is written atomically by
predictor.refine_state, so a run stopped part way resumes at the last finished
interval. Training seeds depend only on the
interval number, so on CPU a resumed run ends with the same weights as an
uninterrupted one.
"""
import dataclasses
import logging
import os
import time
from typing import Optional

import numpy as np

from predictor.errors import CheckpointError, PredictorError
from predictor.partial import rewrite_interval
from predictor.refine_state import RefinementCheckpoint, latest_model_dir

log = logging.getLogger(__name__)

PREDICTION_ARRAYS = ("event_index", "offsets", "predicted", "latency_ns")
COUNTERS = ("events", "predictions", "model_inputs", "rollbacks", "correct", "covered",
            "model_time_ns", "engine_time_ns", "total_time_ns")


@dataclasses.dataclass
class IntervalRecord:
    """Work and cost of one refinement; times in nanoseconds."""

    index: int  # interval number, from 0
    start: int  # global trace index of the interval's first event
    stop: int  # global trace index after its last event
    train_tokens: int  # length of the sequence trained on
    new_tokens: int  # tokens appended to the vocabulary
    vocab_size: int  # after growth
    run_events: int  # events partially compressed (0 for default methods)
    compression_time_ns: int  # Sequitur, lowering and rewriting of the plain runs
    growth_time_ns: int  # appending tokens, encoding the events, growing the model
    training_time_ns: int
    train_loss: float  # mean next-token cross-entropy of the last epoch, nats per token
    event_accuracy: float  # of the predictions made during this interval, before refining

    @property
    def refinement_time_ns(self) -> int:
        return self.compression_time_ns + self.growth_time_ns + self.training_time_ns


@dataclasses.dataclass
class RefinementReport:
    """Online evaluation of one method with refinement after every interval."""

    method: str
    interval_events: int  # L
    epochs: int  # training epochs per refinement
    freq: Optional[int]
    k: Optional[int]
    counters: dict  # COUNTERS summed over intervals
    intervals: list  # IntervalRecord per interval
    resumed_from: int = 0  # intervals loaded from a checkpoint
    # Per interval, when recording: dict of event_index, offsets, predicted, latency_ns
    # (the arrays of predictor.predfile).
    predictions: list = dataclasses.field(default_factory=list, repr=False)

    def _total(self, name) -> int:
        return sum(getattr(record, name) for record in self.intervals)

    @property
    def compression_time_ns(self) -> int:
        return self._total("compression_time_ns")

    @property
    def training_time_ns(self) -> int:
        return self._total("training_time_ns")

    @property
    def refinement_time_ns(self) -> int:
        return self._total("refinement_time_ns")

    @property
    def compression_share(self) -> float:
        """Compression time / refinement time (compression included)."""
        return self.compression_time_ns / max(self.refinement_time_ns, 1)

    @property
    def event_accuracy(self) -> float:
        return self.counters["correct"] / max(self.counters["events"], 1)

    @property
    def train_tokens(self) -> int:
        return self._total("train_tokens")

    @property
    def new_tokens(self) -> int:
        return self._total("new_tokens")

    def to_dict(self) -> dict:
        data = dataclasses.asdict(dataclasses.replace(self, predictions=[]))
        del data["predictions"]
        data["intervals"] = [dict(dataclasses.asdict(r), refinement_time_ns=r.refinement_time_ns)
                             for r in self.intervals]
        data.update(event_accuracy=self.event_accuracy, train_tokens=self.train_tokens,
                    new_tokens=self.new_tokens, compression_time_ns=self.compression_time_ns,
                    training_time_ns=self.training_time_ns,
                    refinement_time_ns=self.refinement_time_ns,
                    compression_share=self.compression_share)
        return data



def new_event_expansions(events, vocab) -> list:
    """Return one-event expansions for the events of ``events`` that have no token, in order of first appearance."""
    unique, first = np.unique(np.asarray(events, dtype=np.int64), return_index=True)
    unseen = [(int(unique[i]), int(first[i])) for i in range(len(unique))
              if vocab.terminal_token(unique[i]) == 0]
    return [(event,) for event, _ in sorted(unseen, key=lambda pair: pair[1])]


def training_sequence(method, events, session_starts, vocab, freq, tokenized=None):
    """Build the sequence one refinement trains on, growing ``vocab`` in place.

    Compressed learning partially compresses ``tokenized`` = (C, session starts in C),
    the interval's tokenized sequence. Default methods encode the events. Returns
    (tokens, token_session_starts, new_tokens, run_events, compression_time_ns).
    """
    if method == "compressed":
        tokens, token_starts = tokenized
        started = time.perf_counter_ns()
        rewritten = rewrite_interval(tokens, events, vocab, freq, token_starts)
        compression_time_ns = time.perf_counter_ns() - started
        for expansion in rewritten.partial.new_expansions:
            vocab.append(expansion)
        return (rewritten.tokens, rewritten.session_starts, rewritten.partial.num_new_tokens,
                rewritten.run_events, compression_time_ns)

    new = new_event_expansions(events, vocab)
    for expansion in new:
        vocab.append(expansion)
    return vocab.encode_events(events), np.asarray(session_starts, np.int64), len(new), 0, 0


def train_epochs(model, tokens, session_starts, preset, device, epochs, seed) -> float:
    """Train ``model`` for ``epochs`` epochs on every window of ``tokens``; return the last loss.

    A fresh Adam optimizer is used, because growth replaced the embedding and
    output parameters. Unlike offline training, no window is left out
    (``max_windows`` does not apply), so one epoch covers the whole interval.
    """
    import torch
    from tqdm import tqdm

    from predictor import training

    preset = dataclasses.replace(preset, max_windows=None, seed=seed)
    windows = training.make_windows(tokens, session_starts, preset.input_length)
    if len(windows[2]) == 0:
        return float("nan")
    no_validation = training.make_windows(np.zeros(0, np.int64), np.zeros(1, np.int64),
                                          preset.input_length)
    optimizer = torch.optim.Adam(model.parameters(), lr=preset.lr)
    loss = float("nan")
    for epoch in range(1, epochs + 1):
        record = training._run_epoch(model, optimizer, windows, no_validation, preset, device,
                                     epoch, False, "refine", tqdm)
        loss = record["train_loss"]
    model.eval()
    return loss


def refine_online(method, model, vocab, preset, events, *, interval_events, epochs=1,
                  session_starts=None, trace_offset=0, freq=None, k=None, device=None,
                  checkpoint=None, record=False, progress=False) -> RefinementReport:
    """Predict ``events`` online with ``method``, refining after every interval.

    ``model`` (a GRUPredictor) and ``vocab`` are updated in place. ``freq`` is the
    lowering threshold of compressed learning, ``k`` the prediction length of
    default-k, and ``preset`` supplies the training settings. With ``record`` the
    report keeps each interval's predictions. ``checkpoint``
    (optional, a RefinementCheckpoint) stores the state after each interval. When
    it already contains a state of this same run, the loop resumes from it.
    Raises PredictorError for an interval below 2 events or fewer than 1 epoch.
    """
    from tqdm import tqdm

    from predictor.evaluation import run_method
    from predictor.splits import part_sessions
    from predictor.stepper import resolve_device

    if interval_events < 2:
        raise PredictorError(f"--refine-interval {interval_events} is too short: an interval "
                             "needs at least 2 events to train on")
    if epochs < 1:
        raise PredictorError(f"--refine-epochs {epochs} is invalid: use 1 or more")
    device = resolve_device(device)
    events = np.asarray(events, dtype=np.int64)
    session_starts = np.zeros(1, np.int64) if session_starts is None else session_starts
    report = RefinementReport(method, interval_events, epochs, freq, k,
                              dict.fromkeys(COUNTERS, 0), [])
    if checkpoint is not None:
        report = checkpoint.resume(report, model, vocab)
    if record and len(report.predictions) != len(report.intervals):
        raise CheckpointError(f"the saved refinement state in {checkpoint.folder} has no "
                              "predictions: delete it, or run without prediction files")
    warm_up(model, preset, device)

    num_intervals = -(-len(events) // interval_events)
    for index in tqdm(range(len(report.intervals), num_intervals), desc=f"refine {method}",
                      unit="interval", disable=not progress, leave=False):
        start, stop = index * interval_events, min((index + 1) * interval_events, len(events))
        chunk = events[start:stop]
        sessions = part_sessions(session_starts, start, stop)

        # 1. Predict the interval with the current model and vocabulary.
        result = run_method(method, chunk, vocab, model, device, session_starts=sessions,
                            trace_offset=trace_offset + start, k=k, record=record)
        if record:
            report.predictions.append({name: getattr(result, name) for name in PREDICTION_ARRAYS})
        for name in COUNTERS:
            report.counters[name] += int(getattr(result, name))

        # 2. Refine on the interval, with a seed that depends only on its number.
        refined = refine_interval(method, model, vocab, preset, chunk, sessions, freq=freq,
                                  device=device, epochs=epochs, seed=preset.seed + index)
        refined = dataclasses.replace(refined, index=index, start=trace_offset + start,
                                      stop=trace_offset + stop,
                                      event_accuracy=result.event_accuracy)
        report.intervals.append(refined)
        log.info("%s interval %d: %d tokens, %d new, compression %.1f ms, training %.1f ms",
                 method, index, refined.train_tokens, refined.new_tokens,
                 refined.compression_time_ns / 1e6, refined.training_time_ns / 1e6)
        if checkpoint is not None:
            checkpoint.save(report, model, vocab)
    return report


def merge_predictions(parts) -> dict:
    """Join per-interval prediction arrays into one set for predictor.predfile."""
    if not parts:
        return {"event_index": np.zeros(0, np.int64), "offsets": np.zeros(1, np.int64),
                "predicted": np.zeros(0, np.int64), "latency_ns": np.zeros(0, np.int64)}
    lengths = np.concatenate([np.diff(part["offsets"]) for part in parts])
    merged = {name: np.concatenate([part[name] for part in parts]).astype(np.int64)
              for name in ("event_index", "predicted", "latency_ns")}
    merged["offsets"] = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return merged


def warm_up(model, preset, device):
    """Run partial compression and training once on scratch data, outside the timings.

    The first training step of a process costs seconds of imports and lazy
    initialization, and the first partial compression tens of milliseconds.
    Without a warm-up they would be charged to whichever method or interval
    refines first.
    """
    import copy

    from predictor.partial import partial_compress
    from predictor.vocabulary import Vocabulary

    partial_compress([[0, 1, 0, 1]], Vocabulary.from_events([0, 1]), 2)
    scratch = copy.deepcopy(model)
    train_epochs(scratch, np.zeros(2, np.int64), np.zeros(1, np.int64), preset, device, 1, seed=0)


def refine_interval(method, model, vocab, preset, events, session_starts, *, freq, device,
                    epochs, seed) -> IntervalRecord:
    """Refine ``model`` and ``vocab`` in place on one interval of ``events``.

    Returns an IntervalRecord whose position fields (index, start, stop) are 0 and
    whose event_accuracy is NaN, for the caller to fill in.
    """
    import torch

    from predictor.growth import grow_model
    from predictor.retokenize import tokenize

    # The offline tokenizer ends with the same C as the online engine. Reading C is
    # not refinement work, because the engine built it while predicting, so it
    # stays outside the timings.
    tokenized = tokenize(events, vocab, session_starts) if method == "compressed" else None

    started = time.perf_counter_ns()
    tokens, token_starts, new_tokens, run_events, compression_ns = training_sequence(
        method, events, session_starts, vocab, freq, tokenized)
    grow_model(model, vocab.size)
    growth_ns = time.perf_counter_ns() - started - compression_ns

    started = time.perf_counter_ns()
    loss = train_epochs(model, tokens, token_starts, preset, device, epochs, seed=seed)
    if device.type == "cuda":
        torch.cuda.synchronize()
    training_ns = time.perf_counter_ns() - started
    return IntervalRecord(0, 0, 0, len(tokens), new_tokens, vocab.size, run_events,
                          compression_ns, growth_ns, training_ns, loss, float("nan"))


def evaluate_with_refinement(model_dirs, trace, methods, *, interval_events, epochs=1, k=None,
                             device=None, checkpoint_dir=None, predictions_dir=None,
                             progress=False) -> list:
    """Run ``methods`` online over the trace's test stream, refining every interval.

    Each method refines its own copy of its fitted model (predictor.evaluation
    picks the model and the test stream). ``k`` defaults to the compressed run's
    average prediction length, rounded. With ``checkpoint_dir`` each method's
    state goes to ``<checkpoint_dir>/<method>`` after every interval, and a rerun
    with the same arguments resumes there. With ``predictions_dir`` each method's
    predictions over the whole stream go to ``<predictions_dir>/<method>.npz``
    (predictor.predfile). Returns RefinementReports in the order
    of ``methods``. Raises PredictorError with one line.
    """
    from predictor import evaluation
    from predictor.checkpoint import load_model
    from predictor.splits import part_sessions
    from tracer.tracefile import read_trace

    if isinstance(trace, (str, os.PathLike)):
        trace = read_trace(trace)
    methods = list(methods)
    models = evaluation._models_by_method(model_dirs)
    start, stop = _test_stream(models, trace, methods, evaluation)
    events = np.asarray(trace.events[start:stop], dtype=np.int64)
    sessions = part_sessions(trace.session_starts, start, stop)
    if "default-k" in methods and k is None and "compressed" not in methods:
        raise PredictorError("default-k needs --k, or the compressed method in --methods to "
                             "take k from its average prediction length")

    # Compressed first, so that default-k can take k from it.
    reports = {}
    for method in sorted(methods, key=lambda name: name != "compressed"):
        loaded = load_model(models[evaluation.MODEL_METHOD[method]].model_dir)
        run_k = None
        if method == "default-k":
            run_k = k if k is not None else max(1, round(_avg_prediction_length(reports["compressed"])))
        fingerprint = {"trace": trace.checksum, "stream": [start, stop], "method": method,
                       "model": loaded.info.get("weights_sha256"), "k": run_k,
                       "interval_events": interval_events, "epochs": epochs,
                       "record": predictions_dir is not None}
        checkpoint = None
        if checkpoint_dir is not None:
            folder = os.path.join(checkpoint_dir, method)
            os.makedirs(folder, exist_ok=True)
            checkpoint = RefinementCheckpoint(folder, fingerprint, loaded.info)
        if progress:
            log.info("refining %s every %d events", method, interval_events)
        reports[method] = refine_online(
            method, loaded.model, loaded.vocab, loaded.preset, events,
            interval_events=interval_events, epochs=epochs, session_starts=sessions,
            trace_offset=start, freq=loaded.freq, k=run_k, device=device,
            checkpoint=checkpoint, record=predictions_dir is not None, progress=progress)
        if predictions_dir is not None:
            _write_predictions(predictions_dir, reports[method], trace, start, stop, loaded)
    return [reports[method] for method in methods]


def _write_predictions(folder, report, trace, start, stop, loaded):
    from predictor.predfile import write_predictions

    os.makedirs(folder, exist_ok=True)
    meta = {"method": report.method, "trace_checksum": trace.checksum,
            "trace_events": trace.num_events, "stream_start": start, "stream_stop": stop,
            "trace_path": str(trace.path), "model_dir": loaded.model_dir, "freq": report.freq,
            "k": report.k, "refine_interval": report.interval_events,
            "refine_epochs": report.epochs}
    merged = merge_predictions(report.predictions)
    write_predictions(os.path.join(folder, f"{report.method}.npz"), merged["event_index"],
                      merged["offsets"], merged["predicted"], merged["latency_ns"], meta)


def _test_stream(models, trace, methods, evaluation) -> tuple:
    ranges = {}
    for method in methods:
        needed = evaluation.MODEL_METHOD[method]
        if needed not in models:
            raise PredictorError(f"method {method} needs a model fitted with --method {needed}; "
                                 "none of the model directories is one")
        evaluation.check_trace(models[needed], trace)
        ranges[method] = evaluation.stream_range(models[needed], trace)
    if len(set(ranges.values())) > 1:
        raise PredictorError(f"the models split {trace.path} differently ({ranges}): fit them "
                             "with the same --train-events, --test-events and --interval")
    start, stop = next(iter(ranges.values()))
    if stop <= start:
        raise PredictorError(f"the test stream of {trace.path} is empty (events {start} to "
                             f"{stop}): fit with fewer --train-events or more --test-events")
    return start, stop


def _avg_prediction_length(report) -> float:
    return report.counters["covered"] / max(report.counters["predictions"], 1)


def summary_rows(reports) -> list:
    """Return one dict per RefinementReport with the refinement figures.

    Keys: method, freq, k, intervals, events, event_accuracy_pct,
    avg_prediction_length, train_tokens, new_tokens, vocab_size,
    refinement_time_s, compression_time_s, compression_share_pct,
    refinement_speedup (the default method's refinement time / this one's, where
    default is default-1, else default-k; None without either), and ``report``
    (RefinementReport.to_dict()).
    """
    reference = next((r for r in reports if r.method == "default-1"),
                     next((r for r in reports if r.method == "default-k"), None))
    rows = []
    for report in reports:
        speedup = None
        if reference is not None and report.refinement_time_ns > 0:
            speedup = reference.refinement_time_ns / report.refinement_time_ns
        rows.append({
            "method": report.method, "freq": report.freq, "k": report.k,
            "intervals": len(report.intervals), "events": report.counters["events"],
            "event_accuracy_pct": 100.0 * report.event_accuracy,
            "avg_prediction_length": _avg_prediction_length(report),
            "train_tokens": report.train_tokens, "new_tokens": report.new_tokens,
            "vocab_size": report.intervals[-1].vocab_size if report.intervals else None,
            "refinement_time_s": report.refinement_time_ns / 1e9,
            "compression_time_s": report.compression_time_ns / 1e9,
            "compression_share_pct": 100.0 * report.compression_share,
            "refinement_speedup": speedup,
            "report": report.to_dict(),
        })
    return rows


def format_table(rows) -> str:
    """Format refinement summary rows as a Markdown table with units in the header."""
    header = ("| method | FREQ | intervals | tokens trained | new tokens | refinement time (s) | "
              "compression time (s) | compression share (%) | refinement speedup (×) | "
              "event accuracy (%) |")
    lines = [header, "|" + "---|" * 10]
    for row in rows:
        freq = "-" if row["freq"] is None else str(row["freq"])
        speedup = "-" if row["refinement_speedup"] is None else f"{row['refinement_speedup']:.2f}"
        lines.append(f"| {row['method']} | {freq} | {row['intervals']} | {row['train_tokens']:,} | "
                     f"{row['new_tokens']:,} | {row['refinement_time_s']:.3f} | "
                     f"{row['compression_time_s']:.4f} | {row['compression_share_pct']:.2f} | "
                     f"{speedup} | {row['event_accuracy_pct']:.2f} |")
    return "\n".join(lines)


def add_refine_arguments(parser):
    """Add the online refinement options to ``complearn evaluate``."""
    parser.add_argument("--refine-interval", type=int, metavar="L",
                        help="refine the model after every L test events by training on the "
                        "interval (partially compressed for the compressed method); "
                        "default: no refinement")
    parser.add_argument("--refine-epochs", type=int, default=1, metavar="N",
                        help="training epochs per refinement (default: %(default)s)")
    parser.add_argument("--refine-dir", metavar="DIR",
                        help="keep each method's refined model and state in DIR/<method> after "
                        "every interval; rerunning with the same DIR resumes there")


def run_refinement(args, model_dirs, trace, methods) -> dict:
    """Run ``complearn evaluate --refine-interval``: print the table and return the JSON data."""
    reports = evaluate_with_refinement(model_dirs, trace, methods,
                                       interval_events=args.refine_interval,
                                       epochs=args.refine_epochs, k=args.k, device=args.device,
                                       checkpoint_dir=args.refine_dir,
                                       predictions_dir=args.predictions, progress=True)
    rows = summary_rows(reports)
    print(format_table(rows))
    if args.refine_dir:
        for method in methods:
            print(f"refined {method} model: {latest_model_dir(os.path.join(args.refine_dir, method))}")
    return {"refinement": {"interval_events": args.refine_interval,
                           "epochs": args.refine_epochs}, "runs": rows}
