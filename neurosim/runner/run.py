"""Run one resolved config into its run directory (resuming if it was interrupted)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neurosim.runner.config import BRIAN_NETWORKS, ConfigError
from neurosim.runner.rundir import RunDir


@dataclass
class RunOutcome:
    """What :func:`execute` did: the directory, whether it ran, its final metrics."""

    path: Path
    ran: bool
    final: dict[str, Any]
    seconds: float = 0.0


def check(config: dict[str, Any]) -> Any:
    """Build what the run needs (task, model, optimizer; or the Brian2 rule) without writing.

    Raises :class:`ConfigError` for values only the builders can judge.
    """
    if config["network"]["kind"] in BRIAN_NETWORKS:
        from neurosim.runner import brian_run

        return brian_run.make_rule(config)
    from neurosim.runner import torch_run

    return torch_run.prepare(config)


def set_threads(threads: int, max_threads: int | None = None) -> int:
    """Set torch's intra-op threads: ``threads`` (0 = torch's default), at most ``max_threads``.

    Returns the thread count in use (recorded in the run's provenance).
    """
    import torch

    n = threads if threads > 0 else torch.get_num_threads()
    if max_threads:
        n = min(n, max_threads)
    if n != torch.get_num_threads():
        torch.set_num_threads(n)
    return n


def execute(config: dict[str, Any], root: str | os.PathLike[str] = "runs", *, progress: bool = True,
            echo: Any = print, max_threads: int | None = None) -> RunOutcome:
    """Run ``config`` in ``root/<name>-<hash>/``; a finished run is not run again.

    ``max_threads`` caps torch's threads (a sweep worker's share of the cores).

    Everything is validated and built before the directory is created, so a bad
    config leaves nothing behind. Raises :class:`ConfigError` for a bad config and
    ``torch_run.Interrupted`` after Ctrl-C (a checkpoint is saved first).
    """
    rundir = RunDir.for_config(root, config)
    if rundir.done:
        echo(f"already finished: {rundir.path} (nothing to do)")
        return RunOutcome(rundir.path, False, rundir.result().get("final", {}))
    brian = config["network"]["kind"] in BRIAN_NETWORKS
    threads = config["threads"] if brian else set_threads(config["threads"], max_threads)
    built = check(config)
    rundir.create(config)
    rundir.write_provenance(threads)
    rundir.log(f"start {rundir.path.name}")
    t0 = time.perf_counter()
    if brian:
        from neurosim.runner import brian_run

        final = brian_run.simulate(config, built, rundir, progress=progress)
    else:
        from neurosim.runner import torch_run

        final = torch_run.train(built, rundir, progress=progress)
    seconds = time.perf_counter() - t0
    rundir.write_result({"final": final, "seconds": seconds})
    from neurosim.runner.report import write_run_report

    write_run_report(rundir)
    rundir.mark_done()
    rundir.log(f"done in {seconds:.1f} s")
    echo(f"finished: {rundir.path / 'report.md'}")
    return RunOutcome(rundir.path, True, final, seconds)


def run_file(path: str | os.PathLike[str], root: str | os.PathLike[str] = "runs", *, quick: bool = False,
             progress: bool = True, echo: Any = print) -> RunOutcome:
    """Load, validate and execute a config file."""
    from neurosim.runner.config import load

    config = load(path, quick=quick)
    return execute(config, root, progress=progress, echo=echo)


__all__ = ["ConfigError", "RunOutcome", "check", "execute", "run_file"]
