"""Study: multiplicative vs additive learning, with and without Dale's principle and a log grid.

Tests two claims of Bernstein et al. (NeurIPS 2020) on networks a neuroscientist
would recognise:

1. Madam needs no learning-rate tuning (lr = 0.01 everywhere), while SGD and Adam
   are tuned over a learning-rate grid spanning 5 decades on the validation split;
2. learning still works when every synapse has only ~26 log-spaced sizes
   (``LogGridMadam``), against 256 levels, the authors' 12-bit grid and FP32 Madam.

Phases, all run through the runner (run directories, resumable):

* ``lr_sensitivity``: seed 0, every tunable rule (and Madam, for the picture) at
  lr = 1e-5 ... 1; final validation loss and accuracy against lr (one figure);
* tuning: each additive rule takes the lr with the best validation accuracy;
* ``compare_rules``: every condition over 3 seeds at its lr; table of test
  accuracy (mean and range), learning curves, snapshots, the sweep report.

    python experiments/compare_rules.py [--quick] [--task digits] [--workers 2]

Writes ``results/compare_rules-<task>/README.md`` (``--out`` to change).
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import time
from pathlib import Path
from typing import Any

from neurosim._io import write_text
from neurosim.runner.aggregate import summary_table
from neurosim.runner.sweep import build_sweep, run_sweep

HERE = Path(__file__).resolve().parent
BASES = {"digits": "configs/digits_mlp.toml", "perceptual_decision_making": "configs/pdm_rnn.toml",
         "context_dependent_integration": "configs/cdi_rnn.toml"}
LRS = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0]

ANN = {"network.dale": False}
DALE = {"network.dale": True}

#: label -> (network overrides, rule table, tuned?)
CONDITIONS: dict[str, tuple[dict[str, Any], dict[str, Any], bool]] = {
    "ANN + Adam (tuned)": (ANN, {"name": "adam"}, True),
    "ANN + SGD (tuned)": (ANN, {"name": "sgd", "momentum": 0.9}, True),
    "ANN + Madam (lr 0.01)": (ANN, {"name": "madam", "lr": 0.01}, False),
    "Dale + DaleAdam (tuned)": (DALE, {"name": "dale_adam"}, True),
    "Dale + DaleSGD (tuned)": (DALE, {"name": "dale_sgd", "momentum": 0.9}, True),
    "Dale + Madam (lr 0.01)": (DALE, {"name": "madam", "lr": 0.01}, False),
    "Dale + LogGridMadam 26 levels, stochastic": (DALE, {"name": "loggrid_madam", "lr": 0.01}, False),
    "Dale + LogGridMadam 26 levels, nearest": (
        DALE, {"name": "loggrid_madam", "lr": 0.01, "rounding": "nearest"}, False),
    "Dale + LogGridMadam 256 levels over 60x": (
        DALE, {"name": "loggrid_madam", "lr": 0.01, "levels": 256}, False),
    "Dale + LogGridMadam 12-bit (step 0.001)": (
        DALE, {"name": "loggrid_madam", "lr": 0.01, "levels": 4096, "step": 0.001, "rounding": "nearest",
               "init": "uniform"}, False),
    "Dale + QuantizedSGD 26 uniform levels (tuned)": (DALE, {"name": "quantized_sgd"}, True),
    "Control: Dale + LogGridMadam 26, shuffled gradient": (
        DALE, {"name": "loggrid_madam", "lr": 0.01, "shuffle_gradient": True}, False),
}
#: also scanned for the sensitivity figure (not tuned: they keep lr 0.01 in the comparison)
SCANNED_UNTUNED = ("ANN + Madam (lr 0.01)", "Dale + Madam (lr 0.01)",
                   "Dale + LogGridMadam 26 levels, stochastic")


def _condition(label: str, net: dict[str, Any], rule: dict[str, Any], seeds: list[int]) -> dict[str, Any]:
    return {"label": label, "set": {**net, "rule": rule}, "seeds": seeds}


def lr_scan(task: str, lrs: list[float], quick: bool, runs: Path, workers: int) -> dict[str, dict[float, Any]]:
    """Seed 0 of every tunable (and the Madam) condition at every lr; final metrics by label and lr."""
    conds = []
    for label, (net, rule, tuned) in CONDITIONS.items():
        if tuned or label in SCANNED_UNTUNED:
            for lr in lrs:
                cond = _condition(f"{label} @ lr {lr:g}", net, {**rule, "lr": lr}, [0])
                cond["set"]["analysis.fit"] = False  # tuning needs only the validation metrics
                conds.append(cond)
    sweep = build_sweep({"name": f"lr-{task}", "condition": conds, "base": BASES[task]}, base_dir=HERE,
                        quick=quick)
    out = run_sweep(sweep, runs, workers=workers, progress=False)
    summary = json.loads((out.sweep_dir / "summary.json").read_text())["summary"]
    scan: dict[str, dict[float, Any]] = {}
    for full, s in summary.items():
        label, _, lr = full.rpartition(" @ lr ")
        m = s["metrics"]
        scan.setdefault(label, {})[float(lr)] = {k: m[k]["mean"] for k in ("val_loss", "val_accuracy") if k in m}
    return scan


def best_lr(scan: dict[float, Any]) -> float:
    """The lr with the highest validation accuracy (ties: lower validation loss)."""
    ok = {lr: v for lr, v in scan.items() if math.isfinite(v.get("val_loss", math.nan))}
    return max(ok, key=lambda lr: (ok[lr]["val_accuracy"], -ok[lr]["val_loss"]))


def sensitivity_figure(scan: dict[str, dict[float, Any]], path: Path, task: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), constrained_layout=True)
    for i, (label, by_lr) in enumerate(scan.items()):
        lrs = sorted(by_lr)
        style = "-" if label.startswith("ANN") else "--"
        for ax, key, scale in ((axes[0], "val_loss", 1.0), (axes[1], "val_accuracy", 100.0)):
            ax.plot(lrs, [scale * by_lr[lr].get(key, math.nan) for lr in lrs], style, marker="o", ms=3,
                    color=f"C{i % 10}", label=label)
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.axvline(0.01, color="0.6", lw=0.8, ls=":")
    axes[0].set_ylabel("final validation loss (nats)")
    axes[0].set_yscale("log")
    axes[1].set_ylabel("final validation accuracy (%)")
    axes[1].legend(fontsize=7, frameon=False, loc="lower left")
    fig.suptitle(f"Learning-rate sensitivity on {task} (seed 0; dotted line: Madam's lr 0.01)", fontsize=9)
    from neurosim.analysis.plots import save_figure

    save_figure(fig, path, tight=False)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="digits", choices=sorted(BASES))
    parser.add_argument("--quick", action="store_true", help="test size: 1 lr, 1 seed, 2 epochs")
    parser.add_argument("--runs", default="runs", help="run directories (default: runs)")
    parser.add_argument("--out", default=None, help="report folder (default: results/compare_rules-<task>)")
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args(argv)
    out = Path(args.out or f"results/compare_rules-{args.task}")
    out.mkdir(parents=True, exist_ok=True)
    runs = Path(args.runs)
    lrs = [1e-2] if args.quick else LRS
    seeds = [0] if args.quick else [0, 1, 2]
    t0 = time.perf_counter()
    scan = lr_scan(args.task, lrs, args.quick, runs, args.workers or 2)
    sensitivity_figure(scan, out / "lr_sensitivity", args.task)
    chosen = {label: (best_lr(scan[label]) if tuned else rule["lr"])
              for label, (_, rule, tuned) in CONDITIONS.items()}
    conds = [_condition(label, net, {**rule, "lr": chosen[label]}, seeds)
             for label, (net, rule, _) in CONDITIONS.items()]
    if args.quick:  # the sweep report still compares the size distributions of all conditions
        for c in conds:
            c["set"]["analysis.fit"] = False
    sweep = build_sweep({"name": f"compare-{args.task}", "condition": conds, "base": BASES[args.task],
                         "description": f"compare_rules on {args.task}"}, base_dir=HERE, quick=args.quick)
    res = run_sweep(sweep, runs, workers=args.workers or 2, progress=False)
    summary = json.loads((res.sweep_dir / "summary.json").read_text())
    summary["summary"] = {k: summary["summary"][k] for k in CONDITIONS if k in summary["summary"]}
    minutes = (time.perf_counter() - t0) / 60
    lines = [f"# compare_rules on {args.task}{' (quick size)' if args.quick else ''}", "",
             __doc__.split("\n\n")[1], "",
             "## Learning rates", "",
             "Tuned rules took the lr with the best validation accuracy (seed 0) from "
             f"{', '.join(f'{lr:g}' for lr in lrs)}; Madam and LogGridMadam use 0.01 untuned.", "",
             "| condition | lr |", "|---|---|"]
    lines += [f"| {label} | {chosen[label]:g}{' (tuned)' if CONDITIONS[label][2] else ''} |" for label in chosen]
    lines += ["", "![learning-rate sensitivity](lr_sensitivity.png)", "",
              "## Test accuracy over seeds", "", summary_table(summary["summary"]), "",
              f"Sweep report with figures, paired differences and size distributions: "
              f"[sweep/report.md](sweep/report.md) (its run links point into `{res.sweep_dir.parent.parent}`). "
              f"Everything else (initial scale, bias rule and its lr, batch size, "
              f"epochs) is the same for every rule: see the base config `experiments/{BASES[args.task]}`.", "",
              f"Wall time: {minutes:.1f} min.", ""]
    write_text(out / "README.md", "\n".join(lines))
    shutil.copytree(res.sweep_dir, out / "sweep", dirs_exist_ok=True)  # links to run folders stay in runs/
    write_text(out / "summary.json", json.dumps({"chosen_lr": chosen, "scan": {k: {str(lr): v for lr, v in d.items()}
                                                 for k, d in scan.items()}, "summary": summary["summary"]},
                                                indent=1))
    print(f"report: {out / 'README.md'}")
    return {"chosen_lr": chosen, "summary": summary["summary"], "failed": res.failed}


if __name__ == "__main__":
    main()
