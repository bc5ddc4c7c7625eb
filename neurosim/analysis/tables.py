"""The Markdown of a run's analysis and of runs compared: the tables and the text around them.

Everything here reads analysis results (:mod:`neurosim.analysis.summary`) and writes
Markdown with :mod:`neurosim.markdown`; nothing is computed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from neurosim.analysis import reference, selection
from neurosim.markdown import interval, num, table

__all__ = ["figure_link", "run_markdown", "runs_markdown", "when"]

cite = reference.short_citation

def when(snap: Any) -> str:
    """When a snapshot was taken, from its meta (``"step 120"``, ``"time 10.0"``)."""
    meta = getattr(snap, "meta", None) or {}
    for k in ("step", "epoch", "time"):
        if k in meta:
            return f"{k} {meta[k]}"
    return ""


def figure_link(figs: list[Path], prefix: str, stem: str, caption: str) -> str:
    """A Markdown image (PNG) with a link to its SVG, if ``stem`` was drawn."""
    if not any(p.name == f"{stem}.png" for p in figs):
        return ""
    return f"![{caption}]({prefix}{stem}.png)\n\n({caption}; [SVG]({prefix}{stem}.svg))\n\n"


def _get(fn: Callable[[Any], Any], a: Any) -> Any:
    try:
        return fn(a)
    except (AttributeError, KeyError, TypeError):
        return None


def _both(fn: Callable[[Any], Any], a: Any, b: Any) -> str | None:
    """``"initial -> final"`` (or the final alone) of a quantity; ``None`` when neither has it."""
    f = _get(fn, a)
    i = _get(fn, b) if b is not None else None
    if f is None and i is None:
        return None
    return f"{i if i is not None else '-'} -> {f if f is not None else '-'}" if b is not None else str(f)


def _projection_table(parts: dict[str, Any], final: dict[str, Any]) -> str:
    rows = []
    for lb, pcs in parts.items():
        a = final[lb]
        grid = a.fit.grid if a.fit is not None and a.fit.binned else None
        g = "-" if grid is None else f"{grid.levels} levels, ratio {grid.ratio:.3g}"
        rows.append([lb, ", ".join(dict.fromkeys(pc.name for pc in pcs)), a.n, a.pooled_unit, g, a.n_zero,
                     f"{a.n_pos_sign} / {a.n_neg_sign}"])
    return table(["part", "projection(s)", "synapses", "unit", "grid", "silent (size 0)", "+ / - signs"], rows)


def _learning_table(final: dict[str, Any], initial: dict[str, Any]) -> str:
    """Rows: quantities; columns: the parts, each ``initial -> final``."""
    labels = list(final)
    quantities: list[tuple[str, Callable[[Any], Any]]] = [
        ("silent fraction", lambda a: num(a.silent_fraction, ".4f")),
        ("chosen family (rule)", lambda a: a.selection.chosen),
        ("sigma of ln size (95 % CI)", lambda a: num(a.biology.sigma_ln) + interval(a.biology.sigma_ci)),
        ("log-normal fit: mu, sigma (ln)", lambda a: f"{num(a.fit.results['lognorm'].params['mu'])}, "
                                                     f"{num(a.fit.results['lognorm'].params['sigma'])}"),
        ("point masses (end levels, clips)", lambda a: ", ".join(f"{v}" for v in a.fit.point_masses.values()) or "0"),
        ("dynamic range (1st-99th percentile)", lambda a: num(a.precision.dynamic_range, ".3g") + "x"),
        ("levels in use", lambda a: f"{a.precision.occupancy.levels_in_use}/{a.precision.occupancy.n_levels}"),
        ("occupancy entropy (bits)", lambda a: num(a.precision.occupancy.entropy_bits, ".2f")),
        ("median pair CV", lambda a: num(a.precision.median_pair_cv)),
    ]
    rows = []
    for name, fn in quantities:
        cells = [_both(fn, final[lb], initial.get(lb)) for lb in labels]
        if any(c is not None for c in cells):  # leave out rows that apply to no part
            rows.append([name, *cells])
    return table(["quantity (initial -> final)", *labels], rows)


def _selection_table(final: dict[str, Any]) -> str:
    rows = []
    for lb, a in final.items():
        s = a.selection
        if s is None:
            why = a.skipped.get("fit", a.skipped.get("selection"))
            rows.append([lb, None, None, None, None, None, None, None, why])
            continue
        g = s.gof
        ref = a.reference_size or {}
        at_ref = (f"{100 * ref['fraction_mixture']:.0f} % of {ref['n_sub']}" if "fraction_mixture" in ref
                  else ref.get("skipped"))
        rows.append([lb, s.chosen, s.best_single, num(s.delta_bic_mixture, ".1f"), num(s.mixture_separation, ".2f"),
                     num(s.mixture_min_weight, ".3f"),
                     None if g is None else f"{g.statistic:.0f}/{g.df} (p {g.pvalue:.2g})" + ("" if s.fits else ": no"),
                     num(s.bimodality, ".3f"), at_ref])
    return table(["part", "chosen", "best one-component (BIC)", "BIC gain of the mixture", "Ashman's D",
                  "smaller weight", "chi-square/df (p; fits?)", "bimodality coefficient",
                  "mixture chosen at n = 1960"], rows)


def _dynamics_table(dyn: dict[str, Any], reasons: dict[str, str]) -> str:
    rows = []
    for lb, d in dyn.items():
        h = d.headline
        if h is None:
            rows.append([lb, None, None, None, None, None, d.note])
            continue
        turn = f"{d.turnover:.3g}" if d.turnover_reached else f"> {d.turnover:.3g}"
        rows.append([lb, f"{h.interval:g} {d.unit}", num(h.slope) + interval(h.ci), num(h.drift) + interval(h.drift_ci),
                     f"{turn} {d.unit}", f"{h.n_pairs} ({h.n_excluded} excluded)", d.note])
    rows += [[lb, None, None, None, None, None, why] for lb, why in reasons.items()]
    return table(["part", "headline interval", "slope of ln std(change) vs ln size [95 % CI]",
                  "drift of ln size [95 % CI]", "turnover (correlation 1/e)", "pairs used", "note"], rows)


def _reference_table(final: dict[str, Any], refs: Sequence[str]) -> str:
    labels = list(final)
    rows = []
    for key in refs:
        ref = reference.load(key)
        if ref.shape is not None:
            ver = "yes" if all(ref.values[v].verified for v in _shape_names(ref)) else "no"
            rows.append([cite(key), ref.measured, "sigma of ln size", num(reference.sigma_ln(ref)),
                         *[_get(lambda a: num(a.biology.sigma_ln) + interval(a.biology.sigma_ci), final[lb])
                           for lb in labels], ver])
            rows.append([cite(key), ref.measured, "KS distance of ln s - median", "0",
                         *[_get(lambda a, k=key: num(next(r.ks for r in a.biology.rows if r.key == k)), final[lb])
                           for lb in labels], ver])
        elif key == "samavat2024":
            ver = "yes" if ref.values["bits_low"].verified and ref.values["bits_high"].verified else "no"
            rows.append([cite(key), ref.measured, "information per synapse (bits) vs occupancy entropy",
                         f"{ref['bits_low']:g}-{ref['bits_high']:g}",
                         *[_get(lambda a: num(a.precision.occupancy.entropy_bits, ".2f"), final[lb]) for lb in labels],
                         ver])
        elif key == "bartol2015":
            rows.append([cite(key), ref.measured, "capacity log2(levels) (bits)", f"{ref['bits']:g} (log2 26)",
                         *[_get(lambda a: num(a.precision.occupancy.capacity_bits, ".2f"), final[lb]) for lb in labels],
                         "yes" if ref.values["bits"].verified else "no"])
    return table(["source", "measured", "quantity", "reference", *labels, "verified"], rows)


def _shape_names(ref: reference.Reference) -> list[str]:
    sh = ref.shape or {}
    out = [sh[k] for k in ("mu", "sigma") if k in sh]
    for k in ("means", "sds", "weights"):
        out.extend(sh.get(k, []))
    return out


def run_markdown(snaps: list[Any], parts: dict[str, Any], initial: dict[str, Any], final: dict[str, Any],
                 dyn: dict[str, Any], dyn_reasons: dict[str, str], refs: list[str], figs: list[Path],
                 fig_skipped: dict[str, str], label: str, prefix: str) -> str:
    """The Markdown section of :func:`neurosim.analysis.summary.analyse_run`."""
    out = [f"## Synapse sizes{': ' + label if label else ''}\n"]
    first, last = when(snaps[0]), when(snaps[-1])
    span = f" ({first} to {last})" if first and last and len(snaps) > 1 else ""
    out.append(f"{len(snaps)} snapshot(s){span}; initial = first, final = last. Each part is analysed on its own "
               "(a projection; a torch layer's excitatory and inhibitory inputs apart). Sizes are |w|; zeros are "
               "silent synapses, counted and left out of the fits; synapses on a grid's end levels or at a clip "
               "are point masses, counted and left out too.\n")
    out.append(_projection_table(parts, final))
    out.append("### What learning did (initial -> final)\n" if initial else "### Summary (one snapshot)\n")
    out.append(_learning_table(final, initial))
    notes = sorted({n for a in final.values() for n in a.notes})
    skipped = [f"{lb}: {k} skipped ({v})" for lb, a in final.items() for k, v in a.skipped.items()]
    if notes or skipped:
        out.append("Notes: " + "; ".join(notes + skipped) + ".\n")
    out.append(figure_link(figs, prefix, "sizes", "final size histograms (log x) with the fitted densities, the "
                                                  "initial sizes as an outline, and the reference shapes"))
    out.append("### Which family (final snapshot)\n")
    out.append(f"The rule: {selection.RULE}. The chi-square is an absolute test of the chosen family; at these "
               "sample sizes it rejects almost everything, so 'chosen' means 'least bad among the candidates' "
               "unless the fit passes.\n")
    out.append(_selection_table(final))
    out.append(figure_link(figs, prefix, "qq", "Q-Q plots against the fitted log-normal"))
    out.append("### Size changes by interval\n")
    out.append("Slope of ln std(change) against ln size (1: multiplicative, changes proportional to size, as "
               "Loewenstein et al. 2011 found for spines; 0: additive) and drift (the slope of the mean change of "
               "ln size against ln size: below 0 pulls sizes back to a typical size, which a log-normal steady "
               "state needs; 0 is a free walk), at every interval from one update to the whole run. Synapses on "
               "end levels or at a clip, or within 3 change SDs of one, are left out. The headline interval is a "
               "tenth of the turnover time (where the correlation of ln size has fallen to 1/e): see "
               "neurosim.analysis.dynamics.interval_scaling for why.\n")
    out.append(_dynamics_table(dyn, dyn_reasons))
    out.append(figure_link(figs, prefix, "intervals", "slope, drift and correlation of ln size against interval"))
    out.append("### Comparison with biology (shape, not scale)\n")
    out.append("Network units and microns or millivolts cannot be compared, so shapes are: sigma of ln size (natural "
               "log; log10 references converted) with its bootstrap interval, and the KS distance between "
               "standardised log sizes. Unverified reference numbers are marked.\n")
    out.append(_reference_table(final, refs))
    if any(a.precision is not None and a.precision.occupancy is not None for a in final.values()):
        out.append("### Precision (levels)\n")
        for lb, a in final.items():
            if a.precision is not None:
                init = initial.get(lb)
                before = (f" (initial {init.precision.occupancy.entropy_bits:.2f} bits)"
                          if init is not None and init.precision is not None and init.precision.occupancy else "")
                out.append(f"- {lb}{before}: {a.precision.markdown()}")
        out.append("")
        out.append(figure_link(figs, prefix, "occupancy", "level occupancy, initial and final"))
    if fig_skipped:
        out.append("Figures not drawn: " + "; ".join(f"{k} ({v})" for k, v in fig_skipped.items()) + ".\n")
    for lb, a in final.items():
        out.append(f"Final-snapshot fits, {lb}:\n")
        out.append(a.fit.table() if a.fit is not None else f"(no fit: {a.skipped.get('fit')})\n")
    return "\n".join(out)


def runs_markdown(per: dict[str, dict[str, Any]], finals: dict[str, Any], figs: list[Path], prefix: str) -> str:
    """The Markdown section of :func:`neurosim.analysis.summary.compare_runs`."""
    out = ["## Runs compared: synapse sizes per part\n"]
    rows = []
    for name, by_part in per.items():
        for lb, h in by_part.items():
            ent = (f"{num(h['entropy_bits_initial'], '.2f')} -> {num(h['entropy_bits'], '.2f')}"
                   if h.get("entropy_bits") is not None else None)
            slope = (f"{num(h['slope'])}{interval(h['slope_ci'])} at {h['slope_interval']:g} {h['time_unit']}"
                     if h.get("slope") is not None else None)
            turn = None if h.get("turnover") is None else (
                f"{'' if h['turnover_reached'] else '> '}{h['turnover']:.3g} {h['time_unit']}")
            rows.append([name, lb, h["n_synapses"], num(h["silent_fraction"], ".4f"), h.get("chosen_family"),
                         f"{num(h['sigma_ln_initial'])} -> {num(h['sigma_ln'])}", ent, slope, num(h.get("drift")),
                         turn])
    out.append(table(["run", "part", "synapses", "silent fraction", "chosen family", "sigma ln (initial -> final)",
                      "entropy bits (initial -> final)", "change-scaling slope [CI] at the headline interval",
                      "drift", "turnover"], rows))
    sam, bar = reference.load("samavat2024"), reference.load("bartol2015")
    out.append(f"Family chosen by: {selection.RULE}. {cite('samavat2024')}: {sam['bits_low']:g}-{sam['bits_high']:g} "
               f"bits per synapse; {cite('bartol2015')}: {bar['bits']:g} bits. {cite('loewenstein2011')}: "
               "slope 1.\n")
    out.append(figure_link(figs, prefix, "runs_panel", "final size distributions per run and part, shared axes"))
    out.append(figure_link(figs, prefix, "runs_shapes", "standardised log sizes with reference shapes"))
    for name, a in finals.items():
        out.append(f"### {name}: final-snapshot fits\n")
        out.append(a.fit.table() if a.fit is not None else f"(no fit: {a.skipped.get('fit')})\n")
    return "\n".join(out)
