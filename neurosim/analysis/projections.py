"""Which synapses an analysis takes together: projections, split by presynaptic sign, pooled only on request.

A *projection* is the synapses from one presynaptic population onto one postsynaptic
population (Brian2: one ``Synapses`` object such as E->E; torch: one layer). A torch
layer under Dale's principle holds two projections, from its excitatory and from its
inhibitory inputs (the columns of each sign): :func:`parts` splits it into
``"<layer> (E)"`` and ``"<layer> (I)"``. Where the snapshot also records the E/I
identity of the postsynaptic units (``post_sign``, as recurrent E/I networks do), a
Dale layer is split four ways, ``"<layer> (E->E)"``, ``(E->I)``, ``(I->E)`` and
``(I->I)``: a projection is one presynaptic onto one postsynaptic population. A layer
of signed weights (the matched ANN) has no presynaptic sign and stays one part, analysed
by size ``|w|``. Analysis is per part; :func:`parts` with ``pool=True`` puts them together, and the label says so.

:func:`pool` turns one part into the sizes a fit takes (on a common grid when the part's
pieces share one), :func:`pairs` finds the synapse pairs that share pre- and postsynaptic
cell (Bartol et al. 2015), :func:`input_totals` gives the summed size each postsynaptic
unit receives per part (the E/I balance of a Dale layer), and :func:`population_share`
how much of a recurrent matrix (of sizes, changes or gradients) lies in its four
population means.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neurosim.lns import LogGrid

__all__ = ["Piece", "Pooled", "choose", "input_totals", "pairs", "parts", "pool", "population_share"]


@dataclass
class Piece:
    """Synapses of one projection (``mask`` selects some of them, flat; ``None``: all)."""

    name: str
    proj: Any
    mask: np.ndarray | None = None

    def take(self, values: np.ndarray) -> np.ndarray:
        """``values`` (one per synapse of the projection) of this piece's synapses, flat."""
        v = np.asarray(values).ravel()
        return v if self.mask is None else v[self.mask]


@dataclass
class Pooled:
    """The sizes of one part of a snapshot, ready to fit."""

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
        raise ValueError(f"projections: {missing[0]!r} not in snapshot; it has {sorted(snap.projections)}")
    if not names:
        raise ValueError("projections: empty; name at least one projection")
    return names


def _column_signs(p: Any) -> np.ndarray | None:
    """The sign of each column of a dense ``(post, pre)`` projection whose columns each have one sign."""
    sign = np.asarray(p.sign)
    if sign.ndim != 2 or p.pre is not None or sign.shape[0] < 2:
        return None  # one postsynaptic row cannot tell a Dale layer from signed weights
    col = sign[0]
    return col if np.all(sign == col[None, :]) and np.all(col != 0) else None


def _row_signs(p: Any) -> np.ndarray | None:
    """The E/I identity of each postsynaptic unit (row) of a dense projection, where recorded."""
    rows = getattr(p, "post_sign", None)
    return None if rows is None or p.pre is not None else np.asarray(rows)


def parts(snap: Any, names: Sequence[str], *, pool: bool = False) -> dict[str, list[Piece]]:
    """The parts an analysis takes: ``{label: pieces}`` (see the module docstring)."""
    out: dict[str, list[Piece]] = {}
    for n in names:
        p = snap.projections[n]
        cols, rows = _column_signs(p), _row_signs(p)
        shape = np.shape(p.sign)
        if cols is not None and rows is not None and (rows > 0).any() and (rows < 0).any():
            for pre_sgn, pre in ((1, "E"), (-1, "I")):
                for post_sgn, post in ((1, "E"), (-1, "I")):
                    mask = ((rows[:, None] == post_sgn) & (cols[None, :] == pre_sgn)).ravel()
                    if mask.any():
                        out[f"{n} ({pre}->{post})"] = [Piece(n, p, mask)]
        elif cols is not None and (cols > 0).any() and (cols < 0).any():
            for sgn, tag in ((1, "E"), (-1, "I")):
                mask = np.broadcast_to(cols[None, :] == sgn, shape).ravel()
                out[f"{n} ({tag})"] = [Piece(n, p, mask)]
        else:
            out[n] = [Piece(n, p, None)]
    if pool and len(out) > 1:
        return {"pooled: " + " + ".join(out): [pc for pcs in out.values() for pc in pcs]}
    return out


def pairs(pieces: Sequence[Piece]) -> tuple[np.ndarray, np.ndarray] | None:
    """Sizes of synapse pairs sharing pre and post (sparse projections), for the pair CV.

    For every (projection, pre, post) with two or more synapses, the first two are taken
    (the pairs of Bartol et al. 2015, eLife 4:e10778). ``None`` if there are none.
    """
    a_all, b_all = [], []
    for pc in pieces:
        p = pc.proj
        if p.pre is None or p.post is None:
            continue
        pre, post, size = pc.take(p.pre), pc.take(p.post), pc.take(p.size).astype(np.float64)
        key = pre.astype(np.int64) * (int(post.max(initial=0)) + 1) + post.astype(np.int64)
        order = np.argsort(key, kind="stable")
        ks = key[order]
        first = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]])
        counts = np.diff(np.r_[first, ks.size])
        two = first[counts >= 2]
        if two.size:
            a_all.append(size[order[two]])
            b_all.append(size[order[two + 1]])
    if not a_all:
        return None
    return np.concatenate(a_all), np.concatenate(b_all)


def pool(pieces: Sequence[Piece]) -> Pooled:
    """The sizes of ``pieces`` together, ready to fit (see :class:`Pooled`)."""
    projs = [pc.proj for pc in pieces]
    raw = np.concatenate([pc.take(pc.proj.size).astype(np.float64) for pc in pieces])
    signs = np.concatenate([pc.take(pc.proj.sign) for pc in pieces])
    n_pos, n_neg = int((signs > 0).sum()), int((signs < 0).sum())
    units = sorted({p.unit for p in projs})
    unit = units[0] if len(units) == 1 else "mixed units"
    notes: list[str] = []
    if len(units) > 1:
        notes.append(f"projections have different units ({', '.join(units)}); pooled as they are")
    gridded = [pc for pc in pieces if pc.proj.grid is not None]
    shapes = {(pc.proj.grid.levels, round(pc.proj.grid.ratio, 9)) for pc in gridded}
    levels = n_levels = None
    if gridded and len(shapes) == 1:
        n_levels = gridded[0].proj.grid.levels
        levels = np.concatenate([pc.take(pc.proj.level)[pc.take(pc.proj.size) > 0] for pc in gridded])
        levels = levels.astype(np.int64)
    elif gridded:
        notes.append("gridded projections use different level counts or ratios: no occupancy")
    if not gridded or len(gridded) < len(pieces) or len(shapes) != 1:
        if gridded:
            notes.append("gridded and continuous sizes pooled (or grids differ): continuous fits")
        return Pooled(raw, None, levels, n_levels, unit, n_pos, n_neg, notes)
    grids = {tuple(sorted(pc.proj.grid.to_dict().items())) for pc in gridded}
    if len(grids) == 1:
        grid, sizes = gridded[0].proj.grid, raw
    else:
        g0 = gridded[0].proj.grid
        grid = LogGrid(g0.levels, g0.ratio, 1.0)
        sizes = np.concatenate([pc.take(pc.proj.size).astype(np.float64) / pc.proj.grid.w_max for pc in pieces])
        unit = "w_max"
        notes.append("projections have their own w_max: sizes are relative to their projection's w_max "
                     "(unit w_max), fitted on one grid")
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


def input_totals(snap: Any, projections: Sequence[str] | None = None) -> dict[str, dict[str, float]]:
    """The summed size each postsynaptic unit receives, per part of the dense projections.

    For each part of :func:`parts` (e.g. ``"recurrent (I->E)"``): ``summed_size`` is the
    mean over the part's postsynaptic units of the sum of the sizes they receive from it
    (in the projection's unit), ``units`` how many units that is; for sizes on a grid,
    ``at_lowest_level`` and ``at_highest_level`` are the fractions of the part's synapses
    on the grid's end levels. Sparse projections are left out.
    """
    out: dict[str, dict[str, float]] = {}
    for label, pieces in parts(snap, choose(snap, projections)).items():
        pc = pieces[0]
        p = pc.proj
        if p.pre is not None or np.ndim(p.size) != 2:
            continue
        mask = np.ones(p.size.shape, bool) if pc.mask is None else pc.mask.reshape(p.size.shape)
        rows = mask.any(axis=1)
        entry = {"summed_size": float(np.where(mask, p.size, 0.0).sum(axis=1)[rows].mean()),
                 "units": int(rows.sum())}
        if p.level is not None:
            lv = pc.take(p.level).astype(np.int64)
            entry["at_lowest_level"] = float(np.mean(lv == 0))
            entry["at_highest_level"] = float(np.mean(lv == p.grid.levels - 1))
        out[label] = entry
    return out


def population_share(matrix: Any, n_exc: int, n_exc_pre: int | None = None) -> float:
    """The share of a ``(post, pre)`` matrix's squared norm that lies in its population means.

    Postsynaptic units ``0 .. n_exc - 1`` and presynaptic units ``0 .. n_exc_pre - 1``
    (default ``n_exc``) are excitatory, the rest inhibitory. Each of the four blocks
    (E->E, E->I, I->E, I->I) is replaced by its mean, the block's coupling in a
    mean-field (Wilson-Cowan) description, and the share is
    ``sum over blocks of n_block * mean_block**2``, over ``sum(matrix**2)``. It is 1
    when every entry of a block is the same; for entries with no common part it is about
    4 / ``matrix.size``. Of a recurrent gradient, it says how much of the learning signal
    asks for a change of the populations' gains rather than of the network's structure.
    ``nan`` for an all-zero matrix.

    >>> population_share(np.ones((4, 4)), 2)
    1.0
    >>> population_share(np.array([[1., -1, 2, 0], [-1, 1, -2, 0], [3, 3, 1, 0], [-3, -3, 0, -1]]), 2)
    0.0
    """
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2:
        raise ValueError(f"matrix: must be 2-D (post, pre), got shape {m.shape}")
    n_pre = n_exc if n_exc_pre is None else n_exc_pre
    for name, n, size in (("n_exc", n_exc, m.shape[0]), ("n_exc_pre", n_pre, m.shape[1])):
        if not 0 <= n <= size:
            raise ValueError(f"{name}: must be in [0, {size}] for a matrix of shape {m.shape}, got {n}")
    total = float(np.sum(m * m))
    if total == 0.0:
        return math.nan
    blocks = (m[r, c] for r in (slice(0, n_exc), slice(n_exc, None)) for c in (slice(0, n_pre), slice(n_pre, None)))
    return float(sum(b.size * b.mean() ** 2 for b in blocks if b.size) / total)
