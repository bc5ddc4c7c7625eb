"""Fits of synapse-size distributions and comparison of the candidate models.

:func:`fit_sizes` fits several families to positive sizes (any unit) by maximum
likelihood and returns a :class:`FitReport` with log-likelihoods, AIC, BIC and
Kolmogorov-Smirnov statistics, model comparison tests, bootstrap intervals and a
Markdown table.

The families, their parameters and how each is estimated are in
:mod:`neurosim.analysis.families` (one class per family, in a registry). Every fit
reports ``success`` and ``message`` (a closed form, a root finder that converged, an
EM that stopped at its iteration cap, an optimiser's own message), as
:func:`scipy.stats.fit` does.

Zeros (synapses silenced by an additive rule) are a separate part of a hurdle
model: the report counts them (``n_zero``, ``silent_fraction``) and the families
are fitted to the positive sizes only. The Bernoulli part is the same for every
family, so it does not change any comparison; log-likelihoods, AIC and BIC refer to
the positive part.

Gridded sizes (``grid=LogGrid(...)``) are discrete levels; they are fitted by the
*binned* likelihood ``sum_k n_k ln p_k(theta)``, where ``p_k`` is the probability the
continuous model gives level ``k`` after rounding onto the grid:

* ``rounding="nearest"``: level ``k`` owns the interval between its log-midpoints
  with the neighbours;
* ``rounding="stochastic"``: mass at continuous level position ``x`` goes to
  ``floor(x)`` with weight ``1 - frac(x)`` and to ``floor(x) + 1`` with weight
  ``frac(x)`` (a triangular kernel). With ``D_k = int_k^{k+1} F(x) dx`` (``F`` the
  model CDF in level position; 16-point Gauss-Legendre per level) this gives
  ``p_0 = D_0``, ``p_k = D_k - D_{k-1}``, ``p_{L-1} = 1 - D_{L-2}``.

The end levels are open in both cases (level 0 owns everything below, the top
level everything above), because saturation piles mass there. The binned fits
maximise with Nelder-Mead from the continuous fit of the decoded sizes; the KS
statistic is then the largest gap between the empirical and the model CDF over
the levels.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import special, stats

from neurosim import validate as V
from neurosim.analysis import estimation as E
from neurosim.analysis import families as F
from neurosim.analysis import intervals
from neurosim.analysis.families import (
    FAMILIES,
    PARAM_NAMES,
    density_per_log_size,
    level_probabilities,
    ppf,
)
from neurosim.lns import ROUNDINGS, LogGrid
from neurosim.markdown import table

#: Nested pairs ``(null, alternative)``: the null is a special case of the alternative.
NESTED: tuple[tuple[str, str], ...] = (
    ("lognorm", "lognorm_mix2"),
    ("expon", "gamma"),
    ("expon", "weibull_min"),
)

MIN_POSITIVE = 20
#: Positive sizes must lie in ``[SIZE_RANGE[0], SIZE_RANGE[1]]`` (any unit): beyond, sums of
#: squares in the fits overflow or underflow float64. Rescale (choose another unit) outside it.
SIZE_RANGE = (1e-100, 1e100)


# ================================================================ results
@dataclass
class FamilyFit:
    """One family's maximum-likelihood fit.

    Attributes
    ----------
    family:
        Family name (see :data:`FAMILIES`).
    params:
        Fitted parameters (names in :data:`PARAM_NAMES`; sizes in the data's unit,
        ``mu``/``sigma`` of the natural log of size).
    loglik:
        Maximised log-likelihood of the positive sizes (binned: of the levels).
    aic, bic:
        ``2k - 2 loglik`` and ``k ln n - 2 loglik`` (Akaike 1974; Schwarz 1978).
    ks:
        Kolmogorov-Smirnov statistic against the fitted CDF (binned: the
        discretised CDF over levels).
    n_params:
        Number of free parameters ``k``.
    gof_pvalue:
        Monte Carlo goodness-of-fit p value, once :meth:`FitReport.gof` ran.
    success, message:
        Whether the estimate converged, and how (a closed form, a root finder, an EM
        that stopped at its iteration cap, an optimiser's message), as
        :func:`scipy.stats.fit` reports.
    """

    family: str
    params: dict[str, float]
    loglik: float
    aic: float
    bic: float
    ks: float
    n_params: int
    gof_pvalue: float | None = None
    success: bool = True
    message: str = ""


@dataclass
class Comparison:
    """Result of :meth:`FitReport.compare`.

    ``test`` is ``"vuong"`` (non-nested; ``statistic`` is Vuong's z) or
    ``"lr-bootstrap"`` (nested; ``statistic`` is ``2 (loglik_alt - loglik_null)``).
    ``favoured`` is the family the test prefers at level ``alpha`` (``None`` when a
    Vuong test cannot tell them apart; the simpler family when a nested test does
    not reject it).
    """

    a: str
    b: str
    test: str
    statistic: float
    pvalue: float
    favoured: str | None
    n_boot: int | None = None


@dataclass
class FitReport:
    """All family fits of one sample of sizes (see :func:`fit_sizes`)."""

    results: dict[str, FamilyFit]
    n: int
    n_zero: int
    binned: bool = False
    grid: LogGrid | None = None
    rounding: str | None = None
    unit: str = "a.u."
    point_masses: dict[str, int] = field(default_factory=dict)
    ends: str = "censored"
    _data: E.Data | None = field(default=None, repr=False)

    @property
    def data(self) -> E.Data | None:
        """The sizes the families were fitted to (log sizes, bins and point masses; see
        :class:`neurosim.analysis.estimation.Data`)."""
        return self._data

    @property
    def n_positive(self) -> int:
        """Number of positive sizes (point masses included)."""
        return self.n - self.n_zero

    @property
    def n_fitted(self) -> int:
        """Number of sizes the families are fitted to (positive, off the point masses)."""
        return self._data.n

    @property
    def silent_fraction(self) -> float:
        """Fraction of sizes that are exactly 0 (silent synapses)."""
        return self.n_zero / self.n if self.n else 0.0

    @property
    def best(self) -> str:
        """Family with the lowest AIC."""
        return min(self.results, key=lambda k: self.results[k].aic)

    def positive_sizes(self) -> np.ndarray:
        """The positive sizes fitted (decoded level sizes when binned), sorted."""
        d = self._data
        return np.exp(np.sort(d.log_sizes()))

    def levels(self) -> np.ndarray | None:
        """Level codes of the positive sizes (binned fits), else ``None``."""
        return None if self._data is None else self._data.levels

    def _need(self, family: str) -> FamilyFit:
        F.family(family)
        if family not in self.results:
            fitted = ", ".join(self.results)
            raise ValueError(f"family: {family!r} was not fitted; fitted: {fitted}")
        return self.results[family]

    # ---------------------------------------------------------- comparison
    def compare(
        self, a: str, b: str, n_boot: int = 99, alpha: float = 0.05, seed: int = 0
    ) -> Comparison:
        """Compare two fitted families.

        Non-nested pairs: Vuong's normalised log-likelihood ratio
        ``z = sum(l_i) / (sqrt(n) * sd(l_i))`` with ``l_i = ln f_a(x_i) - ln f_b(x_i)``,
        asymptotically standard normal when both fit equally well; two-sided p
        (Vuong 1989, Econometrica 57:307, eq. 5.6 without the parameter
        correction). ``z > 0`` favours ``a``.

        Nested pairs (``lognorm`` in ``lognorm_mix2``; ``expon`` in ``gamma`` and in
        ``weibull_min``): likelihood ratio ``LR = 2 (loglik_alt - loglik_null)`` with
        a parametric-bootstrap p value (McLachlan 1987, Appl. Stat. 36:318):
        ``n_boot`` samples of the same size are drawn from the fitted null, both
        families refitted, and ``p = (1 + #{LR_b >= LR}) / (n_boot + 1)``. The
        bootstrap is used because the mixture's LR has no chi-square limit. The
        default ``n_boot=99`` resolves p down to 0.01; raise it for smaller p.

        Parameters
        ----------
        a, b:
            Family names (both fitted).
        n_boot:
            Bootstrap replicates for nested pairs (>= 1).
        alpha:
            Level used to name the favoured family, in (0, 1).
        seed:
            Seed of the bootstrap.
        """
        fa, fb = self._need(a), self._need(b)
        if a == b:
            raise ValueError(f"b: must differ from a, got {b!r} twice")
        alpha = V.real("alpha", alpha, gt=0.0, lt=1.0)
        d = self._data
        pair = (a, b) if (a, b) in NESTED else (b, a) if (b, a) in NESTED else None
        if pair is None:
            la = E.pointwise(a, fa.params, d)
            lb = E.pointwise(b, fb.params, d)
            with np.errstate(invalid="ignore"):
                diff = la - lb
            if not np.all(np.isfinite(diff)):
                # a model gives zero likelihood to some observation: it loses outright
                za, zb = np.isneginf(la).sum(), np.isneginf(lb).sum()
                fav = a if za < zb else b if zb < za else None
                z = math.inf if fav == a else -math.inf if fav == b else 0.0
                return Comparison(a, b, "vuong", z, 0.0 if fav else 1.0, fav)
            sd = float(diff.std())
            z = float(diff.sum()) / (math.sqrt(diff.size) * sd) if sd > 0 else 0.0
            pval = float(2.0 * special.ndtr(-abs(z)))
            fav = (a if z > 0 else b) if pval < alpha else None
            return Comparison(a, b, "vuong", z, pval, fav)
        n_boot = V.integer("n_boot", n_boot, ge=1)
        null, alt = pair
        lr = max(0.0, 2.0 * (self.results[alt].loglik - self.results[null].loglik))
        rng = np.random.default_rng(seed)
        hits = 0
        for _ in range(int(n_boot)):
            sim = E.simulate(null, self.results[null].params, d, rng)
            lr_b = 2.0 * (E.fit(alt, sim).loglik - E.fit(null, sim).loglik)
            hits += lr_b >= lr - 1e-9 * max(1.0, abs(lr))
        pval = (1 + hits) / (n_boot + 1)
        return Comparison(a, b, "lr-bootstrap", lr, pval, alt if pval < alpha else null,
                          int(n_boot))

    def bootstrap_ci(
        self,
        param: str,
        family: str | None = None,
        n_boot: int = 200,
        level: float = 0.95,
        seed: int = 0,
    ) -> tuple[float, float]:
        """Percentile bootstrap interval of one parameter (Efron & Tibshirani 1993, ch. 13).

        The positive sizes (or levels) are resampled with replacement ``n_boot``
        times and the family refitted each time.

        Parameters
        ----------
        param:
            Parameter name of ``family`` (see :data:`PARAM_NAMES`).
        family:
            Fitted family; default :attr:`best`.
        n_boot:
            Resamples (>= 10).
        level:
            Coverage in (0, 1).
        seed:
            Seed of the resampling.

        Returns
        -------
        (low, high)
            Interval in the parameter's unit.
        """
        family = self.best if family is None else family
        self._need(family)
        if param not in PARAM_NAMES[family]:
            raise ValueError(
                f"param: {family} has no {param!r}; allowed: {', '.join(PARAM_NAMES[family])}"
            )
        n_boot = V.integer("n_boot", n_boot, ge=10)
        level = V.real("level", level, gt=0.0, lt=1.0)
        rng = np.random.default_rng(seed)
        vals = np.array(
            [E.fit(family, E.resample(self._data, rng)).params[param] for _ in range(int(n_boot))]
        )
        return intervals.percentile(vals, level)

    def gof(self, family: str | None = None, n_mc: int = 99, seed: int = 0) -> float:
        """Monte Carlo goodness-of-fit p value of the KS statistic (parametric bootstrap).

        Samples of the same size are drawn from the fitted model, refitted, and
        their KS statistics compared with the observed one; ``p = (1 + #{KS_b >=
        KS}) / (n_mc + 1)`` (Stute, Gonzalez Manteiga & Presedo Quindimil 1993,
        Test 2:113). This is what :func:`scipy.stats.goodness_of_fit` does for the
        KS statistic, here with the fast fitters above and also for the mixture and
        for binned fits. The p value is stored in ``results[family].gof_pvalue``.
        """
        family = self.best if family is None else family
        fit = self._need(family)
        n_mc = V.integer("n_mc", n_mc, ge=1)
        rng = np.random.default_rng(seed)
        hits = 0
        for _ in range(int(n_mc)):
            sim = E.simulate(family, fit.params, self._data, rng)
            p_b = E.fit(family, sim).params
            hits += E.ks(family, p_b, sim) >= fit.ks
        fit.gof_pvalue = (1 + hits) / (n_mc + 1)
        return fit.gof_pvalue

    # -------------------------------------------------------------- output
    def table(self) -> str:
        """Markdown table: family, parameters, loglik, AIC, dAIC, BIC, KS, converged (sorted by AIC)."""
        best_aic = self.results[self.best].aic
        show_gof = any(r.gof_pvalue is not None for r in self.results.values())
        head = ["family", "parameters", "loglik", "AIC", "dAIC", "BIC", "KS", "converged"] + (
            ["GoF p"] if show_gof else [])
        rows = []
        for r in sorted(self.results.values(), key=lambda r: r.aic):
            row = [r.family, ", ".join(f"{k}={v:.4g}" for k, v in r.params.items()), f"{r.loglik:.2f}",
                   f"{r.aic:.2f}", f"{r.aic - best_aic:.2f}", f"{r.bic:.2f}", f"{r.ks:.4f}",
                   "yes" if r.success else f"no ({r.message})"]
            if show_gof:
                row.append(None if r.gof_pvalue is None else f"{r.gof_pvalue:.3g}")
            rows.append(row)
        lines = [table(head, rows),
                 f"n = {self.n} sizes ({self.unit}); silent (size 0): {self.n_zero} "
                 f"(silent fraction {self.silent_fraction:.4f}); fitted to {self.n_fitted} positive sizes. "
                 f"Best by AIC: {self.best}."]
        if self.point_masses:
            n_pos = max(self.n_positive, 1)
            shown = ", ".join(f"{k}: {v} ({100 * v / n_pos:.1f} %)" for k, v in self.point_masses.items())
            lines.append(f"Point masses, left out of the family fits and counted as one parameter each in AIC "
                         f"and BIC: {shown}.")
        if self.binned:
            g = self.grid
            ends = ("end levels as point masses, the families conditioned on the interior"
                    if self.ends == "point-mass" else "open end levels")
            lines.append(f"Binned likelihood over {g.levels} grid levels (ratio {g.ratio:.4g}, w_max {g.w_max:.4g}, "
                         f"{self.rounding} rounding, {ends}; log-size spreads at least one level).")
        return "\n".join(lines) + "\n"

    def plot(self, ax: Any = None, reference: Any = None, **kwargs: Any) -> Any:
        """Histogram with fitted densities; see :func:`neurosim.analysis.plots.plot_fit`."""
        from neurosim.analysis.plots import plot_fit

        return plot_fit(self, ax=ax, reference=reference, **kwargs)


# ================================================================= entry
def _parse_families(families: str | Sequence[str] | None) -> list[str]:
    if families is None:
        return list(FAMILIES)
    if isinstance(families, str):
        families = [f.strip() for f in families.split(",") if f.strip()]
    out = []
    for f in families:
        if f not in FAMILIES:
            raise ValueError(f"families: unknown {f!r}; allowed: {', '.join(FAMILIES)}")
        if f not in out:
            out.append(f)
    if not out:
        raise ValueError(f"families: empty; allowed: {', '.join(FAMILIES)}")
    return out


#: How mass at the ends of the size range is treated (see :func:`fit_sizes`).
ENDS: tuple[str, ...] = ("auto", "point-mass", "censored")
#: Grids with fewer levels keep their end levels censored under ``ends="auto"`` (too few interior levels).
MIN_LEVELS_POINT_MASS = 8


def _point_masses(pos: np.ndarray, grid: LogGrid | None, ends: str) -> tuple[np.ndarray, dict[str, int], str]:
    """Split off the sizes at the ends that are point masses; ``(rest, {where: count}, mode)``."""
    V.choice("ends", ends, ENDS)
    if grid is not None:
        mode = ends if ends != "auto" else ("point-mass" if grid.levels >= MIN_LEVELS_POINT_MASS else "censored")
        if mode == "censored":
            return pos, {}, mode
        lv = grid.encode(pos, "nearest")
        top = grid.levels - 1
        low, high = lv == 0, lv == top
        masses = {"level 0 (the grid's bottom)": int(low.sum()), f"level {top} (the grid's top)": int(high.sum())}
        return pos[~(low | high)], masses, mode
    mode = "point-mass" if ends == "auto" else ends
    if mode == "censored":
        return pos, {}, mode
    masses, keep = {}, np.ones(pos.size, dtype=bool)
    for where, value in (("largest", pos.max()), ("smallest", pos.min())):
        tied = pos == value
        if tied.sum() >= max(3, 1e-3 * pos.size):  # many synapses on one value: a clip
            masses[f"at the {where} size {value:.4g} (a clip)"] = int(tied.sum())
            keep &= ~tied
    return pos[keep], masses, mode


def fit_sizes(
    sizes: Any,
    families: str | Sequence[str] | None = None,
    grid: LogGrid | None = None,
    rounding: str = "nearest",
    unit: str = "a.u.",
    ends: str = "auto",
) -> FitReport:
    """Fit candidate families to synapse sizes by maximum likelihood.

    Parameters
    ----------
    sizes:
        1-D array-like of sizes ``>= 0`` in any unit (``unit``). Zeros are silent
        synapses (hurdle model: counted, not fitted); at least 20 must be positive.
    families:
        Names (list or comma-separated string) from :data:`FAMILIES`; default all.
    grid:
        If given, the sizes are levels of this :class:`~neurosim.lns.LogGrid` (they
        must lie on it to 1e-4 relative) and every family is fitted by the binned
        likelihood of the levels.
    rounding:
        How sizes were put on ``grid``: ``"nearest"`` or ``"stochastic"``.
    unit:
        Unit of the sizes, for tables and axis labels.
    ends:
        Mass at the ends of the range. ``"point-mass"``: sizes on the grid's end levels,
        or many sizes tied at the largest or smallest value of continuous data (a clip),
        are point masses: counted and reported (:attr:`FitReport.point_masses`), one
        parameter each in every family's AIC and BIC, and left out of the family fits,
        which for a grid are conditioned on the interior levels. ``"censored"``: kept in,
        the end levels open (they absorb the mass beyond). ``"auto"`` (default): point
        masses, except on grids of fewer than 8 levels.

    Returns
    -------
    FitReport

    Raises
    ------
    ValueError
        Negative, NaN or infinite sizes (counted), fewer than 20 positive sizes,
        an unknown family or rounding, or sizes off the grid.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> rep = fit_sizes(rng.lognormal(-1.0, 0.5, 2000), families=["lognorm", "gamma"])
    >>> rep.best, round(rep.results["lognorm"].params["sigma"], 1)
    ('lognorm', 0.5)
    """
    fams = _parse_families(families)
    V.choice("rounding", rounding, ROUNDINGS)
    if grid is not None and not isinstance(grid, LogGrid):
        raise ValueError(f"grid: must be a neurosim.lns.LogGrid or None, got {type(grid).__name__}")
    try:
        arr = np.asarray(sizes, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("sizes: must be a 1-D array of numbers") from None
    if arr.ndim != 1:
        raise ValueError(f"sizes: must be 1-D, got shape {arr.shape} (flatten it first)")
    n_nan = int(np.isnan(arr).sum())
    n_neg = int((arr < 0).sum())
    n_inf = int(np.isposinf(arr).sum())
    if n_nan or n_neg or n_inf:
        parts = [f"{c} {w}" for c, w in ((n_neg, "negative"), (n_nan, "NaN"), (n_inf, "inf")) if c]
        raise ValueError(
            f"sizes: {', '.join(parts)} among {arr.size} values; sizes must be >= 0 and finite"
        )
    pos = arr[arr > 0]
    n_zero = int(arr.size - pos.size)
    if pos.size and (pos.min() < SIZE_RANGE[0] or pos.max() > SIZE_RANGE[1]):
        raise ValueError(
            f"sizes: positive values span {pos.min():.3g} .. {pos.max():.3g}; the fits need them within "
            f"{SIZE_RANGE[0]:g} .. {SIZE_RANGE[1]:g} (rescale them, e.g. express them in another unit)"
        )
    if pos.size < MIN_POSITIVE:
        raise ValueError(
            f"sizes: only {pos.size} positive values (of {arr.size}); need at least {MIN_POSITIVE}"
        )
    if grid is not None:
        lv = grid.encode(pos, "nearest")
        rel = np.abs(grid.decode(lv) / pos - 1.0)
        off = int((rel > 1e-4).sum())
        if off:
            raise ValueError(
                f"sizes: {off} of {pos.size} positive values are off the grid by more than "
                f"1e-4 relative (levels={grid.levels}, ratio={grid.ratio:.6g}, "
                f"w_max={grid.w_max:.6g})"
            )
    rest, masses, mode = _point_masses(pos, grid, ends)
    if rest.size < MIN_POSITIVE:
        raise ValueError(f"sizes: only {rest.size} positive values (of {arr.size}) are off the point masses "
                         f"({', '.join(f'{k}: {v}' for k, v in masses.items())}); need at least {MIN_POSITIVE}")
    if grid is not None:
        data = E.Data(levels=grid.encode(rest, "nearest"), grid=grid, rounding=rounding,
                      ends="point-mass" if mode == "point-mass" else "censored")
    else:
        data = E.continuous(rest)
    m = data.n
    k_masses = sum(1 for v in masses.values() if v)
    results = {}
    for name in fams:
        fitted = E.fit(name, data)
        ll = fitted.loglik
        k = len(PARAM_NAMES[name]) + k_masses
        results[name] = FamilyFit(
            family=name,
            params={key: float(fitted.params[key]) for key in PARAM_NAMES[name]},
            loglik=float(ll),
            aic=2.0 * k - 2.0 * ll,
            bic=k * math.log(m) - 2.0 * ll,
            ks=E.ks(name, fitted.params, data),
            n_params=k,
            success=fitted.success,
            message=fitted.message,
        )
    return FitReport(
        results=results,
        n=int(arr.size),
        n_zero=n_zero,
        binned=grid is not None,
        grid=grid,
        rounding=rounding if grid is not None else None,
        unit=unit,
        point_masses=masses,
        ends=mode,
        _data=data,
    )


def lognormal_reference(label: str, mu: float, sigma: float) -> Callable[[np.ndarray], np.ndarray]:
    """A reference curve: log-normal density per unit ``ln s`` (for plots)."""

    def f(s: np.ndarray) -> np.ndarray:
        return stats.norm.pdf(np.log(s), mu, sigma)

    f.label = label  # type: ignore[attr-defined]
    return f


__all__ = [
    "FAMILIES",
    "NESTED",
    "PARAM_NAMES",
    "Comparison",
    "FamilyFit",
    "FitReport",
    "density_per_log_size",
    "fit_sizes",
    "level_probabilities",
    "lognormal_reference",
    "ppf",
]
