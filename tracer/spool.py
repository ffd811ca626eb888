"""Per-thread spools: event chunks kept in temporary files until the trace is written.

Threads interleave in the record stream but become separate sessions in the
trace, so each thread's events go to its own spool while recording and are
copied into the trace file afterwards, session by session. A spool can be
compressed with zstd as it is written (memory records compress well, so this
trades CPU time for disk space).

A packed spool keeps events in the packed form that the record reader
produces in C (tracer/record_reader.h: a varint of the difference to the
previous event, about 2.5 bytes per memory event of perl) and decodes them
when the trace is written. zstd then compresses about a third of the bytes
of 8-byte events, and runs about twice as fast on them.
"""
import os
import queue
import threading

import numpy as np
import zstandard

from tracer.records import Unpacker

_LEVEL = -5  # a zstd fast level: memory records compress about 50x even so
CHUNK_EVENTS = 1 << 20
PACKED_PIECE_BYTES = 4 << 20


class _Stream:
    """One spool file, raw or zstd-compressed."""

    def __init__(self, path, compress):
        self.path = path
        self.compress = compress
        self._file = open(path, "wb")
        self._writer = (zstandard.ZstdCompressor(level=_LEVEL).stream_writer(self._file)
                        if compress else self._file)

    def write(self, data):
        self._writer.write(data)

    def finish(self):
        if self.compress:
            self._writer.flush(zstandard.FLUSH_FRAME)
        self._file.close()

    def open_reader(self):
        handle = open(self.path, "rb")
        if self.compress:
            return zstandard.ZstdDecompressor().stream_reader(handle, closefd=True)
        return handle


class _Background:
    """A thread that compresses and writes spool pieces in the order they come.

    zstd and file writes release the GIL, so this runs beside the thread that
    reads records, on a core that the traced program leaves idle while it
    waits for the reader. Pieces travel in a fixed pool of buffers, so
    nothing is copied or allocated per piece. An error in the thread is
    raised by the next ``take_buffer`` or by ``close``.
    """

    BUFFERS = 32
    BUFFER_BYTES = 2 << 20

    def __init__(self):
        self._queue = queue.Queue()
        self._free = queue.Queue()
        for _ in range(self.BUFFERS):
            self._free.put(np.empty(self.BUFFER_BYTES, dtype=np.uint8))
        self._error = None
        self._thread = threading.Thread(target=self._run, name="complearn-spool", daemon=True)
        self._thread.start()

    def take_buffer(self):
        """Return a free buffer; blocks while all are queued (the writer is behind)."""
        self._raise_error()
        return self._free.get()

    def give_back(self, buffer):
        self._free.put(buffer)

    def put(self, stream, buffer, length):
        """Write ``buffer[:length]`` to ``stream`` in the background, then free the buffer."""
        self._queue.put((stream, buffer, length))

    def close(self):
        self._queue.put(None)
        self._thread.join()
        self._raise_error()

    def _run(self):
        while (item := self._queue.get()) is not None:
            stream, buffer, length = item
            if self._error is None:
                try:
                    stream.write(buffer[:length].data)
                except BaseException as error:  # re-raised in the reading thread
                    self._error = error
            self._free.put(buffer)

    def _raise_error(self):
        if self._error is not None:
            error, self._error = self._error, None
            raise error


def _read_exact(reader, length):
    parts = []
    while length > 0:
        part = reader.read(length)
        if not part:
            break
        parts.append(part)
        length -= len(part)
    return b"".join(parts)


class Spool:
    """The events (and flags) of one session in temporary files.

    With ``packed``, ``append_packed`` takes ``tracer.records.PackedEvents``
    data and ``chunks`` yields their values and flags.
    """

    def __init__(self, folder, name, has_flags, compress, packed=False, background=None):
        self.num_events = 0
        self.packed = packed
        self._background = background
        self._has_flags = has_flags
        self._values = _Stream(os.path.join(folder, f"{name}.values"), compress)
        self._flags = (_Stream(os.path.join(folder, f"{name}.flags"), compress)
                       if has_flags and not packed else None)

    def append_packed(self, buffer, length, num_events):
        """Append the packed events in ``buffer[:length]``, of which the first ``num_events`` count.

        ``num_events`` may be smaller than the events there when a limit cuts a
        piece, and then nothing may be appended after that piece. With a background
        writer, ``buffer`` must come from ``ThreadSpools.take_buffer`` and goes
        back to it once written.
        """
        if self._background is not None:
            self._background.put(self._values, buffer, length)
        else:
            self._values.write(np.ascontiguousarray(buffer[:length], dtype=np.uint8).data)
        self.num_events += num_events

    def append(self, values, flags=None):
        self._values.write(np.ascontiguousarray(values, dtype=np.int64).data)
        if self._flags is not None:
            self._flags.write(np.ascontiguousarray(flags, dtype=np.uint8).data)
        self.num_events += len(values)

    def finish(self):
        self._values.finish()
        if self._flags is not None:
            self._flags.finish()

    def chunks(self, size=CHUNK_EVENTS):
        """Yield ``(values, flags)`` chunks in order; call ``finish`` first.

        The chunks of a packed spool are views that the next chunk overwrites.
        """
        if self.packed:
            yield from self._packed_chunks(size)
            return
        values_reader = self._values.open_reader()
        flags_reader = self._flags.open_reader() if self._flags is not None else None
        try:
            remaining = self.num_events
            while remaining > 0:
                count = min(size, remaining)
                values = np.frombuffer(_read_exact(values_reader, count * 8), dtype=np.int64)
                flags = None
                if flags_reader is not None:
                    flags = np.frombuffer(_read_exact(flags_reader, count), dtype=np.uint8)
                yield values, flags
                remaining -= count
        finally:
            values_reader.close()
            if flags_reader is not None:
                flags_reader.close()


    def _packed_chunks(self, size):
        unpacker = Unpacker(size)
        remaining = self.num_events
        with self._values.open_reader() as reader:
            while remaining > 0:
                piece = reader.read(PACKED_PIECE_BYTES)
                if not piece:
                    raise EOFError(f"spool {self._values.path} ends {remaining} events early")
                for values, kinds, flags in unpacker.unpack(piece, limit=remaining):
                    remaining -= len(values)
                    yield values, (flags if self._has_flags else None)


class ThreadSpools:
    """One spool per thread id, in order of each thread's first event.

    Packed spools are compressed and written by a background thread; call
    ``finish`` (also after an error) to stop it.
    """

    def __init__(self, folder, has_flags, compress, packed=False):
        self.folder = folder
        self.has_flags = has_flags
        self.compress = compress
        self.packed = packed
        self.spools = {}  # tid -> Spool, insertion order = first appearance
        self.num_events = 0
        self._background = _Background() if packed else None

    def append(self, values, flags, tids):
        """Append a chunk of events whose thread ids are ``tids``."""
        if len(values) == 0:
            return
        first = tids[0]
        if np.all(tids == first):
            self._spool(int(first)).append(values, flags)
        else:
            # First appearance order inside the chunk decides the session order.
            unique, first_index = np.unique(tids, return_index=True)
            for tid in unique[np.argsort(first_index)]:
                mask = tids == tid
                self._spool(int(tid)).append(values[mask], None if flags is None else flags[mask])
        self.num_events += len(values)

    def take_buffer(self):
        """Return a buffer to pack events into for ``append_packed`` (packed spools)."""
        if self._background is None:
            return np.empty(_Background.BUFFER_BYTES, dtype=np.uint8)
        return self._background.take_buffer()

    def append_packed(self, buffer, length, num_events, tid):
        """Append packed events of thread ``tid``; see ``Spool.append_packed``.

        Takes ``buffer`` over, also when ``num_events`` is 0.
        """
        if num_events == 0:
            if self._background is not None:
                self._background.give_back(buffer)
            return
        self._spool(tid).append_packed(buffer, length, num_events)
        self.num_events += num_events

    def finish(self):
        try:
            if self._background is not None:
                background, self._background = self._background, None
                background.close()
        finally:
            for spool in self.spools.values():
                spool.finish()

    def _spool(self, tid):
        if tid not in self.spools:
            self.spools[tid] = Spool(self.folder, f"thread{tid}", self.has_flags, self.compress,
                                     self.packed, self._background)
        return self.spools[tid]
