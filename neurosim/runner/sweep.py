"""Sweeps: many runs from one base config, on a local process pool or a Dask cluster.

A sweep file (TOML)::

    name = "rules"
    base = "digits.toml"          # a run config, relative to this file
    seeds = [0, 1, 2]

    [[condition]]                 # one per rule (or network, or grid)
    label = "Dale + LogGridMadam"
    seeds = [0]                   # optional: this condition's own seeds
    set = { "rule.name" = "loggrid_madam" }

    [[condition]]
    label = "ANN + Adam"
    config = "ann.toml"           # optional: another base for this condition
    set = { "network.dale" = false, "rule.name" = "adam", "rule.lr" = 1e-3 }

    [vary]                        # optional: a product over values, for every condition
    "rule.lr" = [1e-3, 1e-2]

    workers = 2                   # optional: worker processes (--workers overrides it)

Every run is an independent task keyed by the hash of its resolved config: an
interrupted sweep started again skips finished runs and resumes the others from
their checkpoints, and two sweeps that share a run share its directory.

Everything is checked before the first run starts: every config is resolved and
built (the model, optimizer and task), and every finished or started run directory
is checked for staleness (made by other neurosim code; ``stale=`` decides). A run
whose training diverges is a result, reported as such; a run that fails (an error)
is reported and the others go on. Worker processes exit when the sweep's process
dies, however it dies.
"""

from __future__ import annotations

import concurrent.futures as cf
import copy
import itertools
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neurosim import validate as V
from neurosim.files import write_json
from neurosim.runner.config import ConfigError, apply_overrides, checked, config_hash, read_toml, resolve
from neurosim.runner.schema import name_check

SWEEP_KEYS = ("name", "description", "base", "seeds", "condition", "vary", "workers")
CONDITION_KEYS = ("label", "config", "set", "name", "seeds")
MAX_WORKERS = 256

log = logging.getLogger("neurosim.runner")


@dataclass
class Task:
    """One run of a sweep: its condition label, seed, varied values and resolved config."""

    label: str
    seed: int
    varied: dict[str, Any]
    config: dict[str, Any]

    @property
    def key(self) -> str:
        return f"{self.config['name']}-{config_hash(self.config)}"


@dataclass
class Sweep:
    """A validated sweep: its name, tasks in order, and the folder it was read from."""

    name: str
    description: str
    tasks: list[Task]
    labels: list[str]
    source: Path | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    workers: int | None = None

    @property
    def key(self) -> str:
        return f"{self.name}-{config_hash({'runs': [t.key for t in self.tasks]})}"


def _slug(text: str) -> str:
    out = "".join(c.lower() if c.isalnum() else "-" for c in text)
    while "--" in out:
        out = out.replace("--", "-")
    return out.strip("-")[:48] or "run"


def load_sweep(path: str | os.PathLike[str], *, quick: bool = False) -> Sweep:
    """Read and validate a sweep file; every run's config is resolved before anything runs."""
    path = Path(path)
    raw = read_toml(path)
    return build_sweep(raw, base_dir=path.parent, default_name=path.stem, quick=quick)


def build_sweep(raw: Mapping[str, Any], *, base_dir: Path = Path("."), default_name: str = "sweep",
                quick: bool = False) -> Sweep:
    """Validate a parsed sweep (see the module docstring) and expand it into tasks."""
    import difflib

    for k in raw:
        if k not in SWEEP_KEYS:
            hint = difflib.get_close_matches(k, SWEEP_KEYS, n=1)
            did = f"did you mean {V.fmt(hint[0])}? " if hint else ""
            raise ConfigError(k, f"unknown sweep key; {did}(allowed: {', '.join(SWEEP_KEYS)})")
    name = checked("name", name_check, raw.get("name", default_name))
    seeds = _seeds(raw.get("seeds", None), "seeds")
    workers = raw.get("workers")
    if workers is not None:
        workers = checked("workers", V.integral(ge=1, le=MAX_WORKERS), workers)
    conditions = raw.get("condition", [{}])
    if not isinstance(conditions, list) or not conditions:
        raise ConfigError("condition", "must be a list of tables ([[condition]] entries)")
    vary = raw.get("vary", {})
    if not isinstance(vary, dict):
        raise ConfigError("vary", f"must be a table of key = [values], got {V.fmt(vary)}")
    for k, vals in vary.items():
        if not isinstance(vals, list) or not vals:
            raise ConfigError(f"vary.{k}", f"must be a non-empty list of values, got {V.fmt(vals)}")
    base_cache: dict[Path, dict[str, Any]] = {}

    def base_of(ref: Any, key: str) -> dict[str, Any]:
        if ref is None:
            return {}
        if not isinstance(ref, str):
            raise ConfigError(key, f"must be a path to a run config, got {V.fmt(ref)}")
        p = (base_dir / ref).resolve()
        if p not in base_cache:
            try:
                base_cache[p] = read_toml(p)
            except ConfigError as exc:
                raise ConfigError(key, str(exc)) from None
        return copy.deepcopy(base_cache[p])

    sweep_base = base_of(raw.get("base"), "base")
    tasks: list[Task] = []
    labels: list[str] = []
    keys_seen: set[str] = set()
    for ci, cond in enumerate(conditions):
        where = f"condition[{ci}]"
        if not isinstance(cond, dict):
            raise ConfigError(where, "must be a table")
        for k in cond:
            if k not in CONDITION_KEYS:
                hint = difflib.get_close_matches(k, CONDITION_KEYS, n=1)
                did = f"did you mean {V.fmt(hint[0])}? " if hint else ""
                raise ConfigError(f"{where}.{k}", f"unknown key; {did}(allowed: {', '.join(CONDITION_KEYS)})")
        base = base_of(cond["config"], f"{where}.config") if "config" in cond else copy.deepcopy(sweep_base)
        if not base:
            raise ConfigError(where, "has no config: give the sweep a base or the condition a config")
        sets = cond.get("set", {})
        if not isinstance(sets, dict):
            raise ConfigError(f"{where}.set", f"must be a table of dotted keys, got {V.fmt(sets)}")
        label = cond.get("label") or ", ".join(f"{k}={v}" for k, v in sets.items()) or f"condition {ci}"
        if not isinstance(label, str):
            raise ConfigError(f"{where}.label", f"must be a string, got {V.fmt(label)}")
        run_name = checked(f"{where}.name", name_check, cond.get("name", f"{name}-{_slug(label)}"))
        for combo in itertools.product(*vary.values()):
            varied = dict(zip(vary.keys(), combo, strict=True))
            full_label = label + "".join(f", {k}={v}" for k, v in varied.items())
            if full_label in labels:
                raise ConfigError(where, f"label {full_label!r} is used twice; labels must differ")
            labels.append(full_label)
            for seed in _seeds(cond.get("seeds", seeds), f"{where}.seeds") or [None]:
                over = {**sets, **varied, "name": run_name}
                if seed is not None:
                    over["seed"] = seed
                try:
                    cfg = resolve(apply_overrides(base, over), quick=quick)
                except ConfigError as exc:
                    raise ConfigError(f"{where} ({label})", str(exc)) from None
                task = Task(full_label, cfg["seed"], varied, cfg)
                if task.key in keys_seen:
                    raise ConfigError(where, f"run {task.key} appears twice in the sweep")
                keys_seen.add(task.key)
                tasks.append(task)
    return Sweep(name=name, description=str(raw.get("description", "")), tasks=tasks, labels=labels,
                 source=base_dir, meta={"quick": quick}, workers=workers)


def _seeds(seeds: Any, key: str) -> list[int] | None:
    if seeds is None:
        return None
    if not isinstance(seeds, list) or not seeds:
        raise ConfigError(key, f"must be a non-empty list of integers >= 0, got {V.fmt(seeds)}")
    out = [checked(f"{key}[{i}]", V.integral(ge=0), s) for i, s in enumerate(seeds)]
    if len(set(out)) != len(out):
        raise ConfigError(key, f"must not repeat a seed, got {out}")
    return out


# ----------------------------------------------------------------------------- executors
def worker_threads(workers: int, cores: int | None = None) -> int:
    """Torch threads per worker so that workers x threads does not exceed the cores."""
    cores = cores or os.cpu_count() or 1
    return max(1, cores // max(1, workers))


def _die_with_parent() -> None:
    """Pool-worker initializer: exit as soon as the process that started the sweep is gone.

    A daemon thread polls the parent's pid once a second; ``os._exit`` ends the worker
    (and its training) at once, whatever it is doing.
    """
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="neurosim-parent-watch", daemon=True).start()


def _run_task(config: dict[str, Any], root: str, threads: int, stale: str = "error",
              bad_checkpoint: str = "error") -> dict[str, Any]:
    """Worker entry point (module level so that process pools and Dask can pickle it)."""
    from neurosim.runner.run import execute

    outcome = execute(config, root, progress=False, max_threads=threads, stale=stale,
                      bad_checkpoint=bad_checkpoint)
    return {"path": str(outcome.path), "ran": outcome.ran, "final": outcome.final}


@dataclass
class SweepOutcome:
    """Paths and finals of the sweep's runs, which failed and which diverged."""

    results: dict[str, dict[str, Any]]
    failed: dict[str, str]
    sweep_dir: Path
    diverged: list[str] = field(default_factory=list)


def check_sweep(sweep: Sweep, root: str | os.PathLike[str] = "runs", *, stale: str = "error") -> list[Task]:
    """Check everything before running: build every run, apply the stale policy; return the runs to do.

    Raises :class:`ConfigError` naming the run whose model, task or optimizer cannot
    be built, and :class:`~neurosim.runner.rundir.RunError` listing the stale runs
    when ``stale="error"``.
    """
    from neurosim.runner.run import check, check_root, resolve_stale, stale_message
    from neurosim.runner.rundir import RunDir, RunError

    root = check_root(root)
    seen: set[str] = set()
    for t in sweep.tasks:  # one build per distinct network/task/rule (seeds share the work)
        shape = config_hash({k: v for k, v in t.config.items() if k not in ("seed", "name")})
        if shape in seen:
            continue
        seen.add(shape)
        try:
            check(t.config)
        except ConfigError as exc:
            raise ConfigError(f"{t.label} (seed {t.seed})", str(exc)) from None
    stale_runs = [RunDir(root / t.key) for t in sweep.tasks if RunDir(root / t.key).stale()]
    if stale_runs and stale == "error":
        more = f" (and {len(stale_runs) - 1} more)" if len(stale_runs) > 1 else ""
        raise RunError(f"{len(stale_runs)} stale run(s): {stale_message(stale_runs[0])}{more}")
    for rd in stale_runs:
        if not (stale == "reanalyse" and rd.done):  # finished ones are reanalysed by the workers
            resolve_stale(rd, stale)
    return [t for t in sweep.tasks if not RunDir(root / t.key).done
            or (stale == "reanalyse" and _unanalysed(RunDir(root / t.key)))]


def _unanalysed(rd: Any) -> bool:
    """A finished run trained by other code whose analysis this code has not written yet."""
    from neurosim.runner.rundir import code_hash

    return rd.stale() and rd.result().get("analysed_by") != code_hash()


def run_sweep(sweep: Sweep, root: str | os.PathLike[str] = "runs", *, workers: int | None = None,
              dask: str | None = None, progress: bool = True, stale: str = "error",
              bad_checkpoint: str = "error") -> SweepOutcome:
    """Check every run, run those not yet finished; write ``sweep.json`` and the sweep report.

    Parameters
    ----------
    workers : int, optional
        Processes (local pool) or Dask workers for ``dask="local"``; default the
        sweep file's ``workers``, else the core count (at most the number of runs).
        ``1`` runs in this process.
    dask : str, optional
        ``"local"`` for a :class:`dask.distributed.LocalCluster`, or a scheduler
        address (``tcp://host:8786``). Failed tasks are retried twice.
    stale, bad_checkpoint : str
        As for :func:`neurosim.runner.run.execute`; stale runs are found before any run starts.
    """
    from tqdm.auto import tqdm

    root = Path(root)
    if dask is not None:
        _check_dask_address(dask)
    todo = check_sweep(sweep, root, stale=stale)
    try:
        (root / "sweeps").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        from neurosim.runner.rundir import RunError

        raise RunError(f"--runs: cannot create {root / 'sweeps'} ({exc.strerror})") from None
    asked = workers or sweep.workers or os.cpu_count() or 1
    n_workers = max(1, min(asked, max(1, len(todo))))
    client = cluster = None
    if todo and dask:
        client, cluster = _dask_client(dask, n_workers)
    threads = worker_threads(n_workers)
    log.info("sweep %s: %d runs, %d already finished, %d to run on %s", sweep.name, len(sweep.tasks),
             len(sweep.tasks) - len(todo), len(todo), f"dask {dask}" if dask else f"{n_workers} worker(s)")
    results: dict[str, dict[str, Any]] = {}
    failed: dict[str, str] = {}
    bar = tqdm(total=len(todo), desc=f"sweep {sweep.name}", disable=not progress)
    kw = {"stale": stale if stale in ("reuse", "reanalyse") else "error", "bad_checkpoint": bad_checkpoint}

    def done(task: Task, res: dict[str, Any] | None, err: BaseException | None) -> None:
        if err is not None:
            failed[task.key] = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
            log.warning("run failed: %s: %s", task.key, failed[task.key])
        else:
            results[task.key] = res or {}
        bar.update(1)

    if todo and dask:
        _run_dask(todo, str(root), client, cluster, done, kw)
    elif todo and n_workers == 1:
        for t in todo:
            try:
                done(t, _run_task(t.config, str(root), threads, **kw), None)
            except Exception as exc:  # one failed run must not lose the others
                done(t, None, exc)
    elif todo:
        ctx = multiprocessing.get_context("spawn")
        with cf.ProcessPoolExecutor(max_workers=n_workers, mp_context=ctx, initializer=_die_with_parent) as pool:
            futures = {pool.submit(_run_task, t.config, str(root), threads, **kw): t for t in todo}
            for fut in cf.as_completed(futures):
                exc = fut.exception()
                done(futures[fut], None if exc else fut.result(), exc)
    bar.close()
    from neurosim.runner.aggregate import write_sweep_report
    from neurosim.runner.rundir import RunDir

    sweep_dir = root / "sweeps" / sweep.key
    sweep_dir.mkdir(parents=True, exist_ok=True)
    write_json(sweep_dir / "sweep.json", {
        "name": sweep.name, "description": sweep.description, "labels": sweep.labels,
        "runs": [{"label": t.label, "seed": t.seed, "varied": t.varied, "dir": f"../../{t.key}"}
                 for t in sweep.tasks],
        "failed": failed,
    })
    write_sweep_report(sweep_dir)
    diverged = [t.key for t in sweep.tasks
                if (root / t.key / "DONE").exists() and RunDir(root / t.key).result().get("final", {}).get("diverged")]
    if diverged:
        log.warning("sweep %s: %d run(s) diverged (a recorded result): %s", sweep.name, len(diverged),
                    ", ".join(diverged[:5]) + (" ..." if len(diverged) > 5 else ""))
    return SweepOutcome(results, failed, sweep_dir, diverged)


def _check_dask_address(address: str) -> None:
    if address == "local":
        return
    if "://" not in address or not address.split("://", 1)[1]:
        raise ConfigError("--dask", f"must be 'local' or a scheduler address like tcp://host:8786, got {address!r}")


def _dask_client(address: str, n_workers: int) -> tuple[Any, Any]:
    """``(client, cluster)``: a LocalCluster for ``"local"``, else a client of the scheduler at ``address``."""
    _check_dask_address(address)
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError("--dask", "needs dask.distributed: pip install 'neurosim[distributed]'") from None
    if address == "local":
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        return Client(cluster), cluster
    try:
        return Client(address, timeout=10), None
    except (OSError, TimeoutError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError("--dask", f"no Dask scheduler answers at {address} within 10 s ({reason[:120]})"
                          ) from None


def _run_dask(todo: Sequence[Task], root: str, client: Any, cluster: Any, done: Any, kw: dict[str, str]) -> None:
    from dask.distributed import as_completed

    threads = 1 if cluster is not None else worker_threads(1)
    try:
        futures = {client.submit(_run_task, t.config, root, threads, key=f"neurosim-{t.key}", pure=False,
                                 retries=2, **kw): t for t in todo}
        for fut in as_completed(list(futures)):
            task = futures[fut]
            try:
                done(task, fut.result(), None)
            except Exception as exc:
                done(task, None, exc)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
