"""FREQ search: the most compression whose validation accuracy stays close to default-1.

Guan et al. (TKDD 2026, section 4.1) train on the first four training intervals
and validate on the fifth with the online engine. They binary-search the lowering
threshold FREQ over 2, 5, 10, ..., 50,000 for the smallest value whose validation
event accuracy is within a user tolerance of default-1's. A smaller FREQ keeps
more non-terminals, so it compresses more.

Scaling: the paper's options are kept as they are and every option at or above the
number of events the candidate models train on is dropped, because no rule can
occur that often, so such a FREQ keeps no non-terminal and equals default learning.
The search space ends with one implicit option, "no non-terminals" (FREQ None),
which is default-1 itself and always passes; the search falls back to it when no
listed FREQ is accurate enough.

Tolerance is in percentage points of event accuracy: with default-1 at 95.9 % and
a tolerance of 1, a FREQ passes at 94.9 % or more.

Binary search assumes validation accuracy does not fall as FREQ grows; where a
trace breaks that, the result is a FREQ that passes, not necessarily the smallest.
"""
import dataclasses
from typing import Callable, Optional

PAPER_OPTIONS = (2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000)
DEFAULT_TOLERANCE = 1.0  # percentage points


def freq_options(train_events: int) -> list:
    """Return the FREQ options for candidates trained on ``train_events`` events."""
    return [freq for freq in PAPER_OPTIONS if freq < train_events]


@dataclasses.dataclass
class Trial:
    """Validation figures of one tried FREQ (None: no non-terminals, default-1)."""

    freq: Optional[int]
    event_accuracy_pct: float
    avg_prediction_length: float
    predictions: int
    events: int
    avg_latency_ns: float
    speedup: float  # default-1's avg latency / this run's
    vocab_size: int
    train_tokens: int
    passed: bool

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


def binary_search(options: list, passes: Callable[[int], bool]) -> int:
    """Return the smallest index i with passes(i), or len(options) if none passes.

    ``passes(len(options))`` is never called: that implicit last option always passes.
    """
    low, high = 0, len(options)
    while low < high:
        middle = (low + high) // 2
        if passes(middle):
            high = middle
        else:
            low = middle + 1
    return low


def search_record(tolerance_pct: float, baseline: Trial, options: list, trials: list,
                  chosen: Optional[int]) -> dict:
    """Return the ``freq_search`` block of model.json.

    Keys: tolerance_pct, tolerance_unit ("percentage points"), default1 (the
    baseline Trial), options (FREQs searched, ascending), tried (Trials in the
    order tried), chosen_freq (None: no non-terminals).
    """
    return {"tolerance_pct": tolerance_pct, "tolerance_unit": "percentage points",
            "default1": baseline.to_json(), "options": list(options),
            "tried": [trial.to_json() for trial in trials], "chosen_freq": chosen}
