"""Shared parts of the importers: reading input lines and collecting events.

Every text input may be plain or gzip-compressed; gzip is recognized by its magic
bytes, so the file name does not matter. An importer's ``read`` function feeds an
``EventSink``, which maps names to dense ids, parses numbers for memory traces,
splits accesses into 64-byte blocks and writes the events in chunks.
"""
import gzip
import zlib

import numpy as np

from tracer.errors import ImportFormatError
from tracer.tracefile import BLOCK_SIZE

GZIP_MAGIC = b"\x1f\x8b"
BLOCK_SHIFT = BLOCK_SIZE.bit_length() - 1  # 64-byte blocks: address >> 6
CHUNK_EVENTS = 1 << 16


def is_gzip(path) -> bool:
    """Return whether the file starts with the gzip magic bytes."""
    with open(path, "rb") as handle:
        return handle.read(2) == GZIP_MAGIC


def iter_lines(path, newline=None):
    """Yield ``(line_number, line)`` pairs of a UTF-8 text file, plain or gzip.

    Line numbers start at 1. A UTF-8 byte order mark at the start is dropped, so it
    does not end up in the first CSV column name. ``newline`` is passed to ``open`` (the ``csv`` module
    needs ``""``). Raises ``ImportFormatError`` naming the file and the line when
    the file is not UTF-8 or the gzip stream is damaged.
    """
    line_number = 0
    try:
        if is_gzip(path):
            handle = gzip.open(path, "rt", encoding="utf-8-sig", newline=newline)
        else:
            handle = open(path, "r", encoding="utf-8-sig", newline=newline)
        with handle:
            for line in handle:
                line_number += 1
                yield line_number, line
    except UnicodeDecodeError:
        raise ImportFormatError(
            f"{path}: line {line_number + 1} is not valid UTF-8 text; convert the file to UTF-8") from None
    except (OSError, EOFError, zlib.error) as error:
        raise ImportFormatError(
            f"{path}: cannot read line {line_number + 1}: {error}; the file may be truncated or corrupt") from None


def parse_number(text, path, line_number, what="block number") -> int:
    """Parse a non-negative decimal or ``0x`` hexadecimal integer from one input line.

    ``what`` names the value in error messages (``block number`` or ``byte address``).
    """
    token = text.strip()
    try:
        value = int(token, 16) if token.lower().startswith("0x") else int(token, 10)
    except ValueError:
        raise ImportFormatError(
            f"{path}: line {line_number}: {token!r} is not a number; memory traces need one "
            f"decimal or 0x-hex {what} per value") from None

    if value < 0:
        raise ImportFormatError(
            f"{path}: line {line_number}: {token!r} is negative; a {what} must be >= 0")
    if value >= 1 << 63:
        raise ImportFormatError(
            f"{path}: line {line_number}: {token!r} does not fit in a signed 64-bit event value")
    return value


class EventSink:
    """Collect events from an importer and append them to a ``TraceWriter`` in chunks.

    For ``mem`` traces values are 64-byte block numbers with a load (0) or store (1)
    flag. For the other kinds each event is a name, mapped to a dense id in order of
    first appearance (``names[id]`` is the name).
    ``address_values`` makes ``add_token`` read byte addresses and store address >> 6.
    ``meta`` collects extra metadata the importer wants in the trace.
    """

    def __init__(self, writer, path, kind, address_values=False):
        self.writer = writer
        self.path = path
        self.kind = kind
        self.address_values = address_values
        self.names = []
        self.meta = {}
        self.num_events = 0
        self.num_stores = 0
        self._ids = {}
        self._events = []
        self._flags = []

    def add_name(self, name):
        """Append one named event (log key, function name, any label)."""
        event_id = self._ids.get(name)
        if event_id is None:
            event_id = len(self.names)
            self._ids[name] = event_id
            self.names.append(name)
        self._push(event_id, 0)

    def add_token(self, token, line_number):
        """Append one event from a text field: a name, or a number for ``mem`` traces."""
        if self.kind != "mem":
            self.add_name(token)
            return

        what = "byte address" if self.address_values else "block number"
        value = parse_number(token, self.path, line_number, what)
        if self.address_values:
            value >>= BLOCK_SHIFT
        self._push(value, 0)

    def add_access(self, address, size_bytes, is_store):
        """Append a memory access as one record per 64-byte block it touches."""
        first = address >> BLOCK_SHIFT
        last = (address + max(size_bytes, 1) - 1) >> BLOCK_SHIFT
        flag = 1 if is_store else 0
        for block in range(first, last + 1):
            self._push(block, flag)

    def new_session(self):
        """Make the next event start a new session (sessions are never joined)."""
        self.flush()
        self.writer.new_session()

    def flush(self):
        """Write the buffered events to the trace writer."""
        if not self._events:
            return
        flags = self._flags if self.writer.has_flags else None
        self.writer.append(np.array(self._events, dtype=np.int64), flags)
        self._events = []
        self._flags = []

    def _push(self, value, flag):
        self._events.append(value)
        self._flags.append(flag)
        self.num_events += 1
        self.num_stores += flag
        if len(self._events) >= CHUNK_EVENTS:
            self.flush()
