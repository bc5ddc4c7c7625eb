"""Benchmark: fit every family of neurosim.analysis.fits to 1e6 log-normal sizes.

Times each family (median over ``--repeats``) and the full :func:`fit_sizes` call,
each also as a ratio to a plain ``scipy.stats.lognorm.fit(x, floc=0)`` measured in
the same run. Target: all families on 1e6 sizes in <= 10 s.

Usage::

    python benchmarks/fit_sizes.py [--n 1000000] [--repeats 3] [--seed 0]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

from neurosim.analysis.fits import FAMILIES, fit_sizes

sys.path.insert(0, str(Path(__file__).resolve().parent))  # a script, or loaded by path: find _record
from _record import load, record  # noqa: E402

TARGET_S = 10.0


def _median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="number of sizes (default 1e6)")
    ap.add_argument("--repeats", type=int, default=3, help="repeats; the median is reported")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None, help="write the figures here (default results/benchmarks/fit_sizes.json)")
    args = ap.parse_args(argv)
    load_before = load()
    if args.n < 20:
        ap.error(f"--n: must be >= 20, got {args.n}")
    if args.repeats < 1:
        ap.error(f"--repeats: must be >= 1, got {args.repeats}")
    x = np.random.default_rng(args.seed).lognormal(-1.0, 0.6, args.n)
    base = _median_time(lambda: stats.lognorm.fit(x, floc=0), args.repeats)
    print(f"n = {args.n}, repeats = {args.repeats} (median); baseline "
          f"scipy.stats.lognorm.fit(x, floc=0): {base:.3f} s")
    print(f"{'family':<14} {'time (s)':>9} {'x baseline':>11}")
    per_family = {}
    for fam in FAMILIES:
        t = per_family[fam] = _median_time(lambda fam=fam: fit_sizes(x, families=[fam]), args.repeats)
        print(f"{fam:<14} {t:9.3f} {t / base:11.2f}")
    total = _median_time(lambda: fit_sizes(x), args.repeats)
    verdict = "meets" if total <= TARGET_S else "MISSES"
    print(f"{'all (one call)':<14} {total:9.3f} {total / base:11.2f}")
    print(f"target: all families on {args.n} sizes in <= {TARGET_S:.0f} s: {verdict} it")
    figures = {"n": args.n, "repeats": args.repeats, "baseline_lognorm_fit_s": base, "family_s": per_family,
               "all_families_s": total, "all_vs_baseline": total / base, "target_s": TARGET_S}
    record("fit_sizes", figures, load_before=load_before, quick=args.n < 1_000_000 and args.json is None,
           out=args.json)
    return figures


if __name__ == "__main__":
    main()
