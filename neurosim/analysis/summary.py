"""One call per run: fits, precision, dynamics, biology and figures of a run's snapshots.

:func:`analyse_run` is what a training run calls at its end, on its snapshots in time
order; :func:`compare_runs` sets several runs (e.g. one per plasticity rule) side by side.
Both write figures (PNG and SVG) into ``out_dir`` and return Markdown, the figure paths
and a JSON-able summary.

What is computed (for the final *and* the initial snapshot, so that what learning did is
visible):

* **Fits** (:func:`neurosim.analysis.fits.fit_sizes`) of the pooled sizes of the chosen
  projections. Zeros are silent synapses: the silent fraction is reported and the
  families are fitted to the positive sizes (a hurdle model). Gridded projections
  (sizes on a :class:`~neurosim.lns.LogGrid`) are fitted by the binned likelihood of
  their levels: with one common grid directly; with grids that share the level count and
  ratio but differ in ``w_max`` (LogGridMadam keeps one ``w_max`` per tensor) on sizes
  *relative to each projection's* ``w_max`` (unit ``w_max``); otherwise (mixed grids, or
  gridded and continuous projections pooled) continuous fits with a note. The rounding
  of the binned model is ``snapshot.meta["rounding"]`` when it names one, else
  ``"nearest"`` (override with ``rounding=``).
* **Shape against biology** (:func:`neurosim.analysis.biology.compare_with_references`):
  ``sigma_ln``, the sample SD of ``ln size`` (natural log) with a percentile-bootstrap
  interval, next to each shaped reference's ``sigma_ln`` (log10 spreads converted),
  naming what each measured, and the KS distance of the standardised log sizes
  ``ln s - median(ln s)`` to each reference's shape. For the two-log-normal mixture, the
  component weights, SDs and the separation of the means are set next to Dorkenwald et
  al. (2022), eLife 11:e76120.
* **Precision** (:func:`neurosim.analysis.precision.precision_report`): for sparse
  projections with two or more synapses per (pre, post) pair, the median pair CV and
  Bartol's number of distinguishable sizes; for gridded snapshots the level occupancy,
  its Shannon entropy in bits and the levels in use,
  next to Samavat et al. (2024, 4.1-4.6 bits) and the ``log2(26) = 4.7``-bit capacity
  of Bartol et al. (2015); for every snapshot the dynamic range from the 1st to the
  99th percentile of the non-zero sizes (not max/min, which grows with the sample).
* **Dynamics** (:func:`neurosim.analysis.dynamics.size_change_scaling`): with two or more
  snapshots, the slope of ``ln std(change)`` against ``ln size`` over size bins, with a
  bootstrap interval, from the changes between *consecutive* snapshots pooled (each
  synapse contributes one change per consecutive pair); slope 1 is the multiplicative
  dynamics of Loewenstein et al. (2011), J. Neurosci. 31:9481.

Cost caps (documented so that the analysis can run at the end of every run):

* :data:`BOOT_CAP` = 20 000: the bootstrap of ``sigma_ln`` (and of fitted parameters,
  when asked for) resamples a random subsample of at most this many sizes and scales the
  interval's deviations by ``sqrt(m / n)`` (an m-out-of-n bootstrap; Bickel, Goetze &
  van Zwet 1997, Statistica Sinica 7:1). Point estimates, fits and KS use all sizes.
* :data:`DYNAMICS_CAP` = 100 000: at most this many (size, change) pairs, drawn at
  random, enter the size-change scaling.

About 1-2 s for 100 000 synapses and two snapshots without figures; figures add about
1-2 s.

Markdown links
--------------
``RunAnalysis.markdown`` (and ``RunsComparison.markdown``) link figures **relative to
the parent of** ``out_dir`` (``"<out_dir.name>/sizes.png"``), so the text belongs in a
file in ``out_dir.parent`` (e.g. a run's ``README.md`` with figures in ``analysis/``).
A copy with links relative to ``out_dir`` itself is written to ``out_dir/analysis.md``
(``out_dir/comparison.md`` for :func:`compare_runs`), and the summary to
``out_dir/summary.json``. Use one ``out_dir`` per run: figure names are fixed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from neurosim.analysis import reference
from neurosim.analysis.biology import BiologyComparison, compare_with_references
from neurosim.analysis.dynamics import ChangeScaling, size_change_scaling
from neurosim.analysis.fits import FitReport, fit_sizes
from neurosim.analysis.precision import PrecisionReport, precision_report
from neurosim.files import write_json, write_text
from neurosim.lns import ROUNDINGS, LogGrid

#: Most sizes resampled by a bootstrap (m-out-of-n above this; see the module notes).
BOOT_CAP: int = 20_000
#: Most (size, change) pairs used for the size-change scaling.
DYNAMICS_CAP: int = 100_000
DEFAULT_REFERENCES = reference.DEFAULT_REFERENCES

_SHORT = {
    "bartol2015": "Bartol et al. 2015",
    "song2005": "Song et al. 2005",
    "dorkenwald2022": "Dorkenwald et al. 2022",
    "samavat2024": "Samavat et al. 2024",
    "loewenstein2011": "Loewenstein et al. 2011",
}


def _short(key: str) -> str:
    return _SHORT.get(key, key)


def _num(x: Any) -> float | None:
    """A JSON-safe float (``None`` for NaN, inf or ``None``)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


# ============================================================== pooling
@dataclass
class _Pooled:
    """Pooled sizes of the chosen projections of one snapshot, ready to fit."""

    sizes: np.ndarray  # float64 >= 0: what is fitted (relative to w_max if normalised)
    grid: LogGrid | None  # grid of `sizes` for a binned fit, else None
    levels: np.ndarray | None  # level codes of the gridded synapses with size > 0
    n_levels: int | None
    unit: str
    n_pos_sign: int
    n_neg_sign: int
    notes: list[str] = field(default_factory=list)


def _choose(snap: Any, projections: Sequence[str] | None) -> list[str]:
    names = list(snap.projections) if projections is None else list(projections)
    missing = [n for n in names if n not in snap.projections]
    if missing:
        raise ValueError(
            f"projections: {missing[0]!r} not in snapshot; it has {sorted(snap.projections)}"
        )
    if not names:
        raise ValueError("projections: empty; name at least one projection")
    return names


def _pairs(snap: Any, names: list[str]) -> tuple[np.ndarray, np.ndarray] | None:
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


def _pool(snap: Any, names: list[str]) -> _Pooled:
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
        return _Pooled(raw, None, levels, n_levels, unit, n_pos, n_neg, notes)
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
            return _Pooled(raw, None, levels, n_levels, unit, n_pos, n_neg, notes)
        sizes = sizes.copy()
        sizes[pos] = snapped
    return _Pooled(sizes, grid, levels, n_levels, unit, n_pos, n_neg, notes)


# ====================================================== one snapshot
@dataclass
class SnapshotAnalysis:
    """Everything computed for one snapshot (see :func:`analyse_snapshot`).

    Attributes
    ----------
    fit:
        Family fits, or ``None`` with the reason in ``skipped``.
    biology:
        Shape comparison with the shaped references, or ``None``.
    precision:
        Dynamic range and (gridded) occupancy, or ``None``.
    pooled_unit:
        Unit of the fitted sizes (``"w_max"`` when normalised per projection).
    skipped:
        ``{part: reason}`` for every part that could not be computed.
    notes:
        How the sizes were pooled and fitted.
    """

    n: int
    n_zero: int
    n_pos_sign: int
    n_neg_sign: int
    fit: FitReport | None
    biology: BiologyComparison | None
    precision: PrecisionReport | None
    pooled_unit: str
    sizes: np.ndarray = field(repr=False)
    skipped: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    fit_sigma_ci: tuple[float, float] | None = None

    @property
    def silent_fraction(self) -> float:
        return self.n_zero / self.n if self.n else math.nan

    def summary(self) -> dict[str, Any]:
        """JSON-able numbers of this snapshot."""
        out: dict[str, Any] = {
            "n_synapses": self.n,
            "n_zero": self.n_zero,
            "silent_fraction": _num(self.silent_fraction),
            "sign_positive": self.n_pos_sign,
            "sign_negative": self.n_neg_sign,
            "unit": self.pooled_unit,
            "skipped": dict(self.skipped),
            "notes": list(self.notes),
        }
        f = self.fit
        if f is not None:
            out["fit_method"] = "binned" if f.binned else "continuous"
            out["best_family"] = f.best
            best_aic = f.results[f.best].aic
            out["families"] = {
                k: {"params": {p: _num(v) for p, v in r.params.items()}, "loglik": _num(r.loglik),
                    "aic": _num(r.aic), "daic": _num(r.aic - best_aic), "bic": _num(r.bic),
                    "ks": _num(r.ks)}
                for k, r in f.results.items()
            }
            if "lognorm" in f.results:
                out["lognorm_mu"] = _num(f.results["lognorm"].params["mu"])
                out["lognorm_sigma"] = _num(f.results["lognorm"].params["sigma"])
                out["lognorm_sigma_ci"] = (
                    None if self.fit_sigma_ci is None else [_num(v) for v in self.fit_sigma_ci]
                )
            if "lognorm_mix2" in f.results:
                out["mixture"] = {k: _num(v) for k, v in f.results["lognorm_mix2"].params.items()}
        b = self.biology
        if b is not None:
            out["sigma_ln"] = _num(b.sigma_ln)
            out["sigma_ln_ci"] = [_num(b.sigma_ci[0]), _num(b.sigma_ci[1])]
            out["sigma_ln_ci_level"] = b.ci_level
            out["ks_to_reference"] = {r.key: _num(r.ks) for r in b.rows}
        p = self.precision
        if p is not None:
            out["dynamic_range_1_99"] = _num(p.dynamic_range)
            if p.median_pair_cv is not None:
                out["median_pair_cv"] = _num(p.median_pair_cv)
                out["n_distinguishable"] = _num(p.n_distinguishable)
                out["bits_distinguishable"] = _num(p.bits_distinguishable)
            if p.occupancy is not None:
                o = p.occupancy
                out["levels_used"] = o.levels_in_use
                out["n_levels"] = o.n_levels
                out["entropy_bits"] = _num(o.entropy_bits)
                out["capacity_bits"] = _num(o.capacity_bits)
                out["occupancy"] = [int(c) for c in o.counts]
        return out


def analyse_snapshot(
    snap: Any,
    *,
    projections: Sequence[str] | None = None,
    families: Sequence[str] | None = None,
    shapes: Sequence[str] = ("song2005", "dorkenwald2022"),
    rounding: str | None = None,
    n_boot: int = 200,
    n_boot_fit: int = 0,
    seed: int = 0,
) -> SnapshotAnalysis:
    """Fits, shape comparison and precision of one snapshot's pooled sizes (no figures).

    Parameters
    ----------
    snap:
        A :class:`neurosim.snapshot.Snapshot`.
    projections:
        Projections to pool (default all).
    families:
        Families to fit (default all of :data:`neurosim.analysis.fits.FAMILIES`).
    shapes:
        Reference keys with a ``[shape]`` for the KS and ``sigma_ln`` comparison.
    rounding:
        Rounding of the binned model (default ``snap.meta["rounding"]`` or ``"nearest"``).
    n_boot:
        Bootstrap resamples for the interval of ``sigma_ln`` (>= 50).
    n_boot_fit:
        If > 0, also a bootstrap interval (``n_boot_fit`` >= 10 refits, capped at
        :data:`BOOT_CAP` sizes) of the fitted log-normal ``sigma``; 0 (default) skips it
        because refitting binned models is the slow part.
    seed:
        Seed of the bootstraps.
    """
    names = _choose(snap, projections)
    pooled = _pool(snap, names)
    sizes = pooled.sizes
    n_zero = int((sizes == 0).sum())
    skipped: dict[str, str] = {}
    notes = list(pooled.notes)
    if rounding is None:
        meta_r = (getattr(snap, "meta", None) or {}).get("rounding")
        rounding = meta_r if meta_r in ROUNDINGS else "nearest"
    fit = None
    fit_ci = None
    try:
        fit = fit_sizes(sizes, families=families, grid=pooled.grid, rounding=rounding,
                        unit=pooled.unit)
    except ValueError as exc:
        skipped["fit"] = str(exc)
    if fit is not None and n_boot_fit and "lognorm" in fit.results:
        fit_ci = _fit_sigma_ci(fit, sizes, families, pooled, rounding, n_boot_fit, seed)
    bio = None
    try:
        bio = compare_with_references(sizes, list(shapes), n_boot=n_boot, seed=seed,
                                      boot_cap=BOOT_CAP)
    except ValueError as exc:
        skipped["biology"] = str(exc)
    prec = None
    try:
        prec = precision_report(
            sizes,
            levels=pooled.levels if pooled.levels is not None and pooled.levels.size else None,
            n_levels=pooled.n_levels,
            pairs=_pairs(snap, names),
        )
    except ValueError as exc:
        skipped["precision"] = str(exc)
    return SnapshotAnalysis(
        n=int(sizes.size), n_zero=n_zero, n_pos_sign=pooled.n_pos_sign,
        n_neg_sign=pooled.n_neg_sign, fit=fit, biology=bio, precision=prec,
        pooled_unit=pooled.unit, sizes=sizes, skipped=skipped, notes=notes, fit_sigma_ci=fit_ci,
    )


def _fit_sigma_ci(
    fit: FitReport, sizes: np.ndarray, families: Any, pooled: _Pooled, rounding: str,
    n_boot: int, seed: int,
) -> tuple[float, float] | None:
    """Bootstrap CI of the fitted log-normal sigma, m-out-of-n above :data:`BOOT_CAP`."""
    est = fit.results["lognorm"].params["sigma"]
    pos = sizes[sizes > 0]
    n = pos.size
    try:
        if n <= BOOT_CAP:
            return fit.bootstrap_ci("sigma", "lognorm", n_boot=max(10, int(n_boot)), seed=seed)
        sub = np.random.default_rng(seed).choice(pos, BOOT_CAP, replace=False)
        rep = fit_sizes(sub, families=["lognorm"], grid=pooled.grid, rounding=rounding)
        lo, hi = rep.bootstrap_ci("sigma", "lognorm", n_boot=max(10, int(n_boot)), seed=seed)
        s_sub = rep.results["lognorm"].params["sigma"]
        f = math.sqrt(BOOT_CAP / n)
        return est + f * (lo - s_sub), est + f * (hi - s_sub)
    except ValueError:
        return None


def _dynamics(
    snapshots: Sequence[Any], names: list[str], n_boot: int, seed: int
) -> tuple[ChangeScaling | None, str | None, int]:
    """Size-change scaling from all consecutive pairs pooled; (result, reason, pairs)."""
    if len(snapshots) < 2:
        return None, "a single snapshot: no size changes", 0
    s0s, s1s = [], []
    for a, b in zip(snapshots[:-1], snapshots[1:], strict=True):
        try:
            x0, x1 = a.sizes(names), b.sizes(names)
        except KeyError as exc:
            return None, f"consecutive snapshots differ in projections ({exc})", 0
        if x0.shape != x1.shape:
            return None, f"consecutive snapshots hold {x0.size} and {x1.size} synapses", 0
        s0s.append(x0)
        s1s.append(x1)
    s0, s1 = np.concatenate(s0s), np.concatenate(s1s)
    if s0.size > DYNAMICS_CAP:
        idx = np.random.default_rng(seed).choice(s0.size, DYNAMICS_CAP, replace=False)
        s0, s1 = s0[idx], s1[idx]
    units = {p.unit for p in (snapshots[0].projections[n] for n in names)}
    unit = units.pop() if len(units) == 1 else ""
    last = "no synapses"
    for n_bins, min_count in ((12, 30), (6, 10)):
        try:
            res = size_change_scaling(s0, s1, n_bins=n_bins, min_count=min_count,
                                      n_boot=n_boot, seed=seed, unit=unit)
            return res, None, len(snapshots) - 1
        except ValueError as exc:
            last = str(exc)
    return None, last, len(snapshots) - 1


# ============================================================ figures
def _ref_density(key: str, centre_ln: float) -> Any:
    """Reference shape as a density per unit ln size, its median moved to ``centre_ln``."""
    ref = reference.load(key)
    m, s, w = reference.mixture_ln(ref)
    mc = m - reference.median_ln(ref) + centre_ln

    def f(x: np.ndarray) -> np.ndarray:
        lx = np.log(np.asarray(x, dtype=float))
        return np.sum(w * stats.norm.pdf(lx[..., None], loc=mc, scale=s), axis=-1)

    f.label = f"{_short(key)}: {ref.measured} (shape, median matched)"  # type: ignore[attr-defined]
    return f


def _overlay_refs(ax: Any, fit: FitReport, shapes: Sequence[str]) -> None:
    pos = fit.positive_sizes()
    centre = float(np.median(np.log(pos)))
    lo, hi = ax.get_xlim()
    xs = np.geomspace(lo, hi, 400)
    for i, key in enumerate(shapes):
        f = _ref_density(key, centre)
        ax.plot(xs, f(xs), ls=("--", ":", "-.")[i % 3], color="k", lw=1.3, label=f.label)
    ax.set_xlim(lo, hi)
    ax.legend(fontsize="x-small", frameon=False)


def _fit_families_to_draw(fit: FitReport) -> list[str]:
    want = [fit.best, "lognorm", "lognorm_mix2", "loguniform"]
    return [f for f in dict.fromkeys(want) if f in fit.results]


def _fig_sizes(parts: list[tuple[str, SnapshotAnalysis]], shapes: Sequence[str], title: str) -> Any:
    from neurosim.analysis.plots import plot_fit
    from neurosim.analysis.precision import pyplot

    plt = pyplot()
    k = len(parts)
    fig, axes = plt.subplots(1, k, figsize=(5.6 * k, 4.2), sharex=True, sharey=True, squeeze=False)
    for ax, (name, a) in zip(axes.ravel(), parts, strict=True):
        f = a.fit
        plot_fit(f, ax=ax, families=_fit_families_to_draw(f),
                 title=f"{name}: best {f.best}, n={f.n}, silent {100 * f.silent_fraction:.1f} %")
    for ax, (_, a) in zip(axes.ravel(), parts, strict=True):
        _overlay_refs(ax, a.fit, shapes)
    if title:
        fig.suptitle(title, fontsize="medium")
    fig.tight_layout()
    return fig


def _fig_qq(parts: list[tuple[str, SnapshotAnalysis]], title: str) -> Any:
    from neurosim.analysis.plots import plot_qq
    from neurosim.analysis.precision import pyplot

    plt = pyplot()
    k = len(parts)
    fig, axes = plt.subplots(1, k, figsize=(4.6 * k, 4.2), squeeze=False)
    for ax, (name, a) in zip(axes.ravel(), parts, strict=True):
        plot_qq(a.fit, family="lognorm", ax=ax)
        s = a.fit.results["lognorm"].params["sigma"]
        ax.set_title(f"{name}: Q-Q against fitted log-normal (sigma {s:.3f})", fontsize="small")
    if title:
        fig.suptitle(title, fontsize="medium")
    fig.tight_layout()
    return fig


def _fig_occupancy(parts: list[tuple[str, SnapshotAnalysis]], title: str) -> Any:
    from neurosim.analysis.precision import pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.0, 4.0))
    k = len(parts)
    width = 0.85 / k
    sam = reference.load("samavat2024")
    n_levels = parts[0][1].precision.occupancy.n_levels
    for i, (name, a) in enumerate(parts):
        o = a.precision.occupancy
        ax.bar(np.arange(o.n_levels) + (i - (k - 1) / 2) * width, o.fractions, width=width,
               alpha=0.8, label=f"{name}: H = {o.entropy_bits:.2f} bits, "
               f"{o.levels_in_use}/{o.n_levels} levels used")
    ax.plot([], [], " ", label=f"Samavat et al. 2024: {sam['bits_low']:g}-{sam['bits_high']:g} bits "
            f"(spine-head volume); capacity log2({n_levels}) = {math.log2(n_levels):.2f} bits")
    ax.set_xlabel("grid level (0 = smallest size, w_max / ratio)")
    ax.set_ylabel("fraction of synapses")
    ax.set_title(title or "level occupancy", fontsize="medium")
    ax.legend(fontsize="x-small", frameon=False, loc="upper left")
    fig.tight_layout()
    return fig


def _fig_dynamics(dyn: ChangeScaling, title: str) -> Any:
    from neurosim.analysis.precision import pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.6, 4.4))
    dyn.plot(ax=ax, max_points=1500, seed=0)
    b = dyn.bins
    # slope-1 line through the geometric centre of the binned points
    cx = float(np.exp(np.mean(np.log(b.center))))
    cy = float(np.exp(np.mean(np.log(b.std_change))))
    xs = np.geomspace(b.lo.min(), b.hi.max(), 50)
    ax.plot(xs, cy * xs / cx, "k--", lw=1, label="slope 1: Loewenstein et al. 2011 (spine size)")
    ax.plot(xs, np.full_like(xs, cy), "k:", lw=1, label="slope 0: additive (size-independent)")
    ax.legend(fontsize=7)
    ax.set_title(title or "size change against size (consecutive snapshots)", fontsize="medium")
    fig.tight_layout()
    return fig


def _save(fig: Any, out_dir: Path, stem: str) -> list[Path]:
    from neurosim.analysis.plots import save_figure
    from neurosim.analysis.precision import pyplot

    try:
        return save_figure(fig, out_dir / stem, tight=False)
    finally:
        pyplot().close(fig)


# ============================================================ results
@dataclass
class RunAnalysis:
    """Result of :func:`analyse_run`.

    Attributes
    ----------
    markdown:
        A self-contained Markdown section; figure links are relative to ``out_dir.parent``.
    figures:
        Paths of the written figures (PNG and SVG).
    summary:
        JSON-able numbers (also written to ``out_dir/summary.json``).
    final, initial:
        The per-snapshot analyses (``initial`` is ``None`` for a single snapshot).
    dynamics:
        Size-change scaling, or ``None``.
    """

    markdown: str
    figures: list[Path]
    summary: dict[str, Any]
    final: SnapshotAnalysis | None = field(default=None, repr=False)
    initial: SnapshotAnalysis | None = field(default=None, repr=False)
    dynamics: ChangeScaling | None = field(default=None, repr=False)


@dataclass
class RunsComparison:
    """Result of :func:`compare_runs` (same conventions as :class:`RunAnalysis`)."""

    markdown: str
    figures: list[Path]
    summary: dict[str, Any]


# ========================================================== markdown
def _fmt(x: Any, spec: str = ".3f") -> str:
    if x is None:
        return "-"
    try:
        xf = float(x)
    except (TypeError, ValueError):
        return str(x)
    return format(xf, spec) if math.isfinite(xf) else "-"


def _ci(ci: Any) -> str:
    if ci is None:
        return ""
    return f" [{_fmt(ci[0])}, {_fmt(ci[1])}]"


def _learning_table(parts: list[tuple[str, SnapshotAnalysis]]) -> str:
    """Rows: quantities; columns: the snapshots (initial, final)."""
    head = "| quantity | " + " | ".join(n for n, _ in parts) + " |"
    lines = [head, "|---|" + "---|" * len(parts)]

    def row(label: str, fn: Any) -> None:
        vals = []
        for _, a in parts:
            try:
                vals.append(fn(a))
            except (AttributeError, KeyError, TypeError):
                vals.append("-")
        if any(v != "-" for v in vals):  # leave out rows that apply to no snapshot
            lines.append(f"| {label} | " + " | ".join(vals) + " |")

    row("synapses (zero = silent)", lambda a: f"{a.n} ({a.n_zero} zero)")
    row("silent fraction", lambda a: _fmt(a.silent_fraction, ".4f"))
    row("fit", lambda a: ("binned levels" if a.fit.binned else "continuous") + f", {a.pooled_unit}")
    row("best family (AIC)", lambda a: a.fit.best)
    row("sigma of ln size (sample, 95 % CI)",
        lambda a: _fmt(a.biology.sigma_ln) + _ci(a.biology.sigma_ci))
    row("log-normal fit: mu, sigma (ln)",
        lambda a: f"{_fmt(a.fit.results['lognorm'].params['mu'])}, "
                  f"{_fmt(a.fit.results['lognorm'].params['sigma'])}" + _ci(a.fit_sigma_ci))
    row("dAIC of lognorm vs best",
        lambda a: _fmt(a.fit.results["lognorm"].aic - a.fit.results[a.fit.best].aic, ".1f"))
    row("dynamic range (1st-99th percentile)", lambda a: _fmt(a.precision.dynamic_range, ".3g") + "x")
    row("levels in use", lambda a: f"{a.precision.occupancy.levels_in_use}/"
                                   f"{a.precision.occupancy.n_levels}")
    row("occupancy entropy (bits)", lambda a: _fmt(a.precision.occupancy.entropy_bits, ".2f"))
    return "\n".join(lines) + "\n"


def _reference_table(parts: list[tuple[str, SnapshotAnalysis]], refs: Sequence[str]) -> str:
    names = [n for n, _ in parts]
    head = ("| source | measured | quantity | reference | "
            + " | ".join(f"network ({n})" for n in names) + " | verified |")
    lines = [head, "|---|---|---|---|" + "---|" * len(names) + "---|"]
    for key in refs:
        ref = reference.load(key)
        if ref.shape is not None:
            vals = []
            for _, a in parts:
                b = a.biology
                vals.append("-" if b is None else f"{_fmt(b.sigma_ln)}{_ci(b.sigma_ci)}")
            ver = all(ref.values[v].verified for v in _shape_names(ref))
            lines.append(f"| {_short(key)} | {ref.measured} | sigma of ln size | "
                         f"{_fmt(reference.sigma_ln(ref))} | " + " | ".join(vals)
                         + f" | {'yes' if ver else 'no'} |")
            ks = []
            for _, a in parts:
                b = a.biology
                r = None if b is None else next((r for r in b.rows if r.key == key), None)
                ks.append("-" if r is None else _fmt(r.ks))
            lines.append(f"| {_short(key)} | {ref.measured} | KS distance of ln s - median | 0 | "
                         + " | ".join(ks) + f" | {'yes' if ver else 'no'} |")
        elif key == "samavat2024":
            vals = [_occ(a, "entropy") for _, a in parts]
            ver = ref.values["bits_low"].verified and ref.values["bits_high"].verified
            lines.append(f"| {_short(key)} | {ref.measured} | information per synapse (bits) vs "
                         f"occupancy entropy | {ref['bits_low']:g}-{ref['bits_high']:g} | "
                         + " | ".join(vals) + f" | {'yes' if ver else 'no'} |")
        elif key == "bartol2015":
            vals = [_occ(a, "capacity") for _, a in parts]
            lines.append(f"| {_short(key)} | {ref.measured} | capacity log2(levels) (bits) | "
                         f"{ref['bits']:g} (log2 26) | " + " | ".join(vals)
                         + f" | {'yes' if ref.values['bits'].verified else 'no'} |")
            vals = [_fmt(a.precision.dynamic_range, ".3g") + "x" if a.precision else "-"
                    for _, a in parts]
            lines.append(f"| {_short(key)} | {ref.measured} | size range | "
                         f"{ref['size_ratio']:g}x (range of sizes) | " + " | ".join(vals)
                         + " (1st-99th percentile) | "
                         + f"{'yes' if ref.values['size_ratio'].verified else 'no'} |")
    return "\n".join(lines) + "\n"


def _shape_names(ref: reference.Reference) -> list[str]:
    sh = ref.shape or {}
    out = [sh[k] for k in ("mu", "sigma") if k in sh]
    for k in ("means", "sds", "weights"):
        out.extend(sh.get(k, []))
    return out


def _occ(a: SnapshotAnalysis, what: str) -> str:
    if a.precision is None or a.precision.occupancy is None:
        return "- (not gridded)"
    o = a.precision.occupancy
    if what == "entropy":
        return f"{o.entropy_bits:.2f} ({o.levels_in_use}/{o.n_levels} levels used)"
    return f"{o.capacity_bits:.2f} ({o.n_levels} levels)"


def _mixture_table(parts: list[tuple[str, SnapshotAnalysis]]) -> str:
    lines = [
        "| source | weight of small component | sigma1 (ln) | sigma2 (ln) | mu2 - mu1 (ln) |",
        "|---|---|---|---|---|",
    ]
    try:
        ref = reference.load("dorkenwald2022")
        m, s, w = reference.mixture_ln(ref)
        ver = "verified" if all(ref.values[v].verified for v in _shape_names(ref)) else "unverified"
        lines.append(f"| Dorkenwald et al. 2022 ({ref.measured}, {ver}) | {w[0]:.3f} | {s[0]:.3f} | "
                     f"{s[1]:.3f} | {m[1] - m[0]:.3f} |")
    except ValueError:
        pass
    for name, a in parts:
        if a.fit is None or "lognorm_mix2" not in a.fit.results:
            continue
        p = a.fit.results["lognorm_mix2"].params
        lines.append(f"| network, {name} | {p['w1']:.3f} | {p['sigma1']:.3f} | {p['sigma2']:.3f} | "
                     f"{p['mu2'] - p['mu1']:.3f} |")
    return "\n".join(lines) + "\n"


def _projection_table(snap: Any, names: list[str]) -> str:
    lines = ["| projection | synapses | unit | grid | zero | + / - signs |",
             "|---|---|---|---|---|---|"]
    for n in names:
        p = snap.projections[n]
        g = "-" if p.grid is None else (f"{p.grid.levels} levels, ratio {p.grid.ratio:.3g}, "
                                        f"w_max {p.grid.w_max:.4g}")
        lines.append(f"| {n} | {p.n_synapses} | {p.unit} | {g} | {int((p.size == 0).sum())} | "
                     f"{int((p.sign > 0).sum())} / {int((p.sign < 0).sum())} |")
    return "\n".join(lines) + "\n"


def _when(snap: Any) -> str:
    meta = getattr(snap, "meta", None) or {}
    for k in ("step", "epoch", "time"):
        if k in meta:
            return f"{k} {meta[k]}"
    return ""


# ============================================================ entry points
def _as_snapshot(x: Any) -> Any:
    """A Snapshot from a Snapshot, a ``{name: Projection}`` dict (``from_module``) or a path."""
    from neurosim import snapshot as snapmod

    if isinstance(x, snapmod.Snapshot):
        return x
    if isinstance(x, Mapping) and all(isinstance(v, snapmod.Projection) for v in x.values()):
        return snapmod.Snapshot(projections=dict(x))
    if isinstance(x, (str, Path)):
        return snapmod.load(x)
    if hasattr(x, "projections") and hasattr(x, "sizes"):
        return x
    raise ValueError(
        "snapshots: each must be a Snapshot, a {name: Projection} dict or a snapshot path, "
        f"got {type(x).__name__}"
    )


def _check_refs(references: Sequence[str]) -> list[str]:
    refs = list(references)
    known = reference.available()
    bad = [r for r in refs if r not in known]
    if bad:
        raise ValueError(f"references: unknown {bad[0]!r}; available: {', '.join(known)}")
    return refs


def analyse_run(
    snapshots: Sequence[Any],
    out_dir: Path,
    *,
    projections: Sequence[str] | None = None,
    families: Sequence[str] | None = None,
    references: Sequence[str] = DEFAULT_REFERENCES,
    label: str = "",
    rounding: str | None = None,
    n_boot: int = 200,
    n_boot_fit: int = 0,
    figures: bool = True,
    seed: int = 0,
) -> RunAnalysis:
    """Analyse one run's snapshots: fits, biology, precision, dynamics and figures.

    Parameters
    ----------
    snapshots:
        :class:`neurosim.snapshot.Snapshot` objects (or ``{name: Projection}`` dicts as
        returned by :func:`neurosim.snapshot.from_module`, or snapshot paths) in time
        order (first = initial, last = final); one is enough. Signed weights are analysed by size ``|w|``
        (the snapshot's ``size``); the sign counts are reported.
    out_dir:
        Folder for the figures (``sizes``, ``qq``, ``occupancy``, ``change_scaling``, each
        ``.png`` and ``.svg``), ``analysis.md`` and ``summary.json``; created if needed.
    projections:
        Projections to pool (default all of the final snapshot's).
    families:
        Families to fit (default all; ``lognorm`` is always added, since the Q-Q plot
        and the biology comparison need it).
    references:
        Reference keys: shaped ones (``song2005``, ``dorkenwald2022``) are compared by
        ``sigma_ln`` and KS and overlaid on the histograms; ``samavat2024`` and
        ``bartol2015`` go next to the precision, ``loewenstein2011`` next to the dynamics.
    label:
        Name of the run, used in headings and figure titles.
    rounding:
        Rounding of the binned model (default per snapshot: ``meta["rounding"]`` or
        ``"nearest"``).
    n_boot:
        Bootstrap resamples for the intervals of ``sigma_ln`` and of the scaling slope.
    n_boot_fit:
        Bootstrap refits for an interval of the fitted log-normal ``sigma`` (0 = off).
    figures:
        Write the figures (default True).
    seed:
        Seed of every bootstrap and subsample.

    Returns
    -------
    RunAnalysis
        ``markdown`` links figures relative to ``out_dir.parent`` (see the module notes).
    """
    if isinstance(snapshots, (str, Path, Mapping)) or hasattr(snapshots, "projections"):
        raise ValueError("snapshots: must be a sequence of snapshots in time order, got one")
    snaps = [_as_snapshot(s) for s in snapshots]
    if not snaps:
        raise ValueError("snapshots: empty; give at least one snapshot (first = initial)")
    refs = _check_refs(references)
    shapes = [r for r in refs if reference.load(r).shape is not None]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = _choose(snaps[-1], projections)
    fams = None if families is None else list(dict.fromkeys(["lognorm", *families]))
    kw = dict(projections=names, families=fams, shapes=shapes, rounding=rounding,
              n_boot=n_boot, n_boot_fit=n_boot_fit, seed=seed)
    final = analyse_snapshot(snaps[-1], **kw)
    initial = analyse_snapshot(snaps[0], **kw) if len(snaps) > 1 else None
    dyn, dyn_reason, n_pairs = _dynamics(snaps, names, max(20, n_boot), seed)

    parts = ([("initial", initial)] if initial is not None else []) + [("final", final)]
    title = label or "run"
    figs: list[Path] = []
    fig_skipped: dict[str, str] = {}
    if figures:
        fitted = [(n, a) for n, a in parts if a.fit is not None]
        if fitted:
            figs += _save(_fig_sizes(fitted, shapes, title), out_dir, "sizes")
            figs += _save(_fig_qq(fitted, title), out_dir, "qq")
        else:
            fig_skipped["sizes"] = fig_skipped["qq"] = "no snapshot could be fitted"
        occ = [(n, a) for n, a in parts if a.precision is not None and a.precision.occupancy]
        if occ:
            figs += _save(_fig_occupancy(occ, f"{title}: level occupancy"), out_dir, "occupancy")
        else:
            fig_skipped["occupancy"] = "no gridded projection"
        if dyn is not None:
            figs += _save(_fig_dynamics(dyn, f"{title}: size change against size"), out_dir,
                          "change_scaling")
        else:
            fig_skipped["change_scaling"] = dyn_reason or "no dynamics"

    summary: dict[str, Any] = {
        "label": label,
        "n_snapshots": len(snaps),
        "projections": names,
        "references": refs,
        "final": final.summary(),
        "initial": None if initial is None else initial.summary(),
        "dynamics": _dyn_summary(dyn, dyn_reason, n_pairs),
        "figures": [p.name for p in figs],
        "figures_skipped": fig_skipped,
        "caps": {"boot_cap": BOOT_CAP, "dynamics_cap": DYNAMICS_CAP},
    }
    # flat headline numbers of the final snapshot, for a runner's table
    fs = summary["final"]
    summary["headline"] = {
        "best_family": fs.get("best_family"),
        "sigma_ln": fs.get("sigma_ln"),
        "sigma_ln_ci": fs.get("sigma_ln_ci"),
        "silent_fraction": fs.get("silent_fraction"),
        "levels_used": fs.get("levels_used"),
        "entropy_bits": fs.get("entropy_bits"),
        "dynamic_range_1_99": fs.get("dynamic_range_1_99"),
        "scaling_slope": summary["dynamics"].get("slope"),
        "scaling_slope_ci": summary["dynamics"].get("ci"),
        "ks_to_reference": fs.get("ks_to_reference"),
    }

    def md(prefix: str) -> str:
        return _run_markdown(snaps, names, parts, dyn, dyn_reason, n_pairs, refs, figs,
                             fig_skipped, label, prefix)

    write_text(out_dir / "analysis.md", md(""))
    write_json(out_dir / "summary.json", summary)
    return RunAnalysis(markdown=md(out_dir.name + "/"), figures=figs, summary=summary,
                       final=final, initial=initial, dynamics=dyn)


def _dyn_summary(dyn: ChangeScaling | None, reason: str | None, n_pairs: int) -> dict[str, Any]:
    if dyn is None:
        return {"skipped": reason, "snapshot_pairs": n_pairs}
    return {
        "slope": _num(dyn.slope), "ci": [_num(dyn.ci[0]), _num(dyn.ci[1])],
        "ci_level": dyn.ci_level, "se": _num(dyn.se), "n_bins": int(dyn.bins.count.size),
        "n_used": dyn.n_used, "n_zero_excluded": dyn.n_zero_excluded,
        "snapshot_pairs": n_pairs, "loewenstein2011_slope": 1.0,
    }


def _fig_md(figs: list[Path], prefix: str, stem: str, caption: str) -> str:
    png = [p for p in figs if p.name == f"{stem}.png"]
    if not png:
        return ""
    return f"![{caption}]({prefix}{stem}.png)\n\n({caption}; [SVG]({prefix}{stem}.svg))\n\n"


def _run_markdown(
    snaps: list[Any], names: list[str], parts: list[tuple[str, SnapshotAnalysis]],
    dyn: ChangeScaling | None, dyn_reason: str | None, n_pairs: int, refs: list[str],
    figs: list[Path], fig_skipped: dict[str, str], label: str, prefix: str,
) -> str:
    out = [f"## Synapse sizes{': ' + label if label else ''}\n"]
    first, last = _when(snaps[0]), _when(snaps[-1])
    span = f" ({first} to {last})" if first and last and len(snaps) > 1 else ""
    out.append(f"{len(snaps)} snapshot(s){span}; initial = first, final = last. "
               "Sizes are |w| (signs kept separately); zeros are silent synapses, counted "
               "and left out of the fits (hurdle model).\n")
    out.append(_projection_table(snaps[-1], names))
    out.append("### What learning did (initial against final)\n" if len(parts) > 1
               else "### Summary (one snapshot)\n")
    out.append(_learning_table(parts))
    notes = sorted({n for _, a in parts for n in a.notes})
    skipped = [f"{name}: {k} skipped ({v})" for name, a in parts for k, v in a.skipped.items()]
    if notes or skipped:
        out.append("Notes: " + "; ".join(notes + skipped) + ".\n")
    out.append(_fig_md(figs, prefix, "sizes",
                       "histogram of sizes (log x) with fitted densities and reference shapes"))
    out.append(_fig_md(figs, prefix, "qq", "Q-Q plot against the fitted log-normal"))
    out.append("### Comparison with biology (shape, not scale)\n")
    out.append("Network units and microns or millivolts cannot be compared, so shapes are: "
               "sigma of ln size (natural log; log10 references converted) with its "
               "bootstrap interval, and the KS distance between standardised log sizes "
               "(ln s - median). Unverified reference numbers are marked.\n")
    out.append(_reference_table(parts, refs))
    if any(a.fit is not None and "lognorm_mix2" in a.fit.results for _, a in parts):
        out.append("Two-log-normal mixture components (natural-log units, sorted by mean):\n")
        out.append(_mixture_table(parts))
    if any(a.precision is not None and (a.precision.occupancy is not None
                                         or a.precision.median_pair_cv is not None)
           for _, a in parts):
        out.append("### Precision (levels; pairs of synapses sharing pre and post)\n")
        for name, a in parts:
            if a.precision is not None:
                out.append(f"- {name}: {a.precision.markdown()}")
        out.append("")
        out.append(_fig_md(figs, prefix, "occupancy", "level occupancy"))
    out.append("### Dynamics: size change against size\n")
    if dyn is None:
        out.append(f"Not computed: {dyn_reason}.\n")
    else:
        out.append(f"From {n_pairs} consecutive snapshot pair(s), pooled: slope of "
                   f"ln std(change) against ln size = {dyn.slope:.3f} "
                   f"({100 * dyn.ci_level:.0f} % bootstrap CI {dyn.ci[0]:.3f} to {dyn.ci[1]:.3f}), "
                   f"{dyn.bins.count.size} bins, n = {dyn.n_used} "
                   f"({dyn.n_zero_excluded} with a zero size excluded). Multiplicative "
                   "dynamics (changes proportional to size, Loewenstein et al. 2011) give 1, "
                   "additive dynamics 0; for Madam-family rules 1 holds by construction.\n")
        out.append(_fig_md(figs, prefix, "change_scaling", "size change against size"))
    if fig_skipped:
        out.append("Figures not drawn: " + "; ".join(f"{k} ({v})" for k, v in fig_skipped.items())
                   + ".\n")
    out.append("Final-snapshot fits:\n")
    out.append(parts[-1][1].fit.table() if parts[-1][1].fit is not None else "(no fit)\n")
    if len(parts) > 1:
        out.append("Initial-snapshot fits:\n")
        out.append(parts[0][1].fit.table() if parts[0][1].fit is not None else "(no fit)\n")
    return "\n".join(out)


def compare_runs(
    runs: Mapping[str, Sequence[Any]],
    out_dir: Path,
    *,
    projections: Sequence[str] | None = None,
    families: Sequence[str] | None = None,
    references: Sequence[str] = DEFAULT_REFERENCES,
    n_boot: int = 200,
    figures: bool = True,
    seed: int = 0,
) -> RunsComparison:
    """Several runs (e.g. one per rule) side by side: final size distributions on shared axes.

    Parameters
    ----------
    runs:
        ``{name: snapshots in time order}``; the final snapshot of each is compared, the
        initial one and the dynamics are summarised too.
    out_dir:
        Folder for ``runs_panel`` (side-by-side histograms with fits on shared axes),
        ``runs_shapes`` (standardised log sizes of every run with the reference shapes)
        and ``runs_sigma`` (sigma of ln size per run with intervals), PNG and SVG, plus
        ``comparison.md`` and ``summary.json``.
    projections, families, references, n_boot, figures, seed:
        As for :func:`analyse_run`.

    Returns
    -------
    RunsComparison
        ``markdown`` links figures relative to ``out_dir.parent``.
    """
    if not runs:
        raise ValueError("runs: empty; give {name: [snapshots...]}")
    refs = _check_refs(references)
    shapes = [r for r in refs if reference.load(r).shape is not None]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fams = None if families is None else list(dict.fromkeys(["lognorm", *families]))
    per: dict[str, dict[str, Any]] = {}
    finals: dict[str, SnapshotAnalysis] = {}
    for name, snapshots in runs.items():
        snaps = [_as_snapshot(s) for s in snapshots]
        if not snaps:
            raise ValueError(f"runs: {name!r} has no snapshots")
        names = _choose(snaps[-1], projections)
        kw = dict(projections=names, families=fams, shapes=shapes, n_boot=n_boot, seed=seed)
        fin = analyse_snapshot(snaps[-1], **kw)
        ini = analyse_snapshot(snaps[0], **kw) if len(snaps) > 1 else None
        dyn, reason, n_pairs = _dynamics(snaps, names, max(20, n_boot), seed)
        finals[name] = fin
        per[name] = {"final": fin.summary(), "initial": None if ini is None else ini.summary(),
                     "dynamics": _dyn_summary(dyn, reason, n_pairs)}

    figs: list[Path] = []
    if figures:
        from neurosim.analysis.plots import plot_runs
        from neurosim.analysis.precision import pyplot

        fitted = {k: a.fit for k, a in finals.items() if a.fit is not None}
        if fitted:
            fig = plot_runs(fitted)
            for ax, rep in zip(fig.axes, fitted.values(), strict=False):
                _overlay_refs(ax, rep, shapes)
                ax.title.set_fontsize("small")
            fig.suptitle("final size distributions per run (shared axes)", fontsize="medium")
            fig.tight_layout()
            figs += _save(fig, out_dir, "runs_panel")
        plt = pyplot()
        with_sizes = {k: a for k, a in finals.items() if a.biology is not None}
        if with_sizes:
            fig, ax = plt.subplots(figsize=(6.4, 4.4))
            zs = {k: np.log(a.sizes[a.sizes > 0]) - np.median(np.log(a.sizes[a.sizes > 0]))
                  for k, a in with_sizes.items()}
            lo = min(float(z.min()) for z in zs.values())
            hi = max(float(z.max()) for z in zs.values())
            lo, hi = min(lo, -3.0), max(hi, 3.0)
            edges = np.linspace(lo, hi, 61)
            for k, z in zs.items():
                d, _ = np.histogram(z, bins=edges, density=True)
                ax.stairs(d, edges, lw=1.5, label=f"{k} (n={z.size})")
            xs = np.linspace(lo, hi, 400)
            for i, key in enumerate(shapes):
                f = _ref_density(key, 0.0)
                ax.plot(xs, f(np.exp(xs)), ls=("--", ":", "-.")[i % 3], color="k", lw=1.3,
                        label=f.label.replace(" (shape, median matched)", ""))
            ax.set_xlabel("ln size - median ln size (dimensionless)")
            ax.set_ylabel("density per unit ln size")
            ax.set_title("shapes of the final size distributions", fontsize="medium")
            ax.legend(fontsize="x-small", frameon=False)
            fig.tight_layout()
            figs += _save(fig, out_dir, "runs_shapes")

            fig, ax = plt.subplots(figsize=(6.4, 0.5 * len(with_sizes) + 2.2))
            ks = list(with_sizes)
            y = np.arange(len(ks))
            sig = np.array([with_sizes[k].biology.sigma_ln for k in ks])
            cis = np.array([with_sizes[k].biology.sigma_ci for k in ks])
            ax.errorbar(sig, y, xerr=[sig - cis[:, 0], cis[:, 1] - sig], fmt="o", capsize=3,
                        label="network (95 % bootstrap CI)")
            for i, key in enumerate(shapes):
                ref = reference.load(key)
                ax.axvline(reference.sigma_ln(ref), color="k", ls=("--", ":", "-.")[i % 3],
                           lw=1, label=f"{_short(key)} ({ref.measured})")
            ax.set_yticks(y, ks)
            ax.set_xlabel("sigma of ln size (natural log, dimensionless)")
            ax.set_title("spread of log sizes per run", fontsize="medium")
            ax.legend(fontsize="x-small", frameon=False)
            fig.tight_layout()
            figs += _save(fig, out_dir, "runs_sigma")

    summary = {"runs": per, "references": refs, "figures": [p.name for p in figs],
               "caps": {"boot_cap": BOOT_CAP, "dynamics_cap": DYNAMICS_CAP}}

    def md(prefix: str) -> str:
        return _runs_markdown(per, finals, figs, prefix, fams)

    write_text(out_dir / "comparison.md", md(""))
    write_json(out_dir / "summary.json", summary)
    return RunsComparison(markdown=md(out_dir.name + "/"), figures=figs, summary=summary)


def _runs_markdown(
    per: dict[str, dict[str, Any]], finals: dict[str, SnapshotAnalysis], figs: list[Path],
    prefix: str, fams: list[str] | None,
) -> str:
    out = ["## Runs compared: final synapse-size distributions\n"]
    lines = [
        "| run | synapses | silent fraction | best (AIC) | sigma ln [95 % CI] | sigma ln initial | "
        "levels used | entropy (bits) | range 1-99 % | change-scaling slope [CI] | "
        "KS Song 2005 | KS Dorkenwald 2022 |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, d in per.items():
        f, i, dy = d["final"], d["initial"] or {}, d["dynamics"]
        ks = f.get("ks_to_reference") or {}
        lu = f"{f['levels_used']}/{f['n_levels']}" if "levels_used" in f else "-"
        lines.append(
            f"| {name} | {f['n_synapses']} | {_fmt(f['silent_fraction'], '.4f')} | "
            f"{f.get('best_family', '-')} | {_fmt(f.get('sigma_ln'))}{_ci(f.get('sigma_ln_ci'))} | "
            f"{_fmt(i.get('sigma_ln'))} | {lu} | {_fmt(f.get('entropy_bits'), '.2f')} | "
            f"{_fmt(f.get('dynamic_range_1_99'), '.3g')} | "
            f"{_fmt(dy.get('slope'))}{_ci(dy.get('ci'))} | {_fmt(ks.get('song2005'))} | "
            f"{_fmt(ks.get('dorkenwald2022'))} |"
        )
    out.append("\n".join(lines) + "\n")
    out.append("Samavat et al. 2024: 4.1-4.6 bits (unverified); capacity of 26 levels: "
               "log2(26) = 4.70 bits (Bartol et al. 2015). Loewenstein et al. 2011: slope 1.\n")
    fam_set = list(dict.fromkeys(k for a in finals.values() if a.fit for k in a.fit.results))
    if fam_set:
        out.append("dAIC per family (final snapshots; 0 = best):\n")
        rows = ["| run | " + " | ".join(fam_set) + " |", "|---|" + "---|" * len(fam_set)]
        for name, a in finals.items():
            if a.fit is None:
                rows.append(f"| {name} | " + " | ".join("-" for _ in fam_set) + " |")
                continue
            b = a.fit.results[a.fit.best].aic
            rows.append(f"| {name} | " + " | ".join(
                _fmt(a.fit.results[k].aic - b, ".1f") if k in a.fit.results else "-"
                for k in fam_set) + " |")
        out.append("\n".join(rows) + "\n")
    out.append(_fig_md(figs, prefix, "runs_panel", "final size distributions per run, shared axes"))
    out.append(_fig_md(figs, prefix, "runs_shapes", "standardised log sizes with reference shapes"))
    out.append(_fig_md(figs, prefix, "runs_sigma", "sigma of ln size per run with intervals"))
    for name, a in finals.items():
        out.append(f"### {name}: final-snapshot fits\n")
        out.append(a.fit.table() if a.fit is not None else f"(no fit: {a.skipped.get('fit')})\n")
    return "\n".join(out)


__all__ = [
    "BOOT_CAP",
    "DEFAULT_REFERENCES",
    "DYNAMICS_CAP",
    "RunAnalysis",
    "RunsComparison",
    "SnapshotAnalysis",
    "analyse_run",
    "analyse_snapshot",
    "compare_runs",
]
