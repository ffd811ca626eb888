"""One session per line of whitespace-separated keys (the DeepLog ``hdfs_train`` layout).

Each non-blank line becomes its own session, so the last key of one line is never
followed by the first key of the next. Blank lines are skipped (a session cannot be
empty). For ``mem`` traces the keys are block numbers, as in the ``text`` format.
"""
from tracer.importers.common import iter_lines


def read_sessions(path, sink, options):
    """Feed each line of ``path`` to ``sink`` as one session."""
    for line_number, line in iter_lines(path):
        keys = line.split()
        if not keys:
            continue

        sink.new_session()
        for key in keys:
            sink.add_token(key, line_number)
    if sink.kind == "mem":
        sink.meta["stores_known"] = False
