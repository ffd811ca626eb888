"""Instrumentation backends: one module per framework behind one small interface.

A backend finds or builds its tool (``prepare``) and returns the command line
that runs a program under it with records written to an inherited file
descriptor (``command``). Everything after that (reading records, symbols,
sessions, the trace file) is shared; see ``tracer.record``.
"""
import dataclasses
import pathlib

from tracer.errors import TraceError

# The plugin sources sit beside the packages in a source checkout.
PLUGIN_DIR = pathlib.Path(__file__).resolve().parent.parent.parent / "plugin"


@dataclasses.dataclass(frozen=True)
class ToolOptions:
    """Recording options passed to a tool; counts are in event records."""

    calls: bool = True
    mem: bool = False
    start_at: str = "main"  # "" = from the first instruction
    skip: int = 0
    max: int = 0  # 0 = no limit


class Backend:
    """Interface of an instrumentation backend."""

    name = ""
    supports_ring = False  # the tool can hand records over in shared memory

    def prepare(self):
        """Find or build the tool; raise ``BackendError`` with the fix when impossible."""
        raise NotImplementedError

    def command(self, argv, out_fd, options, ring=None):
        """Return ``(argv, env)`` that run ``argv`` under the tool writing to ``out_fd``.

        With a ``tracer.records.Ring`` (only when ``supports_ring``), the records go
        through it and ``out_fd`` carries the chunk announcements.
        """
        raise NotImplementedError


def get_backend(name) -> Backend:
    """Return a backend instance by name ("valgrind" or "pin")."""
    from tracer.backends import pin, valgrind

    backends = {"valgrind": valgrind.ValgrindBackend, "pin": pin.PinBackend}
    if name not in backends:
        raise TraceError(f"unknown backend {name!r}, expected one of {', '.join(sorted(backends))}")
    return backends[name]()
