"""Cache level configuration: geometry in bytes, parsed from ``SIZE,WAYS[,LINE]``."""
import dataclasses
import re

from sim.errors import ConfigError

BLOCK_BYTES = 64  # the unit of memory traces (address >> 6)
POLICIES = ("lru", "fifo", "random", "srrip")
DEFAULT_SIZE_BYTES = 32 * 1024
DEFAULT_WAYS = 8
DEFAULT_LINE_BYTES = 64
_SIZE = re.compile(r"^\s*(\d+)\s*([kKmMgG]?)(?:i?[bB])?\s*$")
_MULTIPLIERS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def _is_power_of_two(value):
    return value > 0 and value & (value - 1) == 0


@dataclasses.dataclass(frozen=True)
class LevelConfig:
    """One cache level: total size and line size in bytes, associativity in ways.

    The number of sets is size_bytes / (ways * line_bytes). Sets and line size
    must be powers of two, and a line must cover at least one 64-byte block.
    """

    size_bytes: int = DEFAULT_SIZE_BYTES
    ways: int = DEFAULT_WAYS
    line_bytes: int = DEFAULT_LINE_BYTES

    @property
    def sets(self) -> int:
        return self.size_bytes // (self.ways * self.line_bytes)

    def validate(self, name="cache"):
        """Raise ConfigError unless the geometry is one the simulator supports."""
        if self.ways < 1:
            raise ConfigError(f"{name}: {self.ways} ways; a cache needs at least 1 way")
        if not _is_power_of_two(self.line_bytes) or self.line_bytes < BLOCK_BYTES:
            raise ConfigError(f"{name}: line size {self.line_bytes} B is invalid; use a power of two "
                              f"of at least {BLOCK_BYTES} B (the trace block size)")
        if self.size_bytes <= 0 or self.size_bytes % (self.ways * self.line_bytes):
            raise ConfigError(f"{name}: size {self.size_bytes} B is not a multiple of ways x line "
                              f"({self.ways} x {self.line_bytes} B)")
        if not _is_power_of_two(self.sets):
            raise ConfigError(f"{name}: {self.sets} sets ({self.size_bytes} B / {self.ways} ways / "
                              f"{self.line_bytes} B) is not a power of two; change the size or ways")
        return self

    def describe(self) -> str:
        """Return e.g. ``32 KiB, 8-way, 64 B lines, 64 sets``."""
        return f"{format_bytes(self.size_bytes)}, {self.ways}-way, {self.line_bytes} B lines, {self.sets} sets"


def parse_size(text) -> int:
    """Parse a size in bytes with an optional K/M/G suffix (powers of 1024): ``32K`` -> 32768."""
    match = _SIZE.match(str(text))
    if not match:
        raise ConfigError(f"cache size {text!r} is invalid; write bytes with an optional K, M or G "
                          "suffix, e.g. 32K")
    return int(match.group(1)) * _MULTIPLIERS[match.group(2).lower()]


def parse_level(spec) -> LevelConfig:
    """Parse ``SIZE,WAYS[,LINE]`` (e.g. ``32K,8`` or ``1M,16,128``) into a validated LevelConfig."""
    if isinstance(spec, LevelConfig):
        return spec.validate()
    parts = [part.strip() for part in str(spec).split(",")]
    if len(parts) not in (2, 3):
        raise ConfigError(f"cache {spec!r} is invalid; expected SIZE,WAYS[,LINE], e.g. 32K,8 or 1M,16,64")
    try:
        ways = int(parts[1])
    except ValueError:
        raise ConfigError(f"cache {spec!r}: ways {parts[1]!r} is not an integer") from None
    line = parse_size(parts[2]) if len(parts) == 3 else DEFAULT_LINE_BYTES
    return LevelConfig(parse_size(parts[0]), ways, line).validate(f"cache {spec}")


def parse_levels(specs):
    """Parse a list of level specs (strings or LevelConfig), first level first.

    Raises ConfigError when a level is invalid or a line size shrinks towards memory.
    """
    levels = [parse_level(spec) for spec in (specs or [LevelConfig()])]
    for upper, lower in zip(levels, levels[1:]):
        if lower.line_bytes < upper.line_bytes:
            raise ConfigError(f"line size {lower.line_bytes} B below {upper.line_bytes} B of the level "
                              "above it; line sizes may only grow towards memory")
    return levels


def check_policy(policy) -> str:
    if policy not in POLICIES:
        raise ConfigError(f"replacement policy {policy!r} is unknown; use one of {', '.join(POLICIES)}")
    return policy


def format_bytes(size) -> str:
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} B"
