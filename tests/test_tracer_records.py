"""The C record reader on hand-made streams: events, mappings, end, damage."""
import os
import struct

import numpy as np
import pytest

from tracer.collect import ImageFilter, _Window
from tracer.errors import BackendError
from tracer.records import End, Events, Mapping, RecordReader
from tracer.spool import ThreadSpools

HEADER = b"CLRECS\0\0" + struct.pack("<II", 1, 16)


def record(kind, flags, tid, value):
    return struct.pack("<BBHIQ", kind, flags, 0, tid, value)


def mapping(start, end, offset, index, prot, path):
    path_bytes = path.encode()
    padded = path_bytes + b"\0" * (-len(path_bytes) % 16)
    header = record(3, prot, 2 + len(padded) // 16, start)
    return header + struct.pack("<QQQQ", end, offset, index, len(path_bytes)) + padded


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
            + record(1, 0, 1, 0x400100) + record(2, 1, 2, 77) + record(2, 0, 1, 78)
            + record(4, 7, 3, 3))
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
    data = HEADER + b"".join(record(1, 0, 1, value) for value in range(10))
    items, _ = read_all(data, chunk=4, tmp_path=tmp_path)
    assert [item.values.tolist() for item in items] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_reader_long_path_mapping(tmp_path):
    path = "/very/" + "long" * 300 + "/lib.so"
    items, _ = read_all(HEADER + mapping(1 << 20, 2 << 20, 4096, 9, 4, path), tmp_path=tmp_path)
    assert items == [Mapping(1 << 20, 2 << 20, 4096, 9, 4, path)]
    assert items[0].executable


def test_reader_bad_header(tmp_path):
    with pytest.raises(BackendError, match="no valid record stream header"):
        read_all(b"NOTRECS\0" + struct.pack("<II", 1, 16), tmp_path=tmp_path)


def test_reader_unknown_kind(tmp_path):
    with pytest.raises(BackendError, match="malformed record"):
        read_all(HEADER + record(9, 0, 1, 0), tmp_path=tmp_path)


def test_reader_truncated_record(tmp_path):
    items, reader = read_all(HEADER + record(1, 0, 1, 5) + b"\1\2\3", tmp_path=tmp_path)
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
