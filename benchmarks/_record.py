"""Where a benchmark's figures go: ``results/benchmarks/<name>.json``, with the machine's state.

Every full-size benchmark run writes its figures here (``--quick`` runs do not,
so smoke tests never touch the committed results); ``benchmarks/readme.py``
renders the README's speed paragraph from these files. Each file records the
machine's load before and after the run (:func:`load`): a ratio taken while
another process keeps a core busy says little (torch's two-thread ops slow
10-30x).
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from neurosim.files import write_json

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "results" / "benchmarks"


def load() -> dict[str, float]:
    """The machine's load now: the 1-minute load average and the busy fraction of all CPUs over 1 s.

    The load average lags by about a minute (it still counts a benchmark that
    just ended); the busy fraction, from ``/proc/stat``, is what other processes
    take right now (``nan`` where there is no ``/proc/stat``).
    """
    try:
        avg = float(os.getloadavg()[0])
    except (AttributeError, OSError):
        avg = float("nan")
    return {"loadavg_1min": avg, "cpu_busy": _cpu_busy(1.0)}


def _cpu_times() -> tuple[int, int]:
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields), idle


def _cpu_busy(seconds: float) -> float:
    try:
        total0, idle0 = _cpu_times()
        time.sleep(seconds)
        total1, idle1 = _cpu_times()
    except (OSError, ValueError, IndexError):
        return float("nan")
    return 1.0 - (idle1 - idle0) / max(total1 - total0, 1)


def _commit() -> str:
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                             text=True, timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def record(name: str, figures: dict[str, Any], *, load_before: dict[str, float], quick: bool = False,
           out: str | os.PathLike[str] | None = None) -> Path | None:
    """Write ``figures`` with the machine's state to ``out`` (default ``results/benchmarks/<name>.json``).

    Nothing is written for a ``quick`` run unless ``out`` names a file.
    """
    if quick and out is None:
        return None
    path = Path(out) if out is not None else OUT / f"{name}.json"
    write_json(path, {
        "benchmark": name,
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "date_utc": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M"),
        "commit": _commit(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "system": platform.system()},
        "load_before": load_before,
        "load_after": load(),
        "figures": figures,
    })
    print(f"figures written to {path}")
    return path
