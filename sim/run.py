"""Run a memory trace through caches with a prefetcher: ``simulate``.

``simulate(trace, caches=None, policy="lru", prefetcher="none", degree=None,
predictions=None, access_interval_ns=1.0, latency_ns=None, seed=0,
inclusive=True, start=None, stop=None, baseline=True) -> SimResult``

trace
    A ``mem`` trace: a path or a ``tracer.tracefile.Trace``. Events are 64-byte
    block numbers; with line size L a block b lies in line b * 64 // L. Sessions
    are replayed one after another through the same caches.
caches
    Levels, first level first: ``"SIZE,WAYS[,LINE]"`` strings (``"32K,8"``,
    ``"1M,16,64"``; sizes in bytes with K/M/G suffixes) or ``sim.config.LevelConfig``.
    Default: one 32 KiB, 8-way level with 64-byte lines.
policy
    Replacement policy of every level: ``lru``, ``fifo``, ``random`` (seeded by
    ``seed``) or ``srrip``.
prefetcher, degree
    ``none``, ``next-line`` (tagged: on a miss or the first hit on a prefetched
    line, request the next ``degree`` lines), ``stride`` (PC-less delta
    detector: when two successive non-zero block deltas are equal, request
    ``degree`` blocks ahead along that delta) or ``predictions`` (replay a
    prediction file). Default degree: 1, or 16 for ``predictions``.
predictions
    Path of a prediction file (``predictor.predfile``) made for this trace. A
    prediction made after event t requests the first ``degree`` distinct
    first-level lines among its predicted blocks; they arrive
    max(1, ceil(latency_ns / access_interval_ns)) accesses after t, where
    latency_ns is the prediction's measured latency or the ``latency_ns``
    override. Arriving at t + 1 is the ideal case (latency 0). By default only
    the file's stream range [stream_start, stream_stop) is counted.
access_interval_ns, latency_ns
    Nanoseconds between two accesses, and a latency override in ns. For
    ``next-line`` and ``stride`` the delay comes from ``latency_ns`` (default 0).
inclusive
    Inclusive hierarchy: an eviction from a lower level removes the line from
    every level above it. Prefetches fill the first level and every level
    below that lacks the line.
start, stop
    Trace index range whose accesses are counted. Accesses before ``start``
    warm the caches with counters and prefetcher off; accesses from ``stop``
    on are not simulated.
baseline
    Also run without prefetching over the same range (``SimResult.baseline``).

Returns a ``sim.stats.SimResult``; ``to_dict()`` gives ``config``, ``accesses``,
``start``, ``stop``, ``warmup_accesses``, ``levels``, ``prefetch``,
``baseline``, ``improvement`` and ``denominators`` (see ``sim.stats``).
Raises ``ConfigError`` for invalid settings, ``TraceKindError`` for a trace that
is not a memory trace, and ``PredictionFileError`` for a prediction file that
is unreadable or made for another trace.
"""
import os

import numpy as np

from sim import replay
from sim.config import BLOCK_BYTES, check_policy, parse_levels
from sim.core import PREFETCHER_IDS, CacheSim
from sim.errors import ConfigError, SimError, TraceKindError
from sim.stats import LevelResult, PrefetchResult, SimResult
from tracer.errors import TraceError
from tracer.tracefile import Trace, read_trace

DEFAULT_DEGREE = {"none": 1, "next-line": 1, "stride": 1, "predictions": 16}
MAX_DEGREE = 4096


def simulate(trace, caches=None, policy="lru", prefetcher="none", degree=None, predictions=None,
             access_interval_ns=1.0, latency_ns=None, seed=0, inclusive=True, start=None,
             stop=None, baseline=True) -> SimResult:
    """Simulate ``trace`` through the caches; see the module docstring for every argument."""
    # 1. Settings.
    trace = _open_trace(trace)
    levels = parse_levels(caches)
    check_policy(policy)
    degree = _check_prefetcher(prefetcher, degree, predictions)
    replay.check_timing(access_interval_ns, latency_ns)

    # 2. Predictions and the counted range.
    plan = None
    if predictions is not None:
        plan = replay.load_replay(predictions, trace, access_interval_ns, latency_ns)
    start, stop = _check_range(trace, plan, start, stop)
    delay = int(replay.delay_accesses(latency_ns or 0, access_interval_ns))

    # 3. The run with the prefetcher, then the same range without it.
    main = _run_once(trace.events, levels, policy, inclusive, seed, start, stop,
                     prefetcher, degree, delay, plan)
    base = None
    if baseline and prefetcher != "none":
        base = _run_once(trace.events, levels, policy, inclusive, seed, start, stop,
                         "none", 1, 1, None)[0]

    config = {"trace": trace.path, "trace_checksum": trace.checksum,
              "levels": [{"name": f"L{i + 1}", "size_bytes": level.size_bytes, "sets": level.sets,
                          "ways": level.ways, "line_bytes": level.line_bytes}
                         for i, level in enumerate(levels)],
              "policy": policy, "inclusive": bool(inclusive), "prefetcher": prefetcher,
              "degree": degree, "access_interval_ns": float(access_interval_ns),
              "latency_ns": latency_ns, "seed": seed,
              "predictions": None if plan is None else plan.path}
    level_results, prefetch = main
    if prefetch is not None:
        prefetch.mean_delay_accesses = float(plan.delay.mean()) if plan and plan.count else float(delay)
    return SimResult(config=config, accesses=stop - start, start=start, stop=stop,
                     levels=level_results, prefetch=prefetch, baseline=base)


def _open_trace(trace) -> Trace:
    if not isinstance(trace, Trace):
        try:
            trace = read_trace(os.fspath(trace))
        except TraceError as error:
            raise SimError(str(error)) from None
    if trace.kind != "mem":
        raise TraceKindError(f"{trace.path}: a {trace.kind} trace, but the cache simulator needs a "
                             "mem trace (block numbers); record one with 'complearn trace --kind mem'")
    block = trace.meta.get("block_size", BLOCK_BYTES)
    if block != BLOCK_BYTES:
        raise TraceKindError(f"{trace.path}: block size {block} B, the simulator reads {BLOCK_BYTES}-byte "
                             "blocks; re-import the trace with 64-byte blocks")
    return trace


def _check_prefetcher(prefetcher, degree, predictions) -> int:
    if prefetcher not in PREFETCHER_IDS:
        raise ConfigError(f"prefetcher {prefetcher!r} is unknown; use one of {', '.join(PREFETCHER_IDS)}")
    if (prefetcher == "predictions") != (predictions is not None):
        raise ConfigError("prefetcher 'predictions' and a prediction file go together; give both "
                          "or neither (use start and stop to count the same range without it)")
    degree = DEFAULT_DEGREE[prefetcher] if degree is None else degree
    if not isinstance(degree, (int, np.integer)) or not 1 <= degree <= MAX_DEGREE:
        raise ConfigError(f"prefetch degree {degree!r} is invalid; use an integer from 1 to {MAX_DEGREE}")
    return int(degree)


def _check_range(trace, plan, start, stop):
    if start is None:
        start = plan.stream_start if plan else 0
    if stop is None:
        stop = plan.stream_stop if plan else trace.num_events
    if not 0 <= start <= stop <= trace.num_events:
        raise ConfigError(f"access range [{start}, {stop}) is invalid for a trace of "
                          f"{trace.num_events} accesses")
    return int(start), int(stop)


def _run_once(events, levels, policy, inclusive, seed, start, stop, prefetcher, degree, delay, plan):
    sim = CacheSim(levels, policy=policy, inclusive=inclusive, seed=seed)
    sim.set_prefetcher(prefetcher, degree, delay)
    if plan is not None:
        sim.set_predictions(plan.event_index, plan.offsets, plan.predicted, plan.delay)
    sim.run(events[:start], first_time=0, counting=False)
    sim.run(events[start:stop], first_time=start, counting=True)

    counted = [sim.level_stats(i) for i in range(len(levels))]
    first_accesses = counted[0]["accesses"]
    results = [LevelResult(name=f"L{i + 1}", trace_accesses=first_accesses, **stats)
               for i, stats in enumerate(counted)]
    prefetch = None
    if prefetcher != "none":
        prefetch = PrefetchResult(demand_misses=counted[0]["misses"], mean_delay_accesses=0.0,
                                  **sim.prefetch_stats())
    return results, prefetch
