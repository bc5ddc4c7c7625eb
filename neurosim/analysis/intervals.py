"""Intervals: percentile bootstraps over synapses, m-out-of-n scaling, and intervals over seeds.

* :func:`bootstrap` - a statistic over synapses resampled with replacement, and its
  percentile interval;
* :func:`percentile` - the percentile interval of bootstrap replicates (Efron &
  Tibshirani 1993, ch. 13), NaN replicates dropped;
* :func:`m_out_of_n` - an interval from a bootstrap of ``m`` of ``n`` values, its
  deviations scaled by ``sqrt(m / n)`` (Bickel, Goetze & van Zwet 1997, Statistica
  Sinica 7:1), for samples too large to resample whole;
* :func:`over_seeds` - the interval of a mean over independent runs (seeds): Student's
  t-interval, or, when asked, the plain ``[min, max]`` labelled as such. A bootstrap
  over three seeds is not offered: it only returns (nearly) ``[min, max]`` and calls it
  a 95 % interval.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["SeedInterval", "bootstrap", "m_out_of_n", "over_seeds", "percentile"]


def percentile(replicates: Sequence[float] | np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """``(lo, hi)``: the ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles of the finite replicates."""
    r = np.asarray(replicates, dtype=np.float64)
    r = r[np.isfinite(r)]
    if r.size == 0:
        return (math.nan, math.nan)
    alpha = (1.0 - level) / 2.0
    return float(np.quantile(r, alpha)), float(np.quantile(r, 1.0 - alpha))


def bootstrap(stat: Callable[[np.ndarray], float], n: int, n_boot: int, rng: np.random.Generator,
              level: float = 0.95) -> tuple[np.ndarray, tuple[float, float]]:
    """``(replicates, (lo, hi))``: ``stat(idx)`` for ``n_boot`` index sets drawn with replacement
    from ``range(n)``, and their :func:`percentile` interval.

    ``stat`` returns NaN for a replicate it cannot evaluate (dropped from the interval).
    """
    reps = np.array([stat(rng.integers(0, n, n)) for _ in range(int(n_boot))], dtype=np.float64)
    return reps, percentile(reps, level)


def m_out_of_n(estimate: float, sub_estimate: float, sub_interval: tuple[float, float], m: int, n: int
               ) -> tuple[float, float]:
    """Scale an interval from a bootstrap of ``m`` of ``n`` values to all ``n``.

    The subsample's interval deviations ``(lo - sub_estimate, hi - sub_estimate)`` shrink by
    ``sqrt(m / n)`` and are placed around the full-sample ``estimate``.
    """
    f = math.sqrt(m / n)
    lo, hi = sub_interval
    return estimate + f * (lo - sub_estimate), estimate + f * (hi - sub_estimate)


@dataclass(frozen=True)
class SeedInterval:
    """The mean of a quantity over seeds and its interval.

    ``kind`` says what the interval is: ``"t"`` (Student's t at ``level``), ``"range"``
    (``[min, max]`` of the seeds, no coverage claimed) or ``"none"`` (one seed).
    """

    mean: float
    lo: float
    hi: float
    n: int
    kind: str
    level: float = 0.95

    @property
    def label(self) -> str:
        """How reports name the interval (``"95 % t-interval, 5 seeds"``, ``"range of 3 seeds"``)."""
        if self.kind == "t":
            return f"{100 * self.level:.0f} % t-interval, {self.n} seeds"
        if self.kind == "range":
            return f"range of {self.n} seeds"
        return f"{self.n} seed"


def over_seeds(values: Sequence[float], level: float = 0.95, kind: str = "t") -> SeedInterval:
    """The mean of ``values`` (one per seed; NaN and ``None`` dropped) with a t-interval or the range.

    ``kind="t"``: ``mean +- t_{n-1} * sd / sqrt(n)`` (needs two or more seeds); ``kind="range"``:
    ``[min, max]``. One seed gives no interval (``kind = "none"``, NaN bounds).
    """
    if kind not in ("t", "range"):
        raise ValueError(f'kind: must be one of t, range, got "{kind}"')
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=np.float64)
    if v.size == 0:
        return SeedInterval(math.nan, math.nan, math.nan, 0, "none", level)
    mean = float(v.mean())
    if v.size < 2:
        return SeedInterval(mean, math.nan, math.nan, 1, "none", level)
    if kind == "range":
        return SeedInterval(mean, float(v.min()), float(v.max()), int(v.size), "range", level)
    half = float(stats.t.ppf((1.0 + level) / 2.0, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
    return SeedInterval(mean, mean - half, mean + half, int(v.size), "t", level)
