"""Sweep aggregation: per condition the mean over seeds with a t-interval, paired differences
between conditions on the same seeds, the per-part size statistics of every run (the same
measures as the run reports), a Markdown report and figures.

Intervals over seeds are Student's t (:func:`neurosim.analysis.intervals.over_seeds`), each
cell naming the number of seeds; a bootstrap over a handful of seeds is not used (it returns
about ``[min, max]`` and calls it 95 %).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from neurosim.analysis.intervals import over_seeds
from neurosim.files import write_text
from neurosim.markdown import num, table
from neurosim.runner.rundir import RunDir

#: Final metrics shown in the sweep table when present (in this order).
HEADLINE = ("test_accuracy", "test_accuracy_top2_coherence", "val_accuracy", "val_loss",
            "rate_hz", "isi_cv", "levels_moved_mean")
#: Per-part size statistics (keys of a run summary's ``headline``) aggregated over seeds.
SIZE_STATS = ("sigma_ln_initial", "sigma_ln", "entropy_bits_initial", "entropy_bits", "slope", "drift",
              "dynamic_range_1_99")


def collect(sweep_dir: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Read ``sweep.json``, each run's final metrics and its per-part size headline."""
    with open(sweep_dir / "sweep.json", encoding="utf-8") as fh:
        sweep = json.load(fh)
    runs = []
    for r in sweep["runs"]:
        rd = RunDir((sweep_dir / r["dir"]).resolve())
        res = rd.result() if rd.done else {}
        final = dict(res.get("final", {}))
        parts = dict((res.get("analysis") or {}).get("headline", {}))
        runs.append({**r, "run": rd, "done": rd.done, "final": final, "parts": parts})
    return sweep, runs


def _stat(by_seed: Mapping[int, float]) -> dict[str, Any]:
    vals = list(by_seed.values())
    iv = over_seeds(vals)
    return {"by_seed": dict(by_seed), "mean": iv.mean, "min": float(np.min(vals)), "max": float(np.max(vals)),
            "interval": [iv.lo, iv.hi], "interval_kind": iv.label, "n": iv.n}


def summarise(runs: Sequence[Mapping[str, Any]], labels: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Per label and final metric: values by seed, mean, min, max and a t-interval over seeds."""
    out: dict[str, dict[str, Any]] = {}
    for label in labels:
        rows = [r for r in runs if r["label"] == label and r["done"]]
        keys = {k for r in rows for k, v in r["final"].items() if isinstance(v, (int, float))
                and not isinstance(v, bool) and math.isfinite(v)}
        metrics = {k: _stat({r["seed"]: float(r["final"][k]) for r in rows if k in r["final"]
                             and math.isfinite(r["final"][k])}) for k in sorted(keys)}
        out[label] = {"n_runs": len([r for r in runs if r["label"] == label]), "n_done": len(rows),
                      "metrics": metrics}
    return out


def size_summary(runs: Sequence[Mapping[str, Any]], labels: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Per label and part: the run reports' size statistics over seeds, and the families chosen.

    Each run's numbers come from its own analysis (``result.json`` ``analysis.headline``:
    per part, the slope and drift at the headline interval, sigma of ln size and the level
    entropy before and after training); here they are only averaged over seeds.
    """
    out: dict[str, dict[str, Any]] = {}
    for label in labels:
        rows = [r for r in runs if r["label"] == label and r["done"] and r.get("parts")]
        parts: dict[str, Any] = {}
        for part in dict.fromkeys(p for r in rows for p in r["parts"]):
            heads = {r["seed"]: r["parts"][part] for r in rows if part in r["parts"]}
            stats = {}
            for k in SIZE_STATS:
                by_seed = {s: float(h[k]) for s, h in heads.items() if h.get(k) is not None}
                if by_seed:
                    stats[k] = _stat(by_seed)
            chosen = Counter(h.get("chosen_family") or "none" for h in heads.values())
            ivals = sorted({h["slope_interval"] for h in heads.values() if h.get("slope_interval") is not None})
            unit = next((h.get("time_unit") for h in heads.values() if h.get("time_unit")), None)
            parts[part] = {"n_seeds": len(heads), "stats": stats, "chosen": dict(chosen),
                           "slope_intervals": ivals, "time_unit": unit}
        out[label] = parts
    return out


def paired_differences(summary: Mapping[str, Any], metric: str, reference: str) -> dict[str, Any]:
    """``label - reference`` of ``metric`` on the seeds both share: mean, range and t-interval."""
    ref = summary.get(reference, {}).get("metrics", {}).get(metric)
    out: dict[str, Any] = {}
    if ref is None:
        return out
    for label, s in summary.items():
        m = s["metrics"].get(metric)
        if label == reference or m is None:
            continue
        seeds = sorted(set(m["by_seed"]) & set(ref["by_seed"]))
        if not seeds:
            continue
        d = {k: m["by_seed"][k] - ref["by_seed"][k] for k in seeds}
        out[label] = {**_stat(d), "seeds": seeds, "all_below": all(v < 0 for v in d.values()),
                      "all_above": all(v > 0 for v in d.values())}
    return out


def every_seed_against(summary: Mapping[str, Any], reference: str, fraction: float = 0.9,
                       metric: str = "test_accuracy") -> tuple[str, bool]:
    """Markdown table: is every seed of each condition at least ``fraction`` of ``reference``'s mean?

    One row per condition other than ``reference`` (its seeds, the bar, yes or no);
    the second value is whether every condition passes. A missing reference gives
    ``("", False)``.
    """
    ref = summary.get(reference, {}).get("metrics", {}).get(metric)
    if not ref:
        return "", False
    bar = fraction * ref["mean"]
    rows, ok = [], True
    pct = "accuracy" in metric
    for label, s in summary.items():
        if label == reference:
            continue
        by_seed = s["metrics"].get(metric, {}).get("by_seed", {})
        met = bool(by_seed) and min(by_seed.values()) >= bar
        ok &= met
        rows.append([label, ", ".join(num((100 if pct else 1) * v, ".1f") for v in by_seed.values()),
                     num((100 if pct else 1) * bar, ".1f"), "yes" if met else "**no**"])
    head = ["condition", f"{metric.replace('_', ' ')} by seed" + (" (%)" if pct else ""),
            f"{fraction:.0%} of {reference}", "every seed above?"]
    return table(head, rows), ok


def _cell(m: Mapping[str, Any] | None, pct: bool) -> str:
    if m is None:
        return "—"
    scale = 100.0 if pct else 1.0
    spec = ".1f" if pct else ".3g"

    def f(x: float) -> str:
        return num(scale * x, spec)

    if m["n"] == 1:
        return f(m["mean"]) + " (1 seed)"
    lo, hi = m["interval"]
    t = f" (t: {f(lo)}–{f(hi)})" if math.isfinite(lo) else ""
    return f"{f(m['mean'])} [{f(m['min'])}, {f(m['max'])}]{t}"


def summary_table(summary: Mapping[str, Any], metrics: Sequence[str] | None = None) -> str:
    """Markdown: one row per condition; per metric the mean [min, max] (95 % t-interval) over seeds."""
    present = {k for s in summary.values() for k in s["metrics"]}
    metrics = [k for k in (metrics or HEADLINE) if k in present]
    if not metrics:
        return "_no finished runs_\n"
    head = ["condition", "runs"] + [m.replace("_", " ") + (" (%)" if "accuracy" in m else "") for m in metrics]
    rows = [[label, f"{s['n_done']}/{s['n_runs']}", *(_cell(s["metrics"].get(m), "accuracy" in m)
                                                        for m in metrics)] for label, s in summary.items()]
    return table(head, rows)


def size_table(sizes: Mapping[str, Mapping[str, Any]]) -> str:
    """Markdown: one row per condition and part; size statistics over seeds (mean [min, max], t)."""
    rows = []
    for label, parts in sizes.items():
        for part, p in parts.items():
            st = p["stats"]
            chosen = ", ".join(f"{k} {v}" for k, v in sorted(p["chosen"].items(), key=lambda kv: -kv[1]))
            ivals = ", ".join(f"{v:g}" for v in p["slope_intervals"]) or "—"
            rows.append([label, part, p["n_seeds"], chosen, _cell(st.get("sigma_ln_initial"), False),
                         _cell(st.get("sigma_ln"), False), _cell(st.get("entropy_bits_initial"), False),
                         _cell(st.get("entropy_bits"), False), _cell(st.get("slope"), False),
                         _cell(st.get("drift"), False), f"{ivals} {p['time_unit'] or ''}".strip()])
    if not rows:
        return "_no size analysis in the runs_\n"
    return table(["condition", "part", "seeds", "family chosen (runs)", "sigma ln, initial", "sigma ln, final",
                  "entropy (bits), initial", "entropy (bits), final", "slope at headline", "drift at headline",
                  "headline interval"], rows)


def accuracy_figure(summary: Mapping[str, Any], metric: str, path: Path) -> list[Path]:
    """Per condition: each seed's value as a dot, the mean as a bar (PNG and SVG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [k for k, s in summary.items() if metric in s["metrics"]]
    fig, ax = plt.subplots(figsize=(1.2 + 0.9 * len(labels), 3.4), constrained_layout=True)
    scale = 100.0 if "accuracy" in metric else 1.0
    for i, label in enumerate(labels):
        m = summary[label]["metrics"][metric]
        vals = np.array(list(m["by_seed"].values())) * scale
        ax.bar(i, vals.mean(), color="0.85", edgecolor="0.4")
        ax.plot(np.full(vals.size, i) + np.linspace(-0.15, 0.15, vals.size), vals, "o", color="C0", ms=4)
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(metric.replace("_", " ") + (" (%)" if "accuracy" in metric else ""))
    if "accuracy" in metric:
        lo = min(min(summary[k]["metrics"][metric]["min"] for k in labels) * 100 - 5, 90)
        ax.set_ylim(max(0, lo), 100)
    from neurosim.analysis.plots import save_figure

    paths = save_figure(fig, path, tight=False)
    plt.close(fig)
    return paths


def write_sweep_report(sweep_dir: str | Path) -> dict[str, Any]:
    """(Re)write the sweep's ``report.md``, ``summary.json`` and figures from disk."""
    from neurosim.files import write_json

    sweep_dir = Path(sweep_dir)
    sweep, runs = collect(sweep_dir)
    labels = sweep["labels"]
    summary = summarise(runs, labels)
    figures = sweep_dir / "figures"
    figures.mkdir(exist_ok=True)
    lines = [f"# Sweep `{sweep['name']}`", ""]
    if sweep.get("description"):
        lines += [sweep["description"], ""]
    n_done = sum(r["done"] for r in runs)
    lines += [f"{n_done} of {len(runs)} runs finished.", "",
              "Each cell: mean [min, max] over seeds, with a 95 % t-interval of the mean (t: lo–hi) when "
              "there are at least two seeds.", "", summary_table(summary)]
    out: dict[str, Any] = {"labels": labels, "summary": summary}
    for metric in ("test_accuracy", "test_accuracy_top2_coherence"):
        if any(metric in s["metrics"] for s in summary.values()):
            paths = accuracy_figure(summary, metric, figures / metric)
            lines += [f"![{metric}](figures/{paths[0].name})", ""]
            ref = next((k for k, s in summary.items() if metric in s["metrics"]), None)
            diffs = paired_differences(summary, metric, ref) if ref else {}
            out[f"paired_{metric}"] = {"reference": ref, "differences": diffs}
            if diffs:
                lines += [f"Paired differences in {metric.replace('_', ' ')} against **{ref}** "
                          "(same seeds; percentage points; 95 % t-interval over seeds):", "",
                          table(["condition", "mean", "range", "t-interval", "seeds", "sign on every seed"],
                                [[label, num(100 * d["mean"], "+.1f"),
                                  f"{num(100 * d['min'], '+.1f')} to {num(100 * d['max'], '+.1f')}",
                                  (f"{num(100 * d['interval'][0], '+.1f')} to {num(100 * d['interval'][1], '+.1f')}"
                                   if math.isfinite(d["interval"][0]) else "—"), len(d["seeds"]),
                                  "lower" if d["all_below"] else "higher" if d["all_above"] else "mixed"]
                                 for label, d in diffs.items()])]
    sizes = size_summary(runs, labels)
    if any(sizes.values()):
        out["size_statistics"] = sizes
        lines += ["## Synapse sizes per condition and part, over seeds", "",
                  "From each run's own analysis (its report): sigma of ln size and the level entropy before "
                  "and after training; the slope of ln std(change) on ln size and the drift of ln size at the "
                  "headline interval (a tenth of the turnover time, synapses on end levels or near a clip "
                  "left out). Each cell: mean [min, max] over seeds (t: 95 % t-interval).", "",
                  size_table(sizes)]
    finals, draw = {}, False
    for label in labels:
        first = next((r for r in runs if r["label"] == label and r["done"]), None)
        if first is None:
            continue
        analysis = first["run"].config().get("analysis", {})
        paths = first["run"].snapshot_paths()
        if paths and analysis.get("fit", True):  # a run that asked for no fits is left out here too
            finals[label] = (paths, first["run"])
            draw = draw or analysis.get("figures", True)
    if finals:
        from neurosim import snapshot as snap
        from neurosim.analysis.summary import compare_runs
        from neurosim.runner.report import run_traces

        comp = compare_runs({k: [snap.load(x) for x in p] for k, (p, _) in finals.items()}, figures,
                            traces={k: run_traces(rd) for k, (_, rd) in finals.items()}, figures=draw)
        lines += ["## Synapse sizes per condition and part, first seed", "", comp.markdown, ""]
        out["sizes"] = comp.summary
    links = [f"[{Path(r['dir']).name}]({r['dir']}/report.md)" + ("" if r["done"] else " (not finished)")
             for r in runs]
    lines += ["## Runs", "", table(["condition", "seed", "run"],
                                   [[r["label"], r["seed"], link] for r, link in zip(runs, links, strict=True)])]
    if sweep.get("failed"):
        lines += ["", "Failed runs:", ""] + [f"- `{k}`: {v}" for k, v in sweep["failed"].items()]
    write_text(sweep_dir / "report.md", "\n".join(lines) + "\n")
    write_json(sweep_dir / "summary.json", out)
    return out
