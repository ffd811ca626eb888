"""Train, validation and test ranges of a trace.

Guan et al. (TKDD 2026, section 4.1) cut each 500,000-event trace into ten
intervals of 50,000 events: the first five train the model and the last five are
the test stream for online prediction. During the FREQ search the first four
training intervals train and the fifth validates. This module scales that layout
to any trace length:

- ``train_events`` (default: half of the trace) are the training part, starting
  at event 0;
- the validation part is the last ``interval`` events of the training part
  (default: a fifth of it), so the model trains on the events before it;
- the test stream follows the training part and runs for ``test_events``
  (default: the rest of the trace).

A range boundary may cut a session. Each part then starts a new session at its
first event, because online prediction and training restart the model state
there; session starts inside a part are kept.
"""
import dataclasses
from typing import Optional

import numpy as np

from predictor.errors import PredictorError

TRAIN_INTERVALS = 5  # intervals in the training part; the last one validates


@dataclasses.dataclass(frozen=True)
class Split:
    """Event index ranges ``[start, stop)`` of the three parts of one trace."""

    num_events: int  # events in the whole trace
    train_stop: int  # the model trains on [0, valid_start)
    interval: int  # events per interval; validation is [valid_start, train_stop)
    test_start: int
    test_stop: int

    @property
    def valid_start(self) -> int:
        return self.train_stop - self.interval

    @property
    def fit_range(self) -> tuple:
        """Events the model's weights are trained on (the first training intervals)."""
        return (0, self.valid_start)

    @property
    def valid_range(self) -> tuple:
        return (self.valid_start, self.train_stop)

    @property
    def test_range(self) -> tuple:
        return (self.test_start, self.test_stop)

    def to_json(self) -> dict:
        data = dataclasses.asdict(self)
        data["valid_start"] = self.valid_start
        return data

    @classmethod
    def from_json(cls, data: dict) -> "Split":
        fields = {field.name for field in dataclasses.fields(cls)}
        return cls(**{key: int(value) for key, value in data.items() if key in fields})


def make_split(num_events: int, train_events: Optional[int] = None,
               test_events: Optional[int] = None, interval: Optional[int] = None) -> Split:
    """Split a trace of ``num_events`` events; see the module docstring for the defaults.

    Raises PredictorError when the trace is too short or an override does not fit.
    """
    # Every training interval needs 2 events (one next-event pair), and the test
    # stream is as long as the training part.
    needed = 2 * (2 * TRAIN_INTERVALS)
    if train_events is None and num_events < needed:
        raise PredictorError(f"trace has {num_events} events, too few to split into training, "
                             f"validation and test parts: at least {needed} are needed")

    # 1. Training part.
    if train_events is None:
        train_events = num_events // 2
    if not 0 < train_events <= num_events:
        raise PredictorError(f"--train-events {train_events} is outside the trace's "
                             f"{num_events} events: use a value from 4 to {num_events}")

    # 2. Validation interval: the end of the training part.
    if interval is None:
        interval = train_events // TRAIN_INTERVALS
        if interval < 2:
            raise PredictorError(
                f"--train-events {train_events} is too few: its last fifth validates and needs "
                f"at least 2 events, so give at least {2 * TRAIN_INTERVALS} training events, or "
                "set --interval")
    if interval < 2 or train_events - interval < 2:
        raise PredictorError(
            f"--interval {interval} leaves no room in {train_events} training events: both the "
            f"validation interval and the events before it need at least 2 events")

    # 3. Test stream.
    available = num_events - train_events
    if test_events is None:
        test_events = available
    if not 0 <= test_events <= available:
        raise PredictorError(f"--test-events {test_events} does not fit: {available} events "
                             f"follow the {train_events} training events")
    return Split(num_events=num_events, train_stop=train_events, interval=interval,
                 test_start=train_events, test_stop=train_events + test_events)


def part_sessions(session_starts, start: int, stop: int) -> np.ndarray:
    """Return the session starts of events[start:stop], relative to ``start``.

    The part's first event always starts a session.
    """
    starts = np.asarray(session_starts, dtype=np.int64)
    inside = starts[(starts > start) & (starts < stop)] - start
    return np.concatenate([np.zeros(1, dtype=np.int64), inside]) if stop > start else inside
