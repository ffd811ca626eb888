"""Entry point of the ``complearn`` command."""
import argparse
import logging
import os
import sys
import traceback

from complearn import __version__
from complearn.commands import load_commands
from predictor.errors import PredictorError
from sim.errors import SimError
from tracer.errors import TraceError

# Errors that carry a message meant for the user: printed as one line, exit status 1.
USER_ERRORS = (TraceError, PredictorError, SimError)


def build_parser():
    """Build the argument parser with one subparser per command module."""
    parser = argparse.ArgumentParser(
        prog="complearn",
        description="Record event traces, learn them with compressed learning, "
        "and simulate caches with the predictions.",
    )
    parser.add_argument("--version", action="version", version=f"complearn {__version__}")
    parser.add_argument("--traceback", action="store_true",
                        help="print the full stack on errors")
    parser.add_argument("-v", "--verbose", action="store_true", help="log diagnostics to stderr")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in load_commands():
        sub = subparsers.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return parser


def main(argv=None) -> int:
    """Run one subcommand and return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2

    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        status = args.run(args)
        sys.stdout.flush()
        return status
    except BrokenPipeError:
        # The reader (e.g. `head`) closed the pipe early: stop quietly, and point
        # stdout at /dev/null so the interpreter's final flush does not fail too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except USER_ERRORS as error:
        if args.traceback:
            traceback.print_exc()
        print(f"complearn {args.command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"complearn {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
