"""Which synapses an analysis takes: projections of a snapshot, pooled or paired.

A *projection* is the synapses from one presynaptic population onto one postsynaptic
population (Brian2: one ``Synapses`` object; torch: one layer). :func:`choose` checks
the names asked for, :func:`pool` puts the sizes of the chosen projections together
(on a common grid when they share one), :func:`pairs` finds the synapse pairs that share
pre- and postsynaptic cell (Bartol et al. 2015).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neurosim.lns import LogGrid

__all__ = ["Pooled", "choose", "pairs", "pool"]


@dataclass
class Pooled:
    """Pooled sizes of the chosen projections of one snapshot, ready to fit."""

    sizes: np.ndarray  # float64 >= 0: what is fitted (relative to w_max if normalised)
    grid: LogGrid | None  # grid of `sizes` for a binned fit, else None
    levels: np.ndarray | None  # level codes of the gridded synapses with size > 0
    n_levels: int | None
    unit: str
    n_pos_sign: int
    n_neg_sign: int
    notes: list[str] = field(default_factory=list)


def choose(snap: Any, projections: Sequence[str] | None) -> list[str]:
    """The projection names asked for (all by default), each checked to be in ``snap``."""
    names = list(snap.projections) if projections is None else list(projections)
    missing = [n for n in names if n not in snap.projections]
    if missing:
        raise ValueError(
            f"projections: {missing[0]!r} not in snapshot; it has {sorted(snap.projections)}"
        )
    if not names:
        raise ValueError("projections: empty; name at least one projection")
    return names


def pairs(snap: Any, names: list[str]) -> tuple[np.ndarray, np.ndarray] | None:
    """Sizes of synapse pairs sharing pre and post (sparse projections), for the pair CV.

    For every (projection, pre, post) with two or more synapses, the first two are taken
    (the pairs of Bartol et al. 2015, eLife 4:e10778). ``None`` if there are none.
    """
    a_all, b_all = [], []
    for n in names:
        p = snap.projections[n]
        if p.pre is None or p.post is None:
            continue
        key = p.pre.astype(np.int64) * (int(p.post.max(initial=0)) + 1) + p.post.astype(np.int64)
        order = np.argsort(key, kind="stable")
        ks = key[order]
        first = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]])
        counts = np.diff(np.r_[first, ks.size])
        two = first[counts >= 2]
        if two.size:
            size = p.size.ravel().astype(np.float64)
            a_all.append(size[order[two]])
            b_all.append(size[order[two + 1]])
    if not a_all:
        return None
    return np.concatenate(a_all), np.concatenate(b_all)


def pool(snap: Any, names: list[str]) -> Pooled:
    """The sizes of projections ``names`` of ``snap`` together, ready to fit (see :class:`Pooled`)."""
    projs = [snap.projections[n] for n in names]
    raw = np.concatenate([p.size.ravel().astype(np.float64) for p in projs])
    signs = np.concatenate([p.sign.ravel() for p in projs])
    n_pos, n_neg = int((signs > 0).sum()), int((signs < 0).sum())
    units = sorted({p.unit for p in projs})
    unit = units[0] if len(units) == 1 else "mixed units"
    notes: list[str] = []
    if len(units) > 1:
        notes.append(f"projections have different units ({', '.join(units)}); pooled as they are")
    gridded = [p for p in projs if p.grid is not None]
    shapes = {(p.grid.levels, round(p.grid.ratio, 9)) for p in gridded}
    levels = n_levels = None
    if gridded and len(shapes) == 1:
        n_levels = gridded[0].grid.levels
        levels = np.concatenate([p.level.ravel()[p.size.ravel() > 0] for p in gridded])
        levels = levels.astype(np.int64)
    elif gridded:
        notes.append("gridded projections use different level counts or ratios: no occupancy")
    if not gridded or len(gridded) < len(projs) or len(shapes) != 1:
        if gridded:
            notes.append("gridded and continuous sizes pooled (or grids differ): continuous fits")
        return Pooled(raw, None, levels, n_levels, unit, n_pos, n_neg, notes)
    grids = {tuple(sorted(p.grid.to_dict().items())) for p in gridded}
    if len(grids) == 1:
        grid, sizes = gridded[0].grid, raw
    else:
        g0 = gridded[0].grid
        grid = LogGrid(g0.levels, g0.ratio, 1.0)
        sizes = np.concatenate([p.size.ravel().astype(np.float64) / p.grid.w_max for p in projs])
        unit = "w_max"
        notes.append(
            "projections have their own w_max: sizes are relative to their projection's "
            "w_max (unit w_max), fitted on one grid"
        )
    pos = sizes > 0
    if pos.any():
        snapped = grid.decode(grid.encode(sizes[pos], "nearest"))
        off = int((np.abs(snapped / sizes[pos] - 1.0) > 1e-3).sum())
        if off:
            notes.append(f"{off} sizes lie off their grid: continuous fits")
            return Pooled(raw, None, levels, n_levels, unit, n_pos, n_neg, notes)
        sizes = sizes.copy()
        sizes[pos] = snapped
    return Pooled(sizes, grid, levels, n_levels, unit, n_pos, n_neg, notes)
