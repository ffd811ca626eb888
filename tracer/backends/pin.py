"""The Pin backend: the Pin tool in plugin/pin, built with the user's Pin kit.

The kit is found through ``$PIN_ROOT`` (the folder holding the ``pin`` launcher
and ``source/tools/Config``). The tool is built on demand with the kit's own
makefile rules into plugin/pin/obj-intel64.

NOTE: the Pin tool has never been compiled or run, because no Pin kit was
available where it was written. Only the error paths here are tested.
"""
import os
import subprocess

from tracer.backends import PLUGIN_DIR, Backend
from tracer.errors import BackendError

TOOL = "complearn_pin"


class PinBackend(Backend):
    name = "pin"

    def __init__(self):
        self.pin_root = None
        self.source = PLUGIN_DIR / "pin"
        self.tool_path = str(self.source / "obj-intel64" / f"{TOOL}.so")

    def prepare(self):
        pin_root = os.environ.get("PIN_ROOT")
        if not pin_root:
            raise BackendError("the pin backend needs the Intel Pin kit: set PIN_ROOT to the "
                               "kit's folder, or use --backend valgrind")
        if not os.access(os.path.join(pin_root, "pin"), os.X_OK):
            raise BackendError(f"PIN_ROOT={pin_root} has no executable 'pin' launcher; "
                               "set PIN_ROOT to the unpacked Pin kit's top folder")
        self.pin_root = pin_root
        if not os.path.isfile(self.tool_path):
            self._build()

    def command(self, argv, out_fd, options, ring=None):
        command = [os.path.join(self.pin_root, "pin"), "-t", self.tool_path,
                   "-out_fd", str(out_fd), "-calls", str(int(options.calls)),
                   "-mem", str(int(options.mem)), "-start_at", options.start_at,
                   "-skip", str(options.skip), "-max", str(options.max), "--", *argv]
        return command, dict(os.environ)

    def _build(self):
        try:
            result = subprocess.run(
                ["make", "-C", str(self.source), f"PIN_ROOT={self.pin_root}",
                 f"obj-intel64/{TOOL}.so"], capture_output=True, text=True, check=False)
        except FileNotFoundError:
            raise BackendError("building the Pin tool needs 'make'; install it") from None
        if result.returncode != 0 or not os.path.isfile(self.tool_path):
            lines = (result.stderr or result.stdout).strip().splitlines() or ["(no output)"]
            raise BackendError(f"building the Pin tool with PIN_ROOT={self.pin_root} failed: "
                               f"{lines[-1]}")
