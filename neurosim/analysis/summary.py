"""One call per run: fits, model choice, biology, precision and size dynamics, per projection.

:func:`analyse_run` is what a training run calls at its end, on its snapshots in time
order (and its size traces, :mod:`neurosim.traces`); :func:`compare_runs` sets several
runs (e.g. one per rule, with its control) side by side. Both write figures (PNG and SVG)
into ``out_dir`` and return Markdown, the figure paths and a JSON-able summary.

Everything is computed **per part** (:func:`neurosim.analysis.projections.parts`: each
projection, a torch layer's excitatory and inhibitory inputs apart), for the initial and
the final snapshot, so that what learning did, and to which projection, is visible;
``pool=True`` puts the parts together, labelled as such. Per part:

* **fits** (:func:`~neurosim.analysis.fits.fit_sizes`; gridded parts by the binned
  likelihood of their levels, end levels and clips as point masses) and the **family
  chosen** by the calibrated rule of :mod:`neurosim.analysis.selection`, with an absolute
  goodness of fit, a bimodality coefficient, and the choice repeated at the sample size of
  Dorkenwald et al. (2022, n = 1960);
* **shape against biology** (:func:`~neurosim.analysis.biology.compare_with_references`):
  ``sigma`` of ln size with a bootstrap interval beside each shaped reference, and the KS
  distance of the standardised log sizes;
* **precision** (:func:`~neurosim.analysis.precision.precision_report`): level occupancy
  and its entropy (initial and final, beside Samavat et al. 2024), the dynamic range, and
  the pair CV where synapses share pre and post;
* **dynamics** (:func:`~neurosim.analysis.dynamics.interval_scaling`): the slope of
  ln std(change) against ln size and the drift of ln size at every interval from one
  update to the whole run, from the size traces (or the snapshots when a run has none),
  synapses on end levels or at a clip excluded and counted; the headline at a stated
  fraction of the turnover time.

Cost caps: :data:`BOOT_CAP` sizes per bootstrap (m-out-of-n above it,
:func:`neurosim.analysis.intervals.m_out_of_n`); dynamics use at most 20 000 pairs per
interval. Markdown links are relative to ``out_dir.parent``; a copy with links relative to
``out_dir`` is written to ``out_dir/analysis.md`` (``comparison.md``), the summary to
``out_dir/summary.json``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neurosim.analysis import intervals, plots, reference, selection
from neurosim.analysis import projections as P
from neurosim.analysis import tables as T
from neurosim.analysis.biology import BiologyComparison, compare_with_references
from neurosim.analysis.dynamics import IntervalScaling, interval_scaling
from neurosim.analysis.fits import FitReport, fit_sizes
from neurosim.analysis.precision import PrecisionReport, precision_report
from neurosim.files import write_json, write_text
from neurosim.lns import ROUNDINGS

#: Most sizes resampled by a bootstrap (m-out-of-n above this).
BOOT_CAP: int = 20_000
DEFAULT_REFERENCES = reference.DEFAULT_REFERENCES
#: The reference whose sample size the model choice is repeated at.
REFERENCE_SIZE = "dorkenwald2022"


def _num(x: Any) -> float | None:
    """A JSON-safe float (``None`` for NaN, inf or ``None``)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


# ============================================================== one part, one snapshot
@dataclass
class SnapshotAnalysis:
    """Everything computed for one part of one snapshot (see :func:`analyse_part`)."""

    part: str
    n: int
    n_zero: int
    n_pos_sign: int
    n_neg_sign: int
    fit: FitReport | None
    selection: selection.Selection | None
    biology: BiologyComparison | None
    precision: PrecisionReport | None
    pooled_unit: str
    sizes: np.ndarray = field(repr=False)
    skipped: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    fit_sigma_ci: tuple[float, float] | None = None
    reference_size: dict[str, Any] | None = None

    @property
    def silent_fraction(self) -> float:
        return self.n_zero / self.n if self.n else math.nan

    def summary(self) -> dict[str, Any]:
        """JSON-able numbers."""
        out: dict[str, Any] = {"n_synapses": self.n, "n_zero": self.n_zero,
                               "silent_fraction": _num(self.silent_fraction), "sign_positive": self.n_pos_sign,
                               "sign_negative": self.n_neg_sign, "unit": self.pooled_unit,
                               "skipped": dict(self.skipped), "notes": list(self.notes)}
        f = self.fit
        if f is not None:
            out["fit_method"] = "binned" if f.binned else "continuous"
            out["best_family_aic"] = f.best
            out["point_masses"] = dict(f.point_masses)
            out["families"] = {k: {"params": {p: _num(v) for p, v in r.params.items()}, "loglik": _num(r.loglik),
                                   "aic": _num(r.aic), "bic": _num(r.bic), "ks": _num(r.ks),
                                   "converged": r.success, "message": r.message}
                               for k, r in f.results.items()}
            if "lognorm" in f.results:
                out["lognorm_mu"] = _num(f.results["lognorm"].params["mu"])
                out["lognorm_sigma"] = _num(f.results["lognorm"].params["sigma"])
                out["lognorm_sigma_ci"] = None if self.fit_sigma_ci is None else [_num(v) for v in self.fit_sigma_ci]
        if self.selection is not None:
            out["chosen_family"] = self.selection.chosen
            out["selection"] = self.selection.summary()
        if self.reference_size is not None:
            out["at_reference_size"] = self.reference_size
        b = self.biology
        if b is not None:
            out["sigma_ln"] = _num(b.sigma_ln)
            out["sigma_ln_ci"] = [_num(b.sigma_ci[0]), _num(b.sigma_ci[1])]
            out["ks_to_reference"] = {r.key: _num(r.ks) for r in b.rows}
        p = self.precision
        if p is not None:
            out["dynamic_range_1_99"] = _num(p.dynamic_range)
            if p.median_pair_cv is not None:
                out["median_pair_cv"] = _num(p.median_pair_cv)
                out["n_distinguishable"] = _num(p.n_distinguishable)
            if p.occupancy is not None:
                o = p.occupancy
                out.update(levels_used=o.levels_in_use, n_levels=o.n_levels, entropy_bits=_num(o.entropy_bits),
                           capacity_bits=_num(o.capacity_bits), occupancy=[int(c) for c in o.counts])
        return out


def _rounding(snap: Any, rounding: str | None) -> str:
    if rounding is not None:
        return rounding
    meta_r = (getattr(snap, "meta", None) or {}).get("rounding")
    return meta_r if meta_r in ROUNDINGS else "nearest"


def analyse_part(label: str, pieces: Sequence[P.Piece], *, families: Sequence[str] | None = None,
                 shapes: Sequence[str] = ("song2005", "dorkenwald2022"), rounding: str = "nearest",
                 n_boot: int = 200, n_boot_fit: int = 0, reference_n: int | None = None,
                 seed: int = 0) -> SnapshotAnalysis:
    """Fits, model choice, shape comparison and precision of one part of a snapshot (no figures).

    ``reference_n``: repeat the model choice on subsamples of this size
    (:func:`neurosim.analysis.selection.at_reference_size`; ``None``: skip).
    """
    pooled = P.pool(pieces)
    sizes = pooled.sizes
    skipped: dict[str, str] = {}
    fit = sel = fit_ci = ref_size = None
    try:
        fit = fit_sizes(sizes, families=families, grid=pooled.grid, rounding=rounding, unit=pooled.unit)
    except ValueError as exc:
        skipped["fit"] = str(exc)
    if fit is not None:
        try:
            sel = selection.select(fit)
        except ValueError as exc:
            skipped["selection"] = str(exc)
        if n_boot_fit and "lognorm" in fit.results:
            fit_ci = _fit_sigma_ci(fit, sizes, pooled, rounding, n_boot_fit, seed)
        if reference_n:
            ref_size = selection.at_reference_size(sizes, reference_n, grid=pooled.grid, rounding=rounding,
                                                   seed=seed)
    bio = prec = None
    try:
        bio = compare_with_references(sizes, list(shapes), n_boot=n_boot, seed=seed, boot_cap=BOOT_CAP)
    except ValueError as exc:
        skipped["biology"] = str(exc)
    try:
        prec = precision_report(sizes, levels=pooled.levels if pooled.levels is not None and pooled.levels.size
                                else None, n_levels=pooled.n_levels, pairs=P.pairs(pieces))
    except ValueError as exc:
        skipped["precision"] = str(exc)
    return SnapshotAnalysis(label, int(sizes.size), int((sizes == 0).sum()), pooled.n_pos_sign, pooled.n_neg_sign,
                            fit, sel, bio, prec, pooled.unit, sizes, skipped, list(pooled.notes), fit_ci, ref_size)


def analyse_snapshot(snap: Any, *, projections: Sequence[str] | None = None, pool: bool = False,
                     rounding: str | None = None, **kw: Any) -> dict[str, SnapshotAnalysis]:
    """:func:`analyse_part` for every part of ``snap`` (see :func:`neurosim.analysis.projections.parts`)."""
    names = P.choose(snap, projections)
    return {label: analyse_part(label, pcs, rounding=_rounding(snap, rounding), **kw)
            for label, pcs in P.parts(snap, names, pool=pool).items()}


def _fit_sigma_ci(fit: FitReport, sizes: np.ndarray, pooled: P.Pooled, rounding: str, n_boot: int,
                  seed: int) -> tuple[float, float] | None:
    """Bootstrap CI of the fitted log-normal sigma, m-out-of-n above :data:`BOOT_CAP`."""
    est = fit.results["lognorm"].params["sigma"]
    pos = sizes[sizes > 0]
    try:
        if pos.size <= BOOT_CAP:
            return fit.bootstrap_ci("sigma", "lognorm", n_boot=max(10, int(n_boot)), seed=seed)
        sub = np.random.default_rng(seed).choice(pos, BOOT_CAP, replace=False)
        rep = fit_sizes(sub, families=["lognorm"], grid=pooled.grid, rounding=rounding)
        sub_ci = rep.bootstrap_ci("sigma", "lognorm", n_boot=max(10, int(n_boot)), seed=seed)
        return intervals.m_out_of_n(est, rep.results["lognorm"].params["sigma"], sub_ci, BOOT_CAP, pos.size)
    except ValueError:
        return None


# ============================================================== dynamics of one part
def part_dynamics(pieces: Sequence[P.Piece], snapshots: Sequence[Any], traces: Any = None, *, n_boot: int = 100,
                  seed: int = 0) -> tuple[IntervalScaling | None, str | None]:
    """Size changes of one part at every interval: from its traces, else from its snapshots.

    From snapshots, only grid end levels are excluded as bounds (a float rule's clips are not
    recorded in a snapshot); the traces carry the rule's clips (:attr:`ProjectionTrace.bounds`).
    """
    if traces is not None and all(pc.name in traces.projections for pc in pieces):
        cols, at, bounds, unit = [], [], [], traces.unit
        for pc in pieces:
            tr = traces.projections[pc.name]
            sel = np.ones(tr.index.size, dtype=bool) if pc.mask is None else pc.mask[tr.index]
            cols.append(tr.size[:, sel])
            at.append(np.stack([tr.at_bound(t) for t in range(tr.size.shape[0])])[:, sel])
            bounds.append(_bounds_of(tr.grid, tr.bounds))
        size, time, source = np.concatenate(cols, axis=1), traces.time, "traces"
    else:
        if len(snapshots) < 2:
            return None, "a single snapshot and no traces: no size changes"
        try:
            size = np.stack([np.concatenate([pc.take(s.projections[pc.name].size) for pc in pieces])
                             for s in snapshots]).astype(np.float64)
        except (KeyError, ValueError) as exc:
            return None, f"snapshots differ in their projections ({exc})"
        at = [np.stack([np.concatenate([_at_bound(pc, s.projections[pc.name]) for pc in pieces])
                        for s in snapshots])]
        bounds = [_bounds_of(pieces[0].proj.grid, None)]
        time = np.array([_time_of(s, i) for i, s in enumerate(snapshots)], dtype=np.float64)
        unit, source = _time_unit(snapshots[0]), "snapshots"
    if size.shape[1] == 0 or not np.any(size[1:] != size[:-1]):
        return None, f"no size changed between the {source}"
    at_bound = np.concatenate(at, axis=1)
    common = bounds[0] if all(b == bounds[0] for b in bounds) else None
    res = interval_scaling(time, size, at_bound=at_bound, bounds=common, unit=unit, n_boot=n_boot, seed=seed)
    res.note = (res.note + "; " if res.note else "") + f"from the {source}"
    return res, None


def _bounds_of(grid: Any, bounds: Any) -> tuple[float, float] | None:
    if grid is not None:
        return (grid.w_min, grid.w_max)
    return None if bounds is None else (float(bounds[0]), float(bounds[1]))


def _at_bound(pc: P.Piece, proj: Any) -> np.ndarray:
    if proj.level is not None and proj.grid is not None:
        lv = pc.take(proj.level)
        return (lv == 0) | (lv == proj.grid.levels - 1)
    return np.zeros(pc.take(proj.size).size, dtype=bool)


def _time_of(snap: Any, i: int) -> float:
    meta = getattr(snap, "meta", None) or {}
    for k in ("step", "time", "epoch"):
        if k in meta:
            return float(meta[k])
    return float(i)


def _time_unit(snap: Any) -> str:
    meta = getattr(snap, "meta", None) or {}
    return "step" if "step" in meta else meta.get("time_unit", "snapshot")


# ============================================================== one run
@dataclass
class RunAnalysis:
    """Result of :func:`analyse_run`: Markdown, figures, summary, and the analyses per part."""

    markdown: str
    figures: list[Path]
    summary: dict[str, Any]
    final: dict[str, SnapshotAnalysis] = field(default_factory=dict, repr=False)
    initial: dict[str, SnapshotAnalysis] = field(default_factory=dict, repr=False)
    dynamics: dict[str, IntervalScaling] = field(default_factory=dict, repr=False)


@dataclass
class RunsComparison:
    """Result of :func:`compare_runs` (same conventions as :class:`RunAnalysis`)."""

    markdown: str
    figures: list[Path]
    summary: dict[str, Any]


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
    raise ValueError("snapshots: each must be a Snapshot, a {name: Projection} dict or a snapshot path, "
                     f"got {type(x).__name__}")


def _snapshots(snapshots: Any) -> list[Any]:
    if isinstance(snapshots, (str, Path, Mapping)) or hasattr(snapshots, "projections"):
        raise ValueError("snapshots: must be a sequence of snapshots in time order, got one")
    snaps = [_as_snapshot(s) for s in snapshots]
    if not snaps:
        raise ValueError("snapshots: empty; give at least one snapshot (first = initial)")
    return snaps


def _check_refs(references: Sequence[str]) -> list[str]:
    refs = list(references)
    known = reference.available()
    bad = [r for r in refs if r not in known]
    if bad:
        raise ValueError(f"references: unknown {bad[0]!r}; available: {', '.join(known)}")
    return refs


def _analyse(snaps: list[Any], traces: Any, *, projections: Sequence[str] | None, pool: bool,
             families: Sequence[str] | None, shapes: Sequence[str], rounding: str | None, n_boot: int,
             n_boot_fit: int, seed: int) -> tuple[dict, dict, dict, dict]:
    """Initial and final analyses and dynamics per part: ``(parts, initial, final, dynamics-or-reason)``."""
    names = P.choose(snaps[-1], projections)
    fams = None if families is None else list(dict.fromkeys(["lognorm", *families]))
    ref_n = int(reference.load(REFERENCE_SIZE)["n_synapses"])
    kw = dict(families=fams, shapes=shapes, n_boot=n_boot, n_boot_fit=n_boot_fit, seed=seed)
    parts = P.parts(snaps[-1], names, pool=pool)
    final = {lb: analyse_part(lb, pcs, rounding=_rounding(snaps[-1], rounding), reference_n=ref_n, **kw)
             for lb, pcs in parts.items()}
    initial = {}
    if len(snaps) > 1:
        first = P.parts(snaps[0], names, pool=pool)
        initial = {lb: analyse_part(lb, first[lb], rounding=_rounding(snaps[0], rounding), **kw)
                   for lb in parts if lb in first}
    dyn = {lb: part_dynamics(pcs, snaps, traces, n_boot=max(20, n_boot // 2), seed=seed) for lb, pcs in parts.items()}
    return parts, initial, final, dyn


def _part_headline(final: SnapshotAnalysis, initial: SnapshotAnalysis | None, dyn: IntervalScaling | None
                   ) -> dict[str, Any]:
    f, i = final.summary(), (initial.summary() if initial is not None else {})
    h = dyn.headline if dyn is not None else None
    return {"n_synapses": f["n_synapses"], "chosen_family": f.get("chosen_family"),
            "fits_absolutely": None if final.selection is None else final.selection.fits,
            "sigma_ln": f.get("sigma_ln"), "sigma_ln_initial": i.get("sigma_ln"),
            "silent_fraction": f.get("silent_fraction"), "entropy_bits": f.get("entropy_bits"),
            "entropy_bits_initial": i.get("entropy_bits"), "levels_used": f.get("levels_used"),
            "dynamic_range_1_99": f.get("dynamic_range_1_99"),
            "mixture_at_reference_size": (f.get("at_reference_size") or {}).get("fraction_mixture"),
            "slope": None if h is None else _num(h.slope), "slope_ci": None if h is None else [_num(v) for v in h.ci],
            "slope_interval": None if h is None else h.interval, "drift": None if h is None else _num(h.drift),
            "turnover": None if dyn is None else _num(dyn.turnover),
            "turnover_reached": None if dyn is None else dyn.turnover_reached,
            "time_unit": None if dyn is None else dyn.unit}


def analyse_run(snapshots: Sequence[Any], out_dir: Path, *, projections: Sequence[str] | None = None,
                pool: bool = False, families: Sequence[str] | None = None,
                references: Sequence[str] = DEFAULT_REFERENCES, label: str = "", rounding: str | None = None,
                n_boot: int = 200, n_boot_fit: int = 0, figures: bool = True, traces: Any = None,
                seed: int = 0) -> RunAnalysis:
    """Analyse one run's snapshots (and traces) per part: fits, model choice, biology, precision, dynamics.

    Parameters
    ----------
    snapshots:
        Snapshots in time order (first = initial, last = final); ``{name: Projection}``
        dicts and snapshot paths are accepted. One is enough.
    out_dir:
        Folder for the figures (``sizes``, ``qq``, ``occupancy``, ``intervals``; PNG and SVG),
        ``analysis.md`` and ``summary.json``; created if needed.
    projections:
        Projections to analyse (default all of the final snapshot's).
    pool:
        Analyse the parts together instead of one by one (the label says "pooled").
    families:
        Families to fit (default all; ``lognorm`` is always added).
    references:
        Reference keys (shaped ones are compared and drawn; ``samavat2024`` and ``bartol2015``
        go beside the precision, ``loewenstein2011`` beside the dynamics).
    traces:
        The run's :class:`neurosim.traces.Traces` (or their path): size changes at every
        interval. Without them, dynamics come from the snapshots.
    n_boot, n_boot_fit, seed:
        Bootstrap resamples (``sigma_ln``, dynamics), refits for an interval of the fitted
        log-normal sigma (0 = off), and the seed of every bootstrap and subsample.
    """
    from neurosim import traces as tr_mod

    snaps = _snapshots(snapshots)
    refs = _check_refs(references)
    shapes = [r for r in refs if reference.load(r).shape is not None]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if isinstance(traces, (str, Path)):
        traces = tr_mod.load(traces)
    parts, initial, final, dyn_r = _analyse(snaps, traces, projections=projections, pool=pool, families=families,
                                            shapes=shapes, rounding=rounding, n_boot=n_boot, n_boot_fit=n_boot_fit,
                                            seed=seed)
    dyn = {lb: d for lb, (d, _) in dyn_r.items() if d is not None}
    title = label or "run"
    figs, skipped = _run_figures(final, initial, dyn, shapes, title, out_dir) if figures else ([], {})
    summary: dict[str, Any] = {
        "label": label, "n_snapshots": len(snaps), "pooled": pool, "references": refs,
        "parts": {lb: {"pieces": [pc.name for pc in parts[lb]], "final": final[lb].summary(),
                       "initial": initial[lb].summary() if lb in initial else None,
                       "dynamics": dyn[lb].summary() if lb in dyn else {"skipped": dyn_r[lb][1]}}
                  for lb in parts},
        "headline": {lb: _part_headline(final[lb], initial.get(lb), dyn.get(lb)) for lb in parts},
        "selection_rule": selection.RULE, "figures": [p.name for p in figs], "figures_skipped": skipped,
        "caps": {"boot_cap": BOOT_CAP},
    }

    def md(prefix: str) -> str:
        return T.run_markdown(snaps, parts, initial, final, dyn, {lb: r for lb, (_, r) in dyn_r.items() if r},
                              refs, figs, skipped, label, prefix)

    write_text(out_dir / "analysis.md", md(""))
    write_json(out_dir / "summary.json", summary)
    return RunAnalysis(md(out_dir.name + "/"), figs, summary, final, initial, dyn)


def _run_figures(final: dict[str, SnapshotAnalysis], initial: dict[str, SnapshotAnalysis],
                 dyn: dict[str, IntervalScaling], shapes: Sequence[str], title: str, out_dir: Path
                 ) -> tuple[list[Path], dict[str, str]]:
    figs: list[Path] = []
    skipped: dict[str, str] = {}
    fitted = [(lb, a, initial.get(lb)) for lb, a in final.items() if a.fit is not None]
    if fitted:
        figs += plots.save_and_close(plots.sizes_figure(fitted, shapes, title), out_dir, "sizes")
        figs += plots.save_and_close(plots.qq_figure([(lb, a) for lb, a, _ in fitted], title), out_dir, "qq")
    else:
        skipped["sizes"] = skipped["qq"] = "no part could be fitted"
    occ = [(lb, a, initial.get(lb)) for lb, a in final.items() if a.precision is not None and a.precision.occupancy]
    if occ:
        figs += plots.save_and_close(plots.occupancy_figure(occ, f"{title}: level occupancy"), out_dir, "occupancy")
    else:
        skipped["occupancy"] = "no gridded part"
    if dyn:
        figs += plots.save_and_close(plots.intervals_figure(dyn, f"{title}: size changes by interval"), out_dir,
                                     "intervals")
    else:
        skipped["intervals"] = "no size changes"
    return figs, skipped


# ============================================================== runs side by side
def compare_runs(runs: Mapping[str, Sequence[Any]], out_dir: Path, *, traces: Mapping[str, Any] | None = None,
                 projections: Sequence[str] | None = None, pool: bool = False, families: Sequence[str] | None = None,
                 references: Sequence[str] = DEFAULT_REFERENCES, n_boot: int = 200, figures: bool = True,
                 seed: int = 0) -> RunsComparison:
    """Several runs (e.g. one per rule, and its control) side by side, per part.

    ``runs`` maps a name to the run's snapshots in time order; ``traces`` (optional) a name
    to its :class:`~neurosim.traces.Traces`. Writes ``runs_panel`` (final sizes with fits)
    and ``runs_shapes`` (standardised log sizes with the reference shapes), PNG and SVG, plus
    ``comparison.md`` and ``summary.json``.
    """
    if not runs:
        raise ValueError("runs: empty; give {name: [snapshots...]}")
    refs = _check_refs(references)
    shapes = [r for r in refs if reference.load(r).shape is not None]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    per: dict[str, dict[str, Any]] = {}
    finals: dict[str, SnapshotAnalysis] = {}
    for name, snapshots in runs.items():
        snaps = [_as_snapshot(s) for s in snapshots]
        if not snaps:
            raise ValueError(f"runs: {name!r} has no snapshots")
        _, initial, final, dyn_r = _analyse(snaps, (traces or {}).get(name), projections=projections, pool=pool,
                                            families=families, shapes=shapes, rounding=None, n_boot=n_boot,
                                            n_boot_fit=0, seed=seed)
        per[name] = {lb: _part_headline(final[lb], initial.get(lb), dyn_r[lb][0]) for lb in final}
        for lb, a in final.items():
            finals[f"{name}: {lb}"] = a
    figs: list[Path] = []
    if figures:
        fitted = {k: a.fit for k, a in finals.items() if a.fit is not None}
        if fitted:
            fig = plots.plot_runs(fitted)
            for ax, rep in zip(fig.axes, fitted.values(), strict=False):
                plots.overlay_references(ax, rep, shapes)
                ax.title.set_fontsize("small")
            fig.suptitle("final size distributions per run and part (shared axes)", fontsize="medium")
            fig.tight_layout()
            figs += plots.save_and_close(fig, out_dir, "runs_panel")
        with_sizes = {k: a.sizes for k, a in finals.items() if (a.sizes > 0).sum() > 2}
        if with_sizes:
            figs += plots.save_and_close(plots.runs_shapes_figure(with_sizes, shapes), out_dir, "runs_shapes")
    summary = {"runs": per, "references": refs, "selection_rule": selection.RULE,
               "figures": [p.name for p in figs]}

    def md(prefix: str) -> str:
        return T.runs_markdown(per, finals, figs, prefix)

    write_text(out_dir / "comparison.md", md(""))
    write_json(out_dir / "summary.json", summary)
    return RunsComparison(md(out_dir.name + "/"), figs, summary)


__all__ = [
    "BOOT_CAP",
    "DEFAULT_REFERENCES",
    "RunAnalysis",
    "RunsComparison",
    "SnapshotAnalysis",
    "analyse_part",
    "analyse_run",
    "analyse_snapshot",
    "compare_runs",
    "part_dynamics",
]
