"""Size traces: a fixed random subsample of each projection's synapses, recorded at every update.

Snapshots (:mod:`neurosim.snapshot`) hold every synapse at a few times; a trace holds a
few hundred synapses of each projection at *every* optimizer step (torch) or every
plasticity update (Brian2), so that size changes can be measured at any interval from
one update to the whole run (:func:`neurosim.analysis.dynamics.interval_scaling`).

One ``traces.npz`` per run holds, per projection ``name``:

============== ============ =====================================================
key            dtype        meaning
============== ============ =====================================================
``name/index`` int64        flat indices of the traced synapses (sorted)
``name/size``  float32      ``(T, k)`` sizes (>= 0) at each recorded time
``name/sign``  int8         ``(k,)`` the synapses' signs
``name/level`` uint8/int16  ``(T, k)`` grid levels (gridded projections only)
============== ============ =====================================================

plus ``time`` (``(T,)`` float64) and a JSON header with the time unit (``"step"`` or
``"s"``), each projection's grid and bounds (``w_max``, and the clip ``lo`` / ``hi``
of sizes a rule cannot leave). Written atomically.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neurosim.files import atomic_path
from neurosim.lns import LogGrid

__all__ = ["ProjectionTrace", "TraceRecorder", "Traces", "load", "save"]

FORMAT = "neurosim.traces/1"


@dataclass
class ProjectionTrace:
    """The traced synapses of one projection: ``size[t, j]`` of synapse ``index[j]`` at ``time[t]``."""

    index: np.ndarray
    size: np.ndarray
    sign: np.ndarray
    level: np.ndarray | None = None
    grid: LogGrid | None = None
    bounds: tuple[float, float] | None = None  # sizes a rule clips to (lo, hi), if it clips

    def at_bound(self, t: int | np.ndarray) -> np.ndarray:
        """Which traced synapses sit at a bound at time(s) ``t``: an end level of the grid, or a clip."""
        if self.level is not None and self.grid is not None:
            lv = self.level[t]
            return (lv == 0) | (lv == self.grid.levels - 1)
        if self.bounds is not None:
            s = self.size[t].astype(np.float64)
            lo, hi = self.bounds
            return (s <= lo * (1.0 + 1e-6)) | (s >= hi * (1.0 - 1e-6))  # float32 sizes: a relative margin
        return np.zeros(self.size[t].shape, dtype=bool)


@dataclass
class Traces:
    """A run's size traces: recorded times and one :class:`ProjectionTrace` per projection."""

    time: np.ndarray
    unit: str
    projections: dict[str, ProjectionTrace] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def truncate(self, n: int) -> Traces:
        """The first ``n`` recorded times (a resumed run drops what came after its checkpoint)."""
        projs = {k: ProjectionTrace(p.index, p.size[:n], p.sign, None if p.level is None else p.level[:n],
                                    p.grid, p.bounds) for k, p in self.projections.items()}
        return Traces(self.time[:n], self.unit, projs, dict(self.meta))


def save(path: str | os.PathLike[str], traces: Traces) -> Path:
    """Write ``traces`` to ``path`` (``.npz``) atomically."""
    path = Path(path)
    arrays: dict[str, np.ndarray] = {"time": np.asarray(traces.time, dtype=np.float64)}
    header: dict[str, Any] = {"format": FORMAT, "unit": traces.unit, "meta": traces.meta, "projections": {}}
    for name, p in traces.projections.items():
        arrays[f"{name}/index"] = np.asarray(p.index, dtype=np.int64)
        arrays[f"{name}/size"] = np.asarray(p.size, dtype=np.float32)
        arrays[f"{name}/sign"] = np.asarray(p.sign, dtype=np.int8)
        if p.level is not None:
            arrays[f"{name}/level"] = np.asarray(p.level)
        header["projections"][name] = {"grid": None if p.grid is None else p.grid.to_dict(),
                                       "bounds": None if p.bounds is None else list(p.bounds)}
    arrays["__header__"] = np.array(json.dumps(header))
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, **arrays)
    return path


def load(path: str | os.PathLike[str]) -> Traces:
    """Read traces written by :func:`save` (``ValueError`` naming the file if it is not one)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            header = json.loads(str(npz["__header__"]))
            if header.get("format") != FORMAT:
                raise ValueError(f"{path}: not a neurosim traces file")
            projs = {}
            for name, info in header["projections"].items():
                level = npz[f"{name}/level"] if f"{name}/level" in npz.files else None
                grid = LogGrid(**info["grid"]) if info.get("grid") else None
                bounds = tuple(info["bounds"]) if info.get("bounds") else None
                projs[name] = ProjectionTrace(npz[f"{name}/index"], npz[f"{name}/size"], npz[f"{name}/sign"],
                                              level, grid, bounds)
            return Traces(npz["time"], header["unit"], projs, header.get("meta", {}))
    except (OSError, KeyError, EOFError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a readable traces file ({type(exc).__name__})") from None
    except Exception as exc:  # zipfile.BadZipFile and numpy's own errors
        if isinstance(exc, ValueError) and str(exc).startswith(str(path)):
            raise
        raise ValueError(f"{path}: not a readable traces file ({type(exc).__name__})") from None


class TraceRecorder:
    """Record a torch model's size traces at every optimizer step.

    Parameters
    ----------
    model, optimizer:
        The network (its projections as :func:`neurosim.snapshot.synapse_tensors` finds
        them) and its optimizer (for grid levels and the Madam clip ``w_max``).
    n:
        Synapses traced per projection (all of a smaller projection).
    seed:
        Seed of the subsample.
    """

    def __init__(self, model: Any, optimizer: Any, n: int, seed: int) -> None:
        from neurosim.snapshot import synapse_tensors

        self.model, self.optimizer = model, optimizer
        self.tensors = synapse_tensors(model)
        rng = np.random.default_rng([seed, 9])
        self.index = {name: np.sort(rng.choice(t.numel(), min(n, t.numel()), replace=False))
                      for name, t in self.tensors.items()}
        self.time: list[float] = []
        self.rows: dict[str, list[np.ndarray]] = {k: [] for k in self.tensors}
        self.levels: dict[str, list[np.ndarray]] = {k: [] for k in self.tensors}

    def record(self, step: int) -> None:
        """Append the traced synapses' sizes (and levels) after optimizer step ``step``."""
        import torch

        grids = self._grids()
        with torch.no_grad():
            for name, t in self.tensors.items():
                idx = torch.as_tensor(self.index[name], device=t.device)
                self.rows[name].append(t.detach().reshape(-1)[idx].abs().float().cpu().numpy())
                if name in grids:
                    self.levels[name].append(np.asarray(grids[name][0]).reshape(-1)[self.index[name]])
        self.time.append(float(step))

    def _grids(self) -> dict[str, tuple[np.ndarray, LogGrid]]:
        if self.optimizer is None or not hasattr(self.optimizer, "grid_of"):
            return {}
        out = {}
        for name, t in self.tensors.items():
            got = self.optimizer.grid_of(t)
            if got is not None:
                out[name] = got
        return out

    def traces(self) -> Traces:
        """What was recorded, as :class:`Traces` (time unit: optimizer steps)."""
        import torch

        grids = self._grids()
        projs = {}
        for name, t in self.tensors.items():
            size = np.array(self.rows[name], dtype=np.float32).reshape(len(self.time), -1)
            with torch.no_grad():
                signed = _signed(self.model, name, t).reshape(-1)[self.index[name]]
            sign = np.sign(np.nan_to_num(signed, nan=0.0)).astype(np.int8)  # a diverged (NaN) weight: sign 0
            level = np.array(self.levels[name]) if name in grids and self.levels[name] else None
            grid = grids[name][1] if name in grids else None
            projs[name] = ProjectionTrace(self.index[name], size, sign, level, grid, self._bounds(t))
        return Traces(np.asarray(self.time), "step", projs)

    def _bounds(self, t: Any) -> tuple[float, float] | None:
        """The sizes a tensor's optimizer clips to (``optimizer.size_bounds``), if it clips."""
        fn = getattr(self.optimizer, "size_bounds", None)
        return None if fn is None else fn(t)

    def restore(self, traces: Traces, n: int) -> None:
        """Continue from the first ``n`` times of saved ``traces`` (a resumed run)."""
        t = traces.truncate(n)
        self.time = [float(x) for x in t.time]
        for name, p in t.projections.items():
            if name in self.rows:
                self.rows[name] = list(p.size)
                self.levels[name] = [] if p.level is None else list(p.level)


def _signed(model: Any, name: str, t: Any) -> np.ndarray:
    """The signed weights of projection ``name`` (a Dale layer's ``sign * size``)."""
    module = model.get_submodule(name) if name != "weight" else model
    sign = dict(module.named_buffers(recurse=False)).get("sign")
    w = t.detach().cpu().numpy()
    return w * np.broadcast_to(sign.detach().cpu().numpy(), w.shape) if sign is not None else w
