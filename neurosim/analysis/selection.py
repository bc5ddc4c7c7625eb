"""Which family describes the sizes: a stated, calibrated rule, with absolute goodness of fit and bimodality.

At the sample sizes of networks (1e3-1e5 synapses) every likelihood difference is
large, and AIC prefers the richest family for reasons that have nothing to do with
biology: synapses piled on the grid's end levels or at a clip, projections pooled,
a mixture component collapsing onto one level. The reports therefore choose a family
with this rule (:func:`select`), after :func:`~neurosim.analysis.fits.fit_sizes` has
taken end-level and clip masses out as point masses and floored log-size spreads at
one grid level:

1. among the one-component families, the one with the lowest BIC;
2. the two-log-normal mixture instead, only if **all** of: its BIC is lower by at least
   :data:`DELTA_BIC` (10, "very strong" on Kass & Raftery's 1995 scale); its components
   are separated, Ashman's ``D = sqrt(2) |mu1 - mu2| / sqrt(sigma1^2 + sigma2^2) >=``
   :data:`MIN_SEPARATION` (2: a bimodal mixture; Ashman, Bird & Zepf 1994); the smaller
   component carries at least :data:`MIN_WEIGHT` (5 %) of the mass; and neither
   component's spread sits at the one-level floor (a component on a single level is
   the grid, not a population).

Calibration (``tests/test_selection.py``): on binned log-normal samples (26 levels over
60x, n = 1000 and 10000, sigma 0.3-1.2 in ln units, placed in the middle and near either
end of the grid) the rule picks the mixture in at most 5 % of replicates; on a binned
mixture shaped like Dorkenwald et al.'s (2022) at their n = 1960 it picks the mixture in
at least 80 %.

Beside the choice, every report gives an absolute goodness of fit (:func:`chi_square`,
Pearson's statistic over grid levels or equiprobable bins, merged to expected counts
>= 5) and a bimodality measure (:func:`bimodality_coefficient`, Sarle's ``b = (g^2 + 1) /
(k + 3 (n-1)^2 / ((n-2)(n-3)))`` of ln size: above 5/9, the value of a uniform, suggests
two modes), so that "the mixture is chosen" and "one family fits at all" are two
separate statements. :func:`at_reference_size` repeats the choice on random subsamples
of a reference's size (e.g. n = 1960 for Dorkenwald et al.).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from neurosim.analysis import estimation as E

__all__ = ["DELTA_BIC", "MIN_SEPARATION", "MIN_WEIGHT", "RULE", "Selection", "ashman_d", "at_reference_size",
           "bimodality_coefficient", "chi_square", "select"]

DELTA_BIC = 10.0
MIN_SEPARATION = 2.0
MIN_WEIGHT = 0.05
MIXTURE = "lognorm_mix2"
#: The rule as the reports state it.
RULE = (f"lowest BIC among the one-component families; the two-log-normal mixture instead only if its BIC is "
        f"lower by >= {DELTA_BIC:g}, Ashman's D >= {MIN_SEPARATION:g}, the smaller weight >= {MIN_WEIGHT:g}, "
        "and neither component's spread is at the one-level floor (end levels and clips are point masses)")


def ashman_d(p: dict[str, float]) -> float:
    """Ashman's separation ``D = sqrt(2) |mu1 - mu2| / sqrt(sigma1^2 + sigma2^2)`` of a two-log-normal mixture."""
    return math.sqrt(2.0) * abs(p["mu2"] - p["mu1"]) / math.sqrt(p["sigma1"] ** 2 + p["sigma2"] ** 2)


def bimodality_coefficient(log_sizes: np.ndarray) -> float:
    """Sarle's bimodality coefficient of ``log_sizes`` (> 5/9 suggests two modes; NaN below 4 values)."""
    x = np.asarray(log_sizes, dtype=np.float64)
    n = x.size
    if n < 4 or not x.std() > 0:
        return math.nan
    g = float(stats.skew(x, bias=False))
    k = float(stats.kurtosis(x, bias=False))
    return (g * g + 1.0) / (k + 3.0 * (n - 1) ** 2 / ((n - 2) * (n - 3)))


@dataclass(frozen=True)
class ChiSquare:
    """Pearson's goodness-of-fit statistic, its degrees of freedom, p value and bins used."""

    statistic: float
    df: int
    pvalue: float
    bins: int


def chi_square(report: Any, family: str) -> ChiSquare:
    """Absolute goodness of fit of a fitted family (Pearson's chi-square, ``df = bins - 1 - k``).

    Gridded sizes: the grid levels (the family's level model); continuous sizes:
    ``round(2 n^0.4)`` bins equiprobable under the fitted model (Mann & Wald 1942).
    Neighbouring bins are merged until every expected count is at least 5.
    """
    fit = report.results[family]
    d = report.data
    if d.binned:
        q = E.level_model(family, fit.params, d)
        observed = d.counts().astype(np.float64)
        expected = q * d.n
    else:
        n_bins = max(5, int(round(2.0 * d.n ** 0.4)))
        from neurosim.analysis import families as F

        edges = F.ppf(family, fit.params, np.linspace(0, 1, n_bins + 1)[1:-1])
        idx = np.searchsorted(edges, d.x, side="right")
        observed = np.bincount(idx, minlength=n_bins).astype(np.float64)
        expected = np.full(n_bins, d.n / n_bins)
    o, e = _merge(observed, expected)
    k = len(fit.params)
    df = max(1, o.size - 1 - k)
    stat = float(np.sum((o - e) ** 2 / e))
    return ChiSquare(stat, df, float(stats.chi2.sf(stat, df)), int(o.size))


def _merge(observed: np.ndarray, expected: np.ndarray, min_expected: float = 5.0) -> tuple[np.ndarray, np.ndarray]:
    """Merge neighbouring bins (left to right, the remainder into the last) until each expects >= 5."""
    keep = expected > 0
    observed, expected = observed[keep], expected[keep]
    o_out, e_out, o_acc, e_acc = [], [], 0.0, 0.0
    for o, e in zip(observed, expected, strict=True):
        o_acc += o
        e_acc += e
        if e_acc >= min_expected:
            o_out.append(o_acc)
            e_out.append(e_acc)
            o_acc = e_acc = 0.0
    if e_acc > 0:
        if e_out:
            o_out[-1] += o_acc
            e_out[-1] += e_acc
        else:
            o_out, e_out = [o_acc], [e_acc]
    return np.array(o_out), np.array(e_out)


@dataclass
class Selection:
    """The family :func:`select` chose and why, with goodness of fit and bimodality."""

    chosen: str
    best_single: str
    delta_bic_mixture: float | None
    mixture_separation: float | None
    mixture_min_weight: float | None
    mixture_at_floor: bool | None
    reasons: list[str] = field(default_factory=list)
    gof: ChiSquare | None = None
    bimodality: float = math.nan

    @property
    def fits(self) -> bool:
        """Whether the chosen family passes the absolute test (chi-square p >= 0.001)."""
        return self.gof is not None and self.gof.pvalue >= 1e-3

    def summary(self) -> dict[str, Any]:
        """JSON-able numbers."""
        def num(x: Any) -> Any:
            return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else x

        out = {"chosen": self.chosen, "best_single": self.best_single, "rule": RULE,
               "delta_bic_mixture": num(self.delta_bic_mixture), "mixture_separation": num(self.mixture_separation),
               "mixture_min_weight": num(self.mixture_min_weight), "mixture_at_floor": self.mixture_at_floor,
               "reasons": list(self.reasons), "bimodality_coefficient": num(self.bimodality)}
        if self.gof is not None:
            out["gof"] = {"chi2": num(self.gof.statistic), "df": self.gof.df, "p": num(self.gof.pvalue),
                          "bins": self.gof.bins}
        return out


def select(report: Any, *, delta_bic: float = DELTA_BIC, min_separation: float = MIN_SEPARATION,
           min_weight: float = MIN_WEIGHT, gof: bool = True) -> Selection:
    """Choose a family of a :class:`~neurosim.analysis.fits.FitReport` by the rule of the module docstring."""
    singles = [k for k in report.results if k != MIXTURE]
    if not singles:
        raise ValueError("families: the rule needs at least one one-component family beside the mixture")
    best_single = min(singles, key=lambda k: report.results[k].bic)
    chosen, reasons = best_single, []
    dbic = sep = wmin = None
    at_floor = None
    if MIXTURE in report.results:
        mix = report.results[MIXTURE]
        p = mix.params
        dbic = report.results[best_single].bic - mix.bic
        sep = ashman_d(p)
        wmin = min(p["w1"], 1.0 - p["w1"])
        floor = report.data.sigma_floor
        at_floor = bool(floor > 0 and min(p["sigma1"], p["sigma2"]) <= floor * (1 + 1e-3))
        checks = [(dbic >= delta_bic, f"BIC lower by {dbic:.1f} (needs >= {delta_bic:g})"),
                  (sep >= min_separation, f"Ashman's D {sep:.2f} (needs >= {min_separation:g})"),
                  (wmin >= min_weight, f"smaller weight {wmin:.3f} (needs >= {min_weight:g})"),
                  (not at_floor, "a component's spread is at the one-level floor" if at_floor
                   else "no component at the spread floor")]
        if all(ok for ok, _ in checks):
            chosen = MIXTURE
            reasons = [why for _, why in checks]
        else:
            reasons = [why for ok, why in checks if not ok]
    g = chi_square(report, chosen) if gof else None
    return Selection(chosen, best_single, dbic, sep, wmin, at_floor, reasons, g,
                     bimodality_coefficient(report.data.log_sizes()))


def at_reference_size(sizes: np.ndarray, n_ref: int, *, grid: Any = None, rounding: str = "nearest",
                      n_sub: int = 20, seed: int = 0) -> dict[str, Any]:
    """The rule on ``n_sub`` random subsamples of ``n_ref`` sizes: how often the mixture is chosen.

    The network has many more synapses than an EM reconstruction; at the reference's
    sample size the same distribution may or may not look bimodal. Returns the fraction
    choosing the mixture, the median BIC difference and the subsample count.
    """
    from neurosim.analysis.fits import fit_sizes

    x = np.asarray(sizes, dtype=np.float64)
    x = x[x > 0]
    if x.size <= n_ref:
        return {"n_ref": int(n_ref), "n_sub": 0, "skipped": f"only {x.size} sizes (reference n = {n_ref})"}
    rng = np.random.default_rng(seed)
    chosen, dbics = [], []
    for _ in range(n_sub):
        sub = rng.choice(x, n_ref, replace=False)
        try:
            rep = fit_sizes(sub, families=["lognorm", MIXTURE], grid=grid, rounding=rounding)
        except ValueError:
            continue
        sel = select(rep, gof=False)
        chosen.append(sel.chosen == MIXTURE)
        dbics.append(sel.delta_bic_mixture)
    if not chosen:
        return {"n_ref": int(n_ref), "n_sub": 0, "skipped": "no subsample could be fitted"}
    return {"n_ref": int(n_ref), "n_sub": len(chosen), "fraction_mixture": float(np.mean(chosen)),
            "median_delta_bic": float(np.median(dbics))}
