"""Prefetch accounting: hand-computed counts for next-line and stride, prediction
replay with ideal and hopeless latency, and the identity
issued = useful + late + useless + resident at end."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from predictor.predfile import write_predictions
from sim.config import LevelConfig
from sim.core import CacheSim
from sim.run import simulate
from tracer.tracefile import read_trace, write_trace


def mem_trace(tmp_path, blocks, name="mem.trace"):
    blocks = np.asarray(blocks, dtype=np.int64)
    path = tmp_path / name
    write_trace(path, "mem", blocks, flags=np.zeros(blocks.shape[0], dtype=np.uint8))
    return read_trace(path)


def assert_identity(prefetch):
    assert prefetch.issued == (prefetch.useful + prefetch.late + prefetch.useless
                               + prefetch.resident_at_end)


def test_next_line_sequential_stream(tmp_path):
    n = 1000
    result = simulate(mem_trace(tmp_path, np.arange(n)), prefetcher="next-line")
    p = result.prefetch
    # Only block 0 misses; every later block was prefetched by its predecessor,
    # and the request for block n is still unused at the end.
    assert result.levels[0].misses == 1
    assert (p.issued, p.useful, p.late, p.useless, p.resident_at_end, p.redundant) == (n, n - 1, 0, 0, 1, 0)
    assert p.accuracy == pytest.approx((n - 1) / n)
    assert p.coverage == pytest.approx((n - 1) / n)
    assert result.baseline[0].misses == n
    assert result.improvement[0]["miss_reduction"] == pytest.approx((n - 1) / n)


def test_next_line_degree_two_counts_redundant(tmp_path):
    n = 500
    p = simulate(mem_trace(tmp_path, np.arange(n)), prefetcher="next-line", degree=2).prefetch
    # Access k > 0 requests k + 1 (already cached: redundant) and k + 2.
    assert (p.issued, p.useful, p.redundant, p.resident_at_end) == (n + 1, n - 1, n - 1, 2)
    assert_identity(p)


def test_next_line_wide_lines_trigger_per_line(tmp_path):
    # 128-byte lines hold blocks 2k and 2k + 1; only the first block of each line triggers.
    n = 400
    result = simulate(mem_trace(tmp_path, np.arange(n)), caches=["32K,8,128"], prefetcher="next-line")
    assert result.levels[0].misses == 1
    assert result.prefetch.useful == n // 2 - 1


def test_next_line_too_slow_is_all_late(tmp_path):
    # Delay ceil(2.5 / 1) = 3 accesses: every prefetch of the next block arrives late.
    n = 300
    result = simulate(mem_trace(tmp_path, np.arange(n)), prefetcher="next-line", latency_ns=2.5)
    p = result.prefetch
    assert result.levels[0].misses == n
    assert (p.issued, p.useful, p.late, p.resident_at_end, p.in_flight_at_end) == (n, 0, n - 1, 1, 1)
    assert p.mean_delay_accesses == 3


def test_next_line_degree_four_outruns_delay(tmp_path):
    # Delay 3, degree 4: blocks 1 and 2 are late, from block 3 on every access
    # hits a prefetched line; access k issues line k + 4, so 4 lines stay unused.
    n = 300
    result = simulate(mem_trace(tmp_path, np.arange(n)), prefetcher="next-line", degree=4,
                      latency_ns=3, access_interval_ns=1)
    p = result.prefetch
    assert result.levels[0].misses == 3
    assert (p.issued, p.useful, p.late, p.useless, p.resident_at_end) == (n + 3, n - 3, 2, 0, 4)


def test_stride_detects_constant_delta(tmp_path):
    # Blocks 0, 5, 10, ...: the delta repeats from the third access on, which
    # then requests the next block along the stride.
    n = 200
    result = simulate(mem_trace(tmp_path, np.arange(n) * 5), prefetcher="stride")
    p = result.prefetch
    assert result.levels[0].misses == 3
    assert (p.issued, p.useful, p.resident_at_end) == (n - 2, n - 3, 1)


def test_stride_ignores_repeated_block(tmp_path):
    # Each block twice: zero deltas are skipped, so the stride of 3 is still found.
    blocks = np.repeat(np.arange(100) * 3, 2)
    result = simulate(mem_trace(tmp_path, blocks), prefetcher="stride")
    assert result.levels[0].misses == 3
    assert result.prefetch.useful == 97


def future_predictions(trace, path, length=1, latency_ns=0, stream_start=0, skip=()):
    """Predict the next ``length`` events exactly after every event except those in ``skip``."""
    events = np.asarray(trace.events)
    index = np.array([t for t in range(stream_start, trace.num_events - 1) if t not in set(skip)])
    chunks = [events[t + 1:t + 1 + length] for t in index]
    offsets = np.concatenate([[0], np.cumsum([len(chunk) for chunk in chunks])])
    meta = {"method": "compressed", "trace_checksum": trace.checksum, "trace_events": trace.num_events,
            "stream_start": stream_start, "stream_stop": trace.num_events}
    write_predictions(path, index, offsets, np.concatenate(chunks), np.full(len(index), latency_ns), meta)
    return path


FRESH = 100_000  # blocks from here on appear once in the trace below


@pytest.fixture
def fresh_trace(tmp_path):
    """Random blocks below 3000, with a never-seen block at every 50th access."""
    rng = np.random.default_rng(7)
    blocks = rng.integers(0, 3000, size=4000)
    blocks[::50] = FRESH + np.arange(0, 4000, 50)
    return mem_trace(tmp_path, blocks)


def fresh_positions(trace):
    return [t for t in range(trace.num_events) if trace.events[t] >= FRESH]


def test_exact_predictions_leave_only_unpredicted_misses(fresh_trace, tmp_path):
    # No prediction announces a fresh block, and every other access was
    # predicted by the access before it with latency 0.
    fresh = fresh_positions(fresh_trace)
    path = future_predictions(fresh_trace, tmp_path / "p.npz", skip=[t - 1 for t in fresh])
    result = simulate(fresh_trace, prefetcher="predictions", predictions=path)
    assert result.levels[0].misses == len(fresh) == 80
    assert result.prefetch.late == 0
    assert result.baseline[0].misses > 1000
    assert_identity(result.prefetch)


def test_exact_predictions_after_warmup(fresh_trace, tmp_path):
    # Stream from event 1000: events before it only warm the caches.
    fresh = fresh_positions(fresh_trace)
    path = future_predictions(fresh_trace, tmp_path / "p.npz", stream_start=1000,
                              skip=[t - 1 for t in fresh])
    result = simulate(fresh_trace, prefetcher="predictions", predictions=path)
    assert (result.start, result.stop, result.accesses) == (1000, 4000, 3000)
    assert result.levels[0].accesses == 3000
    assert result.levels[0].misses == len([t for t in fresh if t >= 1000])


def test_predictions_slower_than_trace_are_useless(fresh_trace, tmp_path):
    path = future_predictions(fresh_trace, tmp_path / "p.npz", length=4)
    slow = future_predictions(fresh_trace, tmp_path / "slow.npz", length=4, latency_ns=10**9)
    for predictions, override in ((slow, None), (path, 1e9)):
        result = simulate(fresh_trace, prefetcher="predictions", degree=4,
                          predictions=predictions, latency_ns=override)
        p = result.prefetch
        assert p.useful == 0
        assert p.late > 0
        assert result.levels[0].misses == result.baseline[0].misses
        assert_identity(p)


def test_degree_limits_distinct_lines(fresh_trace, tmp_path):
    # Four predicted blocks per prediction, of which degree 1 requests only the first.
    path = future_predictions(fresh_trace, tmp_path / "p.npz", length=4, latency_ns=3)
    one = simulate(fresh_trace, prefetcher="predictions", predictions=path, degree=1)
    four = simulate(fresh_trace, prefetcher="predictions", predictions=path, degree=4)
    assert one.prefetch.issued + one.prefetch.redundant == fresh_trace.num_events - 1
    assert four.prefetch.issued + four.prefetch.redundant > 3 * (fresh_trace.num_events - 4)
    assert one.levels[0].misses > four.levels[0].misses


prefetchers = st.sampled_from(["next-line", "stride", "predictions"])


@settings(max_examples=40, deadline=None)
@given(blocks=st.lists(st.integers(min_value=0, max_value=300), min_size=2, max_size=500),
       prefetcher=prefetchers, degree=st.integers(min_value=1, max_value=6),
       delays=st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=20),
       policy=st.sampled_from(["lru", "fifo", "random", "srrip"]),
       inclusive=st.booleans(), two_levels=st.booleans())
def test_identity_holds_for_any_trace(blocks, prefetcher, degree, delays, policy, inclusive,
                                      two_levels):
    levels = [LevelConfig(4 * 2 * 64, 2, 64)]
    if two_levels:
        levels.append(LevelConfig(8 * 2 * 128, 2, 128))
    sim = CacheSim(levels, policy=policy, inclusive=inclusive, seed=3)
    sim.set_prefetcher(prefetcher, degree, delays[0])
    if prefetcher == "predictions":
        # Prediction j after event j: the next few blocks, shuffled by a fixed rule.
        n = len(blocks)
        chunks = [blocks[t + 1:t + 4][::-1] for t in range(n - 1)]
        offsets = np.concatenate([[0], np.cumsum([len(c) for c in chunks])])
        delay = [delays[t % len(delays)] for t in range(n - 1)]
        sim.set_predictions(np.arange(n - 1), offsets, np.concatenate(chunks), delay)
    sim.run(blocks)
    p = sim.prefetch_stats()
    assert p["issued"] == p["useful"] + p["late"] + p["useless"] + p["resident_at_end"]
    assert p["useful"] <= sim.level_stats(0)["hits"]
    assert p["late"] <= sim.level_stats(0)["misses"]
    assert p["in_flight_at_end"] <= p["resident_at_end"]
