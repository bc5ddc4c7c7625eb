"""The ``neurosim`` command line: ``neurosim --help`` lists the subcommands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

import neurosim

# Subcommands register themselves with a function ``register(subparsers)`` that adds
# a parser whose defaults include ``func(args) -> int``. Imports stay lazy so that
# ``neurosim --help`` does not pay for torch or brian2.
_SUBCOMMANDS: tuple[tuple[str, str], ...] = (
    ("run, sweep, report", "neurosim.runner.cli"),
    ("fit", "neurosim.analysis.fit_cli"),
)


class CLIError(Exception):
    """An error to print as one line on stderr with exit status 2."""


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
        return 0
    try:
        return int(args.func(args) or 0)
    except CLIError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
