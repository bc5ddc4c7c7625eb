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

from neurosim import validate as V
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
    n_bins = V.integer("n_bins", n_bins, ge=3)
    min_count = V.integer("min_count", min_count, ge=3)
    n_boot = V.integer("n_boot", n_boot, ge=20)
    ci = V.real("ci", ci, gt=0.0, lt=1.0)
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

    def replicate(r: np.ndarray) -> float:
        nb_, sdb, cb, _ = _bin_stats(idx[r], ds[r], ls0[r], n_bins)
        g = good & (nb_ >= 3) & (sdb > 0) & np.isfinite(sdb)
        if np.count_nonzero(g) < 3:
            return math.nan
        return _wls(np.log(cb[g]), np.log(sdb[g]), 2.0 * (nb_[g] - 1.0))[0]

    _, ci_t = intervals.bootstrap(replicate, s0k.size, n_boot, np.random.default_rng(seed), ci)

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
        n_used=int(s0k.size),
        n_zero_excluded=n_zero,
        n_unbinned=int(s0k.size - bins.count.sum()),
        unit=unit,
        _s0=s0k,
        _ds=ds,
    )


# ======================================================= changes at every interval
#: The headline interval is this fraction of the synapses' turnover time (see :func:`interval_scaling`).
HEADLINE_FRACTION = 0.1
#: Pairs whose first size lies within this many change SDs of a bound are left out of slope and drift.
BOUND_MARGIN = 3.0


@dataclass(frozen=True)
class IntervalRow:
    """Size changes over one interval (see :func:`interval_scaling`).

    ``slope`` (with ``ci``): of ln std(change) against ln size, as :func:`size_change_scaling`;
    ``drift`` (with ``drift_ci``): of the mean change of ln size against ln size (< 0: changes
    pull sizes back towards a typical size, the mean reversion that makes a log-normal
    steady state; 0: a free random walk in log size); ``correlation``: of ln size at the
    two times (all synapses); ``moved``: the fraction of synapses whose size changed.
    """

    interval: float
    n_pairs: int
    n_excluded: int
    slope: float
    ci: tuple[float, float]
    drift: float
    drift_ci: tuple[float, float]
    correlation: float
    moved: float


@dataclass
class IntervalScaling:
    """Size changes of one projection at intervals from one update to the whole run."""

    unit: str
    rows: list[IntervalRow]
    turnover: float | None
    turnover_reached: bool
    headline: IntervalRow | None
    note: str = ""

    def row(self, interval: float) -> IntervalRow | None:
        """The row measured at ``interval`` (or ``None``)."""
        return next((r for r in self.rows if r.interval == interval), None)

    def summary(self) -> dict[str, Any]:
        """JSON-able numbers, the headline first."""
        def num(x: float) -> float | None:
            return float(x) if x is not None and math.isfinite(x) else None

        def row(r: IntervalRow) -> dict[str, Any]:
            return {"interval": r.interval, "n_pairs": r.n_pairs, "n_excluded": r.n_excluded,
                    "slope": num(r.slope), "ci": [num(r.ci[0]), num(r.ci[1])], "drift": num(r.drift),
                    "drift_ci": [num(r.drift_ci[0]), num(r.drift_ci[1])], "correlation": num(r.correlation),
                    "moved": num(r.moved)}

        return {"unit": self.unit, "turnover": num(self.turnover), "turnover_reached": self.turnover_reached,
                "headline_fraction": HEADLINE_FRACTION, "headline": None if self.headline is None
                else row(self.headline), "rows": [row(r) for r in self.rows], "note": self.note}


def _intervals(n_times: int) -> list[int]:
    ks = {1}
    k = 1
    while k < n_times - 1:
        k *= 2
        ks.add(min(k, n_times - 1))
    return sorted(k for k in ks if 1 <= k <= n_times - 1)


def _drift(l0: np.ndarray, l1: np.ndarray, n_boot: int, rng: np.random.Generator) -> tuple[float, tuple]:
    d = l1 - l0
    if l0.size < 10 or not l0.std() > 0:
        return math.nan, (math.nan, math.nan)
    b = float(np.polyfit(l0, d, 1)[0])
    _, ci = intervals.bootstrap(lambda r: np.polyfit(l0[r], d[r], 1)[0] if l0[r].std() > 0 else math.nan,
                                l0.size, n_boot, rng)
    return b, ci


def interval_scaling(time: np.ndarray, size: np.ndarray, *, at_bound: np.ndarray | None = None,
                     bounds: tuple[float, float] | None = None, unit: str = "", n_boot: int = 100,
                     max_pairs: int = 20_000, seed: int = 0) -> IntervalScaling:
    """Size changes at intervals from one recorded update to the whole record.

    Parameters
    ----------
    time, size:
        ``(T,)`` times (steps or seconds) and ``(T, n)`` sizes of the same ``n`` synapses
        (a :class:`neurosim.traces.ProjectionTrace`, or snapshots stacked).
    at_bound:
        ``(T, n)``: which synapses sit on a bound (an end level of a grid, a clip) at each
        time. Pairs with a bound at either time are excluded from slope and drift and counted.
    bounds:
        ``(lo, hi)`` sizes the rule cannot leave (``lo = 0`` for none below). Pairs whose first
        size lies within :data:`BOUND_MARGIN` change SDs (of ln size, at that interval) of a
        bound are left out too: near a bound, changes are truncated and a free walk would
        look mean-reverting.
    n_boot, max_pairs, seed:
        Bootstrap resamples (over pairs) of slope and drift; at most ``max_pairs`` pairs per
        interval (time origins spread over the record, synapses all).

    The turnover time is the interval at which the correlation of ln size between the two
    times falls to 1/e (log-interpolated); the headline row is the measured interval nearest
    :data:`HEADLINE_FRACTION` of it. The reasoning: Loewenstein, Kuras & Rumpel (2011)
    measured size changes between imaging sessions days apart, on synapses whose sizes change
    on timescales of days to months (their abstract); an interval of about a tenth of the
    turnover time is our reading of that relation (their numbers were not checked). If the
    correlation never falls to 1/e, the turnover is longer than the record and the headline
    is a tenth of the record.
    """
    time = np.asarray(time, dtype=np.float64)
    size = np.asarray(size, dtype=np.float64)
    T = time.size
    if size.ndim != 2 or size.shape[0] != T or T < 2:
        raise ValueError(f"size: must be (T, n) with T = len(time) >= 2, got {size.shape} and T = {T}")
    rng = np.random.default_rng(seed)
    lo_b, hi_b = (None, None) if bounds is None else bounds
    rows, note = [], ""
    for k in _intervals(T):
        origins = np.arange(T - k)
        per = max(1, max_pairs // max(size.shape[1], 1))
        if origins.size > per:
            origins = origins[np.linspace(0, origins.size - 1, per).round().astype(int)]
        s0, s1 = size[origins].ravel(), size[origins + k].ravel()
        both = (s0 > 0) & (s1 > 0)
        corr = float(np.corrcoef(np.log(s0[both]), np.log(s1[both]))[0, 1]) if both.sum() > 2 else math.nan
        moved = float(np.mean(s0 != s1))
        keep = both.copy()
        if at_bound is not None:
            keep &= ~(at_bound[origins].ravel() | at_bound[origins + k].ravel())
        l0, l1 = np.log(s0[keep]), np.log(s1[keep])
        sd = float(np.std(l1 - l0)) if l0.size > 1 else 0.0
        if sd > 0 and (hi_b is not None or (lo_b or 0) > 0):
            far = np.ones(l0.size, dtype=bool)
            if hi_b is not None and math.isfinite(hi_b):
                far &= l0 <= math.log(hi_b) - BOUND_MARGIN * sd
            if lo_b is not None and lo_b > 0:
                far &= l0 >= math.log(lo_b) + BOUND_MARGIN * sd
            l0, l1 = l0[far], l1[far]
        n_excl = int(s0.size - l0.size)
        slope, ci = math.nan, (math.nan, math.nan)
        for n_bins, min_count in ((12, 30), (6, 10)):
            try:
                res = size_change_scaling(np.exp(l0), np.exp(l1), n_bins=n_bins, min_count=min_count,
                                          n_boot=max(20, n_boot), seed=seed)
                slope, ci = res.slope, res.ci
                break
            except ValueError:
                continue
        drift, drift_ci = _drift(l0, l1, n_boot, rng)
        rows.append(IntervalRow(float(time[k] - time[0]), int(l0.size), n_excl, slope, ci, drift, drift_ci,
                                corr, moved))
    turnover, reached = _turnover(rows)
    target = (turnover if reached else float(time[-1] - time[0])) * HEADLINE_FRACTION
    measured = [r for r in rows if math.isfinite(r.slope)]
    headline = min(measured, key=lambda r: abs(math.log(r.interval / target))) if measured and target > 0 else None
    if not reached:
        note = (f"the correlation of ln size stays above 1/e over the whole record: turnover is longer than "
                f"{time[-1] - time[0]:g} {unit or 'time units'}; headline at a tenth of the record")
    return IntervalScaling(unit, rows, turnover, reached, headline, note)


def _turnover(rows: list[IntervalRow]) -> tuple[float | None, bool]:
    """The interval at which the correlation falls to 1/e (log-interpolated), and whether it does."""
    target = math.exp(-1.0)
    pts = [(r.interval, r.correlation) for r in rows if math.isfinite(r.correlation)]
    for (i0, c0), (i1, c1) in zip(pts, pts[1:], strict=False):
        if c0 > target >= c1:
            f = (c0 - target) / (c0 - c1)
            return float(math.exp(math.log(i0) + f * (math.log(i1) - math.log(i0)))), True
    if pts and pts[0][1] <= target:
        return pts[0][0], True
    return (pts[-1][0] if pts else None), False
