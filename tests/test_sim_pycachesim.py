"""Differential tests: plain LRU hit and miss counts equal pycachesim 0.3.1's.

pycachesim's list-taking ``load`` is used, because its scalar call truncates
64-bit addresses in 0.3.1, and the real trace's addresses need 48 bits.
"""
import gzip

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.config import LevelConfig
from sim.core import CacheSim

cachesim = pytest.importorskip("cachesim")


def pycachesim_counts(blocks, levels):
    """Return [(hits, misses)] per level from pycachesim for loads of ``blocks``."""
    memory = cachesim.MainMemory()
    caches = []
    below = None
    for index, level in reversed(list(enumerate(levels))):
        cache = cachesim.Cache(f"L{index + 1}", level.sets, level.ways, level.line_bytes, "LRU",
                               load_from=below, store_to=below)
        if below is None:
            memory.load_to(cache)
            memory.store_from(cache)
        caches.insert(0, cache)
        below = cache
    simulator = cachesim.CacheSimulator(caches[0], memory)
    simulator.load([int(block) * 64 for block in blocks])
    return [(cache.backend.HIT_count, cache.backend.MISS_count) for cache in caches]


def our_counts(blocks, levels, inclusive=False):
    sim = CacheSim(levels, policy="lru", inclusive=inclusive)
    sim.run(np.asarray(blocks, dtype=np.int64))
    return [(sim.level_stats(i)["hits"], sim.level_stats(i)["misses"]) for i in range(len(levels))]


@pytest.fixture
def libquantum(shared_data):
    path = shared_data / "dpc2" / "dpc2_libquantum_blocks64.txt.gz"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    with gzip.open(path, "rt") as handle:
        return np.array([int(line) for line in handle], dtype=np.int64)


@pytest.mark.parametrize("spec", [(32768, 8, 64), (4096, 4, 64), (65536, 16, 128), (2048, 2, 256)])
def test_libquantum_matches_pycachesim(libquantum, spec):
    levels = [LevelConfig(*spec).validate()]
    expected = pycachesim_counts(libquantum, levels)
    assert our_counts(libquantum, levels) == expected
    assert sum(expected[0]) == libquantum.shape[0]


def test_libquantum_two_levels_match_pycachesim(libquantum):
    # pycachesim's hierarchy keeps no inclusion, so compare the non-inclusive mode.
    levels = [LevelConfig(4096, 4, 64), LevelConfig(65536, 8, 64)]
    assert our_counts(libquantum, levels, inclusive=False) == pycachesim_counts(libquantum, levels)


geometries = st.tuples(st.sampled_from([1, 2, 4, 8]), st.sampled_from([1, 2, 3, 4]),
                       st.sampled_from([64, 128]))


@settings(max_examples=60, deadline=None)
@given(geometry=geometries,
       blocks=st.lists(st.integers(min_value=0, max_value=200), min_size=1, max_size=400),
       high=st.integers(min_value=0, max_value=2**40))
def test_random_traces_match_pycachesim(geometry, blocks, high):
    sets, ways, line = geometry
    levels = [LevelConfig(sets * ways * line, ways, line)]
    # Add a large common offset so addresses need more than 32 bits.
    shifted = [block + high for block in blocks]
    assert our_counts(shifted, levels) == pycachesim_counts(shifted, levels)
