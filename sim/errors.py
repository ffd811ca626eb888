"""Exceptions raised by the simulator package."""


class SimError(Exception):
    """Base class for errors in cache configuration, inputs and simulation."""


class ConfigError(SimError):
    """A cache or prefetcher setting is invalid."""


class PredictionFileError(SimError):
    """A prediction file is corrupt or was made for another trace."""


class TraceKindError(SimError):
    """The trace is not a memory trace of 64-byte blocks."""
