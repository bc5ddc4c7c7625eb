"""Study: recurrent spiking E/I networks on the three cognitive tasks, and their Brian2 copies.

A :class:`neurosim.models.SpikingRNN` (``configs/<task>_srnn.toml``: 128 LIF units, 80 %
excitatory, adaptive thresholds on 40 % of the E units, on/off Poisson inputs,
5 ms steps) is trained by surrogate gradients on perceptual decision making,
context-dependent integration and parametric working memory, under the rules of
``compare_rules``: Adam on the network without sign constraints and DaleAdam
(learning rates tuned on validation, seed 0), Madam and 26-level LogGridMadam at
lr 0.01 untuned, and the controls that make size claims meaningful (shuffled
gradient, nearest rounding, QuantizedSGD on the same log grid); 3 seeds. Madam
is scanned over the same learning rates too (seed 0, shown, not used), to say
whether its fixed lr is what limits it.

The report of each task gives the test accuracy beside the rate RNN and the rate
ANN of ``compare_rules`` (same task, their own budget); the psychometric curve
(tasks with a signed coherence); firing rate, ISI CV and Fano factor per
population (adaptive E, all E, I) in a stated window; synapse sizes per
projection (E->E, E->I, I->E, I->I, from each run's own analysis); and the
Brian2 copy of every trained network run on test trials with the very same
input spikes (runtime mode on all runs, C++ standalone on one per task):
decisions agreeing with torch's, and the correlation of spike counts.

What counts, written down before the full runs: a condition *learns* a task
when every seed's test accuracy is at least 90 % of the mean of the rate ANN +
Madam in ``compare_rules`` (part 1's target, here for the spiking network at
its own budget of 600 steps); a size claim about a rule is made per projection
against the shuffled-gradient control of the same network, in the reports of
the runs' own analysis.

    python experiments/snn_tasks.py [--quick] [--task pdm|cdi|pwm ...] [--workers 2]

Writes ``results/snn_tasks/README.md`` (``--quick``: ``runs/quick/snn_tasks/``).
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from neurosim.files import write_text
from neurosim.markdown import table
from neurosim.runner.aggregate import collect, size_table, summary_table
from neurosim.runner.study import report_dir, study_parser
from neurosim.runner.sweep import build_sweep, run_sweep
from neurosim.runner.tune import best_lr, lr_scan, sensitivity_figure

HERE = Path(__file__).resolve().parent
TASKS = {"pdm": "perceptual_decision_making", "cdi": "context_dependent_integration",
         "pwm": "parametric_working_memory"}
#: the window of the firing statistics, per task: the epoch where the task's work is done
WINDOW = {"perceptual_decision_making": "stimulus", "context_dependent_integration": "stimulus",
          "parametric_working_memory": "delay"}
FREE = {"network.dale": False}
DALE = {"network.dale": True}
LOGGRID = {"name": "loggrid_madam", "lr": 0.01}
#: label -> (network overrides, rule table, tuned?)
CONDITIONS: dict[str, tuple[dict[str, Any], dict[str, Any], bool]] = {
    "SNN without sign constraints + Adam (tuned)": (FREE, {"name": "adam"}, True),
    "Dale SNN + DaleAdam (tuned)": (DALE, {"name": "dale_adam"}, True),
    "Dale SNN + Madam (lr 0.01)": (DALE, {"name": "madam", "lr": 0.01}, False),
    "Dale SNN + LogGridMadam 26 levels, stochastic": (DALE, LOGGRID, False),
    "Dale SNN + LogGridMadam 26 levels, nearest": (DALE, {**LOGGRID, "rounding": "nearest"}, False),
    "Dale SNN + QuantizedSGD on the 26-level log grid (tuned)": (
        DALE, {"name": "quantized_sgd", "grid": "log"}, True),
    "Control: Dale SNN + LogGridMadam 26, shuffled gradient": (DALE, {**LOGGRID, "shuffle_gradient": True}, False),
}
#: untuned conditions scanned too (seed 0), to show whether their fixed lr is what limits them
SCANNED_UNTUNED = ("Dale SNN + Madam (lr 0.01)",)
SEEDS = 3
LRS = (1e-4, 1e-3, 1e-2, 1e-1)
#: rows of compare_rules (the rate networks) shown beside the spiking ones
RATE_ROWS = ("ANN + Adam (tuned)", "ANN + Madam (lr 0.01)", "Dale + DaleAdam (tuned)", "Dale + Madam (lr 0.01)",
             "Dale + LogGridMadam 26 levels, stochastic")
#: test trials run in Brian2 per run
BRIAN_TRIALS = 64


def unconstrained(label: str) -> bool:
    """Whether a condition's network has no sign constraints (drawn solid in the figures)."""
    return "without" in label


def _accuracy(summary: dict[str, Any], label: str) -> dict[str, Any] | None:
    """Test accuracy (mean, min, max, n) of ``label`` in a sweep summary, if it has one."""
    return summary.get(label, {}).get("metrics", {}).get("test_accuracy") or None


def rate_summary(task: str, study: str = "compare_rules") -> dict[str, Any]:
    """The committed summary of the rate networks on ``task``: ``compare_rules`` (600 steps, no
    remedies) or ``rnn_remedies`` (its final phase: 3000 steps, feedforward inhibition and
    clipping); {} where absent."""
    if study == "compare_rules":
        path = Path("results") / f"compare_rules-{task}" / "summary.json"
        return json.loads(path.read_text())["summary"] if path.exists() else {}
    path = Path("results") / "rnn_remedies" / "summary.json"
    return json.loads(path.read_text()).get("final", {}).get(task, {}) if path.exists() else {}


def rate_rows(task: str) -> list[list[str]]:
    """The rate networks' accuracy on ``task`` (compare_rules, then rnn_remedies' final phase), as table rows."""
    rows = []
    for study, budget in (("compare_rules", "600 steps"), ("rnn_remedies", "3000 steps, relays + clipping")):
        summary = rate_summary(task, study)
        labels = RATE_ROWS if study == "compare_rules" else list(summary)
        rows += [[f"rate RNN: {label}", budget, f"{100 * acc['mean']:.1f} [{100 * acc['min']:.1f}, "
                  f"{100 * acc['max']:.1f}]", str(acc["n"])] for label in labels if (acc := _accuracy(summary, label))]
    return rows


def verdicts(task: str, summary: dict[str, Any]) -> list[str]:
    """Markdown: which conditions learn ``task`` by the criterion of the module docstring."""
    ref = _accuracy(rate_summary(task), "ANN + Madam (lr 0.01)")
    if ref is None:
        return []
    target = 0.9 * ref["mean"]
    rows = [[label, f"{100 * acc['min']:.1f}", str(acc["n"]), "yes" if acc["min"] >= target else "**no**"]
            for label in summary if (acc := _accuracy(summary, label))]
    return [f"Learns the task: every seed at least 90 % of the rate ANN + Madam's mean "
            f"({100 * ref['mean']:.1f} %), i.e. {100 * target:.1f} %:", "",
            table(["condition", "worst seed (%)", "seeds", "learns?"], rows), ""]


def _test_trials(setup: Any, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
    """The run's own test trials (the generator :func:`~neurosim.runner.torch_run.evaluate` uses), first ``n``."""
    u, y, m, info = setup.task.batch(setup.config["train"]["eval_trials"],
                                     np.random.default_rng([setup.config["seed"], 6]), return_info=True)
    return u[:, :n], y[:, :n], m[:, :n], {k: np.asarray(v)[:n] for k, v in info.items()}


def network_measures(run_path: Path, *, standalone: bool = False, trials: int = BRIAN_TRIALS) -> dict[str, Any]:
    """Firing statistics of the trained network on its test trials, and its Brian2 copy's agreement."""
    import torch

    from neurosim.analysis.spiking import spike_statistics
    from neurosim.brian.srnn_export import input_trains, run_trials
    from neurosim.runner.torch_run import load_run, prepare
    from neurosim.tasks import decision_choices

    setup = load_run(run_path)
    model = setup.model.eval()
    u, y, m, info = _test_trials(setup, trials)
    trains = torch.from_numpy(input_trains(model, u, seed=setup.config["seed"])).float()
    with torch.no_grad():
        out, spikes = model(torch.from_numpy(u), input_spikes=trains, return_spikes=True)
        # the same network before training (the run's own initialisation), on the same input spikes
        _, spikes0 = prepare(setup.config).model.eval()(torch.from_numpy(u), input_spikes=trains, return_spikes=True)
    out, spikes = out.numpy(), spikes.numpy()
    ep = setup.task.epochs[WINDOW[setup.task.name]]
    groups = info.get("signed_coherence", info.get("f1", info["choice"]))
    res: dict[str, Any] = {
        "window": {"epoch": WINDOW[setup.task.name], "start_s": ep[0] * model.dt, "stop_s": ep[1] * model.dt},
        "stats": spike_statistics(spikes, model.dt, model.populations, window=ep, groups=groups),
        "initial_stats": spike_statistics(spikes0.numpy(), model.dt, model.populations, window=ep, groups=groups)}
    torch_choice = decision_choices(out, y, m)
    targets = [("runtime", "numpy")] + ([("standalone", "cpp_standalone")] if standalone else [])
    for name, target in targets:
        t0 = time.perf_counter()
        b_out, counts = run_trials(model, u, input_spikes=trains, codegen_target=target)
        b_choice = decision_choices(b_out, y, m)
        c_t, c_b = spikes.sum(0).ravel(), counts.ravel()
        res[name] = {"decision_agreement": float(np.mean(b_choice == torch_choice)),
                     "spike_count_correlation": float(np.corrcoef(c_t, c_b)[0, 1]) if c_t.std() > 0 else float("nan"),
                     "max_output_difference": float(np.abs(b_out - out).max()), "trials": int(u.shape[1]),
                     "seconds": time.perf_counter() - t0}
    return res


def balance(run: Any) -> dict[str, dict[str, dict[str, float]]]:
    """The summed recurrent input of each part (E->E, I->E, ...), first and last snapshot of a
    run (its :class:`~neurosim.runner.rundir.RunDir`)."""
    from neurosim.analysis.projections import input_totals
    from neurosim.snapshot import load

    snaps = run.snapshot_paths()
    return {"initial": input_totals(load(snaps[0]), ["recurrent"]),
            "final": input_totals(load(snaps[-1]), ["recurrent"])} if snaps else {}


def balance_table(balances: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Markdown: summed recurrent input per unit and part, initial and final, and the share on the grid's ends."""
    rows = []
    for label, bs in balances.items():
        bs = [b for b in bs if b]
        if not bs:
            continue
        for part in bs[0]["initial"]:
            ini = [b["initial"][part] for b in bs]
            fin = [b["final"][part] for b in bs]
            a, z = _mean([e["summed_size"] for e in ini]), _mean([e["summed_size"] for e in fin])
            ends = "; ".join(f"{_mean([e[k] for e in ini]) * 100:.1f} -> {_mean([e[k] for e in fin]) * 100:.1f}"
                             for k in ("at_lowest_level", "at_highest_level") if k in ini[0])
            changes = [100 * (f["summed_size"] / i["summed_size"] - 1) for i, f in zip(ini, fin, strict=True)
                       if i["summed_size"] > 0]
            rows.append([label, part.removeprefix("recurrent (").removesuffix(")"), f"{a:.3g}", f"{z:.3g}",
                         f"{min(changes):+.0f} to {max(changes):+.0f}" if changes else "—", ends or "—"])
    if not rows:
        return []
    return ["## E/I balance of the recurrent input", "",
            "Summed size each unit receives from each presynaptic population (mean over the part's units, "
            "then over seeds), first and last snapshot; the change per seed; for sizes on the grid, the "
            "share (%) of the part's synapses on its lowest; highest level, first -> last.", "",
            table(["condition", "part", "summed size, initial", "final", "change per seed (%)",
                   "on the lowest; highest level (%)"], rows), ""]


def _mean(values: list[float]) -> float:
    v = [x for x in values if np.isfinite(x)]
    return float(np.mean(v)) if v else float("nan")


def _seed_mean(ms: list[dict[str, Any]], stats: str, pop: str, key: str) -> float:
    """Mean over seeds of one firing statistic: ``m[stats][pop][key]`` for each seed's measures ``m``."""
    return _mean([m[stats][pop][key] for m in ms])


def measures_tables(measures: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Markdown: firing statistics per condition and population; Brian2 agreement per condition."""
    first = next((ms[0] for ms in measures.values() if ms), None)
    if first is None:
        return []
    w = first["window"]
    rows = []
    for label, ms in measures.items():
        for pop in ms[0]["stats"]:
            rows.append([label, pop, *(f"{_seed_mean(ms, 'stats', pop, k):.3g}" for k in ("rate_hz", "cv_isi", "fano")),
                         f"{100 * _seed_mean(ms, 'stats', pop, 'silent'):.0f}",
                         f"{_seed_mean(ms, 'initial_stats', pop, 'rate_hz'):.3g}",
                         f"{100 * _seed_mean(ms, 'initial_stats', pop, 'silent'):.0f}"])
    brows = []
    for label, ms in measures.items():
        for mode in ("runtime", "standalone"):
            got = [m[mode] for m in ms if mode in m]
            if got:
                brows.append([label, mode, str(len(got)),
                              f"{100 * min(g['decision_agreement'] for g in got):.1f}",
                              f"{_mean([g['decision_agreement'] for g in got]) * 100:.1f}",
                              f"{min(g['spike_count_correlation'] for g in got):.4f}",
                              f"{max(g['max_output_difference'] for g in got):.2g}"])
    return ["## Firing statistics", "",
            f"On {first['stats'][next(iter(first['stats']))]['window_s']:g} s windows: the {w['epoch']} epoch "
            f"({w['start_s']:g}-{w['stop_s']:g} s into the trial) of the first {BRIAN_TRIALS} test trials, "
            "mean over seeds. ISI CV over (trial, unit) trains with at least 3 spikes in the window; Fano "
            "factor over trials of one condition (signed coherence, or f1); silent: units with no spike in the "
            "window on any of the trials. The last two columns are the same network before training (the run's "
            "own initialisation, the same input spikes).", "",
            table(["condition", "population", "rate (Hz)", "ISI CV", "Fano factor", "silent (%)",
                   "rate before training (Hz)", "silent before training (%)"], rows), "",
            "## Brian2 copies", "",
            "Each trained network run in Brian2 on the same test trials with the very same input spikes "
            "replayed (runtime: numpy code generation, every run; standalone: C++, the first seed of the "
            "first Dale condition). Brian2 computes in float64, the torch network in float32.", "",
            table(["condition", "mode", "runs", "decisions agreeing, worst run (%)", "mean (%)",
                   "spike-count correlation, worst run", "largest output difference"], brows), ""]


def base_config(task: str) -> str:
    """The study's run config of ``task`` (relative to ``experiments/``)."""
    return f"configs/{next(k for k, v in TASKS.items() if v == task)}_srnn.toml"


def task_sweep(task: str, chosen: dict[str, float], seeds: list[int], *, quick: bool = False) -> Any:
    """The study's sweep on ``task``: every condition at its learning rate ``chosen[label]``, over ``seeds``."""
    conds = [{"label": label, "seeds": seeds, "set": {**net, "rule": {**rule, "lr": chosen[label]}}}
             for label, (net, rule, _) in CONDITIONS.items()]
    if quick:
        for c in conds:
            c["set"]["analysis.fit"] = False
    return build_sweep({"name": f"snn-{task}", "base": base_config(task), "condition": conds,
                        "description": f"snn_tasks on {task}"}, base_dir=HERE, quick=quick)


def run_task(task: str, args: Any, out: Path) -> dict[str, Any]:
    base = base_config(task)
    lrs = [1e-3] if args.quick else list(LRS)
    seeds = [0] if args.quick else list(range(SEEDS))
    tunable = {label: {**net, "rule": rule} for label, (net, rule, tuned) in CONDITIONS.items()
               if tuned or label in SCANNED_UNTUNED}
    scan = {} if args.quick else lr_scan(f"snn-lr-{task}", tunable, base, lrs, runs=Path(args.runs),
                                         base_dir=HERE, workers=args.workers, stale=args.stale)
    # the test size scans nothing: the tuned rules take its one lr
    chosen = {label: ((best_lr(scan[label]) if scan else lrs[0]) if tuned else rule["lr"])
              for label, (_, rule, tuned) in CONDITIONS.items()}
    sweep = task_sweep(task, chosen, seeds, quick=args.quick)
    res = run_sweep(sweep, Path(args.runs), workers=args.workers, progress=False, stale=args.stale)
    full = json.loads((res.sweep_dir / "summary.json").read_text())
    summary = {k: full["summary"][k] for k in CONDITIONS if k in full["summary"]}
    by_label: dict[str, list[dict[str, Any]]] = {}
    for r in collect(res.sweep_dir)[1]:
        by_label.setdefault(r["label"], []).append(r)
    standalone_label = next(label for label in CONDITIONS if label.startswith("Dale"))
    measures = {label: [network_measures(r["run"].path, trials=16 if args.quick else BRIAN_TRIALS, standalone=(
        label == standalone_label and r["seed"] == seeds[0] and not args.quick)) for r in runs if r["done"]]
        for label, runs in by_label.items()}
    tdir = out / task
    tdir.mkdir(parents=True, exist_ok=True)
    lines = [f"## {task}", "", "Learning rates: " + ", ".join(
        f"{label} {chosen[label]:g}" + (" (tuned)" if CONDITIONS[label][2] else "") for label in chosen) + ".", "",
             summary_table(summary), "", *verdicts(task, summary)]
    if scan:
        sensitivity_figure(scan, tdir / "lr_sensitivity", f"Learning-rate sensitivity on {task} (seed 0; dotted "
                           "line: Madam's lr 0.01)", solid=unconstrained)
        lines += [f"Validation accuracy after training against the lr (seed 0; {', '.join(SCANNED_UNTUNED)} "
                  "scanned too, though its rows use lr 0.01 untuned):", "",
                  f"![learning-rate sensitivity]({task}/lr_sensitivity.png)", ""]
    rate = rate_rows(task)
    if rate:
        lines += ["The rate networks on the same task, from compare_rules and rnn_remedies "
                  "(test accuracy %, mean [min, max]):", "",
                  table(["network and rule", "budget", "test accuracy (%)", "seeds"], rate), ""]
    if any(r["final"].get("psychometric") for runs in by_label.values() for r in runs):
        from neurosim.analysis.plots import psychometric_figure

        psychometric_figure({label: [r["final"].get("psychometric") for r in runs]
                             for label, runs in by_label.items()}, tdir / "psychometric",
                            panel=lambda label: 0 if "Adam" in label or unconstrained(label) else 1,
                            titles=("Adam and DaleAdam", "Madam rules and the controls"),
                            solid=unconstrained)
        lines += ["![psychometric curves](" + f"{task}/psychometric.png)", ""]
    balances = {label: [balance(r["run"]) for r in runs if r["done"]] for label, runs in by_label.items()}
    lines += [line.replace("## ", "### ") for line in measures_tables(measures) + balance_table(balances)]
    if full.get("size_statistics"):
        lines += ["### Synapse sizes per projection", "", size_table(full["size_statistics"]), ""]
    shutil.copytree(res.sweep_dir, tdir / "sweep", dirs_exist_ok=True)
    return {"chosen_lr": chosen, "summary": summary, "measures": measures, "balance": balances, "lines": lines,
            "failed": res.failed}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = study_parser(__doc__, "snn_tasks", quick_help="test size: no lr scan, 1 seed, 2 epochs, no fits, "
                                                           "16 trials in Brian2")
    parser.add_argument("--task", nargs="+", default=list(TASKS), choices=list(TASKS))
    args = parser.parse_args(argv)
    out = report_dir(args, "snn_tasks")
    t0 = time.perf_counter()
    results = {TASKS[t]: run_task(TASKS[t], args, out) for t in args.task}
    lines = [f"# Recurrent spiking E/I networks on cognitive tasks{' (quick size)' if args.quick else ''}", "",
             *(p + "\n" for p in __doc__.split("\n\n")[1:4]),
             f"Tasks in this report: {', '.join(results)} (of {', '.join(TASKS.values())}).", ""]
    for res in results.values():
        lines += res.pop("lines")
    lines += [f"Wall time of this invocation: {(time.perf_counter() - t0) / 60:.1f} min (finished runs are "
              "reused, not rerun).", ""]
    write_text(out / "README.md", "\n".join(lines))
    write_text(out / "summary.json", json.dumps(results, indent=1, default=str))
    print(f"report: {out / 'README.md'}")
    return results


if __name__ == "__main__":
    main()
