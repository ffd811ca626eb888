"""The Valgrind backend: the tool in plugin/valgrind, built against the system Valgrind.

The valgrind executable is ``$COMPLEARN_VALGRIND`` or ``valgrind`` on PATH. The
tool is looked up in ``$COMPLEARN_VALGRIND_TOOL_DIR`` or plugin/valgrind/build,
and built with ``make -C plugin/valgrind`` when missing.
"""
import os
import shutil
import subprocess

from tracer.backends import PLUGIN_DIR, Backend
from tracer.errors import BackendError

TOOL = "complearn"
PLATFORM = "amd64-linux"


class ValgrindBackend(Backend):
    name = "valgrind"
    supports_ring = True

    def __init__(self):
        self.valgrind = None
        self.tool_dir = os.environ.get("COMPLEARN_VALGRIND_TOOL_DIR") or str(PLUGIN_DIR / "valgrind" / "build")

    def prepare(self):
        self.valgrind = _find_valgrind()
        if not os.path.isfile(self._tool_path()):
            _build_tool(self.tool_dir)
        if not os.path.isfile(self._tool_path()):
            raise BackendError(f"the Valgrind tool {self._tool_path()} is missing after the build; "
                               "run 'make plugins' and check its output")

    def command(self, argv, out_fd, options, ring=None):
        yes_no = {True: "yes", False: "no"}
        channel = []
        if ring is not None:
            channel = [f"--ring-fd={ring.fd}", f"--free-fd={ring.free_read}",
                       f"--ring-chunks={ring.chunks}", f"--chunk-bytes={ring.chunk_bytes}"]
        command = [self.valgrind, "-q", f"--tool={TOOL}", f"--out-fd={out_fd}", *channel,
                   f"--calls={yes_no[options.calls]}", f"--mem={yes_no[options.mem]}",
                   f"--start-at={options.start_at}", f"--skip={options.skip}",
                   f"--max={options.max}", *argv]
        env = dict(os.environ, VALGRIND_LIB=self.tool_dir)
        return command, env

    def _tool_path(self):
        return os.path.join(self.tool_dir, f"{TOOL}-{PLATFORM}")


def _find_valgrind():
    override = os.environ.get("COMPLEARN_VALGRIND")
    if override:
        if not (os.path.isfile(override) and os.access(override, os.X_OK)):
            raise BackendError(f"COMPLEARN_VALGRIND={override} is not an executable file; "
                               "point it at valgrind or unset it")
        return override
    found = shutil.which("valgrind")
    if found is None:
        raise BackendError("valgrind not found on PATH; install it (Debian/Ubuntu: "
                           "apt-get install valgrind) or set COMPLEARN_VALGRIND to its path")
    return found


def _build_tool(tool_dir):
    source = PLUGIN_DIR / "valgrind"
    if not (source / "Makefile").is_file():
        raise BackendError(f"the Valgrind tool is not built and its sources ({source}) are missing; "
                           "set COMPLEARN_VALGRIND_TOOL_DIR to a folder with the built tool")
    try:
        result = subprocess.run(["make", "-C", str(source), f"BUILD={tool_dir}"],
                                capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise BackendError("the Valgrind tool is not built and 'make' was not found; "
                           "install make and run 'make plugins'") from None
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines() or ["(no output)"]
        raise BackendError(f"building the Valgrind tool failed: {lines[-1]}")
