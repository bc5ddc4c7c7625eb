"""Run directories: ``runs/<name>-<hash>/`` with everything a run produced.

Layout::

    config.toml        the resolved config (human-readable)
    config.json        the same, read back by ``neurosim report``
    provenance.json    versions, git commit, thread count, host, start time
    metrics.jsonl      one JSON object per epoch (or per snapshot for Brian2 runs)
    snapshots/         weight snapshots (neurosim.snapshot format)
    traces.npz         a subsample of each projection's sizes at every update (neurosim.traces)
    checkpoint.pt      model, optimizer and generator states (torch runs)
    checkpoint.prev.pt the checkpoint before it (kept in case the newest is damaged)
    figures/           PNG and SVG
    report.md          the report
    run.log            the log
    .lock              held (flock) by the process running the run
    DONE               the completion marker (written last)

Every file is written atomically (temporary file, then rename), so a killed run
never leaves a half-written file under a final name; the temporary files a kill
leaves behind are removed when the run is taken up again.

A run is made by one version of neurosim's code: :func:`code_hash` (a hash of the
package's source) is recorded in ``provenance.json``, and a run directory made by
other code is *stale* (:meth:`RunDir.stale`): the runner refuses to reuse or resume
it unless told to (``--stale rerun`` moves it aside and runs again, ``--stale
reuse`` keeps it).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import hashlib
import json
import os
import platform
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import neurosim
from neurosim.files import atomic_path, remove_temporaries, write_json, write_text
from neurosim.runner.config import run_dirname, to_toml

DONE = "DONE"
STALE_POLICIES = ("error", "rerun", "reuse", "reanalyse")
CHECKPOINT_POLICIES = ("error", "previous", "scratch")

try:  # POSIX advisory locks; elsewhere runs are not locked
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]


class RunError(Exception):
    """A run that cannot go ahead as asked (locked, stale, damaged files): one line, exit status 2."""


@functools.lru_cache(maxsize=1)
def code_hash() -> str:
    """First 12 hex digits of the SHA-256 of neurosim's source (every ``.py`` and ``.c`` file).

    Two checkouts with the same source give the same hash, whatever their git state.
    """
    root = Path(neurosim.__file__).resolve().parent
    h = hashlib.sha256()
    for f in sorted(p for p in root.rglob("*") if p.suffix in (".py", ".c") and p.is_file()):
        h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:12]


def _read_json(path: Path, what: str) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except json.JSONDecodeError as exc:
        raise RunError(f"{path}: {what} is not valid JSON (truncated?): {exc.msg} at line {exc.lineno}") from None
    except UnicodeDecodeError:
        raise RunError(f"{path}: {what} is not UTF-8 text") from None


class RunDir:
    """One run's directory; every write is atomic."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    @classmethod
    def for_config(cls, root: str | os.PathLike[str], config: Mapping[str, Any]) -> RunDir:
        """The directory of ``config`` under ``root`` (not created yet)."""
        return cls(Path(root) / run_dirname(config))

    # -- paths
    @property
    def snapshots(self) -> Path:
        return self.path / "snapshots"

    @property
    def figures(self) -> Path:
        return self.path / "figures"

    @property
    def traces(self) -> Path:
        """``traces.npz``: a subsample of each projection's sizes at every update (:mod:`neurosim.traces`)."""
        return self.path / "traces.npz"

    @property
    def checkpoint(self) -> Path:
        return self.path / "checkpoint.pt"

    @property
    def previous_checkpoint(self) -> Path:
        return self.path / "checkpoint.prev.pt"

    @property
    def done(self) -> bool:
        """True when the run finished (its completion marker exists)."""
        return (self.path / DONE).exists()

    @property
    def started(self) -> bool:
        """True when the run was started here (its resolved config was written)."""
        return (self.path / "config.json").exists()

    def made_by(self) -> str | None:
        """The :func:`code_hash` of the code that made this run (``None`` if not recorded)."""
        path = self.path / "provenance.json"
        if not path.exists():
            return None
        try:
            return _read_json(path, "provenance").get("code_hash")
        except RunError:
            return None

    def stale(self) -> bool:
        """True when a started run was made by other neurosim code than this one."""
        return self.started and self.made_by() != code_hash()

    def move_aside(self) -> Path:
        """Move a stale run directory to ``<root>/stale/<name>.<its code hash>`` and return the new path."""
        dest_root = self.path.parent / "stale"
        dest_root.mkdir(parents=True, exist_ok=True)
        dest = dest_root / f"{self.path.name}.{self.made_by() or 'unknown'}"
        n = 1
        while dest.exists():
            dest = dest_root / f"{self.path.name}.{self.made_by() or 'unknown'}.{n}"
            n += 1
        shutil.move(str(self.path), str(dest))
        return dest

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold an exclusive lock on the run for the block; :class:`RunError` if another process has it.

        The lock is an ``flock`` on ``.lock``: the kernel drops it when its process
        ends, however it ends, so a killed run never blocks its own resumption.
        """
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunError(f"cannot create the run directory {self.path} ({exc.strerror})") from None
        if fcntl is None:  # pragma: no cover
            yield
            return
        fh = open(self.path / ".lock", "a+", encoding="utf-8")
        try:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.seek(0)
                pid = fh.read().strip() or "?"
                raise RunError(f"{self.path}: the run is in progress in another process (pid {pid})") from None
            fh.seek(0)
            fh.truncate()
            fh.write(f"{os.getpid()}\n")
            fh.flush()
            remove_temporaries(self.path, self.snapshots, self.figures)  # left by a killed writer
            yield
        finally:
            fh.close()

    # -- writing
    def create(self, config: Mapping[str, Any]) -> None:
        """Create the directory and write the resolved config (idempotent)."""
        self.path.mkdir(parents=True, exist_ok=True)
        self.snapshots.mkdir(exist_ok=True)
        self.figures.mkdir(exist_ok=True)
        write_text(self.path / "config.toml", to_toml(config))
        write_json(self.path / "config.json", dict(config))

    def config(self) -> dict[str, Any]:
        """The resolved config written by :meth:`create` (:class:`RunError` if missing or damaged)."""
        path = self.path / "config.json"
        if not path.exists():
            raise RunError(f"{self.path}: not a run directory (no config.json)")
        config = _read_json(path, "config.json")
        if not isinstance(config, dict) or not {"network", "rule", "train", "analysis"} <= set(config):
            raise RunError(f"{path}: not a neurosim run config")
        return config

    def write_provenance(self, threads: int, extra: Mapping[str, Any] | None = None) -> None:
        write_json(self.path / "provenance.json", {**provenance(threads), **dict(extra or {})})

    def write_metrics(self, rows: list[Mapping[str, Any]]) -> None:
        """Rewrite ``metrics.jsonl`` with ``rows`` (atomically; the file is small)."""
        text = "".join(json.dumps(dict(r), sort_keys=True) + "\n" for r in rows)
        write_text(self.path / "metrics.jsonl", text)

    def metrics(self) -> list[dict[str, Any]]:
        """The rows of ``metrics.jsonl`` (:class:`RunError` naming the line if one is damaged)."""
        path = self.path / "metrics.jsonl"
        if not path.exists():
            return []
        rows = []
        with open(path, encoding="utf-8", errors="replace") as fh:
            for i, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    raise RunError(f"{path}: line {i} is not JSON (truncated?)") from None
                if not isinstance(row, dict):
                    raise RunError(f"{path}: line {i} is not a JSON object")
                rows.append(row)
        return rows

    def write_result(self, result: Mapping[str, Any]) -> None:
        write_json(self.path / "result.json", dict(result))

    def result(self) -> dict[str, Any]:
        path = self.path / "result.json"
        if not path.exists():
            return {}
        result = _read_json(path, "result.json")
        if not isinstance(result, dict):
            raise RunError(f"{path}: not a JSON object")
        return result

    def mark_done(self) -> None:
        write_text(self.path / DONE, _now() + "\n")

    def log(self, message: str) -> None:
        """Append a timestamped line to ``run.log`` (a log is append-only by nature)."""
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.path / "run.log", "a", encoding="utf-8") as fh:
            fh.write(f"{_now()} {message}\n")

    def save_checkpoint(self, state: Mapping[str, Any]) -> None:
        """Write ``checkpoint.pt`` atomically, keeping the one before as ``checkpoint.prev.pt``."""
        import torch

        with atomic_path(self.checkpoint) as tmp:
            torch.save(dict(state), tmp)
            if self.checkpoint.exists():
                os.replace(self.checkpoint, self.previous_checkpoint)

    def load_checkpoint(self, policy: str = "error") -> dict[str, Any] | None:
        """The newest readable checkpoint, or ``None`` (none yet, or ``policy="scratch"`` after damage).

        A damaged ``checkpoint.pt`` (truncated, or not a checkpoint) raises
        :class:`RunError` unless ``policy`` is ``"previous"`` (resume from
        ``checkpoint.prev.pt``) or ``"scratch"`` (start the run again).
        """
        if not self.checkpoint.exists():
            if self.previous_checkpoint.exists():  # killed between the two renames of a save
                return _torch_load(self.previous_checkpoint)
            return None
        try:
            return _torch_load(self.checkpoint)
        except RunError as exc:
            if policy == "scratch":
                self.log(f"{exc}; starting from scratch (--bad-checkpoint scratch)")
                return None
            if policy == "previous":
                if not self.previous_checkpoint.exists():
                    raise RunError(f"{exc}; there is no checkpoint.prev.pt to fall back on "
                                   "(--bad-checkpoint scratch starts again)") from None
                self.log(f"{exc}; resuming from checkpoint.prev.pt (--bad-checkpoint previous)")
                return _torch_load(self.previous_checkpoint)
            prev = ("--bad-checkpoint previous resumes from checkpoint.prev.pt, "
                    if self.previous_checkpoint.exists() else "")
            raise RunError(f"{exc}; {prev}--bad-checkpoint scratch starts the run again") from None

    def snapshot_paths(self) -> list[Path]:
        """Snapshot files in time order (their names sort by time)."""
        return sorted(self.snapshots.glob("*.npz")) if self.snapshots.exists() else []


def _torch_load(path: Path) -> dict[str, Any]:
    import pickle
    import zipfile

    import torch

    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except (RuntimeError, EOFError, OSError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError) as exc:
        reason = str(exc).splitlines()[0].split(". ")[0] if str(exc) else type(exc).__name__
        raise RunError(f"{path}: unreadable checkpoint ({reason[:120]})") from None
    if not isinstance(ckpt, dict) or not {"model", "optimizer", "epoch"} <= set(ckpt):
        raise RunError(f"{path}: not a neurosim checkpoint")
    return ckpt


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _fused_info() -> dict[str, Any]:
    try:
        from neurosim.rules import fused_kernels
    except ImportError:  # pragma: no cover - torch missing
        return {"fused": False, "reason": "torch not importable"}
    return fused_kernels()


def git_commit(path: Path | None = None) -> str | None:
    """The checkout's commit (with ``-dirty`` when modified), or None outside git."""
    where = path or Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True,
                                text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=where,
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("-dirty" if dirty else "")


def provenance(threads: int) -> dict[str, Any]:
    """Versions of everything that shapes the numbers: packages, the source hash, the thread
    count, and which optimizer path ran (the fused C kernels and their compiler, or eager torch)."""
    from importlib.metadata import PackageNotFoundError, version

    def v(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    return {
        "neurosim": neurosim.__version__,
        "torch": v("torch"),
        "brian2": v("brian2"),
        "numpy": v("numpy"),
        "scipy": v("scipy"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git_commit": git_commit(),
        "code_hash": code_hash(),
        "fused_kernels": _fused_info(),
        "threads": threads,
        "cpu_count": os.cpu_count(),
        "started": _now(),
    }
