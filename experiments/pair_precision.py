"""Study: the precision of each plasticity rule, measured the way Bartol et al. (2015) did.

Bartol et al. (2015), eLife 4:e10778, measured pairs of synapses that share their axon
and dendrite (hence their activity history): median pair CV 0.083, which over a ~60x
range of sizes gives about 26 distinguishable sizes (``N = ln(60) / ln(1 + 2 CV z)``,
:func:`neurosim.analysis.precision.distinguishable_sizes`).

Here every input of the Song, Miller & Abbott (2000) setup makes **two** synapses onto
the neuron (``connect(n=2)``), with independent random initial sizes and ``w_max``
halved to 0.005 (the same total drive as the original setup); after learning,
the CV of each pair says how far the rule erased the initial difference (a deterministic
rule that drives both to the same place gives CV -> 0) or added its own noise (the
stochastic rounding of Madam on the log grid). Per rule we report the median pair CV
over pairs with a non-zero mean size, the number of distinguishable sizes by Bartol's
formula with the 60x range of the grid (and with the observed 1-99 % range), next to
Bartol's 0.083 and ~26. The additive and the Madam rule are also run with both
synapses of each pair starting at the same size (``network.pair_start = "identical"``):
then a deterministic rule keeps every pair identical (both synapses see the same
spikes), and the pair CV of the stochastic Madam rule is what its rounding noise costs.

Every run goes through the runner (``experiments/configs/song.toml`` with
``network.duplicate = true``; one sweep, resumable); the pairs are read from the runs'
first and last snapshots.

    python experiments/pair_precision.py [--quick] [--out results/pair_precision]
                                         [--mode standalone|runtime] [--workers 2]

Writes ``README.md``, ``results.json`` and ``pairs`` (PNG and SVG) under ``--out``.
"""

from __future__ import annotations

import math
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from neurosim import snapshot
from neurosim.analysis.plots import save_figure
from neurosim.analysis.precision import distinguishable_sizes, dynamic_range, pair_cv, pyplot
from neurosim.files import write_json, write_text
from neurosim.runner.aggregate import collect
from neurosim.runner.study import report_dir, study_parser
from neurosim.runner.sweep import build_sweep, run_sweep

HERE = Path(__file__).resolve().parent
#: rule label -> the runner's rule table (times in seconds)
RULES: dict[str, dict[str, Any]] = {
    "additive": {"name": "additive"},
    "soft_bound": {"name": "gutig", "mu_plus": 1.0, "mu_minus": 1.0},
    "mixed": {"name": "gutig", "mu_plus": 0.0, "mu_minus": 1.0},
    "madam_loggrid": {"name": "madam_loggrid", "interval": 0.1},
    "madam_loggrid_nearest": {"name": "madam_loggrid", "interval": 0.1, "rounding": "nearest"},
}
#: rules run again with both synapses of a pair starting at the same size, so that the pair CV
#: measures what the rule itself adds (0 for a deterministic rule: both see the same spikes)
IDENTICAL_START = ("additive", "madam_loggrid")
BARTOL_CV = 0.083
BARTOL_N = 26


def pairs_of(pre: np.ndarray, size: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sizes ``(a, b)`` of the two synapses of every presynaptic input (grouped by ``pre``)."""
    order = np.argsort(pre, kind="stable")
    p, s = pre[order], size[order].astype(np.float64)
    if not (p[0::2] == p[1::2]).all():
        raise ValueError("pre: every input must have exactly two synapses")
    return s[0::2], s[1::2]


def precision(a: np.ndarray, b: np.ndarray, ratio: float = 60.0) -> dict[str, float]:
    cv = pair_cv(a, b)
    ok = np.isfinite(cv)
    med = float(np.median(cv[ok])) if ok.any() else math.nan
    allsz = np.concatenate([a, b])
    try:
        rng = dynamic_range(allsz)
    except ValueError:
        rng = math.nan
    n60 = distinguishable_sizes(med, ratio) if med > 0 else math.inf
    nobs = distinguishable_sizes(med, rng) if med > 0 and rng > 1 else math.nan
    return {"median_pair_cv": med, "n_distinguishable_60x": n60, "range_1_99": rng,
            "n_distinguishable_observed_range": nobs, "pairs_used": float(ok.sum()),
            "frac_pairs_identical": float(np.mean(a == b))}


def main(argv: list[str] | None = None) -> dict:
    ap = study_parser(__doc__, "pair_precision", quick_help="test size: 2 s, runtime mode, two rules")
    ap.add_argument("--mode", choices=("runtime", "standalone"), default=None,
                    help="default: standalone (full), runtime (quick)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    out = report_dir(args, "pair_precision")
    mode = args.mode or ("runtime" if args.quick else "standalone")
    t0 = time.perf_counter()
    conds = [{"label": label, "config": "configs/song.toml", "seeds": [args.seed],
              "set": {"rule": rule, "network.mode": mode, "network.duplicate": True}}
             for label, rule in RULES.items() if label in IDENTICAL_START or not args.quick]
    conds += [{"label": f"{label}, identical start", "config": "configs/song.toml", "seeds": [args.seed],
               "set": {"rule": RULES[label], "network.mode": mode, "network.duplicate": True,
                       "network.pair_start": "identical"}} for label in IDENTICAL_START]
    sweep = build_sweep({"name": "pair-precision", "condition": conds,
                         "description": "pair_precision: two synapses per input, per rule"},
                        base_dir=HERE, quick=args.quick)
    T = sweep.tasks[0].config["train"]["duration"]
    res = run_sweep(sweep, args.runs, workers=args.workers, progress=False, stale=args.stale)
    rows: dict[str, dict[str, float]] = {}
    pairs: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    w_max = math.nan
    for r in collect(res.sweep_dir)[1]:
        label = r["label"]
        paths = r["run"].snapshot_paths()
        s0, s1 = snapshot.load(paths[0]), snapshot.load(paths[-1])
        p0, p1 = s0.projections["input"], s1.projections["input"]
        w_max = float(s1.meta["w_max"])
        a, b = pairs_of(p1.pre, p1.size)
        rows[label] = {**precision(a, b), "initial_median_pair_cv": precision(*pairs_of(p0.pre, p0.size))[
            "median_pair_cv"], "rate_hz": r["final"]["rate_hz"]}
        pairs[label] = (a, b)
    lines = [f"# Pair precision ({'quick' if args.quick else 'full'}: Song setup, 1000 inputs x 2 "
             f"synapses, {T:g} s, {mode} mode)", "",
             "| rule | median pair CV | N distinguishable (60x) | 1-99 % range | N (observed range) "
             "| identical pairs | initial median CV | out rate Hz |",
             "|---|---|---|---|---|---|---|---|"]
    for label, r in rows.items():
        lines.append(f"| {label} | {r['median_pair_cv']:.3g} | {r['n_distinguishable_60x']:.3g} | "
                     f"{r['range_1_99']:.3g} | {r['n_distinguishable_observed_range']:.3g} | "
                     f"{r['frac_pairs_identical']:.2f} | {r['initial_median_pair_cv']:.3g} | "
                     f"{r['rate_hz']:.3g} |")
    lines.append(f"| Bartol et al. 2015 (CA1 spines) | {BARTOL_CV} | ~{BARTOL_N} | ~60 | | | | |")
    shutil.copytree(res.sweep_dir, out / "sweep", dirs_exist_ok=True)  # its run links point into --runs
    lines += ["", "Pair CV is the sample CV of the two sizes (ddof = 1); pairs whose sizes are both 0 "
              "are left out. N = ln(range) / ln(1 + 2 CV z), z = 1.015 (Bartol's 69 % criterion); "
              "N is infinite when the median CV is 0 (more than half the pairs identical).", "",
              "![pairs](pairs.png)", "",
              f"Runs: [sweep/report.md](sweep/report.md), run directories under `{args.runs}`. "
              f"Wall time of this invocation: {time.perf_counter() - t0:.0f} s (finished runs are reused).", ""]
    write_text(out / "README.md", "\n".join(lines))
    plt = pyplot()
    fig, axes = plt.subplots(1, len(pairs), figsize=(3 * len(pairs), 3), sharex=True, sharey=True)
    for ax, (label, (a, b)) in zip(np.atleast_1d(axes), pairs.items(), strict=True):
        ax.scatter(a / w_max, b / w_max, s=3, alpha=0.5, color="0.2")
        ax.plot([0, 1], [0, 1], lw=0.5, color="r")
        ax.set_title(f"{label}\nCV {rows[label]['median_pair_cv']:.3g}", fontsize=8)
        ax.set_xlabel("synapse 1 (w / w_max)")
    np.atleast_1d(axes)[0].set_ylabel("synapse 2 (w / w_max)")
    fig.tight_layout()
    save_figure(fig, out / "pairs", tight=False)
    plt.close(fig)
    write_json(out / "results.json", {"mode": mode, "quick": args.quick, "duration_s": T, "rules": rows,
                                      "failed": res.failed})
    print("\n".join(lines))
    return {"mode": mode, "rules": rows, "failed": res.failed}


if __name__ == "__main__":
    main()
