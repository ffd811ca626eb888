"""Atomic file writes: a temporary file in the target folder, renamed into place.

A crash or an error while writing leaves the previous file (or none) under the
final name, never half a file.
"""
import contextlib
import os
import tempfile


def new_file_mode() -> int:
    """Return the mode ``open()`` gives a new file: 0o666 less the process umask.

    ``tempfile`` creates files with mode 0o600, so a file renamed into place would
    otherwise stay unreadable to the group and others whatever the umask is.
    """
    # NOTE: os.umask can only be read by setting it, so for a moment it is 0; a thread
    # creating a file at that moment would get mode 0o666.
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_writer(path, mode="wb"):
    """Yield a temporary file open in ``mode``; on a clean exit it becomes ``path``.

    On an exception the temporary file is removed and ``path`` is left untouched.
    Raises OSError when the folder cannot hold a new file.
    """
    folder = os.path.dirname(os.path.abspath(path))
    name = os.path.basename(path)
    handle = tempfile.NamedTemporaryFile(mode, dir=folder, prefix=f".{name}-", delete=False)
    try:
        with handle:
            yield handle
            handle.flush()
            os.fchmod(handle.fileno(), new_file_mode())
        os.replace(handle.name, path)
    finally:
        if os.path.exists(handle.name):
            os.unlink(handle.name)
