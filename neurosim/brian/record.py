"""Recording spiking runs: device handling, snapshots at an interval, rates, ISI CV, raster.

* :func:`brian_device` switches Brian2 to runtime mode (the default code generation
  target, Cython when available) or to C++ standalone in its own build directory,
  and resets the device afterwards so that several runs work in one process.
* :class:`SnapshotRecorder` takes :func:`neurosim.snapshot.from_synapses` snapshots
  every ``snapshot_every``: with a ``network_operation`` in runtime mode, and with a
  ``StateMonitor`` of the weights (``dt = snapshot_every``) in standalone mode, where
  Python cannot run during the simulation; both give the same times
  ``0, every, 2*every, ... < duration`` plus the final state at ``duration``.
* :func:`spike_stats` turns spike trains into rates (Hz) and the coefficient of
  variation of inter-spike intervals.
"""

from __future__ import annotations

import contextlib
import math
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neurosim import validate as V
from neurosim.snapshot import Projection, from_synapses

MODES = ("runtime", "standalone")


@dataclass
class SpikingResult:
    """What a spiking run returns.

    Attributes
    ----------
    snapshots:
        ``[(time_s, {projection name: Projection}), ...]`` at ``0, every, ...`` and at the end.
    metrics:
        JSON-able numbers: ``rate_hz`` (mean rate of the recorded neurons), ``isi_cv``,
        ``levels_moved_mean`` for gridded rules, wall-clock ``run_s`` / ``build_s``, ...
    raster:
        ``(indices, times_s)`` of the spikes of a sample of neurons.
    rates:
        Rate (Hz) of every recorded (postsynaptic) neuron.
    traces:
        Size traces (:class:`neurosim.traces.Traces`) when the run recorded them.
    """

    snapshots: list[tuple[float, dict[str, Projection]]]
    metrics: dict[str, float]
    raster: tuple[np.ndarray, np.ndarray]
    rates: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)
    traces: Any = None  # neurosim.traces.Traces, or None


def check_mode(mode: str) -> str:
    """``"runtime"`` or ``"standalone"``."""
    return V.choice("mode", mode, MODES)


MODE = V.Param(V.one_of(*MODES), "Brian2 device: runtime code generation, or compiled C++ standalone")


@contextlib.contextmanager
def brian_device(mode: str, build_dir: str | None = None) -> Iterator[str | None]:
    """Activate Brian2's runtime device or a fresh C++ standalone device in ``build_dir``.

    Yields the build directory (standalone) or ``None``. On exit the standalone device is
    reset (``device.reinit()``) and the runtime device activated again.
    """
    import brian2 as b2

    check_mode(mode)
    current = b2.get_device()
    if type(current).__name__ != "RuntimeDevice":
        current.reinit()
    b2.set_device("runtime")
    b2.device.reinit()
    if mode == "runtime":
        yield None
        return
    directory = build_dir or tempfile.mkdtemp(prefix="neurosim_brian_")
    b2.set_device("cpp_standalone", directory=directory, build_on_run=False)
    try:
        yield directory
    finally:
        b2.device.reinit()
        b2.set_device("runtime")
        b2.device.reinit()


def build_and_run(directory: str, *, with_output: bool = True) -> dict[str, float]:
    """Compile and run the standalone project; returns ``compile_s`` and ``run_s`` (wall clock)."""
    import brian2 as b2

    t0 = time.perf_counter()
    b2.device.build(directory=directory, compile=True, run=False, with_output=with_output)
    t1 = time.perf_counter()
    b2.device.run(directory=directory, with_output=with_output)
    t2 = time.perf_counter()
    return {"compile_s": t1 - t0, "run_s": t2 - t1}


class SnapshotRecorder:
    """Snapshots of named ``Synapses`` every ``every`` (see the module docstring).

    ``signs`` maps projection names to +1/-1 (the sign of a size-valued projection);
    ``n_synapses`` gives each projection's synapse count (needed in standalone mode,
    so connect with explicit indices or a deterministic pattern).
    Add :attr:`objects` to the ``Network``; call :meth:`finish` after the run
    (standalone: after the build) to get the snapshot list.
    """

    def __init__(self, synapses: dict[str, Any], every: Any, mode: str,
                 signs: dict[str, int] | None = None,
                 n_synapses: dict[str, int] | None = None) -> None:
        import brian2 as b2

        self.synapses = synapses
        self.signs = signs or {}
        self.mode = check_mode(mode)
        self.every = every
        self.snapshots: list[tuple[float, dict[str, Projection]]] = []
        self.monitors: dict[str, Any] = {}
        self.objects: list[Any] = []
        if every is None:
            return
        if mode == "runtime":
            @b2.network_operation(dt=every, when="start", name="neurosim_snapshots")
            def _take(t: Any) -> None:
                self.snapshots.append((float(np.asarray(t).ravel()[0]), self._take()))

            self.objects.append(_take)
        else:
            for name, S in synapses.items():
                vars_ = ["w"] + (["level"] if "level" in S.variables else [])
                # standalone cannot resolve record=True for synapses: give the indices
                record = np.arange((n_synapses or {})[name]) if mode == "standalone" else True
                mon = _synapse_monitor(S, vars_, record=record, dt=every, when="start",
                                       name=f"{S.name}_snapshots")
                self.monitors[name] = mon
                self.objects.append(mon)

    def _take(self) -> dict[str, Projection]:
        return {n: from_synapses(S, sign=self.signs.get(n)) for n, S in self.synapses.items()}

    def finish(self, duration_s: float) -> list[tuple[float, dict[str, Projection]]]:
        """All snapshots, including the final state at ``duration_s``."""
        if self.mode == "standalone" and self.monitors:
            final = self._take()
            first = next(iter(self.monitors.values()))
            for k, t in enumerate(np.asarray(first.t_)):
                projs = {}
                for name, mon in self.monitors.items():
                    p = final[name]
                    w = np.asarray(mon.variables["w"].get_value())[k]  # SI, as from_synapses
                    level = None
                    if p.level is not None:
                        level = np.asarray(mon.variables["level"].get_value())[k]
                    projs[name] = Projection(sign=p.sign, size=np.abs(w), pre=p.pre, post=p.post,
                                             unit=p.unit, level=level, grid=p.grid)
                self.snapshots.append((float(t), projs))
        self.snapshots.append((float(duration_s), self._take()))
        return self.snapshots


class TraceRecorder:
    """Sizes of a seeded subsample of synapses every ``every`` (a ``StateMonitor`` per projection).

    The Brian2 counterpart of :class:`neurosim.traces.TraceRecorder`: the same
    :class:`~neurosim.traces.Traces` come out (time unit: s), so run reports measure size
    changes at every interval the same way for spiking and rate networks. ``every=None``
    records nothing.
    """

    def __init__(self, synapses: dict[str, Any], every: Any, n_synapses: dict[str, int], n: int,
                 seed: int) -> None:

        self.synapses, self.monitors, self.objects = synapses, {}, []
        self.index: dict[str, np.ndarray] = {}
        if every is None or n <= 0:
            return
        rng = np.random.default_rng([seed, 9])
        for name, S in synapses.items():
            total = n_synapses[name]
            idx = np.sort(rng.choice(total, min(n, total), replace=False))
            self.index[name] = idx
            vars_ = ["w"] + (["level"] if "level" in S.variables else [])
            mon = _synapse_monitor(S, vars_, record=idx, dt=every, when="end", name=f"{S.name}_traces")
            self.monitors[name] = mon
            self.objects.append(mon)

    def finish(self, signs: dict[str, int], bounds: dict[str, tuple[float, float]]) -> Any:
        """The recorded :class:`~neurosim.traces.Traces` (after the run; ``None`` if none)."""
        from neurosim.snapshot import from_synapses
        from neurosim.traces import ProjectionTrace, Traces

        if not self.monitors:
            return None
        projs, time_s = {}, None
        for name, mon in self.monitors.items():
            time_s = np.asarray(mon.t_, dtype=np.float64)
            size = np.abs(np.asarray(mon.variables["w"].get_value(), dtype=np.float64)).astype(np.float32)
            level = None
            grid = from_synapses(self.synapses[name]).grid
            if "level" in mon.record_variables:
                level = np.asarray(mon.variables["level"].get_value()).astype(np.int64)
                level = level.astype(grid.dtype) if grid is not None else level
            sign = np.full(self.index[name].size, signs.get(name, 1), dtype=np.int8)
            projs[name] = ProjectionTrace(self.index[name], size, sign, level, grid, bounds.get(name))
        return Traces(time_s, "s", projs)


def size_bounds(rule: Any, w_max: float) -> tuple[float, float]:
    """The sizes ``rule`` keeps to: an interval rule says; the pair-based rules clip to ``[0, w_max]``."""
    fn = getattr(rule, "size_bounds", None)
    return fn(w_max) if fn is not None else (0.0, w_max)


def spike_stats(indices: np.ndarray, times: np.ndarray, n: int, duration_s: float,
                min_spikes: int = 3) -> tuple[np.ndarray, float]:
    """Rates (Hz) of ``n`` neurons and the mean ISI CV over neurons with >= ``min_spikes`` spikes.

    The ISI CV is ``std(ISI) / mean(ISI)`` per neuron (1 for a Poisson process); NaN if no
    neuron fired enough.
    """
    indices = np.asarray(indices, dtype=np.int64)
    times = np.asarray(times, dtype=np.float64)
    counts = np.bincount(indices, minlength=n)[:n]
    rates = counts / duration_s
    order = np.lexsort((times, indices))
    idx, ts = indices[order], times[order]
    cvs = []
    bounds = np.searchsorted(idx, np.arange(n + 1))
    for k in range(n):
        a, b = bounds[k], bounds[k + 1]
        if b - a >= min_spikes:
            isi = np.diff(ts[a:b])
            if isi.mean() > 0:
                cvs.append(isi.std() / isi.mean())
    return rates, (float(np.mean(cvs)) if cvs else math.nan)


def level_metrics(snapshots: list[tuple[float, dict[str, Projection]]], name: str) -> dict[str, float]:
    """How far levels moved between the first and the last snapshot of projection ``name``."""
    first, last = snapshots[0][1][name], snapshots[-1][1][name]
    if first.level is None or last.level is None:
        return {}
    d = np.abs(last.level.astype(np.int64) - first.level.astype(np.int64))
    return {"levels_moved_mean": float(d.mean()), "levels_moved_max": float(d.max()),
            "frac_synapses_moved": float(np.mean(d > 0)),
            "level_final_mean": float(last.level.mean())}


def size_metrics(p: Projection, w_max: float, prefix: str = "") -> dict[str, float]:
    """Mean size relative to ``w_max`` and the fractions near the bounds (< 10 %, > 90 %)."""
    x = p.size.astype(np.float64) / w_max
    return {f"{prefix}w_mean_rel": float(x.mean()), f"{prefix}frac_low": float(np.mean(x < 0.1)),
            f"{prefix}frac_high": float(np.mean(x > 0.9))}


def _synapse_monitor(S: Any, variables: list[str], **kwargs: Any) -> Any:
    """A ``StateMonitor`` of synapses recorded by index.

    The indices are ours (a subset of ``0 .. n - 1`` of the synapses this
    package made), so Brian2's standalone warning that it cannot check them
    tells the user nothing: it is suppressed (on the console only; Brian2's log
    file keeps it).
    """
    import brian2 as b2
    from brian2.utils.logger import BrianLogger

    BrianLogger.suppress_name("cannot_check_statemonitor_indices")
    return b2.StateMonitor(S, variables, **kwargs)

