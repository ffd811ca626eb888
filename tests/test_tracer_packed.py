"""Packed events and the shared-memory ring, on hand-made streams.

The reference is the decoding reader (``RecordReader.read``). Packing a
stream and unpacking it again must give the same events, thread by thread,
whatever the piece sizes. A stream handed over in ring chunks must read the
same as through a pipe.
"""
import os
import struct

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from tracer.errors import BackendError
from tracer.records import End, Events, Mapping, PackedEvents, RecordReader, Ring, Unpacker
from tracer.spool import ThreadSpools
from test_tracer_records import HEADER, access, call, end, mapping, thread

TAG_CHUNK = 0x09
CHUNK_BYTES = 1 << 16  # the smallest chunk the Valgrind tool accepts


def write_file(tmp_path, data):
    path = tmp_path / "stream.rec"
    path.write_bytes(data)
    return os.open(path, os.O_RDONLY)


def decoded_by_thread(data, tmp_path):
    """Events per thread id from the decoding reader: {tid: [(value, kind, flag), ...]}."""
    fd = write_file(tmp_path, data)
    try:
        reader, threads = RecordReader(fd, chunk=7), {}
        while (item := reader.read()) is not None:
            if isinstance(item, Events):
                for value, kind, flag, tid in zip(item.values.tolist(), item.kinds.tolist(),
                                                  item.flags.tolist(), item.tids.tolist()):
                    threads.setdefault(tid, []).append((value, kind, flag))
        return threads
    finally:
        os.close(fd)


def packed_by_thread(data, tmp_path, buffer_bytes, piece_bytes):
    """The same through read_packed and an Unpacker per thread fed in pieces."""
    fd = write_file(tmp_path, data)
    try:
        reader, pieces, others = RecordReader(fd), {}, []
        buffer = np.empty(buffer_bytes, dtype=np.uint8)
        while (item := reader.read_packed(buffer)) is not None:
            if isinstance(item, PackedEvents):
                assert item.num_events > 0
                pieces.setdefault(item.tid, []).append((bytes(item.data), item.num_events))
            else:
                others.append(item)
    finally:
        os.close(fd)
    threads = {}
    for tid, parts in pieces.items():
        stream = b"".join(part for part, _ in parts)
        unpacker, events = Unpacker(capacity=5), []
        for start in range(0, len(stream), piece_bytes):
            for values, kinds, flags in unpacker.unpack(stream[start:start + piece_bytes]):
                events += zip(values.tolist(), kinds.tolist(), flags.tolist())
        assert len(events) == sum(count for _, count in parts)
        threads[tid] = events
    return threads, others


TOP_ADDRESS = (1 << 59) - 1  # the largest address that fits in a memory record
records = st.one_of(
    st.builds(access, st.integers(0, TOP_ADDRESS),
              st.sampled_from([1, 2, 4, 8, 16, 32, 64]), st.booleans()),
    st.builds(access, st.sampled_from([0, 60, TOP_ADDRESS - 70, 1 << 40]),
              st.sampled_from([8, 64]), st.booleans()),
    st.builds(call, st.integers(0, (1 << 56) - 1)),
    st.builds(thread, st.integers(1, 300)),
)


@settings(max_examples=60, deadline=None)
@given(body=st.lists(records, max_size=300), buffer_bytes=st.sampled_from([64, 100, 4096]),
       piece_bytes=st.integers(1, 50))
def test_packed_events_match_decoded_events(tmp_path_factory, body, buffer_bytes, piece_bytes):
    tmp_path = tmp_path_factory.mktemp("packed")
    data = HEADER + b"".join(body) + end(len(body), 1, 0)
    threads, others = packed_by_thread(data, tmp_path, buffer_bytes, piece_bytes)
    assert threads == decoded_by_thread(data, tmp_path)
    assert others == [End(events=len(body), started=True, limit_reached=False, exit_code=None)]


def local_stream(seed, records=6000):
    """A stream like a real program's: accesses near each other, some spanning, few calls."""
    rng = np.random.default_rng(seed)
    parts, address = [HEADER], 1 << 40
    for index in range(records):
        address = max(0, address + int(rng.integers(-4096, 4096)))
        roll = rng.random()
        if roll < 0.002:
            parts.append(thread(int(rng.integers(1, 4))))
        elif roll < 0.01:
            parts.append(call(int(rng.integers(0, 1 << 47))))
        elif roll < 0.011:
            parts.append(access(int(rng.integers(0, 1 << 59)), 8))  # a far jump: 9-byte varint
        else:
            parts.append(access(address, 1 << int(rng.integers(0, 7)), store=roll > 0.7))
    return b"".join(parts) + end(records, 1, 0)


@pytest.mark.parametrize("plain", [False, True])
def test_packed_events_of_local_accesses(tmp_path, monkeypatch, plain):
    # Long runs of memory records go through the AVX-512 loop where the CPU
    # has it; COMPLEARN_NO_AVX512 forces the plain loop.
    if plain:
        monkeypatch.setenv("COMPLEARN_NO_AVX512", "1")
    for seed in range(3):
        data = local_stream(seed)
        threads, _ = packed_by_thread(data, tmp_path, 1 << 16, 4096)
        assert threads == decoded_by_thread(data, tmp_path)


def test_vector_and_plain_packing_write_the_same_bytes(tmp_path, monkeypatch):
    def packed_bytes():
        fd = write_file(tmp_path, local_stream(7, records=20000))
        try:
            reader, parts = RecordReader(fd), []
            while (item := reader.read_packed()) is not None:
                if isinstance(item, PackedEvents):
                    parts.append((item.tid, bytes(item.data)))
            return reader, parts
        finally:
            os.close(fd)

    vector_reader, vector = packed_bytes()
    if not vector_reader._reader.vector:
        pytest.skip("this CPU has no AVX-512 VBMI2; only the plain loop runs")
    monkeypatch.setenv("COMPLEARN_NO_AVX512", "1")
    plain_reader, plain = packed_bytes()
    assert not plain_reader._reader.vector
    assert vector == plain


def test_packed_events_stop_at_mappings_and_thread_switches(tmp_path):
    data = (HEADER + access(64, 8) + thread(2) + call(0x4000) + thread(2)
            + mapping(4096, 8192, 0, 2, 4, "/lib/x.so") + access(130, 8, store=True)
            + thread(1) + access(0, 1) + end(4, 1, 0))
    fd = write_file(tmp_path, data)
    try:
        reader, items = RecordReader(fd), []
        while (item := reader.read_packed()) is not None:
            items.append((item.tid, item.num_events) if isinstance(item, PackedEvents) else item)
    finally:
        os.close(fd)
    assert items[:2] == [(1, 1), (2, 1)]
    assert isinstance(items[2], Mapping) and items[2].path == "/lib/x.so"
    assert items[3:5] == [(2, 1), (1, 1)]
    assert isinstance(items[5], End)


MASK = (1 << 64) - 1


def prefix_varint(value, base):
    """The packed bytes of ``value`` after ``base``, as record_reader.h defines them."""
    delta = (value - base) & MASK
    zigzag = ((delta << 1) & MASK) ^ (MASK if delta >> 63 else 0)
    if zigzag >> 56:
        return b"\0" + struct.pack("<Q", zigzag)
    length = max(1, -(-zigzag.bit_length() // 7))
    return (zigzag << length | 1 << (length - 1)).to_bytes(length, "little")


def test_unpacker_takes_the_longest_varint_cut_anywhere():
    # Far-apart values need the 9-byte varint (a zigzag of 57 bits or more).
    values = [0, (1 << 61) - 4, 8, 1 << 60, 4, 127 << 2, 1 << 2]
    stream = b"".join(prefix_varint(value, base) for base, value in zip([0] + values, values))
    assert len(stream) > 2 * 9
    for cut in range(len(stream) + 1):
        unpacker, decoded = Unpacker(capacity=2), []
        for piece in (stream[:cut], stream[cut:]):
            for chunk_values, kinds, flags in unpacker.unpack(piece):
                decoded += chunk_values.tolist()
        assert decoded == [value >> 2 for value in values]


def test_packed_spool_round_trip_and_limit(tmp_path):
    # Every sixteenth 8-byte access spans two blocks; a limit of 6000 events
    # cuts a packed piece (buffers of 64 bytes hold a few events each).
    data = HEADER + b"".join(access(i * 36, 8, store=i % 3 == 0) for i in range(8000))
    expected = decoded_by_thread(data, tmp_path)[1]
    assert len(expected) == 8500
    fd = write_file(tmp_path, data)
    try:
        reader, appended = RecordReader(fd), 0
        spools = ThreadSpools(str(tmp_path), has_flags=True, compress=True, packed=True)
        while appended < 6000:
            buffer = spools.take_buffer()
            item = reader.read_packed(buffer[:64])
            count = min(item.num_events, 6000 - appended)
            spools.append_packed(buffer, item.length, count, item.tid)
            appended += count
        spools.finish()
    finally:
        os.close(fd)
    events = [(value, 2, flag) for values, flags in spools.spools[1].chunks(size=1000)
              for value, flag in zip(values.tolist(), flags.tolist())]
    assert events == expected[:6000]


def test_packed_buffer_too_small(tmp_path):
    fd = write_file(tmp_path, HEADER + access(0, 1))
    try:
        with pytest.raises(ValueError, match="64 bytes"):
            RecordReader(fd).read_packed(np.empty(63, dtype=np.uint8))
    finally:
        os.close(fd)


class FakeTool:
    """Fills a Ring the way the Valgrind tool does: chunks in turn, a CHUNK word each."""

    def __init__(self, ring):
        self.ring = ring
        self.read_fd, self.write_fd = os.pipe()
        self.index = 0

    def send(self, data):
        offset = self.index * self.ring.chunk_bytes
        self.ring.memory[offset:offset + len(data)] = data
        os.write(self.write_fd, struct.pack("<Q", TAG_CHUNK | len(data) << 32))
        self.index = (self.index + 1) % self.ring.chunks

    def given_back(self):
        os.set_blocking(self.ring.free_read, False)
        try:
            return len(os.read(self.ring.free_read, 64))
        except BlockingIOError:
            return 0


@pytest.fixture
def ring():
    ring = Ring(chunks=2, chunk_bytes=CHUNK_BYTES)
    yield ring
    ring.close()


def test_ring_chunks_read_and_given_back(ring):
    tool = FakeTool(ring)
    reader = RecordReader(tool.read_fd, ring=ring, chunk=100)
    tool.send(HEADER + access(0, 1) + access(64, 1))
    tool.send(access(128, 4) + mapping(4096, 8192, 0, 3, 4, "/lib/x.so"))
    assert reader.read().values.tolist() == [0, 1]
    assert tool.given_back() == 0  # chunk 0 is still being read
    assert reader.read().values.tolist() == [2]
    assert tool.given_back() == 1
    assert isinstance(reader.read(), Mapping)
    tool.send(call(0x1234) + end(4, 1, 0))  # chunk 0 again
    assert reader.read().values.tolist() == [0x1234]
    assert isinstance(reader.read(), End)
    os.close(tool.write_fd)
    assert reader.read() is None
    assert tool.given_back() == 2
    os.close(tool.read_fd)


def test_ring_rejects_a_record_across_chunks(ring):
    tool = FakeTool(ring)
    reader = RecordReader(tool.read_fd, ring=ring)
    # A mapping record cut at the end of the chunk: its payload is missing.
    record = mapping(4096, 8192, 0, 0, 4, "/lib/x.so")
    tool.send(HEADER + record[:16])
    tool.send(record[16:])
    with pytest.raises(BackendError, match="malformed record"):
        reader.read()
    os.close(tool.write_fd)
    os.close(tool.read_fd)


def test_ring_rejects_non_tool_pipe(ring):
    read_fd, write_fd = os.pipe()
    os.write(write_fd, b"hello, world")
    os.close(write_fd)
    with pytest.raises(BackendError, match="no valid record stream header"):
        RecordReader(read_fd, ring=ring).read()
    os.close(read_fd)


def test_ring_chunk_larger_than_announced_size_is_rejected(ring):
    tool = FakeTool(ring)
    os.write(tool.write_fd, struct.pack("<Q", TAG_CHUNK | (CHUNK_BYTES + 8) << 32))
    with pytest.raises(BackendError, match="no valid record stream header"):
        RecordReader(tool.read_fd, ring=ring).read()
    os.close(tool.write_fd)
    os.close(tool.read_fd)


def test_ring_bad_chunk_word_after_events(ring):
    # read_packed hands the events before a bad CHUNK word back first; the
    # next call must report the bad word, not read on past it.
    tool = FakeTool(ring)
    reader = RecordReader(tool.read_fd, ring=ring)
    tool.send(HEADER + access(0, 1) + access(64, 1))
    os.write(tool.write_fd, struct.pack("<Q", TAG_CHUNK | (CHUNK_BYTES + 8) << 32))
    tool.send(access(128, 1))
    os.close(tool.write_fd)
    item = reader.read_packed()
    assert isinstance(item, PackedEvents)
    assert item.num_events == 2
    for _ in range(2):
        with pytest.raises(BackendError, match="malformed record"):
            reader.read_packed()
    os.close(tool.read_fd)


def test_ring_failure_closes_memory_file(monkeypatch):
    # record() falls back to the pipe when Ring() fails; the memory file it
    # created first must not stay open.
    import tracer.records as records

    def no_pipe():
        raise OSError(24, "Too many open files")

    before = set(os.listdir("/proc/self/fd"))
    monkeypatch.setattr(records.os, "pipe", no_pipe)
    with pytest.raises(OSError, match="Too many open files"):
        Ring(chunks=2, chunk_bytes=CHUNK_BYTES)
    assert set(os.listdir("/proc/self/fd")) == before
