"""The one module that touches the C core ``sim._cache``.

``CacheSim`` owns a C simulator: cache levels, an in-flight prefetch queue and
one prefetcher. ``run`` hands it whole arrays of block numbers, so Python is
entered once per batch, never per access.
"""
import numpy as np

from sim._cache import ffi, lib
from sim.config import POLICIES
from sim.errors import SimError

BATCH = 1 << 20  # accesses per C call; bounds how long Ctrl-C waits
POLICY_IDS = {"lru": lib.SIM_POLICY_LRU, "fifo": lib.SIM_POLICY_FIFO,
              "random": lib.SIM_POLICY_RANDOM, "srrip": lib.SIM_POLICY_SRRIP}
PREFETCHER_IDS = {"none": lib.SIM_PREFETCH_NONE, "next-line": lib.SIM_PREFETCH_NEXT_LINE,
                  "stride": lib.SIM_PREFETCH_STRIDE, "predictions": lib.SIM_PREFETCH_REPLAY}
LINE_PREFETCHED = lib.SIM_LINE_PREFETCHED
LINE_USED = lib.SIM_LINE_USED
LEVEL_FIELDS = ("accesses", "hits", "misses", "evictions", "back_invalidations")
PREFETCH_FIELDS = ("issued", "redundant", "useful", "late", "useless", "resident_at_end",
                   "in_flight_at_end")


def _check(rc, action):
    if rc == lib.SIM_ENOMEM:
        raise MemoryError(f"cache simulator: out of memory while {action}")
    if rc != lib.SIM_OK:
        raise SimError(f"cache simulator: invalid setting while {action} (C return code {rc})")


def _int64(array):
    return np.ascontiguousarray(array, dtype=np.int64)


class CacheSim:
    """A cache hierarchy in C. ``levels`` are validated LevelConfig, first level first.

    ``policy`` names the replacement policy of every level; ``seed`` seeds the
    random policy (level i uses seed + i); ``inclusive`` enables back-invalidation.
    """

    def __init__(self, levels, policy="lru", inclusive=True, seed=0):
        if policy not in POLICIES:
            raise SimError(f"replacement policy {policy!r} is unknown; use one of {', '.join(POLICIES)}")
        self.levels = list(levels)
        configs = ffi.new("sim_level_config[]", [
            (level.sets, level.ways, level.line_bytes, POLICY_IDS[policy]) for level in self.levels])
        out = ffi.new("sim_t **")
        _check(lib.sim_new(configs, len(self.levels), int(bool(inclusive)), seed & (2**64 - 1), out),
               "creating the caches")
        self._sim = ffi.gc(out[0], lib.sim_free)
        self._keep = []  # arrays the C side points into

    def set_prefetcher(self, kind, degree=1, delay=1):
        """Select a prefetcher; requests arrive ``delay`` >= 1 accesses after issue."""
        _check(lib.sim_set_prefetcher(self._sim, PREFETCHER_IDS[kind], degree, delay),
               f"setting prefetcher {kind} with degree {degree} and delay {delay}")

    def set_predictions(self, event_index, offsets, predicted, delay):
        """Give the replay prefetcher its predictions (arrays as in predictor.predfile).

        ``delay[j]`` >= 1 is the number of accesses after ``event_index[j]`` at
        which prediction j's prefetches arrive; event_index must not decrease.
        """
        arrays = [_int64(event_index), _int64(offsets), _int64(predicted), _int64(delay)]
        pointers = [ffi.from_buffer("int64_t[]", array) for array in arrays]
        _check(lib.sim_set_predictions(self._sim, *pointers, arrays[0].shape[0]),
               "loading predictions")
        self._keep = arrays + pointers

    def run(self, blocks, first_time=0, counting=True):
        """Simulate demand accesses to ``blocks`` at times first_time, first_time + 1, ...

        With ``counting`` false the accesses only warm the caches: no counters
        change and the prefetcher is off.
        """
        for begin in range(0, len(blocks), BATCH):
            chunk = _int64(blocks[begin:begin + BATCH])
            rc = lib.sim_run(self._sim, ffi.from_buffer("int64_t[]", chunk), chunk.shape[0],
                             first_time + begin, int(bool(counting)))
            _check(rc, "simulating")

    def level_stats(self, index) -> dict:
        stats = ffi.new("sim_level_stats *")
        lib.sim_get_level_stats(self._sim, index, stats)
        return {field: int(getattr(stats, field)) for field in LEVEL_FIELDS}

    def prefetch_stats(self) -> dict:
        stats = ffi.new("sim_prefetch_stats *")
        lib.sim_get_prefetch_stats(self._sim, stats)
        return {field: int(getattr(stats, field)) for field in PREFETCH_FIELDS}

    def contents(self, index):
        """Return level ``index`` as a list of sets, each a list of (line, flags) per way.

        An empty way is ``None``; flags are LINE_PREFETCHED and LINE_USED bits.
        """
        level = self.levels[index]
        lines = np.empty(level.sets * level.ways, dtype=np.int64)
        flags = np.empty(level.sets * level.ways, dtype=np.uint8)
        lib.sim_get_contents(self._sim, index, ffi.from_buffer("int64_t[]", lines),
                             ffi.from_buffer("uint8_t[]", flags))
        result = []
        for s in range(level.sets):
            ways = []
            for w in range(level.ways):
                i = s * level.ways + w
                ways.append(None if lines[i] < 0 else (int(lines[i]), int(flags[i])))
            result.append(ways)
        return result
