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

Every run goes through the runner (``experiments/configs/song.toml`` and ``ei.toml``,
one sweep; run directories resume, finished runs are reused); the figures are drawn
from the runs' snapshots.

    python experiments/stdp_distributions.py [--quick] [--out results/stdp_distributions]
                                             [--mode standalone|runtime] [--no-ei] [--workers 2]

Writes ``README.md`` (tables), ``results.json``, ``song_final``, ``song_evolution`` and
``ei_final`` (PNG and SVG) under ``--out``.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from neurosim import snapshot
from neurosim.analysis.plots import save_figure
from neurosim.analysis.precision import pyplot
from neurosim.files import write_json, write_text
from neurosim.runner.aggregate import collect
from neurosim.runner.study import report_dir, study_parser
from neurosim.runner.sweep import build_sweep, run_sweep

HERE = Path(__file__).resolve().parent
NETWORKS = {"song": "configs/song.toml", "ei": "configs/ei.toml"}
#: rule label -> the runner's rule table (times in seconds)
RULES: dict[str, dict[str, Any]] = {
    "additive": {"name": "additive"},
    "soft_bound": {"name": "gutig", "mu_plus": 1.0, "mu_minus": 1.0},
    "mixed": {"name": "gutig", "mu_plus": 0.0, "mu_minus": 1.0},
    "madam_loggrid": {"name": "madam_loggrid", "interval": 0.1},
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


def final_shape(d: dict[str, Any]) -> str:
    """:func:`shape_of` the final sizes: of ``w / w_max``, or for a log grid of ``level / (levels - 1)``
    (the position in log size, where a log-normal looks normal and log-uniform flat)."""
    if d["levels"] is None:
        return shape_of(d["rel"][-1])
    levels, n = d["levels"]
    return f"{shape_of(levels[-1].ravel() / (n - 1))} in log size"


def _row(name: str, d: dict[str, Any], keys: list[str]) -> str:
    vals = [f"{d['metrics'].get(k, float('nan')):.3g}" for k in keys]
    return f"| {name} | " + " | ".join(vals) + f" | {d['shape']} |"


def read_run(run: dict[str, Any], projection: str) -> dict[str, Any]:
    """One run of :func:`~neurosim.runner.aggregate.collect`: snapshot times (s), sizes / w_max of
    ``projection`` per snapshot, grid levels, final metrics, activity, the runner's analysis, and
    the final distribution's shape and skewness."""
    rd = run["run"]
    snaps = [snapshot.load(p) for p in rd.snapshot_paths()]
    act = np.load(rd.path / "activity.npz")
    projs = [s.projections[projection] for s in snaps]
    summary = rd.figures / "summary.json"  # the runner's analysis of the snapshots
    d = {"times": [float(s.meta["time"]) for s in snaps],
         "rel": [p.size / float(s.meta["w_max"]) for p, s in zip(projs, snaps, strict=True)],
         "levels": ([p.level for p in projs], projs[-1].grid.levels) if projs[-1].level is not None else None,
         "metrics": run["final"], "activity": {k: act[k] for k in act.files},
         "headline": (json.loads(summary.read_text())["headline"].get(projection, {}) if summary.is_file()
                      else {})}
    d["shape"] = final_shape(d)
    d["skew_size"], d["skew_ln_size"] = skews(d["rel"][-1])
    return d


def skews(sizes: np.ndarray) -> tuple[float, float]:
    """Sample skewness of the positive sizes and of their logarithms (a log-normal: > 0 and 0)."""
    from scipy.stats import skew

    x = np.asarray(sizes, dtype=np.float64).ravel()
    x = x[x > 0]
    return float(skew(x)), float(skew(np.log(x)))


def _fit_row(name: str, d: dict[str, Any]) -> str:
    h = d["headline"]

    def num(key: str, fmt: str = "{:.3g}") -> str:
        v = h.get(key)
        return fmt.format(v) if isinstance(v, int | float) else "-"

    ci = h.get("slope_ci") or [None, None]
    slope = (f"{h['slope']:.2f} [{ci[0]:.2f}, {ci[1]:.2f}] at {h['slope_interval']:g} s"
             if isinstance(h.get("slope"), float) and None not in ci else "-")
    return (f"| {name} | {h.get('chosen_family') or '-'} | {num('sigma_ln')} | {d['skew_size']:.2f} | "
            f"{d['skew_ln_size']:.2f} | {num('dynamic_range_1_99')} | "
            f"{slope} | {num('drift')} | {num('entropy_bits', '{:.2f}')} | {num('levels_used', '{:.0f}')} |")


FIT_HEADER = ["| run | family chosen | sigma of ln size | skew of size | skew of ln size | 1-99 % range "
              "| size-change slope [95 % CI] at the headline interval | drift of ln size | level entropy (bits) "
              "| levels used |", "|---|---|---|---|---|---|---|---|---|---|"]


def occupancy_figure(runs: dict[str, dict], path: Path) -> None:
    """Fraction of synapses per grid level at the first, middle and last snapshot (gridded runs)."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(runs), figsize=(4.2 * len(runs), 3), squeeze=False)
    for ax, (label, d) in zip(axes[0], runs.items(), strict=True):
        levels, n = d["levels"]
        for k, c in zip((0, len(levels) // 2, len(levels) - 1), ("0.75", "C0", "k"), strict=True):
            frac = np.bincount(levels[k].ravel(), minlength=n) / levels[k].size
            ax.step(np.arange(n), frac, where="mid", color=c, label=f"t = {d['times'][k]:g} s")
        ax.axhline(1 / n, color="r", lw=0.7, ls=":", label="log-uniform")
        ax.set_xlabel("level (0 = smallest size)")
        ax.set_title(label, fontsize=9)
        ax.legend(fontsize=7, frameon=False)
    axes[0, 0].set_ylabel("fraction of synapses")
    fig.tight_layout()
    save_figure(fig, path, tight=False)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    ap = study_parser(__doc__, "stdp_distributions", quick_help="seconds instead of minutes")
    ap.add_argument("--mode", choices=("runtime", "standalone"), default=None,
                    help="default: standalone (full), runtime (quick)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-ei", action="store_true", help="skip the E/I network")
    args = ap.parse_args(argv)
    out = report_dir(args, "stdp_distributions")
    mode = args.mode or ("runtime" if args.quick else "standalone")
    t_start = time.perf_counter()
    conds = []
    for net, config in NETWORKS.items():
        if net == "ei" and args.no_ei:
            continue
        rules = dict(list(RULES.items())[:1]) if (args.quick and net == "ei") else RULES
        for label, rule in rules.items():
            conds.append({"label": f"{net}: {label}", "config": config, "seeds": [args.seed],
                          "set": {"rule": rule, "network.mode": mode}})
    sweep = build_sweep({"name": "stdp-distributions", "condition": conds,
                         "description": "stdp_distributions: size distributions per rule"},
                        base_dir=HERE, quick=args.quick)
    res = run_sweep(sweep, args.runs, workers=args.workers, progress=False, stale=args.stale)
    song: dict[str, dict] = {}
    ei: dict[str, dict] = {}
    for r in collect(res.sweep_dir)[1]:
        net, _, label = r["label"].partition(": ")
        if net == "song":
            song[label] = read_run(r, "input")
        else:
            ei[label] = read_run(r, "EE")
    song_T = sweep.tasks[0].config["train"]["duration"]
    ei_config = next((t.config for t in sweep.tasks if t.config["network"]["kind"] == "brian_ei"), None)

    # ---------------------------------------------------------------- report
    keys = ["rate_hz", "isi_cv", "w_mean_rel", "frac_low", "frac_high", "levels_moved_mean"]
    lines = [f"# STDP size distributions ({'quick' if args.quick else 'full'}, {mode} mode)", "",
             f"## Song setup: 1000 Poisson inputs, {song_T:g} s, final sizes / w_max", "",
             "| rule | out rate Hz | ISI CV | mean w/w_max | frac < 0.1 | frac > 0.9 | levels moved "
             "| shape |", "|---|---|---|---|---|---|---|---|"]
    for label, d in song.items():
        lines.append(_row(label, d, keys))
    if ei:
        ekeys = ["rate_e_hz", "rate_i_hz", "isi_cv", "rate_e_first_hz", "rate_e_last_hz",
                 "rate_e_max_bin_hz", "w_mean_rel", "frac_low", "frac_high", "levels_moved_mean", "w_ie_mean_nS"]
        n_e, n_i, ei_T = ei_config["network"]["n_e"], ei_config["network"]["n_i"], ei_config["train"]["duration"]
        lines += ["", f"## E/I network: {n_e} E + {n_i} I, {ei_T:g} s, Vogels iSTDP on I->E; E->E sizes",
                  "", "| rule | E Hz | I Hz | ISI CV (E) | E Hz first 10 % | E Hz last 10 % | "
                  "max 100 ms bin | mean w/w_max | frac < 0.1 | frac > 0.9 | levels moved | mean I->E nS | shape |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for label, d in ei.items():
            lines.append(_row(label, d, ekeys))
    gridded = {f"{net} {label}": d for net, runs in (("Song", song), ("E/I", ei)) for label, d in runs.items()
               if d["levels"] is not None}
    lines += ["", "## Fits and dynamics of the final sizes", "",
              "From each run's analysis of the plastic projection (`figures/summary.json` in its run directory): "
              "the family chosen by the calibrated rule (neurosim.analysis.selection), and the slope of ln "
              "std(size change) against ln size and the drift of ln size at the headline interval (a tenth of "
              "the turnover time; 1: changes proportional to size, multiplicative; 0: additive; Loewenstein et "
              "al. 2011). A log-normal has a right-skewed size (skew > 0) and a symmetric ln size (skew 0).",
              "", *FIT_HEADER]
    lines += [_fit_row(f"Song {label}", d) for label, d in song.items()]
    lines += [_fit_row(f"E/I {label}", d) for label, d in ei.items()]
    lines += ["", "![final size distributions, Song setup](song_final.png)", "",
              "![size distributions over time, Song setup](song_evolution.png)", ""]
    if ei:
        lines += ["![E->E sizes and E population rate, E/I network](ei_final.png)", ""]
    if gridded:
        occupancy_figure(gridded, out / "level_occupancy")
        lines += ["Madam on the log grid, level occupancy over time (a flat line at 1/26 is log-uniform):", "",
                  "![level occupancy](level_occupancy.png)", ""]
    shutil.copytree(res.sweep_dir, out / "sweep", dirs_exist_ok=True)  # its run links point into --runs
    lines += [f"Runs: the sweep report [sweep/report.md](sweep/report.md) and one run directory per row under "
              f"`{args.runs}` (rasters under each run's `figures/`). Wall time of this invocation: "
              f"{time.perf_counter() - t_start:.0f} s (finished runs are reused).", ""]
    write_text(out / "README.md", "\n".join(lines))

    plt = pyplot()
    fig, axes = plt.subplots(1, len(song), figsize=(3.2 * len(song), 2.8), sharey=True)
    for ax, (label, d) in zip(np.atleast_1d(axes), song.items(), strict=True):
        ax.hist(d["rel"][-1], bins=25, range=(0, 1), color="0.3")
        ax.set_title(f"{label}: {d['shape']}", fontsize=9)
        ax.set_xlabel("w / w_max")
    np.atleast_1d(axes)[0].set_ylabel("synapses")
    fig.tight_layout()
    save_figure(fig, out / "song_final", tight=False)
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
    save_figure(fig, out / "song_evolution", tight=False)
    plt.close(fig)
    if ei:
        fig, axes = plt.subplots(2, len(ei), figsize=(3.2 * len(ei), 5), squeeze=False)
        for k, (label, d) in enumerate(ei.items()):
            axes[0, k].hist(d["rel"][-1], bins=25, range=(0, 1), color="0.3")
            axes[0, k].set_title(f"E->E {label}", fontsize=9)
            axes[0, k].set_xlabel("w / w_max")
            pop = d["activity"]["pop_rate_e_hz"]
            axes[1, k].plot(np.arange(len(pop)) * 0.1, pop, lw=0.8)
            axes[1, k].set_xlabel("time (s)")
            axes[1, k].set_ylabel("E population rate (Hz, 100 ms bins)")
        fig.tight_layout()
        save_figure(fig, out / "ei_final", tight=False)
        plt.close(fig)

    summary = {
        "mode": mode, "quick": args.quick, "sweep": str(res.sweep_dir), "failed": res.failed,
        **{net: {k: {**d["metrics"], "shape": d["shape"], "analysis": d["headline"],
                     "skew_size": d["skew_size"], "skew_ln_size": d["skew_ln_size"]} for k, d in runs.items()}
           for net, runs in (("song", song), ("ei", ei))},
    }
    write_json(out / "results.json", summary)
    print("\n".join(lines))
    return summary


if __name__ == "__main__":
    main()
