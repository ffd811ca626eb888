"""Valgrind lackey output (``valgrind --tool=lackey --trace-mem=yes``).

Lackey writes one access per line: ``I  04222cac,3`` for an instruction fetch,
`` L 04222cac,4`` for a load, `` S …`` for a store and `` M …`` for a modify (a
load and a store of the same bytes). Addresses are hex without ``0x``, sizes are
decimal bytes. Instruction fetches are skipped; a modify becomes the loads then the
stores. Valgrind's own ``==PID==`` lines are skipped. Any other line is an error,
because it usually means the program's output is mixed into the log: run valgrind
with ``--log-file`` to keep them apart.
"""
import re

from tracer.errors import ImportFormatError
from tracer.importers.common import iter_lines

_ACCESS = re.compile(r"\s*([LSM])\s+([0-9a-fA-F]+),(\d+)\s*$")


def read_lackey(path, sink, options):
    """Feed the data accesses of a lackey log to ``sink`` as 64-byte block records."""
    for line_number, line in iter_lines(path):
        if line.startswith("==") or not line.strip():
            continue
        if line.startswith("I"):
            continue

        operation, address, size_bytes = _parse_access(line, path, line_number)
        if operation in "LM":
            sink.add_access(address, size_bytes, is_store=False)
        if operation in "SM":
            sink.add_access(address, size_bytes, is_store=True)


def _parse_access(line, path, line_number):
    match = _ACCESS.match(line)
    if match is None:
        raise ImportFormatError(
            f"{path}: line {line_number}: {line.strip()!r} is not a lackey record (expected "
            f"' L|S|M hexaddr,size' or 'I  hexaddr,size'); run valgrind with --log-file=FILE so "
            f"program output stays out of the log")

    operation, address, size_bytes = match.groups()
    return operation, int(address, 16), int(size_bytes)
