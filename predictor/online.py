"""Online evaluation: compressed learning and the default-1 and default-k baselines.

Compressed learning and its baselines are those of Guan et al., "Recurrent
Neural Networks Meet Context-Free Grammar: Two Birds with One Stone" (ACM TKDD,
2026), called "the paper" below.

Every run walks a test stream of events once, in sessions, and predicts with a
stepper (predictor.stepper). Definitions shared by the three methods:

- A prediction made at event t (after seeing it) covers events t + 1, t + 2, ...
  It is discarded at a session start.
- Event t is *correct* when the pending prediction made before it predicted it:
  the prediction's next unconsumed event equals event t. The first event of a
  session is never correct, and the unknown token (an empty expansion) is a
  one-event prediction that never matches.
- *covered* sums the prediction lengths in events (the unknown token counts 1),
  so ``avg_prediction_length = covered / predictions`` is the prediction scope.
- *model_inputs* counts tokens fed to the model; *rollbacks* counts
  tokenizations that moved the cursor back (compressed learning only).
- Times are wall clock in nanoseconds. ``model_time_ns`` is spent inside
  ``stepper.feed``, which synchronizes the device because it returns a Python
  int. ``engine_time_ns`` is everything else in the run loop: tokenizer,
  matching, rollbacks and bookkeeping.

The baselines expect a vocabulary without non-terminals, as a model fit on the
uncompressed sequence has. Given one with non-terminals, they treat a predicted
non-terminal as its first event.
"""
import dataclasses
import time
from typing import Optional

import numpy as np

from predictor.engine import Engine
from predictor.errors import PredictorError

CHUNK_EVENTS = 1 << 16  # events between progress bar updates


@dataclasses.dataclass
class RunResult:
    """Counters and timings of one online run; see the module docstring for definitions.

    When the run was made with ``record=True``, ``event_index``, ``offsets``,
    ``predicted`` and ``latency_ns`` hold the predictions in the layout of
    predictor.predfile.write_predictions; otherwise they are None.
    """

    method: str
    events: int
    predictions: int
    model_inputs: int
    rollbacks: int
    correct: int
    covered: int
    model_time_ns: int
    engine_time_ns: int
    total_time_ns: int
    freq: Optional[int] = None
    k: Optional[int] = None
    event_index: Optional[np.ndarray] = dataclasses.field(default=None, repr=False)
    offsets: Optional[np.ndarray] = dataclasses.field(default=None, repr=False)
    predicted: Optional[np.ndarray] = dataclasses.field(default=None, repr=False)
    latency_ns: Optional[np.ndarray] = dataclasses.field(default=None, repr=False)

    @property
    def event_accuracy(self) -> float:
        """Correctly predicted events / events."""
        return self.correct / self.events if self.events else 0.0

    @property
    def avg_prediction_length(self) -> float:
        """Events covered by predictions / predictions."""
        return self.covered / self.predictions if self.predictions else 0.0

    @property
    def avg_latency_ns(self) -> float:
        """Model plus engine time per event, in nanoseconds."""
        return self.total_time_ns / self.events if self.events else 0.0

    @property
    def tokenization_overhead(self) -> float:
        """Engine (tokenizer, matching, rollback) time / total time."""
        return self.engine_time_ns / self.total_time_ns if self.total_time_ns else 0.0

    def to_dict(self) -> dict:
        """Counters, timings and derived metrics as a JSON-ready dict (no arrays)."""
        data = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)
                if field.name not in ("event_index", "offsets", "predicted", "latency_ns")}
        data.update(event_accuracy=self.event_accuracy,
                    avg_prediction_length=self.avg_prediction_length,
                    avg_latency_ns=self.avg_latency_ns,
                    tokenization_overhead=self.tokenization_overhead)
        return data


def speedup(baseline: RunResult, run: RunResult) -> float:
    """Return the latency speedup of ``run`` over ``baseline`` (normally default-1)."""
    if run.avg_latency_ns <= 0:
        raise PredictorError(f"cannot compute the speedup of {run.method}: its latency is 0")
    return baseline.avg_latency_ns / run.avg_latency_ns


def k_from(result: RunResult) -> int:
    """Return default-k's k for a compressed run: its average prediction length, rounded, >= 1."""
    return max(1, int(round(result.avg_prediction_length)))


def _check_stream(events, session_starts):
    """Validate the test stream; return (int64 events, sorted session starts beginning at 0)."""
    events = np.ascontiguousarray(events)
    if events.ndim != 1 or events.shape[0] == 0:
        raise PredictorError(f"the test stream is empty (shape {events.shape}): give at least one "
                             "event, e.g. a larger trace or a smaller training share")
    if not np.issubdtype(events.dtype, np.integer):
        raise PredictorError(f"test stream events must be integers, got dtype {events.dtype}")
    events = events.astype(np.int64, copy=False)

    starts = np.zeros(1, dtype=np.int64)
    if session_starts is not None:
        given = np.asarray(session_starts, dtype=np.int64)
        if given.size and (np.any(np.diff(given) < 0) or given[0] < 0 or given[-1] >= len(events)):
            raise PredictorError(f"session starts must be increasing indices in [0, {len(events)}), "
                                 f"got {given[:5].tolist()}...")
        starts = np.unique(np.concatenate([starts, given]))
    return events, starts


def _sessions(starts, count):
    bounds = list(starts) + [count]
    return [(int(bounds[j]), int(bounds[j + 1])) for j in range(len(starts))]


def _progress(total, enabled, method):
    if not enabled:
        return None
    from tqdm import tqdm
    return tqdm(total=total, unit="event", unit_scale=True, desc=method)


class _Recorder:
    """Collects predictions (event index, predicted token or events, latency) of a run."""

    def __init__(self, enabled, trace_offset):
        self.enabled = enabled
        self.trace_offset = trace_offset
        self.event_index = []
        self.items = []
        self.latency_ns = []

    def add(self, event, item, latency_ns):
        if self.enabled:
            self.event_index.append(event + self.trace_offset)
            self.items.append(item)
            self.latency_ns.append(latency_ns)

    def attach(self, result, expand):
        """Fill the record arrays of ``result``; expand(item) gives the predicted events."""
        if not self.enabled:
            return result
        pieces = [np.asarray(expand(item), dtype=np.int64) for item in self.items]
        lengths = np.array([len(p) for p in pieces], dtype=np.int64)
        result.event_index = np.array(self.event_index, dtype=np.int64)
        result.offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        result.predicted = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int64)
        result.latency_ns = np.array(self.latency_ns, dtype=np.int64)
        return result


def run_compressed(events, vocab, stepper, *, session_starts=None, trace_offset=0, record=False,
                   progress=False) -> RunResult:
    """Run compressed learning (the paper's Algorithms 1 and 2) over a test stream.

    events: int64 event values; session_starts: indices into ``events`` where a
    session begins (0 is implied); trace_offset: trace index of ``events[0]``,
    added to recorded event indices. Raises PredictorError for an empty stream or
    a stepper that predicts a token outside ``vocab``.
    """
    events, starts = _check_stream(events, session_starts)
    engine = Engine(vocab)
    stepper.reserve(max(1, engine.max_token_length))
    recorder = _Recorder(record, trace_offset)
    bar = _progress(len(events), progress, "compressed")
    feed = stepper.feed
    clock = time.perf_counter_ns
    model_ns = 0

    begin_ns = last_ns = clock()
    engine.bind(events)
    for begin, end in _sessions(starts, len(events)):
        engine.reset()
        stepper.reset()
        while engine.position < end:
            stop = min(end, engine.position + CHUNK_EVENTS)
            request = engine.advance(stop)
            while request is not None:
                event, rollback, tokens = request
                if rollback:
                    stepper.rollback(rollback)
                call_ns = clock()
                token = feed(tokens)
                done_ns = clock()
                model_ns += done_ns - call_ns
                if record:
                    recorder.add(event, token, done_ns - last_ns)
                    last_ns = done_ns
                request = engine.resume(token, stop)
            if bar is not None:
                bar.update(stop - bar.n)
    total_ns = clock() - begin_ns
    if bar is not None:
        bar.close()

    counts = engine.counters()
    result = RunResult("compressed", model_time_ns=model_ns, engine_time_ns=total_ns - model_ns,
                       total_time_ns=total_ns, freq=vocab.freq, **counts)
    return recorder.attach(result, lambda token: vocab.expansions[token])


def _terminal_tokens(vocab, events):
    """Map events to their terminal tokens (UNKNOWN = 0 for events not in ``vocab``)."""
    pairs = sorted((x[0], token) for token, x in enumerate(vocab.expansions)
                   if len(x) == 1 and vocab.rules[token] == -1)
    keys = np.array([event for event, _ in pairs], dtype=np.int64)
    values = np.array([token for _, token in pairs], dtype=np.int64)
    if keys.size == 0:
        return np.zeros(len(events), dtype=np.int64)
    where = np.minimum(np.searchsorted(keys, events), keys.size - 1)
    return np.where(keys[where] == events, values[where], 0)


def _first_events(vocab):
    """Per token, its first event, or None for an empty expansion."""
    return [x[0] if x else None for x in vocab.expansions]


def run_default1(events, vocab, stepper, *, session_starts=None, trace_offset=0, record=False,
                 progress=False) -> RunResult:
    """Run default-1: feed every event and predict the next one (one model step per event).

    Arguments, errors and metric definitions as for run_compressed.
    """
    events, starts = _check_stream(events, session_starts)
    first = _first_events(vocab)
    recorder = _Recorder(record, trace_offset)
    bar = _progress(len(events), progress, "default-1")
    feed = stepper.feed
    clock = time.perf_counter_ns
    model_ns = correct = 0

    begin_ns = last_ns = clock()
    tokens = _terminal_tokens(vocab, events)
    values = events.tolist()
    for begin, end in _sessions(starts, len(events)):
        stepper.reset()
        pending = None
        for index in range(begin, end):
            correct += pending is not None and pending == values[index]
            call_ns = clock()
            token = feed(tokens[index:index + 1])
            done_ns = clock()
            model_ns += done_ns - call_ns
            _check_token(token, first)
            pending = first[token]
            recorder.add(index, token, done_ns - last_ns)
            last_ns = done_ns
            if bar is not None and (index & (CHUNK_EVENTS - 1)) == 0:
                bar.update(index + 1 - bar.n)
    total_ns = clock() - begin_ns
    if bar is not None:
        bar.update(len(events) - bar.n)
        bar.close()

    count = len(events)
    result = RunResult("default-1", events=count, predictions=count, model_inputs=count,
                       rollbacks=0, correct=int(correct), covered=count, model_time_ns=model_ns,
                       engine_time_ns=total_ns - model_ns, total_time_ns=total_ns, freq=vocab.freq,
                       k=1)
    return recorder.attach(result, lambda token: [] if first[token] is None else [first[token]])


def run_defaultk(events, vocab, stepper, k, *, session_starts=None, trace_offset=0, record=False,
                 progress=False) -> RunResult:
    """Run default-k: predict k events at once by feeding the model's own predictions back.

    A block starts after a real event t: the model's prediction p1 is fed back to
    get p2, and so on up to pk (k - 1 extra steps). p1..pk are compared with events
    t + 1 .. t + k. Then the model state is brought back to the real events. The
    states after fed-back tokens that equal the real events' tokens are kept, the
    rest are rolled back, and feeding the remaining real events yields the next
    block's p1. A block therefore costs between k model steps (all predictions
    right) and 2k - 1 (first one wrong) per k events. ``k`` usually comes from
    k_from(compressed run). Other arguments as for run_compressed.
    """
    events, starts = _check_stream(events, session_starts)
    k = int(k)
    if k < 1:
        raise PredictorError(f"default-k needs k >= 1, got {k}")
    stepper.reserve(k)
    first = _first_events(vocab)
    recorder = _Recorder(record, trace_offset)
    bar = _progress(len(events), progress, f"default-{k}")
    clock = time.perf_counter_ns
    state = {"model_ns": 0, "inputs": 0}

    def feed(tokens):
        call_ns = clock()
        token = stepper.feed(tokens)
        done_ns = clock()
        state["model_ns"] += done_ns - call_ns
        state["inputs"] += len(tokens)
        _check_token(token, first)
        return token, done_ns

    begin_ns = last_ns = clock()
    tokens = _terminal_tokens(vocab, events)
    values = events.tolist()
    correct = predictions = 0
    for begin, end in _sessions(starts, len(events)):
        stepper.reset()
        index = begin
        out, _ = feed(tokens[begin:begin + 1])
        while True:
            # 1. predict a block of k tokens after event `index`
            block = [out]
            done_ns = clock()
            for _ in range(k - 1):
                out, done_ns = feed(np.array(block[-1:], dtype=np.int64))
                block.append(out)
            predictions += 1
            recorder.add(index, block, done_ns - last_ns)
            last_ns = done_ns

            # 2. compare with the next k events of the session
            last = min(index + k, end - 1)
            for j in range(last - index):
                correct += first[block[j]] is not None and first[block[j]] == values[index + 1 + j]
            if last == index:
                break

            # 3. keep the states of fed-back tokens equal to the real ones, refeed the rest
            kept = 0
            while kept < min(k - 1, last - index - 1) and block[kept] == tokens[index + 1 + kept]:
                kept += 1
            if k - 1 - kept:
                stepper.rollback(k - 1 - kept)
            out, _ = feed(tokens[index + 1 + kept:last + 1])
            index = last
            if bar is not None and index + 1 - bar.n >= CHUNK_EVENTS:
                bar.update(index + 1 - bar.n)
    total_ns = clock() - begin_ns
    if bar is not None:
        bar.update(len(events) - bar.n)
        bar.close()

    model_ns = state["model_ns"]
    result = RunResult("default-k", events=len(events), predictions=predictions,
                       model_inputs=state["inputs"], rollbacks=0, correct=int(correct),
                       covered=predictions * k, model_time_ns=model_ns,
                       engine_time_ns=total_ns - model_ns, total_time_ns=total_ns,
                       freq=vocab.freq, k=k)
    return recorder.attach(result, lambda block: _block_events(block, first))


def _block_events(block, first):
    """Predicted events of a default-k block, cut at the first token with no event."""
    out = []
    for token in block:
        if first[token] is None:
            break
        out.append(first[token])
    return out


def _check_token(token, first):
    if not 0 <= token < len(first):
        raise PredictorError(f"model predicted token {token}, outside the vocabulary of "
                             f"{len(first)} tokens: use the vocabulary saved with the model")
