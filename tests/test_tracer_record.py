"""Recording real programs under the Valgrind tool: calls, memory, threads, fork, perl."""
import collections
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

from tracer.record import record
from tracer.tracefile import read_trace
from tracer_support import (CALLS_C, FORK_C, MEM_C, MEM_THREADS_C, SPAN_C, THREADS_C, compile_c,
                            needs_valgrind, nm_functions)

pytestmark = needs_valgrind

PERL_WORKLOAD = ("my %h; $h{$_ % 97} += $_ for 1..20000; "
                 "my @k = sort { $a <=> $b } keys %h; print scalar(@k), qq(\\n);")


@pytest.fixture(scope="module")
def programs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("programs")
    return {
        "calls": compile_c(folder, "calls", CALLS_C),
        "calls_nopie": compile_c(folder, "calls_nopie", CALLS_C, "-no-pie"),
        "mem": compile_c(folder, "mem", MEM_C, "-no-pie"),
        "threads": compile_c(folder, "threads", THREADS_C, "-pthread"),
        "mem_threads": compile_c(folder, "mem_threads", MEM_THREADS_C, "-pthread", "-no-pie",
                                 "-O1"),
        "fork": compile_c(folder, "fork", FORK_C),
        "span": compile_c(folder, "span", SPAN_C, "-no-pie", "-O1"),
    }


def names_of(trace, start=0, stop=None):
    return [trace.names[event] for event in trace.events[start:stop]]


@pytest.mark.parametrize("variant", ["calls", "calls_nopie"])
def test_calls_main_image_sequence(programs, tmp_path, variant):
    out = tmp_path / "calls.trace"
    record([str(programs[variant])], "calls", out, progress=False)
    trace = read_trace(out)
    names = names_of(trace)
    assert names[:7] == ["main", "f", "f", "f", "g", "h", "h"]
    assert trace.kind == "calls"
    assert trace.num_sessions == 1
    assert trace.meta["exit_status"] == 0
    assert trace.meta["complete"] is True
    assert trace.meta["backend"] == "valgrind"
    assert trace.meta["command"] == [str(programs[variant])]


def test_calls_symbols_match_nm(programs, tmp_path):
    out = tmp_path / "calls.trace"
    record([str(programs["calls"])], "calls", out, progress=False)
    trace = read_trace(out)
    functions = nm_functions(programs["calls"])
    for entry in trace.meta["symbols"]:
        if entry["name"].endswith("@plt"):
            continue
        assert entry["named"]
        assert entry["name"] in functions[int(entry["address"], 16)]


def test_calls_images_all_includes_libc(programs, tmp_path):
    out = tmp_path / "all.trace"
    record([str(programs["calls"])], "calls", out, images=("all",), progress=False)
    trace = read_trace(out)
    images = {entry["image"].rsplit("/", 1)[-1] for entry in trace.meta["symbols"]}
    assert "libc.so.6" in images
    assert "calls" in images
    assert names_of(trace, 0, 1) == ["main"]


def test_calls_skip_and_max_window(programs, tmp_path):
    out = tmp_path / "window.trace"
    record([str(programs["calls"])], "calls", out, skip_events=1, max_events=4, progress=False)
    trace = read_trace(out)
    assert names_of(trace) == ["f", "f", "f", "g"]
    assert trace.meta["complete"] is False
    assert trace.meta["stopped"] == "max-events"


def test_calls_stripped_binary_gives_address_ids(programs, tmp_path):
    stripped = tmp_path / "calls_stripped"
    shutil.copy(programs["calls"], stripped)
    subprocess.run(["strip", str(stripped)], check=True)
    out = tmp_path / "stripped.trace"
    record([str(stripped)], "calls", out, progress=False)
    trace = read_trace(out)

    # main is found from __libc_start_main's first argument; every unnamed
    # function keeps its own address id and no PLT-less name is guessed.
    by_address = {address: names for address, names in nm_functions(programs["calls"]).items()}
    for entry in trace.meta["symbols"]:
        if entry["name"].endswith("@plt"):
            continue
        assert not entry["named"]
        assert re.fullmatch(r"0x[0-9a-f]+@calls_stripped", entry["name"])
        assert int(entry["address"], 16) in by_address
    first = [by_address[int(trace.meta["symbols"][e]["address"], 16)] for e in trace.events[:7]]
    assert [sorted(names)[0] for names in first] == ["main", "f", "f", "f", "g", "h", "h"]


def test_mem_stride_stores_then_loads(programs, tmp_path):
    out = tmp_path / "mem.trace"
    record([str(programs["mem"])], "mem", out, progress=False)
    trace = read_trace(out)
    first_block = _data_symbol(programs["mem"], "array") >> 6
    events = np.asarray(trace.events)
    inside = (events >= first_block) & (events < first_block + 1024)
    blocks = events[inside] - first_block
    flags = np.asarray(trace.flags)[inside]
    expected = np.concatenate([np.arange(1024), np.arange(1024)])
    assert blocks.tolist() == expected.tolist()
    assert flags[:1024].tolist() == [1] * 1024
    assert flags[1024:].tolist() == [0] * 1024
    assert trace.meta["block_size"] == 64


def _data_symbol(binary, name):
    output = subprocess.run(["nm", str(binary)], check=True, capture_output=True, text=True).stdout
    for line in output.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == name:
            return int(parts[0], 16)
    raise LookupError(name)


def test_threads_become_sessions(programs, tmp_path):
    out = tmp_path / "threads.trace"
    record([str(programs["threads"])], "calls", out, progress=False)
    trace = read_trace(out)
    assert trace.num_sessions == 2
    assert trace.meta["threads"] == [1, 2]
    (main_start, main_stop), (worker_start, worker_stop) = trace.session_bounds()
    main_calls = [n for n in names_of(trace, main_start, main_stop) if not n.endswith("@plt")]
    worker_calls = names_of(trace, worker_start, worker_stop)
    assert main_calls[0] == "main"
    assert "c" in main_calls
    assert "a" not in main_calls
    assert worker_calls == ["worker", "a", "b", "b"]


def test_fork_child_is_not_traced(programs, tmp_path):
    out = tmp_path / "fork.trace"
    record([str(programs["fork"])], "calls", out, progress=False)
    trace = read_trace(out)
    names = names_of(trace)
    assert "parent_fn" in names
    assert "child_fn" not in names
    assert trace.num_sessions == 1
    assert trace.meta["exit_status"] == 0


def test_perl_calls_are_interpreter_functions(tmp_path):
    out = tmp_path / "perl.trace"
    record(["perl", "-e", PERL_WORKLOAD], "calls", out, progress=False)
    trace = read_trace(out)
    assert trace.num_events > 10000
    counts = collections.Counter(np.asarray(trace.events).tolist())
    top = [trace.names[event] for event, _ in counts.most_common(10)]
    assert top[0].startswith("Perl_")
    assert sum(name.startswith("Perl_") for name in top) >= 6


def test_perl_mem_bounded_by_max_events(tmp_path):
    out = tmp_path / "perl-mem.trace"
    record(["perl", "-e", PERL_WORKLOAD], "mem", out, max_events=50000, progress=False)
    trace = read_trace(out)
    assert trace.num_events == 50000
    assert trace.meta["complete"] is False
    assert trace.meta["stopped"] == "max-events"
    assert set(np.unique(trace.flags).tolist()) == {0, 1}


def test_mem_tool_window_matches_full_trace(programs, tmp_path):
    full_path, window_path = tmp_path / "full.trace", tmp_path / "window.trace"
    record([str(programs["mem"])], "mem", full_path, progress=False)
    record([str(programs["mem"])], "mem", window_path, skip_events=1000, max_events=700,
           progress=False)
    full, window = read_trace(full_path), read_trace(window_path)
    assert window.num_events == 700
    assert window.events.tolist() == full.events[1000:1700].tolist()
    assert window.flags.tolist() == full.flags[1000:1700].tolist()


def _spanning_load(programs, trace):
    """Index of the first event of the spanning load in a full trace of the span program."""
    first = _data_symbol(programs["span"], "array") >> 6
    events, flags = np.asarray(trace.events), np.asarray(trace.flags)
    hits = [index for index in range(len(events) - 1)
            if events[index] == first and events[index + 1] == first + 1
            and flags[index] == 0 and flags[index + 1] == 0]
    assert len(hits) == 1
    return hits[0]


def test_mem_window_cuts_inside_a_spanning_access(programs, tmp_path):
    # The tool writes one record per access and the reader splits it into
    # blocks, yet skip and max count blocks: a window edge between the two
    # blocks of one load keeps exactly one of them.
    paths = {name: tmp_path / f"{name}.trace" for name in ("full", "skip", "max")}
    record([str(programs["span"])], "mem", paths["full"], progress=False)
    full = read_trace(paths["full"])
    at = _spanning_load(programs, full)
    record([str(programs["span"])], "mem", paths["skip"], skip_events=at + 1, progress=False)
    record([str(programs["span"])], "mem", paths["max"], max_events=at + 1, progress=False)
    skipped, limited = read_trace(paths["skip"]), read_trace(paths["max"])
    assert skipped.events.tolist() == full.events[at + 1:].tolist()
    assert skipped.flags.tolist() == full.flags[at + 1:].tolist()
    assert limited.events.tolist() == full.events[:at + 1].tolist()
    assert limited.meta["stopped"] == "max-events"


@pytest.mark.parametrize("kind, program", [("mem", "mem_threads"), ("calls", "threads")])
def test_ring_and_pipe_channels_give_the_same_trace(programs, tmp_path, monkeypatch, kind,
                                                    program):
    ring_path, pipe_path = tmp_path / "ring.trace", tmp_path / "pipe.trace"
    record([str(programs[program])], kind, ring_path, progress=False)
    monkeypatch.setenv("COMPLEARN_RECORD_CHANNEL", "pipe")
    record([str(programs[program])], kind, pipe_path, progress=False)
    ring, pipe = read_trace(ring_path), read_trace(pipe_path)
    assert ring.num_sessions == pipe.num_sessions == 2
    assert ring.session_starts.tolist() == pipe.session_starts.tolist()
    if kind == "calls":
        assert [ring.names[e] for e in ring.events] == [pipe.names[e] for e in pipe.events]
        return
    # The environment variable moves the stack (and which stack accesses span
    # two blocks), so compare what touches the global arrays.
    first = _data_symbol(programs[program], "worker_array") >> 6
    last = (_data_symbol(programs[program], "main_array") >> 6) + 128
    ring_events, pipe_events = np.asarray(ring.events), np.asarray(pipe.events)
    ring_inside = (ring_events >= min(first, last - 128)) & (ring_events < max(first + 256, last))
    pipe_inside = (pipe_events >= min(first, last - 128)) & (pipe_events < max(first + 256, last))
    assert ring_inside.tolist() == pipe_inside.tolist()
    assert ring_events[ring_inside].tolist() == pipe_events[pipe_inside].tolist()
    assert ring.flags[ring_inside].tolist() == pipe.flags[pipe_inside].tolist()


def test_calls_tool_window_images_all(programs, tmp_path):
    out = tmp_path / "all-window.trace"
    record([str(programs["calls"])], "calls", out, images=("all",), skip_events=1,
           max_events=3, progress=False)
    trace = read_trace(out)
    assert names_of(trace) == ["f", "f", "f"]
    assert trace.meta["stopped"] == "max-events"


def test_mem_threads_become_sessions(programs, tmp_path):
    out = tmp_path / "threads-mem.trace"
    record([str(programs["threads"])], "mem", out, progress=False)
    trace = read_trace(out)
    assert trace.num_sessions == 2
    assert trace.meta["threads"] == [1, 2]
    assert all(stop > start for start, stop in trace.session_bounds())


def test_mem_thread_switches_keep_each_threads_blocks(programs, tmp_path):
    # Thread switches are records of their own in the stream: each thread's
    # stores must land in its own session, in order, and nowhere else.
    out = tmp_path / "mem-threads.trace"
    record([str(programs["mem_threads"])], "mem", out, progress=False)
    trace = read_trace(out)
    assert trace.meta["threads"] == [1, 2]
    worker_first = _data_symbol(programs["mem_threads"], "worker_array") >> 6
    main_first = _data_symbol(programs["mem_threads"], "main_array") >> 6
    sessions = [np.asarray(trace.events[start:stop]) for start, stop in trace.session_bounds()]
    session_flags = [np.asarray(trace.flags[start:stop]) for start, stop in trace.session_bounds()]

    def inside(events, first, count):
        return events[(events >= first) & (events < first + count)] - first

    main_events, worker_events = sessions
    assert inside(worker_events, worker_first, 256).tolist() == list(range(256))
    assert len(inside(main_events, worker_first, 256)) == 0
    main_blocks = inside(main_events, main_first, 128)
    # 128 stores, then the load at offset 60 gives blocks 0 and 1.
    assert main_blocks.tolist() == list(range(128)) + [0, 1]
    assert len(inside(worker_events, main_first, 128)) == 0
    main_flags = session_flags[0][(main_events >= main_first) & (main_events < main_first + 128)]
    assert main_flags.tolist() == [1] * 128 + [0, 0]


@pytest.mark.parametrize("kind", ["mem", "calls"])
@pytest.mark.parametrize("channel", ["ring", "pipe"])
def test_start_at_none_records_events(programs, tmp_path, monkeypatch, kind, channel):
    # Recording from the first instruction starts before any access has
    # reached the tool's buffer checks, in both channels.
    monkeypatch.setenv("COMPLEARN_RECORD_CHANNEL", channel)
    out = tmp_path / f"{kind}-{channel}.trace"
    record([str(programs["calls"])], kind, out, start_at="none", images=("all",),
           max_events=500, progress=False)
    trace = read_trace(out)
    assert trace.num_events == 500
    assert trace.meta["start_at"] is None
    assert trace.meta["stopped"] == "max-events"


FORK_MEM_C = r"""
#include <sys/wait.h>
#include <unistd.h>
char child_array[1 << 20] __attribute__((aligned(64)));
char parent_array[64 * 64] __attribute__((aligned(64)));
int main(void) {
    pid_t pid = fork();
    if (pid == 0) {
        for (int round = 0; round < 8; round++)
            for (int i = 0; i < (1 << 20); i += 64)
                ((volatile char *)child_array)[i] = (char)round;
        _exit(0);
    }
    waitpid(pid, 0, 0);
    for (int i = 0; i < 64 * 64; i += 64)
        ((volatile char *)parent_array)[i] = 1;
    return 0;
}
"""


@pytest.mark.parametrize("channel", ["ring", "pipe"])
def test_fork_child_writes_no_memory_events(tmp_path, monkeypatch, channel):
    # The child makes 131072 stores, a full 1 MiB ring chunk of records,
    # while the parent waits; none of them may reach the parent's trace.
    monkeypatch.setenv("COMPLEARN_RECORD_CHANNEL", channel)
    program = compile_c(tmp_path, "fork_mem", FORK_MEM_C, "-no-pie", "-O1")
    out = tmp_path / "fork-mem.trace"
    record([str(program)], "mem", out, progress=False)
    trace = read_trace(out)
    events, flags = np.asarray(trace.events), np.asarray(trace.flags)
    child_first = _data_symbol(program, "child_array") >> 6
    parent_first = _data_symbol(program, "parent_array") >> 6
    in_child = (events >= child_first) & (events < child_first + (1 << 14))
    in_parent = (events >= parent_first) & (events < parent_first + 64) & (flags == 1)
    assert trace.num_sessions == 1
    assert trace.meta["exit_status"] == 0
    assert not in_child.any()
    assert (events[in_parent] - parent_first).tolist() == list(range(64))


@pytest.mark.parametrize("chunks, chunk_bytes, option", [(2, (1 << 32) + 8, "--chunk-bytes"),
                                                         (1 << 62, 1 << 16, "--ring-chunks")])
def test_tool_rejects_ring_sizes_that_overflow(tmp_path, chunks, chunk_bytes, option):
    # A CHUNK word carries a 32-bit byte count, and chunks * chunk_bytes is
    # the size of the mapping: larger values must stop the tool at start.
    from types import SimpleNamespace
    from tracer.backends import ToolOptions, get_backend

    tool = get_backend("valgrind")
    tool.prepare()
    memory_fd = os.memfd_create("complearn-test-ring")
    free_read, free_write = os.pipe()
    out_read, out_write = os.pipe()
    try:
        os.ftruncate(memory_fd, 2 * chunk_bytes if chunks == 2 else 1 << 20)
        ring = SimpleNamespace(fd=memory_fd, free_read=free_read, chunks=chunks,
                               chunk_bytes=chunk_bytes)
        options = ToolOptions(calls=False, mem=True, start_at="", skip=0, max=0)
        command, env = tool.command(["/bin/true"], out_write, options, ring)
        result = subprocess.run(command, env=env, pass_fds=(out_write, memory_fd, free_read),
                                capture_output=True, text=True, timeout=60)
    finally:
        for fd in (memory_fd, free_read, free_write, out_read, out_write):
            os.close(fd)
    # NOTE: only the message is checked, because on some hosts Valgrind 3.19
    # runs on after VG_(fmsg_bad_option) (its exit_group call returns), and
    # the exit status is then not the 1 that the function is meant to give.
    assert f"Bad option: {option}" in result.stderr
