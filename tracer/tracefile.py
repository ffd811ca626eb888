"""The complearn trace file: one file per trace, events readable by ``numpy.memmap``.

Layout (all integers little-endian)::

    offset  size  field
    0       8     magic b"CLTRACE\\0"
    8       2     format version (FORMAT_VERSION)
    10      1     kind code (KIND_CODES)
    11      1     reserved, 0
    12      4     reserved, 0
    16      8     number of events
    24      8     number of sessions (at least 1 when there are events)
    32      8     offset of the event array (int64, 8-byte aligned)
    40      8     offset of the flag array (uint8, one per event), 0 when absent
    48      8     offset of the session start array (int64, one per session)
    56      8     offset of the JSON metadata block (UTF-8)
    64      8     length of the JSON metadata block in bytes
    72      32    SHA-256 over every byte after the header
    104     24    reserved, 0

Events are int64: dense event ids for ``log``, ``calls`` and ``events`` traces and
64-byte block numbers (address >> 6) for ``mem`` traces, whose flag array holds
1 for a store and 0 for a load. Session ``i`` covers
``events[starts[i]:starts[i + 1]]``; sessions are independent sequences (threads,
DeepLog sessions) and must never be joined.

Writers go to a temporary file in the target folder and rename it into place, so a
crash never leaves half a trace under the final name.
"""
import dataclasses
import datetime
import hashlib
import json
import os
import struct
import tempfile
from typing import Optional

import numpy as np

from tracer.atomic import new_file_mode
from tracer.errors import TraceError, TraceFormatError

MAGIC = b"CLTRACE\0"
FORMAT_VERSION = 1
HEADER = struct.Struct("<8sHBBIQQQQQQQ32s24x")
HEADER_SIZE = HEADER.size  # 128 bytes
KIND_CODES = {"events": 0, "log": 1, "calls": 2, "mem": 3}
KINDS = tuple(KIND_CODES)
BLOCK_SIZE = 64
EVENT_DTYPE = np.dtype("<i8")
FLAG_DTYPE = np.dtype("u1")
SESSION_DTYPE = np.dtype("<i8")
_HASH_CHUNK = 1 << 24


@dataclasses.dataclass
class Trace:
    """A trace read from a file, with events as a read-only memory map.

    ``names[i]`` is the name of event id ``i`` (a log key, template or function
    name); it is empty for memory traces. ``meta`` is the whole JSON metadata.
    """

    path: str
    kind: str
    events: np.ndarray  # (N,) int64
    flags: Optional[np.ndarray]  # (N,) uint8 or None
    session_starts: np.ndarray  # (S,) int64
    meta: dict
    checksum: str

    @property
    def names(self) -> list:
        return self.meta.get("names", [])

    @property
    def num_events(self) -> int:
        return int(self.events.shape[0])

    @property
    def num_sessions(self) -> int:
        return int(self.session_starts.shape[0])

    def session_bounds(self) -> list:
        """Return ``(start, stop)`` event index pairs, one per session."""
        stops = list(self.session_starts[1:]) + [self.num_events]
        return [(int(a), int(b)) for a, b in zip(self.session_starts, stops)]

    def event_name(self, event_id: int) -> str:
        """Return the name of an event id, or the id itself where there is none."""
        names = self.names
        if 0 <= event_id < len(names):
            return names[event_id]
        return str(event_id)


def _validate(kind, events, flags, session_starts, path):
    if kind not in KIND_CODES:
        raise TraceFormatError(f"{path}: unknown trace kind {kind!r}, expected one of {', '.join(KINDS)}")
    if flags is not None and flags.shape != events.shape:
        raise TraceFormatError(
            f"{path}: {flags.shape[0]} flags for {events.shape[0]} events; need one flag per event")
    if events.shape[0] == 0:
        return
    if session_starts.shape[0] == 0 or session_starts[0] != 0:
        raise TraceFormatError(f"{path}: the first session must start at event 0")
    if np.any(np.diff(session_starts) <= 0) or session_starts[-1] >= events.shape[0]:
        raise TraceFormatError(f"{path}: session starts must be increasing and below the event count")


class TraceWriter:
    """Write a trace in chunks without holding it in memory.

    Use it as a context manager. On a clean exit the file is completed and renamed
    to ``path``. On an exception the temporary files are removed and ``path`` is
    not touched. ``append`` takes event chunks (and flag chunks for ``mem``
    traces), and ``new_session`` marks that the next appended event starts a new
    session.
    """

    def __init__(self, path, kind, meta=None, has_flags=None):
        if kind not in KIND_CODES:
            raise TraceFormatError(f"{path}: unknown trace kind {kind!r}, expected one of {', '.join(KINDS)}")
        self.path = os.fspath(path)
        self.kind = kind
        self.meta = dict(meta or {})
        self.has_flags = (kind == "mem") if has_flags is None else has_flags
        self.num_events = 0
        self.session_starts = [0]
        self._events_file = None
        self._flags_file = None
        # Events come first after the header, so they are hashed as they are appended.
        self._hasher = hashlib.sha256()

    def __enter__(self):
        folder = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(folder):
            raise TraceFormatError(f"{self.path}: output folder {folder} does not exist")
        if os.path.isdir(self.path):
            raise TraceFormatError(f"{self.path}: is a folder; give a trace file name such as "
                                   f"{os.path.join(self.path, 'out.trace')}")
        try:
            self._events_file = tempfile.NamedTemporaryFile(
                dir=folder, prefix=".trace-", suffix=".tmp", delete=False)
            self._events_file.write(b"\0" * HEADER_SIZE)
            if self.has_flags:
                self._flags_file = tempfile.TemporaryFile(dir=folder)
        except OSError as error:
            self._remove_temporary_files()
            raise TraceError(f"{self.path}: cannot write a trace in {folder}: {error.strerror}; "
                             "choose a folder you can write to") from None
        return self

    def append(self, events, flags=None):
        """Append a chunk of events (and their load/store flags for ``mem`` traces)."""
        events = np.ascontiguousarray(events, dtype=EVENT_DTYPE)
        if events.shape[0] and int(events.min()) < 0:
            # The simulator marks an empty cache way with -1, so a negative block would
            # hit on empty ways; ids and block numbers are never negative.
            raise TraceFormatError(
                f"{self.path}: event value {int(events.min())} is negative; events are ids or "
                f"block numbers >= 0")
        if self.has_flags:
            if flags is None:
                raise TraceFormatError(f"{self.path}: a {self.kind} trace needs a flag per event")
            flags = np.ascontiguousarray(flags, dtype=FLAG_DTYPE)
            if flags.shape != events.shape:
                raise TraceFormatError(
                    f"{self.path}: {flags.shape[0]} flags for {events.shape[0]} events")
            self._flags_file.write(memoryview(flags))
        self._events_file.write(memoryview(events))
        self._hasher.update(memoryview(events))
        self.num_events += int(events.shape[0])

    def new_session(self):
        """Start a new session at the next appended event (no effect if it would be empty)."""
        if self.num_events > self.session_starts[-1]:
            self.session_starts.append(self.num_events)

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                self._finish()
        except OSError as error:
            raise TraceError(f"{self.path}: writing the trace failed: {error.strerror}") from None
        finally:
            self._remove_temporary_files()
        return False

    def _remove_temporary_files(self):
        if self._flags_file is not None:
            self._flags_file.close()
        if self._events_file is not None:
            self._events_file.close()
            if os.path.exists(self._events_file.name):
                os.unlink(self._events_file.name)

    def _finish(self):
        out = self._events_file
        hasher = self._hasher
        out.flush()

        # 1. The events are already in place after the header, and hashed.
        out.seek(HEADER_SIZE + self.num_events * EVENT_DTYPE.itemsize)
        offset = HEADER_SIZE + self.num_events * EVENT_DTYPE.itemsize

        # 2. Flags, padded to 8 bytes so the session array stays aligned.
        flags_offset = 0
        if self.has_flags:
            flags_offset = offset
            self._flags_file.seek(0)
            while True:
                chunk = self._flags_file.read(_HASH_CHUNK)
                if not chunk:
                    break
                out.write(chunk)
                hasher.update(chunk)
            offset += self.num_events
        offset = _write_padding(out, hasher, offset)

        # 3. Session starts and metadata.
        starts = np.asarray(self.session_starts if self.num_events else [], dtype=SESSION_DTYPE)
        sessions_offset = offset
        out.write(starts.tobytes())
        hasher.update(starts.tobytes())
        offset += starts.nbytes
        meta = dict(self.meta)
        meta["kind"] = self.kind
        meta.setdefault("created", datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"))
        if self.kind == "mem":
            meta.setdefault("block_size", BLOCK_SIZE)
        meta_bytes = json.dumps(meta, sort_keys=True).encode("utf-8")
        out.write(meta_bytes)
        hasher.update(meta_bytes)

        # 4. Header last, then atomically move into place.
        header = HEADER.pack(MAGIC, FORMAT_VERSION, KIND_CODES[self.kind], 0, 0, self.num_events,
                             starts.shape[0], HEADER_SIZE, flags_offset, sessions_offset,
                             offset, len(meta_bytes), hasher.digest())
        out.seek(0)
        out.write(header)
        out.flush()
        os.fchmod(out.fileno(), new_file_mode())
        os.fsync(out.fileno())
        out.close()
        os.replace(out.name, self.path)


def _hash_stream(fileobj, hasher, length):
    remaining = length
    while remaining:
        chunk = fileobj.read(min(remaining, _HASH_CHUNK))
        if not chunk:
            raise TraceFormatError("temporary trace file ended early while hashing")
        hasher.update(chunk)
        remaining -= len(chunk)


def _write_padding(fileobj, hasher, offset):
    padding = (-offset) % 8
    if padding:
        fileobj.write(b"\0" * padding)
        hasher.update(b"\0" * padding)
    return offset + padding


def _check_layout(path, num_events, num_sessions, events_offset, flags_offset, sessions_offset,
                  meta_offset):
    """Check the header's offsets against its counts.

    The checksum covers only the bytes after the header, so a damaged count or offset
    would otherwise go unnoticed (for example one event fewer, silently).
    """
    end = HEADER_SIZE + num_events * EVENT_DTYPE.itemsize
    expected_flags = 0
    if flags_offset:
        expected_flags = end
        end += num_events * FLAG_DTYPE.itemsize
    expected_sessions = end + (-end) % 8
    expected = (HEADER_SIZE, expected_flags, expected_sessions,
                expected_sessions + num_sessions * SESSION_DTYPE.itemsize)
    found = (events_offset, flags_offset, sessions_offset, meta_offset)
    if found != expected:
        raise TraceFormatError(
            f"{path}: header offsets {found} do not match {num_events} events and {num_sessions} "
            f"sessions (expected {expected}); the header is corrupt, re-create the file")


def write_trace(path, kind, events, flags=None, session_starts=None, meta=None):
    """Write a whole trace held in arrays; see ``TraceWriter`` for the chunked form.

    ``session_starts`` lists the first event index of each session (default: one
    session). Raises ``TraceFormatError`` on inconsistent arrays.
    """
    events = np.ascontiguousarray(events, dtype=EVENT_DTYPE)
    starts = np.asarray([0] if session_starts is None else session_starts, dtype=SESSION_DTYPE)
    if flags is not None:
        flags = np.ascontiguousarray(flags, dtype=FLAG_DTYPE)
    _validate(kind, events, flags, starts if events.shape[0] else np.zeros(0, SESSION_DTYPE), path)
    with TraceWriter(path, kind, meta, has_flags=flags is not None) as writer:
        bounds = list(starts[1:]) + [events.shape[0]]
        begin = 0
        for stop in bounds:
            writer.new_session()
            writer.append(events[begin:stop], None if flags is None else flags[begin:stop])
            begin = int(stop)
    return path


def read_trace(path, verify=True) -> Trace:
    """Open a trace file; events and flags are memory-mapped, read-only.

    With ``verify`` the SHA-256 checksum is recomputed over the whole file (one
    sequential read). Raises ``TraceFormatError`` naming the file and the problem
    for a missing, truncated, corrupt or wrong-version file.
    """
    path = os.fspath(path)
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as handle:
            raw = handle.read(HEADER_SIZE)
    except FileNotFoundError:
        raise TraceFormatError(f"{path}: trace file not found") from None
    except IsADirectoryError:
        raise TraceFormatError(f"{path}: is a folder, expected a trace file") from None
    except OSError as error:
        raise TraceFormatError(f"{path}: cannot read trace file: {error.strerror}") from None

    if len(raw) < HEADER_SIZE or raw[:8] != MAGIC:
        raise TraceFormatError(f"{path}: not a complearn trace file (bad magic or shorter than the "
                               f"{HEADER_SIZE}-byte header); import it with 'complearn import'")
    (_, version, kind_code, _, _, num_events, num_sessions, events_offset, flags_offset,
     sessions_offset, meta_offset, meta_length, digest) = HEADER.unpack(raw)
    if version != FORMAT_VERSION:
        raise TraceFormatError(f"{path}: trace format version {version}, this build reads version "
                               f"{FORMAT_VERSION}: re-import the trace or upgrade complearn")
    kinds = {code: name for name, code in KIND_CODES.items()}
    if kind_code not in kinds:
        raise TraceFormatError(f"{path}: unknown kind code {kind_code} in the header")
    _check_layout(path, num_events, num_sessions, events_offset, flags_offset, sessions_offset,
                  meta_offset)
    expected_size = meta_offset + meta_length
    if size < expected_size:
        raise TraceFormatError(f"{path}: truncated, {size} bytes but the header needs {expected_size}")
    if size > expected_size:
        raise TraceFormatError(f"{path}: {size - expected_size} unexpected bytes after the metadata")

    if verify:
        hasher = hashlib.sha256()
        with open(path, "rb") as handle:
            handle.seek(HEADER_SIZE)
            _hash_stream(handle, hasher, size - HEADER_SIZE)
        if hasher.digest() != digest:
            raise TraceFormatError(f"{path}: checksum mismatch, the file is corrupt; re-create it")

    with open(path, "rb") as handle:
        handle.seek(meta_offset)
        meta_bytes = handle.read(meta_length)
        handle.seek(sessions_offset)
        starts = np.frombuffer(handle.read(num_sessions * SESSION_DTYPE.itemsize), dtype=SESSION_DTYPE)
    try:
        meta = json.loads(meta_bytes.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise TraceFormatError(f"{path}: metadata block is not valid JSON ({error}); the file is corrupt") from None
    if meta.get("kind", kinds[kind_code]) != kinds[kind_code]:
        raise TraceFormatError(f"{path}: kind {kinds[kind_code]} in the header does not match kind "
                               f"{meta['kind']} in the metadata; the file is corrupt, re-create it")

    if num_events:
        events = np.memmap(path, dtype=EVENT_DTYPE, mode="r", offset=events_offset, shape=(num_events,))
        flags = None
        if flags_offset:
            flags = np.memmap(path, dtype=FLAG_DTYPE, mode="r", offset=flags_offset, shape=(num_events,))
    else:
        events = np.zeros(0, dtype=EVENT_DTYPE)
        flags = np.zeros(0, dtype=FLAG_DTYPE) if flags_offset else None
    kind = kinds[kind_code]
    _validate(kind, events, flags, starts, path)
    return Trace(path=path, kind=kind, events=events, flags=flags, session_starts=starts.copy(),
                 meta=meta, checksum=digest.hex())
