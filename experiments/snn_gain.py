"""Diagnosis: what the recurrent gradient asks of the Dale spiking RNN, step by step, in snn_tasks' runs.

In ``snn_tasks`` the multiplicative and log-grid rules leave the Dale spiking RNN at
chance on perceptual decision making, its excitatory units firing at 64-115 Hz, while
DaleAdam brings it close to the criterion at 11 Hz. A probe of one run (Madam, seed 0)
suggested why: within 10 steps the E rate went from 11 to 101 Hz, and from then on most
of the recurrent gradient lay in its four population means, E->E against I->E, with a
sign that reversed every few tens of steps. The rule was moving the network's E/I gain
back and forth rather than its structure.

This study retraces the first ``STEPS`` optimizer steps of every condition and seed of
``snn_tasks`` on the task: the same configs, learning rates, seeds and batches, so the
runs' own first steps (checked against each run's size traces where its directory is
there). At every step it records, from the gradient of the signed recurrent weights as
the loss gives it (before clipping, and before the control's shuffle):

- the *population share*: the share of the gradient's squared norm in its four
  population means (E->E, E->I, I->E, I->I;
  :func:`neurosim.analysis.projections.population_share`). It is about 4/16384 for a
  gradient with no common part, and 1 when every synapse of a population pair is pushed
  alike;
- the mean of its E->E block (negative: more recurrent excitation asked for);
- its cosine with the previous step's gradient;

and every ``EVERY`` steps the E and I rates (Hz, whole trials) on 64 fixed held-out
trials, whose input spikes come from a generator of their own.

What counts, written down before this study's runs (after the one-run probe above, a run
repeated here as seed 0 of Madam): over steps ``WINDOW[0]`` to ``STEPS``, a seed
*swings its gain* when the median population share is at least 0.3, the E->E mean
changes sign at least 4 times, and the highest E rate is at least 1.5 times the lowest.
The account above holds when every seed of Madam and of stochastic LogGridMadam swings
its gain and no seed of DaleAdam does.

    python experiments/snn_gain.py [--quick] [--workers 2]

Writes ``results/snn_gain/README.md`` (``--quick``: ``runs/quick/snn_gain/``).
"""

from __future__ import annotations

import json
import math
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from neurosim.files import write_json, write_text
from neurosim.markdown import table
from neurosim.runner.study import load_study, report_dir, study_parser

HERE = Path(__file__).resolve().parent
TASK = "perceptual_decision_making"
STEPS = 200
EVERY = 5
#: steps over which a seed's measures are taken (the first ones are the rule's own start)
WINDOW = (20, STEPS)
RATE_TRIALS = 64
#: the criterion of the module docstring
MIN_SHARE, MIN_REVERSALS, MIN_SWING = 0.3, 4, 1.5
SWINGS = ("Dale SNN + Madam (lr 0.01)", "Dale SNN + LogGridMadam 26 levels, stochastic")
STEADY = ("Dale SNN + DaleAdam (tuned)",)


def _study() -> Any:
    """``snn_tasks``, whose conditions and sweeps this study retraces."""
    return load_study(HERE / "snn_tasks.py")


def recurrent_gradient(model: Any) -> np.ndarray:
    """d loss / d W of the recurrent weights ``W`` (a Dale layer: ``sign * size.grad``), ``(post, pre)``."""
    rec = model.recurrent
    if hasattr(rec, "size"):
        return (rec.size.grad * rec.sign).detach().double().cpu().numpy()
    return rec.weight.grad.detach().double().cpu().numpy()


def retrace(config: dict[str, Any], steps: int, every: int, runs: str | None = None) -> dict[str, Any]:
    """The first ``steps`` steps of the run ``config``, with the gradient inspected at each step."""
    import torch

    from neurosim.analysis.projections import population_share
    from neurosim.runner.config import run_dirname
    from neurosim.runner.torch_run import prepare, train_step, training_batches

    torch.set_num_threads(int(config.get("threads") or 1))
    setup = prepare(config)
    model, n_exc, dt = setup.model, setup.model.n_exc, setup.model.dt
    u = setup.task.batch(RATE_TRIALS, np.random.default_rng([config["seed"], 6]))[0]
    u = torch.from_numpy(u)
    rec: dict[str, list[float]] = {"share": [], "ee_mean": [], "cosine": [], "loss": [],
                                   "rate_step": [], "E_hz": [], "I_hz": []}
    prev: list[np.ndarray] = []

    def rates(step: int) -> None:
        model.eval()
        with torch.no_grad():  # input spikes from a generator of their own: the run's own stream is untouched
            _, s = model(u, generator=torch.Generator().manual_seed(config["seed"] + 7), return_spikes=True)
        model.train()
        r = s.double().mean((0, 1)).cpu().numpy() / dt
        rec["rate_step"].append(step)
        rec["E_hz"].append(float(r[:n_exc].mean()))
        rec["I_hz"].append(float(r[n_exc:].mean()))

    def inspect(m: Any) -> None:
        g = recurrent_gradient(m)
        rec["share"].append(population_share(g, n_exc))
        rec["ee_mean"].append(float(g[:n_exc, :n_exc].mean()))
        norm = np.linalg.norm(g) * (np.linalg.norm(prev[0]) if prev else 0.0)
        rec["cosine"].append(float(np.sum(g * prev[0]) / norm) if prev and norm > 0 else math.nan)
        prev[:] = [g]

    rates(0)
    step, epoch = 0, 0
    while step < steps:
        for b, batch in enumerate(training_batches(setup, epoch)):
            rec["loss"].append(float(train_step(setup, batch, epoch, b, inspect=inspect)))
            step += 1
            if step % every == 0 or step == steps:
                rates(step)
            if step == steps:
                break
        epoch += 1
    check = None
    if runs is not None:  # the run's own size traces, if its directory is there: same steps, same sizes?
        from neurosim import traces
        from neurosim.snapshot import synapse_tensors

        path = Path(runs) / run_dirname(config) / "traces.npz"
        if path.exists():
            tr = traces.load(path)
            p = tr.projections["recurrent"]
            at = np.flatnonzero(tr.time == steps)
            if at.size:  # the recorder's own tensor: a Dale layer's sizes, else the weights
                mine = synapse_tensors(model)["recurrent"].detach().abs().float().reshape(-1).numpy()[p.index]
                check = float(np.abs(mine - p.size[at[0]]).max())
    return {**rec, "trace_check": check}


def measures(rec: dict[str, Any], window: tuple[int, int]) -> dict[str, float]:
    """A seed's measures over ``window`` (steps): median share, E->E sign changes, E rate range, mean cosine."""
    lo, hi = window
    share = np.asarray(rec["share"][lo:hi])
    ee = np.sign(np.asarray(rec["ee_mean"][lo:hi]))
    ee = ee[ee != 0]
    cos = np.asarray(rec["cosine"][lo:hi])
    steps = np.asarray(rec["rate_step"])
    e = np.asarray(rec["E_hz"])[(steps >= lo) & (steps <= hi)]
    out = {"median_share": float(np.median(share)), "reversals": int(np.sum(ee[1:] != ee[:-1])),
           "E_min_hz": float(e.min()), "E_max_hz": float(e.max()),
           "mean_cosine": float(np.nanmean(cos)) if np.isfinite(cos).any() else math.nan}
    out["swing"] = out["E_max_hz"] / out["E_min_hz"] if out["E_min_hz"] > 0 else math.inf
    out["swings_gain"] = bool(out["median_share"] >= MIN_SHARE and out["reversals"] >= MIN_REVERSALS
                              and out["swing"] >= MIN_SWING)
    return out


def _job(args: tuple[dict[str, Any], int, int, str | None, str]) -> str:
    config, steps, every, runs, cache = args
    rec = retrace(config, steps, every, runs)
    write_json(cache, {"config": config, "steps": steps, "every": every, "record": rec})
    return cache


def _running(values: list[float], n: int = 10) -> np.ndarray:
    """Running mean over the last ``n`` steps (fewer at the start), NaNs left out."""
    v = np.asarray(values, dtype=np.float64)
    windows = [v[max(0, i - n + 1):i + 1] for i in range(len(v))]
    return np.array([np.nanmean(w) if np.isfinite(w).any() else np.nan for w in windows])


def figure(records: dict[str, list[dict[str, Any]]], path: Path) -> None:
    """E rate, population share and consecutive-gradient cosine against the step; a colour per condition,
    a line per seed (share and cosine: running means over 10 steps)."""
    from neurosim.analysis.plots import plt, save_and_close

    fig, axes = plt.subplots(1, 3, figsize=(14, 4.8))
    for i, (label, recs) in enumerate(records.items()):
        for j, rec in enumerate(recs):
            kw = {"color": f"C{i}", "lw": 1.0, "alpha": 0.8, "label": label if j == 0 else None}
            steps = np.arange(1, len(rec["share"]) + 1)
            axes[0].plot(rec["rate_step"], rec["E_hz"], **kw)
            axes[1].plot(steps, _running(rec["share"]), **kw)
            axes[2].plot(steps, _running(rec["cosine"]), **kw)
    axes[0].set(xlabel="optimizer step", ylabel="E rate, held-out trials (Hz)", title="Excitatory rate")
    axes[1].set(xlabel="optimizer step", ylabel="population share (running mean, 10 steps)",
                title="Recurrent gradient in its population means", ylim=(0, 1))
    axes[2].set(xlabel="optimizer step", ylabel="cosine (running mean, 10 steps)",
                title="Gradient against the previous step's", ylim=(-1, 1))
    axes[2].axhline(0, color="0.5", lw=0.8)
    for ax in axes:
        ax.axvspan(0, WINDOW[0], color="0.9", lw=0)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=3, fontsize="small", frameon=False)
    fig.tight_layout(rect=(0, 0.14, 1, 1))
    save_and_close(fig, path.parent, path.name)


def _described(doc: str) -> str:
    """The module docstring with its constants' values in place of their names, for the report."""
    for name, value in (("``STEPS``", STEPS), ("``EVERY``", EVERY), ("``WINDOW[0]``", WINDOW[0])):
        doc = doc.replace(name, str(value))
    return doc.replace("``", "`")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = study_parser(__doc__, "snn_gain", quick_help="test size: 2 conditions, 1 seed, 12 steps")
    args = parser.parse_args(argv)
    out = report_dir(args, "snn_gain")
    t0 = time.perf_counter()
    study = _study()
    steps, every = (12, 4) if args.quick else (STEPS, EVERY)
    window = (4, steps) if args.quick else WINDOW
    seeds = [0] if args.quick else list(range(study.SEEDS))
    chosen_path = Path("results") / "snn_tasks" / "summary.json"
    chosen = json.loads(chosen_path.read_text())[TASK]["chosen_lr"] if chosen_path.exists() else {}
    labels = [*SWINGS, *STEADY] if args.quick else list(study.CONDITIONS)
    # the study's own learning rates (its committed report); the test size takes its one lr
    lrs = {label: study.LRS[1] if args.quick and study.CONDITIONS[label][2] else
           chosen.get(label, study.CONDITIONS[label][1].get("lr", study.LRS[2])) for label in study.CONDITIONS}
    sweep = study.task_sweep(TASK, lrs, seeds, quick=args.quick)
    tasks = [t for t in sweep.tasks if t.label in labels]
    cache_dir = out / "retrace"
    cache_dir.mkdir(exist_ok=True)
    jobs, caches = [], {}
    for t in tasks:
        cache = cache_dir / f"{t.config['name']}-seed{t.seed}.json"
        caches[(t.label, t.seed)] = cache
        old = json.loads(cache.read_text()) if cache.exists() else None
        if old is None or old["config"] != json.loads(json.dumps(t.config, default=str)) or old["steps"] != steps:
            jobs.append((t.config, steps, every, args.runs, str(cache)))
    if args.workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=min(args.workers, len(jobs)), mp_context=get_context("spawn")) as pool:
            list(pool.map(_job, jobs))
    else:
        for job in jobs:
            _job(job)
    records: dict[str, list[dict[str, Any]]] = {}
    rows, results = [], {}
    for label in labels:
        recs = [json.loads(caches[(label, s)].read_text())["record"] for s in seeds]
        records[label] = recs
        ms = [measures(r, window) for r in recs]
        results[label] = {"seeds": seeds, "measures": ms, "lr": lrs[label],
                          "trace_check": [r["trace_check"] for r in recs]}
        rows.append([label, f"{lrs[label]:g}", " / ".join(f"{m['median_share']:.2f}" for m in ms),
                     " / ".join(str(m["reversals"]) for m in ms),
                     " / ".join(f"{m['E_min_hz']:.0f}-{m['E_max_hz']:.0f}" for m in ms),
                     " / ".join(f"{m['mean_cosine']:+.2f}" for m in ms),
                     f"{sum(m['swings_gain'] for m in ms)} of {len(ms)}"])
    swing_all = all(m["swings_gain"] for lb in SWINGS if lb in results for m in results[lb]["measures"])
    steady_none = not any(m["swings_gain"] for lb in STEADY if lb in results for m in results[lb]["measures"])
    verdict = "holds" if swing_all and steady_none else "does not hold"
    figure(records, out / "gain")
    checks = [c for r in results.values() for c in r["trace_check"] if c is not None]
    n_runs = sum(len(r["trace_check"]) for r in results.values())
    lines = [f"# The recurrent gradient's population share, step by step{' (quick size)' if args.quick else ''}",
             "", *(p + "\n" for p in _described(__doc__).split("\n\n")[1:6]),
             f"Task: {TASK}; steps 1-{steps}, measures over steps {window[0]}-{window[1]}; E and I rates every "
             f"{every} steps on {RATE_TRIALS} held-out trials. Seeds are separated by /.", "",
             table(["condition", "lr", "median population share", "E->E sign changes", "E rate range (Hz)",
                    "mean cosine, consecutive steps", "seeds swinging their gain"], rows), "",
             f"**The account {verdict}** by the criterion above: every seed of {' and '.join(SWINGS)} swings its "
             f"gain: {'yes' if swing_all else 'no'}; no seed of {' and '.join(STEADY)} does: "
             f"{'yes' if steady_none else 'no'}.", "",
             "![E rate, population share and consecutive-gradient cosine against the step (shaded: before the "
             "window)]"
             "(gain.png)", "",
             (f"Retraced against the runs' own size traces: {len(checks)} of {n_runs} runs found under "
              f"`{args.runs}`; largest size difference of a traced recurrent synapse at step {steps}: "
              f"{max(checks):.3g}." if checks else
              f"The runs' own size traces were not under `{args.runs}`, so the retrace was not checked against them."),
             "", f"Wall time of this invocation: {(time.perf_counter() - t0) / 60:.1f} min (retraced seeds are "
                 "reused from `retrace/`).", ""]
    write_text(out / "README.md", "\n".join(lines))
    write_json(out / "summary.json", {"task": TASK, "steps": steps, "window": window, "verdict": verdict,
                                      "results": results})
    print(f"report: {out / 'README.md'}")
    return {"verdict": verdict, "results": results, "records": records}


if __name__ == "__main__":
    main()
