"""Run one resolved config into its run directory (resuming if it was interrupted)."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neurosim.files import unwritable
from neurosim.runner.config import BRIAN_NETWORKS, ConfigError
from neurosim.runner.rundir import CHECKPOINT_POLICIES, STALE_POLICIES, RunDir, RunError, code_hash

log = logging.getLogger("neurosim.runner")


@dataclass
class RunOutcome:
    """What :func:`execute` did: the directory, whether it ran, its final metrics."""

    path: Path
    ran: bool
    final: dict[str, Any]
    seconds: float = 0.0

    @property
    def diverged(self) -> bool:
        """True when training stopped on non-finite weights or loss (a recorded outcome)."""
        return bool(self.final.get("diverged"))

    def describe(self) -> str:
        """One line: finished (or already finished), or diverged with where and why."""
        before = "" if self.ran else "already "
        if self.diverged:
            return (f"{before}diverged: {self.path} at epoch {self.final.get('epochs', '?')} "
                    f"({self.final.get('diverged_reason', 'non-finite values')}); recorded in result.json")
        return f"{before}finished: {self.path / 'report.md'}" + ("" if self.ran else " (nothing to do)")


def check(config: dict[str, Any]) -> Any:
    """Build what the run needs (task, model, optimizer; or the Brian2 rule) without writing.

    Raises :class:`ConfigError` for values only the builders can judge.
    """
    if config["network"]["kind"] in BRIAN_NETWORKS:
        from neurosim.runner import brian_run

        brian_run.check_memory(config)
        return brian_run.make_rule(config)
    from neurosim.runner import torch_run

    return torch_run.prepare(config)


def _optimizer_path(setup: Any) -> str:
    """:func:`neurosim.rules.optimizer_path` of a torch run's optimizer (imports torch only here)."""
    from neurosim.rules import optimizer_path

    return optimizer_path(setup.optimizer)


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


def check_root(root: str | os.PathLike[str]) -> Path:
    """The folder of run directories, writable or creatable; :class:`RunError` (one line) if not.

    Nothing is created here (a bad config must leave nothing behind).
    """
    why = unwritable(root)
    if why:
        raise RunError(f"--runs: {why}")
    return Path(root)


def stale_message(rundir: RunDir) -> str:
    """Why a run is stale and what the user can do about it."""
    return (f"{rundir.path}: made by other neurosim code (source {rundir.made_by() or 'unknown'}, "
            f"this is {code_hash()}); --stale rerun moves it to {rundir.path.parent / 'stale'}/ "
            "and runs it again, --stale reuse keeps it as it is")


def reanalyse(rundir: RunDir) -> None:
    """Write a finished run's report and analysis again with this code (its training outputs stay).

    ``result.json`` records the code that wrote the analysis (``analysed_by``), beside
    ``provenance.json``'s code that trained; a run already analysed by this code is left alone.
    """
    from neurosim.runner.report import write_run_report

    if rundir.result().get("analysed_by") == code_hash():
        return
    with rundir.lock():
        log.warning("reanalysing %s, trained by other neurosim code (--stale reanalyse)", rundir.path)
        write_run_report(rundir)
        result = rundir.result()
        result["analysed_by"] = code_hash()
        rundir.write_result(result)


def resolve_stale(rundir: RunDir, policy: str) -> bool:
    """Apply the stale policy; return True when the directory may be used as it is."""
    if policy not in STALE_POLICIES:
        raise ConfigError("--stale", f"must be one of {', '.join(STALE_POLICIES)}, got {policy!r}")
    if not rundir.stale():
        return True
    if policy == "reuse":
        log.warning("reusing %s, made by other neurosim code (--stale reuse)", rundir.path)
        return True
    if policy == "reanalyse" and rundir.done:
        reanalyse(rundir)
        return True
    if policy == "error":
        raise RunError(stale_message(rundir))
    dest = rundir.move_aside()
    log.warning("stale run moved to %s; running it again", dest)
    return False


def execute(config: dict[str, Any], root: str | os.PathLike[str] = "runs", *, progress: bool = True,
            max_threads: int | None = None, stale: str = "error", bad_checkpoint: str = "error") -> RunOutcome:
    """Run ``config`` in ``root/<name>-<hash>/``; a finished run is not run again.

    Parameters
    ----------
    max_threads:
        Cap on torch's threads (a sweep worker's share of the cores).
    stale:
        What to do with a run directory made by other neurosim code
        (:func:`~neurosim.runner.rundir.code_hash`): ``"error"`` (default; raise
        :class:`RunError` saying so), ``"rerun"`` (move it aside and run again) or
        ``"reuse"`` (use it as it is) or ``"reanalyse"`` (a finished run: use its training
        outputs and write its report and analysis again with this code; an unfinished
        one is run again, as with ``"rerun"``).
    bad_checkpoint:
        A damaged ``checkpoint.pt``: ``"error"`` (default), ``"previous"`` (resume from
        the checkpoint before it) or ``"scratch"`` (start again).

    Everything is validated and built before the directory is created, so a bad
    config leaves nothing behind. Raises :class:`ConfigError` for a bad config,
    :class:`RunError` for a run that cannot go ahead (in progress elsewhere, stale,
    damaged checkpoint) and ``torch_run.Interrupted`` after Ctrl-C (a checkpoint is
    saved first). A run whose training diverged returns normally with
    ``final["diverged"] = 1`` (see :attr:`RunOutcome.diverged`).
    """
    if bad_checkpoint not in CHECKPOINT_POLICIES:
        raise ConfigError("--bad-checkpoint", f"must be one of {', '.join(CHECKPOINT_POLICIES)}, "
                                              f"got {bad_checkpoint!r}")
    root = check_root(root)
    rundir = RunDir.for_config(root, config)
    if rundir.done and resolve_stale(rundir, stale):
        return RunOutcome(rundir.path, False, rundir.result().get("final", {}))
    brian = config["network"]["kind"] in BRIAN_NETWORKS
    if brian:  # OpenMP threads of a standalone build, within the worker's share of the cores
        threads = config["threads"] if max_threads is None else min(config["threads"], max_threads)
    else:
        threads = set_threads(config["threads"], max_threads)
    built = check(config)
    if rundir.started and not rundir.done:
        resolve_stale(rundir, stale)  # a checkpoint of other code is not resumed silently
    with rundir.lock():
        if rundir.done:  # another process finished it while this one was building
            return RunOutcome(rundir.path, False, rundir.result().get("final", {}))
        rundir.create(config)
        rundir.write_provenance(threads, None if brian else {"optimizer_path": _optimizer_path(built)})
        rundir.log(f"start {rundir.path.name}")
        t0 = time.perf_counter()
        if brian:
            from neurosim.runner import brian_run

            final = brian_run.simulate(config, built, rundir, progress=progress, threads=threads)
        else:
            from neurosim.runner import torch_run

            final = torch_run.train(built, rundir, progress=progress, bad_checkpoint=bad_checkpoint)
        seconds = time.perf_counter() - t0
        rundir.write_result({"final": final, "seconds": seconds})
        from neurosim.runner.report import write_run_report

        write_run_report(rundir)
        rundir.mark_done()
        rundir.log(f"done in {seconds:.1f} s")
    return RunOutcome(rundir.path, True, final, seconds)


def run_file(path: str | os.PathLike[str], root: str | os.PathLike[str] = "runs", *, quick: bool = False,
             progress: bool = True) -> RunOutcome:
    """Load, validate and execute a config file."""
    from neurosim.runner.config import load

    config = load(path, quick=quick)
    return execute(config, root, progress=progress)


__all__ = ["ConfigError", "RunError", "RunOutcome", "check", "execute", "run_file"]
