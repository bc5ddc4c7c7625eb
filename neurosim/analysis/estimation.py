"""Estimation on one sample: sizes (continuous) or levels on a grid (binned), fitted by a family.

The pieces :mod:`neurosim.analysis.fits` and :mod:`neurosim.analysis.selection` build on:
:class:`Data` (the sample), :func:`fit` (maximum likelihood: the family's own fit for
continuous sizes; the binned likelihood ``sum_k n_k ln p_k(theta)`` over grid levels,
maximised numerically, for gridded ones), :func:`pointwise` log-likelihoods,
:func:`ks` statistics, and :func:`simulate` / :func:`resample` for parametric and
nonparametric bootstraps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from neurosim.analysis import families as F
from neurosim.analysis.families import Fitted, level_probabilities
from neurosim.lns import LogGrid

__all__ = ["Data", "continuous", "fit", "fit_binned", "fit_continuous", "ks", "pointwise", "resample", "simulate"]

_BIG = 1e300  # objective value outside the model's support


@dataclass
class Data:
    """Positive sizes (continuous) or level codes on a grid (binned)."""

    x: np.ndarray | None = None  # sorted positive sizes
    lx: np.ndarray | None = None  # ln x
    levels: np.ndarray | None = None  # level code per observation (binned)
    grid: LogGrid | None = None
    rounding: str = "nearest"

    @property
    def binned(self) -> bool:
        return self.grid is not None

    @property
    def n(self) -> int:
        return int(self.levels.size if self.binned else self.x.size)

    def counts(self) -> np.ndarray:
        return np.bincount(self.levels, minlength=self.grid.levels)

    def log_sizes(self) -> np.ndarray:
        if self.binned:
            return np.log(self.grid.sizes())[self.levels]
        return self.lx


def continuous(x: np.ndarray) -> Data:
    """Positive sizes as continuous :class:`Data` (sorted, with their logs)."""
    x = np.sort(np.asarray(x, dtype=np.float64))
    return Data(x=x, lx=np.log(x))


def fit_binned(name: str, d: Data) -> Fitted:
    """Maximum binned likelihood of family ``name`` on gridded data (BFGS, then Nelder-Mead if needed)."""
    grid = d.grid
    counts = d.counts()
    occ = counts > 0
    if occ.sum() < 2:
        raise ValueError("sizes: all values sit on one grid level; cannot fit")
    fam = F.family(name)
    start = fam.binned_start(grid, d.levels)
    c = counts[occ].astype(np.float64)

    def nll(v: np.ndarray) -> float:
        try:
            p = level_probabilities(name, fam.from_vec(v), grid, d.rounding)[occ]
        except (ValueError, OverflowError, ZeroDivisionError):
            return _BIG
        if not fam.valid_vec(v):
            return _BIG
        if np.any(p <= 0):
            return _BIG
        return -float(np.dot(c, np.log(p)))

    v0 = fam.to_vec(start)
    best, method = None, ""
    if fam.smooth:  # smooth in its parameters: quasi-Newton is fastest
        best, method = optimize.minimize(nll, v0, method="BFGS", options={"gtol": 1e-6}), "BFGS"
        if not np.isfinite(best.fun):
            best = None
    if best is None or not best.success:
        res = optimize.minimize(
            nll, v0 if best is None else best.x, method="Nelder-Mead",
            options={"xatol": 1e-7, "fatol": 1e-10, "maxiter": 2000 * v0.size},
        )
        if best is None or res.fun <= best.fun:
            best, method = res, "Nelder-Mead"
    return Fitted(fam.from_vec(best.x), -float(best.fun), bool(best.success), f"{method}: {best.message}")


def fit_continuous(name: str, d: Data) -> Fitted:
    """ML parameters and log-likelihood (size space) of one family."""
    return F.family(name).fit(d.x, d.lx)


def fit(name: str, d: Data) -> Fitted:
    """Maximum-likelihood fit of family ``name`` (binned or continuous, as ``d`` is)."""
    return fit_binned(name, d) if d.binned else fit_continuous(name, d)


def pointwise(name: str, p: dict[str, float], d: Data) -> np.ndarray:
    """Per-observation log-likelihood (log density, or log level probability)."""
    if d.binned:
        with np.errstate(divide="ignore"):
            return np.log(level_probabilities(name, p, d.grid, d.rounding))[d.levels]
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        return F.family(name).logpdf(p, d.x, d.lx)


def ks(name: str, p: dict[str, float], d: Data) -> float:
    """Kolmogorov-Smirnov statistic of ``d`` against the fitted model (binned: over the levels)."""
    if d.binned:
        model = np.cumsum(level_probabilities(name, p, d.grid, d.rounding))
        emp = np.cumsum(d.counts()) / d.n
        return float(np.max(np.abs(emp - model)[:-1]))
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        cdf = F.family(name).cdf(p, d.x)
    n = d.x.size
    i = np.arange(1, n + 1)
    return float(max(np.max(i / n - cdf), np.max(cdf - (i - 1) / n)))


def simulate(name: str, p: dict[str, float], d: Data, rng: np.random.Generator) -> Data:
    """A sample of ``d``'s size (and grid) drawn from the fitted model (parametric bootstrap)."""
    x = F.family(name).rvs(p, d.n, rng)
    if d.binned:
        return Data(levels=d.grid.encode(x, d.rounding, generator=rng), grid=d.grid,
                     rounding=d.rounding)
    return continuous(x)


def resample(d: Data, rng: np.random.Generator) -> Data:
    """``d`` resampled with replacement (nonparametric bootstrap)."""
    idx = rng.integers(0, d.n, d.n)
    if d.binned:
        return Data(levels=d.levels[idx], grid=d.grid, rounding=d.rounding)
    return continuous(d.x[idx])


