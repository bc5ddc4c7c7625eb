"""Estimation on one sample: sizes (continuous) or levels on a grid (binned), fitted by a family.

The pieces :mod:`neurosim.analysis.fits` and :mod:`neurosim.analysis.selection` build on:
:class:`Data` (the sample), :func:`fit` (maximum likelihood: the family's own fit for
continuous sizes; the binned likelihood ``sum_k n_k ln q_k(theta)`` over grid levels,
maximised numerically, for gridded ones), :func:`pointwise` log-likelihoods,
:func:`ks` statistics, and :func:`simulate` / :func:`resample` for parametric and
nonparametric bootstraps.

Binned data (:func:`level_model`): ``q_k`` is the probability the continuous family
gives level ``k`` after rounding onto the grid. Two choices shape it:

* **the end levels**: ``ends="censored"`` keeps them open (level 0 absorbs all mass
  below, the top level all above); ``ends="point-mass"`` takes the synapses on the
  end levels out of the family's part (they are two point masses, estimated by their
  counts and reported apart) and fits the family to the interior levels, conditioned
  on being interior. Saturation piles synapses on the end levels; without this a
  mixture wins by putting a component on the pile.
* **a floor on log-size spreads**: ``sigma`` of a log-normal and of each mixture
  component is at least one level (the grid cannot resolve less), so no component
  collapses onto a single level.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from neurosim.analysis import families as F
from neurosim.analysis.families import Fitted, level_probabilities
from neurosim.lns import LogGrid

__all__ = ["Data", "continuous", "fit", "fit_binned", "fit_continuous", "ks", "level_model", "pointwise", "resample",
           "simulate"]

_BIG = 1e300  # objective value outside the model's support


@dataclass
class Data:
    """Positive sizes (continuous) or level codes on a grid (binned)."""

    x: np.ndarray | None = None  # sorted positive sizes
    lx: np.ndarray | None = None  # ln x
    levels: np.ndarray | None = None  # level code per observation (binned)
    grid: LogGrid | None = None
    rounding: str = "nearest"
    ends: str = "censored"  # binned: "censored" (open end levels) or "point-mass" (interior levels only)

    @property
    def sigma_floor(self) -> float:
        """The smallest log-size spread a binned fit allows: one level (0 for continuous data)."""
        return self.grid.step if self.binned else 0.0

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


def level_model(name: str, p: dict[str, float], d: Data) -> np.ndarray:
    """The model's probability of each grid level for data ``d`` (its end handling applied).

    ``ends="censored"``: :func:`~neurosim.analysis.families.level_probabilities` (open end
    levels). ``ends="point-mass"``: 0 on the end levels, the interior renormalised.
    """
    q = level_probabilities(name, p, d.grid, d.rounding)
    if d.ends == "point-mass":
        q = q.copy()
        q[0] = q[-1] = 0.0
        total = q.sum()
        q = q / total if total > 0 else q
    return q


#: BFGS stopped by precision loss is accepted when no partial derivative of the negative
#: log-likelihood (the score) exceeds this fraction of ``sqrt(n)``, the score's scale: the
#: point is then within about this many standard errors of the optimum.
STATIONARY_SCORE = 1e-2


def fit_binned(name: str, d: Data) -> Fitted:
    """Maximum binned likelihood of family ``name`` on gridded data (BFGS, then Nelder-Mead if needed)."""
    counts = d.counts()
    occ = counts > 0
    if occ.sum() < 2:
        raise ValueError("sizes: all values sit on one grid level; cannot fit")
    fam = F.family(name)
    floor = d.sigma_floor
    start = fam.binned_start(d.grid, d.levels)
    c = counts[occ].astype(np.float64)

    def nll(v: np.ndarray) -> float:
        try:
            q = level_model(name, fam.from_vec(v, floor), d)[occ]
        except (ValueError, OverflowError, ZeroDivisionError):
            return _BIG
        if not fam.valid_vec(v) or np.any(q <= 0):
            return _BIG
        return -float(np.dot(c, np.log(q)))

    v0 = fam.to_vec(start, floor)
    best, method = None, ""
    if fam.smooth:  # smooth in its parameters: quasi-Newton is fastest
        best, method = optimize.minimize(nll, v0, method="BFGS", options={"gtol": 1e-6}), "BFGS"
        if not np.isfinite(best.fun):
            best = None
        elif not best.success and "precision loss" in str(best.message) and \
                np.max(np.abs(best.jac)) <= STATIONARY_SCORE * np.sqrt(c.sum()):
            # a line search that cannot improve where the score is a small fraction of its own
            # standard deviation (~sqrt(n)) sits within a small fraction of a standard error of the optimum
            best.success = True
            best.message = f"stationary (max |score| {np.max(np.abs(best.jac)):.2g}; precision loss)"
    if best is None or not best.success:
        res = optimize.minimize(
            nll, v0 if best is None else best.x, method="Nelder-Mead",
            options={"xatol": 1e-6, "fatol": 1e-7, "maxiter": 400 * v0.size, "maxfev": 1000 * v0.size},
        )
        if best is None or res.fun <= best.fun:
            best, method = res, "Nelder-Mead"
    return Fitted(fam.from_vec(best.x, floor), -float(best.fun), bool(best.success), f"{method}: {best.message}")


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
            return np.log(level_model(name, p, d))[d.levels]
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        return F.family(name).logpdf(p, d.x, d.lx)


def ks(name: str, p: dict[str, float], d: Data) -> float:
    """Kolmogorov-Smirnov statistic of ``d`` against the fitted model (binned: over the levels)."""
    if d.binned:
        model = np.cumsum(level_model(name, p, d))
        emp = np.cumsum(d.counts()) / d.n
        return float(np.max(np.abs(emp - model)[:-1]))
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        cdf = F.family(name).cdf(p, d.x)
    n = d.x.size
    i = np.arange(1, n + 1)
    return float(max(np.max(i / n - cdf), np.max(cdf - (i - 1) / n)))


def simulate(name: str, p: dict[str, float], d: Data, rng: np.random.Generator) -> Data:
    """A sample of ``d``'s size (and grid) drawn from the fitted model (parametric bootstrap)."""
    if d.binned:
        q = level_model(name, p, d)
        levels = rng.choice(d.grid.levels, size=d.n, p=q / q.sum())
        return Data(levels=levels, grid=d.grid, rounding=d.rounding, ends=d.ends)
    return continuous(F.family(name).rvs(p, d.n, rng))


def resample(d: Data, rng: np.random.Generator) -> Data:
    """``d`` resampled with replacement (nonparametric bootstrap)."""
    idx = rng.integers(0, d.n, d.n)
    if d.binned:
        return Data(levels=d.levels[idx], grid=d.grid, rounding=d.rounding, ends=d.ends)
    return continuous(d.x[idx])


