"""The C online engine (tokenizer, prediction matching, rollback bookkeeping).

This is the only module that touches the cffi module ``predictor._engine``. The C
side runs the per-event loop of Algorithms 1 and 2 of Guan et al. (ACM TKDD,
2026) over a whole array of events and returns to Python only when the model has
to run. ``predictor/engine.h`` states the exact rules and predictor.online is the
driver.

A model call the engine needs is handed out as a tuple ``(event, rollback,
tokens)``: ``event`` is the index in the bound event array of the event just
processed, ``rollback`` the number of fed tokens to undo first, and ``tokens``
the tokens to feed next. It is a plain tuple because it is made once per model
call on the hot path.

Hazard: ``tokens`` is an int64 view of a C buffer that the next ``advance`` or
``resume`` call overwrites. Use it (or copy it) before going on.
"""
import numpy as np

from predictor._engine import ffi, lib
from predictor.errors import PredictorError

CL_DONE = 0
CL_NEED_MODEL = 1
CL_ERR_TOKEN = -1


def vocabulary_arrays(vocab):
    """Return (offsets, events) int64 arrays that flatten the token expansions."""
    lengths = vocab.token_lengths()
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    events = np.fromiter((e for x in vocab.expansions for e in x), dtype=np.int64,
                         count=int(offsets[-1]))
    return offsets, events


class Engine:
    """Online tokenizer and prediction matcher for one vocabulary.

    ``history`` is the number of recent tokens of C kept for ``tokens()``. The
    default keeps only what the engine itself needs (about twice the maximum
    token length), enough for running but not for inspecting a whole session.
    """

    def __init__(self, vocab, history=0):
        offsets, events = vocabulary_arrays(vocab)
        if vocab.size >= 2**31:
            raise PredictorError(f"vocabulary of {vocab.size} tokens is too large for the "
                                 "online engine (at most 2**31 - 1 tokens)")
        handle = lib.cl_engine_new(vocab.size, ffi.from_buffer("int64_t[]", offsets),
                                   ffi.from_buffer("int64_t[]", events), int(history))
        if handle == ffi.NULL:
            raise PredictorError(f"out of memory building the online engine for {vocab.size} "
                                 f"tokens with {len(events)} expansion events")
        self._handle = ffi.gc(handle, lib.cl_engine_free)
        self.vocab_size = vocab.size
        self.max_token_length = int(lib.cl_engine_max_token_length(handle))

        max_feed = int(lib.cl_engine_max_feed(handle))
        buffer = ffi.buffer(lib.cl_engine_feed_buffer(handle), 8 * max_feed)
        self._feed = np.frombuffer(buffer, dtype=np.int64)
        self._request = ffi.new("cl_request *")
        self._pos = ffi.new("int64_t *")
        self._counters = ffi.new("cl_counters *")
        self._events = None
        self._events_ptr = ffi.NULL
        self._length = 0

    def bind(self, events):
        """Set the event array that ``advance`` walks (int64, contiguous) and rewind to 0."""
        events = np.ascontiguousarray(events, dtype=np.int64)
        self._events = events
        self._events_ptr = ffi.from_buffer("int64_t[]", events)
        self._length = len(events)
        self._pos[0] = 0

    @property
    def position(self) -> int:
        """Index in the bound array of the next event to process."""
        return int(self._pos[0])

    def reset(self):
        """Start a new session: empty C, cursor 0, no pending prediction."""
        lib.cl_engine_reset(self._handle)

    def advance(self, stop):
        """Process bound events up to index ``stop``; return a request tuple, or None when done."""
        status = lib.cl_engine_run(self._handle, self._events_ptr, min(stop, self._length),
                                   self._pos, self._request)
        return self._request_or_none(status, None)

    def predicted(self, token):
        """Hand the model's predicted token (its argmax) for the last request to the engine."""
        self._check_status(lib.cl_engine_predicted(self._handle, token), token)

    def resume(self, token, stop):
        """``predicted(token)`` then ``advance(stop)`` in one C call (the hot path)."""
        status = lib.cl_engine_resume(self._handle, token, self._events_ptr,
                                      min(stop, self._length), self._pos, self._request)
        return self._request_or_none(status, token)

    def _request_or_none(self, status, token):
        if status == CL_NEED_MODEL:
            request = self._request
            return request.event, request.rollback, self._feed[:request.feed_len]
        if status != CL_DONE:
            self._check_status(status, token)
        return None

    def _check_status(self, status, token):
        if status == CL_ERR_TOKEN:
            raise PredictorError(f"model predicted token {token}, outside the vocabulary of "
                                 f"{self.vocab_size} tokens: use the vocabulary saved with the model")
        if status != 0:
            raise PredictorError("online engine called out of order: call predicted() once "
                                 "after every request, and advance() only when none is pending")

    def counters(self) -> dict:
        """Totals over all sessions: events, predictions, model_inputs, rollbacks, correct, covered."""
        lib.cl_engine_counters(self._handle, self._counters)
        names = ("events", "predictions", "model_inputs", "rollbacks", "correct", "covered")
        return {name: int(getattr(self._counters, name)) for name in names}

    def cursor(self):
        """Return (length of C, cursor) for the current session."""
        length = ffi.new("int64_t *")
        cursor = ffi.new("int64_t *")
        lib.cl_engine_position(self._handle, length, cursor)
        return int(length[0]), int(cursor[0])

    def tokens(self) -> np.ndarray:
        """Return the tokenized sequence C of the current session (needs a large ``history``)."""
        length, _ = self.cursor()
        out = np.empty(length, dtype=np.int64)
        status = lib.cl_engine_copy_tokens(self._handle, 0, length, ffi.from_buffer("int64_t[]", out))
        if status != 0:
            raise PredictorError(f"the engine kept only part of the {length} tokens of C: "
                                 "build it with history >= the session length")
        return out
