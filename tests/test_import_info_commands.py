"""The import and info commands through complearn.cli.main: output lines and errors."""
import csv
import gzip
import os

import pytest

from complearn.cli import main
from tracer.tracefile import write_trace


def _run(capsys, *argv):
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out.splitlines(), captured.err.splitlines()


def _head_lines(out_lines, count):
    marker = out_lines.index(f"first {count} events:")
    return out_lines[marker + 1:]


def _info_fields(out_lines):
    fields = {}
    for line in out_lines:
        label, _, value = line.partition(":")
        fields[label] = value.strip()
    return fields


def test_import_text_prints_summary(tmp_path, capsys):
    source = tmp_path / "ev.txt"
    source.write_text("a\nb\na\n")
    out = tmp_path / "ev.trace"
    status, lines, errors = _run(capsys, "import", str(source), "-o", str(out), "--format", "text")
    assert status == 0
    assert errors == []
    assert lines == [f"imported 3 events (2 distinct) in 1 session to {out} as an events trace"]


def test_info_lists_fields_and_head(tmp_path, capsys):
    source = tmp_path / "ev.txt"
    source.write_text("open\nread\nread\nclose\n")
    out = tmp_path / "ev.trace"
    _run(capsys, "import", str(source), "-o", str(out), "--format", "text", "--kind", "log")
    status, lines, _ = _run(capsys, "info", str(out), "--head", "3")
    fields = _info_fields(lines[:7])
    assert status == 0
    assert fields["kind"] == "log"
    assert fields["events"] == "4"
    assert fields["distinct"] == "3"
    assert fields["sessions"] == "1"
    assert fields["source"] == f"{source.resolve()} (format text)"
    assert _head_lines(lines, 3) == ["open", "read", "read"]


def test_info_head_longer_than_trace(tmp_path, capsys):
    source = tmp_path / "ev.txt"
    source.write_text("x\ny\n")
    out = tmp_path / "ev.trace"
    _run(capsys, "import", str(source), "-o", str(out), "--format", "text")
    _, lines, _ = _run(capsys, "info", str(out), "--head", "10")
    assert _head_lines(lines, 2) == ["x", "y"]


def test_info_mem_counts_loads_and_stores(tmp_path, capsys):
    trace = tmp_path / "m.trace"
    write_trace(trace, "mem", [5, 6, 5, 7], flags=[0, 1, 1, 0], meta={"source": "hand"})
    status, lines, _ = _run(capsys, "info", str(trace))
    fields = _info_fields(lines)
    assert status == 0
    assert fields["distinct"] == "3"
    assert fields["block size"] == "64 bytes"
    assert fields["loads"] == "2"
    assert fields["stores"] == "2"
    assert fields["source"] == "hand"


def test_info_mem_from_text_has_unknown_stores(tmp_path, capsys):
    source = tmp_path / "m.txt"
    source.write_text("1\n2\n")
    out = tmp_path / "m.trace"
    _run(capsys, "import", str(source), "-o", str(out), "--format", "text", "--kind", "mem")
    _, lines, _ = _run(capsys, "info", str(out))
    assert _info_fields(lines)["loads/stores"].startswith("unknown")


def test_info_marks_incomplete_pinatrace(tmp_path, capsys):
    # The importer recorded complete = False for a file without #eof, but info
    # did not show it, so a cut-off trace looked whole.
    cases = (("cut.out", "0x1: R 0x80\n", True), ("whole.out", "0x1: R 0x80\n#eof\n", False))
    for name, text, is_cut in cases:
        source = tmp_path / name
        source.write_text(text)
        out = tmp_path / f"{name}.trace"
        _run(capsys, "import", str(source), "-o", str(out), "--format", "pinatrace")
        _, lines, _ = _run(capsys, "info", str(out))
        fields = _info_fields(lines)
        assert ("complete" in fields) == is_cut, name
        if is_cut:
            assert fields["complete"].startswith("no, the input has no end marker")


def test_info_mem_from_csv_has_unknown_stores(tmp_path, capsys):
    # A CSV column has no load/store bit, but info used to print "stores: 0".
    source = tmp_path / "m.csv"
    source.write_text("Block,Note\n10,a\n11,b\n")
    out = tmp_path / "m.trace"
    _run(capsys, "import", str(source), "-o", str(out), "--format", "csv", "--column", "Block",
         "--kind", "mem")
    _, lines, _ = _run(capsys, "info", str(out))
    fields = _info_fields(lines)
    assert fields["loads/stores"].startswith("unknown")
    assert "stores" not in fields


# round trips on the real data: info --head equals the first lines of the input

def test_round_trip_windows_csv(tmp_path, capsys, shared_data):
    source = shared_data / "loghub" / "Windows" / "Windows_2k.log_structured.csv"
    out = tmp_path / "w.trace"
    status, lines, _ = _run(capsys, "import", str(source), "-o", str(out), "--format", "csv",
                            "--column", "EventId")
    assert status == 0
    assert lines == [f"imported 2000 events (50 distinct) in 1 session to {out} as a log trace"]
    _, lines, _ = _run(capsys, "info", str(out), "--head", "20")
    assert _info_fields(lines[:8])["templates"] == "50 of 50 event ids"
    with open(source, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))[:20]
    assert _head_lines(lines, 20) == [row["EventId"] for row in rows]


def test_round_trip_hdfs_sessions(tmp_path, capsys, shared_data):
    source = shared_data / "deeplog_hdfs" / "hdfs_train"
    out = tmp_path / "h.trace"
    _, lines, _ = _run(capsys, "import", str(source), "-o", str(out), "--format", "sessions")
    assert lines == [f"imported 95125 events (14 distinct) in 4855 sessions to {out} as a log trace"]
    _, lines, _ = _run(capsys, "info", str(out), "--head", "40")
    fields = _info_fields(lines[:7])
    assert fields["sessions"] == "4855"
    keys = " ".join(source.read_text().splitlines()[:5]).split()[:40]
    assert _head_lines(lines, 40) == keys


def test_round_trip_dpc2_mem(tmp_path, capsys, shared_data):
    source = shared_data / "dpc2" / "dpc2_libquantum_blocks64.txt.gz"
    out = tmp_path / "d.trace"
    _, lines, _ = _run(capsys, "import", str(source), "-o", str(out), "--format", "text",
                       "--kind", "mem")
    assert lines == [f"imported 210486 events (3086 distinct) in 1 session to {out} as a mem trace"]
    _, lines, _ = _run(capsys, "info", str(out), "--head", "25")
    with gzip.open(source, "rt") as handle:
        first = [next(handle).strip() for _ in range(25)]
    assert _head_lines(lines, 25) == first


# bad input: one line on stderr naming the file, exit status 1, no output left

def _assert_one_line_error(status, errors, *fragments):
    assert status == 1
    assert len(errors) == 1
    for fragment in fragments:
        assert fragment in errors[0]


def test_import_empty_file(tmp_path, capsys):
    source = tmp_path / "empty.txt"
    source.write_text("")
    status, _, errors = _run(capsys, "import", str(source), "-o", str(tmp_path / "o.trace"),
                             "--format", "text")
    _assert_one_line_error(status, errors, "complearn import: error:", str(source), "no events")
    assert os.listdir(tmp_path) == ["empty.txt"]


def test_import_non_numeric_mem_value(tmp_path, capsys):
    source = tmp_path / "m.txt"
    source.write_text("12\n0x40\nfoo\n7\n")
    status, _, errors = _run(capsys, "import", str(source), "-o", str(tmp_path / "o.trace"),
                             "--format", "text", "--kind", "mem")
    _assert_one_line_error(status, errors, str(source), "line 3", "'foo'", "not a number")
    assert os.listdir(tmp_path) == ["m.txt"]


def test_import_missing_csv_column(tmp_path, capsys):
    source = tmp_path / "s.csv"
    source.write_text("LineId,Content,EventId\n1,x,E1\n")
    status, _, errors = _run(capsys, "import", str(source), "-o", str(tmp_path / "o.trace"),
                             "--format", "csv", "--column", "EventTemplate")
    _assert_one_line_error(status, errors, str(source), "'EventTemplate'",
                           "available columns: LineId, Content, EventId")
    assert os.listdir(tmp_path) == ["s.csv"]


def test_import_missing_input(tmp_path, capsys):
    source = tmp_path / "absent.txt"
    status, _, errors = _run(capsys, "import", str(source), "-o", str(tmp_path / "o.trace"),
                             "--format", "text")
    _assert_one_line_error(status, errors, str(source), "not found")
    assert os.listdir(tmp_path) == []


def test_import_missing_output_folder(tmp_path, capsys):
    source = tmp_path / "ev.txt"
    source.write_text("a\n")
    out = tmp_path / "nofolder" / "o.trace"
    status, _, errors = _run(capsys, "import", str(source), "-o", str(out), "--format", "text")
    _assert_one_line_error(status, errors, str(out), "does not exist")
    assert os.listdir(tmp_path) == ["ev.txt"]


def test_import_keeps_existing_output_on_error(tmp_path, capsys):
    out = tmp_path / "o.trace"
    write_trace(out, "events", [1, 2, 3])
    before = out.read_bytes()
    source = tmp_path / "m.txt"
    source.write_text("1\nbad\n")
    status, _, _ = _run(capsys, "import", str(source), "-o", str(out), "--format", "text",
                        "--kind", "mem")
    assert status == 1
    assert out.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["m.txt", "o.trace"]


def _good_trace(tmp_path):
    path = tmp_path / "t.trace"
    write_trace(path, "events", list(range(100)), meta={"names": [str(i) for i in range(100)]})
    return path


def test_info_truncated_trace(tmp_path, capsys):
    path = _good_trace(tmp_path)
    path.write_bytes(path.read_bytes()[:-30])
    status, lines, errors = _run(capsys, "info", str(path))
    _assert_one_line_error(status, errors, "complearn info: error:", str(path), "truncated")
    assert lines == []


def test_info_corrupted_trace(tmp_path, capsys):
    path = _good_trace(tmp_path)
    data = bytearray(path.read_bytes())
    data[200] ^= 0x01
    path.write_bytes(bytes(data))
    status, _, errors = _run(capsys, "info", str(path))
    _assert_one_line_error(status, errors, str(path), "checksum")


def test_info_newer_format_version(tmp_path, capsys):
    path = _good_trace(tmp_path)
    data = bytearray(path.read_bytes())
    data[8:10] = (2).to_bytes(2, "little")
    path.write_bytes(bytes(data))
    status, _, errors = _run(capsys, "info", str(path))
    _assert_one_line_error(status, errors, str(path), "version 2", "reads version 1")


def test_info_not_a_trace(tmp_path, capsys):
    path = tmp_path / "plain.txt"
    path.write_text("just text\n")
    status, _, errors = _run(capsys, "info", str(path))
    _assert_one_line_error(status, errors, str(path), "not a complearn trace")


@pytest.mark.parametrize("fmt", ["lackey", "pinatrace"])
def test_import_mem_only_format_with_log_kind(tmp_path, capsys, fmt):
    source = tmp_path / "x.txt"
    source.write_text(" L 1000,4\n")
    status, _, errors = _run(capsys, "import", str(source), "-o", str(tmp_path / "o.trace"),
                             "--format", fmt, "--kind", "log")
    _assert_one_line_error(status, errors, f"format {fmt} produces mem traces")


def test_info_rejects_negative_head(tmp_path, capsys):
    path = _good_trace(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(["info", str(path), "--head", "-2"])
    assert info.value.code == 2
    assert "invalid count '-2'" in capsys.readouterr().err


def test_import_output_is_folder(tmp_path, capsys):
    # An existing folder as -o used to end in an IsADirectoryError traceback.
    source = tmp_path / "keys.txt"
    source.write_text("a\nb\n")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    assert main(["import", str(source), "--format", "text", "-o", str(out_dir)]) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("complearn import: error:")
    assert "is a folder" in error
    assert os.listdir(out_dir) == []
    assert sorted(os.listdir(tmp_path)) == ["keys.txt", "out"]
