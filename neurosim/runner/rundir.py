"""Run directories: ``runs/<name>-<hash>/`` with everything a run produced.

Layout::

    config.toml        the resolved config (human-readable)
    config.json        the same, read back by ``neurosim report``
    provenance.json    versions, git commit, thread count, host, start time
    metrics.jsonl      one JSON object per epoch (or per snapshot for Brian2 runs)
    snapshots/         weight snapshots (neurosim.snapshot format)
    checkpoint.pt      model, optimizer and generator states (torch runs)
    figures/           PNG and SVG
    report.md          the report
    run.log            the log
    DONE               the completion marker (written last)

Every file is written atomically (temporary file, then rename), so a killed run
never leaves a half-written file under a final name.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import neurosim
from neurosim._io import atomic_path, write_json, write_text
from neurosim.runner.config import run_dirname, to_toml

DONE = "DONE"


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
    def checkpoint(self) -> Path:
        return self.path / "checkpoint.pt"

    @property
    def done(self) -> bool:
        """True when the run finished (its completion marker exists)."""
        return (self.path / DONE).exists()

    # -- writing
    def create(self, config: Mapping[str, Any]) -> None:
        """Create the directory and write the resolved config (idempotent)."""
        self.path.mkdir(parents=True, exist_ok=True)
        self.snapshots.mkdir(exist_ok=True)
        self.figures.mkdir(exist_ok=True)
        write_text(self.path / "config.toml", to_toml(config))
        write_json(self.path / "config.json", dict(config))

    def config(self) -> dict[str, Any]:
        """The resolved config written by :meth:`create`."""
        with open(self.path / "config.json", encoding="utf-8") as fh:
            return json.load(fh)

    def write_provenance(self, threads: int, extra: Mapping[str, Any] | None = None) -> None:
        write_json(self.path / "provenance.json", {**provenance(threads), **dict(extra or {})})

    def write_metrics(self, rows: list[Mapping[str, Any]]) -> None:
        """Rewrite ``metrics.jsonl`` with ``rows`` (atomically; the file is small)."""
        text = "".join(json.dumps(dict(r), sort_keys=True) + "\n" for r in rows)
        write_text(self.path / "metrics.jsonl", text)

    def metrics(self) -> list[dict[str, Any]]:
        path = self.path / "metrics.jsonl"
        if not path.exists():
            return []
        with open(path, encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]

    def write_result(self, result: Mapping[str, Any]) -> None:
        write_json(self.path / "result.json", dict(result))

    def result(self) -> dict[str, Any]:
        path = self.path / "result.json"
        if not path.exists():
            return {}
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)

    def mark_done(self) -> None:
        write_text(self.path / DONE, _now() + "\n")

    def log(self, message: str) -> None:
        """Append a timestamped line to ``run.log`` (a log is append-only by nature)."""
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.path / "run.log", "a", encoding="utf-8") as fh:
            fh.write(f"{_now()} {message}\n")

    def save_checkpoint(self, state: Mapping[str, Any]) -> None:
        import torch

        with atomic_path(self.checkpoint) as tmp:
            torch.save(dict(state), tmp)

    def load_checkpoint(self) -> dict[str, Any] | None:
        import torch

        if not self.checkpoint.exists():
            return None
        return torch.load(self.checkpoint, map_location="cpu", weights_only=False)

    def snapshot_paths(self) -> list[Path]:
        """Snapshot files in time order (their names sort by time)."""
        return sorted(self.snapshots.glob("*.npz")) if self.snapshots.exists() else []


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


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
    """Versions of everything that shapes the numbers, plus the thread count."""
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
        "threads": threads,
        "cpu_count": os.cpu_count(),
        "started": _now(),
    }
