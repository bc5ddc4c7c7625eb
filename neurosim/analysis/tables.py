"""The Markdown of a run's analysis and of runs compared: the tables and the text around them.

Everything here reads analysis results (:mod:`neurosim.analysis.summary`) and writes
Markdown with :mod:`neurosim.markdown`; nothing is computed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from neurosim.analysis import reference
from neurosim.markdown import interval, num

__all__ = ["figure_link", "learning_table", "mixture_table", "projection_table", "reference_table", "run_markdown",
           "runs_markdown", "short", "when"]

_SHORT = {
    "bartol2015": "Bartol et al. 2015",
    "song2005": "Song et al. 2005",
    "dorkenwald2022": "Dorkenwald et al. 2022",
    "samavat2024": "Samavat et al. 2024",
    "loewenstein2011": "Loewenstein et al. 2011",
}


def short(key: str) -> str:
    """A reference key as an author-year citation."""
    return _SHORT.get(key, key)


def learning_table(parts: list[tuple[str, Any]]) -> str:
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
    row("silent fraction", lambda a: num(a.silent_fraction, ".4f"))
    row("fit", lambda a: ("binned levels" if a.fit.binned else "continuous") + f", {a.pooled_unit}")
    row("best family (AIC)", lambda a: a.fit.best)
    row("sigma of ln size (sample, 95 % CI)",
        lambda a: num(a.biology.sigma_ln) + interval(a.biology.sigma_ci))
    row("log-normal fit: mu, sigma (ln)",
        lambda a: f"{num(a.fit.results['lognorm'].params['mu'])}, "
                  f"{num(a.fit.results['lognorm'].params['sigma'])}" + interval(a.fit_sigma_ci))
    row("dAIC of lognorm vs best",
        lambda a: num(a.fit.results["lognorm"].aic - a.fit.results[a.fit.best].aic, ".1f"))
    row("dynamic range (1st-99th percentile)", lambda a: num(a.precision.dynamic_range, ".3g") + "x")
    row("levels in use", lambda a: f"{a.precision.occupancy.levels_in_use}/"
                                   f"{a.precision.occupancy.n_levels}")
    row("occupancy entropy (bits)", lambda a: num(a.precision.occupancy.entropy_bits, ".2f"))
    return "\n".join(lines) + "\n"


def reference_table(parts: list[tuple[str, Any]], refs: Sequence[str]) -> str:
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
                vals.append("-" if b is None else f"{num(b.sigma_ln)}{interval(b.sigma_ci)}")
            ver = all(ref.values[v].verified for v in shape_names(ref))
            lines.append(f"| {short(key)} | {ref.measured} | sigma of ln size | "
                         f"{num(reference.sigma_ln(ref))} | " + " | ".join(vals)
                         + f" | {'yes' if ver else 'no'} |")
            ks = []
            for _, a in parts:
                b = a.biology
                r = None if b is None else next((r for r in b.rows if r.key == key), None)
                ks.append("-" if r is None else num(r.ks))
            lines.append(f"| {short(key)} | {ref.measured} | KS distance of ln s - median | 0 | "
                         + " | ".join(ks) + f" | {'yes' if ver else 'no'} |")
        elif key == "samavat2024":
            vals = [_occ(a, "entropy") for _, a in parts]
            ver = ref.values["bits_low"].verified and ref.values["bits_high"].verified
            lines.append(f"| {short(key)} | {ref.measured} | information per synapse (bits) vs "
                         f"occupancy entropy | {ref['bits_low']:g}-{ref['bits_high']:g} | "
                         + " | ".join(vals) + f" | {'yes' if ver else 'no'} |")
        elif key == "bartol2015":
            vals = [_occ(a, "capacity") for _, a in parts]
            lines.append(f"| {short(key)} | {ref.measured} | capacity log2(levels) (bits) | "
                         f"{ref['bits']:g} (log2 26) | " + " | ".join(vals)
                         + f" | {'yes' if ref.values['bits'].verified else 'no'} |")
            vals = [num(a.precision.dynamic_range, ".3g") + "x" if a.precision else "-"
                    for _, a in parts]
            lines.append(f"| {short(key)} | {ref.measured} | size range | "
                         f"{ref['size_ratio']:g}x (range of sizes) | " + " | ".join(vals)
                         + " (1st-99th percentile) | "
                         + f"{'yes' if ref.values['size_ratio'].verified else 'no'} |")
    return "\n".join(lines) + "\n"


def shape_names(ref: reference.Reference) -> list[str]:
    sh = ref.shape or {}
    out = [sh[k] for k in ("mu", "sigma") if k in sh]
    for k in ("means", "sds", "weights"):
        out.extend(sh.get(k, []))
    return out


def _occ(a: Any, what: str) -> str:
    if a.precision is None or a.precision.occupancy is None:
        return "- (not gridded)"
    o = a.precision.occupancy
    if what == "entropy":
        return f"{o.entropy_bits:.2f} ({o.levels_in_use}/{o.n_levels} levels used)"
    return f"{o.capacity_bits:.2f} ({o.n_levels} levels)"


def mixture_table(parts: list[tuple[str, Any]]) -> str:
    lines = [
        "| source | weight of small component | sigma1 (ln) | sigma2 (ln) | mu2 - mu1 (ln) |",
        "|---|---|---|---|---|",
    ]
    try:
        ref = reference.load("dorkenwald2022")
        m, s, w = reference.mixture_ln(ref)
        ver = "verified" if all(ref.values[v].verified for v in shape_names(ref)) else "unverified"
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


def projection_table(snap: Any, names: list[str]) -> str:
    lines = ["| projection | synapses | unit | grid | zero | + / - signs |",
             "|---|---|---|---|---|---|"]
    for n in names:
        p = snap.projections[n]
        g = "-" if p.grid is None else (f"{p.grid.levels} levels, ratio {p.grid.ratio:.3g}, "
                                        f"w_max {p.grid.w_max:.4g}")
        lines.append(f"| {n} | {p.n_synapses} | {p.unit} | {g} | {int((p.size == 0).sum())} | "
                     f"{int((p.sign > 0).sum())} / {int((p.sign < 0).sum())} |")
    return "\n".join(lines) + "\n"


def when(snap: Any) -> str:
    meta = getattr(snap, "meta", None) or {}
    for k in ("step", "epoch", "time"):
        if k in meta:
            return f"{k} {meta[k]}"
    return ""


def figure_link(figs: list[Path], prefix: str, stem: str, caption: str) -> str:
    png = [p for p in figs if p.name == f"{stem}.png"]
    if not png:
        return ""
    return f"![{caption}]({prefix}{stem}.png)\n\n({caption}; [SVG]({prefix}{stem}.svg))\n\n"


def run_markdown(
    snaps: list[Any], names: list[str], parts: list[tuple[str, Any]],
    dyn: Any | None, dyn_reason: str | None, n_pairs: int, refs: list[str],
    figs: list[Path], fig_skipped: dict[str, str], label: str, prefix: str,
) -> str:
    out = [f"## Synapse sizes{': ' + label if label else ''}\n"]
    first, last = when(snaps[0]), when(snaps[-1])
    span = f" ({first} to {last})" if first and last and len(snaps) > 1 else ""
    out.append(f"{len(snaps)} snapshot(s){span}; initial = first, final = last. "
               "Sizes are |w| (signs kept separately); zeros are silent synapses, counted "
               "and left out of the fits (hurdle model).\n")
    out.append(projection_table(snaps[-1], names))
    out.append("### What learning did (initial against final)\n" if len(parts) > 1
               else "### Summary (one snapshot)\n")
    out.append(learning_table(parts))
    notes = sorted({n for _, a in parts for n in a.notes})
    skipped = [f"{name}: {k} skipped ({v})" for name, a in parts for k, v in a.skipped.items()]
    if notes or skipped:
        out.append("Notes: " + "; ".join(notes + skipped) + ".\n")
    out.append(figure_link(figs, prefix, "sizes",
                       "histogram of sizes (log x) with fitted densities and reference shapes"))
    out.append(figure_link(figs, prefix, "qq", "Q-Q plot against the fitted log-normal"))
    out.append("### Comparison with biology (shape, not scale)\n")
    out.append("Network units and microns or millivolts cannot be compared, so shapes are: "
               "sigma of ln size (natural log; log10 references converted) with its "
               "bootstrap interval, and the KS distance between standardised log sizes "
               "(ln s - median). Unverified reference numbers are marked.\n")
    out.append(reference_table(parts, refs))
    if any(a.fit is not None and "lognorm_mix2" in a.fit.results for _, a in parts):
        out.append("Two-log-normal mixture components (natural-log units, sorted by mean):\n")
        out.append(mixture_table(parts))
    if any(a.precision is not None and (a.precision.occupancy is not None
                                         or a.precision.median_pair_cv is not None)
           for _, a in parts):
        out.append("### Precision (levels; pairs of synapses sharing pre and post)\n")
        for name, a in parts:
            if a.precision is not None:
                out.append(f"- {name}: {a.precision.markdown()}")
        out.append("")
        out.append(figure_link(figs, prefix, "occupancy", "level occupancy"))
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
        out.append(figure_link(figs, prefix, "change_scaling", "size change against size"))
    if fig_skipped:
        out.append("Figures not drawn: " + "; ".join(f"{k} ({v})" for k, v in fig_skipped.items())
                   + ".\n")
    out.append("Final-snapshot fits:\n")
    out.append(parts[-1][1].fit.table() if parts[-1][1].fit is not None else "(no fit)\n")
    if len(parts) > 1:
        out.append("Initial-snapshot fits:\n")
        out.append(parts[0][1].fit.table() if parts[0][1].fit is not None else "(no fit)\n")
    return "\n".join(out)


def runs_markdown(
    per: dict[str, dict[str, Any]], finals: dict[str, Any], figs: list[Path],
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
            f"| {name} | {f['n_synapses']} | {num(f['silent_fraction'], '.4f')} | "
            f"{f.get('best_family', '-')} | {num(f.get('sigma_ln'))}{interval(f.get('sigma_ln_ci'))} | "
            f"{num(i.get('sigma_ln'))} | {lu} | {num(f.get('entropy_bits'), '.2f')} | "
            f"{num(f.get('dynamic_range_1_99'), '.3g')} | "
            f"{num(dy.get('slope'))}{interval(dy.get('ci'))} | {num(ks.get('song2005'))} | "
            f"{num(ks.get('dorkenwald2022'))} |"
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
                num(a.fit.results[k].aic - b, ".1f") if k in a.fit.results else "-"
                for k in fam_set) + " |")
        out.append("\n".join(rows) + "\n")
    out.append(figure_link(figs, prefix, "runs_panel", "final size distributions per run, shared axes"))
    out.append(figure_link(figs, prefix, "runs_shapes", "standardised log sizes with reference shapes"))
    out.append(figure_link(figs, prefix, "runs_sigma", "sigma of ln size per run with intervals"))
    for name, a in finals.items():
        out.append(f"### {name}: final-snapshot fits\n")
        out.append(a.fit.table() if a.fit is not None else f"(no fit: {a.skipped.get('fit')})\n")
    return "\n".join(out)
