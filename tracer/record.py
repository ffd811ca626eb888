"""Record a call or memory trace of a real program under an instrumentation backend.

``record`` starts the program under the backend's tool with a pipe for the
records, reads them in bulk (``tracer.records``), collects them per thread
(``tracer.collect``) and writes one trace file with ``TraceWriter``. A program
that crashes, exits non-zero or is stopped (Ctrl-C, the event limit) still
gives a trace of the events recorded so far, and its metadata records how it
ended.

Children created with fork() run untraced: the tool follows only the process
it started, and a child's exec() runs natively.
"""
import fcntl
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from tracer.backends import ToolOptions, get_backend
from tracer.collect import CallCollector, MemCollector
from tracer.errors import BackendError, TraceError
from tracer.records import End, Events, Mapping, PackedEvents, RecordReader, Ring
from tracer.tracefile import TraceWriter

log = logging.getLogger(__name__)

KINDS = ("calls", "mem")
CHANNELS = ("", "ring", "pipe")  # values of COMPLEARN_RECORD_CHANNEL
_KILL_AFTER_INTERRUPT_S = 5.0
_ELF_MAGIC = b"\x7fELF"
_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)  # Linux fcntl(2)
_PIPE_BYTES_MAX = 16 << 20


def record(argv, kind, out_path, backend="valgrind", start_at="main", skip_events=0,
           max_events=None, images=("main",), progress=True, compress_spool=None):
    """Run ``argv`` under a backend and write a ``kind`` trace ("calls" or "mem") to ``out_path``.

    ``start_at`` names the function whose first execution starts recording ("" or
    "none" = from the first instruction). ``skip_events`` events after the start
    are dropped and at most ``max_events`` are kept; the program is killed once
    the limit is reached. ``images`` selects whose functions a call trace keeps:
    "main" (the program itself), "all", or image file names such as "libc".
    ``compress_spool`` compresses the temporary per-thread spools with zstd
    (default: on for memory traces). Returns ``out_path``.

    Raises ``TraceError`` for invalid arguments, a missing or non-ELF program, or
    a start function that never ran. Raises ``BackendError`` when the backend is
    missing or fails. No trace file is written in those cases.
    """
    program = _check_arguments(argv, kind, out_path, skip_events, max_events, images)
    tool = get_backend(backend)
    tool.prepare()
    start_at = "" if start_at in (None, "", "none") else start_at
    options = _tool_options(kind, start_at, skip_events, max_events, images)
    compress = (kind == "mem") if compress_spool is None else compress_spool

    folder = os.path.dirname(os.path.abspath(out_path))
    with tempfile.TemporaryDirectory(dir=folder, prefix=".complearn-spool-") as spool_dir:
        if kind == "calls":
            collector = CallCollector(spool_dir, program, images, _python_skip(options, skip_events),
                                      max_events, compress)
        else:
            collector = MemCollector(spool_dir, skip_events, max_events, compress)
        run = _Run(tool, [program, *argv[1:]], options, collector, max_events, progress)
        try:
            run.execute()
        except BaseException:
            _finish_quietly(collector.spools)  # the run's error is the one to report
            raise
        collector.spools.finish()
        meta = _meta(argv, program, backend, run, collector, start_at, skip_events,
                     max_events, images)
        _write(out_path, collector, meta, progress)
    return out_path


def _finish_quietly(spools):
    try:
        spools.finish()
    except Exception as error:
        log.debug("closing the spools after a failed run: %s", error)


def _check_arguments(argv, kind, out_path, skip_events, max_events, images):
    if kind not in KINDS:
        raise TraceError(f"unknown trace kind {kind!r}, expected one of {', '.join(KINDS)}")
    if not argv:
        raise TraceError("no program given; pass the command to trace after '--'")
    if skip_events < 0 or (max_events is not None and max_events <= 0):
        raise TraceError(f"skip events {skip_events}, max events {max_events}: skip must be 0 "
                         "or more and max at least 1")
    if not images:
        raise TraceError("no images selected; use 'main', 'all' or image file names")
    folder = os.path.dirname(os.path.abspath(out_path))
    if not os.path.isdir(folder):
        raise TraceError(f"output folder {folder} does not exist; create it first")
    if os.path.isdir(out_path):
        raise TraceError(f"output {out_path} is a folder; give a trace file name such as "
                         f"{os.path.join(out_path, 'out.trace')}")
    channel = os.environ.get("COMPLEARN_RECORD_CHANNEL", "")
    if channel not in CHANNELS:
        raise TraceError(f"COMPLEARN_RECORD_CHANNEL={channel!r} is invalid; use 'ring' (shared "
                         "memory, the default) or 'pipe', or unset it")
    return resolve_program(argv[0])


def resolve_program(name):
    """Return the path of an ELF executable named like a shell command would find it."""
    path = name if os.sep in name else shutil.which(name)
    if path is None:
        raise TraceError(f"program {name!r} not found on PATH; give its path")
    if not os.path.exists(path):
        raise TraceError(f"program {path} not found")
    if not os.path.isfile(path) or not os.access(path, os.X_OK):
        raise TraceError(f"program {path} is not an executable file")
    try:
        with open(path, "rb") as handle:
            magic = handle.read(4)
    except OSError as error:
        raise TraceError(f"cannot read program {path}: {error.strerror}") from None
    if magic != _ELF_MAGIC:
        raise TraceError(f"program {path} is not an ELF executable (a script?); trace its "
                         "interpreter instead, e.g. '-- python3 script.py'")
    return os.path.abspath(path)


def _tool_options(kind, start_at, skip_events, max_events, images):
    # The tool applies the window when every record it writes is kept. With an
    # image filter, only calls that pass the filter count, so Python applies it.
    tool_window = kind == "mem" or "all" in images
    return ToolOptions(calls=kind == "calls", mem=kind == "mem", start_at=start_at,
                       skip=skip_events if tool_window else 0,
                       max=(max_events or 0) if tool_window else 0)


def _python_skip(options, skip_events):
    return 0 if options.skip else skip_events


class _Run:
    """One run of the program under the tool, reading its records until the end."""

    def __init__(self, tool, argv, options, collector, max_events, progress):
        self.tool = tool
        self.argv = argv
        self.options = options
        self.collector = collector
        self.max_events = max_events
        self.progress = progress
        self.end = None
        self.mappings = []
        self.stopped = None  # None, "max-events" or "interrupted"
        self.returncode = None
        self.header_seen = False
        self.seconds = 0.0
        self._interrupts = 0
        self._process = None

    def execute(self):
        read_fd, write_fd = open_pipe()
        ring = open_ring(self.tool)
        if ring is None:
            command, env = self.tool.command(self.argv, write_fd, self.options)
            inherited = (write_fd,)
        else:
            command, env = self.tool.command(self.argv, write_fd, self.options, ring)
            inherited = (write_fd, ring.fd, ring.free_read)
        log.info("running %s", " ".join(command))
        started = time.monotonic()
        try:
            self._process = subprocess.Popen(command, env=env, pass_fds=inherited)
        except OSError as error:
            os.close(read_fd)
            if ring is not None:
                ring.close()
            raise BackendError(f"starting {command[0]} failed: {error.strerror}") from None
        finally:
            os.close(write_fd)
            if ring is not None:
                ring.close_tool_ends()

        previous = _install_sigint(self._on_sigint)
        failed = True
        reader = None
        try:
            with os.fdopen(read_fd, "rb", buffering=0) as pipe:
                reader = RecordReader(pipe.fileno(), source=f"the {self.tool.name} tool",
                                      ring=ring)
                self._pump(reader)
                self.header_seen = reader.header_seen
            failed = False
        finally:
            # Free the reader and the ring now, not when a traceback that
            # refers to them is dropped, because the ring is 64 MiB of shared
            # memory by default.
            if reader is not None:
                reader.close()
            if ring is not None:
                # Closing the free-chunk pipe wakes a tool waiting for a chunk.
                ring.close()
            # The pipe is no longer read, so a tool still writing would block.
            if self._process.poll() is None and (failed or self.stopped is not None):
                self._process.kill()
            self.returncode = self._process.wait()
            _restore_sigint(previous)
            self.seconds = time.monotonic() - started
        self._check_outcome()

    def _pump(self, reader):
        bar = _progress_bar(self.progress, self.max_events)
        packed = hasattr(self.collector, "add_packed")
        try:
            while True:
                if packed:
                    buffer = self.collector.spools.take_buffer()
                    item = reader.read_packed(buffer)
                    if not isinstance(item, PackedEvents):
                        self.collector.spools.append_packed(buffer, 0, 0, 0)  # unused
                else:
                    item = reader.read()
                if item is None:
                    return
                if isinstance(item, (Events, PackedEvents)):
                    before = self.collector.num_events
                    if packed:
                        self.collector.add_packed(item)
                    else:
                        self.collector.add(item)
                    bar.update(self.collector.num_events - before)
                    if self.collector.window.full and self.stopped is None:
                        self.stopped = "max-events"
                        self._process.kill()
                        return
                elif isinstance(item, Mapping):
                    self.mappings.append(item)
                    self.collector.add_mapping(item)
                elif isinstance(item, End):
                    self.end = item
        finally:
            bar.close()

    def _on_sigint(self, signum, frame):
        # Ctrl-C reaches the whole process group; signal the tool as well in
        # case only this process was interrupted, and kill it on a second try.
        self._interrupts += 1
        if self.stopped is None:
            self.stopped = "interrupted"
        if self._process is None or self._process.poll() is not None:
            return
        if self._interrupts == 1:
            self._process.send_signal(signal.SIGINT)
            timer = threading.Timer(_KILL_AFTER_INTERRUPT_S, self._kill_if_running)
            timer.daemon = True
            timer.start()
        else:
            self._process.kill()

    def _kill_if_running(self):
        if self._process.poll() is None:
            self._process.kill()

    def _check_outcome(self):
        if not self.header_seen and self.stopped is None:
            raise BackendError(f"{self.tool.name} exited with status {self.returncode} before "
                               "the tool wrote any record; see its messages above")
        if self.end is not None and not self.end.started and self.stopped is None:
            raise TraceError(f"recording never started: {self.argv[0]} never entered "
                             f"{self.options.start_at!r}; pick a function it runs with "
                             "--start-at, or --start-at none to record from the first "
                             "instruction")


def open_pipe():
    """Return ``(read_fd, write_fd)`` of a pipe enlarged to the system maximum.

    With the default 64 KiB pipe the tool blocks 16 times per 1 MiB buffer that
    it writes, so a larger pipe keeps the tool and the reader running.
    """
    read_fd, write_fd = os.pipe()
    try:
        with open("/proc/sys/fs/pipe-max-size") as handle:
            size = min(int(handle.read()), _PIPE_BYTES_MAX)
        fcntl.fcntl(write_fd, _F_SETPIPE_SZ, size)
    except (OSError, ValueError) as error:
        log.debug("pipe keeps its default size: %s", error)
    return read_fd, write_fd


def open_ring(tool):
    """Return a ``Ring`` for a backend that supports one, else None (records go
    through the pipe). ``COMPLEARN_RECORD_CHANNEL=pipe`` forces the pipe."""
    if not tool.supports_ring or os.environ.get("COMPLEARN_RECORD_CHANNEL") == "pipe":
        return None
    try:
        return Ring()
    except OSError as error:
        log.debug("no shared memory for records, using the pipe: %s", error)
        return None


def _install_sigint(handler):
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGINT, handler)


def _restore_sigint(previous):
    if previous is not None:
        signal.signal(signal.SIGINT, previous)


class _NoBar:
    def update(self, count):
        pass

    def close(self):
        pass


def _progress_bar(enabled, total, description="recording"):
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc=description, unit=" events", unit_scale=True,
                file=sys.stderr, mininterval=0.5)


def _meta(argv, program, backend, run, collector, start_at, skip_events, max_events, images):
    exit_status, signal_name = None, None
    if run.returncode is not None:
        if run.returncode >= 0:
            exit_status = run.returncode
        else:
            signal_name = signal.Signals(-run.returncode).name
    complete = run.stopped is None and signal_name is None
    meta = {
        "source": "complearn trace",
        "command": list(argv),
        "program": program,
        "backend": backend,
        "start_at": start_at or None,
        "skip_events": skip_events,
        "max_events": max_events,
        "exit_status": exit_status,
        "signal": signal_name,
        "complete": complete,
        "stopped": run.stopped,
        "threads": [int(tid) for tid in collector.spools.spools],
        "tool_events": None if run.end is None else run.end.events,
        "seconds": round(run.seconds, 3),
        "mappings": [[m.path, f"0x{m.start:x}", f"0x{m.end:x}", f"0x{m.file_offset:x}",
                      m.record_index] for m in run.mappings if m.executable],
    }
    if collector.kind == "calls":
        meta["images"] = list(images)
    meta.update(collector.meta())
    return meta


def _write(out_path, collector, meta, progress=True):
    bar = _progress_bar(progress, collector.num_events, "writing trace")
    try:
        with TraceWriter(out_path, collector.kind, meta) as writer:
            for spool in collector.spools.spools.values():
                writer.new_session()
                for values, flags in spool.chunks():
                    writer.append(values, flags)
                    bar.update(len(values))
    finally:
        bar.close()
