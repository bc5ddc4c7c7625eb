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

from neurosim.analysis import intervals, plots, reference
from neurosim.analysis import projections as P
from neurosim.analysis import tables as T
from neurosim.analysis.biology import BiologyComparison, compare_with_references
from neurosim.analysis.dynamics import ChangeScaling, size_change_scaling
from neurosim.analysis.fits import FitReport, fit_sizes
from neurosim.analysis.precision import PrecisionReport, precision_report
from neurosim.files import write_json, write_text
from neurosim.lns import ROUNDINGS

#: Most sizes resampled by a bootstrap (m-out-of-n above this; see the module notes).
BOOT_CAP: int = 20_000
#: Most (size, change) pairs used for the size-change scaling.
DYNAMICS_CAP: int = 100_000
DEFAULT_REFERENCES = reference.DEFAULT_REFERENCES

def _num(x: Any) -> float | None:
    """A JSON-safe float (``None`` for NaN, inf or ``None``)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


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
    names = P.choose(snap, projections)
    pooled = P.pool(snap, names)
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
            pairs=P.pairs(snap, names),
        )
    except ValueError as exc:
        skipped["precision"] = str(exc)
    return SnapshotAnalysis(
        n=int(sizes.size), n_zero=n_zero, n_pos_sign=pooled.n_pos_sign,
        n_neg_sign=pooled.n_neg_sign, fit=fit, biology=bio, precision=prec,
        pooled_unit=pooled.unit, sizes=sizes, skipped=skipped, notes=notes, fit_sigma_ci=fit_ci,
    )


def _fit_sigma_ci(
    fit: FitReport, sizes: np.ndarray, families: Any, pooled: P.Pooled, rounding: str,
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
        sub_ci = rep.bootstrap_ci("sigma", "lognorm", n_boot=max(10, int(n_boot)), seed=seed)
        return intervals.m_out_of_n(est, rep.results["lognorm"].params["sigma"], sub_ci, BOOT_CAP, n)
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
    names = P.choose(snaps[-1], projections)
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
            figs += plots.save_and_close(plots.sizes_figure(fitted, shapes, title), out_dir, "sizes")
            figs += plots.save_and_close(plots.qq_figure(fitted, title), out_dir, "qq")
        else:
            fig_skipped["sizes"] = fig_skipped["qq"] = "no snapshot could be fitted"
        occ = [(n, a) for n, a in parts if a.precision is not None and a.precision.occupancy]
        if occ:
            figs += plots.save_and_close(plots.occupancy_figure(occ, f"{title}: level occupancy"), out_dir, "occupancy")
        else:
            fig_skipped["occupancy"] = "no gridded projection"
        if dyn is not None:
            figs += plots.save_and_close(plots.dynamics_figure(dyn, f"{title}: size change against size"), out_dir,
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
        return T.run_markdown(snaps, names, parts, dyn, dyn_reason, n_pairs, refs, figs,
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
        names = P.choose(snaps[-1], projections)
        kw = dict(projections=names, families=fams, shapes=shapes, n_boot=n_boot, seed=seed)
        fin = analyse_snapshot(snaps[-1], **kw)
        ini = analyse_snapshot(snaps[0], **kw) if len(snaps) > 1 else None
        dyn, reason, n_pairs = _dynamics(snaps, names, max(20, n_boot), seed)
        finals[name] = fin
        per[name] = {"final": fin.summary(), "initial": None if ini is None else ini.summary(),
                     "dynamics": _dyn_summary(dyn, reason, n_pairs)}

    figs: list[Path] = []
    if figures:
        fitted = {k: a.fit for k, a in finals.items() if a.fit is not None}
        if fitted:
            fig = plots.plot_runs(fitted)
            for ax, rep in zip(fig.axes, fitted.values(), strict=False):
                plots.overlay_references(ax, rep, shapes)
                ax.title.set_fontsize("small")
            fig.suptitle("final size distributions per run (shared axes)", fontsize="medium")
            fig.tight_layout()
            figs += plots.save_and_close(fig, out_dir, "runs_panel")
        with_sizes = {k: a for k, a in finals.items() if a.biology is not None}
        if with_sizes:
            figs += plots.save_and_close(plots.runs_shapes_figure({k: a.sizes for k, a in with_sizes.items()},
                                                                  shapes), out_dir, "runs_shapes")
            sigmas = {k: (a.biology.sigma_ln, a.biology.sigma_ci) for k, a in with_sizes.items()}
            figs += plots.save_and_close(plots.runs_sigma_figure(sigmas, shapes), out_dir, "runs_sigma")

    summary = {"runs": per, "references": refs, "figures": [p.name for p in figs],
               "caps": {"boot_cap": BOOT_CAP, "dynamics_cap": DYNAMICS_CAP}}

    def md(prefix: str) -> str:
        return T.runs_markdown(per, finals, figs, prefix, fams)

    write_text(out_dir / "comparison.md", md(""))
    write_json(out_dir / "summary.json", summary)
    return RunsComparison(markdown=md(out_dir.name + "/"), figures=figs, summary=summary)


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
