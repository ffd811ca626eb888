"""The complearn command itself: help, unknown input, closed pipes."""
import subprocess
import sys

import numpy as np

from complearn.cli import main
from tracer.tracefile import write_trace


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().out


def test_every_command_has_help(capsys):
    for command in ("import", "info", "grammar", "simulate", "report"):
        try:
            main([command, "--help"])
        except SystemExit as stop:
            assert stop.code == 0
        assert "usage: complearn " + command in capsys.readouterr().out


def test_closed_pipe_exits_quietly(tmp_path):
    path = tmp_path / "long.trace"
    write_trace(path, "events", np.arange(200_000) % 50, meta={"names": [str(i) for i in range(50)]})
    reader = subprocess.Popen(["head", "-n", "1"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    writer = subprocess.run([sys.executable, "-m", "complearn.cli", "info", str(path), "--head", "200000"],
                            stdout=reader.stdin, stderr=subprocess.PIPE, text=True)
    reader.stdin.close()
    reader.wait()
    assert writer.returncode == 0
    assert "Traceback" not in writer.stderr
