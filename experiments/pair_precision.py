"""Study: the precision of each plasticity rule, measured the way Bartol et al. (2015) did.

Bartol et al. (2015), eLife 4:e10778, measured 17 pairs of synapses that share their axon
and dendrite (hence their activity history): median pair CV 0.083, which over a ~60x range
of sizes gives about 26 distinguishable sizes (``N = ln(60) / ln(1 + 2 CV z)``,
:func:`neurosim.analysis.precision.distinguishable_sizes`).

Here every input of the Song setup (Brian2's example constants, uncorrelated inputs) makes
**two** synapses onto the neuron, both starting at the **same** size (``pair_start =
"identical"``), ``w_max`` halved so the neuron receives the same drive. Any difference
within a pair then comes from the rule (stochastic rounding on a grid) and from
**stochastic release**: each presynaptic spike releases at each synapse independently with
probability ``p`` (swept over :data:`RELEASE`, not tuned), and a failure delivers nothing
and counts for no pairing, so the two synapses of a pair see different pairings. Each rule
runs beside its sign null (same magnitudes, random sign), which answers "is the pair CV the
rule's learning or its noise". Pairs with either synapse on a bound (a grid end level, a
clip) are left out: there the CV measures the bound. Bartol's median CV is given with an
interval for a median of 17 pairs (from a model in which each pair's CV is ``sigma |Z|``,
sigma set by the median; :func:`bartol_interval`).

    python experiments/pair_precision.py [--quick] [--workers 2]

Writes ``README.md``, ``results.json`` and ``pairs`` (PNG and SVG) under ``results/pair_precision``.
"""

from __future__ import annotations

import math
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from neurosim import snapshot
from neurosim.analysis.intervals import over_seeds
from neurosim.analysis.plots import save_figure
from neurosim.analysis.precision import distinguishable_sizes, pair_cv, pyplot
from neurosim.files import write_json, write_text
from neurosim.markdown import num, table
from neurosim.runner.aggregate import collect
from neurosim.runner.study import report_dir, study_parser
from neurosim.runner.sweep import build_sweep, run_sweep

HERE = Path(__file__).resolve().parent
#: rule label -> the runner's rule table (times in seconds)
RULES: dict[str, dict[str, Any]] = {
    "additive": {"name": "additive"},
    "madam_float": {"name": "madam_float"},
    "madam_loggrid": {"name": "madam_loggrid"},
}
#: release probabilities swept (CA1 synapses release with p of about 0.1-0.5)
RELEASE = (1.0, 0.5, 0.25)
DURATION = 500.0
SEEDS = [0, 1, 2]
BARTOL_CV = 0.083
BARTOL_PAIRS = 17
BARTOL_N = 26


def bartol_interval(median: float = BARTOL_CV, n: int = BARTOL_PAIRS, level: float = 0.95,
                    n_sim: int = 20_000, seed: int = 0) -> tuple[float, float]:
    """An interval for a median pair CV measured on ``n`` pairs.

    Model: two sizes of one pair differ by a normal relative noise of SD ``sigma``, so a pair's
    sample CV (ddof = 1) is ``sigma |Z|``; ``sigma = median / 0.6745`` matches the reported
    median. The interval is the spread of the median of ``n`` such CVs (simulated).
    """
    sigma = median / 0.6744897501960817
    z = np.abs(np.random.default_rng(seed).standard_normal((n_sim, n)))
    meds = np.median(sigma * z, axis=1)
    a = (1.0 - level) / 2.0
    return float(np.quantile(meds, a)), float(np.quantile(meds, 1.0 - a))


def pairs_of(pre: np.ndarray, size: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sizes ``(a, b)`` of the two synapses of every presynaptic input (grouped by ``pre``)."""
    order = np.argsort(pre, kind="stable")
    p, s = pre[order], size[order].astype(np.float64)
    if not (p[0::2] == p[1::2]).all():
        raise ValueError("pre: every input must have exactly two synapses")
    return s[0::2], s[1::2]


def precision(a: np.ndarray, b: np.ndarray, bound: np.ndarray, ratio: float = 60.0) -> dict[str, float]:
    """Median pair CV over pairs off the bounds (and with a mean size > 0), and N by Bartol's formula."""
    keep = ~bound & ((a + b) > 0)
    cv = pair_cv(a[keep], b[keep])
    med = float(np.median(cv)) if cv.size else math.nan
    return {"median_pair_cv": med, "n_distinguishable_60x": distinguishable_sizes(med, ratio) if med > 0 else math.inf,
            "pairs_used": float(keep.sum()), "pairs_at_bound": float(bound.sum()),
            "frac_pairs_identical": float(np.mean(a[keep] == b[keep])) if keep.any() else math.nan}


def _at_bound(proj: Any, w_max: float, lo: float) -> np.ndarray:
    if proj.level is not None and proj.grid is not None:
        lv = proj.level.astype(np.int64)
        return (lv == 0) | (lv == proj.grid.levels - 1)
    s = proj.size.astype(np.float64)
    return (s <= lo * (1 + 1e-6)) | (s >= w_max * (1 - 1e-6))


def conditions(seeds: list[int], release: tuple[float, ...], rules: dict[str, dict[str, Any]],
               mode: str) -> list[dict[str, Any]]:
    out = []
    for label, rule in rules.items():
        for p in release:
            for null in ("none", "sign"):
                out.append({"label": f"{label}, p = {p:g}" + (", sign null" if null == "sign" else ""),
                            "config": "configs/song.toml", "seeds": seeds,
                            "set": {"rule": {**rule, "null": null}, "network.mode": mode,
                                    "network.duplicate": True, "network.pair_start": "identical",
                                    "network.release_probability": p, "network.inputs": "pregenerated",
                                    "train.duration": DURATION, "train.snapshot_interval": DURATION / 10}})
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = study_parser(__doc__, "pair_precision", quick_help="test size: 2 s, runtime mode, two rules, p = 1 and 0.5")
    args = ap.parse_args(argv)
    out = report_dir(args, "pair_precision")
    t0 = time.perf_counter()
    seeds = [0] if args.quick else SEEDS
    rules = {k: RULES[k] for k in ("additive", "madam_loggrid")} if args.quick else RULES
    release = RELEASE[:2] if args.quick else RELEASE
    sweep = build_sweep({"name": "pair-precision", "condition": conditions(seeds, release, rules,
                                                                          "runtime" if args.quick else "standalone"),
                         "description": "pair_precision: two synapses per input, identical start, release swept"},
                        base_dir=HERE, quick=args.quick)
    T = sweep.tasks[0].config["train"]["duration"]
    res = run_sweep(sweep, args.runs, workers=args.workers, progress=False, stale=args.stale)
    per: dict[str, list[dict[str, float]]] = {}
    pairs: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    w_max = math.nan
    for r in collect(res.sweep_dir)[1]:
        if not r["done"]:
            continue
        p1 = snapshot.load(r["run"].snapshot_paths()[-1])
        proj = p1.projections["input"]
        w_max = float(p1.meta["w_max"])
        lo = 0.0 if r["label"].startswith("additive") else w_max / 60.0
        order = np.argsort(proj.pre, kind="stable")
        bound = _at_bound(proj, w_max, lo)[order]
        a, b = pairs_of(proj.pre, proj.size)
        per.setdefault(r["label"], []).append({**precision(a, b, bound[0::2] | bound[1::2]),
                                              "rate_hz": r["final"]["rate_hz"], "seed": r["seed"]})
        if r["seed"] == seeds[0]:
            pairs[r["label"]] = (a, b)

    def cell(label: str, key: str, spec: str) -> str:
        allv = [x[key] for x in per.get(label, [])]
        vals = [v for v in allv if math.isfinite(v)]
        inf = sum(1 for v in allv if v == math.inf)
        note = f"; infinite on {inf}/{len(allv)} seeds" if inf else ""
        if not vals:
            return f"infinite ({inf}/{len(allv)} seeds)" if inf else "-"
        iv = over_seeds(vals)
        return num(iv.mean, spec) + (f" [{num(min(vals), spec)}, {num(max(vals), spec)}]" if len(vals) > 1 else "") \
            + note

    rows = [[label, len(per[label]), cell(label, "median_pair_cv", ".3g"), cell(label, "n_distinguishable_60x", ".3g"),
             cell(label, "pairs_used", ".0f"), cell(label, "pairs_at_bound", ".0f"),
             cell(label, "frac_pairs_identical", ".2f"), cell(label, "rate_hz", ".2g")] for label in per]
    lo, hi = bartol_interval()
    rows.append([f"Bartol et al. 2015 (CA1 spines, {BARTOL_PAIRS} pairs)", "-",
                 f"{BARTOL_CV} ({lo:.3f}-{hi:.3f}, model interval for a median of {BARTOL_PAIRS})",
                 f"~{BARTOL_N} ({distinguishable_sizes(hi):.0f}-{distinguishable_sizes(lo):.0f})", BARTOL_PAIRS,
                 "-", "-", "-"])
    lines = [f"# Pair precision{' (quick size)' if args.quick else ''}: Song setup, 1000 inputs x 2 synapses, "
             f"identical start, {T:g} s", "", " ".join(__doc__.split("\n\n")[2].split()), "",
             "Each cell: mean [min, max] over seeds. Pair CV is the sample CV of the two sizes (ddof = 1) over "
             "pairs off the bounds; N = ln(60) / ln(1 + 2 CV z), z = 1.015 (Bartol's 69 % criterion), infinite when "
             "the median CV is 0 (more than half the pairs still identical).", "",
             table(["condition", "seeds", "median pair CV", "N distinguishable (60x)", "pairs used",
                    "pairs at a bound (left out)", "identical pairs", "output rate (Hz)"], rows), "",
             "![pairs](pairs.png)", "",
             f"Runs: [sweep/report.md](sweep/report.md), run directories under `{args.runs}`. "
             f"Wall time of this invocation: {time.perf_counter() - t0:.0f} s (finished runs are reused).", ""]
    write_text(out / "README.md", "\n".join(lines))
    shutil.copytree(res.sweep_dir, out / "sweep", dirs_exist_ok=True)  # its run links point into --runs
    shown = [k for k in pairs if "null" not in k]
    plt = pyplot()
    fig, axes = plt.subplots(1, len(shown), figsize=(2.8 * len(shown), 3), sharex=True, sharey=True, squeeze=False)
    for ax, label in zip(axes[0], shown, strict=True):
        a, b = pairs[label]
        ax.scatter(a / w_max, b / w_max, s=3, alpha=0.5, color="0.2")
        ax.plot([0, 1], [0, 1], lw=0.5, color="r")
        ax.set_title(label, fontsize=7)
        ax.set_xlabel("synapse 1 (w / w_max)")
    axes[0, 0].set_ylabel("synapse 2 (w / w_max)")
    fig.tight_layout()
    save_figure(fig, out / "pairs", tight=False)
    plt.close(fig)
    result = {"quick": args.quick, "duration_s": T, "conditions": per, "bartol": {"median": BARTOL_CV,
              "interval": [lo, hi], "pairs": BARTOL_PAIRS}, "failed": res.failed}
    write_json(out / "results.json", result)
    print(f"report: {out / 'README.md'}")
    return result


if __name__ == "__main__":
    main()
