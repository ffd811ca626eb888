"""Small statistics over trace event arrays, shared by the importers and ``complearn info``."""
import numpy as np

# Above this many distinct values a bincount table would cost more memory than sorting.
_BINCOUNT_MAX_VALUE = 1 << 24
# Events sorted at once: a memory trace of billions of events is counted piece by
# piece, so memory grows with its distinct blocks, not with its length.
_SORT_CHUNK = 1 << 25


def _distinct_counts(events, chunk):
    """Return the sorted distinct values of ``events`` and their occurrences, ``chunk`` at a time."""
    values = np.zeros(0, dtype=np.int64)
    occurrences = np.zeros(0, dtype=np.int64)
    for start in range(0, len(events), chunk):
        piece_values, piece_occurrences = np.unique(events[start:start + chunk], return_counts=True)
        merged, inverse = np.unique(np.concatenate([values, piece_values]), return_inverse=True)
        occurrences = np.bincount(inverse, weights=np.concatenate([occurrences, piece_occurrences]),
                                  minlength=len(merged)).astype(np.int64)
        values = merged
    return values, occurrences


def count_distinct(events, chunk=_SORT_CHUNK) -> int:
    """Return the number of distinct values in an int64 event array (values >= 0)."""
    if len(events) == 0:
        return 0
    if int(events.max()) < _BINCOUNT_MAX_VALUE:
        return int(np.count_nonzero(np.bincount(events)))
    return len(_distinct_counts(events, chunk)[0])


def top_events(events, count, chunk=_SORT_CHUNK) -> list:
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
        values, occurrences = _distinct_counts(events, chunk)
    order = np.lexsort((values, -occurrences))[:count]
    return [(int(values[i]), int(occurrences[i])) for i in order]
