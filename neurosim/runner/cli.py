"""``neurosim run CONFIG``, ``neurosim sweep SWEEP`` and ``neurosim report DIR``."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from neurosim.runner.rundir import STALE_POLICIES

log = logging.getLogger("neurosim.runner")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--runs", default="runs", metavar="DIR",
                   help="folder holding the run directories (default: runs)")
    p.add_argument("--quick", action="store_true", help="shrink to the test size (seconds)")
    p.add_argument("--quiet", action="store_true", help="no progress bars, warnings and errors only")
    p.add_argument("--stale", default="error", choices=STALE_POLICIES,
                   help="a run made by other neurosim code: refuse (default), run it again "
                        "(the old one is moved to RUNS/stale/), reuse it, or reuse a finished one with its "
                        "report and analysis written again by this code and run an unfinished one again "
                        "(reanalyse)")
    p.add_argument("--bad-checkpoint", default="error", choices=("error", "previous", "scratch"),
                   help="a damaged checkpoint.pt: refuse (default), resume from the one before, "
                        "or start the run again")


def register(subparsers: Any) -> None:
    """Add the runner's subcommands."""
    p = subparsers.add_parser("run", help="run one config (TOML) into its run directory",
                              description="Validate CONFIG, then train or simulate into "
                              "RUNS/<name>-<hash>/; an interrupted run resumes, a finished one is skipped. "
                              "Exit status: 0 finished, 2 bad input, 3 training diverged (recorded), "
                              "130 interrupted.")
    p.add_argument("config", help="run config (TOML)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a key, e.g. --set rule.lr=0.1 (value parsed as TOML)")
    _common(p)
    p.set_defaults(func=_cmd_run)

    p = subparsers.add_parser("sweep", help="run a sweep of configs on a local pool or Dask",
                              description="Check every config of SWEEP, then run those not yet finished and "
                              "write the sweep report (per-condition means and ranges over seeds). "
                              "Exit status: 0 every run finished (diverged runs are a result), "
                              "1 some run failed, 2 bad input.")
    p.add_argument("sweep", help="sweep file (TOML)")
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes (default: the sweep file's workers, else the core count; "
                        "1 = in this process)")
    p.add_argument("--dask", default=None, metavar="ADDRESS",
                   help="run on Dask: 'local' for a LocalCluster, or a scheduler address (tcp://host:8786)")
    _common(p)
    p.set_defaults(func=_cmd_sweep)

    p = subparsers.add_parser("report", help="regenerate report.md of a run or sweep directory",
                              description="Rebuild report.md (and figures) from the files of DIR.")
    p.add_argument("dir", help="a run directory or a sweep directory")
    p.add_argument("--quiet", action="store_true", help="warnings and errors only")
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
    from neurosim.cli import EXIT_DIVERGED, EXIT_INTERRUPTED, EXIT_OK
    from neurosim.runner.config import load
    from neurosim.runner.run import execute
    from neurosim.runner.torch_run import Interrupted

    config = load(args.config, quick=args.quick, overrides=_parse_set(args.set))
    try:
        outcome = execute(config, args.runs, progress=not args.quiet, stale=args.stale,
                          bad_checkpoint=args.bad_checkpoint)
    except Interrupted as exc:
        log.warning("%s", exc)
        return EXIT_INTERRUPTED
    print(outcome.describe())
    return EXIT_DIVERGED if outcome.diverged else EXIT_OK


def _cmd_sweep(args: argparse.Namespace) -> int:
    from neurosim.cli import EXIT_FAILED, EXIT_OK, CLIError
    from neurosim.runner.sweep import load_sweep, run_sweep

    if args.workers is not None and args.workers < 1:
        raise CLIError(f"--workers: must be >= 1, got {args.workers}")
    sweep = load_sweep(args.sweep, quick=args.quick)
    out = run_sweep(sweep, args.runs, workers=args.workers, dask=args.dask, progress=not args.quiet,
                    stale=args.stale, bad_checkpoint=args.bad_checkpoint)
    print(f"report: {out.sweep_dir / 'report.md'}")
    return EXIT_FAILED if out.failed else EXIT_OK


def _cmd_report(args: argparse.Namespace) -> int:
    from neurosim.cli import CLIError
    from neurosim.runner.aggregate import write_sweep_report
    from neurosim.runner.report import write_run_report
    from neurosim.runner.rundir import RunDir

    path = Path(args.dir)
    if not path.is_dir():
        raise CLIError(f"{path}: no such directory")
    if (path / "sweep.json").is_file():
        write_sweep_report(path)
    elif (path / "config.json").is_file():
        rundir = RunDir(path)
        write_run_report(rundir)
        if not rundir.done:
            log.warning("note: %s is not finished (no DONE marker): the report shows it as it stands", path)
    else:
        raise CLIError(f"{path}: not a run or sweep directory (no config.json or sweep.json)")
    print(f"report: {path / 'report.md'}")
    return 0
