"""Study: how many log-spaced levels does learning need? The digits MLP at 4-256 levels over 20x-200x.

The project's central number is "about 26 levels" (Bartol et al. 2015: ~26 distinguishable
spine sizes over ~60x, 4.7 bits; Samavat et al. 2024: 4.1-4.59 bits, 24 sizes). This sweep
trains the Dale MLP of ``configs/digits_mlp.toml`` (64-128-10, 80 % excitatory hidden
units, 40 epochs) with LogGridMadam at lr 0.01 on grids of 4, 8, 16, 26, 64 and 256 levels
spanning 20x, 60x and 200x, beside FP32 Madam (same lr, sizes clipped to the same
``p_scale``) as the reference, over 5 seeds. The Song setup's correlated-input test at the
same level counts is in ``results/song_plasticity`` (part ``levels``).

Criterion, written before the runs: a level count *suffices* at a range when the mean over
seeds of its paired difference in test accuracy to FP32 Madam is above -1 percentage point
(the t-interval is reported beside it); the report names, per range, the smallest count from
which every larger count suffices too.

    python experiments/level_count.py [--quick] [--workers 2]

Writes ``results/level_count/README.md`` (table, figure) and ``summary.json``.
"""

from __future__ import annotations

import math
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from neurosim.analysis.intervals import over_seeds
from neurosim.analysis.plots import levels_figure, smallest_sufficient
from neurosim.files import write_json, write_text
from neurosim.markdown import num, table
from neurosim.runner.aggregate import collect
from neurosim.runner.study import report_dir, study_parser
from neurosim.runner.sweep import build_sweep, run_sweep

HERE = Path(__file__).resolve().parent
BASE = "configs/digits_mlp.toml"
LEVELS = (4, 8, 16, 26, 64, 256)
RATIOS = (20.0, 60.0, 200.0)
SEEDS = 5
REFERENCE = "FP32 Madam (lr 0.01)"
#: Within this many percentage points of the reference counts as no loss.
MARGIN_PP = 1.0


def conditions(levels: tuple[int, ...], ratios: tuple[float, ...], seeds: list[int]) -> list[dict[str, Any]]:
    conds = [{"label": REFERENCE, "seeds": seeds, "set": {"rule": {"name": "madam", "lr": 0.01}}}]
    conds += [{"label": f"{lv} levels over {ratio:g}x", "seeds": seeds,
               "set": {"rule": {"name": "loggrid_madam", "lr": 0.01, "levels": lv, "ratio": ratio}}}
              for ratio in ratios for lv in levels]
    return conds


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = study_parser(__doc__, "level_count", quick_help="2 grids, 1 seed, 2 epochs")
    args = ap.parse_args(argv)
    out = report_dir(args, "level_count")
    t0 = time.perf_counter()
    levels, ratios = ((8, 26), (60.0,)) if args.quick else (LEVELS, RATIOS)
    seeds = [0] if args.quick else list(range(SEEDS))
    conds = conditions(levels, ratios, seeds)
    if args.quick:
        for c in conds:
            c["set"]["analysis.fit"] = False
    sweep = build_sweep({"name": "level-count", "condition": conds, "base": BASE,
                         "description": "level_count: LogGridMadam at 4-256 levels over 20x-200x on digits"},
                        base_dir=HERE, quick=args.quick)
    res = run_sweep(sweep, args.runs, workers=args.workers, progress=False, stale=args.stale)
    acc: dict[str, dict[int, float]] = {}
    ent: dict[str, list[float]] = {}
    for r in collect(res.sweep_dir)[1]:
        if r["done"] and "test_accuracy" in r["final"]:
            acc.setdefault(r["label"], {})[r["seed"]] = float(r["final"]["test_accuracy"])
            e = [h.get("entropy_bits") for h in r["parts"].values() if h.get("entropy_bits") is not None]
            if e:
                ent.setdefault(r["label"], []).append(float(np.mean(e)))
    ref = acc.get(REFERENCE, {})
    rows, summary, smallest = [], {}, {}
    for ratio in ratios:
        for lv in levels:
            label = f"{lv} levels over {ratio:g}x"
            a = acc.get(label, {})
            seeds_both = sorted(set(a) & set(ref))
            d = [100 * (a[s] - ref[s]) for s in seeds_both]
            iv = over_seeds(d)
            ok = bool(d) and iv.mean >= -MARGIN_PP
            m = over_seeds([100 * v for v in a.values()])
            rows.append([f"{ratio:g}x", lv, f"{math.log2(lv):.2f}", f"{num(m.mean, '.1f')}"
                         + (f" [{num(min(a.values()) * 100, '.1f')}, {num(max(a.values()) * 100, '.1f')}]"
                            if len(a) > 1 else ""),
                         f"{num(iv.mean, '+.1f')}" + (f" (t: {iv.lo:+.1f} to {iv.hi:+.1f})" if iv.kind == "t" else ""),
                         num(np.mean(ent[label]) if ent.get(label) else None, ".2f"), "yes" if ok else "no"])
            summary[label] = {"accuracy": a, "difference_pp": d, "suffices": ok}
    for ratio in ratios:  # the smallest count from which every larger one suffices
        first = smallest_sufficient(levels, [summary[f"{lv} levels over {ratio:g}x"]["suffices"] for lv in levels])
        if first is not None:
            smallest[ratio] = first
    m_ref = over_seeds([100 * v for v in ref.values()])
    curves = {f"LogGridMadam, range {ratio:g}x":
              [np.mean(list(acc.get(f"{lv} levels over {ratio:g}x", {0: math.nan}).values())) * 100 for lv in levels]
              for ratio in ratios}
    levels_figure(levels, curves, "test accuracy (%, mean over seeds)", out / "accuracy_by_levels",
                  reference=(m_ref.mean, MARGIN_PP, "FP32 Madam"))
    lines = [f"# How many levels: the digits MLP{' (quick size)' if args.quick else ''}", "",
             __doc__.split("\n\n")[1].replace("\n", " "), "", __doc__.split("\n\n")[2].replace("\n", " "), "",
             f"FP32 Madam: {num(m_ref.mean, '.1f')} % test accuracy ({m_ref.label}"
             + (f": {num(m_ref.lo, '.1f')} to {num(m_ref.hi, '.1f')}" if m_ref.kind == "t" else "") + ").", "",
             table(["range", "levels", "bits", "test accuracy (%) [min, max]",
                    "paired difference to FP32 Madam (pp)", "level entropy (bits, mean over layers and E/I parts)",
                    f"within {MARGIN_PP:g} pp"], rows), "",
             "Smallest level count that suffices: " + ", ".join(
                 f"{r:g}x: {smallest.get(r, 'none')}" for r in ratios) + ".", "",
             "![accuracy against levels](accuracy_by_levels.png)", "",
             f"Sweep report: [sweep/report.md](sweep/report.md). Wall time of this invocation: "
             f"{(time.perf_counter() - t0) / 60:.1f} min (finished runs are reused).", ""]
    write_text(out / "README.md", "\n".join(lines))
    shutil.copytree(res.sweep_dir, out / "sweep", dirs_exist_ok=True)
    result = {"reference": ref, "conditions": summary, "smallest": {f"{k:g}": v for k, v in smallest.items()},
              "failed": res.failed}
    write_json(out / "summary.json", result)
    print(f"report: {out / 'README.md'}")
    return result


if __name__ == "__main__":
    main()
