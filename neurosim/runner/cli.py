"""``neurosim run CONFIG``, ``neurosim sweep SWEEP`` and ``neurosim report DIR``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--runs", default="runs", metavar="DIR",
                   help="folder holding the run directories (default: runs)")
    p.add_argument("--quick", action="store_true", help="shrink to the test size (seconds)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def register(subparsers: Any) -> None:
    """Add the runner's subcommands."""
    p = subparsers.add_parser("run", help="run one config (TOML) into its run directory",
                              description="Validate CONFIG, then train or simulate into "
                              "RUNS/<name>-<hash>/; an interrupted run resumes, a finished one is skipped.")
    p.add_argument("config", help="run config (TOML)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a key, e.g. --set rule.lr=0.1 (value parsed as TOML)")
    _common(p)
    p.set_defaults(func=_cmd_run)

    p = subparsers.add_parser("sweep", help="run a sweep of configs on a local pool or Dask",
                              description="Run every config of SWEEP not yet finished, then write the "
                              "sweep report (per-condition means, ranges, bootstrap intervals).")
    p.add_argument("sweep", help="sweep file (TOML)")
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes (default: the core count; 1 = in this process)")
    p.add_argument("--dask", default=None, metavar="ADDRESS",
                   help="run on Dask: 'local' for a LocalCluster, or a scheduler address")
    _common(p)
    p.set_defaults(func=_cmd_sweep)

    p = subparsers.add_parser("report", help="regenerate report.md of a run or sweep directory",
                              description="Rebuild report.md (and figures) from the files of DIR.")
    p.add_argument("dir", help="a run directory or a sweep directory")
    p.set_defaults(func=_cmd_report)


def _parse_set(items: list[str]) -> dict[str, Any]:
    import tomllib

    from neurosim.cli import CLIError

    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise CLIError(f"--set: expected KEY=VALUE, got {item!r}")
        try:
            out[key.strip()] = tomllib.loads(f"v = {text.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            out[key.strip()] = text.strip()  # a bare word is a string
    return out


def _cmd_run(args: argparse.Namespace) -> int:
    from neurosim.cli import CLIError
    from neurosim.runner.config import ConfigError, load
    from neurosim.runner.run import execute
    from neurosim.runner.torch_run import Interrupted

    try:
        config = load(args.config, quick=args.quick, overrides=_parse_set(args.set))
        execute(config, args.runs, progress=not args.quiet)
    except ConfigError as exc:
        raise CLIError(str(exc)) from None
    except Interrupted as exc:
        print(str(exc), file=sys.stderr)
        return 130
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    from neurosim.cli import CLIError
    from neurosim.runner.config import ConfigError
    from neurosim.runner.sweep import load_sweep, run_sweep

    if args.workers is not None and args.workers < 1:
        raise CLIError(f"--workers: must be >= 1, got {args.workers}")
    try:
        sweep = load_sweep(args.sweep, quick=args.quick)
        out = run_sweep(sweep, args.runs, workers=args.workers, dask=args.dask, progress=not args.quiet)
    except ConfigError as exc:
        raise CLIError(str(exc)) from None
    print(f"report: {out.sweep_dir / 'report.md'}")
    return 1 if out.failed else 0


def _cmd_report(args: argparse.Namespace) -> int:
    from neurosim.cli import CLIError
    from neurosim.runner.aggregate import write_sweep_report
    from neurosim.runner.report import write_run_report
    from neurosim.runner.rundir import RunDir

    path = Path(args.dir)
    if (path / "sweep.json").is_file():
        write_sweep_report(path)
    elif (path / "config.json").is_file():
        write_run_report(RunDir(path))
    else:
        raise CLIError(f"{path}: not a run or sweep directory (no config.json or sweep.json)")
    print(f"report: {path / 'report.md'}")
    return 0
