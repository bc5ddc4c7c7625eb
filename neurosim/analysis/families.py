"""The distribution families fitted to synapse sizes: one class each, in a registry.

Each :class:`Family` knows its parameters, its density, CDF, quantiles and random
draws, its maximum-likelihood fit to positive sizes (closed form or numerical, with a
``success`` flag and a ``message`` as :func:`scipy.stats.fit` reports), and an
unconstrained parametrisation for the binned (gridded) fits of
:mod:`neurosim.analysis.fits`. Adding a family is one class registered in
:data:`REGISTRY`. Sizes ``s > 0`` are in any unit; ``ln`` is the natural log.

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

Estimation (maximum likelihood, location fixed at 0 like ``scipy.stats.<family>.fit(x,
floc=0)``): closed forms for ``lognorm``, ``norm``, ``expon`` and ``loguniform``
(bounds: the sample minimum and maximum); ``gamma`` by the profile-likelihood shape
equation ``ln a - psi(a) = ln mean(s) - mean(ln s)`` (Choi & Wette 1969, Technometrics
11:683) and ``weibull_min`` by ``sum(s^c ln s) / sum(s^c) - 1/c = mean(ln s)`` (Cohen
1965, Technometrics 7:579), both solved with :func:`scipy.optimize.brentq`;
``lognorm_mix2`` by EM (Dempster, Laird & Rubin 1977, JRSS B 39:1) on ``ln s`` from
several starts, above 4096 values on a 4096-bin histogram of ``ln s`` (weighted EM,
Sheppard's correction ``h^2/12`` added to each variance), its likelihood converted to
size space by subtracting ``sum(ln s)`` (the Jacobian).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from scipy import optimize, special, stats

from neurosim.lns import ROUNDINGS, LogGrid

__all__ = ["FAMILIES", "PARAM_NAMES", "REGISTRY", "Family", "Fitted", "cdf", "density_per_log_size", "family",
           "level_probabilities", "logpdf", "ppf", "rvs"]

_LN2PI = math.log(2.0 * math.pi)
_HIST_BINS = 4096
_EM_CAP = 1000
_GL_T, _GL_W = np.polynomial.legendre.leggauss(16)
_GL_T = 0.5 * (_GL_T + 1.0)  # nodes on [0, 1]
_GL_W = 0.5 * _GL_W


@dataclass(frozen=True)
class Fitted:
    """A maximum-likelihood fit: parameters, log-likelihood (size space), whether it converged and how."""

    params: dict[str, float]
    loglik: float
    success: bool = True
    message: str = "closed form"


def _equal(name: str) -> ValueError:
    return ValueError(f"sizes: all positive values are equal; cannot fit {name}")


class Family:
    """One distribution family (see the module docstring). Subclasses fill in the methods."""

    name: ClassVar[str] = ""
    params: ClassVar[tuple[str, ...]] = ()
    #: smooth in its parameters, so the binned fit may use quasi-Newton steps
    smooth: ClassVar[bool] = True

    def cdf(self, p: dict[str, float], s: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def logpdf(self, p: dict[str, float], x: np.ndarray, lx: np.ndarray) -> np.ndarray:
        """Log density per size unit at sizes ``x`` (``lx = ln x``)."""
        raise NotImplementedError

    def rvs(self, p: dict[str, float], n: int, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def ppf(self, p: dict[str, float], q: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def fit(self, x: np.ndarray, lx: np.ndarray) -> Fitted:
        """Maximum-likelihood fit to sorted positive sizes ``x`` (``lx = ln x``)."""
        raise NotImplementedError

    # unconstrained parameters for numerical (binned) fits; two positive parameters by default.
    # ``floor`` is the smallest log-size spread allowed (families with a log-size sigma use it).
    def to_vec(self, p: dict[str, float], floor: float = 0.0) -> np.ndarray:
        return np.array([math.log(p[k]) for k in self.params])

    def from_vec(self, v: np.ndarray, floor: float = 0.0) -> dict[str, float]:
        return {k: float(np.exp(x)) for k, x in zip(self.params, v, strict=True)}

    def valid_vec(self, v: np.ndarray) -> bool:
        return True

    def binned_start(self, grid: LogGrid, levels: np.ndarray) -> dict[str, float]:
        """Start of a binned fit: the continuous fit of the decoded sizes, each jittered within its
        level (a deterministic jitter, so fits repeat exactly)."""
        n = levels.size
        u = (np.arange(n) + 0.5) / n - 0.5
        jitter = np.random.default_rng(0).permutation(u) * grid.step
        x = np.sort(np.exp(np.log(grid.sizes())[levels] + jitter))
        return self.fit(x, np.log(x)).params


class LogNormal(Family):
    name, params = "lognorm", ("mu", "sigma")

    def cdf(self, p, s):
        return special.ndtr((np.log(s) - p["mu"]) / p["sigma"])

    def logpdf(self, p, x, lx):
        z = (lx - p["mu"]) / p["sigma"]
        return -lx - math.log(p["sigma"]) - 0.5 * _LN2PI - 0.5 * z * z

    def rvs(self, p, n, rng):
        return np.exp(rng.normal(p["mu"], p["sigma"], n))

    def ppf(self, p, q):
        with np.errstate(over="ignore"):  # a degenerate fit's far quantiles are inf, as they should be
            return np.exp(p["mu"] + p["sigma"] * special.ndtri(q))

    def fit(self, x, lx):
        n, sum_lx = x.size, float(lx.sum())
        mu = sum_lx / n
        sigma = float(np.sqrt(np.mean((lx - mu) ** 2)))
        if not sigma > 0:
            raise ValueError("sizes: all positive values are equal; cannot fit")
        ll = -0.5 * n * (_LN2PI + 2.0 * math.log(sigma)) - 0.5 * n - sum_lx
        return Fitted({"mu": mu, "sigma": sigma}, ll)

    def to_vec(self, p, floor=0.0):
        return np.array([p["mu"], _log_above(p["sigma"], floor)])

    def from_vec(self, v, floor=0.0):
        return {"mu": float(v[0]), "sigma": floor + float(np.exp(v[1]))}


def _log_above(sigma: float, floor: float) -> float:
    """``ln(sigma - floor)``, kept finite for a start at or below the floor."""
    return math.log(max(sigma - floor, 0.05 * floor, 1e-12))


class Normal(Family):
    name, params = "norm", ("mean", "sd")

    def cdf(self, p, s):
        return special.ndtr((s - p["mean"]) / p["sd"])

    def logpdf(self, p, x, lx):
        z = (x - p["mean"]) / p["sd"]
        return -math.log(p["sd"]) - 0.5 * _LN2PI - 0.5 * z * z

    def rvs(self, p, n, rng):
        """``n`` draws, redrawn until positive (sizes are positive)."""
        out = rng.normal(p["mean"], p["sd"], n)
        for _ in range(100):
            bad = out <= 0
            if not bad.any():
                break
            out[bad] = rng.normal(p["mean"], p["sd"], int(bad.sum()))
        return np.abs(out) + (out == 0) * np.finfo(float).tiny

    def ppf(self, p, q):
        return p["mean"] + p["sd"] * special.ndtri(q)

    def fit(self, x, lx):
        n = x.size
        mean = float(x.mean())
        sd = float(np.sqrt(np.mean((x - mean) ** 2)))
        ll = -0.5 * n * (_LN2PI + 2.0 * math.log(sd)) - 0.5 * n
        return Fitted({"mean": mean, "sd": sd}, ll)

    def to_vec(self, p, floor=0.0):
        return np.array([p["mean"], math.log(p["sd"])])

    def from_vec(self, v, floor=0.0):
        return {"mean": float(v[0]), "sd": float(np.exp(v[1]))}


def _brentq(g: Any, lo: float, hi: float) -> tuple[float, bool, str]:
    root, info = optimize.brentq(g, lo, hi, xtol=1e-14, rtol=1e-13, full_output=True, disp=False)
    return float(root), bool(info.converged), f"brentq: {info.flag} after {info.iterations} iterations"


class Gamma(Family):
    name, params = "gamma", ("shape", "scale")

    def cdf(self, p, s):
        return special.gammainc(p["shape"], s / p["scale"])

    def logpdf(self, p, x, lx):
        a, sc = p["shape"], p["scale"]
        return (a - 1.0) * lx - x / sc - a * math.log(sc) - special.gammaln(a)

    def rvs(self, p, n, rng):
        return rng.gamma(p["shape"], p["scale"], n)

    def ppf(self, p, q):
        return stats.gamma.ppf(q, p["shape"], scale=p["scale"])

    def fit(self, x, lx):
        n, sum_lx = x.size, float(lx.sum())
        mean = float(x.mean())
        s = math.log(mean) - float(lx.mean())
        if not s > 0:
            raise _equal("gamma")

        def g(a: float) -> float:
            return math.log(a) - float(special.digamma(a)) - s

        a0 = (3.0 - s + math.sqrt((s - 3.0) ** 2 + 24.0 * s)) / (12.0 * s)
        lo, hi = a0 / 2.0, a0 * 2.0
        while g(lo) < 0:
            lo /= 2.0
        while g(hi) > 0:
            hi *= 2.0
        a, ok, msg = _brentq(g, lo, hi)
        sc = mean / a
        ll = (a - 1.0) * sum_lx - n * a * math.log(sc) - n * special.gammaln(a) - x.sum() / sc
        return Fitted({"shape": a, "scale": sc}, float(ll), ok, msg)


class Weibull(Family):
    name, params = "weibull_min", ("shape", "scale")

    def cdf(self, p, s):
        return -np.expm1(-((s / p["scale"]) ** p["shape"]))

    def logpdf(self, p, x, lx):
        c, sc = p["shape"], p["scale"]
        u = lx - math.log(sc)
        return math.log(c) - math.log(sc) + (c - 1.0) * u - np.exp(c * u)

    def rvs(self, p, n, rng):
        return p["scale"] * rng.weibull(p["shape"], n)

    def ppf(self, p, q):
        return stats.weibull_min.ppf(q, p["shape"], scale=p["scale"])

    def fit(self, x, lx):
        n = x.size
        m = float(lx.mean())
        z = lx - m
        zmax = float(z.max())
        if not z.std() > 0:
            raise _equal("weibull_min")
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
        c, ok, msg = _brentq(g, lo, hi)
        sc = math.exp(m + zmax + math.log(float(np.exp(c * zs).mean())) / c)
        u = lx - math.log(sc)
        ll = n * math.log(c / sc) + (c - 1.0) * float(u.sum()) - float(np.exp(c * u).sum())
        return Fitted({"shape": c, "scale": sc}, ll, ok, msg)


class Exponential(Family):
    name, params = "expon", ("scale",)

    def cdf(self, p, s):
        return -np.expm1(-s / p["scale"])

    def logpdf(self, p, x, lx):
        return -math.log(p["scale"]) - x / p["scale"]

    def rvs(self, p, n, rng):
        return rng.exponential(p["scale"], n)

    def ppf(self, p, q):
        return -p["scale"] * np.log1p(-q)

    def fit(self, x, lx):
        n = x.size
        scale = float(x.mean())
        return Fitted({"scale": scale}, -n * math.log(scale) - n)


class LogUniform(Family):
    name, params, smooth = "loguniform", ("low", "high"), False

    def cdf(self, p, s):
        la, lb = math.log(p["low"]), math.log(p["high"])
        return np.clip((np.log(s) - la) / (lb - la), 0.0, 1.0)

    def logpdf(self, p, x, lx):
        la, lb = math.log(p["low"]), math.log(p["high"])
        inside = (lx >= la - 1e-12) & (lx <= lb + 1e-12)
        return np.where(inside, -lx - math.log(lb - la), -np.inf)

    def rvs(self, p, n, rng):
        return np.exp(rng.uniform(math.log(p["low"]), math.log(p["high"]), n))

    def ppf(self, p, q):
        la, lb = math.log(p["low"]), math.log(p["high"])
        return np.exp(la + q * (lb - la))

    def fit(self, x, lx):
        lo, hi = float(x[0]), float(x[-1])
        return Fitted({"low": lo, "high": hi}, -float(lx.sum()) - x.size * math.log(math.log(hi / lo)))

    def valid_vec(self, v):
        return bool(v[1] > v[0])

    def binned_start(self, grid, levels):
        """The outer edges of the lowest and highest occupied levels."""
        ln_sizes = np.log(grid.sizes())
        return {"low": math.exp(ln_sizes[levels.min()] - 0.5 * grid.step),
                "high": math.exp(ln_sizes[levels.max()] + 0.5 * grid.step)}


class LogNormalMixture(Family):
    name, params = "lognorm_mix2", ("w1", "mu1", "sigma1", "mu2", "sigma2")

    def cdf(self, p, s):
        ls = np.log(s)
        return p["w1"] * special.ndtr((ls - p["mu1"]) / p["sigma1"]) + (
            1.0 - p["w1"]) * special.ndtr((ls - p["mu2"]) / p["sigma2"])

    @staticmethod
    def logpdf_log(p: dict[str, float], v: np.ndarray) -> np.ndarray:
        """Log density of the mixture in ``v = ln s`` space."""
        l1 = math.log(p["w1"]) - math.log(p["sigma1"]) - 0.5 * ((v - p["mu1"]) / p["sigma1"]) ** 2
        l2 = math.log1p(-p["w1"]) - math.log(p["sigma2"]) - 0.5 * ((v - p["mu2"]) / p["sigma2"]) ** 2
        return np.logaddexp(l1, l2) - 0.5 * _LN2PI

    def logpdf(self, p, x, lx):
        return self.logpdf_log(p, lx) - lx

    def rvs(self, p, n, rng):
        first = rng.random(n) < p["w1"]
        v = np.where(first, rng.normal(p["mu1"], p["sigma1"], n), rng.normal(p["mu2"], p["sigma2"], n))
        return np.exp(v)

    def ppf(self, p, q):
        q = np.asarray(q, dtype=np.float64)
        lo = np.full(q.shape, min(p["mu1"] - 10 * p["sigma1"], p["mu2"] - 10 * p["sigma2"]))
        hi = np.full(q.shape, max(p["mu1"] + 10 * p["sigma1"], p["mu2"] + 10 * p["sigma2"]))
        for _ in range(60):  # bisection in ln s
            mid = 0.5 * (lo + hi)
            below = self.cdf(p, np.exp(mid)) < q
            lo = np.where(below, mid, lo)
            hi = np.where(below, hi, mid)
        return np.exp(0.5 * (lo + hi))

    def fit(self, x, lx):
        if lx.size <= _HIST_BINS:
            p, ok, msg = _em_mix2(lx, np.ones_like(lx))
        else:
            lo, hi = float(lx.min()), float(lx.max())
            counts, edges = np.histogram(lx, bins=_HIST_BINS, range=(lo, hi))
            centres = 0.5 * (edges[:-1] + edges[1:])
            keep = counts > 0
            h = (hi - lo) / _HIST_BINS
            p, ok, msg = _em_mix2(centres[keep], counts[keep].astype(np.float64), extra_var=h * h / 12.0)
        return Fitted(p, float(self.logpdf_log(p, lx).sum()) - float(lx.sum()), ok, msg)

    def binned_start(self, grid, levels):
        """EM on the level histogram (weighted by counts; Sheppard's correction for the level width)."""
        counts = np.bincount(levels, minlength=grid.levels).astype(np.float64)
        occ = counts > 0
        p, _, _ = _em_mix2(np.log(grid.sizes())[occ], counts[occ], extra_var=grid.step ** 2 / 12.0)
        return p

    def to_vec(self, p, floor=0.0):
        w1 = min(max(p["w1"], 1e-6), 1 - 1e-6)
        return np.array([math.log(w1 / (1 - w1)), p["mu1"], _log_above(p["sigma1"], floor), p["mu2"],
                         _log_above(p["sigma2"], floor)])

    def from_vec(self, v, floor=0.0):
        p = {"w1": float(special.expit(v[0])), "mu1": float(v[1]), "sigma1": floor + float(np.exp(v[2])),
             "mu2": float(v[3]), "sigma2": floor + float(np.exp(v[4]))}
        if p["mu1"] > p["mu2"]:
            p = {"w1": 1 - p["w1"], "mu1": p["mu2"], "sigma1": p["sigma2"], "mu2": p["mu1"],
                 "sigma2": p["sigma1"]}
        return p


def _em_mix2(v: np.ndarray, w: np.ndarray, extra_var: float = 0.0) -> tuple[dict[str, float], bool, str]:
    """Weighted EM for a two-component normal mixture of ``v`` (weights ``w``): params, converged, message."""
    total = float(w.sum())
    mean = float(np.dot(w, v) / total)
    sd = math.sqrt(float(np.dot(w, (v - mean) ** 2) / total))
    if not sd > 0:
        raise _equal("lognorm_mix2")
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

    def run(theta: tuple[float, ...], iters: int) -> tuple[float, tuple[float, ...], str]:
        w1, mu1, s1, mu2, s2 = theta
        v1, v2 = s1 * s1, s2 * s2
        ll_old = -np.inf
        ll = -np.inf
        for it in range(iters):
            l1 = math.log(w1) - 0.5 * math.log(v1) - 0.5 * (v - mu1) ** 2 / v1
            l2 = math.log1p(-w1) - 0.5 * math.log(v2) - 0.5 * (v - mu2) ** 2 / v2
            lse = np.logaddexp(l1, l2)
            ll = float(np.dot(w, lse))
            if ll - ll_old < 1e-9 * max(1.0, abs(ll)):
                return ll, (w1, mu1, math.sqrt(v1), mu2, math.sqrt(v2)), f"EM converged in {it} iterations"
            ll_old = ll
            r1 = np.exp(l1 - lse) * w
            r2 = w - r1
            n1, n2 = float(r1.sum()), float(r2.sum())
            if n1 <= 1e-9 * total or n2 <= 1e-9 * total:
                return (ll, (w1, mu1, math.sqrt(v1), mu2, math.sqrt(v2)),
                        f"EM stopped: a component lost its weight after {it} iterations")
            w1 = min(max(n1 / total, 1e-12), 1 - 1e-12)
            mu1 = float(np.dot(r1, v)) / n1
            mu2 = float(np.dot(r2, v)) / n2
            v1 = max(float(np.dot(r1, (v - mu1) ** 2)) / n1 + extra_var, var_floor)
            v2 = max(float(np.dot(r2, (v - mu2) ** 2)) / n2 + extra_var, var_floor)
        return ll, (w1, mu1, math.sqrt(v1), mu2, math.sqrt(v2)), f"EM hit its iteration cap ({iters})"

    # a short run from every start, then the best one to convergence
    short = [run(t, 40) for t in starts]
    _, theta, message = run(max(short, key=lambda r: r[0])[1], _EM_CAP)
    w1, mu1, s1, mu2, s2 = theta
    if mu1 > mu2:
        w1, mu1, s1, mu2, s2 = 1.0 - w1, mu2, s2, mu1, s1
    ok = message.startswith("EM converged")
    return {"w1": w1, "mu1": mu1, "sigma1": s1, "mu2": mu2, "sigma2": s2}, ok, message


#: Every family by name, in the order reports list them.
REGISTRY: dict[str, Family] = {f.name: f for f in (LogNormal(), Normal(), Gamma(), Weibull(), Exponential(),
                                                    LogUniform(), LogNormalMixture())}
FAMILIES: tuple[str, ...] = tuple(REGISTRY)
PARAM_NAMES: dict[str, tuple[str, ...]] = {k: f.params for k, f in REGISTRY.items()}


def family(name: str) -> Family:
    """The family called ``name`` (``ValueError`` naming the allowed ones otherwise)."""
    try:
        return REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(f"family: unknown {name!r}; allowed: {', '.join(FAMILIES)}") from None


def cdf(name: str, params: dict[str, float], s: np.ndarray) -> np.ndarray:
    """Model CDF at sizes ``s >= 0`` (``inf`` allowed)."""
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        return family(name).cdf(params, s)


def logpdf(name: str, params: dict[str, float], x: np.ndarray, lx: np.ndarray | None = None) -> np.ndarray:
    """Model log density (per size unit) at positive sizes ``x``."""
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        return family(name).logpdf(params, x, np.log(x) if lx is None else lx)


def rvs(name: str, params: dict[str, float], n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` random sizes from the model."""
    return family(name).rvs(params, n, rng)


def ppf(name: str, params: dict[str, float], q: np.ndarray) -> np.ndarray:
    """Quantiles of a fitted family (continuous model) at probabilities ``q`` in (0, 1)."""
    return family(name).ppf(params, np.asarray(q, dtype=np.float64))


def density_per_log_size(name: str, params: dict[str, float], s: np.ndarray) -> np.ndarray:
    """Model density per unit ``ln s`` (``s * f(s)``) at sizes ``s > 0``."""
    s = np.asarray(s, dtype=np.float64)
    ls = np.log(s)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        return np.exp(family(name).logpdf(params, s, ls) + ls)


@functools.lru_cache(maxsize=64)
def _cdf_points(levels: int, ratio: float, w_max: float, rounding: str) -> np.ndarray:
    """Sizes at which :func:`level_probabilities` evaluates the CDF (read-only; cached per grid)."""
    grid = LogGrid(levels, ratio, w_max)
    ln_sizes = np.log(grid.sizes())
    if rounding == "nearest":
        out = np.exp(ln_sizes[:-1] + 0.5 * grid.step)
    elif rounding == "stochastic":
        pos = np.arange(levels - 1)[:, None] + _GL_T[None, :]
        out = grid.w_max * np.exp((pos - (levels - 1)) * grid.step)
    else:
        raise ValueError(f"rounding: must be one of {', '.join(ROUNDINGS)}, got {rounding!r}")
    out.setflags(write=False)
    return out


def level_probabilities(name: str, params: dict[str, float], grid: LogGrid, rounding: str = "nearest"
                        ) -> np.ndarray:
    """Probability of each grid level under a continuous model after rounding.

    Parameters
    ----------
    name, params:
        Family name and its parameters.
    grid:
        The log grid; its end levels are open (they absorb everything beyond).
    rounding:
        ``"nearest"`` (each level owns the interval between its log-midpoints) or
        ``"stochastic"`` (mass at level position ``x`` goes to ``floor(x)`` with weight
        ``1 - frac(x)`` and to ``floor(x) + 1`` with weight ``frac(x)``: with
        ``D_k = int_k^{k+1} F`` (16-point Gauss-Legendre), ``p_0 = D_0``,
        ``p_k = D_k - D_{k-1}``, ``p_{L-1} = 1 - D_{L-2}``).

    Returns
    -------
    numpy.ndarray
        ``grid.levels`` probabilities summing to 1.
    """
    points = _cdf_points(grid.levels, grid.ratio, grid.w_max, rounding)
    F = cdf(name, params, points)
    if rounding == "nearest":
        p = np.diff(np.concatenate(([0.0], F, [1.0])))
    else:
        D = F @ _GL_W
        p = np.concatenate(([D[0]], np.diff(D), [1.0 - D[-1]]))
    return np.clip(np.nan_to_num(p, nan=0.0), 0.0, 1.0)
