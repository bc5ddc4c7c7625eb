"""The ``neurosim`` command line: ``neurosim --help`` lists the subcommands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

import neurosim

#: Exit statuses of every subcommand.
EXIT_OK = 0
EXIT_FAILED = 1  # a sweep in which some run failed
EXIT_USAGE = 2  # bad input: config, file, option; nothing was run
EXIT_DIVERGED = 3  # the run finished, and its training diverged (recorded in result.json)
EXIT_INTERRUPTED = 130

# Subcommands register themselves with a function ``register(subparsers)`` that adds
# a parser whose defaults include ``func(args) -> int``. Imports stay lazy so that
# ``neurosim --help`` does not pay for torch or brian2.
_SUBCOMMANDS: tuple[tuple[str, str], ...] = (
    ("run, sweep, report", "neurosim.runner.cli"),
    ("fit", "neurosim.analysis.fit_cli"),
)


class CLIError(Exception):
    """An error to print as one line on stderr with exit status 2."""


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _os_error(exc: OSError) -> str:
    where = exc.filename if exc.filename is not None else ""
    what = exc.strerror or _one_line(exc)
    return f"{where}: {what}" if where else what


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neurosim",
        description="Dale-constrained networks learning with multiplicative updates on a log grid "
        "of synapse sizes, and the analysis of their size distributions.",
    )
    parser.add_argument("--version", action="version", version=f"neurosim {neurosim.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    import importlib

    for _name, module in _SUBCOMMANDS:
        try:
            register: Callable[[argparse._SubParsersAction], None] = importlib.import_module(
                module
            ).register
        except ModuleNotFoundError:
            continue
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``neurosim`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return EXIT_OK
    from neurosim.runner.study import setup_logging

    setup_logging(getattr(args, "quiet", False))
    from neurosim.runner.config import ConfigError
    from neurosim.runner.rundir import RunError
    from neurosim.snapshot import SnapshotError

    try:
        return int(args.func(args) or 0)
    except (CLIError, ConfigError, RunError, SnapshotError) as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # a folder that cannot be written, a file that vanished, ...
        print(f"error: {_os_error(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except MemoryError:
        print("error: out of memory (make the network or the data smaller)", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
