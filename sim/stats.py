"""Simulation results: counters per level and for prefetching, their ratios, a table.

Denominators (also in ``SimResult.to_dict()["denominators"]`` and under the table):

- hit rate of a level = hits / accesses of that level (its demand lookups, which
  are the misses of the level above). Prefetch fills passing through a lower
  level are not counted there, so with a prefetcher a lower level counts fewer
  accesses than without one;
- misses per 1000 accesses = 1000 x misses of the level / accesses of the first
  level (the simulated trace accesses);
- accuracy = useful / issued; coverage = useful / (useful + first-level demand
  misses). Late prefetches are counted among the misses.
- issued = useful + late + useless + resident at end; redundant requests (line
  already in the first level or in flight) are not issued and not in this sum.
"""
import dataclasses
from typing import Optional

from sim.config import format_bytes

DENOMINATORS = {
    "hit_rate": "hits / accesses of the same level, where accesses are demand lookups only "
                "(prefetch fills pass through lower levels uncounted)",
    "misses_per_1000": "1000 * misses of the level / accesses of the first level",
    "accuracy": "useful / issued",
    "coverage": "useful / (useful + first-level demand misses)",
    "issued": "useful + late + useless + resident_at_end (redundant requests are not issued)",
    "miss_reduction": "(baseline misses - misses) / baseline misses, same level",
}


def _ratio(numerator, denominator):
    return numerator / denominator if denominator else None


@dataclasses.dataclass
class LevelResult:
    """Demand counters of one level over the counted accesses."""

    name: str
    accesses: int
    hits: int
    misses: int
    evictions: int
    back_invalidations: int
    trace_accesses: int  # accesses of the first level, the MPKI denominator

    @property
    def hit_rate(self) -> Optional[float]:
        return _ratio(self.hits, self.accesses)

    @property
    def misses_per_1000(self) -> Optional[float]:
        value = _ratio(self.misses, self.trace_accesses)
        return None if value is None else 1000 * value

    def to_dict(self) -> dict:
        return {"name": self.name, "accesses": self.accesses, "hits": self.hits,
                "misses": self.misses, "hit_rate": self.hit_rate,
                "misses_per_1000": self.misses_per_1000, "evictions": self.evictions,
                "back_invalidations": self.back_invalidations}


@dataclasses.dataclass
class PrefetchResult:
    """Prefetch counters, measured at the first level."""

    issued: int
    redundant: int
    useful: int
    late: int
    useless: int
    resident_at_end: int
    in_flight_at_end: int
    demand_misses: int  # first-level misses, for coverage
    mean_delay_accesses: float

    @property
    def accuracy(self) -> Optional[float]:
        return _ratio(self.useful, self.issued)

    @property
    def coverage(self) -> Optional[float]:
        return _ratio(self.useful, self.useful + self.demand_misses)

    def to_dict(self) -> dict:
        return {"issued": self.issued, "redundant": self.redundant, "useful": self.useful,
                "late": self.late, "useless": self.useless, "resident_at_end": self.resident_at_end,
                "in_flight_at_end": self.in_flight_at_end, "accuracy": self.accuracy,
                "coverage": self.coverage, "mean_delay_accesses": self.mean_delay_accesses}


@dataclasses.dataclass
class SimResult:
    """One simulation: its settings, counters, and the same run without prefetching."""

    config: dict
    accesses: int
    start: int
    stop: int
    levels: list
    prefetch: Optional[PrefetchResult] = None
    baseline: Optional[list] = None  # LevelResult per level, prefetcher none

    @property
    def improvement(self) -> Optional[list]:
        """Per level: hit-rate delta (this run minus baseline) and relative miss reduction."""
        if self.baseline is None:
            return None
        rows = []
        for level, base in zip(self.levels, self.baseline):
            delta = None
            if level.hit_rate is not None and base.hit_rate is not None:
                delta = level.hit_rate - base.hit_rate
            rows.append({"name": level.name, "hit_rate_delta": delta,
                         "miss_reduction": _ratio(base.misses - level.misses, base.misses)})
        return rows

    def to_dict(self) -> dict:
        return {
            "config": self.config,
            "accesses": self.accesses,
            "start": self.start,
            "stop": self.stop,
            "warmup_accesses": self.start,
            "levels": [level.to_dict() for level in self.levels],
            "prefetch": None if self.prefetch is None else self.prefetch.to_dict(),
            "baseline": None if self.baseline is None else [level.to_dict() for level in self.baseline],
            "improvement": self.improvement,
            "denominators": dict(DENOMINATORS),
        }


def _fmt(value, percent=False):
    if value is None:
        return "n/a"
    if percent:
        return f"{100 * value:.2f} %"
    if isinstance(value, float):
        return f"{value:.2f}"
    return f"{value:,}"


def _describe_level(level: dict, config: dict) -> str:
    """Format one line with a level's size, ways, line size, sets and replacement policy."""
    return (f"{level['name']}: {format_bytes(level['size_bytes'])}, {level['ways']}-way, "
            f"{level['line_bytes']} B lines, {level['sets']} sets, {config.get('policy', '?').upper()}")


def format_table(result: SimResult) -> str:
    """Return the result as Markdown tables with the denominators stated below."""
    out = [f"Simulated accesses {result.start:,} to {result.stop:,} ({result.accesses:,} counted, "
           f"{result.start:,} warm-up)"]
    out += [_describe_level(level, result.config) for level in result.config.get("levels", [])]
    out += ["",
           "| level | accesses | hits | misses | hit rate | misses / 1000 acc | evictions |",
           "|---|---:|---:|---:|---:|---:|---:|"]
    rows = [(level, "") for level in result.levels]
    rows += [(level, " (no prefetch)") for level in result.baseline or []]
    for level, suffix in rows:
        out.append(f"| {level.name}{suffix} | {_fmt(level.accesses)} | {_fmt(level.hits)} | "
                   f"{_fmt(level.misses)} | {_fmt(level.hit_rate, True)} | "
                   f"{_fmt(level.misses_per_1000)} | {_fmt(level.evictions)} |")

    if result.prefetch is not None:
        p = result.prefetch
        out += ["", "| prefetches | issued | useful | late | useless | resident at end | redundant "
                "| accuracy | coverage |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
                f"| {result.config['prefetcher']} | {_fmt(p.issued)} | {_fmt(p.useful)} | "
                f"{_fmt(p.late)} | {_fmt(p.useless)} | {_fmt(p.resident_at_end)} | "
                f"{_fmt(p.redundant)} | {_fmt(p.accuracy, True)} | {_fmt(p.coverage, True)} |"]
        out.append("")
        out.append(f"Prefetch delay: mean {p.mean_delay_accesses:.2f} accesses from request to "
                   f"arrival, at {result.config['access_interval_ns']:g} ns per access")
        for row in result.improvement or []:
            delta = row["hit_rate_delta"]
            points = "n/a" if delta is None else f"{100 * delta:+.2f} percentage points"
            out.append(f"{row['name']}: hit rate {points} against no prefetching, "
                       f"misses reduced by {_fmt(row['miss_reduction'], True)}")

    out += ["", "Denominators:"] + [f"- {key} = {text}" for key, text in DENOMINATORS.items()]
    return "\n".join(out)
