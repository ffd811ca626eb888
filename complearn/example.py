"""The study ``complearn compare`` runs with no arguments: a bundled program, traced live.

The program is ``examples/programs/fluid.c``, a lattice-Boltzmann solver that calls
one small helper per cell in each of its four time steps, so both its call trace
and its memory trace repeat with structure. It is compiled with the Makefile beside
it and traced with the Valgrind backend, once per kind. The grid size of each kind
(``EXAMPLE_RUNS``) keeps every time step inside the trace, so the test stream (the
second half) repeats what the models trained on. It also keeps the whole study
within minutes on two CPU cores.

Where the program cannot be compiled or Valgrind (or its tool) is unavailable, the
traces shipped in ``examples/traces/`` serve instead. They were recorded from the
same program with the same settings (see the README there), stored zstd-compressed.
"""
import dataclasses
import os
import pathlib
import shutil
import subprocess

from tracer.errors import BackendError, TraceError

REPO = pathlib.Path(__file__).resolve().parent.parent
PROGRAMS_DIR = REPO / "examples" / "programs"
SHIPPED_DIR = REPO / "examples" / "traces"
PROGRAM = "fluid"


@dataclasses.dataclass(frozen=True)
class ExampleRun:
    """Recording settings of one kind of trace of the example program."""

    args: tuple  # command-line arguments of the program (the grid size)
    max_events: int  # event limit of the trace


# The grid sizes give traces of about 25,000 calls (4 time steps of a 16 x 16
# grid) and 45,000 memory accesses (4 time steps of a 6 x 6 grid). The event
# limits only guard against a changed program.
EXAMPLE_RUNS = {
    "calls": ExampleRun(args=("16",), max_events=40_000),
    "mem": ExampleRun(args=("6",), max_events=60_000),
}


class ExampleUnavailable(Exception):
    """The example cannot be traced live here; the message gives the reason."""


def shipped_trace_path(kind) -> pathlib.Path:
    """Return the path of the compressed trace of ``kind`` shipped in examples/traces/."""
    return SHIPPED_DIR / f"{PROGRAM}-{kind}.trace.zst"


def build_program(build_dir) -> pathlib.Path:
    """Compile the example program into ``build_dir`` and return the executable's path.

    Raises ExampleUnavailable when make, the compiler or the sources are missing.
    """
    if not (PROGRAMS_DIR / f"{PROGRAM}.c").is_file():
        raise ExampleUnavailable(f"the example source {PROGRAMS_DIR / PROGRAM}.c is missing")
    target = pathlib.Path(build_dir).absolute() / PROGRAM
    command = ["make", "-s", "-C", str(PROGRAMS_DIR), f"BUILD={target.parent}", str(target)]
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise ExampleUnavailable("'make' was not found, so the example cannot be compiled") from None
    if result.returncode != 0 or not target.is_file():
        lines = (result.stderr or result.stdout).strip().splitlines() or ["(no output)"]
        raise ExampleUnavailable(f"compiling the example failed: {lines[-1]}")
    return target


def record_example(kinds, work_dir, progress=True) -> dict:
    """Compile and trace the example program; return {kind: trace path} inside ``work_dir``.

    Raises ExampleUnavailable when the program cannot be compiled or traced with
    the Valgrind backend.
    """
    from tracer.record import record

    work_dir = pathlib.Path(work_dir)
    program = build_program(work_dir / "build")
    paths = {}
    for kind in kinds:
        run = EXAMPLE_RUNS[kind]
        path = work_dir / f"{PROGRAM}-{kind}.trace"
        try:
            record([os.fspath(program), *run.args], kind, os.fspath(path),
                   max_events=run.max_events, progress=progress)
        except BackendError as error:
            raise ExampleUnavailable(f"the Valgrind backend is unavailable: {error}") from None
        paths[kind] = path
    shutil.rmtree(work_dir / "build", ignore_errors=True)
    return paths


def unpack_shipped(kinds, work_dir) -> dict:
    """Decompress the shipped traces into ``work_dir``; return {kind: trace path}.

    Raises TraceError when a shipped trace is missing or damaged.
    """
    import zstandard

    paths = {}
    for kind in kinds:
        source = shipped_trace_path(kind)
        target = pathlib.Path(work_dir) / source.name[:-len(".zst")]
        try:
            with open(source, "rb") as packed, open(target, "wb") as unpacked:
                zstandard.ZstdDecompressor().copy_stream(packed, unpacked)
        except FileNotFoundError:
            raise TraceError(f"the shipped trace {source} is missing; restore it with git "
                             "checkout or trace the example with Valgrind") from None
        except zstandard.ZstdError as error:
            raise TraceError(f"the shipped trace {source} is damaged ({error}); restore it "
                             "with git checkout") from None
        paths[kind] = target
    return paths


def example_traces(kinds, work_dir, progress=True):
    """Return ({kind: trace path}, None) traced live, or (shipped paths, reason) as fallback."""
    try:
        return record_example(kinds, work_dir, progress), None
    except ExampleUnavailable as error:
        shutil.rmtree(pathlib.Path(work_dir) / "build", ignore_errors=True)
        return unpack_shipped(kinds, work_dir), str(error)
