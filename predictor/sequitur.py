"""Sequitur grammars of event sequences, built by the C core in ``predictor._sequitur``.

This is the only module that touches the cffi library: it checks inputs, turns C
return codes into :class:`~predictor.errors.GrammarError` and C buffers into
numpy arrays.

Symbol encoding, used by every grammar here and by :mod:`predictor.lowering`:
a terminal is the event value itself (>= 0), the non-terminal of rule ``r`` is
``-(r + 1)``, and a session separator (only in rule 0) is :data:`SEPARATOR`.
Rules are numbered breadth-first by first appearance from rule 0, as
scikit-sequitur numbers them, so the two can be compared rule by rule.
"""
import numpy as np

from predictor import _sequitur
from predictor.errors import GrammarError

_ffi = _sequitur.ffi
_lib = _sequitur.lib

SEPARATOR = int(np.iinfo(np.int64).min)
MAX_EVENTS = int(_lib.SQ_MAX_INPUT)


def _message(code) -> str:
    return _ffi.string(_lib.sq_error_message(code)).decode()


def _pointer(array, ctype="int64_t *"):
    return _ffi.cast(ctype, _ffi.from_buffer(array))


def check_events(events, name="events") -> np.ndarray:
    """Return ``events`` as a contiguous 1-D int64 array of values >= 0.

    Raises GrammarError naming the first bad value for a non-integer dtype, more
    than one dimension or a negative event.
    """
    array = np.asarray(events)
    if array.ndim != 1:
        raise GrammarError(f"{name} must be a 1-D array, got shape {array.shape}: "
                           "pass one flat sequence of event values")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise GrammarError(f"{name} must be integers, got dtype {array.dtype}: "
                           "pass event ids or block numbers as an int64 array")
    if array.dtype == np.uint64 and array.size and int(array.max()) > np.iinfo(np.int64).max:
        raise GrammarError(f"{name} contain the value {int(array.max())}, above the int64 "
                           "maximum: event values must fit int64")
    array = np.ascontiguousarray(array, dtype=np.int64)
    if array.size and int(array.min()) < 0:
        index = int(np.argmax(array < 0))
        raise GrammarError(f"{name}[{index}] is {int(array[index])}, but event values "
                           "must be >= 0: map events to non-negative ids first")
    return array


def check_session_starts(session_starts, num_events) -> np.ndarray:
    """Return session starts as an int64 array (empty for None or no events).

    Raises GrammarError unless they start at 0, increase strictly and stay
    below ``num_events``.
    """
    if session_starts is None or num_events == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.asarray(session_starts)
    if starts.ndim != 1 or (starts.size and not np.issubdtype(starts.dtype, np.integer)):
        raise GrammarError(f"session starts must be a 1-D integer array, got dtype "
                           f"{starts.dtype} and shape {starts.shape}")
    starts = np.ascontiguousarray(starts, dtype=np.int64)
    bad = _find_bad_start(starts, num_events)
    if bad is not None:
        raise GrammarError(f"session start {bad} is {int(starts[bad])}: session starts must "
                           f"begin with 0, increase strictly and stay below {num_events} events")
    return starts


def _find_bad_start(starts, num_events):
    """Return the index of the first invalid session start, or None."""
    if starts.size == 0:
        return None
    if starts[0] != 0:
        return 0
    bad = np.flatnonzero((np.diff(starts) <= 0) | (starts[1:] >= num_events))
    return int(bad[0]) + 1 if bad.size else None


class Grammar:
    """A context-free grammar whose rule 0 expands to the input sequence.

    Rules are stored end to end (compressed sparse row layout): rule ``r`` is
    ``symbols[offsets[r]:offsets[r + 1]]``. Construct one from a list of rule
    bodies; :func:`build_grammar` makes them from events. Raises GrammarError
    when a non-terminal names a missing rule or the rules refer to themselves.
    """

    def __init__(self, rules):
        bodies = [np.asarray(body, dtype=np.int64).reshape(-1) for body in rules]
        if not bodies:
            raise GrammarError("a grammar needs at least rule 0, got no rules")
        offsets = np.zeros(len(bodies) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(body) for body in bodies])
        self._init(np.concatenate(bodies), offsets)

    @classmethod
    def _from_arrays(cls, symbols, offsets):
        grammar = cls.__new__(cls)
        grammar._init(symbols, offsets)
        return grammar

    def _init(self, symbols, offsets):
        self.symbols = np.ascontiguousarray(symbols, dtype=np.int64)  # (total symbols,)
        self.offsets = np.ascontiguousarray(offsets, dtype=np.int64)  # (num_rules + 1,)
        self.num_rules = len(self.offsets) - 1
        self.order = np.zeros(self.num_rules, dtype=np.int64)
        self._call("checking rule references", _lib.sq_topological_order, _pointer(self.order))
        self.lengths = np.zeros(self.num_rules, dtype=np.int64)  # events per rule expansion
        self._call("computing rule lengths", _lib.sq_rule_lengths, _pointer(self.lengths))

    def _call(self, action, function, *args):
        code = function(_pointer(self.symbols), _pointer(self.offsets), self.num_rules, *args)
        if code != _lib.SQ_OK:
            raise GrammarError(f"{action} failed: {_message(code)}")

    @property
    def rules(self) -> list:
        """Right-hand side of every rule, as int64 views into ``symbols``."""
        return [self.symbols[self.offsets[r]:self.offsets[r + 1]] for r in range(self.num_rules)]

    def rule(self, r: int) -> np.ndarray:
        """Right-hand side of rule ``r``."""
        return self.symbols[self.offsets[r]:self.offsets[r + 1]]

    def topological_order(self) -> np.ndarray:
        """Return all rule numbers, each one after every rule whose body uses it."""
        return self.order

    def expand(self, r: int = 0, keep=None) -> np.ndarray:
        """Expand rule ``r`` into its int64 events.

        Separators in rule 0 stay in the output as SEPARATOR. ``keep`` is an
        optional boolean array over rules: a non-terminal whose rule is kept is
        written as its symbol instead of being expanded. Raises GrammarError for
        a rule number outside the grammar.
        """
        if not 0 <= r < self.num_rules:
            raise GrammarError(f"rule {r} does not exist: this grammar has rules "
                               f"0 to {self.num_rules - 1}")
        keep_pointer = _ffi.NULL
        capacity = int(self.lengths[r])  # a kept non-terminal is shorter than its expansion
        if keep is not None:
            keep = np.ascontiguousarray(keep, dtype=np.uint8)
            if keep.shape != (self.num_rules,):
                raise GrammarError(f"keep must have one entry per rule ({self.num_rules}), "
                                   f"got shape {keep.shape}")
            keep_pointer = _pointer(keep, "uint8_t *")
        return self._expand_into(r, keep_pointer, capacity)

    def _expand_into(self, r, keep_pointer, capacity):
        out = np.empty(max(capacity, 1), dtype=np.int64)
        length = _ffi.new("int64_t *")
        self._call(f"expanding rule {r}", _lib.sq_expand, r, keep_pointer,
                   _pointer(out), capacity, length)
        return out[:length[0]]

    def format_rules(self, name=str, rule_prefix="") -> list:
        """Format the rules as lines ``N -> sym sym ...``.

        ``name(event)`` formats a terminal, and non-terminals print as their rule
        number after ``rule_prefix``.
        """
        lines = []
        for r in range(self.num_rules):
            parts = [format_symbol(int(v), name, rule_prefix) for v in self.rule(r)]
            lines.append(" ".join([f"{rule_prefix}{r} ->"] + parts))
        return lines

    def __str__(self):
        return "\n".join(self.format_rules())


def format_symbol(value: int, name=str, rule_prefix="") -> str:
    """Format one symbol: ``rule_prefix`` and a rule number, ``|`` for a separator,
    or ``name(event)`` for a terminal."""
    if value == SEPARATOR:
        return "|"
    if value < 0:
        return f"{rule_prefix}{-value - 1}"
    return name(value)


def build_grammar(events, session_starts=None) -> Grammar:
    """Build the Sequitur grammar of ``events`` (int64 values >= 0).

    ``session_starts`` lists the first event index of each session, 0 first and
    strictly increasing. A SEPARATOR goes before every session but the first,
    and no digram ever spans it. Raises GrammarError on negative events, a
    non-integer dtype, invalid session starts or an input over MAX_EVENTS.
    """
    events = check_events(events)
    starts = check_session_starts(session_starts, len(events))
    if len(events) + len(starts) > MAX_EVENTS:
        raise GrammarError(f"{len(events)} events and {len(starts)} sessions exceed the "
                           f"maximum Sequitur input of {MAX_EVENTS} symbols: build "
                           "grammars of shorter pieces")

    out = _ffi.new("sq_grammar **")
    bad_index = _ffi.new("int64_t *")
    starts_pointer = _pointer(starts) if len(starts) else _ffi.NULL
    code = _lib.sq_build(_pointer(events), len(events), starts_pointer, len(starts),
                         out, bad_index)
    if code != _lib.SQ_OK:
        raise GrammarError(f"building the grammar failed at index {bad_index[0]}: "
                           f"{_message(code)}")

    try:
        symbols = np.empty(_lib.sq_grammar_num_symbols(out[0]), dtype=np.int64)
        offsets = np.empty(_lib.sq_grammar_num_rules(out[0]) + 1, dtype=np.int64)
        _lib.sq_grammar_export(out[0], _pointer(symbols), _pointer(offsets))
    finally:
        _lib.sq_grammar_free(out[0])
    return Grammar._from_arrays(symbols, offsets)
