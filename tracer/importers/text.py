"""One event per line, plain text or gzip.

Each line with its surrounding whitespace removed is one event. Blank lines are
skipped, so a trailing empty line or a blank separator changes nothing. For ``mem``
traces each line is a block number (decimal or ``0x`` hex), or a byte address with
``address_values``. The text has no load/store bit, so every access is recorded as a
load and ``meta["stores_known"]`` is False.
"""
from tracer.importers.common import iter_lines


def read_text(path, sink, options):
    """Feed every non-blank line of ``path`` to ``sink`` as one event."""
    for line_number, line in iter_lines(path):
        token = line.strip()
        if token:
            sink.add_token(token, line_number)
    if sink.kind == "mem":
        sink.meta["stores_known"] = False
