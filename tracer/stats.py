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


def top_events(events, count) -> list:
    """Return ``(event, occurrences)`` pairs of the ``count`` most frequent events.

    Ties are broken by the smaller event value, so the order is stable.
    """
    if len(events) == 0 or count <= 0:
        return []
    if int(events.max()) < _BINCOUNT_MAX_VALUE:
        occurrences = np.bincount(events)
        values = np.nonzero(occurrences)[0]
        occurrences = occurrences[values]
    else:
        values, occurrences = np.unique(events, return_counts=True)
    order = np.lexsort((values, -occurrences))[:count]
    return [(int(values[i]), int(occurrences[i])) for i in order]
