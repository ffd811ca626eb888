"""Trace file format: round trips, sessions, atomic writes and damaged files."""
import os
import tempfile

import numpy as np
import pytest

from tracer.errors import TraceError, TraceFormatError
from tracer.tracefile import HEADER_SIZE, TraceWriter, read_trace, write_trace


def test_round_trip_events_sessions_meta(tmp_path):
    path = tmp_path / "t.trace"
    events = np.array([3, 1, 4, 1, 5, 9, 2, 6], dtype=np.int64)
    write_trace(path, "log", events, session_starts=[0, 3, 5], meta={"names": list("abcdefghij")})
    trace = read_trace(path)
    assert trace.kind == "log"
    assert trace.events.tolist() == events.tolist()
    assert trace.session_bounds() == [(0, 3), (3, 5), (5, 8)]
    assert trace.event_name(4) == "e"
    assert trace.flags is None
    assert len(trace.checksum) == 64


def test_mem_trace_keeps_flags(tmp_path):
    path = tmp_path / "m.trace"
    write_trace(path, "mem", [10, 11, 12], flags=[1, 0, 0])
    trace = read_trace(path)
    assert trace.flags.tolist() == [1, 0, 0]
    assert trace.meta["block_size"] == 64


def test_empty_trace_reads_back(tmp_path):
    path = tmp_path / "e.trace"
    write_trace(path, "events", [])
    trace = read_trace(path)
    assert trace.num_events == 0
    assert trace.num_sessions == 0


def test_chunked_writer_matches_whole_write(tmp_path):
    events = np.arange(1000, dtype=np.int64) % 7
    write_trace(tmp_path / "a.trace", "events", events, session_starts=[0, 400])
    with TraceWriter(tmp_path / "b.trace", "events", meta={"created": read_trace(tmp_path / "a.trace").meta["created"]}) as writer:
        writer.append(events[:100])
        writer.append(events[100:400])
        writer.new_session()
        writer.append(events[400:])
    assert read_trace(tmp_path / "a.trace").checksum == read_trace(tmp_path / "b.trace").checksum


def test_writer_error_leaves_no_file(tmp_path):
    path = tmp_path / "x.trace"
    with pytest.raises(RuntimeError):
        with TraceWriter(path, "events") as writer:
            writer.append([1, 2, 3])
            raise RuntimeError("crash while writing")
    assert os.listdir(tmp_path) == []


def test_truncated_file_is_rejected(tmp_path):
    path = tmp_path / "t.trace"
    write_trace(path, "events", np.arange(100))
    data = path.read_bytes()
    path.write_bytes(data[:-20])
    with pytest.raises(TraceFormatError, match="truncated"):
        read_trace(path)


def test_corrupted_event_fails_checksum(tmp_path):
    path = tmp_path / "t.trace"
    write_trace(path, "events", np.arange(100))
    data = bytearray(path.read_bytes())
    data[HEADER_SIZE + 5] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(TraceFormatError, match="checksum"):
        read_trace(path)


def test_newer_version_is_rejected(tmp_path):
    path = tmp_path / "t.trace"
    write_trace(path, "events", np.arange(10))
    data = bytearray(path.read_bytes())
    data[8] = 9
    path.write_bytes(bytes(data))
    with pytest.raises(TraceFormatError, match="version 9"):
        read_trace(path)


def test_not_a_trace_is_rejected(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("hello\n")
    with pytest.raises(TraceFormatError, match="not a complearn trace"):
        read_trace(path)


def test_damaged_header_count_is_rejected(tmp_path):
    # The checksum does not cover the header, so a changed event count used to be
    # read back silently as a shorter trace.
    path = tmp_path / "t.trace"
    write_trace(path, "log", np.arange(10), session_starts=[0, 5])
    data = bytearray(path.read_bytes())
    data[16:24] = (9).to_bytes(8, "little")
    path.write_bytes(bytes(data))
    with pytest.raises(TraceFormatError, match="header is corrupt"):
        read_trace(path)


def test_damaged_header_kind_is_rejected(tmp_path):
    path = tmp_path / "t.trace"
    write_trace(path, "log", np.arange(10))
    data = bytearray(path.read_bytes())
    data[10] = 2  # the kind code of "calls"
    path.write_bytes(bytes(data))
    with pytest.raises(TraceFormatError, match="kind calls in the header does not match kind log"):
        read_trace(path)


def test_negative_event_value_is_rejected(tmp_path):
    # A block number of -1 used to be written, and the simulator then counted its
    # first access as a hit on an empty way.
    path = tmp_path / "neg.trace"
    with pytest.raises(TraceFormatError, match="event value -1 is negative"):
        write_trace(path, "mem", [5, -1, 7], flags=[0, 0, 0])
    assert not path.exists()
    with pytest.raises(TraceFormatError, match="negative"):
        with TraceWriter(tmp_path / "chunks.trace", "events") as writer:
            writer.append([1, 2])
            writer.append([-3])
    assert os.listdir(tmp_path) == []


def test_written_file_follows_umask(tmp_path):
    # Traces used to keep tempfile's mode 0o600 after the rename into place.
    previous = os.umask(0o022)
    try:
        write_trace(tmp_path / "a.trace", "events", [1, 2, 3])
        os.umask(0o077)
        write_trace(tmp_path / "b.trace", "events", [1, 2, 3])
    finally:
        os.umask(previous)
    assert (tmp_path / "a.trace").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "b.trace").stat().st_mode & 0o777 == 0o600


def test_unwritable_folder_raises_trace_error(tmp_path, monkeypatch):
    # A folder the user cannot write to (a shared data folder) used to end in a
    # PermissionError traceback. Root ignores file modes, so the refusal is simulated.
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "NamedTemporaryFile", refuse)
    with pytest.raises(TraceError, match="cannot write a trace in .*: Permission denied"):
        write_trace(tmp_path / "t.trace", "events", [1, 2, 3])
    assert os.listdir(tmp_path) == []


def test_failed_rename_raises_trace_error(tmp_path, monkeypatch):
    def refuse(source, target):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(TraceError, match="writing the trace failed: Permission denied"):
        write_trace(tmp_path / "t.trace", "mem", [1, 2, 3], flags=[0, 0, 1])
    assert os.listdir(tmp_path) == []
