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
import time

import numpy as np
from scipy import stats

from neurosim.analysis.fits import FAMILIES, fit_sizes

TARGET_S = 10.0


def _median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="number of sizes (default 1e6)")
    ap.add_argument("--repeats", type=int, default=3, help="repeats; the median is reported")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.n < 20:
        ap.error(f"--n: must be >= 20, got {args.n}")
    if args.repeats < 1:
        ap.error(f"--repeats: must be >= 1, got {args.repeats}")
    x = np.random.default_rng(args.seed).lognormal(-1.0, 0.6, args.n)
    base = _median_time(lambda: stats.lognorm.fit(x, floc=0), args.repeats)
    print(f"n = {args.n}, repeats = {args.repeats} (median); baseline "
          f"scipy.stats.lognorm.fit(x, floc=0): {base:.3f} s")
    print(f"{'family':<14} {'time (s)':>9} {'x baseline':>11}")
    for fam in FAMILIES:
        t = _median_time(lambda fam=fam: fit_sizes(x, families=[fam]), args.repeats)
        print(f"{fam:<14} {t:9.3f} {t / base:11.2f}")
    total = _median_time(lambda: fit_sizes(x), args.repeats)
    verdict = "meets" if total <= TARGET_S else "MISSES"
    print(f"{'all (one call)':<14} {total:9.3f} {total / base:11.2f}")
    print(f"target: all families on {args.n} sizes in <= {TARGET_S:.0f} s: {verdict} it")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
