"""Fits of synapse-size distributions and comparison of the candidate models.

:func:`fit_sizes` fits several families to positive sizes (any unit) by maximum
likelihood and returns a :class:`FitReport` with log-likelihoods, AIC, BIC and
Kolmogorov-Smirnov statistics, model comparison tests, bootstrap intervals and a
Markdown table.

Families (parameter names in ``FamilyFit.params``; ``ln`` is the natural log):

=============== ========================================= ==================================
family          density of size ``s``                     parameters
=============== ========================================= ==================================
``lognorm``     ``ln s ~ N(mu, sigma^2)``                 ``mu``, ``sigma`` (of ``ln s``)
``norm``        ``s ~ N(mean, sd^2)``                     ``mean``, ``sd`` (size unit)
``gamma``       scipy ``gamma(shape, scale=scale)``       ``shape``, ``scale``
``weibull_min`` scipy ``weibull_min(shape, scale=scale)`` ``shape``, ``scale``
``expon``       scipy ``expon(scale=scale)``              ``scale``
``loguniform``  ``ln s ~ U(ln low, ln high)``             ``low``, ``high``
``lognorm_mix2`` ``ln s ~ w1 N(mu1, sigma1^2) +``         ``w1, mu1, sigma1, mu2, sigma2``
                ``(1-w1) N(mu2, sigma2^2)``               (sorted so that ``mu1 <= mu2``)
=============== ========================================= ==================================

The log-uniform law is what a multiplicative random walk between hard bounds
tends to; the two-component log-normal mixture is the model Dorkenwald et al.
(2022, eLife 11:e76120) prefer for spine-head volumes of mouse V1 L2/3 cells.

Estimation (all maximum likelihood, location fixed at 0 for positive families,
like ``scipy.stats.<family>.fit(x, floc=0)``):

* closed forms for ``lognorm``, ``norm``, ``expon`` and ``loguniform`` (bounds are
  the sample minimum and maximum);
* ``gamma``: the profile-likelihood shape equation ``ln a - psi(a) = ln mean(s) -
  mean(ln s)`` solved with :func:`scipy.optimize.brentq` (Choi & Wette 1969,
  Technometrics 11:683), ``scale = mean(s) / a``;
* ``weibull_min``: the shape equation ``sum(s^c ln s) / sum(s^c) - 1/c = mean(ln s)``
  solved with brentq (Cohen 1965, Technometrics 7:579), ``scale = mean(s^c)^(1/c)``;
* ``lognorm_mix2``: EM (Dempster, Laird & Rubin 1977, JRSS B 39:1) on ``ln s``
  from several starts; above 4096 values the EM runs on a 4096-bin histogram of
  ``ln s`` (weighted EM, Sheppard's correction ``h^2/12`` added to each variance),
  then the exact log-likelihood is evaluated on the data once. Its likelihood is
  converted back to size space by subtracting ``sum(ln s)`` (the Jacobian), so it
  is comparable with the other families.

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
from scipy import optimize, special, stats

from neurosim.lns import ROUNDINGS, LogGrid

FAMILIES: tuple[str, ...] = (
    "lognorm",
    "norm",
    "gamma",
    "weibull_min",
    "expon",
    "loguniform",
    "lognorm_mix2",
)

PARAM_NAMES: dict[str, tuple[str, ...]] = {
    "lognorm": ("mu", "sigma"),
    "norm": ("mean", "sd"),
    "gamma": ("shape", "scale"),
    "weibull_min": ("shape", "scale"),
    "expon": ("scale",),
    "loguniform": ("low", "high"),
    "lognorm_mix2": ("w1", "mu1", "sigma1", "mu2", "sigma2"),
}

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
_BIG = 1e300  # objective value outside the model's support
_HIST_BINS = 4096
_LN2PI = math.log(2.0 * math.pi)
_GL_T, _GL_W = np.polynomial.legendre.leggauss(16)
_GL_T = 0.5 * (_GL_T + 1.0)  # nodes on [0, 1]
_GL_W = 0.5 * _GL_W


# ======================================================================= data
@dataclass
class _Data:
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


def _cont(x: np.ndarray) -> _Data:
    x = np.sort(np.asarray(x, dtype=np.float64))
    return _Data(x=x, lx=np.log(x))


# ================================================================ densities
def _cdf(name: str, p: dict[str, float], s: np.ndarray) -> np.ndarray:
    """Model CDF at sizes ``s >= 0`` (``inf`` allowed)."""
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        if name == "lognorm":
            return special.ndtr((np.log(s) - p["mu"]) / p["sigma"])
        if name == "norm":
            return special.ndtr((s - p["mean"]) / p["sd"])
        if name == "gamma":
            return special.gammainc(p["shape"], s / p["scale"])
        if name == "weibull_min":
            return -np.expm1(-((s / p["scale"]) ** p["shape"]))
        if name == "expon":
            return -np.expm1(-s / p["scale"])
        if name == "loguniform":
            la, lb = math.log(p["low"]), math.log(p["high"])
            return np.clip((np.log(s) - la) / (lb - la), 0.0, 1.0)
        if name == "lognorm_mix2":
            ls = np.log(s)
            return p["w1"] * special.ndtr((ls - p["mu1"]) / p["sigma1"]) + (
                1.0 - p["w1"]
            ) * special.ndtr((ls - p["mu2"]) / p["sigma2"])
    raise ValueError(f"family: unknown {name!r}; allowed: {', '.join(FAMILIES)}")


def _mix_logpdf_log(p: dict[str, float], v: np.ndarray) -> np.ndarray:
    """Log density of the mixture in ``v = ln s`` space."""
    l1 = math.log(p["w1"]) - math.log(p["sigma1"]) - 0.5 * ((v - p["mu1"]) / p["sigma1"]) ** 2
    l2 = math.log1p(-p["w1"]) - math.log(p["sigma2"]) - 0.5 * ((v - p["mu2"]) / p["sigma2"]) ** 2
    return np.logaddexp(l1, l2) - 0.5 * _LN2PI


def _logpdf(name: str, p: dict[str, float], x: np.ndarray, lx: np.ndarray) -> np.ndarray:
    """Model log density (per size unit) at positive sizes ``x`` with ``lx = ln x``."""
    if name == "lognorm":
        z = (lx - p["mu"]) / p["sigma"]
        return -lx - math.log(p["sigma"]) - 0.5 * _LN2PI - 0.5 * z * z
    if name == "norm":
        z = (x - p["mean"]) / p["sd"]
        return -math.log(p["sd"]) - 0.5 * _LN2PI - 0.5 * z * z
    if name == "gamma":
        a, sc = p["shape"], p["scale"]
        return (a - 1.0) * lx - x / sc - a * math.log(sc) - special.gammaln(a)
    if name == "weibull_min":
        c, sc = p["shape"], p["scale"]
        u = lx - math.log(sc)
        return math.log(c) - math.log(sc) + (c - 1.0) * u - np.exp(c * u)
    if name == "expon":
        return -math.log(p["scale"]) - x / p["scale"]
    if name == "loguniform":
        la, lb = math.log(p["low"]), math.log(p["high"])
        inside = (lx >= la - 1e-12) & (lx <= lb + 1e-12)
        return np.where(inside, -lx - math.log(lb - la), -np.inf)
    if name == "lognorm_mix2":
        return _mix_logpdf_log(p, lx) - lx
    raise ValueError(f"family: unknown {name!r}; allowed: {', '.join(FAMILIES)}")


def _rvs(name: str, p: dict[str, float], n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` random sizes from the model (``norm`` is redrawn until positive)."""
    if name == "lognorm":
        return np.exp(rng.normal(p["mu"], p["sigma"], n))
    if name == "norm":
        out = rng.normal(p["mean"], p["sd"], n)
        for _ in range(100):
            bad = out <= 0
            if not bad.any():
                break
            out[bad] = rng.normal(p["mean"], p["sd"], int(bad.sum()))
        return np.abs(out) + (out == 0) * np.finfo(float).tiny
    if name == "gamma":
        return rng.gamma(p["shape"], p["scale"], n)
    if name == "weibull_min":
        return p["scale"] * rng.weibull(p["shape"], n)
    if name == "expon":
        return rng.exponential(p["scale"], n)
    if name == "loguniform":
        return np.exp(rng.uniform(math.log(p["low"]), math.log(p["high"]), n))
    if name == "lognorm_mix2":
        first = rng.random(n) < p["w1"]
        v = np.where(
            first, rng.normal(p["mu1"], p["sigma1"], n), rng.normal(p["mu2"], p["sigma2"], n)
        )
        return np.exp(v)
    raise ValueError(f"family: unknown {name!r}; allowed: {', '.join(FAMILIES)}")


def ppf(name: str, params: dict[str, float], q: np.ndarray) -> np.ndarray:
    """Quantiles of a fitted family (continuous model) at probabilities ``q`` in (0, 1)."""
    q = np.asarray(q, dtype=np.float64)
    p = params
    if name == "lognorm":
        return np.exp(p["mu"] + p["sigma"] * special.ndtri(q))
    if name == "norm":
        return p["mean"] + p["sd"] * special.ndtri(q)
    if name == "gamma":
        return stats.gamma.ppf(q, p["shape"], scale=p["scale"])
    if name == "weibull_min":
        return stats.weibull_min.ppf(q, p["shape"], scale=p["scale"])
    if name == "expon":
        return -p["scale"] * np.log1p(-q)
    if name == "loguniform":
        la, lb = math.log(p["low"]), math.log(p["high"])
        return np.exp(la + q * (lb - la))
    if name == "lognorm_mix2":
        lo = np.full(q.shape, min(p["mu1"] - 10 * p["sigma1"], p["mu2"] - 10 * p["sigma2"]))
        hi = np.full(q.shape, max(p["mu1"] + 10 * p["sigma1"], p["mu2"] + 10 * p["sigma2"]))
        for _ in range(60):  # bisection in ln s
            mid = 0.5 * (lo + hi)
            below = _cdf(name, p, np.exp(mid)) < q
            lo = np.where(below, mid, lo)
            hi = np.where(below, hi, mid)
        return np.exp(0.5 * (lo + hi))
    raise ValueError(f"family: unknown {name!r}; allowed: {', '.join(FAMILIES)}")


def density_per_log_size(name: str, params: dict[str, float], s: np.ndarray) -> np.ndarray:
    """Model density per unit ``ln s`` (``s * f(s)``) at sizes ``s > 0``."""
    s = np.asarray(s, dtype=np.float64)
    ls = np.log(s)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        return np.exp(_logpdf(name, params, s, ls) + ls)


# ====================================================== continuous ML fits
def _fit_gamma(x: np.ndarray, lx: np.ndarray) -> dict[str, float]:
    mean = float(x.mean())
    s = math.log(mean) - float(lx.mean())
    if not s > 0:
        raise ValueError("sizes: all positive values are equal; cannot fit gamma")

    def g(a: float) -> float:
        return math.log(a) - float(special.digamma(a)) - s

    a0 = (3.0 - s + math.sqrt((s - 3.0) ** 2 + 24.0 * s)) / (12.0 * s)
    lo, hi = a0 / 2.0, a0 * 2.0
    while g(lo) < 0:
        lo /= 2.0
    while g(hi) > 0:
        hi *= 2.0
    a = optimize.brentq(g, lo, hi, xtol=1e-14, rtol=1e-13)
    return {"shape": float(a), "scale": mean / a}


def _fit_weibull(lx: np.ndarray) -> dict[str, float]:
    m = float(lx.mean())
    z = lx - m
    zmax = float(z.max())
    if not z.std() > 0:
        raise ValueError("sizes: all positive values are equal; cannot fit weibull_min")
    zs = z - zmax

    def g(c: float) -> float:
        w = np.exp(c * zs)
        return float(np.dot(w, z) / w.sum()) - 1.0 / c

    c0 = math.pi / (math.sqrt(6.0) * float(z.std()))
    lo, hi = c0 / 2.0, c0 * 2.0
    while g(lo) > 0:
        lo /= 2.0
    while g(hi) < 0:
        hi *= 2.0
    c = optimize.brentq(g, lo, hi, xtol=1e-14, rtol=1e-13)
    log_scale = m + zmax + math.log(float(np.exp(c * zs).mean())) / c
    return {"shape": float(c), "scale": math.exp(log_scale)}


def _em_mix2(v: np.ndarray, w: np.ndarray, extra_var: float = 0.0) -> dict[str, float]:
    """Weighted EM for a two-component normal mixture of ``v`` (weights ``w``)."""
    total = float(w.sum())
    mean = float(np.dot(w, v) / total)
    sd = math.sqrt(float(np.dot(w, (v - mean) ** 2) / total))
    if not sd > 0:
        raise ValueError("sizes: all positive values are equal; cannot fit lognorm_mix2")
    var_floor = (1e-3 * sd) ** 2 + extra_var
    order = np.argsort(v)
    cw = np.cumsum(w[order]) / total
    starts = []
    for q in (0.25, 0.5, 0.75):
        cut = v[order][min(int(np.searchsorted(cw, q)), v.size - 1)]
        left = v <= cut
        parts = []
        for mask in (left, ~left):
            ww = w[mask]
            if ww.sum() <= 0:
                break
            mu = float(np.dot(ww, v[mask]) / ww.sum())
            var = float(np.dot(ww, (v[mask] - mu) ** 2) / ww.sum())
            parts.append((float(ww.sum()) / total, mu, math.sqrt(max(var, (0.1 * sd) ** 2))))
        if len(parts) == 2:
            starts.append((parts[0][0], parts[0][1], parts[0][2], parts[1][1], parts[1][2]))
    starts.append((0.5, mean, 0.5 * sd, mean, 2.0 * sd))
    def run(theta: tuple[float, ...], iters: int) -> tuple[float, tuple[float, ...]]:
        w1, mu1, s1, mu2, s2 = theta
        v1, v2 = s1 * s1, s2 * s2
        ll_old = -np.inf
        ll = -np.inf
        for _ in range(iters):
            l1 = math.log(w1) - 0.5 * math.log(v1) - 0.5 * (v - mu1) ** 2 / v1
            l2 = math.log1p(-w1) - 0.5 * math.log(v2) - 0.5 * (v - mu2) ** 2 / v2
            lse = np.logaddexp(l1, l2)
            ll = float(np.dot(w, lse))
            if ll - ll_old < 1e-9 * max(1.0, abs(ll)):
                break
            ll_old = ll
            r1 = np.exp(l1 - lse) * w
            r2 = w - r1
            n1, n2 = float(r1.sum()), float(r2.sum())
            if n1 <= 1e-9 * total or n2 <= 1e-9 * total:
                break
            w1 = min(max(n1 / total, 1e-12), 1 - 1e-12)
            mu1 = float(np.dot(r1, v)) / n1
            mu2 = float(np.dot(r2, v)) / n2
            v1 = max(float(np.dot(r1, (v - mu1) ** 2)) / n1 + extra_var, var_floor)
            v2 = max(float(np.dot(r2, (v - mu2) ** 2)) / n2 + extra_var, var_floor)
        return ll, (w1, mu1, math.sqrt(v1), mu2, math.sqrt(v2))

    # a short run from every start, then the best one to convergence
    short = [run(t, 40) for t in starts]
    best = run(max(short, key=lambda r: r[0])[1], 1000)
    w1, mu1, s1, mu2, s2 = best[1]
    if mu1 > mu2:
        w1, mu1, s1, mu2, s2 = 1.0 - w1, mu2, s2, mu1, s1
    return {"w1": w1, "mu1": mu1, "sigma1": s1, "mu2": mu2, "sigma2": s2}


def _fit_mix2(lx: np.ndarray) -> dict[str, float]:
    if lx.size <= _HIST_BINS:
        return _em_mix2(lx, np.ones_like(lx))
    lo, hi = float(lx.min()), float(lx.max())
    counts, edges = np.histogram(lx, bins=_HIST_BINS, range=(lo, hi))
    centres = 0.5 * (edges[:-1] + edges[1:])
    keep = counts > 0
    h = (hi - lo) / _HIST_BINS
    return _em_mix2(centres[keep], counts[keep].astype(np.float64), extra_var=h * h / 12.0)


def _fit_continuous(name: str, d: _Data) -> tuple[dict[str, float], float]:
    """ML parameters and log-likelihood (size space) of one family."""
    x, lx = d.x, d.lx
    n = x.size
    sum_lx = float(lx.sum())
    if name == "lognorm":
        mu = sum_lx / n
        sigma = float(np.sqrt(np.mean((lx - mu) ** 2)))
        if not sigma > 0:
            raise ValueError("sizes: all positive values are equal; cannot fit")
        ll = -0.5 * n * (_LN2PI + 2.0 * math.log(sigma)) - 0.5 * n - sum_lx
        return {"mu": mu, "sigma": sigma}, ll
    if name == "norm":
        mean = float(x.mean())
        sd = float(np.sqrt(np.mean((x - mean) ** 2)))
        ll = -0.5 * n * (_LN2PI + 2.0 * math.log(sd)) - 0.5 * n
        return {"mean": mean, "sd": sd}, ll
    if name == "expon":
        scale = float(x.mean())
        return {"scale": scale}, -n * math.log(scale) - n
    if name == "loguniform":
        lo, hi = float(x[0]), float(x[-1])
        return {"low": lo, "high": hi}, -sum_lx - n * math.log(math.log(hi / lo))
    if name == "gamma":
        p = _fit_gamma(x, lx)
        a, sc = p["shape"], p["scale"]
        ll = (a - 1.0) * sum_lx - n * a * math.log(sc) - n * special.gammaln(a) - x.sum() / sc
        return p, float(ll)
    if name == "weibull_min":
        p = _fit_weibull(lx)
        c, sc = p["shape"], p["scale"]
        u = lx - math.log(sc)
        ll = n * math.log(c / sc) + (c - 1.0) * float(u.sum()) - float(np.exp(c * u).sum())
        return p, ll
    if name == "lognorm_mix2":
        p = _fit_mix2(lx)
        return p, float(_mix_logpdf_log(p, lx).sum()) - sum_lx
    raise ValueError(f"family: unknown {name!r}; allowed: {', '.join(FAMILIES)}")


# ============================================================ binned fits
def level_probabilities(
    name: str, params: dict[str, float], grid: LogGrid, rounding: str = "nearest"
) -> np.ndarray:
    """Probability of each grid level under a continuous model after rounding.

    Parameters
    ----------
    name, params:
        Family name and its parameters (as in :attr:`FamilyFit.params`).
    grid:
        The log grid; its end levels are open (they absorb everything beyond).
    rounding:
        ``"nearest"`` (each level owns the interval between its log-midpoints) or
        ``"stochastic"`` (triangular kernel in level position).

    Returns
    -------
    numpy.ndarray
        ``grid.levels`` probabilities summing to 1.
    """
    L = grid.levels
    ln_sizes = np.log(grid.sizes())
    if rounding == "nearest":
        edges = np.exp(ln_sizes[:-1] + 0.5 * grid.step)
        F = _cdf(name, params, edges)
        p = np.diff(np.concatenate(([0.0], F, [1.0])))
    elif rounding == "stochastic":
        pos = np.arange(L - 1)[:, None] + _GL_T[None, :]
        s = grid.w_max * np.exp((pos - (L - 1)) * grid.step)
        D = _cdf(name, params, s) @ _GL_W
        p = np.concatenate(([D[0]], np.diff(D), [1.0 - D[-1]]))
    else:
        raise ValueError(f"rounding: must be one of {ROUNDINGS}, got {rounding!r}")
    return np.clip(np.nan_to_num(p, nan=0.0), 0.0, 1.0)


def _to_vec(name: str, p: dict[str, float]) -> np.ndarray:
    ln = math.log
    if name == "lognorm":
        return np.array([p["mu"], ln(p["sigma"])])
    if name == "norm":
        return np.array([p["mean"], ln(p["sd"])])
    if name in ("gamma", "weibull_min"):
        return np.array([ln(p["shape"]), ln(p["scale"])])
    if name == "expon":
        return np.array([ln(p["scale"])])
    if name == "loguniform":
        return np.array([ln(p["low"]), ln(p["high"])])
    w1 = min(max(p["w1"], 1e-6), 1 - 1e-6)
    return np.array([ln(w1 / (1 - w1)), p["mu1"], ln(p["sigma1"]), p["mu2"], ln(p["sigma2"])])


def _from_vec(name: str, v: np.ndarray) -> dict[str, float]:
    e = np.exp
    if name == "lognorm":
        return {"mu": float(v[0]), "sigma": float(e(v[1]))}
    if name == "norm":
        return {"mean": float(v[0]), "sd": float(e(v[1]))}
    if name in ("gamma", "weibull_min"):
        return {"shape": float(e(v[0])), "scale": float(e(v[1]))}
    if name == "expon":
        return {"scale": float(e(v[0]))}
    if name == "loguniform":
        return {"low": float(e(v[0])), "high": float(e(v[1]))}
    p = {
        "w1": float(special.expit(v[0])),
        "mu1": float(v[1]),
        "sigma1": float(e(v[2])),
        "mu2": float(v[3]),
        "sigma2": float(e(v[4])),
    }
    if p["mu1"] > p["mu2"]:
        p = {"w1": 1 - p["w1"], "mu1": p["mu2"], "sigma1": p["sigma2"], "mu2": p["mu1"],
             "sigma2": p["sigma1"]}
    return p


def _fit_binned(name: str, d: _Data) -> tuple[dict[str, float], float]:
    grid = d.grid
    counts = d.counts()
    occ = counts > 0
    if occ.sum() < 2:
        raise ValueError("sizes: all values sit on one grid level; cannot fit")
    ln_sizes = np.log(grid.sizes())
    if name == "loguniform":
        idx = np.flatnonzero(occ)
        start = {
            "low": math.exp(ln_sizes[idx[0]] - 0.5 * grid.step),
            "high": math.exp(ln_sizes[idx[-1]] + 0.5 * grid.step),
        }
    else:
        # continuous fit of the decoded sizes, jittered within their level (deterministic)
        u = (np.arange(d.n) + 0.5) / d.n - 0.5
        jitter = np.random.default_rng(0).permutation(u) * grid.step
        start = _fit_continuous(name, _cont(np.exp(ln_sizes[d.levels] + jitter)))[0]
    c = counts[occ].astype(np.float64)

    def nll(v: np.ndarray) -> float:
        try:
            p = level_probabilities(name, _from_vec(name, v), grid, d.rounding)[occ]
        except (ValueError, OverflowError, ZeroDivisionError):
            return _BIG
        if name == "loguniform" and v[1] <= v[0]:
            return _BIG
        if np.any(p <= 0):
            return _BIG
        return -float(np.dot(c, np.log(p)))

    v0 = _to_vec(name, start)
    best = None
    if name != "loguniform":  # smooth in its parameters: quasi-Newton is fastest
        best = optimize.minimize(nll, v0, method="BFGS", options={"gtol": 1e-6})
        if not np.isfinite(best.fun):
            best = None
    if best is None or not best.success:
        res = optimize.minimize(
            nll, v0 if best is None else best.x, method="Nelder-Mead",
            options={"xatol": 1e-7, "fatol": 1e-10, "maxiter": 2000 * v0.size},
        )
        if best is None or res.fun <= best.fun:
            best = res
    return _from_vec(name, best.x), -float(best.fun)


def _fit(name: str, d: _Data) -> tuple[dict[str, float], float]:
    return _fit_binned(name, d) if d.binned else _fit_continuous(name, d)


def _pointwise(name: str, p: dict[str, float], d: _Data) -> np.ndarray:
    """Per-observation log-likelihood (log density, or log level probability)."""
    if d.binned:
        with np.errstate(divide="ignore"):
            return np.log(level_probabilities(name, p, d.grid, d.rounding))[d.levels]
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        return _logpdf(name, p, d.x, d.lx)


def _ks(name: str, p: dict[str, float], d: _Data) -> float:
    if d.binned:
        model = np.cumsum(level_probabilities(name, p, d.grid, d.rounding))
        emp = np.cumsum(d.counts()) / d.n
        return float(np.max(np.abs(emp - model)[:-1]))
    F = _cdf(name, p, d.x)
    n = d.x.size
    i = np.arange(1, n + 1)
    return float(max(np.max(i / n - F), np.max(F - (i - 1) / n)))


def _simulate(name: str, p: dict[str, float], d: _Data, rng: np.random.Generator) -> _Data:
    x = _rvs(name, p, d.n, rng)
    if d.binned:
        return _Data(levels=d.grid.encode(x, d.rounding, generator=rng), grid=d.grid,
                     rounding=d.rounding)
    return _cont(x)


def _resample(d: _Data, rng: np.random.Generator) -> _Data:
    idx = rng.integers(0, d.n, d.n)
    if d.binned:
        return _Data(levels=d.levels[idx], grid=d.grid, rounding=d.rounding)
    return _cont(d.x[idx])


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
    """

    family: str
    params: dict[str, float]
    loglik: float
    aic: float
    bic: float
    ks: float
    n_params: int
    gof_pvalue: float | None = None


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


def _check_family(name: str) -> None:
    if name not in FAMILIES:
        raise ValueError(f"family: unknown {name!r}; allowed: {', '.join(FAMILIES)}")


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
    _data: _Data | None = field(default=None, repr=False)

    @property
    def n_positive(self) -> int:
        """Number of positive sizes (the part the families are fitted to)."""
        return self.n - self.n_zero

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
        _check_family(family)
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
        if not 0 < alpha < 1:
            raise ValueError(f"alpha: must be in (0, 1), got {alpha!r}")
        d = self._data
        pair = (a, b) if (a, b) in NESTED else (b, a) if (b, a) in NESTED else None
        if pair is None:
            la = _pointwise(a, fa.params, d)
            lb = _pointwise(b, fb.params, d)
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
        if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
            raise ValueError(f"n_boot: must be an integer >= 1, got {n_boot!r}")
        null, alt = pair
        lr = max(0.0, 2.0 * (self.results[alt].loglik - self.results[null].loglik))
        rng = np.random.default_rng(seed)
        hits = 0
        for _ in range(int(n_boot)):
            sim = _simulate(null, self.results[null].params, d, rng)
            lr_b = 2.0 * (_fit(alt, sim)[1] - _fit(null, sim)[1])
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
        if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 10:
            raise ValueError(f"n_boot: must be an integer >= 10, got {n_boot!r}")
        if not 0 < level < 1:
            raise ValueError(f"level: must be in (0, 1), got {level!r}")
        rng = np.random.default_rng(seed)
        vals = np.array(
            [_fit(family, _resample(self._data, rng))[0][param] for _ in range(int(n_boot))]
        )
        q = (1.0 - level) / 2.0
        lo, hi = np.quantile(vals, [q, 1.0 - q])
        return float(lo), float(hi)

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
        if isinstance(n_mc, bool) or not isinstance(n_mc, (int, np.integer)) or n_mc < 1:
            raise ValueError(f"n_mc: must be an integer >= 1, got {n_mc!r}")
        rng = np.random.default_rng(seed)
        hits = 0
        for _ in range(int(n_mc)):
            sim = _simulate(family, fit.params, self._data, rng)
            p_b = _fit(family, sim)[0]
            hits += _ks(family, p_b, sim) >= fit.ks
        fit.gof_pvalue = (1 + hits) / (n_mc + 1)
        return fit.gof_pvalue

    # -------------------------------------------------------------- output
    def table(self) -> str:
        """Markdown table: family, parameters, loglik, AIC, dAIC, BIC, KS (sorted by AIC)."""
        best_aic = self.results[self.best].aic
        show_gof = any(r.gof_pvalue is not None for r in self.results.values())
        head = "| family | parameters | loglik | AIC | dAIC | BIC | KS |" + (
            " GoF p |" if show_gof else ""
        )
        lines = [head, "|" + "---|" * (8 if show_gof else 7)]
        for r in sorted(self.results.values(), key=lambda r: r.aic):
            ps = ", ".join(f"{k}={v:.4g}" for k, v in r.params.items())
            row = (
                f"| {r.family} | {ps} | {r.loglik:.2f} | {r.aic:.2f} | {r.aic - best_aic:.2f} "
                f"| {r.bic:.2f} | {r.ks:.4f} |"
            )
            if show_gof:
                row += " - |" if r.gof_pvalue is None else f" {r.gof_pvalue:.3g} |"
            lines.append(row)
        lines.append("")
        lines.append(
            f"n = {self.n} sizes ({self.unit}); silent (size 0): {self.n_zero} "
            f"(silent fraction {self.silent_fraction:.4f}); fitted to the "
            f"{self.n_positive} positive sizes. Best by AIC: {self.best}."
        )
        if self.binned:
            g = self.grid
            lines.append(
                f"Binned likelihood over {g.levels} grid levels (ratio {g.ratio:.4g}, "
                f"w_max {g.w_max:.4g}, {self.rounding} rounding, open end levels)."
            )
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


def fit_sizes(
    sizes: Any,
    families: str | Sequence[str] | None = None,
    grid: LogGrid | None = None,
    rounding: str = "nearest",
    unit: str = "a.u.",
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
    if rounding not in ROUNDINGS:
        raise ValueError(f"rounding: must be one of {ROUNDINGS}, got {rounding!r}")
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
        data = _Data(levels=lv, grid=grid, rounding=rounding)
    else:
        data = _cont(pos)
    m = data.n
    results = {}
    for name in fams:
        params, ll = _fit(name, data)
        k = len(PARAM_NAMES[name])
        results[name] = FamilyFit(
            family=name,
            params={key: float(params[key]) for key in PARAM_NAMES[name]},
            loglik=float(ll),
            aic=2.0 * k - 2.0 * ll,
            bic=k * math.log(m) - 2.0 * ll,
            ks=_ks(name, params, data),
            n_params=k,
        )
    return FitReport(
        results=results,
        n=int(arr.size),
        n_zero=n_zero,
        binned=grid is not None,
        grid=grid,
        rounding=rounding if grid is not None else None,
        unit=unit,
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
