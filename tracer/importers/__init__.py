"""Importers: turn event files made by other tools into complearn traces.

Each format is one module with a ``read(path, sink, options)`` function that feeds
events to an ``EventSink`` (see ``common``). ``IMPORTERS`` maps the format name to
that function and the trace kinds it can produce. Adding a format means adding one
module and one line to ``IMPORTERS``.
"""
import dataclasses
import os
from typing import Callable, Optional

from tracer.errors import ImportFormatError
from tracer.importers.common import EventSink
from tracer.importers.csv_column import read_csv_column
from tracer.importers.lackey import read_lackey
from tracer.importers.pinatrace import read_pinatrace
from tracer.importers.sessions import read_sessions
from tracer.importers.text import read_text
from tracer.stats import count_distinct
from tracer.tracefile import KINDS, TraceWriter, read_trace

ALL_KINDS = KINDS
MEM_ONLY = ("mem",)


@dataclasses.dataclass(frozen=True)
class Importer:
    """One input format: its reader, the kind it produces by default and the kinds it allows."""

    read: Callable
    default_kind: str
    kinds: tuple = ALL_KINDS


IMPORTERS = {
    "text": Importer(read_text, default_kind="events"),
    "csv": Importer(read_csv_column, default_kind="log"),
    "sessions": Importer(read_sessions, default_kind="log"),
    "lackey": Importer(read_lackey, default_kind="mem", kinds=MEM_ONLY),
    "pinatrace": Importer(read_pinatrace, default_kind="mem", kinds=MEM_ONLY),
}


@dataclasses.dataclass(frozen=True)
class ImportOptions:
    """Format options: ``column`` (csv only) and ``address_values`` (mem from text fields)."""

    column: Optional[str] = None
    address_values: bool = False


@dataclasses.dataclass(frozen=True)
class ImportResult:
    """Summary of one import."""

    out_path: str
    kind: str
    num_events: int
    num_distinct: int
    num_sessions: int
    num_stores: int


def import_file(path, out_path, fmt, kind=None, column=None, address_values=False) -> ImportResult:
    """Read ``path`` in format ``fmt`` and write it as a trace to ``out_path``.

    ``kind`` defaults to the format's own (``IMPORTERS[fmt].default_kind``).
    Raises ``ImportFormatError`` for an unknown format, an invalid option, a missing,
    empty or malformed input; ``TraceFormatError`` when the output folder is missing.
    On any error no output file is left behind.
    """
    path = os.fspath(path)
    importer = _check_request(path, fmt, kind, column, address_values)
    kind = kind or importer.default_kind
    options = ImportOptions(column=column, address_values=address_values)
    meta = {"source": os.path.abspath(path), "format": fmt, "column": column}

    with TraceWriter(out_path, kind, meta) as writer:
        sink = EventSink(writer, path, kind, address_values)
        importer.read(path, sink, options)
        sink.flush()
        if sink.num_events == 0:
            raise ImportFormatError(
                f"{path}: no events found because the file is empty or contains only blank or skipped lines")
        writer.meta.update(sink.meta)
        writer.meta["names"] = sink.names
        num_sessions = len(writer.session_starts)

    return ImportResult(out_path=os.fspath(out_path), kind=kind, num_events=sink.num_events,
                        num_distinct=_count_distinct(sink, out_path), num_sessions=num_sessions,
                        num_stores=sink.num_stores)


def _check_request(path, fmt, kind, column, address_values):
    importer = IMPORTERS.get(fmt)
    if importer is None:
        raise ImportFormatError(f"unknown import format {fmt!r}; choose one of {', '.join(IMPORTERS)}")
    if kind is not None and kind not in importer.kinds:
        raise ImportFormatError(
            f"format {fmt} produces {', '.join(importer.kinds)} traces, not {kind!r}; "
            f"drop --kind or use --kind {importer.default_kind}")
    if column is not None and fmt != "csv":
        raise ImportFormatError(f"--column applies to --format csv only, not {fmt}")
    if address_values and (kind or importer.default_kind) != "mem":
        raise ImportFormatError("--address applies to --kind mem only")
    if fmt in ("lackey", "pinatrace") and address_values:
        raise ImportFormatError(f"--address is implied for {fmt}: it always reads byte addresses")

    if not os.path.exists(path):
        raise ImportFormatError(f"{path}: input file not found")
    if not os.path.isfile(path):
        raise ImportFormatError(f"{path}: not a regular file; give the file to import")
    return importer


def _count_distinct(sink, out_path):
    if sink.kind != "mem":
        return len(sink.names)
    return count_distinct(read_trace(out_path, verify=False).events)
