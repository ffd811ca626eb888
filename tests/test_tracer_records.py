"""The C record reader on hand-made streams: events, mappings, end, damage."""
import os
import struct

import numpy as np
import pytest

from tracer.collect import ImageFilter, _Window
from tracer.errors import BackendError
from tracer.records import End, Events, Mapping, RecordReader
from tracer.spool import ThreadSpools

HEADER = b"CLRECS\0\0" + struct.pack("<II", 3, 8)
TAG_CALL, TAG_THREAD, TAG_MAP, TAG_END = 0x01, 0x03, 0x05, 0x07


def word(value):
    return struct.pack("<Q", value)


def access(address, size, store=False):
    """The memory record of one access of ``size`` bytes (a power of two up to 64)."""
    return word(address << 5 | (size.bit_length() - 1) << 2 | (2 if store else 0))


def mem(block, store=False):
    return access(block << 6, 1, store)


def call(target):
    return word(target << 8 | TAG_CALL)


def control(tag, flags=0, payload_words=0, argument=0):
    return word(tag | flags << 8 | payload_words << 16 | argument << 32)


def thread(tid):
    return control(TAG_THREAD, argument=tid)


def end(events, flags, exit_code):
    return control(TAG_END, flags, 1, exit_code) + word(events)


def mapping(start, end_address, offset, index, prot, path):
    path_bytes = path.encode()
    padded = path_bytes + b"\0" * (-len(path_bytes) % 8)
    header = control(TAG_MAP, prot, 5 + len(padded) // 8)
    return (header + struct.pack("<QQQQQ", start, end_address, offset, index, len(path_bytes))
            + padded)


def read_all(data, chunk=4, tmp_path=None):
    path = tmp_path / "stream.rec"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        reader = RecordReader(fd, chunk=chunk)
        items = []
        while (item := reader.read()) is not None:
            if isinstance(item, Events):
                item = Events(item.values.copy(), item.kinds.copy(), item.flags.copy(),
                              item.tids.copy())
            items.append(item)
        return items, reader
    finally:
        os.close(fd)


def test_reader_events_mapping_end(tmp_path):
    data = (HEADER + mapping(0x400000, 0x401000, 0, 0, 5, "/bin/prog")
            + call(0x400100) + thread(2) + mem(77, store=True) + thread(1) + mem(78)
            + end(3, 7, 3))
    items, reader = read_all(data, tmp_path=tmp_path)
    assert items[0] == Mapping(0x400000, 0x401000, 0, 0, 5, "/bin/prog")
    events = items[1]
    assert events.values.tolist() == [0x400100, 77, 78]
    assert events.kinds.tolist() == [1, 2, 2]
    assert events.flags.tolist() == [0, 1, 0]
    assert events.tids.tolist() == [1, 2, 1]
    assert items[2] == End(events=3, started=True, limit_reached=True, exit_code=3)
    assert reader.trailing_bytes == 0


def test_reader_splits_chunks_at_capacity(tmp_path):
    data = HEADER + b"".join(call(value) for value in range(10))
    items, _ = read_all(data, chunk=4, tmp_path=tmp_path)
    assert [item.values.tolist() for item in items] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_reader_long_path_mapping(tmp_path):
    path = "/very/" + "long" * 300 + "/lib.so"
    items, _ = read_all(HEADER + mapping(1 << 20, 2 << 20, 4096, 9, 4, path), tmp_path=tmp_path)
    assert items == [Mapping(1 << 20, 2 << 20, 4096, 9, 4, path)]
    assert items[0].executable


def test_reader_bad_header(tmp_path):
    with pytest.raises(BackendError, match="no valid record stream header"):
        read_all(b"NOTRECS\0" + struct.pack("<II", 2, 8), tmp_path=tmp_path)


def test_reader_rejects_version_1_stream(tmp_path):
    with pytest.raises(BackendError, match="rebuild the tool"):
        read_all(b"CLRECS\0\0" + struct.pack("<II", 1, 16), tmp_path=tmp_path)


def test_reader_unknown_kind(tmp_path):
    with pytest.raises(BackendError, match="malformed record"):
        read_all(HEADER + control(9), tmp_path=tmp_path)


def test_reader_map_too_short(tmp_path):
    with pytest.raises(BackendError, match="malformed record"):
        read_all(HEADER + control(TAG_MAP, 5, 2) + word(0) * 2, tmp_path=tmp_path)


def test_reader_end_without_payload_word(tmp_path):
    with pytest.raises(BackendError, match="malformed record"):
        read_all(HEADER + control(TAG_END, 7, 0, 3), tmp_path=tmp_path)


def test_reader_memory_word_edges(tmp_path):
    # Block 0 loaded is the all-zero word; the largest address fills 59 bits.
    top = (1 << 59) - 1
    items, _ = read_all(HEADER + mem(0) + access(top, 1, store=True) + access(top, 1)
                        + call((1 << 56) - 1), chunk=8, tmp_path=tmp_path)
    events = items[0]
    assert events.values.tolist() == [0, top >> 6, top >> 6, (1 << 56) - 1]
    assert events.kinds.tolist() == [2, 2, 2, 1]
    assert events.flags.tolist() == [0, 1, 0, 0]


@pytest.mark.parametrize("size", [1, 2, 4, 8, 16, 32, 64])
def test_reader_access_sizes_and_spanning(tmp_path, size):
    # An access gives its first block, and the next one when it crosses a boundary.
    expected = []
    data = HEADER
    for offset in range(0, 128, 3):
        address = (5 << 6) + offset
        data += access(address, size, store=offset % 2 == 1)
        blocks = sorted({address >> 6, (address + size - 1) >> 6})
        expected += [(block, offset % 2) for block in blocks]
    items, _ = read_all(data, chunk=1000, tmp_path=tmp_path)
    events = [(value, flag) for item in items
              for value, flag in zip(item.values.tolist(), item.flags.tolist())]
    assert events == expected


def test_reader_keeps_a_spanning_access_in_one_chunk(tmp_path):
    # Chunks of 3 events: an access whose two blocks would not fit waits for the next.
    data = HEADER + mem(1) + mem(2) + access((3 << 6) + 60, 8) + mem(9)
    items, _ = read_all(data, chunk=3, tmp_path=tmp_path)
    assert [item.values.tolist() for item in items] == [[1, 2], [3, 4, 9]]


def test_reader_rejects_a_chunk_of_one_event(tmp_path):
    with pytest.raises(ValueError, match="at least 2"):
        read_all(HEADER + mem(1), chunk=1, tmp_path=tmp_path)


def test_reader_thread_switches_inside_and_across_chunks(tmp_path):
    # A thread switch does not end a chunk; the thread id carries over chunks
    # and over a mapping.
    data = (HEADER + mem(1) + thread(3) + mem(2) + mem(3) + thread(1) + mem(4) + mem(5)
            + mapping(4096, 8192, 0, 5, 4, "/lib/x.so") + mem(6) + thread(7)
            + thread(2) + call(0x1234) + end(7, 1, 0))
    items, _ = read_all(data, chunk=3, tmp_path=tmp_path)
    chunks = [item for item in items if isinstance(item, Events)]
    assert [chunk.values.tolist() for chunk in chunks] == [[1, 2, 3], [4, 5], [6, 0x1234]]
    assert [chunk.tids.tolist() for chunk in chunks] == [[1, 3, 3], [1, 1], [1, 2]]
    assert isinstance(items[2], Mapping) and items[2].record_index == 5
    assert items[-1] == End(events=7, started=True, limit_reached=False, exit_code=None)


def test_reader_mapping_split_across_reads(tmp_path):
    # Many events then a mapping whose payload crosses the reader's buffer end.
    count = (4 << 20) // 8 - 3
    data = HEADER + mem(9) * count + mapping(1 << 30, 2 << 30, 0, count, 5, "/p/" + "q" * 200)
    items, _ = read_all(data, chunk=1 << 20, tmp_path=tmp_path)
    assert sum(len(item.values) for item in items if isinstance(item, Events)) == count
    assert items[-1] == Mapping(1 << 30, 2 << 30, 0, count, 5, "/p/" + "q" * 200)


def test_reader_truncated_record(tmp_path):
    items, reader = read_all(HEADER + call(5) + b"\1\2\3", tmp_path=tmp_path)
    assert [item.values.tolist() for item in items] == [[5]]
    assert reader.trailing_bytes == 3


def test_reader_empty_stream(tmp_path):
    items, reader = read_all(b"", tmp_path=tmp_path)
    assert items == []
    assert not reader.header_seen


@pytest.mark.parametrize("skip,limit,chunks,expected", [
    (0, None, [3, 4], [slice(0, 3), slice(0, 4)]),
    (5, None, [3, 4], [slice(3, 3), slice(2, 4)]),
    (2, 3, [4, 4], [slice(2, 4), slice(0, 1)]),
    (0, 2, [1, 1, 1], [slice(0, 1), slice(0, 1), slice(0, 0)]),
])
def test_window_cut(skip, limit, chunks, expected):
    window = _Window(skip, limit)
    assert [window.cut(count) for count in chunks] == expected


def test_image_filter_names(tmp_path):
    keep = ImageFilter(["libc", "main"], "/bin/true")
    assert keep.keeps("/usr/lib/x86_64-linux-gnu/libc.so.6")
    assert not keep.keeps("/usr/lib/x86_64-linux-gnu/libcrypt.so.1")
    assert keep.keeps("/usr/bin/true")
    assert ImageFilter(["all"], "/bin/true").keeps("[anonymous]")


@pytest.mark.parametrize("compress", [False, True])
def test_thread_spools_split_by_tid(tmp_path, compress):
    spools = ThreadSpools(str(tmp_path), has_flags=True, compress=compress)
    spools.append(np.array([1, 2, 3, 4]), np.array([1, 0, 1, 0]), np.array([2, 1, 2, 1]))
    spools.append(np.array([5]), np.array([1]), np.array([1]))
    spools.finish()
    assert list(spools.spools) == [2, 1]
    thread2 = [(v.tolist(), f.tolist()) for v, f in spools.spools[2].chunks(size=1)]
    thread1 = [(v.tolist(), f.tolist()) for v, f in spools.spools[1].chunks()]
    assert thread2 == [([1], [1]), ([3], [1])]
    assert thread1 == [([2, 4, 5], [0, 0, 1])]
