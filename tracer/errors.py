"""Exceptions raised by the tracer package."""


class TraceError(Exception):
    """Base class for errors in recording, importing, reading or writing traces."""


class TraceFormatError(TraceError):
    """A trace file is truncated, corrupt, of another version or not a trace at all."""


class ImportFormatError(TraceError):
    """An input file to import does not have the expected content."""


class BackendError(TraceError):
    """An instrumentation backend is missing, failed to build or failed to run."""
