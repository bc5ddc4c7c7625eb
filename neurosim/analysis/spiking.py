"""Firing statistics of recorded spike trains, per population: rate, ISI CV and Fano factor.

For spike trains ``s`` ``(T, trials, units)`` of 0/1 at time step ``dt`` and a
window of steps ``[start, stop)``:

* **rate** (Hz): spikes per unit per second in the window, averaged over the
  population's units and the trials;
* **ISI CV**: for every (trial, unit) train with at least ``min_spikes`` spikes
  in the window, the standard deviation of its inter-spike intervals over
  their mean (1 for a Poisson process, 0 for a clock; Softky & Koch 1993,
  J Neurosci 13:334), averaged over those trains;
* **Fano factor**: the variance over trials of a unit's spike count in the
  window over its mean (1 for a Poisson process), for units whose mean count is
  above 0, within each group of trials of one condition (``groups``, e.g. the
  signed coherence, so that stimulus differences do not count as variability),
  averaged over units and groups with at least two trials;
* **silent**: the fraction of the population's units that fire no spike in the
  window on any trial. A surrogate gradient reaches a unit only near its
  threshold, so a unit that never gets there is out of training too.

Cortical neurons fire irregularly: ISI CVs near 1 and Fano factors of about 1
to 1.5 in awake animals (Softky & Koch 1993; Churchland et al. 2010, Nat
Neurosci 13:369, who also found that a stimulus lowers the Fano factor).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from neurosim import validate as V

__all__ = ["spike_statistics"]


def _cv_isi(s: np.ndarray, min_spikes: int) -> tuple[float, int]:
    """Mean ISI CV over the (trial, unit) trains of ``s`` ``(T, trials, units)`` with enough spikes."""
    T = s.shape[0]
    trains = s.reshape(T, -1).T  # (trains, T)
    cvs = []
    for row in trains[trains.sum(1) >= min_spikes]:
        isi = np.diff(np.flatnonzero(row))
        m = isi.mean()
        if m > 0:
            cvs.append(isi.std() / m)
    return (float(np.mean(cvs)) if cvs else float("nan")), len(cvs)


def _fano(counts: np.ndarray, groups: np.ndarray) -> float:
    """Mean Fano factor over units and condition groups of ``counts`` ``(trials, units)``."""
    values = []
    for g in np.unique(groups):
        c = counts[groups == g]
        if len(c) < 2:
            continue
        mean = c.mean(0)
        var = c.var(0, ddof=1)
        ok = mean > 0
        values.extend((var[ok] / mean[ok]).tolist())
    return float(np.mean(values)) if values else float("nan")


def spike_statistics(spikes: Any, dt: float, populations: Mapping[str, slice], *,
                     window: tuple[int, int] | None = None, groups: Any = None,
                     min_spikes: int = 3) -> dict[str, dict[str, float]]:
    """Rate (Hz), ISI CV and Fano factor per population (see the module docstring).

    Parameters
    ----------
    spikes:
        0/1 array ``(T, trials, units)``.
    dt:
        Time step (s, > 0).
    populations:
        Name -> slice of unit indices.
    window:
        ``(start, stop)`` steps (default: the whole trial).
    groups:
        One condition label per trial for the Fano factor (default: all trials one group).
    min_spikes:
        Fewest spikes in the window for a train's ISI CV (>= 3, so two intervals).

    Returns
    -------
    ``{population: {"rate_hz", "cv_isi", "fano", "silent", "trains_for_cv", "window_s"}}``.
    """
    s = np.asarray(spikes)
    if s.ndim != 3:
        raise ValueError(f"spikes: must have shape (T, trials, units), got {s.shape}")
    if s.size and not np.isin(s, (0, 1)).all():
        raise ValueError("spikes: must hold only 0 and 1")
    dt = V.real("dt", dt, gt=0.0)
    min_spikes = V.integer("min_spikes", min_spikes, ge=3)
    T, n_trials, _ = s.shape
    start, stop = (0, T) if window is None else window
    if not (0 <= start < stop <= T):
        raise ValueError(f"window: must be (start, stop) steps with 0 <= start < stop <= {T}, got {window!r}")
    g = np.zeros(n_trials) if groups is None else np.asarray(groups)
    if g.shape != (n_trials,):
        raise ValueError(f"groups: must have one label per trial ({n_trials}), got shape {g.shape}")
    w = s[start:stop].astype(np.float64)
    duration = (stop - start) * dt
    out: dict[str, dict[str, float]] = {}
    for name, idx in populations.items():
        p = w[:, :, idx]
        if p.shape[2] == 0:
            continue
        counts = p.sum(0)  # (trials, units)
        cv, n_cv = _cv_isi(p, min_spikes)
        out[name] = {"rate_hz": float(counts.mean() / duration), "cv_isi": cv, "fano": _fano(counts, g),
                     "silent": float(np.mean(counts.sum(0) == 0)), "trains_for_cv": n_cv, "window_s": duration}
    return out
