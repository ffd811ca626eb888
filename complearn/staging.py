"""Output folders that receive a study's files only when the whole study has finished.

``staged_output(out_dir)`` creates a hidden temporary folder next to ``out_dir`` and
yields it. When the block finishes, every entry of the temporary folder moves into
``out_dir``, which is created if needed, and replaces an entry of the same name. When
the block raises, the temporary folder is deleted and ``out_dir`` stays as it was.
Each move is a rename on one file system, so a reader never sees half of a file.
"""
import contextlib
import os
import pathlib
import shutil
import tempfile

from predictor.errors import PredictorError


class OutputError(PredictorError):
    """The output folder cannot be created or written."""


def check_output_dir(out_dir) -> pathlib.Path:
    """Return ``out_dir`` as a path after checking that it can be written.

    Missing parent folders are created (``out_dir`` itself only when results are
    complete). Raises OutputError when it or an ancestor is a file, or when the
    nearest existing folder is not writable.
    """
    out_dir = pathlib.Path(out_dir).absolute()
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"--out {out_dir} is a file, not a folder: choose another --out")

    existing = out_dir
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(f"--out {out_dir}: {existing} is a file, not a folder; "
                          "choose another --out")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"--out {out_dir}: folder {existing} is not writable; "
                          "choose another --out")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    return out_dir


def _move_into(stage_dir: pathlib.Path, out_dir: pathlib.Path):
    out_dir.mkdir(exist_ok=True)
    for entry in sorted(stage_dir.iterdir()):
        target = out_dir / entry.name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        os.replace(entry, target)


@contextlib.contextmanager
def staged_output(out_dir):
    """Yield a temporary folder whose entries move into ``out_dir`` on success.

    Raises OutputError when the temporary folder cannot be created or the results
    cannot be moved into ``out_dir``.
    """
    out_dir = check_output_dir(out_dir)
    try:
        stage_dir = pathlib.Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-",
                                                  dir=out_dir.parent))
    except OSError as error:
        raise OutputError(f"--out {out_dir}: cannot create a working folder beside it "
                          f"({error.strerror}); choose another --out") from None
    try:
        yield stage_dir
    except BaseException:
        shutil.rmtree(stage_dir, ignore_errors=True)
        raise

    try:
        _move_into(stage_dir, out_dir)
    except OSError as error:
        raise OutputError(f"--out {out_dir}: cannot move the results into it "
                          f"({error.strerror}); what was not moved is in {stage_dir}") from None
    shutil.rmtree(stage_dir, ignore_errors=True)
