"""Tracing programs that crash, fail, or cannot be traced: status kept, clear errors."""
import os
import signal
import subprocess
import sys

import pytest

from complearn.cli import main
from tracer.tracefile import read_trace
from tracer_support import CRASH_C, FOREVER_C, compile_c, needs_valgrind


@pytest.fixture(scope="module")
def crash(tmp_path_factory):
    return compile_c(tmp_path_factory.mktemp("crash"), "crash", CRASH_C)


def trace_cli(out, *program, extra=()):
    return main(["trace", "--quiet", "-o", str(out), *extra, "--", *map(str, program)])


def assert_no_output(folder, out):
    assert not out.exists()
    assert [name for name in os.listdir(folder) if name.startswith(".")] == []


@needs_valgrind
def test_segfault_keeps_events_and_signal(crash, tmp_path, capsys):
    out = tmp_path / "segv.trace"
    assert trace_cli(out, crash) == 0
    summary = capsys.readouterr().err.strip().splitlines()[-1]
    assert summary == f"{out}: 4 calls events in 1 session(s), 3 functions; program killed by SIGSEGV"
    trace = read_trace(out)
    assert [trace.names[e] for e in trace.events] == ["main", "f", "f", "g"]
    assert trace.meta["signal"] == "SIGSEGV"
    assert trace.meta["exit_status"] is None
    assert trace.meta["complete"] is False


@needs_valgrind
def test_exit_status_three_recorded(crash, tmp_path):
    out = tmp_path / "exit3.trace"
    assert trace_cli(out, crash, "e") == 0
    trace = read_trace(out)
    assert [trace.names[e] for e in trace.events][:4] == ["main", "f", "f", "exit@plt"]
    assert trace.meta["exit_status"] == 3
    assert trace.meta["signal"] is None
    assert trace.meta["complete"] is True


def test_missing_program_one_line_error(tmp_path, capsys):
    out = tmp_path / "x.trace"
    assert trace_cli(out, tmp_path / "no-such-program") == 1
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0
    assert "not found" in error
    assert_no_output(tmp_path, out)


def test_output_folder_rejected_before_run(crash, tmp_path, capsys, monkeypatch):
    # "-o FOLDER" used to fail only after the whole recording.
    import tracer.record as record_module

    monkeypatch.setattr(record_module._Run, "execute",
                        lambda self: pytest.fail("the program ran before the output was checked"))
    folder = tmp_path / "results"
    folder.mkdir()
    assert trace_cli(folder, crash) == 1
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0
    assert "is a folder" in error


def test_invalid_record_channel_rejected(crash, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COMPLEARN_RECORD_CHANNEL", "piqe")
    out = tmp_path / "x.trace"
    assert trace_cli(out, crash) == 1
    error = capsys.readouterr().err.strip()
    assert "COMPLEARN_RECORD_CHANNEL='piqe' is invalid" in error
    assert_no_output(tmp_path, out)


def test_non_elf_program_rejected(tmp_path, capsys):
    script = tmp_path / "script.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o755)
    out = tmp_path / "x.trace"
    assert trace_cli(out, script) == 1
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0
    assert "not an ELF executable" in error
    assert_no_output(tmp_path, out)


def test_valgrind_override_missing(crash, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COMPLEARN_VALGRIND", str(tmp_path / "no-valgrind"))
    out = tmp_path / "x.trace"
    assert trace_cli(out, crash) == 1
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0
    assert "COMPLEARN_VALGRIND" in error
    assert_no_output(tmp_path, out)


def test_valgrind_absent_from_path(crash, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("COMPLEARN_VALGRIND", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    out = tmp_path / "x.trace"
    assert trace_cli(out, crash) == 1
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0
    assert "valgrind not found" in error
    assert_no_output(tmp_path, out)


def test_pin_backend_without_pin_root(crash, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("PIN_ROOT", raising=False)
    out = tmp_path / "x.trace"
    assert trace_cli(out, crash, extra=("--backend", "pin")) == 1
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0
    assert "PIN_ROOT" in error
    assert_no_output(tmp_path, out)


def test_pin_root_without_kit(crash, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PIN_ROOT", str(tmp_path))
    out = tmp_path / "x.trace"
    assert trace_cli(out, crash, extra=("--backend", "pin")) == 1
    assert "no executable 'pin'" in capsys.readouterr().err
    assert not out.exists()


@needs_valgrind
def test_start_symbol_never_reached(crash, tmp_path, capsys):
    out = tmp_path / "x.trace"
    assert trace_cli(out, crash, "e", extra=("--start-at", "no_such_function")) == 1
    error = capsys.readouterr().err.strip()
    assert "never entered 'no_such_function'" in error
    assert_no_output(tmp_path, out)


def test_negative_skip_rejected(crash, tmp_path, capsys):
    out = tmp_path / "x.trace"
    assert trace_cli(out, crash, extra=("--skip-events", "-1")) == 1
    assert "skip must be 0 or more" in capsys.readouterr().err


@needs_valgrind
def test_ctrl_c_keeps_recorded_events(tmp_path):
    program = compile_c(tmp_path, "forever", FOREVER_C)
    out = tmp_path / "forever.trace"
    process = subprocess.Popen(
        [sys.executable, "-m", "complearn.cli", "trace", "--quiet", "-o", str(out), "--",
         str(program)], stdout=subprocess.PIPE, text=True, start_new_session=True)
    assert process.stdout.readline().strip() == "ready"
    os.killpg(process.pid, signal.SIGINT)
    assert process.wait(timeout=60) == 130
    trace = read_trace(out)
    assert trace.num_events >= 1000
    assert trace.meta["stopped"] == "interrupted"
    assert trace.meta["complete"] is False
    assert set(trace.names) == {"main", "spin", "puts@plt", "fflush@plt"}


def test_pin_tool_build_failure(crash, tmp_path, capsys, monkeypatch):
    kit = tmp_path / "kit"
    kit.mkdir()
    (kit / "pin").write_text("#!/bin/sh\nexit 1\n")
    (kit / "pin").chmod(0o755)
    monkeypatch.setenv("PIN_ROOT", str(kit))
    out = tmp_path / "x.trace"
    assert trace_cli(out, crash, extra=("--backend", "pin")) == 1
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0
    assert "building the Pin tool" in error
    assert "not a Pin kit" in error
    assert not out.exists()


def test_corrupt_stream_kills_tool(tmp_path, capsys, monkeypatch):
    # A "tool" that writes garbage and then would run forever.
    import tracer.backends.valgrind as valgrind_backend

    fake = tmp_path / "fake-valgrind"
    fake.write_text(f"#!{sys.executable}\n"
                    "import os, sys, time\n"
                    "fd = int([a for a in sys.argv if a.startswith('--out-fd=')][0][9:])\n"
                    "os.write(fd, b'garbage-garbage-garbage!')\n"
                    "time.sleep(600)\n")
    fake.chmod(0o755)
    monkeypatch.setenv("COMPLEARN_VALGRIND", str(fake))
    monkeypatch.setattr(valgrind_backend.ValgrindBackend, "prepare",
                        lambda self: setattr(self, "valgrind", str(fake)))
    out = tmp_path / "x.trace"
    assert trace_cli(out, "/bin/true") == 1
    assert "no valid record stream header" in capsys.readouterr().err
    assert_no_output(tmp_path, out)


@needs_valgrind
def test_reader_error_kills_tool_and_frees(tmp_path, monkeypatch):
    # An error while the records are read (here a full disk) must kill the
    # tool, which may be waiting for a free chunk, and release the pipes and
    # the shared memory even while the exception is still referenced.
    import tracer.collect as collect
    import tracer.record as record_module
    from tracer.record import record

    program = compile_c(tmp_path, "forever", FOREVER_C)
    started = []
    real_popen, real_add = record_module.subprocess.Popen, collect.MemCollector.add_packed

    def popen(*args, **kwargs):
        started.append(real_popen(*args, stdout=subprocess.DEVNULL, **kwargs))
        return started[-1]

    def add_packed(self, events):
        if self.num_events > 0:
            raise OSError(28, "No space left on device")
        real_add(self, events)

    monkeypatch.setattr(record_module.subprocess, "Popen", popen)
    monkeypatch.setattr(collect.MemCollector, "add_packed", add_packed)
    fds_before = set(os.listdir("/proc/self/fd"))
    with pytest.raises(OSError, match="No space left") as caught:
        record([str(program)], "mem", tmp_path / "x.trace", start_at="none", progress=False)
    assert caught.value is not None
    assert started[0].returncode == -signal.SIGKILL
    left_open = set(os.listdir("/proc/self/fd")) - fds_before
    assert [os.readlink(f"/proc/self/fd/{fd}") for fd in left_open] == []
    with open("/proc/self/maps") as maps:
        assert "complearn-records" not in maps.read()
    assert not (tmp_path / "x.trace").exists()
