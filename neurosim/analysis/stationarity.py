"""Has a rule reached its steady state? Two starts, one criterion.

A size distribution a rule *produces* does not depend on where the sizes started; one it
merely *passes through* does. The test: run the same rule from two different initial
distributions and ask, at each time, whether the two size distributions could be samples
of one distribution. The statistic is the two-sample Kolmogorov-Smirnov distance ``D``
between the positive sizes; the threshold is the 95th percentile of ``D`` when the two
samples are pooled and split at random (a permutation test), so that it is scaled to the
sample sizes *and* to the ties a grid makes (the tabulated KS threshold assumes no ties
and is wrong on 26 levels). The silent fraction (size 0) is tracked apart, since a KS
distance on sizes with an atom at 0 would mix the two questions.

:func:`compare_starts` returns, per time, ``D``, its threshold and both silent fractions;
``reached_at`` is the first time from which ``D`` stays below the threshold (and the
silent fractions within ``silent_tolerance``) for at least two snapshots, the last
included. Synapses of one run share inputs and output, so the permutation threshold
treats them as exchangeable; it is a criterion written down in advance, not an exact test.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Stationarity", "compare_starts", "ks_distance", "ks_threshold"]

#: Permutations behind each threshold.
N_PERM = 200
#: Silent fractions of the two starts may differ by this much (absolute) and count as the same.
SILENT_TOLERANCE = 0.02


def ks_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample KS distance ``sup |F_a - F_b|`` (exact with ties: both CDFs evaluated at every value)."""
    a, b = np.sort(np.asarray(a, np.float64)), np.sort(np.asarray(b, np.float64))
    if a.size == 0 or b.size == 0:
        return math.nan
    x = np.concatenate([a, b])
    fa = np.searchsorted(a, x, side="right") / a.size
    fb = np.searchsorted(b, x, side="right") / b.size
    return float(np.max(np.abs(fa - fb)))


def ks_threshold(a: np.ndarray, b: np.ndarray, *, level: float = 0.95, n_perm: int = N_PERM,
                 rng: np.random.Generator | None = None) -> float:
    """The ``level`` quantile of :func:`ks_distance` over random splits of ``a`` and ``b`` pooled."""
    rng = rng or np.random.default_rng(0)
    pooled = np.concatenate([np.asarray(a, np.float64), np.asarray(b, np.float64)])
    na = len(a)
    if na == 0 or pooled.size == na:
        return math.nan
    ds = np.empty(n_perm)
    for k in range(n_perm):
        perm = rng.permutation(pooled)
        ds[k] = ks_distance(perm[:na], perm[na:])
    return float(np.quantile(ds, level))


@dataclass
class Stationarity:
    """Result of :func:`compare_starts` (times in the unit of the snapshots' times)."""

    times: np.ndarray
    ks: np.ndarray
    threshold: np.ndarray
    silent_a: np.ndarray
    silent_b: np.ndarray
    reached_at: float
    level: float

    @property
    def reached(self) -> bool:
        return math.isfinite(self.reached_at)

    def summary(self) -> dict[str, Any]:
        """JSON-able numbers: the final D and threshold, when the criterion was met (``None``: never)."""
        return {"reached_at": self.reached_at if self.reached else None, "final_ks": float(self.ks[-1]),
                "final_threshold": float(self.threshold[-1]), "initial_ks": float(self.ks[0]),
                "final_silent": [float(self.silent_a[-1]), float(self.silent_b[-1])], "level": self.level,
                "criterion": CRITERION}


CRITERION = (f"two starts have converged when the KS distance between their positive sizes stays below the "
             f"95th percentile of the distance between random splits of the two pooled ({N_PERM} permutations), "
             f"and their silent fractions stay within {SILENT_TOLERANCE}, from that time to the end (at least two "
             "snapshots)")


def compare_starts(times: Sequence[float], sizes_a: Sequence[np.ndarray], sizes_b: Sequence[np.ndarray], *,
                   level: float = 0.95, n_perm: int = N_PERM, silent_tolerance: float = SILENT_TOLERANCE,
                   seed: int = 0) -> Stationarity:
    """Distance between two runs' size distributions at each common time (see the module docstring)."""
    if not (len(times) == len(sizes_a) == len(sizes_b)) or len(times) == 0:
        raise ValueError(f"sizes_a, sizes_b: must have one array per time ({len(times)}), "
                         f"got {len(sizes_a)} and {len(sizes_b)}")
    rng = np.random.default_rng(seed)
    ks, thr, sa, sb = [], [], [], []
    for a, b in zip(sizes_a, sizes_b, strict=True):
        a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
        pa, pb = a[a > 0], b[b > 0]
        ks.append(ks_distance(pa, pb))
        thr.append(ks_threshold(pa, pb, level=level, n_perm=n_perm, rng=rng))
        sa.append(float(np.mean(a == 0)) if a.size else math.nan)
        sb.append(float(np.mean(b == 0)) if b.size else math.nan)
    ks_a, thr_a, sa_a, sb_a = map(np.asarray, (ks, thr, sa, sb))
    ok = (ks_a <= thr_a) & (np.abs(sa_a - sb_a) <= silent_tolerance)
    t = np.asarray(times, np.float64)
    bad = np.flatnonzero(~ok)
    # reached from the first time after the last failure, if at least two snapshots pass after it
    reached = float(t[0]) if bad.size == 0 else (float(t[bad[-1] + 1]) if bad[-1] + 2 < t.size else math.nan)
    return Stationarity(t, ks_a, thr_a, sa_a, sb_a, reached, level)
