"""Study: what holds Dale rate RNNs back on context-dependent integration and working memory.

compare_rules (600 steps of 32 trials) leaves every Dale RNN at chance on
context-dependent integration (CDI) and learns parametric working memory (PWM)
on few seeds, while the matched ANN learns both. This study measures the known
remedies one at a time against the current setting (``configs/<task>_rnn.toml``),
then runs the chosen combination on all three tasks.

* ``screen``: Dale + Madam (lr 0.01) on CDI and PWM, seeds 0-2, at 5x the
  compare_rules budget (3000 steps; the current setting at 600 steps is
  compare_rules' own row). One change per row: the budget alone, feedforward
  inhibition (each input also inhibits through a relay interneuron, the simplest
  DANN, Cornford et al. 2021), exact E/I balance of every unit's recurrent input
  (Rajan & Abbott 2006), inhibitory gain 1.5, spectral radius 1.5 (Song, Yang &
  Wang 2016), 128 units instead of 64, gradient clipping at norm 1, and a
  curriculum (the first quarter of training on the easiest version: CDI at
  coherence 50 % only, PWM with a 200 ms delay).
* ``final``: :data:`FINAL` (chosen from the screen, written here before the
  final runs) on perceptual decision making, CDI and PWM; Dale + Madam, Dale +
  26-level LogGridMadam and the ANN + Madam with the same settings, 5 seeds.

Criteria, written before the runs:

* a remedy *helps* when its mean test accuracy over the 3 seeds is at least 5
  points above the budget-only row and its worst seed is not below that row's worst;
* the issue's target is met on a task when **every seed** of Dale + Madam and of
  Dale + LogGridMadam (26 levels) reaches 90 % of the ANN's mean test accuracy
  at the same budget and settings. Rows that miss it stay in the report.

    python experiments/rnn_remedies.py [--quick] [--phase screen|final|all] [--workers 2]

Writes ``results/rnn_remedies/README.md`` (``--quick``: ``runs/quick/rnn_remedies/``).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from neurosim.files import write_text
from neurosim.markdown import table
from neurosim.runner.aggregate import every_seed_against, size_table, summary_table
from neurosim.runner.study import report_dir, study_parser
from neurosim.runner.sweep import build_sweep, run_sweep

HERE = Path(__file__).resolve().parent
BASES = {"perceptual_decision_making": "configs/pdm_rnn.toml",
         "context_dependent_integration": "configs/cdi_rnn.toml",
         "parametric_working_memory": "configs/pwm_rnn.toml"}
SHORT = {"perceptual_decision_making": "pdm", "context_dependent_integration": "cdi",
         "parametric_working_memory": "pwm"}
#: 5x compare_rules' 600 steps
BUDGET = {"train.epochs": 60, "train.snapshot_every": 15}
MADAM = {"name": "madam", "lr": 0.01}
LOGGRID = {"name": "loggrid_madam", "lr": 0.01}
#: the easiest version of each task, for the curriculum's first quarter (15 of 60 epochs)
EASY = {"context_dependent_integration": {"coherences": [50.0]},
        "parametric_working_memory": {"delay": 200.0},
        "perceptual_decision_making": {"coherences": [51.2]}}


def remedies(task: str, quick: bool = False) -> dict[str, dict[str, Any]]:
    """Row label -> overrides of the screen (each on top of :data:`BUDGET`; ``quick``: the curriculum
    takes the first of the test size's 2 epochs)."""
    return {
        "current setting, 5x budget": {},
        "feedforward inhibition (relay interneurons)": {"network.feedforward_inhibition": True},
        "exact E/I balance of each unit's recurrent input": {"network.balance": "rows"},
        "inhibitory gain 1.5": {"network.inhibitory_gain": 1.5},
        "spectral radius 1.5": {"network.spectral_radius": 1.5},
        "128 units": {"network.n_rec": 128},
        "gradient clipping (norm 1)": {"train.clip_grad_norm": 1.0},
        "curriculum (first quarter on the easiest trials)": {
            "task.curriculum": {"epochs": 1 if quick else 15, "params": EASY[task]}},
    }


#: The combination the final phase runs (chosen from the screen; see the README).
FINAL: dict[str, Any] = {"network.feedforward_inhibition": True, "train.clip_grad_norm": 1.0}
ANN_LABEL = "ANN + Madam (lr 0.01)"
FINAL_RULES = {"Dale + Madam (lr 0.01)": ({"network.dale": True}, MADAM),
               "Dale + LogGridMadam 26 levels (lr 0.01)": ({"network.dale": True}, LOGGRID),
               ANN_LABEL: ({"network.dale": False}, MADAM)}


def _run(name: str, task: str, conds: list[dict[str, Any]], args: Any) -> dict[str, Any]:
    """Run the conditions as one sweep; its summary (conditions in the given order) and size statistics."""
    sweep = build_sweep({"name": name, "base": BASES[task], "condition": conds,
                         "description": f"rnn_remedies on {task}"}, base_dir=HERE, quick=args.quick)
    res = run_sweep(sweep, Path(args.runs), workers=args.workers, progress=False, stale=args.stale)
    full = json.loads((res.sweep_dir / "summary.json").read_text())
    summary = {c["label"]: full["summary"][c["label"]] for c in conds if c["label"] in full["summary"]}
    return {"summary": summary, "size_statistics": full.get("size_statistics") or {}}


def _acc(s: dict[str, Any]) -> dict[str, Any]:
    return s["metrics"].get("test_accuracy", {})


def screen(args: Any, seeds: list[int]) -> dict[str, dict[str, Any]]:
    out = {}
    for task in ("context_dependent_integration", "parametric_working_memory"):
        rows = remedies(task, args.quick)
        if args.quick:  # test size: the budget-only row, one network change and the curriculum
            rows = {k: v for i, (k, v) in enumerate(rows.items()) if i in (0, 1, len(rows) - 1)}
        conds = [{"label": label, "seeds": seeds,
                  "set": {**BUDGET, **over, "rule": MADAM, "analysis.fit": False, "train.trace_synapses": 0}}
                 for label, over in rows.items()]
        out[task] = _run(f"remedies-{SHORT[task]}", task, conds, args)["summary"]
    return out


def final(args: Any, seeds: list[int]) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    out, sizes = {}, {}
    for task in BASES:
        quick = {"analysis.fit": False} if args.quick else {}  # test size: no fits
        conds = [{"label": label, "seeds": seeds, "set": {**BUDGET, **FINAL, **net, "rule": rule, **quick}}
                 for label, (net, rule) in FINAL_RULES.items()]
        got = _run(f"remedies-final-{SHORT[task]}", task, conds, args)
        out[task], sizes[task] = got["summary"], got["size_statistics"]
    return out, sizes


def compare_rules_row(task: str, label: str = "Dale + Madam (lr 0.01)") -> dict[str, Any] | None:
    """A row of compare_rules' committed summary of ``task`` (600 steps), if there is one."""
    path = Path("results") / f"compare_rules-{task}" / "summary.json"
    return json.loads(path.read_text())["summary"].get(label) if path.exists() else None


def helps(screen: dict[str, Any], baseline: str = "current setting, 5x budget") -> str:
    """Markdown: each remedy against the budget-only row, by the criterion in the module docstring."""
    def acc(label: str) -> dict[str, float]:
        return screen[label]["metrics"]["test_accuracy"]["by_seed"]

    base = acc(baseline)
    rows = []
    for label in screen:
        if label == baseline:
            continue
        a = acc(label)
        gain = 100 * (np.mean(list(a.values())) - np.mean(list(base.values())))
        ok = gain >= 5.0 and min(a.values()) >= min(base.values())
        rows.append([label, f"{gain:+.1f}", f"{100 * min(a.values()):.1f} vs {100 * min(base.values()):.1f}",
                     "yes" if ok else "no"])
    return table(["remedy", "mean change (points)", "worst seed vs the budget-only row (%)", "helps?"], rows)


def screen_figure(screen: dict[str, dict[str, Any]], path: Path) -> None:
    """Test accuracy of every seed of every screened remedy, one panel per task."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from neurosim.analysis.plots import save_figure

    fig, axes = plt.subplots(1, len(screen), figsize=(5.2 * len(screen), 3.6), sharey=True,
                             constrained_layout=True, squeeze=False)
    for ax, (task, summary) in zip(axes[0], screen.items(), strict=True):
        labels = list(summary)
        for i, label in enumerate(labels):
            vals = list(summary[label]["metrics"]["test_accuracy"]["by_seed"].values())
            ax.plot([100 * v for v in vals], [i] * len(vals), "o", color="C0" if i else "0.3", alpha=0.8, ms=5)
        ref = compare_rules_row(task)
        if ref:
            ax.axvline(100 * ref["metrics"]["test_accuracy"]["mean"], color="0.6", ls=":",
                       label="600 steps (compare_rules), mean")
            ax.legend(fontsize=7, frameon=False, loc="lower left")
        ax.set_yticks(range(len(labels)), labels, fontsize=7)
        ax.set_xlabel("test accuracy (%), one dot per seed")
        ax.set_title(task.replace("_", " "), fontsize=9)
        ax.set_xlim(-2, 102)
    axes[0][0].invert_yaxis()
    save_figure(fig, path, tight=False)
    plt.close(fig)


def report_lines(result: dict[str, Any], task: str, heading: str = "###") -> list[str]:
    """The Markdown of one task: its screen table and its final table with the every-seed verdict
    (used by this study's README and by compare_rules' report of the task)."""
    lines = []
    if task in result.get("screen", {}):
        screen = result["screen"][task]
        ref = compare_rules_row(task)
        shown = {**({"current setting, 600 steps (compare_rules, 5 seeds)": ref} if ref else {}), **screen}
        lines += [f"{heading} One remedy at a time on {task} (Dale + Madam, 3000 steps, 3 seeds)", "",
                  "Each row below the budget-only row changes one thing from it (the current setting at 5x "
                  "the budget); the first row is compare_rules' Dale + Madam at 600 steps.", "",
                  summary_table(shown, ["test_accuracy", "test_loss"]), "",
                  "By the criterion written before the runs (mean at least 5 points above the budget-only "
                  "row, worst seed not below its worst):", "", helps(screen), ""]
    if task in result.get("final", {}):
        summary = result["final"][task]
        verdict, ok = every_seed_against(summary, ANN_LABEL)
        lines += [f"{heading} The chosen combination on {task} (5 seeds, 3000 steps)", "",
                  "Settings on top of the task's config: "
                  + ", ".join(f"`{k} = {json.dumps(v)}`" for k, v in {**BUDGET, **FINAL}.items()) + ".", "",
                  summary_table(summary), "", verdict, "",
                  f"Target (every seed of both Dale rows at 90 % of the ANN's mean) "
                  f"**{'met' if ok else 'not met'}** on {task}.", ""]
        sizes = result.get("sizes", {}).get(task)
        if sizes:
            lines += [f"{heading} Synapse sizes per projection on {task} (the chosen combination)", "",
                      "From each run's own analysis; recurrent layers split E->E, E->I, I->E, I->I, the "
                      "input's relays are its I columns.", "", size_table(sizes), ""]
    return lines


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = study_parser(__doc__, "rnn_remedies",
                          quick_help="test size: 1 seed, 2 epochs, no fits; 3 rows of the screen")
    parser.add_argument("--phase", default="all", choices=("screen", "final", "all"))
    args = parser.parse_args(argv)
    out = report_dir(args, "rnn_remedies")
    t0 = time.perf_counter()
    result: dict[str, Any] = {}
    lines = [f"# What holds Dale rate RNNs back{' (quick size)' if args.quick else ''}", "",
             __doc__.split("\n\n")[1], ""]
    old = json.loads((out / "summary.json").read_text()) if (out / "summary.json").exists() else {}
    if args.phase in ("screen", "all"):
        result["screen"] = screen(args, [0] if args.quick else [0, 1, 2])
    elif "screen" in old:
        result["screen"] = old["screen"]
    if args.phase in ("final", "all"):
        result["final"], result["sizes"] = final(args, [0] if args.quick else list(range(5)))
    elif "final" in old:
        result["final"], result["sizes"] = old["final"], old.get("sizes", {})
    if "screen" in result:
        screen_figure(result["screen"], out / "screen")
        lines += ["![every seed of every remedy](screen.png)", ""]
    for task in BASES:
        lines += report_lines(result, task)
    lines += [f"Wall time of this invocation: {(time.perf_counter() - t0) / 60:.1f} min (finished runs are "
              "reused, not rerun).", ""]
    write_text(out / "README.md", "\n".join(lines))
    write_text(out / "summary.json", json.dumps(result, indent=1))
    print(f"report: {out / 'README.md'}")
    return result


if __name__ == "__main__":
    main()
