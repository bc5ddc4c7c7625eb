"""Figures of synapse-size distributions and their fits (matplotlib, Agg backend).

Densities are drawn *per unit natural log of size* (``s f(s)``) against a log size
axis, so that a log-normal looks like a bell and shapes are comparable across
families and data sets. Every function takes an optional ``ax`` and returns the
axes (or figure) it drew on; :func:`save_figure` writes PNG and SVG atomically.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

if "matplotlib.pyplot" not in sys.modules:
    matplotlib.use("Agg")  # no display; must precede pyplot (keep a backend already chosen)

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

from neurosim.analysis import families as F  # noqa: E402
from neurosim.analysis import reference  # noqa: E402
from neurosim.files import atomic_path  # noqa: E402
from neurosim.lns import LogGrid  # noqa: E402

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

Reference = Callable[[np.ndarray], np.ndarray] | tuple[str, float, float]


def _axes(ax: Axes | None) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4.0))
    return ax


def _reference_curve(reference: Reference, s: np.ndarray) -> tuple[str, np.ndarray]:
    if isinstance(reference, tuple):
        if len(reference) != 3:
            raise ValueError(
                f"reference: a tuple must be (label, mu, sigma), got {len(reference)} items"
            )
        label, mu, sigma = reference
        z = (np.log(s) - float(mu)) / float(sigma)
        return str(label), np.exp(-0.5 * z * z) / (float(sigma) * np.sqrt(2 * np.pi))
    if callable(reference):
        return str(getattr(reference, "label", "reference")), np.asarray(reference(s), float)
    raise ValueError(
        "reference: must be a callable or a (label, mu, sigma) tuple, "
        f"got {type(reference).__name__}"
    )


def plot_fit(
    report: Any,  # a neurosim.analysis.fits.FitReport (not imported: fits imports this module)
    ax: Axes | None = None,
    reference: Reference | None = None,
    families: list[str] | None = None,
    unit: str | None = None,
    bins: int = 60,
    title: str | None = None,
) -> Axes:
    """Histogram of the positive sizes (log axis) with the fitted densities overlaid.

    Parameters
    ----------
    report:
        A :class:`~neurosim.analysis.FitReport`.
    ax:
        Axes to draw on (default: a new figure).
    reference:
        Optional reference curve: a callable ``f(sizes) -> density per unit ln size``
        (its ``label`` attribute names it) or a ``(label, mu, sigma)`` log-normal.
    families:
        Families to overlay (default: all fitted, best first).
    unit:
        Size unit for the x label (default the report's).
    bins:
        Histogram bins in ln size (continuous data; binned data use the grid levels).
    title:
        Axes title (default: best family and silent fraction).

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    unit = report.unit if unit is None else unit
    x = report.positive_sizes()
    lx = np.log(x)
    fams = families or sorted(report.results, key=lambda k: report.results[k].aic)
    if report.binned:
        g = report.grid
        frac = np.bincount(report.levels(), minlength=g.levels) / x.size
        ln_s = np.log(g.sizes())
        edges = np.exp(np.concatenate((ln_s - 0.5 * g.step, [ln_s[-1] + 0.5 * g.step])))
        ax.stairs(frac / g.step, edges, fill=True, alpha=0.35, color="0.4", label="data (levels)")
        for name in fams:
            p = F.level_probabilities(name, report.results[name].params, g, report.rounding)
            ax.plot(g.sizes(), p / g.step, marker="o", ms=3, lw=1, label=f"{name} (binned)")
        lo, hi = edges[0], edges[-1]
    else:
        span = lx.max() - lx.min()
        lo_l, hi_l = lx.min() - 0.05 * span, lx.max() + 0.05 * span
        dens, e = np.histogram(lx, bins=bins, range=(lo_l, hi_l), density=True)
        ax.stairs(dens, np.exp(e), fill=True, alpha=0.35, color="0.4", label="data")
        lo, hi = np.exp(lo_l), np.exp(hi_l)
        s = np.exp(np.linspace(lo_l, hi_l, 400))
        for name in fams:
            ax.plot(s, F.density_per_log_size(name, report.results[name].params, s), lw=1.5,
                    label=name)
    if reference is not None:
        s = np.exp(np.linspace(np.log(lo), np.log(hi), 400))
        label, y = _reference_curve(reference, s)
        ax.plot(s, y, "k--", lw=1.5, label=label)
    ax.set_xscale("log")
    ax.set_xlabel(f"size ({unit})")
    ax.set_ylabel("density per unit ln size")
    ax.set_title(
        title
        if title is not None
        else f"best: {report.best}; n={report.n}, silent {100 * report.silent_fraction:.1f} %"
    )
    ax.legend(fontsize="small", frameon=False, loc="upper right")
    return ax


def plot_qq(
    report: Any,  # a neurosim.analysis.fits.FitReport (not imported: fits imports this module)
    family: str = "lognorm",
    ax: Axes | None = None,
    unit: str | None = None,
    max_points: int = 2000,
) -> Axes:
    """Q-Q plot of ln size against the fitted family's quantiles (a line means a good fit).

    For the default ``lognorm`` the x axis is ``mu + sigma * Phi^-1(p)``. Plots at
    most ``max_points`` evenly spaced quantiles.
    """
    ax = _axes(ax)
    if family not in report.results:
        raise ValueError(f"family: {family!r} was not fitted; fitted: {', '.join(report.results)}")
    unit = report.unit if unit is None else unit
    x = report.positive_sizes()
    n = x.size
    idx = np.unique(np.linspace(0, n - 1, min(n, max_points)).round().astype(int))
    q = (idx + 0.5) / n
    with np.errstate(divide="ignore"):
        theo = np.log(F.ppf(family, report.results[family].params, q))
    emp = np.log(x[idx])
    ax.plot(theo, emp, ".", ms=3, label="data")
    ok = np.isfinite(theo)
    both = np.concatenate([theo[ok], emp])
    lims = [float(both.min()), float(both.max())]
    ax.plot(lims, lims, "k-", lw=1, label="y = x")
    ax.set_xlabel(f"{family} quantile of ln size (ln {unit})")
    ax.set_ylabel(f"sample quantile of ln size (ln {unit})")
    ax.set_title(f"Q-Q against fitted {family}")
    ax.legend(fontsize="small", frameon=False, loc="upper left")
    return ax


def plot_level_occupancy(
    levels: np.ndarray,
    grid: LogGrid,
    ax: Axes | None = None,
    label: str | None = None,
) -> Axes:
    """Bars of the fraction of synapses on each grid level (level 0 = smallest size)."""
    ax = _axes(ax)
    lv = np.asarray(levels).ravel()
    if lv.size == 0:
        raise ValueError("levels: empty; nothing to plot")
    if lv.min() < 0 or lv.max() >= grid.levels:
        raise ValueError(f"levels: must be in 0..{grid.levels - 1}, got {lv.min()}..{lv.max()}")
    frac = np.bincount(lv.astype(np.int64), minlength=grid.levels) / lv.size
    ax.bar(np.arange(grid.levels), frac, width=0.85, alpha=0.7, label=label)
    ax.set_xlabel(f"level (0 = w_max/{grid.ratio:.3g}, {grid.levels - 1} = w_max)")
    ax.set_ylabel("fraction of synapses")
    if label:
        ax.legend(fontsize="small", frameon=False, loc="upper right")
    return ax


def plot_runs(
    reports: Mapping[str, Any],  # FitReports
    families: list[str] | None = None,
    reference: Reference | None = None,
    unit: str | None = None,
    ncols: int | None = None,
) -> Figure:
    """Side-by-side panels of several runs (e.g. one per rule) on shared axes.

    Each panel shows one report's histogram with the best family and, if fitted,
    ``lognorm`` (or the given ``families``).
    """
    if not reports:
        raise ValueError("reports: empty; give at least one {name: FitReport}")
    k = len(reports)
    ncols = ncols or min(k, 4)
    nrows = int(np.ceil(k / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.4 * nrows), sharex=True,
                             sharey=True, squeeze=False)
    for ax, (name, rep) in zip(axes.ravel(), reports.items(), strict=False):
        fams = families or list(dict.fromkeys([rep.best] + (["lognorm"] if "lognorm" in
                                                            rep.results else [])))
        plot_fit(rep, ax=ax, reference=reference, families=fams, unit=unit,
                 title=f"{name}: best {rep.best}, silent {100 * rep.silent_fraction:.1f} %")
    for ax in axes.ravel()[k:]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def save_figure(
    fig: Figure, path_without_suffix: str | os.PathLike[str], tight: bool = True
) -> list[Path]:
    """Write ``fig`` as ``<path>.png`` and ``<path>.svg`` atomically; return both paths.

    ``tight=True`` crops to the drawn content (``bbox_inches="tight"``, one extra draw per
    format); pass ``False`` for a figure already laid out with ``tight_layout``.
    """
    stem = Path(path_without_suffix)
    if stem.suffix.lower() in (".png", ".svg"):
        stem = stem.with_suffix("")
    out = []
    for ext in ("png", "svg"):
        path = stem.with_name(f"{stem.name}.{ext}")
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=ext, dpi=150, bbox_inches="tight" if tight else None)
        out.append(path)
    return out


__all__ = ["levels_figure", "plot_fit", "plot_level_occupancy", "plot_qq", "plot_runs", "psychometric_figure",
           "save_figure", "smallest_sufficient", "unconstrained_label"]


def smallest_sufficient(levels: Sequence[int], ok: Sequence[bool]) -> int | None:
    """The smallest level count from which every larger count in ``levels`` (ascending) is ``ok``."""
    first = next((k for k in range(len(ok)) if all(ok[k:])), None)
    return None if first is None else int(levels[first])


def levels_figure(levels: Sequence[int], curves: Mapping[str, Sequence[float]], ylabel: str,
                  path: str | os.PathLike[str], *, reference: tuple[float, float, str] | None = None) -> None:
    """A quantity against the level count (log2 axis), one curve per range, Bartol's 26 marked.

    ``curves``: label -> one value per entry of ``levels``; ``reference``: ``(value, margin,
    label)`` drawn as a line with a shaded band of +- margin (e.g. FP32 Madam's accuracy).
    """
    fig, ax = plt.subplots(figsize=(5.8, 4.0))
    for i, (label, ys) in enumerate(curves.items()):
        ax.plot(list(levels), list(ys), "o-", color=f"C{i}", label=label)
    if reference is not None:
        value, margin, label = reference
        ax.axhline(value, color="k", lw=1, label=label)
        ax.axhspan(value - margin, value + margin, color="0.85", zorder=0)
    ax.axvline(26, color="k", ls=":", lw=1, label="26 levels (Bartol et al. 2015)")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("levels")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    save_figure(fig, path, tight=False)
    plt.close(fig)


# ======================================================= figures of a run's analysis
_REF_STYLES = ("--", ":", "-.")


def reference_density(key: str, centre_ln: float) -> Any:
    """Reference shape as a density per unit ln size, its median moved to ``centre_ln``."""
    ref = reference.load(key)
    m, s, w = reference.mixture_ln(ref)
    mc = m - reference.median_ln(ref) + centre_ln

    def f(x: np.ndarray) -> np.ndarray:
        lx = np.log(np.asarray(x, dtype=float))
        return np.sum(w * stats.norm.pdf(lx[..., None], loc=mc, scale=s), axis=-1)

    f.label = f"{reference.short_citation(key)}: {ref.measured} (shape, median matched)"  # type: ignore[attr-defined]
    return f


def overlay_references(ax: Any, fit: Any, shapes: Sequence[str]) -> None:
    """Draw the reference shapes over a fit's histogram, centred on the data's median log size."""
    pos = fit.positive_sizes()
    centre = float(np.median(np.log(pos)))
    lo, hi = ax.get_xlim()
    xs = np.geomspace(lo, hi, 400)
    for i, key in enumerate(shapes):
        f = reference_density(key, centre)
        ax.plot(xs, f(xs), ls=_REF_STYLES[i % 3], color="k", lw=1.3, label=f.label)
    ax.set_xlim(lo, hi)
    ax.legend(fontsize="x-small", frameon=False)


def _families_to_draw(fit: Any) -> list[str]:
    want = [fit.best, "lognorm", "lognorm_mix2", "loguniform"]
    return [f for f in dict.fromkeys(want) if f in fit.results]


def sizes_figure(parts: list[tuple[str, Any, Any]], shapes: Sequence[str], title: str) -> Any:
    """Final sizes with fitted densities and reference shapes, one panel per ``(name, final, initial)`` part.

    The initial sizes (if any) are drawn as an outline on the same axes, so that what
    learning changed is visible beside what it started from.
    """
    k = len(parts)
    fig, axes = plt.subplots(1, k, figsize=(5.6 * k, 4.2), sharex=True, sharey=True, squeeze=False)
    for ax, (name, a, a0) in zip(axes.ravel(), parts, strict=True):
        f = a.fit
        plot_fit(f, ax=ax, families=_families_to_draw(f),
                 title=f"{name}: best {f.best}, n={f.n}, silent {100 * f.silent_fraction:.1f} %")
        if a0 is not None and a0.fit is not None:
            _outline(ax, a0.fit)
    for ax, (_, a, _) in zip(axes.ravel(), parts, strict=True):
        overlay_references(ax, a.fit, shapes)
    if title:
        fig.suptitle(title, fontsize="medium")
    fig.tight_layout()
    return fig


def _outline(ax: Any, fit: Any) -> None:
    """The sizes of ``fit`` as a step outline, density per unit ln size (the initial sizes)."""
    x = fit.positive_sizes()
    if fit.binned:
        g = fit.grid
        ln_s = np.log(g.sizes())
        edges = np.exp(np.concatenate((ln_s - 0.5 * g.step, [ln_s[-1] + 0.5 * g.step])))
        dens = np.bincount(fit.levels(), minlength=g.levels) / x.size / g.step
    else:
        lx = np.log(x)
        d, e = np.histogram(lx, bins=60, density=True)
        dens, edges = d, np.exp(e)
    ax.stairs(dens, edges, color="tab:red", lw=1.0, ls="-", label="initial sizes")


def qq_figure(parts: list[tuple[str, Any]], title: str) -> Any:
    """Q-Q plots against each part's fitted log-normal."""
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


def occupancy_figure(parts: list[tuple[str, Any, Any]], title: str) -> Any:
    """Level occupancy of each ``(name, final, initial)`` part: final bars, initial outline.

    The legend gives the entropy at both times, Samavat et al. (2024) and the grid's capacity.
    """
    k = len(parts)
    fig, axes = plt.subplots(1, k, figsize=(5.2 * k, 4.0), sharey=True, squeeze=False)
    sam = reference.load("samavat2024")
    for ax, (name, a, a0) in zip(axes.ravel(), parts, strict=True):
        o = a.precision.occupancy
        x = np.arange(o.n_levels)
        ax.bar(x, o.fractions, width=0.85, alpha=0.7,
               label=f"final: H = {o.entropy_bits:.2f} bits, {o.levels_in_use}/{o.n_levels} levels used")
        o0 = None if a0 is None or a0.precision is None else a0.precision.occupancy
        if o0 is not None and o0.n_levels == o.n_levels:
            ax.stairs(o0.fractions, np.arange(o.n_levels + 1) - 0.5, color="tab:red", lw=1.0,
                      label=f"initial: H = {o0.entropy_bits:.2f} bits")
        ax.plot([], [], " ", label=f"Samavat et al. 2024: {sam['bits_low']:g}-{sam['bits_high']:g} bits; "
                f"capacity {math.log2(o.n_levels):.2f} bits")
        ax.set_xlabel("grid level (0 = smallest size, w_max / ratio)")
        ax.set_title(name, fontsize="small")
        ax.legend(fontsize="x-small", frameon=False, loc="upper left")
    axes[0, 0].set_ylabel("fraction of synapses")
    fig.suptitle(title or "level occupancy", fontsize="medium")
    fig.tight_layout()
    return fig


def intervals_figure(dyn: Mapping[str, Any], title: str) -> Any:
    """Size changes against the interval they are measured over, one line per part.

    Three panels share a log interval axis: the slope of ln std(change) against ln size
    (1: size-proportional changes, 0: additive) with its interval, the drift of ln size
    (< 0: mean reversion), and the correlation of ln size at the two times. The headline
    interval (a fixed fraction of the turnover time) is marked.
    ``dyn`` maps a part to its :class:`~neurosim.analysis.dynamics.IntervalScaling`.
    """
    fig, axes = plt.subplots(1, 3, figsize=(14.0, 4.0), sharex=True)
    unit = next(iter(dyn.values())).unit
    for i, (name, d) in enumerate(dyn.items()):
        rows = [r for r in d.rows if np.isfinite(r.slope)]
        c = f"C{i % 10}"
        if rows:
            x = np.array([r.interval for r in rows], float)
            lo = np.array([r.ci[0] for r in rows])
            hi = np.array([r.ci[1] for r in rows])
            axes[0].plot(x, [r.slope for r in rows], "o-", ms=3, color=c, label=name)
            axes[0].fill_between(x, lo, hi, color=c, alpha=0.15, lw=0)
            axes[1].plot(x, [r.drift for r in rows], "o-", ms=3, color=c, label=name)
        xs = np.array([r.interval for r in d.rows], float)
        axes[2].plot(xs, [r.correlation for r in d.rows], "o-", ms=3, color=c, label=name)
        if d.headline is not None:
            for ax in axes:
                ax.axvline(d.headline.interval, color=c, ls=":", lw=1)
    axes[0].axhline(1.0, color="k", ls="--", lw=1, label="1: size-proportional")
    axes[0].axhline(0.0, color="k", ls=":", lw=1, label="0: additive")
    axes[0].set_ylabel("slope of ln std(change) on ln size")
    axes[1].axhline(0.0, color="k", ls=":", lw=1)
    axes[1].set_ylabel("drift of ln size (per unit ln size)")
    axes[2].set_ylabel("correlation of ln size")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel(f"interval ({unit}s; dotted: headline)")
    axes[0].legend(fontsize="x-small", frameon=False)
    fig.suptitle(title, fontsize="medium")
    fig.tight_layout()
    return fig


def save_and_close(fig: Any, out_dir: Path, stem: str) -> list[Path]:
    """Write ``fig`` as ``out_dir/stem`` (PNG and SVG, atomically) and close it."""
    try:
        return save_figure(fig, out_dir / stem, tight=False)
    finally:
        plt.close(fig)


def runs_shapes_figure(sizes: dict[str, np.ndarray], shapes: Sequence[str]) -> Figure:
    """Standardised log sizes (``ln s - median``) of several runs on one axis, with reference shapes."""
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    zs = {k: np.log(s[s > 0]) - np.median(np.log(s[s > 0])) for k, s in sizes.items()}
    lo = min(min(float(z.min()) for z in zs.values()), -3.0)
    hi = max(max(float(z.max()) for z in zs.values()), 3.0)
    edges = np.linspace(lo, hi, 61)
    for k, z in zs.items():
        dens, _ = np.histogram(z, bins=edges, density=True)
        ax.stairs(dens, edges, lw=1.5, label=f"{k} (n={z.size})")
    xs = np.linspace(lo, hi, 400)
    for i, key in enumerate(shapes):
        f = reference_density(key, 0.0)
        ax.plot(xs, f(np.exp(xs)), ls=_REF_STYLES[i % 3], color="k", lw=1.3,
                label=f.label.replace(" (shape, median matched)", ""))
    ax.set_xlabel("ln size - median ln size (dimensionless)")
    ax.set_ylabel("density per unit ln size")
    ax.set_title("shapes of the final size distributions", fontsize="medium")
    ax.legend(fontsize="x-small", frameon=False)
    fig.tight_layout()
    return fig


def unconstrained_label(label: str) -> bool:
    """The default test of a figure's condition label for a network without sign constraints
    (drawn solid): labels starting with "ANN"."""
    return label.startswith("ANN")


def psychometric_figure(curves: Mapping[str, Sequence[Mapping[str, float]]], path: str | os.PathLike[str],
                        panel: Callable[[str], int] | None = None,
                        titles: Sequence[str] = ("additive rules and the ANN",
                                                 "multiplicative (Madam) rules under Dale, and the controls"),
                        solid: Callable[[str], bool] | None = None) -> list[Path]:
    """P(choice 1) against signed coherence (%), mean over seeds, one line per condition.

    ``curves``: label -> one ``{signed coherence (str): P(choice 1)}`` per seed (a
    run's ``psychometric`` metric). ``panel(label)`` picks the panel, 0 or 1, of a
    condition (default: labels starting with "ANN" or naming Adam or SGD on the
    left); ``solid(label)`` draws it solid rather than dashed (default: the
    unconstrained networks, labels starting with "ANN"). Written as
    ``<path>.png`` and ``.svg``.
    """

    def default_panel(label: str) -> int:
        return 0 if unconstrained_label(label) or "Adam" in label or "SGD" in label else 1

    pick, is_solid = panel or default_panel, solid or unconstrained_label
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True, constrained_layout=True)
    for i, (label, runs) in enumerate(curves.items()):
        runs = [c for c in runs if c]
        if not runs:
            continue
        coh = sorted(float(c) for c in runs[0])
        p = np.mean([[c[f"{x:g}"] for x in coh] for c in runs], axis=0)
        ax = axes[pick(label)]
        ax.plot(coh, p, "-" if is_solid(label) else "--", marker="o", ms=3, color=f"C{i % 10}", label=label)
    for ax, title in zip(axes, titles, strict=True):
        ax.set_xlabel("signed coherence (%)")
        ax.axhline(0.5, color="0.7", lw=0.6, ls=":")
        ax.legend(fontsize=6.5, frameon=False, loc="upper left")
        ax.set_title(title, fontsize=9)
    axes[0].set_ylabel("P(choice 1), mean over seeds")
    paths = save_figure(fig, path, tight=False)
    plt.close(fig)
    return paths
