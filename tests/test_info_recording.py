"""``complearn info`` on traces written by ``complearn trace``: the lines about the run."""
import pytest

from complearn.cli import main
from tracer.tracefile import write_trace


def recorded_meta(kind):
    """Return metadata with the keys tracer.record writes for a recorded program."""
    meta = {
        "source": "complearn trace",
        "command": ["./stencil", "--size", "64 x 64"],
        "program": "/work/bin/stencil",
        "backend": "valgrind",
        "start_at": "main",
        "skip_events": 0,
        "max_events": 5,
        "exit_status": 3,
        "signal": None,
        "complete": False,
        "stopped": "max-events",
        "threads": [4242, 4243],
        "tool_events": None,
        "seconds": 1.5,
        "mappings": [],
    }
    if kind == "calls":
        meta.update(names=["main", "step"], images=["main"])
    return meta


@pytest.mark.parametrize("kind", ["calls", "mem"])
def test_info_shows_recording_lines(kind, tmp_path, capsys):
    path = tmp_path / f"{kind}.trace"
    flags = [0, 1, 0, 0, 1] if kind == "mem" else None
    write_trace(path, kind, [0, 1, 1, 0, 1], flags=flags, meta=recorded_meta(kind))

    assert main(["info", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()

    assert "command:      ./stencil --size '64 x 64'" in lines
    assert "backend:      valgrind" in lines
    assert ("program:      /work/bin/stencil "
            "(exit status 3, stopped: max-events, incomplete)") in lines
    assert "threads:      4242 4243" in lines
    assert "run time:     1.500 s wall clock" in lines


def test_info_recording_lines_follow_common_fields(tmp_path, capsys):
    path = tmp_path / "mem.trace"
    write_trace(path, "mem", [7, 8], flags=[0, 1], meta=recorded_meta("mem"))

    assert main(["info", str(path)]) == 0
    labels = [line.split(":")[0] for line in capsys.readouterr().out.splitlines()]

    assert labels == ["trace", "kind", "events", "distinct", "sessions", "source", "created",
                      "command", "backend", "program", "threads", "run time",
                      "block size", "loads", "stores"]


def test_info_signal_ends_mem_recording(tmp_path, capsys):
    meta = dict(recorded_meta("mem"), exit_status=None, signal="SIGSEGV", stopped=None)
    path = tmp_path / "mem.trace"
    write_trace(path, "mem", [7, 8], flags=[0, 1], meta=meta)

    assert main(["info", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()

    assert "program:      /work/bin/stencil (killed by SIGSEGV, incomplete)" in lines


def test_info_imported_trace_has_no_recording_lines(tmp_path, capsys):
    path = tmp_path / "mem.trace"
    write_trace(path, "mem", [7, 8], flags=[0, 1], meta={"source": "blocks.txt"})

    assert main(["info", str(path)]) == 0
    labels = {line.split(":")[0] for line in capsys.readouterr().out.splitlines()}

    for label in ("command", "backend", "program", "threads", "run time"):
        assert label not in labels
