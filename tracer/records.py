"""Bulk reading of the record stream that the instrumentation tools write.

The stream layout is defined once in ``plugin/common/records.h``. This is the one
module that touches the cffi module ``tracer._records``: it turns the C reader's
return codes into Python values and exceptions, and hands events back as numpy
arrays, never one Python object per record.
"""
import dataclasses
import mmap
import os

import numpy as np

from tracer._records import ffi, lib
from tracer.errors import BackendError

KIND_CALL = lib.CL_KIND_CALL
KIND_MEM = lib.CL_KIND_MEM
FLAG_STORE = lib.CL_FLAG_STORE
PROT_EXEC = lib.CL_PROT_EXEC
MAP_LINK_ADDRESS = lib.CL_MAP_LINK_ADDRESS
DEFAULT_CHUNK = 1 << 18  # events per chunk
_BUFFER_BYTES = 4 << 20
_PACKED_BYTES = 4 << 20
RING_CHUNKS = 64
RING_CHUNK_BYTES = 1 << 20


@dataclasses.dataclass
class Events:
    """A chunk of event records. The arrays are views that the next read overwrites."""

    values: np.ndarray  # (N,) int64: callee address or 64-byte block number
    kinds: np.ndarray  # (N,) uint8: KIND_CALL or KIND_MEM
    flags: np.ndarray  # (N,) uint8: FLAG_STORE for stores
    tids: np.ndarray  # (N,) uint32: the tool's thread id


@dataclasses.dataclass
class PackedEvents:
    """Events of one thread in the packed form of record_reader.h (about 2 bytes each).

    ``buffer[:length]`` contains them: the array passed to ``read_packed``, or the
    reader's own, which the next read overwrites. ``Unpacker`` turns packed
    bytes back into values, kinds and flags.
    """

    buffer: np.ndarray  # uint8
    length: int
    num_events: int
    tid: int

    @property
    def data(self):
        return self.buffer[:self.length]


class Unpacker:
    """Decode the packed events of one thread, piece by piece.

    ``unpack(data)`` decodes every whole event in ``data`` and keeps a varint
    cut at its end for the next piece, so a stream can be decoded in pieces
    of any size.
    """

    def __init__(self, capacity=DEFAULT_CHUNK):
        self._base = ffi.new("uint64_t *")
        self._values = np.empty(capacity, dtype=np.int64)
        self._kinds = np.empty(capacity, dtype=np.uint8)
        self._flags = np.empty(capacity, dtype=np.uint8)
        self._pointers = (ffi.from_buffer("int64_t[]", self._values),
                          ffi.from_buffer("uint8_t[]", self._kinds),
                          ffi.from_buffer("uint8_t[]", self._flags))
        self._count = ffi.new("size_t *")
        self._consumed = ffi.new("size_t *")
        self._rest = b""

    def unpack(self, data, limit=None):
        """Yield ``(values, kinds, flags)`` chunks (views, overwritten by the next).

        Stops after ``limit`` events when given.
        """
        data = self._rest + bytes(data) if self._rest else data
        view = memoryview(data).cast("B")
        pointer = ffi.from_buffer("uint8_t[]", view)
        at = 0
        remaining = limit
        while at < len(view) and (remaining is None or remaining > 0):
            capacity = len(self._values) if remaining is None else min(len(self._values), remaining)
            status = lib.clr_unpack(pointer + at, len(view) - at, self._base, *self._pointers,
                                    capacity, self._count, self._consumed)
            if status != lib.CLR_EVENTS:
                raise BackendError(f"decoding a packed event spool failed (reader status "
                                   f"{status}); record the trace again")
            count, consumed = self._count[0], self._consumed[0]
            if count == 0:
                break
            at += consumed
            if remaining is not None:
                remaining -= count
            yield self._values[:count], self._kinds[:count], self._flags[:count]
        self._rest = bytes(view[at:])


class Ring:
    """Shared memory chunks through which a tool hands records to the reader.

    The tool fills ``chunks`` chunks of ``chunk_bytes`` in a memory file in turn,
    announcing each on the record pipe, and waits on ``free_read`` for chunks
    that the reader gives back (see records.h, "Ring mode"). Pass ``fd`` and
    ``free_read`` to the tool, then call ``close_tool_ends``.
    """

    def __init__(self, chunks=RING_CHUNKS, chunk_bytes=RING_CHUNK_BYTES):
        self.chunks = chunks
        self.chunk_bytes = chunk_bytes
        self.fd = os.memfd_create("complearn-records")
        try:
            os.ftruncate(self.fd, chunks * chunk_bytes)
            self.memory = mmap.mmap(self.fd, chunks * chunk_bytes)
            self.free_read, self.free_write = os.pipe()
        except OSError:
            os.close(self.fd)
            raise

    def close_tool_ends(self):
        """Close this process's copies of the descriptors that the tool inherited."""
        for name in ("fd", "free_read"):
            if getattr(self, name) is not None:
                os.close(getattr(self, name))
                setattr(self, name, None)

    def close(self):
        """Close the descriptors and unmap the chunks.

        The mapping stays while a ``RecordReader`` that is not closed still
        uses it, and is unmapped when that reader is freed.
        """
        self.close_tool_ends()
        if self.free_write is not None:
            os.close(self.free_write)
            self.free_write = None
        try:
            self.memory.close()
        except BufferError:
            pass


@dataclasses.dataclass(frozen=True)
class Mapping:
    """A file mapping as the tool saw it appear; addresses are run-time addresses."""

    start: int
    end: int  # first address after the mapping
    file_offset: int  # or the link-time start address with MAP_LINK_ADDRESS
    record_index: int  # event records written before the mapping appeared
    prot: int  # PROT_* and MAP_LINK_ADDRESS bits of records.h
    path: str

    @property
    def executable(self) -> bool:
        return bool(self.prot & PROT_EXEC)

    @property
    def link_address_given(self) -> bool:
        return bool(self.prot & MAP_LINK_ADDRESS)


@dataclasses.dataclass(frozen=True)
class End:
    """The tool's last record."""

    events: int  # event records the tool wrote
    started: bool  # the start symbol was reached
    limit_reached: bool  # the tool stopped at its event limit
    exit_code: int | None


class RecordReader:
    """Read a record stream from a file descriptor in chunks of up to ``chunk`` events.

    ``read()`` returns an ``Events`` chunk, a ``Mapping``, an ``End``, or ``None``
    at the end of the stream; ``read_packed()`` the same with ``PackedEvents``.
    With ``ring``, the records come through that ``Ring`` and ``fd`` carries
    only the chunk announcements. A signal that interrupts the blocking read returns
    an empty ``Events`` chunk, so Python can run its signal handlers (Ctrl-C).
    Raises ``BackendError`` for a stream that is not a record stream or is corrupt.
    """

    def __init__(self, fd, chunk=DEFAULT_CHUNK, source="the tool", ring=None):
        if chunk < 2:
            raise ValueError(f"chunk {chunk}: a record reader needs room for at least 2 events")
        self.source = source
        self._ring = ring  # keeps the shared memory alive while the reader uses it
        self._ring_pointer = None
        self._closed = False
        if ring is None:
            reader = lib.clr_open(fd, _BUFFER_BYTES)
        else:
            self._ring_pointer = ffi.from_buffer("unsigned char[]", ring.memory)
            reader = lib.clr_open_ring(fd, self._ring_pointer, ring.chunk_bytes, ring.chunks,
                                       ring.free_write)
        if reader == ffi.NULL:
            raise MemoryError("cannot allocate the record reader buffer")
        self._reader = ffi.gc(reader, lib.clr_close)
        self._tid = ffi.new("uint32_t *")
        self._length = ffi.new("size_t *")
        self._packed = np.empty(_PACKED_BYTES, dtype=np.uint8)
        self._packed_pointer = ffi.from_buffer("uint8_t[]", self._packed)
        self._values = np.empty(chunk, dtype=np.int64)
        self._kinds = np.empty(chunk, dtype=np.uint8)
        self._flags = np.empty(chunk, dtype=np.uint8)
        self._tids = np.empty(chunk, dtype=np.uint32)
        self._count = ffi.new("size_t *")
        self._pointers = (ffi.from_buffer("int64_t[]", self._values),
                          ffi.from_buffer("uint8_t[]", self._kinds),
                          ffi.from_buffer("uint8_t[]", self._flags),
                          ffi.from_buffer("uint32_t[]", self._tids))

    def close(self):
        """Free the C reader and release the ring's memory, so that ``Ring.close`` can unmap it.

        The counters (``header_seen``, ``bytes_read``) stay readable, but reading
        records fails.
        """
        if self._closed:
            return
        self._header_seen, self._bytes_read = self.header_seen, self.bytes_read
        self._trailing_bytes = self.trailing_bytes
        self._closed = True
        ffi.release(self._reader)
        if self._ring_pointer is not None:
            ffi.release(self._ring_pointer)
            self._ring_pointer = None
        self._ring = None

    @property
    def header_seen(self) -> bool:
        if self._closed:
            return self._header_seen
        return bool(self._reader.header_seen)

    @property
    def bytes_read(self) -> int:
        if self._closed:
            return self._bytes_read
        return int(self._reader.bytes_read)

    @property
    def trailing_bytes(self) -> int:
        """Bytes of an incomplete last record (a tool killed in mid-write)."""
        if self._closed:
            return self._trailing_bytes
        return int(self._reader.trailing_bytes)

    def read(self):
        """Return the next ``Events`` chunk, ``Mapping`` or ``End``; ``None`` at the end."""
        status = lib.clr_read(self._reader, *self._pointers, len(self._values), self._count)
        if status == lib.CLR_EVENTS or status == lib.CLR_INTERRUPTED:
            count = self._count[0] if status == lib.CLR_EVENTS else 0
            return Events(self._values[:count], self._kinds[:count], self._flags[:count],
                          self._tids[:count])
        if status == lib.CLR_MAP:
            return self._mapping()
        if status == lib.CLR_END:
            return self._end()
        if status == lib.CLR_EOF:
            return None
        return self._raise(status)

    def read_packed(self, buffer=None):
        """Like ``read``, with event records as ``PackedEvents`` instead of ``Events``.

        The events are packed into ``buffer`` (a uint8 array of at least 64 bytes)
        when given, else into the reader's own buffer.
        """
        if buffer is None:
            buffer, pointer = self._packed, self._packed_pointer
        else:
            pointer = ffi.from_buffer("uint8_t[]", buffer)
        status = lib.clr_read_packed(self._reader, pointer, len(buffer), self._length,
                                     self._count, self._tid)
        if status == lib.CLR_EVENTS or status == lib.CLR_INTERRUPTED:
            length = self._length[0] if status == lib.CLR_EVENTS else 0
            count = self._count[0] if status == lib.CLR_EVENTS else 0
            return PackedEvents(buffer, length, count, int(self._tid[0]))
        if status == lib.CLR_MAP:
            return self._mapping()
        if status == lib.CLR_END:
            return self._end()
        if status == lib.CLR_EOF:
            return None
        return self._raise(status)

    def _mapping(self) -> Mapping:
        record = self._reader.map
        path = ffi.string(record.path, record.path_length).decode("utf-8", "surrogateescape")
        return Mapping(int(record.start), int(record.end), int(record.file_offset),
                       int(record.record_index), int(record.prot), path)

    def _end(self) -> End:
        flags = self._reader.end_flags
        exit_code = int(self._reader.end_exit_code) if flags & lib.CL_END_EXIT else None
        return End(int(self._reader.end_events), bool(flags & lib.CL_END_STARTED),
                   bool(flags & lib.CL_END_MAX), exit_code)

    def _raise(self, status):
        if status == lib.CLR_IO_ERROR:
            error = self._reader.error_number
            raise BackendError(f"reading records from {self.source} failed: {os.strerror(error)}")
        if status == lib.CLR_BAD_CALL:
            raise ValueError("the buffer for packed events is smaller than 64 bytes")
        if status == lib.CLR_NO_MEMORY:
            raise MemoryError("the record reader ran out of memory")
        if status == lib.CLR_BAD_HEADER:
            raise BackendError(f"{self.source} wrote no valid record stream header; "
                               "rebuild the tool (make plugins) so it matches this complearn")
        raise BackendError(f"{self.source} wrote a malformed record (kind "
                           f"{self._reader.bad_kind}) after {self.bytes_read} bytes; "
                           "rebuild the tool (make plugins)")
