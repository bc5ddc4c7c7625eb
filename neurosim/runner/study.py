"""The command line every study script in ``experiments/`` shares.

A study runs its configs through the runner (run directories under ``--runs``,
resumable, finished runs reused) and writes a report folder. The full size writes
into ``results/<study>/`` (the committed reports); ``--quick``, the test size, writes
into ``<runs>/quick/<study>/`` unless ``--out`` names a folder, so that a quick or
test run never replaces a committed report::

    parser = study_parser(__doc__, "pair_precision")
    parser.add_argument("--seed", type=int, default=0)      # the study's own options
    args = parser.parse_args(argv)
    out = report_dir(args, "pair_precision")
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import sys
import types
from pathlib import Path

from neurosim.runner.rundir import STALE_POLICIES

#: Where full-size reports go (relative to the working directory, the repository's root).
RESULTS = Path("results")

log = logging.getLogger("neurosim.study")


def setup_logging(quiet: bool) -> None:
    """Messages of the ``neurosim`` loggers go to stderr as plain lines (warnings only with ``quiet``).

    Used by ``neurosim`` and by every study (through :func:`report_dir`)."""
    logger = logging.getLogger("neurosim")
    if not any(getattr(h, "_neurosim_cli", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler._neurosim_cli = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(logging.WARNING if quiet else logging.INFO)
    logger.propagate = False


def study_parser(doc: str | None, name: str, *, workers: int = 2,
                 quick_help: str = "test size (seconds to a minute)") -> argparse.ArgumentParser:
    """An ``ArgumentParser`` with the options every study takes.

    ``--quick``, ``--runs DIR`` (run directories, default ``runs``), ``--out DIR`` (the
    report folder; default :func:`report_dir`), ``--workers N`` and ``--stale`` (what
    to do with runs made by other neurosim code; see ``neurosim run --help``).
    """
    parser = argparse.ArgumentParser(description=(doc or name).strip().splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--runs", default="runs", help="run directories (default: runs)")
    parser.add_argument("--out", default=None,
                        help=f"report folder (default: {RESULTS / name} at full size, "
                             f"RUNS/quick/{name} with --quick)")
    parser.add_argument("--workers", type=int, default=workers, help=f"worker processes (default {workers})")
    parser.add_argument("--stale", default="error", choices=STALE_POLICIES,
                        help="runs made by other neurosim code: refuse (default), run again, reuse, or reuse "
                             "finished ones with their analysis written again (reanalyse)")
    parser.add_argument("--quiet", action="store_true", help="warnings and errors only")
    return parser


def report_dir(args: argparse.Namespace, name: str) -> Path:
    """The study's report folder, created: ``--out`` if given, else by size (see the module docstring).

    Also sets up the ``neurosim`` loggers for the study (``--quiet``: warnings only).
    """
    setup_logging(getattr(args, "quiet", False))
    if args.out:
        out = Path(args.out)
    elif args.quick:
        out = Path(args.runs) / "quick" / name
    else:
        out = RESULTS / name
    out.mkdir(parents=True, exist_ok=True)
    log.info("report folder: %s", out)
    return out


def load_study(path: str | os.PathLike[str]) -> types.ModuleType:
    """The study script at ``path`` (``experiments/<name>.py``) as a module named ``<name>``.

    For a study that uses another's conditions or report code; study scripts are not a
    package. The module is registered in ``sys.modules`` (dataclasses look it up there).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"study: no script at {path}")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


__all__ = ["RESULTS", "load_study", "report_dir", "setup_logging", "study_parser"]
