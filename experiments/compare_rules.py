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
* ``compare_rules``: every condition over :data:`SEEDS` seeds at its lr; table of test
  accuracy (mean, range and t-interval), learning curves, snapshots, size statistics per
  layer and presynaptic sign, the sweep report.

For the RNN tasks the report ends with the tables of ``rnn_remedies`` for the task
(what held the Dale networks back, and the remedies measured one at a time), read
from its committed ``results/rnn_remedies/summary.json`` when there is one.

Additive against multiplicative on the same grids: ``QuantizedSGD`` on a uniform grid
and on LogGridMadam's log grid, beside LogGridMadam; the shuffled-gradient row is the
control of the Madam rows (same magnitudes, no learning signal).

    python experiments/compare_rules.py [--quick] [--task digits] [--workers 2]
    python experiments/compare_rules.py --describe runs/sweeps/pdm-long-budget-<hash> --out DIR

Writes ``results/compare_rules-<task>/README.md`` (``--quick``: ``runs/quick/compare_rules-<task>/``;
``--out`` to change).
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from neurosim.files import write_text
from neurosim.markdown import table
from neurosim.runner.aggregate import collect, size_table, summary_table
from neurosim.runner.study import load_study, report_dir, study_parser
from neurosim.runner.sweep import build_sweep, run_sweep
from neurosim.runner.tune import LRS, best_lr, lr_scan, sensitivity_figure

HERE = Path(__file__).resolve().parent
BASES = {"digits": "configs/digits_mlp.toml", "perceptual_decision_making": "configs/pdm_rnn.toml",
         "context_dependent_integration": "configs/cdi_rnn.toml",
         "parametric_working_memory": "configs/pwm_rnn.toml"}

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
    "Dale + LogGridMadam 12-bit (step 0.001), random initial levels (the authors')": (
        DALE, {"name": "loggrid_madam", "lr": 0.01, "levels": 4096, "step": 0.001, "rounding": "nearest",
               "init": "uniform"}, False),
    "Dale + LogGridMadam 12-bit (step 0.001), initial sizes encoded": (
        DALE, {"name": "loggrid_madam", "lr": 0.01, "levels": 4096, "step": 0.001, "rounding": "nearest",
               "init": "encode"}, False),
    "Dale + QuantizedSGD 26 uniform levels (tuned)": (DALE, {"name": "quantized_sgd"}, True),
    "Dale + QuantizedSGD on the 26-level log grid (tuned)": (DALE, {"name": "quantized_sgd", "grid": "log"}, True),
    "Control: Dale + LogGridMadam 26, shuffled gradient": (
        DALE, {"name": "loggrid_madam", "lr": 0.01, "shuffle_gradient": True}, False),
}
#: seeds of the full-size comparison (claims are judged over at least 5; see the README's criteria)
SEEDS = 5
#: also scanned for the sensitivity figure (not tuned: they keep lr 0.01 in the comparison)
SCANNED_UNTUNED = ("ANN + Madam (lr 0.01)", "Dale + Madam (lr 0.01)",
                   "Dale + LogGridMadam 26 levels, stochastic")


def _condition(label: str, net: dict[str, Any], rule: dict[str, Any], seeds: list[int]) -> dict[str, Any]:
    return {"label": label, "set": {**net, "rule": rule}, "seeds": seeds}


def runs_by_label(sweep_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """The sweep's runs as :func:`~neurosim.runner.aggregate.collect` reads them, grouped by condition."""
    out: dict[str, list[dict[str, Any]]] = {}
    for r in collect(sweep_dir)[1]:
        out.setdefault(r["label"], []).append(r)
    return out


def rnn_diagnostics(by_label: dict[str, list[dict[str, Any]]], n_trials: int = 256) -> dict[str, dict[str, float]]:
    """Per condition (mean over seeds): the final network's spectrum and activity, and its grid use.

    Activity comes from :meth:`DaleRNN.activity` on ``n_trials`` test-like trials
    (noise off); ``at_grid_ends`` is the fraction of recurrent synapses on the
    lowest or highest level of a LogGridMadam grid, ``moved`` the fraction of
    recurrent sizes that differ between the first and the last snapshot.
    """
    import numpy as np
    import torch

    from neurosim import snapshot
    from neurosim.models import spectral_radius
    from neurosim.runner.torch_run import load_run

    out: dict[str, dict[str, float]] = {}
    for label, runs in by_label.items():
        rows = []
        for r in runs:
            setup = load_run(r["run"].path)
            u, *_ = setup.task.batch(n_trials, np.random.default_rng(12345))
            row = setup.model.activity(torch.from_numpy(u))
            snaps = r["run"].snapshot_paths()
            first, last = (snapshot.load(p).projections["recurrent"] for p in (snaps[0], snaps[-1]))
            row["rho_start"] = spectral_radius(first.weight)
            row["moved"] = float(np.mean(first.size != last.size))
            if last.level is not None and last.grid is not None:
                row["at_grid_ends"] = float(np.mean((last.level == 0) | (last.level == last.grid.levels - 1)))
            rows.append(row)
        out[label] = {k: float(np.mean([r[k] for r in rows])) for k in rows[0] if all(k in r for r in rows)}
    return out


def _train_minutes(by_label: dict[str, list[dict[str, Any]]]) -> float:
    return sum(r["run"].result().get("seconds", 0.0) for runs in by_label.values() for r in runs) / 60


def diagnostics_table(diag: dict[str, dict[str, float]]) -> str:
    cols = [("rho_start", "spectral radius at start", "{:.2f}"), ("spectral_radius", "at end", "{:.2f}"),
            ("svd_entropy", "SVD entropy", "{:.2f}"), ("dead_fraction", "dead units (%)", "{:.0%}"),
            ("dead_exc_fraction", "dead E units (%)", "{:.0%}"), ("mean_rate", "mean rate", "{:.3g}"),
            ("max_rate", "max rate", "{:.3g}"), ("moved", "recurrent sizes changed (%)", "{:.0%}"),
            ("at_grid_ends", "on the grid's end levels (%)", "{:.0%}")]
    rows = [[label, *[fmt.format(d[k]).replace("%", "") if k in d else "" for k, _, fmt in cols]]
            for label, d in diag.items()]
    return table(["condition", *[c[1] for c in cols]], rows)


def psychometric_figure(by_label: dict[str, list[dict[str, Any]]], path: Path) -> None:
    """P(choice 1) against signed coherence, mean over seeds, a line per condition (ANN and additive left)."""
    from neurosim.analysis.plots import psychometric_figure as figure

    figure({label: [r["final"].get("psychometric") for r in runs] for label, runs in by_label.items()}, path)


def describe_rnn_sweep(by_label: dict[str, list[dict[str, Any]]], out: Path
                       ) -> tuple[dict[str, dict[str, float]], list[str]]:
    """Psychometric figure (any task whose trials carry a signed coherence) and the diagnostics table."""
    lines = []
    if any(r["final"].get("psychometric") for runs in by_label.values() for r in runs):
        psychometric_figure(by_label, out / "psychometric")
        lines += ["## Psychometric curves", "", "![psychometric curves](psychometric.png)", ""]
    diag = rnn_diagnostics(by_label)
    lines += ["## The networks at the end of training", "",
              "Mean over seeds. Activity on 256 trials with the recurrent noise off; a dead unit has "
              "rate 0 on every step of every trial (the readout sees only the E units); "
              "'changed' compares the recurrent sizes of the first and last snapshot; 'end levels' "
              "counts recurrent synapses on the lowest or highest level of a LogGridMadam grid.", "",
              diagnostics_table(diag), ""]
    return diag, lines


def remedies_section(task: str) -> list[str]:
    """The remedy tables of ``rnn_remedies`` for ``task``, read from its committed summary, if there is one."""
    path = Path("results") / "rnn_remedies" / "summary.json"
    if not path.exists():
        return []
    lines = load_study(HERE / "rnn_remedies.py").report_lines(json.loads(path.read_text()), task)
    if not lines:
        return []
    return ["## What holds the Dale RNNs back: remedies one at a time", "",
            "From `results/rnn_remedies/` (`python experiments/rnn_remedies.py`), which measures the known "
            "remedies for Dale rate RNNs against the setting above and runs the chosen combination on every "
            "task.", "", *lines]


def sizes_section(sweep_summary: dict[str, Any]) -> list[str]:
    """The per-part size statistics over seeds from the sweep's summary (each run's own analysis)."""
    sizes = sweep_summary.get("size_statistics")
    if not sizes:
        return []
    return ["## Synapse sizes per layer and presynaptic sign, over seeds", "",
            "From each run's own analysis: a layer's excitatory and inhibitory inputs are separate parts "
            "(the ANN's signed weights one part). Sigma of ln size and the level entropy before and after "
            "training (the initial values show what the initialisation and the grid set on their own), and the "
            "slope of ln std(change) on ln size and the drift of ln size at the headline interval (a tenth of "
            "the turnover time, in optimizer steps). The control (shuffled gradient) is the row to read each "
            "rule against. Each cell: mean [min, max] over seeds (t: 95 % t-interval).", "",
            size_table(sizes), ""]


def describe(sweep_dir: Path, out: Path) -> None:
    """Write ``out/README.md`` for a finished RNN sweep run with ``neurosim sweep`` (e.g. a longer budget)."""
    sweep = json.loads((sweep_dir / "sweep.json").read_text())
    full = json.loads((sweep_dir / "summary.json").read_text())
    summary = full["summary"]
    out.mkdir(parents=True, exist_ok=True)
    diag, more = describe_rnn_sweep(runs_by_label(sweep_dir), out)
    lines = [f"# {sweep['name']}", "", sweep.get("description", ""), "",
             "## Test accuracy over seeds", "", summary_table(summary), "", *more, *sizes_section(full),
             "Sweep report: [sweep/report.md](sweep/report.md).", ""]
    write_text(out / "README.md", "\n".join(lines))
    shutil.copytree(sweep_dir, out / "sweep", dirs_exist_ok=True)
    write_text(out / "summary.json", json.dumps({"diagnostics": diag, "summary": summary}, indent=1))
    print(f"report: {out / 'README.md'}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = study_parser(__doc__, "compare_rules-<task>", quick_help="test size: 1 lr, 1 seed, 2 epochs")
    parser.add_argument("--task", default="digits", choices=sorted(BASES))
    parser.add_argument("--describe", default=None, metavar="SWEEP_DIR",
                        help="only write the report (table, psychometric curves, diagnostics) of a finished RNN "
                             "sweep, e.g. runs/sweeps/pdm-long-budget-<hash>, into --out")
    args = parser.parse_args(argv)
    if args.describe:
        if not args.out:
            parser.error("--describe needs --out")
        describe(Path(args.describe), Path(args.out))
        return {}
    out = report_dir(args, f"compare_rules-{args.task}")
    runs = Path(args.runs)
    lrs = [1e-2] if args.quick else list(LRS)
    seeds = [0] if args.quick else list(range(SEEDS))
    t0 = time.perf_counter()
    tunable = {label: {**net, "rule": rule} for label, (net, rule, tuned) in CONDITIONS.items()
               if tuned or label in SCANNED_UNTUNED}
    scan = lr_scan(f"lr-{args.task}", tunable, BASES[args.task], lrs, runs=runs, base_dir=HERE, quick=args.quick,
                   workers=args.workers, stale=args.stale)
    sensitivity_figure(scan, out / "lr_sensitivity",
                       f"Learning-rate sensitivity on {args.task} (seed 0; dotted line: Madam's lr 0.01)")
    chosen = {label: (best_lr(scan[label]) if tuned else rule["lr"])
              for label, (_, rule, tuned) in CONDITIONS.items()}
    conds = [_condition(label, net, {**rule, "lr": chosen[label]}, seeds)
             for label, (net, rule, _) in CONDITIONS.items()]
    if args.quick:  # test size: no fits (and so no size comparison in the sweep report)
        for c in conds:
            c["set"]["analysis.fit"] = False
    sweep = build_sweep({"name": f"compare-{args.task}", "condition": conds, "base": BASES[args.task],
                         "description": f"compare_rules on {args.task}"}, base_dir=HERE, quick=args.quick)
    res = run_sweep(sweep, runs, workers=args.workers, progress=False, stale=args.stale)
    summary = json.loads((res.sweep_dir / "summary.json").read_text())
    summary["summary"] = {k: summary["summary"][k] for k in CONDITIONS if k in summary["summary"]}
    minutes = (time.perf_counter() - t0) / 60
    by_label = runs_by_label(res.sweep_dir)
    lines = [f"# compare_rules on {args.task}{' (quick size)' if args.quick else ''}", "",
             __doc__.split("\n\n")[1], "",
             "## Learning rates", "",
             "Tuned rules took the lr with the best validation accuracy (seed 0) from "
             f"{', '.join(f'{lr:g}' for lr in lrs)}; Madam and LogGridMadam use 0.01 untuned.", "",
             table(["condition", "lr"], [[label, f"{chosen[label]:g}" + (" (tuned)" if CONDITIONS[label][2] else "")]
                                         for label in chosen])]
    lines += ["", "![learning-rate sensitivity](lr_sensitivity.png)", "",
              "## Test accuracy over seeds", "", summary_table(summary["summary"]), "",
              f"Sweep report with figures, paired differences and size distributions: "
              f"[sweep/report.md](sweep/report.md) (its run links point into `{res.sweep_dir.parent.parent}`). "
              f"Everything else (initial scale, bias rule and its lr, batch size, "
              f"epochs) is the same for every rule: see the base config `experiments/{BASES[args.task]}`.", "",
              f"Wall time of this invocation: {minutes:.1f} min (finished runs are reused, not rerun); "
              f"training time summed over the comparison's runs: {_train_minutes(by_label):.1f} min.", ""]
    diag = None
    if sweep.tasks[0].config["network"]["kind"] == "rnn":
        diag, more = describe_rnn_sweep(by_label, out)
        lines += more
        if not args.quick:
            lines += remedies_section(args.task)
    lines += sizes_section(summary)
    write_text(out / "README.md", "\n".join(lines))
    shutil.copytree(res.sweep_dir, out / "sweep", dirs_exist_ok=True)  # links to run folders stay in runs/
    scan_json = {k: {str(lr): v for lr, v in d.items()} for k, d in scan.items()}
    write_text(out / "summary.json", json.dumps({"chosen_lr": chosen, "diagnostics": diag, "scan": scan_json,
                                                 "summary": summary["summary"]}, indent=1))
    print(f"report: {out / 'README.md'}")
    return {"chosen_lr": chosen, "summary": summary["summary"], "failed": res.failed}


if __name__ == "__main__":
    main()
