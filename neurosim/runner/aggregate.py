"""Sweep aggregation: per condition mean, range and bootstrap interval over seeds,
paired differences between conditions on the same seeds, a Markdown report and figures."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from neurosim.files import write_text
from neurosim.runner.rundir import RunDir

#: Final metrics shown in the sweep table when present (in this order).
HEADLINE = ("test_accuracy", "val_accuracy", "test_accuracy_top2_coherence", "val_loss",
            "rate_hz", "isi_cv", "levels_moved_mean")


def bootstrap_ci(values: Sequence[float], n_boot: int = 10_000, level: float = 0.95, seed: int = 0
                 ) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean (NaN with fewer than 2 values)."""
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=float)
    if v.size < 2:
        return (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, v.size, (n_boot, v.size))].mean(axis=1)
    a = (1 - level) / 2
    return float(np.quantile(means, a)), float(np.quantile(means, 1 - a))


def collect(sweep_dir: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Read ``sweep.json`` and each run's final metrics (size statistics come from the snapshots)."""
    with open(sweep_dir / "sweep.json", encoding="utf-8") as fh:
        sweep = json.load(fh)
    runs = []
    for r in sweep["runs"]:
        rd = RunDir((sweep_dir / r["dir"]).resolve())
        res = rd.result() if rd.done else {}
        final = dict(res.get("final", {}))
        runs.append({**r, "run": rd, "done": rd.done, "final": final})
    return sweep, runs


def summarise(runs: Sequence[Mapping[str, Any]], labels: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Per label and metric: values by seed, mean, min, max and a bootstrap interval."""
    out: dict[str, dict[str, Any]] = {}
    for label in labels:
        rows = [r for r in runs if r["label"] == label and r["done"]]
        metrics: dict[str, Any] = {}
        keys = {k for r in rows for k, v in r["final"].items() if isinstance(v, (int, float))
                and not isinstance(v, bool)}
        for k in sorted(keys):
            by_seed = {r["seed"]: float(r["final"][k]) for r in rows if k in r["final"]}
            vals = list(by_seed.values())
            lo, hi = bootstrap_ci(vals)
            metrics[k] = {"by_seed": by_seed, "mean": float(np.mean(vals)), "min": float(np.min(vals)),
                          "max": float(np.max(vals)), "ci95": [lo, hi], "n": len(vals)}
        out[label] = {"n_runs": len([r for r in runs if r["label"] == label]), "n_done": len(rows),
                      "metrics": metrics}
    return out


def paired_differences(summary: Mapping[str, Any], metric: str, reference: str) -> dict[str, Any]:
    """``label - reference`` of ``metric`` on the seeds both share: mean, range, bootstrap interval."""
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
        d = [m["by_seed"][k] - ref["by_seed"][k] for k in seeds]
        out[label] = {"mean": float(np.mean(d)), "min": float(np.min(d)), "max": float(np.max(d)),
                      "ci95": list(bootstrap_ci(d)), "seeds": seeds}
    return out


def _cell(m: Mapping[str, Any] | None, pct: bool) -> str:
    if m is None:
        return "—"
    f = (lambda x: f"{100 * x:.1f}") if pct else (lambda x: f"{x:.3g}")
    if m["n"] == 1:
        return f(m["mean"])
    lo, hi = m["ci95"]
    ci = f" (95 % CI {f(lo)}–{f(hi)})" if math.isfinite(lo) else ""
    return f"{f(m['mean'])} [{f(m['min'])}, {f(m['max'])}]{ci}"


def summary_table(summary: Mapping[str, Any], metrics: Sequence[str] | None = None) -> str:
    """Markdown: one row per condition, mean [min, max] (bootstrap 95 % CI) per metric."""
    present = {k for s in summary.values() for k in s["metrics"]}
    metrics = [k for k in (metrics or HEADLINE) if k in present]
    if not metrics:
        return "_no finished runs_\n"
    head = ["condition", "runs"] + [m.replace("_", " ") + (" (%)" if "accuracy" in m else "") for m in metrics]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, s in summary.items():
        cells = [label, f"{s['n_done']}/{s['n_runs']}"]
        cells += [_cell(s["metrics"].get(m), "accuracy" in m) for m in metrics]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


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
              "Each cell: mean [min, max] over seeds, with a percentile-bootstrap 95 % interval of the "
              "mean when there are at least two seeds.", "", summary_table(summary)]
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
                          "(same seeds; percentage points):", "",
                          "| condition | mean | range | 95 % CI |", "|---|---|---|---|"]
                for label, d in diffs.items():
                    ci = d["ci95"]
                    ci_s = f"{100 * ci[0]:+.1f} to {100 * ci[1]:+.1f}" if math.isfinite(ci[0]) else "—"
                    lines.append(f"| {label} | {100 * d['mean']:+.1f} | {100 * d['min']:+.1f} to "
                                 f"{100 * d['max']:+.1f} | {ci_s} |")
                lines.append("")
    finals, draw = {}, False
    for label in labels:
        first = next((r for r in runs if r["label"] == label and r["done"]), None)
        if first is None:
            continue
        analysis = first["run"].config().get("analysis", {})
        paths = first["run"].snapshot_paths()
        if paths and analysis.get("fit", True):  # a run that asked for no fits is left out here too
            finals[label] = paths
            draw = draw or analysis.get("figures", True)
    if finals:
        from neurosim import snapshot as snap
        from neurosim.analysis.summary import compare_runs

        comp = compare_runs({k: [snap.load(p[0]), snap.load(p[-1])] for k, p in finals.items()}, figures,
                            figures=draw)
        lines += ["## Synapse sizes per condition (first seed)", "", comp.markdown, ""]
        out["sizes"] = comp.summary
    lines += ["## Runs", "", "| condition | seed | run |", "|---|---|---|"]
    for r in runs:
        status = "" if r["done"] else " (not finished)"
        lines.append(f"| {r['label']} | {r['seed']} | [{Path(r['dir']).name}]({r['dir']}/report.md){status} |")
    if sweep.get("failed"):
        lines += ["", "Failed runs:", ""] + [f"- `{k}`: {v}" for k, v in sweep["failed"].items()]
    write_text(sweep_dir / "report.md", "\n".join(lines) + "\n")
    write_json(sweep_dir / "summary.json", out)
    return out
