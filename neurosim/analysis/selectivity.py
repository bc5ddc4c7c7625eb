"""Did a rule learn? Selectivity for a group of inputs, as the area under the ROC curve.

The functional test of :mod:`neurosim.brian.song` (after Song, Miller & Abbott 2000, Nat.
Neurosci. 3:919): a group of inputs fires with zero-lag correlations, the rest
independently, all at one rate. A rule that picks up the correlation makes the group's
synapses larger. :func:`auc` is the probability that a synapse of the group is larger
than one outside it (ties count one half: the Mann-Whitney U statistic over
``n_group * n_rest``), 0.5 for no selectivity, 1 for complete separation; it needs no
distributional assumption and is the same for sizes, levels or log sizes.

:func:`selection_time` is the first time the AUC reaches a criterion and stays there:
a learning timescale at which rules can be compared (matched speed), rather than at
matched total movement, which matches noise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

__all__ = ["auc", "auc_trajectory", "selection_time", "size_ratio"]


def auc(sizes: np.ndarray, group: np.ndarray) -> float:
    """``P(size of a group synapse > size of another) + P(tie) / 2`` (NaN if either side is empty).

    ``group`` is a boolean mask over ``sizes`` (one per synapse).
    """
    x = np.asarray(sizes, dtype=np.float64).ravel()
    g = np.asarray(group, dtype=bool).ravel()
    if g.shape != x.shape:
        raise ValueError(f"group: must have one entry per size ({x.size}), got {g.size}")
    n1, n0 = int(g.sum()), int((~g).sum())
    if n1 == 0 or n0 == 0:
        return math.nan
    ranks = stats.rankdata(x)  # average ranks: ties count one half
    u = ranks[g].sum() - n1 * (n1 + 1) / 2.0
    return float(u / (n1 * n0))


def size_ratio(sizes: np.ndarray, group: np.ndarray) -> float:
    """Mean size of the group over the mean size of the rest: how much, not only whether.

    The AUC saturates at 1 as soon as the two groups separate; a soft-bound rule that lifts
    the group by a few percent with little spread scores 1 there and about 1.05 here.
    """
    x = np.asarray(sizes, dtype=np.float64).ravel()
    g = np.asarray(group, dtype=bool).ravel()
    if g.shape != x.shape:
        raise ValueError(f"group: must have one entry per size ({x.size}), got {g.size}")
    if not g.any() or g.all():
        return math.nan
    rest = x[~g].mean()
    return float(x[g].mean() / rest) if rest > 0 else math.inf


def auc_trajectory(size_series: Sequence[np.ndarray], group: np.ndarray) -> np.ndarray:
    """:func:`auc` of each snapshot's sizes (same synapses, same order, in time order)."""
    return np.array([auc(s, group) for s in size_series], dtype=np.float64)


def selection_time(times: Sequence[float], aucs: Sequence[float], criterion: float = 0.75) -> float:
    """The first time from which the AUC stays at or above ``criterion`` (NaN if it never does)."""
    t = np.asarray(times, dtype=np.float64)
    a = np.asarray(aucs, dtype=np.float64)
    if t.shape != a.shape:
        raise ValueError(f"aucs: must have one value per time ({t.size}), got {a.size}")
    below = np.flatnonzero(~(a >= criterion))
    if below.size == 0:
        return float(t[0]) if t.size else math.nan
    last = below[-1]
    return float(t[last + 1]) if last + 1 < t.size else math.nan
