"""Importers: each format on small fixtures, the real data sets, and bad input."""
import gzip
import os
import shutil
import subprocess

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from tracer.errors import ImportFormatError
from tracer.importers import IMPORTERS, import_file
from tracer.tracefile import read_trace


def _import(tmp_path, name, content, fmt, **options):
    source = tmp_path / name
    if isinstance(content, bytes):
        source.write_bytes(content)
    else:
        source.write_text(content, encoding="utf-8")
    out = tmp_path / "out.trace"
    result = import_file(source, out, fmt, **options)
    return result, read_trace(out)


def _names(trace):
    return [trace.event_name(int(event)) for event in trace.events]


# text

def test_text_names_dense_in_first_appearance_order(tmp_path):
    result, trace = _import(tmp_path, "ev.txt", "open\nread\nread\nclose\nopen\n", "text")
    assert trace.kind == "events"
    assert trace.names == ["open", "read", "close"]
    assert trace.events.tolist() == [0, 1, 1, 2, 0]
    assert result.num_events == 5
    assert result.num_distinct == 3
    assert result.num_sessions == 1


def test_text_meta_records_source_and_format(tmp_path):
    _, trace = _import(tmp_path, "ev.txt", "a\nb\n", "text")
    assert trace.meta["source"] == str((tmp_path / "ev.txt").resolve())
    assert trace.meta["format"] == "text"
    assert trace.meta["kind"] == "events"
    assert trace.meta["column"] is None
    assert "created" in trace.meta


def test_text_skips_blank_lines_and_strips(tmp_path):
    _, trace = _import(tmp_path, "ev.txt", "a\n\n  \nb \r\n\ta\n\n", "text")
    assert _names(trace) == ["a", "b", "a"]


def test_text_gzip_detected_by_magic_not_suffix(tmp_path):
    _, trace = _import(tmp_path, "ev.log", gzip.compress(b"x\ny\nx\n"), "text")
    assert _names(trace) == ["x", "y", "x"]


def test_text_plain_file_named_gz(tmp_path):
    _, trace = _import(tmp_path, "ev.gz", "x\ny\n", "text")
    assert _names(trace) == ["x", "y"]


def test_text_kind_log_and_calls(tmp_path):
    _, trace = _import(tmp_path, "ev.txt", "main\nfoo\n", "text", kind="calls")
    assert trace.kind == "calls"
    assert trace.names == ["main", "foo"]


def test_text_mem_block_numbers(tmp_path):
    result, trace = _import(tmp_path, "m.txt", "10\n0x10\n10\n0XfF\n", "text", kind="mem")
    assert trace.kind == "mem"
    assert trace.events.tolist() == [10, 16, 10, 255]
    assert trace.flags.tolist() == [0, 0, 0, 0]
    assert trace.names == []
    assert trace.meta["stores_known"] is False
    assert result.num_distinct == 3


def test_text_mem_addresses_shifted(tmp_path):
    _, trace = _import(tmp_path, "m.txt", "0x1000\n0x103f\n0x1040\n",
                       "text", kind="mem", address_values=True)
    assert trace.events.tolist() == [0x40, 0x40, 0x41]


@pytest.mark.parametrize("address_values, bad, expected", [
    (False, "zz", "decimal or 0x-hex block number per value"),
    (False, "-4", "a block number must be >= 0"),
    (True, "zz", "decimal or 0x-hex byte address per value"),
    (True, "-64", "a byte address must be >= 0"),
])
def test_text_mem_error_names_value_kind(tmp_path, address_values, bad, expected):
    # With --address the messages used to call the values block numbers.
    with pytest.raises(ImportFormatError, match=expected):
        _import(tmp_path, "m.txt", f"{bad}\n", "text", kind="mem", address_values=address_values)


@pytest.mark.parametrize("bad", ["12abc", "-4", "1.5", "0xZZ", str(1 << 63)])
def test_text_mem_rejects_bad_value(tmp_path, bad):
    with pytest.raises(ImportFormatError) as info:
        _import(tmp_path, "m.txt", f"1\n2\n{bad}\n", "text", kind="mem")
    message = str(info.value)
    assert "m.txt" in message
    assert "line 3" in message
    assert repr(bad) in message
    assert not (tmp_path / "out.trace").exists()


@settings(max_examples=25, deadline=None)
@given(st.lists(st.text(alphabet="abcxyz_:<*> ", min_size=1, max_size=6).map(str.strip)
                .filter(bool), min_size=1, max_size=40))
def test_text_names_round_trip(tmp_path_factory, lines):
    folder = tmp_path_factory.mktemp("text")
    _, trace = _import(folder, "ev.txt", "\n".join(lines) + "\n", "text")
    assert _names(trace) == lines
    assert trace.names == list(dict.fromkeys(lines))


# sessions

def test_sessions_one_per_line_never_joined(tmp_path):
    result, trace = _import(tmp_path, "s.txt", "5 5 22 \n\n22 9\n7\n", "sessions")
    assert trace.kind == "log"
    assert _names(trace) == ["5", "5", "22", "22", "9", "7"]
    assert trace.session_bounds() == [(0, 3), (3, 5), (5, 6)]
    assert result.num_sessions == 3


def test_sessions_mem_values(tmp_path):
    _, trace = _import(tmp_path, "s.txt", "1 2\n0x3\n", "sessions", kind="mem")
    assert trace.events.tolist() == [1, 2, 3]
    assert trace.session_bounds() == [(0, 2), (2, 3)]


# csv

STRUCTURED = (
    "LineId,Content,EventId,EventTemplate\n"
    '1,"open a, b",E2,"open <*>, <*>"\n'
    "2,close,E1,close\n"
    '3,"multi\nline",E2,"open <*>, <*>"\n'
)


def test_csv_column_and_templates_from_column(tmp_path):
    result, trace = _import(tmp_path, "x_structured.csv", STRUCTURED, "csv")
    assert trace.kind == "log"
    assert _names(trace) == ["E2", "E1", "E2"]
    assert trace.meta["column"] == "EventId"
    assert trace.meta["templates"] == ["open <*>, <*>", "close"]
    assert result.num_distinct == 2


def test_csv_templates_from_sibling_file(tmp_path):
    (tmp_path / "x_templates.csv").write_text(
        'EventId,EventTemplate\nE1,close\nE2,"open <*>, <*>"\nE3,unused\n')
    content = "LineId,EventId\n1,E2\n2,E1\n3,E4\n"
    _, trace = _import(tmp_path, "x_structured.csv", content, "csv")
    assert trace.names == ["E2", "E1", "E4"]
    assert trace.meta["templates"] == ["open <*>, <*>", "close", None]
    assert trace.meta["templates_source"] == str(tmp_path / "x_templates.csv")


def test_csv_other_column_has_no_templates(tmp_path):
    _, trace = _import(tmp_path, "x_structured.csv", STRUCTURED, "csv", column="Content")
    assert _names(trace) == ["open a, b", "close", "multi\nline"]
    assert "templates" not in trace.meta


def test_csv_byte_order_mark_dropped(tmp_path):
    _, trace = _import(tmp_path, "x.csv", "\ufeffEventId,Content\nE1,a\nE2,b\n", "csv")
    assert _names(trace) == ["E1", "E2"]


def test_csv_missing_column_lists_columns(tmp_path):
    with pytest.raises(ImportFormatError) as info:
        _import(tmp_path, "x.csv", STRUCTURED, "csv", column="Label")
    message = str(info.value)
    assert "'Label'" in message
    assert "LineId, Content, EventId, EventTemplate" in message


def test_csv_short_row_names_line(tmp_path):
    with pytest.raises(ImportFormatError, match="line 3: 1 fields, the header has 2"):
        _import(tmp_path, "x.csv", "a,EventId\n1,E1\n2\n", "csv")


def test_csv_header_only_is_empty(tmp_path):
    with pytest.raises(ImportFormatError, match="no events found"):
        _import(tmp_path, "x.csv", "LineId,EventId\n", "csv")


# lackey

LACKEY = """==1234== Lackey, an example Valgrind tool
==1234== Command: ./prog
I  04011000,3
 L 00001000,8
 S 0000103c,8
I  04011003,5
 M 00001080,4
 L 000010ff,1
==1234== 
"""


def test_lackey_blocks_flags_and_spans(tmp_path):
    result, trace = _import(tmp_path, "lackey.txt", LACKEY, "lackey")
    assert trace.kind == "mem"
    # load 0x1000; store 0x103c..0x1043 spans blocks 0x40 and 0x41; modify 0x1080 is a
    # load then a store of block 0x42; load 0x10ff is block 0x43.
    assert trace.events.tolist() == [0x40, 0x40, 0x41, 0x42, 0x42, 0x43]
    assert trace.flags.tolist() == [0, 1, 1, 0, 1, 0]
    assert result.num_stores == 3
    assert trace.meta["block_size"] == 64


def test_lackey_rejects_program_output(tmp_path):
    with pytest.raises(ImportFormatError) as info:
        _import(tmp_path, "lackey.txt", LACKEY + "hello world\n", "lackey")
    assert "line 10" in str(info.value)
    assert "--log-file" in str(info.value)


def test_lackey_only_mem_kind(tmp_path):
    with pytest.raises(ImportFormatError, match="produces mem traces"):
        _import(tmp_path, "lackey.txt", LACKEY, "lackey", kind="log")


def _count_lackey_blocks(log_text):
    """Independent count: (loads, stores) block records in a lackey log."""
    loads = stores = 0
    for line in log_text.splitlines():
        if line[:2] not in (" L", " S", " M"):
            continue
        address, size = line[3:].split(",")
        first, last = int(address, 16) // 64, (int(address, 16) + int(size) - 1) // 64
        blocks = last - first + 1
        loads += blocks if line[1] in "LM" else 0
        stores += blocks if line[1] in "SM" else 0
    return loads, stores


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
def test_lackey_real_valgrind_run(tmp_path):
    log_path = tmp_path / "lackey.log"
    subprocess.run(["valgrind", "--tool=lackey", "--trace-mem=yes", f"--log-file={log_path}",
                    "/bin/true"], check=True, timeout=120)
    loads, stores = _count_lackey_blocks(log_path.read_text())
    result = import_file(log_path, tmp_path / "t.trace", "lackey")
    trace = read_trace(tmp_path / "t.trace")
    assert loads > 1000
    assert result.num_events == loads + stores
    assert int(trace.flags.sum()) == stores
    first = next(line for line in log_path.read_text().splitlines() if line[:2] in (" L", " S", " M"))
    assert trace.events[0] == int(first[3:].split(",")[0], 16) >> 6


# pinatrace

PINATRACE = """# pinatrace header comment
0x401000: W 0x7ffd0040
0x401004: R 0x7ffd003c 8
0x401008: R 0x1000 4
#eof
0x40100c: R 0x2000
"""


def test_pinatrace_blocks_flags_and_eof(tmp_path):
    _, trace = _import(tmp_path, "pinatrace.out", PINATRACE, "pinatrace")
    assert trace.events.tolist() == [0x7ffd0040 >> 6, 0x7ffd003c >> 6, 0x7ffd0040 >> 6, 0x40]
    assert trace.flags.tolist() == [1, 0, 0, 0]
    assert trace.meta["complete"] is True


def test_pinatrace_without_eof_is_marked_incomplete(tmp_path):
    _, trace = _import(tmp_path, "pinatrace.out", "0x1: R 0x80\n", "pinatrace")
    assert trace.events.tolist() == [2]
    assert trace.meta["complete"] is False


def test_pinatrace_bad_line(tmp_path):
    with pytest.raises(ImportFormatError, match=r"line 2: '0x2: X 0x80' is not a pinatrace record"):
        _import(tmp_path, "p.out", "0x1: R 0x80\n0x2: X 0x80\n", "pinatrace")


# bad input common to all formats

@pytest.mark.parametrize("fmt", sorted(IMPORTERS))
def test_empty_file_rejected_without_output(tmp_path, fmt):
    with pytest.raises(ImportFormatError) as info:
        _import(tmp_path, "empty.txt", "", fmt)
    assert "empty.txt" in str(info.value)
    assert os.listdir(tmp_path) == ["empty.txt"]


def test_missing_input_file(tmp_path):
    with pytest.raises(ImportFormatError, match="nothere.txt: input file not found"):
        import_file(tmp_path / "nothere.txt", tmp_path / "o.trace", "text")


def test_truncated_gzip_input(tmp_path):
    data = gzip.compress(("\n".join(str(i) for i in range(5000)) + "\n").encode())
    with pytest.raises(ImportFormatError, match="truncated or corrupt"):
        _import(tmp_path, "t.gz", data[: len(data) // 2], "text")
    assert not (tmp_path / "out.trace").exists()


def test_non_utf8_input(tmp_path):
    with pytest.raises(ImportFormatError, match="not valid UTF-8"):
        _import(tmp_path, "t.txt", b"ok\n\xff\xfe\n", "text")


def test_column_only_for_csv(tmp_path):
    with pytest.raises(ImportFormatError, match="--column applies to --format csv only"):
        _import(tmp_path, "t.txt", "a\n", "text", column="EventId")


# real data sets

def test_real_windows_structured_csv(tmp_path, shared_data):
    source = shared_data / "loghub" / "Windows" / "Windows_2k.log_structured.csv"
    result = import_file(source, tmp_path / "w.trace", "csv", column="EventId")
    trace = read_trace(tmp_path / "w.trace")
    assert result.num_events == 2000
    assert result.num_distinct == 50
    assert len(trace.meta["templates"]) == 50
    assert None not in trace.meta["templates"]


def test_real_thunderbird_structured_csv(tmp_path, shared_data):
    source = shared_data / "loghub" / "Thunderbird" / "Thunderbird_2k.log_structured.csv"
    result = import_file(source, tmp_path / "t.trace", "csv")
    assert result.num_events == 2000
    assert result.num_distinct == 149


def test_real_hdfs_sessions(tmp_path, shared_data):
    source = shared_data / "deeplog_hdfs" / "hdfs_train"
    result = import_file(source, tmp_path / "h.trace", "sessions")
    trace = read_trace(tmp_path / "h.trace")
    assert result.num_sessions == 4855
    assert result.num_events == 95125
    assert result.num_distinct == 14
    lines = source.read_text().splitlines()
    lengths = [len(line.split()) for line in lines if line.split()]
    assert [stop - start for start, stop in trace.session_bounds()] == lengths


def test_real_dpc2_mem_blocks(tmp_path, shared_data):
    source = shared_data / "dpc2" / "dpc2_libquantum_blocks64.txt.gz"
    result = import_file(source, tmp_path / "d.trace", "text", kind="mem")
    trace = read_trace(tmp_path / "d.trace")
    assert result.num_events == 210486
    assert result.num_distinct == 3086
    expected = np.loadtxt(gzip.open(source, "rt"), dtype=np.int64)
    assert np.array_equal(trace.events, expected)
