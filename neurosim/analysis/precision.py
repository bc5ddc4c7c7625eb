"""Precision of synapse sizes: level occupancy, dynamic range, pair CV, distinguishable sizes.

Follows the counting argument of Bartol et al. (2015), eLife 4:e10778: two synapses that
share the same presynaptic axon and postsynaptic dendrite should have the same size, so
the coefficient of variation (CV) of such pairs measures the precision of plasticity;
with a range ``ratio`` of sizes spread uniformly in log space, sizes a distance
``2 * CV * z`` apart (relative) can be told apart, giving::

    N = ln(ratio) / ln(1 + 2 * CV * z),     z = sqrt(2) * erfinv(0.69) ~ 1.015

distinguishable sizes and ``log2(N)`` bits (a *capacity*). An occupancy entropy of
the sizes actually used is the quantity to set next to the 4.1-4.59 bits of Samavat et al.
(2024), Neural Computation 36:781.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from neurosim import validate as V
from neurosim.analysis import reference

#: Bartol et al. (2015): the 69 % discrimination criterion as a z-score.
BARTOL_Z: float = float(math.sqrt(2.0) * special.erfinv(0.69))


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend (no display) unless pyplot is already loaded."""
    import sys

    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _finite_nonneg(x: Any, arg: str) -> np.ndarray:
    a = np.asarray(x, dtype=float).ravel()
    if a.size and not np.all(np.isfinite(a)):
        raise ValueError(f"{arg}: must be finite, got NaN or inf")
    if a.size and np.any(a < 0):
        raise ValueError(f"{arg}: sizes must be >= 0 (pass abs(w)), got min {a.min():g}")
    return a


@dataclass(frozen=True)
class Occupancy:
    """How synapses fill the levels of a log grid.

    Attributes
    ----------
    counts:
        Number of synapses at each level ``0 .. n_levels-1``.
    fractions:
        ``counts / counts.sum()``.
    entropy_bits:
        Shannon entropy of ``fractions`` in bits (0 log 0 = 0).
    levels_in_use:
        Number of levels with at least one synapse.
    capacity_bits:
        ``log2(n_levels)``: the entropy if every level were equally used.
    """

    counts: np.ndarray
    fractions: np.ndarray
    entropy_bits: float
    levels_in_use: int
    capacity_bits: float

    @property
    def n_levels(self) -> int:
        return int(self.counts.size)

    @property
    def n(self) -> int:
        return int(self.counts.sum())

    def plot(self, ax: Any = None) -> Any:
        """Bar chart of the fraction of synapses per level; returns the axes."""
        if ax is None:
            _, ax = pyplot().subplots(figsize=(5, 3))
        ax.bar(np.arange(self.n_levels), self.fractions, width=0.85, color="0.35")
        ax.set_xlabel("level (0 = smallest size)")
        ax.set_ylabel("fraction of synapses")
        ax.set_title(
            f"{self.levels_in_use}/{self.n_levels} levels used; H = {self.entropy_bits:.2f} "
            f"of {self.capacity_bits:.2f} bits"
        )
        return ax


def level_occupancy(levels: Any, n_levels: int) -> Occupancy:
    """Occupancy of the ``n_levels`` levels of a log grid by integer level codes.

    Parameters
    ----------
    levels:
        Integer level of each synapse, ``0 <= level < n_levels`` (e.g. ``LogGrid.encode``).
    n_levels:
        Number of levels of the grid (>= 2).

    Returns
    -------
    Occupancy
    """
    n_levels = V.integer("n_levels", n_levels, ge=2)
    lv = np.asarray(levels).ravel()
    if lv.size == 0:
        raise ValueError("levels: must contain at least one level code, got an empty array")
    if not np.issubdtype(lv.dtype, np.integer):
        if not np.all(np.isfinite(lv)) or not np.all(lv == np.round(lv)):
            raise ValueError("levels: must be integer level codes")
        lv = lv.astype(np.int64)
    if lv.min() < 0 or lv.max() >= n_levels:
        raise ValueError(
            f"levels: must lie in 0..{n_levels - 1}, got range {int(lv.min())}..{int(lv.max())}"
        )
    counts = np.bincount(lv.astype(np.int64), minlength=int(n_levels))
    frac = counts / counts.sum()
    nz = frac[frac > 0]
    entropy = float(-np.sum(nz * np.log2(nz)))
    return Occupancy(
        counts=counts,
        fractions=frac,
        entropy_bits=max(entropy, 0.0),
        levels_in_use=int(np.count_nonzero(counts)),
        capacity_bits=float(math.log2(n_levels)),
    )


def dynamic_range(sizes: Any, lo: float = 0.01, hi: float = 0.99) -> float:
    """Dynamic range ``q(hi) / q(lo)`` of the non-zero sizes, from quantiles.

    Quantiles (default 1st to 99th percentile) are used instead of max/min because the
    max/min ratio grows with the number of synapses. **Zeros are ignored** (silent
    synapses have no log size).

    Parameters
    ----------
    sizes:
        Synapse sizes (>= 0), any unit.
    lo, hi:
        Quantile levels with ``0 <= lo < hi <= 1``.

    Returns
    -------
    float
        Dimensionless ratio (>= 1).
    """
    if not (0.0 <= lo < hi <= 1.0):
        raise ValueError(f"lo, hi: need 0 <= lo < hi <= 1, got lo={lo!r}, hi={hi!r}")
    s = _finite_nonneg(sizes, "sizes")
    s = s[s > 0]
    if s.size < 2:
        raise ValueError(f"sizes: need at least 2 non-zero sizes, got {s.size}")
    qlo, qhi = np.quantile(s, [lo, hi])
    return float(qhi / qlo)


def pair_cv(a: Any, b: Any, ddof: int = 1) -> np.ndarray:
    """Coefficient of variation of each pair of synapses sharing pre- and postsynaptic cells.

    For two values the CV is ``std / mean``; with the sample standard deviation
    (``ddof=1``, the default) this is ``|a - b| / (sqrt(2) * mean)``; with ``ddof=0`` it is
    ``|a - b| / (2 * mean)``. Bartol et al. (2015) report the median pair CV (0.083) of
    spine-head volumes; which convention they used is not verified here (see
    ``data/bartol2015.toml``), so pass ``ddof`` to match.

    Parameters
    ----------
    a, b:
        Sizes (>= 0, same unit) of the two synapses of each pair, same shape.
    ddof:
        0 or 1.

    Returns
    -------
    numpy.ndarray
        Dimensionless CV per pair (NaN where both sizes are 0).
    """
    V.choice("ddof", ddof, (0, 1))
    x = _finite_nonneg(a, "a")
    y = _finite_nonneg(b, "b")
    if x.shape != y.shape:
        raise ValueError(f"a, b: must have the same shape, got {x.shape} and {y.shape}")
    mean = (x + y) / 2.0
    std = np.abs(x - y) / (math.sqrt(2.0) if ddof == 1 else 2.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(mean > 0, std / np.where(mean > 0, mean, 1.0), np.nan)


def distinguishable_sizes(cv: float, ratio: float = 60.0, z: float | None = None) -> float:
    """Number of distinguishable sizes by the formula of Bartol et al. (2015).

    ``N = ln(ratio) / ln(1 + 2 * cv * z)`` with ``z = sqrt(2) * erfinv(0.69)`` (about 1.015)
    by default; the capacity in bits is ``log2(N)`` (see :func:`capacity_bits`).

    Parameters
    ----------
    cv:
        Precision as a coefficient of variation (> 0, dimensionless), e.g. a median pair CV.
    ratio:
        Dynamic range of the sizes (> 1, dimensionless).
    z:
        Discrimination criterion as a z-score (> 0); default :data:`BARTOL_Z`.

    Examples
    --------
    >>> round(distinguishable_sizes(0.083, 60.0), 1)
    26.3
    """
    cv = V.real("cv", cv, gt=0.0)
    ratio = V.real("ratio", ratio, gt=1.0)
    zz = V.real("z", BARTOL_Z if z is None else z, gt=0.0)
    return float(math.log(ratio) / math.log1p(2.0 * cv * zz))


def capacity_bits(n_sizes: float) -> float:
    """``log2(n_sizes)``: bits of a synapse with ``n_sizes`` distinguishable sizes."""
    n_sizes = V.real("n_sizes", n_sizes, ge=1.0)
    return float(math.log2(n_sizes))


@dataclass(frozen=True)
class PrecisionReport:
    """Precision of a network's synapse sizes set next to Bartol (2015) and Samavat (2024).

    Attributes
    ----------
    n_synapses, n_zero:
        Synapses analysed and how many had size 0 (excluded from the range).
    dynamic_range:
        1st-99th percentile ratio of non-zero sizes (or ``lo``/``hi`` given).
    occupancy:
        Level occupancy if level codes were given, else None.
    median_pair_cv:
        Median pair CV if pairs were given, else None.
    n_distinguishable, bits_distinguishable:
        Bartol's count from ``median_pair_cv`` and ``dynamic_range``, and its log2.
    samavat_bits:
        (low, high) bits of Samavat et al. (2024), from ``data/samavat2024.toml``.
    bartol_bits:
        4.7 bits (``log2(26)``), from ``data/bartol2015.toml``.
    """

    n_synapses: int
    n_zero: int
    dynamic_range: float
    occupancy: Occupancy | None
    median_pair_cv: float | None
    n_distinguishable: float | None
    bits_distinguishable: float | None
    samavat_bits: tuple[float, float]
    bartol_bits: float

    def markdown(self) -> str:
        """One Markdown line summarising the report."""
        parts = [
            f"n = {self.n_synapses} ({self.n_zero} zero)",
            f"range (1-99 %) = {self.dynamic_range:.3g}x",
        ]
        if self.occupancy is not None:
            o = self.occupancy
            parts.append(
                f"occupancy entropy = {o.entropy_bits:.2f} bits "
                f"({o.levels_in_use}/{o.n_levels} levels, capacity {o.capacity_bits:.2f} bits)"
            )
        if self.median_pair_cv is not None and self.n_distinguishable is not None:
            parts.append(
                f"median pair CV = {self.median_pair_cv:.3f} -> N = "
                f"{self.n_distinguishable:.1f} ({self.bits_distinguishable:.2f} bits)"
            )
        lo, hi = self.samavat_bits
        parts.append(
            f"biology: Samavat 2024 {lo:g}-{hi:g} bits, Bartol 2015 {self.bartol_bits:g} bits"
        )
        return "| " + " | ".join(parts) + " |"


def precision_report(
    sizes: Any,
    *,
    levels: Any = None,
    n_levels: int | None = None,
    pairs: tuple[Any, Any] | None = None,
    lo: float = 0.01,
    hi: float = 0.99,
    ddof: int = 1,
) -> PrecisionReport:
    """Summarise precision of ``sizes`` next to the biological references.

    Parameters
    ----------
    sizes:
        Synapse sizes (>= 0), any unit.
    levels, n_levels:
        Optional integer level codes and the grid's level count, for the occupancy entropy.
    pairs:
        Optional ``(a, b)`` sizes of synapse pairs sharing pre and post, for the pair CV.
    lo, hi:
        Quantiles for :func:`dynamic_range`.
    ddof:
        Convention of :func:`pair_cv`.
    """
    s = _finite_nonneg(sizes, "sizes")
    occ = None
    if levels is not None:
        if n_levels is None:
            raise ValueError("n_levels: required when levels is given")
        occ = level_occupancy(levels, n_levels)
    rng = dynamic_range(s, lo, hi)
    med_cv = n_dist = bits = None
    if pairs is not None:
        cvs = pair_cv(pairs[0], pairs[1], ddof=ddof)
        cvs = cvs[np.isfinite(cvs)]
        if cvs.size == 0:
            raise ValueError("pairs: no pair with a non-zero mean size")
        med_cv = float(np.median(cvs))
        if med_cv > 0 and rng > 1:
            n_dist = distinguishable_sizes(med_cv, rng)
            bits = capacity_bits(max(n_dist, 1.0))
    sam = reference.load("samavat2024")
    bart = reference.load("bartol2015")
    return PrecisionReport(
        n_synapses=int(s.size),
        n_zero=int(np.count_nonzero(s == 0)),
        dynamic_range=rng,
        occupancy=occ,
        median_pair_cv=med_cv,
        n_distinguishable=n_dist,
        bits_distinguishable=bits,
        samavat_bits=(sam["bits_low"], sam["bits_high"]),
        bartol_bits=bart["bits"],
    )
