"""One column of a CSV file with a header row (LogHub ``*_structured.csv``).

The chosen column (``EventId`` unless ``--column`` names another) gives one event
per row. When that column is ``EventId``, the event templates are kept in
``meta["templates"]`` (a list aligned with ``meta["names"]``, ``None`` where no
template is known): from an ``EventTemplate`` column in the same file, or else from
the LogHub ``*_templates.csv`` file beside it (``X_structured.csv`` ->
``X_templates.csv``).
For ``mem`` traces the column holds block numbers, as in the ``text`` format, with
no load/store bit, so ``meta["stores_known"]`` is False.
"""
import csv
import os

from tracer.errors import ImportFormatError
from tracer.importers.common import iter_lines

DEFAULT_COLUMN = "EventId"
TEMPLATE_COLUMN = "EventTemplate"


def read_csv_column(path, sink, options):
    """Feed one column of a CSV file to ``sink``, one event per data row."""
    column = options.column or DEFAULT_COLUMN
    lines = (line for _, line in iter_lines(path, newline=""))
    reader = csv.reader(lines)
    header = _read_header(reader, path)
    if column not in header:
        raise ImportFormatError(
            f"{path}: no column {column!r}; available columns: {', '.join(header)}; "
            f"choose one with --column")

    index = header.index(column)
    template_index = header.index(TEMPLATE_COLUMN) if TEMPLATE_COLUMN in header else None
    templates = {}
    try:
        for row in reader:
            if not row:
                continue
            if len(row) != len(header):
                raise ImportFormatError(
                    f"{path}: line {reader.line_num}: {len(row)} fields, the header has {len(header)}")
            sink.add_token(row[index], reader.line_num)
            if template_index is not None:
                templates.setdefault(row[index], row[template_index])
    except csv.Error as error:
        raise ImportFormatError(f"{path}: line {reader.line_num}: invalid CSV: {error}") from None

    sink.meta["column"] = column
    if sink.kind == "mem":
        sink.meta["stores_known"] = False
    if column == DEFAULT_COLUMN and sink.kind != "mem":
        _keep_templates(path, sink, templates, template_index is not None)


def _read_header(reader, path):
    try:
        header = next(reader, None)
    except csv.Error as error:
        raise ImportFormatError(f"{path}: line 1: invalid CSV header: {error}") from None
    if not header:
        raise ImportFormatError(f"{path}: empty file, expected a CSV header row and data rows")
    return header


def _keep_templates(path, sink, templates, from_column):
    if not from_column:
        templates_path = _templates_path(path)
        if templates_path is None:
            return
        templates = _read_templates_file(templates_path)
        sink.meta["templates_source"] = templates_path
    sink.meta["templates"] = [templates.get(name) for name in sink.names]


def _templates_path(path):
    """Return the LogHub templates file beside a structured file, or None."""
    folder, name = os.path.split(os.path.abspath(path))
    suffix = "_structured.csv"
    if not name.endswith(suffix):
        return None
    candidate = os.path.join(folder, name[: -len(suffix)] + "_templates.csv")
    return candidate if os.path.isfile(candidate) else None


def _read_templates_file(path):
    """Read ``EventId -> EventTemplate`` from a LogHub templates file."""
    reader = csv.reader(line for _, line in iter_lines(path, newline=""))
    try:
        header = _read_header(reader, path)
        if DEFAULT_COLUMN not in header or TEMPLATE_COLUMN not in header:
            raise ImportFormatError(
                f"{path}: templates file needs columns {DEFAULT_COLUMN} and {TEMPLATE_COLUMN}, "
                f"found {', '.join(header)}")
        key, value = header.index(DEFAULT_COLUMN), header.index(TEMPLATE_COLUMN)
        return {row[key]: row[value] for row in reader if len(row) == len(header)}
    except csv.Error as error:
        raise ImportFormatError(f"{path}: line {reader.line_num}: invalid CSV: {error}") from None
