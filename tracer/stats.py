"""Small statistics over trace event arrays, shared by the importers and ``complearn info``."""
import numpy as np

# Above this many distinct values a bincount table would cost more memory than sorting.
_BINCOUNT_MAX_VALUE = 1 << 24


def count_distinct(events) -> int:
    """Return the number of distinct values in an int64 event array (values >= 0)."""
    if len(events) == 0:
        return 0
    if int(events.max()) < _BINCOUNT_MAX_VALUE:
        return int(np.count_nonzero(np.bincount(events)))
    return int(np.unique(events).size)
