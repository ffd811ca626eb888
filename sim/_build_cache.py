"""cffi build script for the cache simulator core, module ``sim._cache``.

Out-of-line API mode: ``pip install`` compiles the C99 sources in ``sim/csrc``.
The cdef is ``csrc/cache.h`` itself with its preprocessor lines removed, so
the two cannot drift apart.
"""
import pathlib

from cffi import FFI

# setuptools wants source paths relative to the folder of setup.py.
CSRC = pathlib.Path("sim") / "csrc"
SOURCES = ["cache.c", "inflight.c", "policy.c", "policy_lru.c", "policy_fifo.c",
           "policy_random.c", "policy_srrip.c", "prefetch.c", "prefetch_next_line.c",
           "prefetch_stride.c", "prefetch_replay.c"]


def public_declarations():
    """Return the declarations of cache.h without preprocessor lines."""
    header = pathlib.Path(__file__).resolve().parent / "csrc" / "cache.h"
    text = header.read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    return "\n".join(lines)


ffibuilder = FFI()
ffibuilder.cdef(public_declarations())
ffibuilder.set_source(
    "sim._cache",
    '#include "cache.h"',
    sources=[(CSRC / name).as_posix() for name in SOURCES],
    include_dirs=[CSRC.as_posix()],
    extra_compile_args=["-std=c99", "-O3", "-flto", "-Wall", "-Wextra"],
    extra_link_args=["-O3", "-flto"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
