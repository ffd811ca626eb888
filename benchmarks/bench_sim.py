"""Simulator speed: accesses per second of complearn's C core, pycachesim and libCacheSim.

Usage: ``.venv/bin/python benchmarks/bench_sim.py [--accesses N] [--repeats R]``

All three simulate a 32 KiB LRU cache with 64-byte lines on the same trace. It
is the libquantum block sequence (210,486 accesses) repeated to N accesses
(default 5,000,000). complearn and pycachesim model 64 sets of 8 ways;
libCacheSim models a fully associative 32 KiB LRU cache of 64-byte objects (it
has no set-associative mode), so its counts may differ slightly. Hit counts
are printed beside the speeds so agreement is visible. Timings cover the
simulation call only, best of R, both as CPU time of this process (steady on a
shared machine) and as wall time; building pycachesim's Python list of
addresses and libCacheSim's trace file is timed separately (wall).
"""
import argparse
import gzip
import pathlib
import tempfile
import time

import numpy as np

from sim.config import LevelConfig
from sim.core import CacheSim

REPO = pathlib.Path(__file__).resolve().parent.parent
TRACE = REPO.parent / "shared" / "data" / "dpc2" / "dpc2_libquantum_blocks64.txt.gz"


def load_blocks(accesses):
    with gzip.open(TRACE, "rt") as handle:
        blocks = np.array([int(line) for line in handle], dtype=np.int64)
    return np.resize(blocks, accesses)


def best_time(function, repeats):
    """Return ((fastest CPU seconds, fastest wall seconds), last result) over ``repeats`` calls."""
    best_cpu, best_wall, result = float("inf"), float("inf"), None
    for _ in range(repeats):
        cpu, wall = time.process_time(), time.perf_counter()
        result = function()
        best_cpu = min(best_cpu, time.process_time() - cpu)
        best_wall = min(best_wall, time.perf_counter() - wall)
    return (best_cpu, best_wall), result


def run_complearn(blocks, prefetcher, repeats):
    def once():
        sim = CacheSim([LevelConfig(32768, 8, 64)], policy="lru")
        sim.set_prefetcher(prefetcher, 1, 1)
        sim.run(blocks)
        return sim.level_stats(0)["hits"]
    return best_time(once, repeats)


def run_pycachesim(blocks, repeats):
    import cachesim

    begin = time.perf_counter()
    addresses = (blocks * 64).tolist()
    prepare = time.perf_counter() - begin

    def once():
        memory = cachesim.MainMemory()
        cache = cachesim.Cache("L1", 64, 8, 64, "LRU")
        memory.load_to(cache)
        memory.store_from(cache)
        cachesim.CacheSimulator(cache, memory).load(addresses)
        return cache.backend.HIT_count
    return best_time(once, repeats) + (prepare,)


def run_libcachesim(blocks, repeats):
    import libcachesim

    # oracleGeneral records: u32 time, u64 object id, u32 size, i64 next access (-1: unknown).
    record = np.dtype([("time", "<u4"), ("obj_id", "<u8"), ("obj_size", "<u4"), ("next", "<i8")])
    begin = time.perf_counter()
    records = np.zeros(blocks.shape[0], dtype=record)
    records["time"] = np.arange(blocks.shape[0]) // 1000 + 1
    records["obj_id"] = blocks
    records["obj_size"] = 64
    records["next"] = -1
    with tempfile.TemporaryDirectory() as folder:
        path = str(pathlib.Path(folder) / "trace.oracleGeneral.bin")
        records.tofile(path)
        prepare = time.perf_counter() - begin

        def once():
            reader = libcachesim.TraceReader(path, libcachesim.TraceType.ORACLE_GENERAL_TRACE)
            miss_ratio, _ = libcachesim.LRU(cache_size=32768).process_trace(reader)
            return blocks.shape[0] - round(miss_ratio * blocks.shape[0])
        return best_time(once, repeats) + (prepare,)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accesses", type=int, default=5_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    blocks = load_blocks(args.accesses)
    n = blocks.shape[0]

    rows = []
    for prefetcher in ("none", "next-line", "stride"):
        seconds, hits = run_complearn(blocks, prefetcher, args.repeats)
        rows.append((f"complearn sim, prefetcher {prefetcher}", seconds, hits, None))
    for name, runner in (("pycachesim 0.3.1, list load", run_pycachesim),
                         ("libCacheSim LRU (fully assoc.)", run_libcachesim)):
        try:
            seconds, hits, prepare = runner(blocks, args.repeats)
        except ImportError as error:
            print(f"{name}: skipped ({error})")
            continue
        rows.append((name, seconds, hits, prepare))

    print(f"{n:,} accesses, 32 KiB LRU, 64-byte lines, best of {args.repeats}\n")
    print("| simulator | M accesses/s (CPU) | M accesses/s (wall) | hits | misses | input preparation (s) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, (cpu, wall), hits, prepare in rows:
        prep = "-" if prepare is None else f"{prepare:.2f}"
        print(f"| {name} | {n / cpu / 1e6:.1f} | {n / wall / 1e6:.1f} | {hits:,} | {n - hits:,} | {prep} |")


if __name__ == "__main__":
    main()
