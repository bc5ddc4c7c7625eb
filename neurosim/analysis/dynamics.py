"""How the size change of a synapse scales with its size.

Between two observations of the same synapses, bin synapses by their initial size
(log-spaced bins, keeping bins with at least ``min_count`` synapses), take the standard
deviation of the size change in each bin, and fit::

    ln std(Delta s | s) = a + slope * ln s

by weighted least squares. Multiplicative dynamics, in which the magnitude of changes is
proportional to size (Loewenstein, Kuras & Rumpel 2011, J. Neurosci. 31:9481), give
``slope ~ 1``; additive dynamics (changes independent of size) give ``slope ~ 0``.

Weights: the sample standard deviation of ``n`` roughly normal values has
``Var(ln sd) ~ 1 / (2 (n - 1))`` (delta method), so bin ``i`` gets weight ``2 (n_i - 1)``.
The confidence interval of the slope is a percentile bootstrap over synapses with the
bins held fixed; an analytic standard error from the same weights is also returned.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neurosim.analysis import intervals
from neurosim.analysis.precision import pyplot


@dataclass(frozen=True)
class SizeBins:
    """Per-bin statistics of the size change (only bins that entered the fit).

    Attributes
    ----------
    lo, hi:
        Bin edges on the initial size (size unit).
    center:
        Geometric mean initial size of the synapses in the bin (size unit).
    std_change:
        Sample standard deviation (ddof=1) of the size change in the bin (size unit).
    count:
        Synapses in the bin.
    """

    lo: np.ndarray
    hi: np.ndarray
    center: np.ndarray
    std_change: np.ndarray
    count: np.ndarray


@dataclass(frozen=True)
class ChangeScaling:
    """Result of :func:`size_change_scaling`.

    Attributes
    ----------
    slope:
        Fitted exponent of ``std(change)`` against initial size (dimensionless).
    intercept:
        Fitted ``ln std(change)`` at size 1 (ln of the size unit).
    ci:
        Bootstrap percentile confidence interval of the slope at level ``ci_level``.
    se:
        Analytic standard error of the slope from the weighted fit.
    bins:
        The bins used in the fit.
    n_used:
        Synapses with both sizes non-zero.
    n_zero_excluded:
        Synapses excluded because a size was zero (silent at either time).
    n_unbinned:
        Non-zero synapses that fell in bins with fewer than ``min_count`` synapses or no
        change at all.
    unit:
        Unit of the sizes (for labels).
    """

    slope: float
    intercept: float
    ci: tuple[float, float]
    ci_level: float
    se: float
    bins: SizeBins
    n_used: int
    n_zero_excluded: int
    n_unbinned: int
    unit: str
    _s0: np.ndarray | None = field(default=None, repr=False, compare=False)
    _ds: np.ndarray | None = field(default=None, repr=False, compare=False)

    def markdown(self) -> str:
        """One Markdown line: slope, CI and the counts."""
        return (
            f"| slope of log std(change) vs log size = {self.slope:.3f} "
            f"({100 * self.ci_level:.0f} % CI {self.ci[0]:.3f} to {self.ci[1]:.3f}) | "
            f"{self.bins.count.size} bins, n = {self.n_used} "
            f"({self.n_zero_excluded} zero excluded) | "
            "multiplicative ~ 1 (Loewenstein 2011), additive ~ 0 |"
        )

    def plot(self, ax: Any = None, max_points: int = 4000, seed: int = 0) -> Any:
        """Size change against initial size on log-log axes, with the binned std and fit."""
        if ax is None:
            _, ax = pyplot().subplots(figsize=(5, 4))
        u = f" ({self.unit})" if self.unit else ""
        if self._s0 is not None and self._ds is not None and self._s0.size:
            idx = np.arange(self._s0.size)
            if idx.size > max_points:
                idx = np.random.default_rng(seed).choice(idx, max_points, replace=False)
            mag = np.abs(self._ds[idx])
            keep = mag > 0
            ax.scatter(self._s0[idx][keep], mag[keep], s=3, alpha=0.25, color="0.6",
                       label="|change| per synapse")
        b = self.bins
        ax.plot(b.center, b.std_change, "o", color="C0", label="std of change per bin")
        xs = np.geomspace(b.lo.min(), b.hi.max(), 50)
        ax.plot(xs, np.exp(self.intercept) * xs**self.slope, "-", color="C3",
                label=f"fit: slope {self.slope:.2f} [{self.ci[0]:.2f}, {self.ci[1]:.2f}]")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(f"initial size{u}")
        ax.set_ylabel(f"size change{u}")
        ax.legend(fontsize=7)
        return ax


def _sizes_of(x: Any, names: Any, arg: str) -> tuple[np.ndarray, str]:
    if hasattr(x, "projections") and hasattr(x, "sizes"):
        sizes = np.asarray(x.sizes(names), dtype=float)
        projs = x.projections
        keys = list(projs) if names is None else ([names] if isinstance(names, str) else names)
        units = {projs[k].unit for k in keys if k in projs}
        return sizes, (units.pop() if len(units) == 1 else "")
    try:
        return np.asarray(x, dtype=float).ravel(), ""
    except (TypeError, ValueError):
        raise ValueError(
            f"{arg}: must be a Snapshot or an array of sizes, got {type(x).__name__}"
        ) from None


def _wls(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, float, float]:
    """Weighted least squares of y = a + b x; returns (b, a, se_b) with known variances 1/w."""
    sw = w.sum()
    xm = (w * x).sum() / sw
    ym = (w * y).sum() / sw
    sxx = (w * (x - xm) ** 2).sum()
    if sxx <= 0:
        return math.nan, math.nan, math.nan
    b = float((w * (x - xm) * (y - ym)).sum() / sxx)
    a = float(ym - b * xm)
    return b, a, float(math.sqrt(1.0 / sxx))


def _bin_stats(
    idx: np.ndarray, ds: np.ndarray, ls0: np.ndarray, nb: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n = np.bincount(idx, minlength=nb).astype(float)
    s1 = np.bincount(idx, weights=ds, minlength=nb)
    s2 = np.bincount(idx, weights=ds * ds, minlength=nb)
    sl = np.bincount(idx, weights=ls0, minlength=nb)
    with np.errstate(invalid="ignore", divide="ignore"):
        var = (s2 - s1 * s1 / n) / (n - 1)
        center = np.exp(sl / n)
    return n, np.sqrt(np.clip(var, 0.0, None)), center, var


def size_change_scaling(
    before: Any,
    after: Any,
    *,
    names: str | list[str] | None = None,
    n_bins: int = 12,
    min_count: int = 30,
    n_boot: int = 200,
    ci: float = 0.95,
    seed: int = 0,
    unit: str | None = None,
) -> ChangeScaling:
    """Fit how the spread of size changes scales with size.

    Parameters
    ----------
    before, after:
        Two consecutive snapshots (:class:`neurosim.snapshot.Snapshot`) or two arrays of the
        sizes (>= 0, same unit) of the same synapses in the same order.
    names:
        Projections to use when snapshots are given (default all).
    n_bins:
        Number of log-spaced bins between the smallest and largest non-zero initial size.
    min_count:
        Minimum synapses per bin (>= 3); sparser bins are dropped.
    n_boot:
        Bootstrap resamples of the synapses for the CI (>= 20).
    ci:
        Confidence level in (0, 1).
    seed:
        Seed of the bootstrap.
    unit:
        Unit of the sizes for labels (default: the snapshots' unit, else none).

    Returns
    -------
    ChangeScaling

    Notes
    -----
    Synapses with a zero size at either time are excluded (``n_zero_excluded``): a log size
    is undefined and appearing or vanishing synapses are a different process. Bins whose
    synapses did not change at all are dropped (``ln 0``).
    """
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 3:
        raise ValueError(f"n_bins: must be an integer >= 3, got {n_bins!r}")
    if isinstance(min_count, bool) or not isinstance(min_count, (int, np.integer)) \
            or min_count < 3:
        raise ValueError(f"min_count: must be an integer >= 3, got {min_count!r}")
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 20:
        raise ValueError(f"n_boot: must be an integer >= 20, got {n_boot!r}")
    if not (0.0 < ci < 1.0):
        raise ValueError(f"ci: must lie in (0, 1), got {ci!r}")
    s0, u0 = _sizes_of(before, names, "before")
    s1, u1 = _sizes_of(after, names, "after")
    if s0.shape != s1.shape:
        raise ValueError(
            f"before, after: must hold the same synapses, got {s0.size} and {s1.size} sizes"
        )
    for arr, arg in ((s0, "before"), (s1, "after")):
        if arr.size and not np.all(np.isfinite(arr)):
            raise ValueError(f"{arg}: sizes must be finite, got NaN or inf")
        if arr.size and np.any(arr < 0):
            raise ValueError(f"{arg}: sizes must be >= 0 (pass abs(w)), got min {arr.min():g}")
    unit = unit if unit is not None else (u0 or u1)
    keep = (s0 > 0) & (s1 > 0)
    n_zero = int(s0.size - np.count_nonzero(keep))
    s0k, ds = s0[keep], (s1 - s0)[keep]
    if s0k.size < 3 * min_count:
        raise ValueError(
            f"before: need at least {3 * min_count} synapses with non-zero sizes, got {s0k.size}"
        )
    ls0 = np.log(s0k)
    lo, hi = float(ls0.min()), float(ls0.max())
    if hi - lo <= 1e-12:
        raise ValueError("before: all non-zero initial sizes are equal; no size range to fit")
    edges = np.linspace(lo, hi, n_bins + 1)
    idx = np.clip(np.searchsorted(edges, ls0, side="right") - 1, 0, n_bins - 1)
    n, sd, center, _ = _bin_stats(idx, ds, ls0, n_bins)
    good = (n >= min_count) & (sd > 0) & np.isfinite(sd)
    if np.count_nonzero(good) < 3:
        raise ValueError(
            f"min_count: fewer than 3 bins hold >= {min_count} changing synapses "
            f"({np.count_nonzero(good)}); lower min_count or n_bins, or give more synapses"
        )
    x, y, w = np.log(center[good]), np.log(sd[good]), 2.0 * (n[good] - 1.0)
    slope, intercept, se = _wls(x, y, w)

    rng = np.random.default_rng(seed)
    boots = np.empty(n_boot)
    m = s0k.size
    for k in range(n_boot):
        r = rng.integers(0, m, m)
        nb_, sdb, cb, _ = _bin_stats(idx[r], ds[r], ls0[r], n_bins)
        g = good & (nb_ >= 3) & (sdb > 0) & np.isfinite(sdb)
        if np.count_nonzero(g) < 3:
            boots[k] = np.nan
            continue
        boots[k] = _wls(np.log(cb[g]), np.log(sdb[g]), 2.0 * (nb_[g] - 1.0))[0]
    ci_t = intervals.percentile(boots, ci)

    bins = SizeBins(
        lo=np.exp(edges[:-1][good]),
        hi=np.exp(edges[1:][good]),
        center=center[good],
        std_change=sd[good],
        count=n[good].astype(np.int64),
    )
    return ChangeScaling(
        slope=slope,
        intercept=intercept,
        ci=ci_t,
        ci_level=float(ci),
        se=se,
        bins=bins,
        n_used=int(m),
        n_zero_excluded=n_zero,
        n_unbinned=int(m - bins.count.sum()),
        unit=unit,
        _s0=s0k,
        _ds=ds,
    )
