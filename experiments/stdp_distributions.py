"""Study: synapse size distributions under additive, weight-dependent and Madam-log-grid STDP.

The Song, Miller & Abbott (2000) setup (1000 Poisson inputs onto one conductance-based
neuron, Brian2's ``examples/synapses/STDP.py`` constants, 100 s) and the recurrent E/I
network of :mod:`neurosim.brian.ei` (800 E + 200 I, plastic E->E, Vogels et al. 2011
iSTDP on I->E), each under:

* ``additive``: Song et al. (2000), hard bounds;
* ``soft_bound``: Gütig et al. (2003) with ``mu_plus = mu_minus = 1`` (Rubin et al. 2001);
* ``mixed``: ``mu_plus = 0, mu_minus = 1`` (van Rossum et al. 2000, J. Neurosci. 20:8812);
* ``madam_loggrid``: Madam (Bernstein et al. 2020) on the 26-level, 60x log grid,
  stochastic rounding, one update per 100 ms (1000 updates in 100 s).

Expected in the Song setup: additive -> bimodal, piled at 0 and w_max; soft-bound and
mixed -> unimodal. Reported for Madam: what it gives.

    python experiments/stdp_distributions.py [--quick] [--out results/stdp_distributions]
                                             [--mode standalone|runtime] [--no-ei]

Writes ``results.md`` (tables), ``results.json``, ``song_final.png``,
``song_evolution.png`` and ``ei_final.png`` under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from brian2 import ms, second

from neurosim.analysis.precision import pyplot
from neurosim.brian import make_rule, run_ei_network, run_song

RULES = {
    "additive": ("additive", {}),
    "soft_bound": ("gutig", {"mu_plus": 1.0, "mu_minus": 1.0}),
    "mixed": ("gutig", {"mu_plus": 0.0, "mu_minus": 1.0}),
    "madam_loggrid": ("madam_loggrid", {"interval": 100 * ms}),
}


def shape_of(sizes_rel: np.ndarray) -> str:
    """``bimodal`` (both outer deciles above every middle one), ``unimodal`` or ``other``."""
    c = np.histogram(sizes_rel, bins=10, range=(0, 1))[0]
    if min(c[0], c[-1]) > c[2:8].max():
        return "bimodal"
    peaks = [k for k in range(10) if c[k] == c.max()]
    inner = c[0] + c[-1] <= 0.02 * c.sum()
    left, right = c[: peaks[0] + 1], c[peaks[0]:]
    mono = np.all(np.diff(left) >= -0.02 * c.sum()) and np.all(np.diff(right) <= 0.02 * c.sum())
    return "unimodal" if inner and mono else ("unimodal (at a bound)" if mono else "other")


def _row(name: str, m: dict, rel: np.ndarray, keys: list[str]) -> str:
    vals = [f"{m.get(k, float('nan')):.3g}" for k in keys]
    return f"| {name} | " + " | ".join(vals) + f" | {shape_of(rel)} |"


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="seconds instead of minutes")
    ap.add_argument("--out", default="results/stdp_distributions")
    ap.add_argument("--mode", choices=("runtime", "standalone"), default=None,
                    help="default: standalone (full), runtime (quick)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-ei", action="store_true", help="skip the E/I network")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    mode = args.mode or ("runtime" if args.quick else "standalone")
    song_T, ei_T = (2.0, 0.3) if args.quick else (100.0, 10.0)
    build_root = Path(tempfile.mkdtemp(prefix="stdp_distributions_"))
    t_start = time.perf_counter()

    # ---------------------------------------------------------------- Song setup
    song: dict[str, dict] = {}
    for label, (rule_name, kw) in RULES.items():
        res = run_song(make_rule(rule_name, **kw), duration=song_T * second,
                       snapshot_every=song_T / 10 * second, seed=args.seed, mode=mode,
                       build_dir=str(build_root / f"song_{label}"), progress=False,
                       inputs="pregenerated" if args.quick else "poisson")
        w_max = res.info["w_max"]
        song[label] = {
            "metrics": res.metrics,
            "times": [t for t, _ in res.snapshots],
            "rel": [p["input"].size / w_max for _, p in res.snapshots],
        }
    # ---------------------------------------------------------------- E/I network
    ei: dict[str, dict] = {}
    ei_rules = {} if args.no_ei else (dict(list(RULES.items())[:1]) if args.quick else RULES)
    for label, (rule_name, kw) in ei_rules.items():
        res = run_ei_network(make_rule(rule_name, **kw), duration=ei_T * second, seed=args.seed,
                             mode=mode, build_dir=str(build_root / f"ei_{label}"), progress=False)
        ei[label] = {"metrics": res.metrics, "rel": res.snapshots[-1][1]["EE"].size / res.info["w_max"],
                     "pop_rate": res.info["pop_rate_e_hz"]}

    # ---------------------------------------------------------------- report
    keys = ["rate_hz", "isi_cv", "w_mean_rel", "frac_low", "frac_high", "levels_moved_mean"]
    lines = [f"# STDP size distributions ({'quick' if args.quick else 'full'}, {mode} mode)", "",
             f"## Song setup: 1000 Poisson inputs, {song_T:g} s, final sizes / w_max", "",
             "| rule | out rate Hz | ISI CV | mean w/w_max | frac < 0.1 | frac > 0.9 | levels moved "
             "| shape |", "|---|---|---|---|---|---|---|---|"]
    for label, d in song.items():
        lines.append(_row(label, d["metrics"], d["rel"][-1], keys))
    if ei:
        ekeys = ["rate_e_hz", "rate_i_hz", "isi_cv", "rate_e_first_hz", "rate_e_last_hz",
                 "rate_e_max_bin_hz", "w_mean_rel", "frac_low", "frac_high", "w_ie_mean_nS"]
        lines += ["", f"## E/I network: 800 E + 200 I, {ei_T:g} s, Vogels iSTDP on I->E; E->E sizes",
                  "", "| rule | E Hz | I Hz | ISI CV (E) | E Hz first 10 % | E Hz last 10 % | "
                  "max 100 ms bin | mean w/w_max | frac < 0.1 | frac > 0.9 | mean I->E nS | shape |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for label, d in ei.items():
            lines.append(_row(label, d["metrics"], d["rel"], ekeys))
    lines += ["", f"Wall time: {time.perf_counter() - t_start:.0f} s."]
    (out / "results.md").write_text("\n".join(lines) + "\n")

    plt = pyplot()
    fig, axes = plt.subplots(1, len(song), figsize=(3.2 * len(song), 2.8), sharey=True)
    for ax, (label, d) in zip(np.atleast_1d(axes), song.items(), strict=True):
        ax.hist(d["rel"][-1], bins=25, range=(0, 1), color="0.3")
        ax.set_title(f"{label}: {shape_of(d['rel'][-1])}", fontsize=9)
        ax.set_xlabel("w / w_max")
    np.atleast_1d(axes)[0].set_ylabel("synapses")
    fig.tight_layout()
    fig.savefig(out / "song_final.png", dpi=110)
    plt.close(fig)
    fig, axes = plt.subplots(1, len(song), figsize=(3.2 * len(song), 2.8), sharey=True)
    for ax, (label, d) in zip(np.atleast_1d(axes), song.items(), strict=True):
        H = np.array([np.histogram(r, bins=25, range=(0, 1))[0] for r in d["rel"]])
        ax.imshow(H.T, origin="lower", aspect="auto", cmap="viridis",
                  extent=(d["times"][0], d["times"][-1], 0, 1))
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("time (s)")
    np.atleast_1d(axes)[0].set_ylabel("w / w_max")
    fig.tight_layout()
    fig.savefig(out / "song_evolution.png", dpi=110)
    plt.close(fig)
    if ei:
        fig, axes = plt.subplots(2, len(ei), figsize=(3.2 * len(ei), 5), squeeze=False)
        for k, (label, d) in enumerate(ei.items()):
            axes[0, k].hist(d["rel"], bins=25, range=(0, 1), color="0.3")
            axes[0, k].set_title(f"E->E {label}", fontsize=9)
            axes[0, k].set_xlabel("w / w_max")
            axes[1, k].plot(np.arange(len(d["pop_rate"])) * 0.1, d["pop_rate"], lw=0.8)
            axes[1, k].set_xlabel("time (s)")
            axes[1, k].set_ylabel("E rate (Hz)")
        fig.tight_layout()
        fig.savefig(out / "ei_final.png", dpi=110)
        plt.close(fig)

    summary = {
        "mode": mode, "quick": args.quick,
        "song": {k: {**d["metrics"], "shape": shape_of(d["rel"][-1])} for k, d in song.items()},
        "ei": {k: {**d["metrics"], "shape": shape_of(d["rel"])} for k, d in ei.items()},
    }
    (out / "results.json").write_text(json.dumps(summary, indent=2, default=float))
    print("\n".join(lines))
    return summary


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
