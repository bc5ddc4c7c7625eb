"""Learning-rate tuning through the runner: scan, pick, and the sensitivity figure.

"Tuned" in neurosim's studies means: seed 0 of a condition is run at every
learning rate of a grid (a sweep, so the runs land in run directories and
resume), and the lr with the best final validation accuracy is kept (ties:
lower validation loss). The same scan gives the learning-rate sensitivity
picture (final validation loss and accuracy against lr), which shows whether
Madam's "no tuning" claim (Bernstein et al. 2020, Sec. 5: lr = 0.01 across
tasks) holds against tuned additive rules.

    scan = lr_scan("lr-digits", {"Adam": {"rule": {"name": "adam"}}}, "configs/digits_mlp.toml",
                   [1e-4, 1e-3, 1e-2], runs="runs", base_dir=Path("experiments"))
    best_lr(scan["Adam"])
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from neurosim.runner.sweep import build_sweep, run_sweep

__all__ = ["LRS", "best_lr", "lr_scan", "sensitivity_figure"]

#: the learning rates a study scans by default: 6 decades
LRS: tuple[float, ...] = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)


def lr_scan(name: str, conditions: Mapping[str, Mapping[str, Any]], base: str, lrs: Sequence[float], *,
            runs: str | os.PathLike[str] = "runs", base_dir: Path = Path("."), quick: bool = False,
            workers: int = 2, seed: int = 0, stale: str = "error") -> dict[str, dict[float, dict[str, float]]]:
    """Run ``seed`` of every condition at every lr; final validation metrics by label and lr.

    Parameters
    ----------
    conditions:
        label -> dotted overrides of the base config (as a sweep condition's
        ``set``), including a ``rule`` table; its ``lr`` is replaced by each scanned value.
    base:
        The base config, relative to ``base_dir``.
    lrs:
        Learning rates (dimensionless, > 0).

    Fits of the size distributions are switched off: tuning needs only the
    validation metrics. Returns ``{label: {lr: {"val_loss": ..., "val_accuracy": ..., "diverged": 0 or 1}}}``;
    a diverged run is kept in the scan (and skipped by :func:`best_lr`).
    """
    bad = [lr for lr in lrs if not (isinstance(lr, int | float) and math.isfinite(lr) and lr > 0)]
    if bad or not lrs:
        raise ValueError(f"lrs: must be a non-empty list of positive numbers, got {list(lrs)!r}")
    conds = []
    for label, overrides in conditions.items():
        if "rule" not in overrides:
            raise ValueError(f"conditions[{label!r}]: needs a 'rule' table to set the lr in")
        for lr in lrs:
            conds.append({"label": f"{label} @ lr {lr:g}", "seeds": [seed],
                          "set": {**overrides, "rule": {**overrides["rule"], "lr": lr}, "analysis.fit": False}})
    sweep = build_sweep({"name": name, "condition": conds, "base": base}, base_dir=base_dir, quick=quick)
    out = run_sweep(sweep, runs, workers=workers, progress=False, stale=stale)
    summary = json.loads((out.sweep_dir / "summary.json").read_text())["summary"]
    scan: dict[str, dict[float, dict[str, float]]] = {}
    for full, s in summary.items():
        label, _, lr = full.rpartition(" @ lr ")
        m = s["metrics"]
        scan.setdefault(label, {})[float(lr)] = {k: m[k]["mean"] for k in ("val_loss", "val_accuracy", "diverged")
                                                 if k in m}
    return scan


def best_lr(scan: Mapping[float, Mapping[str, float]]) -> float:
    """The lr with the highest validation accuracy (ties: lower validation loss); diverged runs excluded."""
    ok = {lr: v for lr, v in scan.items() if math.isfinite(v.get("val_loss", math.nan)) and not v.get("diverged")}
    if not ok:
        raise ValueError(f"best_lr: every scanned lr diverged ({sorted(scan)})")
    return max(ok, key=lambda lr: (ok[lr].get("val_accuracy", -math.inf), -ok[lr]["val_loss"]))


def sensitivity_figure(scan: Mapping[str, Mapping[float, Mapping[str, float]]], path: str | os.PathLike[str],
                       title: str, *, marked_lr: float = 0.01,
                       solid: Callable[[str], bool] | None = None) -> list[Path]:
    """Final validation loss (log axis) and accuracy (%) against lr, one line per condition.

    Solid lines for the labels ``solid`` picks (default: those starting with
    "ANN", the networks without sign constraints), dashed otherwise; a dotted
    vertical line at ``marked_lr`` (Madam's untuned 0.01). Written with
    :func:`neurosim.analysis.plots.save_figure` (PNG and SVG, atomically).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from neurosim.analysis.plots import save_figure, unconstrained_label

    fig, axes = plt.subplots(1, 2, figsize=(12.5, 3.8), constrained_layout=True)
    for i, (label, by_lr) in enumerate(scan.items()):
        lrs = sorted(by_lr)
        style = "-" if (solid or unconstrained_label)(label) else "--"
        for ax, key, scale in ((axes[0], "val_loss", 1.0), (axes[1], "val_accuracy", 100.0)):
            ax.plot(lrs, [scale * by_lr[lr].get(key, math.nan) for lr in lrs], style, marker="o", ms=3,
                    color=f"C{i % 10}", label=label)
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.axvline(marked_lr, color="0.6", lw=0.8, ls=":")
    axes[0].set_ylabel("final validation loss (nats)")
    axes[0].set_yscale("log")
    axes[1].set_ylabel("final validation accuracy (%)")
    axes[1].legend(fontsize=7, frameon=False, loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.suptitle(title, fontsize=9)
    paths = save_figure(fig, path, tight=False)
    plt.close(fig)
    return paths
