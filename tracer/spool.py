"""Per-thread spools: event chunks kept in temporary files until the trace is written.

Threads interleave in the record stream but become separate sessions in the
trace, so each thread's events go to its own spool while recording and are
copied into the trace file afterwards, session by session. A spool can be
compressed with zstd as it is written (memory records compress well, so this
trades CPU time for disk space).
"""
import os

import numpy as np
import zstandard

_LEVEL = -5  # a zstd fast level: memory records compress about 50x even so
CHUNK_EVENTS = 1 << 20


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
    """The events (and flags) of one session in temporary files."""

    def __init__(self, folder, name, has_flags, compress):
        self.num_events = 0
        self._values = _Stream(os.path.join(folder, f"{name}.values"), compress)
        self._flags = _Stream(os.path.join(folder, f"{name}.flags"), compress) if has_flags else None

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
        """Yield ``(values, flags)`` chunks in order; call ``finish`` first."""
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


class ThreadSpools:
    """One spool per thread id, in order of each thread's first event."""

    def __init__(self, folder, has_flags, compress):
        self.folder = folder
        self.has_flags = has_flags
        self.compress = compress
        self.spools = {}  # tid -> Spool, insertion order = first appearance
        self.num_events = 0

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

    def finish(self):
        for spool in self.spools.values():
            spool.finish()

    def _spool(self, tid):
        if tid not in self.spools:
            self.spools[tid] = Spool(self.folder, f"thread{tid}", self.has_flags, self.compress)
        return self.spools[tid]
