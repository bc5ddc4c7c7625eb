"""Compare a network's synapse-size distribution with published biology: shape, not scale.

Network sizes and biological measurements have different units (a weight, a spine-head
volume in um^3, an EPSP amplitude in mV), so only the *shape* of the distribution of log
sizes is compared:

* the standard deviation of ``ln size`` (``sigma_ln``, unit-free) with a bootstrap CI,
  next to each reference's ``sigma_ln`` (log10 spreads converted by ``ln 10``);
* the Kolmogorov-Smirnov distance between the standardised log sizes
  ``ln s - median(ln s)`` and the reference's standardised shape: a normal for the
  log-normal of Song et al. (2005), PLoS Biol. 3:e68 (EPSP amplitudes), the two-component
  mixture of Dorkenwald et al. (2022), eLife 11:e76120 (spine-head volumes).

Zeros (silent synapses) have no log size: they are excluded from every statistic and
reported as the silent fraction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from neurosim import validate as V
from neurosim.analysis import intervals, reference
from neurosim.markdown import table


@dataclass(frozen=True)
class ReferenceRow:
    """One reference in a :class:`BiologyComparison`.

    Attributes
    ----------
    key:
        Reference key (e.g. ``"song2005"``).
    measured:
        What the reference measured (e.g. ``"EPSP amplitude"``, ``"spine-head volume"``).
    sigma_ln:
        Standard deviation of ln size of the reference's shape (dimensionless).
    ks:
        KS distance between the network's and the reference's standardised log sizes.
    verified:
        Whether every number of the reference's shape is verified against the paper.
    """

    key: str
    measured: str
    sigma_ln: float
    ks: float
    verified: bool


@dataclass(frozen=True)
class BiologyComparison:
    """Result of :func:`compare_with_references`.

    Attributes
    ----------
    n:
        Non-zero sizes analysed.
    n_zero:
        Zero sizes (excluded).
    silent_fraction:
        ``n_zero / (n + n_zero)``.
    sigma_ln:
        Sample standard deviation (ddof=1) of ln size of the network.
    sigma_ci:
        Bootstrap percentile CI of ``sigma_ln`` at level ``ci_level``.
    rows:
        One :class:`ReferenceRow` per reference.
    """

    n: int
    n_zero: int
    silent_fraction: float
    sigma_ln: float
    sigma_ci: tuple[float, float]
    ci_level: float
    rows: list[ReferenceRow]

    def markdown(self) -> str:
        """A Markdown table: network sigma with CI against each reference."""
        lo, hi = self.sigma_ci
        lines = [
            f"Network: sigma of ln size = {self.sigma_ln:.3f} "
            f"({100 * self.ci_level:.0f} % CI {lo:.3f} to {hi:.3f}), n = {self.n}, "
            f"silent fraction = {self.silent_fraction:.3f} ({self.n_zero} zero sizes excluded)",
            "",
        ]
        rows = [[r.key, r.measured, f"{r.sigma_ln:.3f}", f"{self.sigma_ln:.3f} [{lo:.3f}, {hi:.3f}]", f"{r.ks:.3f}",
                 "yes" if r.verified else "no"] for r in self.rows]
        lines.append(table(["reference", "measured", "sigma ln (ref)", "sigma ln (network)",
                            "KS distance of standardised log sizes", "verified"], rows))
        return "\n".join(lines)


def standardised_log_sizes(sizes: Any) -> tuple[np.ndarray, int]:
    """``ln s - median(ln s)`` of the non-zero sizes, and the number of zeros excluded."""
    s = np.asarray(sizes, dtype=float).ravel()
    if s.size and not np.all(np.isfinite(s)):
        raise ValueError("sizes: must be finite, got NaN or inf")
    if s.size and np.any(s < 0):
        raise ValueError(f"sizes: must be >= 0 (pass abs(w)), got min {s.min():g}")
    nz = s[s > 0]
    n_zero = int(s.size - nz.size)
    if nz.size < 2:
        raise ValueError(f"sizes: need at least 2 non-zero sizes, got {nz.size}")
    ls = np.log(nz)
    return ls - np.median(ls), n_zero


def _shape_verified(ref: reference.Reference) -> bool:
    shape = ref.shape or {}
    names: list[str] = []
    for k in ("mu", "sigma"):
        if k in shape:
            names.append(shape[k])
    for k in ("means", "sds", "weights"):
        names.extend(shape.get(k, []))
    return all(ref.values[n].verified for n in names)


def compare_with_references(
    sizes: Any,
    references: list[str] | None = None,
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int = 0,
    boot_cap: int | None = None,
) -> BiologyComparison:
    """Compare the shape of a size distribution with published reference shapes.

    Parameters
    ----------
    sizes:
        Synapse sizes (>= 0, any unit; e.g. ``Snapshot.sizes()``).
    references:
        Reference keys with a ``[shape]`` (default: all that have one,
        :func:`neurosim.analysis.reference.with_shape`).
    n_boot:
        Bootstrap resamples for the CI of ``sigma_ln`` (>= 50).
    ci:
        Confidence level in (0, 1).
    seed:
        Seed of the bootstrap.
    boot_cap:
        If given (>= 100) and there are more non-zero sizes than this, the bootstrap
        resamples a random subsample of ``boot_cap`` sizes (an *m-out-of-n* bootstrap,
        Bickel, Goetze & van Zwet 1997, Statistica Sinica 7:1) and the interval's
        deviations from the subsample's estimate are scaled by ``sqrt(m / n)`` around the
        full-sample ``sigma_ln`` (valid because the sample SD is asymptotically normal
        with variance proportional to ``1 / n``). This bounds the cost at
        ``n_boot * boot_cap``. The point estimate and the KS distances always use all
        sizes.

    Returns
    -------
    BiologyComparison
    """
    n_boot = V.integer("n_boot", n_boot, ge=50)
    ci = V.real("ci", ci, gt=0.0, lt=1.0)
    if boot_cap is not None:
        boot_cap = V.integer("boot_cap", boot_cap, ge=100)
    keys = reference.with_shape() if references is None else list(references)
    shaped = reference.with_shape()
    for k in keys:
        if k not in shaped:
            raise ValueError(
                f"references: {k!r} has no distribution shape; ones that do: {', '.join(shaped)}"
            )
    z, n_zero = standardised_log_sizes(sizes)
    n = int(z.size)
    sigma = float(np.std(z, ddof=1))

    rng = np.random.default_rng(seed)
    zb = z
    if boot_cap is not None and n > boot_cap:
        zb = z[rng.choice(n, int(boot_cap), replace=False)]
    nb = int(zb.size)
    boots = np.empty(n_boot)
    chunk = max(1, int(2_000_000 // max(nb, 1)))
    done = 0
    while done < n_boot:
        m = min(chunk, n_boot - done)
        sample = zb[rng.integers(0, nb, size=(m, nb))]
        boots[done:done + m] = np.std(sample, axis=1, ddof=1)
        done += m
    sigma_ci = intervals.percentile(boots, ci)
    if nb < n:  # m-out-of-n: rescale the deviations around the full-sample estimate
        sigma_ci = intervals.m_out_of_n(sigma, float(np.std(zb, ddof=1)), sigma_ci, nb, n)

    rows = []
    for k in keys:
        ref = reference.load(k)
        ks = float(stats.kstest(z, reference.standardised_cdf(ref)).statistic)
        rows.append(
            ReferenceRow(
                key=k,
                measured=ref.measured,
                sigma_ln=reference.sigma_ln(ref),
                ks=ks,
                verified=_shape_verified(ref),
            )
        )
    total = n + n_zero
    return BiologyComparison(
        n=n,
        n_zero=n_zero,
        silent_fraction=float(n_zero / total) if total else math.nan,
        sigma_ln=sigma,
        sigma_ci=sigma_ci,
        ci_level=float(ci),
        rows=rows,
    )
