"""Subcommands of ``complearn``.

Each module in this package defines ``NAME`` (the subcommand), ``HELP`` (one line),
``add_arguments(parser)`` and ``run(args) -> int``. Modules are found by listing the
package, so adding a subcommand means adding one file.
"""
import importlib
import pkgutil


def load_commands():
    """Import every subcommand module, sorted by subcommand name."""
    modules = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        modules.append(importlib.import_module(f"{__name__}.{info.name}"))
    return sorted(modules, key=lambda module: module.NAME)
