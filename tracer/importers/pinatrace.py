"""Pin pinatrace-style text: ``0x401a2c: R 0x7ffd5e4c8a38`` per memory access.

The first field is the instruction address (ignored), then ``R`` (read) or ``W``
(write) and the data address, optionally followed by the access size in bytes.
Without a size an access counts as one block. Lines starting with ``#`` are
comments, and ``#eof`` (which pinatrace writes when the program ends) stops reading.
"""
import logging
import re

from tracer.errors import ImportFormatError
from tracer.importers.common import iter_lines

log = logging.getLogger(__name__)

# instruction address, R or W, data address, optional size in bytes
_ACCESS = re.compile(r"(?:0x)?[0-9a-fA-F]+:\s+([RW])\s+((?:0x)?[0-9a-fA-F]+)(?:\s+(\d+))?$")


def read_pinatrace(path, sink, options):
    """Feed the accesses of a pinatrace file to ``sink`` as 64-byte block records."""
    saw_eof = False
    for line_number, line in iter_lines(path):
        text = line.strip()
        if text == "#eof":
            saw_eof = True
            break
        if not text or text.startswith("#"):
            continue

        is_store, address, size_bytes = _parse_access(text, path, line_number)
        sink.add_access(address, size_bytes, is_store)

    # NOTE: a file without #eof may stop early, for example when the traced program was
    # killed. The accesses read so far are kept and meta["complete"] is False.
    sink.meta["complete"] = saw_eof
    if not saw_eof:
        log.warning("%s: no #eof line; the trace may be incomplete", path)


def _parse_access(text, path, line_number):
    match = _ACCESS.match(text)
    if match is None:
        raise ImportFormatError(
            f"{path}: line {line_number}: {text!r} is not a pinatrace record "
            f"(expected 'IP: R|W ADDRESS [SIZE]' with hex addresses)")

    operation, address, size_bytes = match.groups()
    return operation == "W", int(address, 16), int(size_bytes) if size_bytes else 1
