"""Replacement policies and inclusion on geometries small enough to work out by hand.

Every cache here has 2 sets of 2 ways with 64-byte lines, so block b lies in
set b % 2. Each step lists the block accessed, whether it hits, and the lines
of set 0 and set 1 by way afterwards (None for an empty way). The last test checks
inclusion on random runs instead.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.config import LevelConfig
from sim.core import LINE_USED, CacheSim

TWO_BY_TWO = LevelConfig(size_bytes=2 * 2 * 64, ways=2, line_bytes=64)


def step_through(policy, steps, seed=0):
    """Access the blocks of ``steps`` one at a time and check each outcome and the contents."""
    sim = CacheSim([TWO_BY_TWO], policy=policy, seed=seed)
    for number, (block, hit, set0, set1) in enumerate(steps):
        before = sim.level_stats(0)["hits"]
        sim.run([block], first_time=number)
        lines = [[None if way is None else way[0] for way in ways] for ways in sim.contents(0)]
        assert (sim.level_stats(0)["hits"] - before == 1) == hit, f"step {number}: block {block}"
        assert lines == [set0, set1], f"step {number}: contents after block {block}"
    return sim.level_stats(0)


def test_lru_two_sets_two_ways():
    stats = step_through("lru", [
        (0, False, [0, None], [None, None]),
        (2, False, [0, 2], [None, None]),
        (0, True, [0, 2], [None, None]),
        (4, False, [0, 4], [None, None]),     # 2 is least recently used
        (2, False, [2, 4], [None, None]),     # 0 (used at step 2) is older than 4
        (1, False, [2, 4], [1, None]),
        (0, False, [2, 0], [1, None]),        # 4 is older than 2
    ])
    assert stats == {"accesses": 7, "hits": 1, "misses": 6, "evictions": 3, "back_invalidations": 0}


def test_fifo_two_sets_two_ways():
    stats = step_through("fifo", [
        (0, False, [0, None], [None, None]),
        (2, False, [0, 2], [None, None]),
        (0, True, [0, 2], [None, None]),      # a hit does not reorder
        (4, False, [4, 2], [None, None]),     # 0 was filled first
        (2, True, [4, 2], [None, None]),
        (1, False, [4, 2], [1, None]),
        (0, False, [4, 0], [1, None]),        # 2 was filled before 4
    ])
    assert stats == {"accesses": 7, "hits": 2, "misses": 5, "evictions": 2, "back_invalidations": 0}


def test_srrip_two_sets_two_ways():
    # RRPVs of set 0 in brackets: fill 2, hit 0, victim the lowest way at 3
    # after incrementing the whole set until one way reaches 3.
    stats = step_through("srrip", [
        (0, False, [0, None], [None, None]),  # [2, -]
        (2, False, [0, 2], [None, None]),     # [2, 2]
        (0, True, [0, 2], [None, None]),      # [0, 2]
        (4, False, [0, 4], [None, None]),     # [1, 3] -> evict way 1 -> [1, 2]
        (2, False, [0, 2], [None, None]),     # [2, 3] -> evict way 1 -> [2, 2]
        (1, False, [0, 2], [1, None]),
        (6, False, [6, 2], [1, None]),        # [3, 3] -> evict way 0 -> [2, 3]
        (0, False, [6, 0], [1, None]),        # way 1 is at 3 already -> [2, 2]
    ])
    assert stats == {"accesses": 8, "hits": 1, "misses": 7, "evictions": 4, "back_invalidations": 0}


def splitmix64(state):
    """Return (next state, output) of SplitMix64, as the C random policy computes it."""
    mask = 2**64 - 1
    state = (state + 0x9E3779B97F4A7C15) & mask
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
    return state, z ^ (z >> 31)


@pytest.mark.parametrize("seed", [0, 1, 12345])
def test_random_victims_follow_seeded_prng(seed):
    # Set 0 fills ways 0 and 1, then every further new block replaces the way
    # that the seed's SplitMix64 stream picks (output % 2).
    blocks = [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]
    state = seed
    ways = [0, 2]
    steps = [(0, False, [0, None], [None, None]), (2, False, [0, 2], [None, None])]
    for block in blocks[2:]:
        state, output = splitmix64(state)
        ways[output % 2] = block
        steps.append((block, False, list(ways), [None, None]))
    stats = step_through("random", steps, seed=seed)
    assert stats["evictions"] == len(blocks) - 2


def test_random_seed_changes_victims():
    contents = []
    for seed in range(8):
        sim = CacheSim([TWO_BY_TWO], policy="random", seed=seed)
        sim.run([0, 2, 4, 6, 8, 10, 12, 14])
        contents.append(tuple(way[0] for way in sim.contents(0)[0]))
    assert len(set(contents)) > 1


def test_demand_fill_marks_line_used():
    sim = CacheSim([TWO_BY_TWO])
    sim.run([3])
    assert sim.contents(0)[1][0] == (3, LINE_USED)


# Inclusion: L1 has 2 sets of 1 way, L2 one set of 2 ways (both 64-byte lines).
L1_DIRECT = LevelConfig(size_bytes=2 * 64, ways=1, line_bytes=64)
L2_ONE_SET = LevelConfig(size_bytes=2 * 64, ways=2, line_bytes=64)


def lines_of(sim, level):
    return [[None if way is None else way[0] for way in ways] for ways in sim.contents(level)]


def test_inclusive_eviction_back_invalidates_l1():
    sim = CacheSim([L1_DIRECT, L2_ONE_SET], inclusive=True)
    sim.run([0, 1])
    assert lines_of(sim, 0) == [[0], [1]]
    assert lines_of(sim, 1) == [[0, 1]]

    # Block 3 misses both; L2 evicts its LRU line 0, which leaves L1 too.
    sim.run([3], first_time=2)
    assert lines_of(sim, 1) == [[3, 1]]
    assert lines_of(sim, 0) == [[None], [3]]

    # So block 0 misses in L1 again.
    sim.run([0], first_time=3)
    l1, l2 = sim.level_stats(0), sim.level_stats(1)
    assert l1 == {"accesses": 4, "hits": 0, "misses": 4, "evictions": 1, "back_invalidations": 1}
    assert l2 == {"accesses": 4, "hits": 0, "misses": 4, "evictions": 2, "back_invalidations": 0}
    assert lines_of(sim, 0) == [[0], [3]]
    assert lines_of(sim, 1) == [[3, 0]]


def test_non_inclusive_keeps_l1_line():
    sim = CacheSim([L1_DIRECT, L2_ONE_SET], inclusive=False)
    sim.run([0, 1, 3, 0])
    assert lines_of(sim, 0) == [[0], [3]]
    assert sim.level_stats(0)["hits"] == 1
    assert sim.level_stats(0)["back_invalidations"] == 0
    assert sim.level_stats(1)["accesses"] == 3


def test_wider_l2_line_invalidates_both_l1_halves():
    # L2 lines are 128 B (blocks 2k and 2k+1); evicting one removes two L1 lines.
    l1 = LevelConfig(size_bytes=4 * 64, ways=4, line_bytes=64)
    l2 = LevelConfig(size_bytes=128, ways=1, line_bytes=128)
    sim = CacheSim([l1, l2])
    sim.run([0, 1, 2])
    assert sorted(line for line in lines_of(sim, 0)[0] if line is not None) == [2]
    assert sim.level_stats(0)["back_invalidations"] == 2
    assert lines_of(sim, 1) == [[1]]


def resident_lines(sim, level):
    return {way[0] for ways in sim.contents(level) for way in ways if way is not None}


@settings(max_examples=60, deadline=None)
@given(blocks=st.lists(st.integers(min_value=0, max_value=200), min_size=1, max_size=400),
       prefetcher=st.sampled_from(["none", "next-line", "stride", "predictions"]),
       policy=st.sampled_from(["lru", "fifo", "random", "srrip"]),
       line_shifts=st.sampled_from([(0, 0), (0, 1), (0, 0, 1), (0, 1, 2)]),
       degree=st.integers(min_value=1, max_value=4), delay=st.integers(min_value=1, max_value=6))
def test_inclusion_holds_after_any_run(blocks, prefetcher, policy, line_shifts, degree, delay):
    # Each level's ways and sets are small next to the 200 blocks, so every level
    # evicts; an upper-level line must then still lie inside a line of every level below.
    levels = [LevelConfig(size_bytes=(2 << i) * 2 * (64 << shift), ways=2, line_bytes=64 << shift)
              for i, shift in enumerate(line_shifts)]
    sim = CacheSim(levels, policy=policy, inclusive=True, seed=5)
    sim.set_prefetcher(prefetcher, degree, delay)
    if prefetcher == "predictions":
        n = len(blocks)
        chunks = [blocks[t + 1:t + 5] for t in range(n - 1)] or [[]]
        offsets = np.concatenate([[0], np.cumsum([len(chunk) for chunk in chunks])])
        sim.set_predictions(np.arange(len(chunks)), offsets,
                            np.array(sum(chunks, []), dtype=np.int64), np.full(len(chunks), delay))
    sim.run(blocks)

    for upper in range(len(levels) - 1):
        for lower in range(upper + 1, len(levels)):
            shift = line_shifts[lower] - line_shifts[upper]
            below = resident_lines(sim, lower)
            missing = sorted(line for line in resident_lines(sim, upper) if line >> shift not in below)
            assert missing == [], f"L{upper + 1} lines absent from L{lower + 1}"
