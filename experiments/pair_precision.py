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
Bartol's 0.083 and ~26.

    python experiments/pair_precision.py [--quick] [--out results/pair_precision]
                                         [--mode standalone|runtime]
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path

import numpy as np
from brian2 import ms, second

from neurosim.analysis.precision import distinguishable_sizes, dynamic_range, pair_cv, pyplot
from neurosim.brian import make_rule, run_song

RULES = {
    "additive": ("additive", {}),
    "soft_bound": ("gutig", {"mu_plus": 1.0, "mu_minus": 1.0}),
    "mixed": ("gutig", {"mu_plus": 0.0, "mu_minus": 1.0}),
    "madam_loggrid": ("madam_loggrid", {"interval": 100 * ms}),
    "madam_loggrid_nearest": ("madam_loggrid", {"interval": 100 * ms, "rounding": "nearest"}),
}
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
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default="results/pair_precision")
    ap.add_argument("--mode", choices=("runtime", "standalone"), default=None,
                    help="default: standalone (full), runtime (quick)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    mode = args.mode or ("runtime" if args.quick else "standalone")
    T = 2.0 if args.quick else 100.0
    build_root = Path(tempfile.mkdtemp(prefix="pair_precision_"))
    t0 = time.perf_counter()
    rows: dict[str, dict[str, float]] = {}
    pairs: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for label, (rule_name, kw) in RULES.items():
        res = run_song(make_rule(rule_name, **kw), duration=T * second, snapshot_every=T * second,
                       seed=args.seed, mode=mode, duplicate=True, progress=False,
                       build_dir=str(build_root / label),
                       inputs="pregenerated" if args.quick else "poisson")
        p0, p1 = res.snapshots[0][1]["input"], res.snapshots[-1][1]["input"]
        a, b = pairs_of(p1.pre, p1.size)
        rows[label] = {**precision(a, b), "initial_median_pair_cv": precision(*pairs_of(p0.pre, p0.size))[
            "median_pair_cv"], "rate_hz": res.metrics["rate_hz"]}
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
    lines += ["", "Pair CV is the sample CV of the two sizes (ddof = 1); pairs whose sizes are both 0 "
              "are left out. N = ln(range) / ln(1 + 2 CV z), z = 1.015 (Bartol's 69 % criterion); "
              "N is infinite when the median CV is 0 (more than half the pairs identical).",
              f"Wall time: {time.perf_counter() - t0:.0f} s."]
    (out / "results.md").write_text("\n".join(lines) + "\n")
    plt = pyplot()
    fig, axes = plt.subplots(1, len(pairs), figsize=(3 * len(pairs), 3), sharex=True, sharey=True)
    for ax, (label, (a, b)) in zip(np.atleast_1d(axes), pairs.items(), strict=True):
        ax.scatter(a / 0.005, b / 0.005, s=3, alpha=0.5, color="0.2")
        ax.plot([0, 1], [0, 1], lw=0.5, color="r")
        ax.set_title(f"{label}\nCV {rows[label]['median_pair_cv']:.3g}", fontsize=8)
        ax.set_xlabel("synapse 1 (w / w_max)")
    np.atleast_1d(axes)[0].set_ylabel("synapse 2 (w / w_max)")
    fig.tight_layout()
    fig.savefig(out / "pairs.png", dpi=110)
    plt.close(fig)
    (out / "results.json").write_text(json.dumps({"mode": mode, "quick": args.quick, "rules": rows},
                                                 indent=2, default=float))
    print("\n".join(lines))
    return {"mode": mode, "rules": rows}


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
