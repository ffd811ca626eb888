"""Differential test of the C core's prefetch paths against a plain Python model.

The model below restates the documented rules for one cache level (LRU or
FIFO): prefetches arrive in (arrival, issue order), a demand miss on a line in
flight makes that prefetch late, and each prefetcher issues the requests its
C module's comment describes. Counters and final contents must agree exactly.
"""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.config import LevelConfig
from sim.core import LINE_PREFETCHED, LINE_USED, CacheSim


class ReferenceCache:
    """One level, one prefetcher, in Python; ``ways[s][w]`` is [line, flags, stamp] or None."""

    def __init__(self, sets, ways, line_shift, policy, prefetcher, degree, delay, predictions):
        self.sets, self.num_ways, self.shift = sets, ways, line_shift
        self.policy, self.prefetcher, self.degree, self.delay = policy, prefetcher, degree, delay
        self.predictions = predictions  # {t: (blocks, delay)}
        self.ways = [[None] * ways for _ in range(sets)]
        self.clock = 0
        self.in_flight = {}  # line -> (arrival, seq)
        self.seq = 0
        self.last_block, self.last_delta = -1, 0
        self.count = dict.fromkeys(["hits", "misses", "evictions", "issued", "redundant", "useful",
                                    "late", "useless"], 0)

    def find(self, line):
        for way, entry in enumerate(self.ways[line % self.sets]):
            if entry is not None and entry[0] == line:
                return entry
        return None

    def fill(self, line, flags):
        ways = self.ways[line % self.sets]
        empty = [way for way, entry in enumerate(ways) if entry is None]
        if empty:
            way = empty[0]
        else:
            way = min(range(self.num_ways), key=lambda w: (ways[w][2], w))
            self.count["evictions"] += 1
            if ways[way][1] == LINE_PREFETCHED:
                self.count["useless"] += 1
        self.clock += 1
        ways[way] = [line, flags, self.clock]

    def issue(self, line, arrival):
        if self.find(line) is not None or line in self.in_flight:
            self.count["redundant"] += 1
            return
        self.in_flight[line] = (arrival, self.seq)
        self.seq += 1
        self.count["issued"] += 1

    def access(self, time, block):
        for arrival, seq, line in sorted((a, s, l) for l, (a, s) in self.in_flight.items() if a <= time):
            del self.in_flight[line]
            self.fill(line, LINE_PREFETCHED)

        line = block >> self.shift
        entry = self.find(line)
        outcome = 0
        if entry is not None:
            self.count["hits"] += 1
            outcome = 1
            if entry[1] == LINE_PREFETCHED:
                self.count["useful"] += 1
                outcome = 2
            entry[1] |= LINE_USED
            if self.policy == "lru":
                self.clock += 1
                entry[2] = self.clock
        else:
            self.count["misses"] += 1
            if self.in_flight.pop(line, None) is not None:
                self.count["late"] += 1
            self.fill(line, LINE_USED)
        self.prefetch(time, block, line, outcome)

    def prefetch(self, time, block, line, outcome):
        if self.prefetcher == "next-line" and outcome != 1:
            for k in range(1, self.degree + 1):
                self.issue(line + k, time + self.delay)
        elif self.prefetcher == "stride":
            previous, self.last_block = self.last_block, block
            if previous < 0 or block == previous:
                return
            delta = block - previous
            if delta == self.last_delta:
                last_line = line
                for k in range(1, self.degree + 1):
                    target = block + k * delta
                    if target < 0:
                        break
                    if target >> self.shift != last_line:
                        last_line = target >> self.shift
                        self.issue(last_line, time + self.delay)
            self.last_delta = delta
        elif self.prefetcher == "predictions" and time in self.predictions:
            blocks, delay = self.predictions[time]
            picked = []
            for predicted in blocks:
                target = predicted >> self.shift
                if len(picked) < self.degree and target not in picked:
                    picked.append(target)
                    self.issue(target, time + delay)

    def resident_at_end(self):
        unused = sum(1 for ways in self.ways for entry in ways
                     if entry is not None and entry[1] == LINE_PREFETCHED)
        return unused + len(self.in_flight)


@settings(max_examples=80, deadline=None)
@given(blocks=st.lists(st.integers(min_value=0, max_value=120), min_size=1, max_size=300),
       prefetcher=st.sampled_from(["none", "next-line", "stride", "predictions"]),
       policy=st.sampled_from(["lru", "fifo"]),
       geometry=st.sampled_from([(1, 2, 64), (2, 2, 64), (4, 1, 64), (2, 4, 128)]),
       degree=st.integers(min_value=1, max_value=4),
       delays=st.lists(st.integers(min_value=1, max_value=12), min_size=1, max_size=8),
       step=st.integers(min_value=1, max_value=4))
def test_core_matches_python_model(blocks, prefetcher, policy, geometry, degree, delays, step):
    sets, ways, line_bytes = geometry
    n = len(blocks)
    # Predictions after every step-th event: the next blocks, backwards, with varying delays.
    index = list(range(0, n - 1, step))
    chunks = [blocks[t + 1:t + 1 + degree + 1][::-1] for t in index]
    delay_of = [delays[j % len(delays)] for j in range(len(index))]

    sim = CacheSim([LevelConfig(sets * ways * line_bytes, ways, line_bytes)], policy=policy)
    sim.set_prefetcher(prefetcher, degree, delays[0])
    if prefetcher == "predictions":
        offsets = np.concatenate([[0], np.cumsum([len(chunk) for chunk in chunks])])
        sim.set_predictions(index, offsets, np.array(sum(chunks, []), dtype=np.int64), delay_of)
    sim.run(blocks)

    shift = line_bytes.bit_length() - 7
    model = ReferenceCache(sets, ways, shift, policy, prefetcher, degree, delays[0],
                           {t: (chunk, d) for t, chunk, d in zip(index, chunks, delay_of)})
    for time, block in enumerate(blocks):
        model.access(time, block)

    level = sim.level_stats(0)
    prefetch = sim.prefetch_stats()
    for name in ("hits", "misses", "evictions"):
        assert level[name] == model.count[name], name
    if prefetcher != "none":
        for name in ("issued", "redundant", "useful", "late", "useless"):
            assert prefetch[name] == model.count[name], name
        assert prefetch["resident_at_end"] == model.resident_at_end()
    expected = [[None if entry is None else (entry[0], entry[1]) for entry in ways_of]
                for ways_of in model.ways]
    assert sim.contents(0) == expected
