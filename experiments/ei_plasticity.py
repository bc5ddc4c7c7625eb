"""Study: plastic E->E synapses in a recurrent E/I network, per projection, against a null, from two starts.

The network of :mod:`neurosim.brian.ei` (800 E + 200 I conductance-based LIF neurons, 10 %
connectivity, external Poisson drive; the benchmark network of Vogels & Abbott 2005 /
Brette et al. 2007) with the E->E rule under test and the inhibitory plasticity of Vogels
et al. (2011) on I->E, which drives the excitatory rate to ``rho0 = 5 Hz``. Each run lasts
:data:`DURATION` s of biological time, long enough for iSTDP to bring the E rate to its
target (checked: the mean E rate over the last tenth of the run within 10 % of 5 Hz).

Conditions: additive STDP and Madam on the log grid (26 levels over 60x, 100 ms updates)
on E->E; each from two starts (every E->E size at 0.5 nS, as in the benchmark, and
log-uniform over 60x below ``w_max``); each rule also with the sign null (same
magnitudes, random sign per update or pairing). Seeds 0-2.

Everything is reported per projection (E->E and I->E apart): the family chosen by the
calibrated rule, sigma of ln size, slope and drift of size changes at the headline
interval (from each run's size traces, 5 s resolution), and whether the two starts reach
one distribution (:mod:`neurosim.analysis.stationarity`).

    python experiments/ei_plasticity.py [--quick] [--workers 2]

Writes ``results/ei_plasticity/README.md`` and ``summary.json``.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from neurosim import snapshot
from neurosim.analysis import stationarity
from neurosim.analysis.intervals import over_seeds
from neurosim.files import write_json, write_text
from neurosim.markdown import num, table
from neurosim.runner.aggregate import collect
from neurosim.runner.study import report_dir, study_parser
from neurosim.runner.sweep import build_sweep, run_sweep

HERE = Path(__file__).resolve().parent
DURATION = 1000.0
SEEDS = [0, 1, 2]
RHO0_HZ = 5.0
RULES = {"additive": {"name": "additive"}, "madam_loggrid": {"name": "madam_loggrid"}}
STARTS = {"constant": "all at 0.5 nS", "loguniform": "log-uniform over 60x"}


SETUP = f"""The network of neurosim.brian.ei (800 E + 200 I conductance-based LIF neurons, 10 % connectivity,
external Poisson drive; the benchmark network of Vogels & Abbott 2005 / Brette et al. 2007) with the E->E rule
under test and the inhibitory plasticity of Vogels et al. (2011) on I->E, which drives the excitatory rate to
{RHO0_HZ:g} Hz. Runs last {DURATION:g} s of biological time. Conditions: additive STDP and Madam on the log grid
(26 levels over 60x, 100 ms updates) on E->E, each from two starts (every E->E size at 0.5 nS, as in the
benchmark; log-uniform over 60x below w_max) and with the sign null (same magnitudes, random sign per update or
pairing); seeds {SEEDS[0]}-{SEEDS[-1]}. Code: experiments/ei_plasticity.py."""


def conditions(seeds: list[int], quick: bool) -> list[dict[str, Any]]:
    conds = []
    for label, rule in RULES.items():
        for start in STARTS:
            conds.append({"label": f"{label}, start {start}", "seeds": seeds, "config": "configs/ei.toml",
                          "set": {"rule": rule, "network.initial": start}})
        conds.append({"label": f"{label}, sign null", "seeds": seeds, "config": "configs/ei.toml",
                      "set": {"rule": {**rule, "null": "sign"}, "network.initial": "constant"}})
    for c in conds:
        c["set"].update({"train.duration": DURATION, "train.snapshot_interval": DURATION / 20,
                         "train.trace_interval": 5.0})
        if quick:
            c["set"]["network.mode"] = "runtime"
    return conds


def _cell(vals: list[float], spec: str = ".3f") -> str:
    vals = [v for v in vals if v is not None]
    if not vals:
        return "-"
    iv = over_seeds(vals)
    return num(iv.mean, spec) + (f" [{num(min(vals), spec)}, {num(max(vals), spec)}]" if len(vals) > 1 else "")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = study_parser(__doc__, "ei_plasticity", quick_help="2 s runs in runtime mode, one seed")
    args = ap.parse_args(argv)
    out = report_dir(args, "ei_plasticity")
    t0 = time.perf_counter()
    seeds = [0] if args.quick else SEEDS
    sweep = build_sweep({"name": "ei-plasticity", "condition": conditions(seeds, args.quick),
                         "description": "ei_plasticity: E->E rules with iSTDP, two starts and a null"},
                        base_dir=HERE, quick=args.quick)
    res = run_sweep(sweep, args.runs, workers=args.workers, progress=False, stale=args.stale)
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in collect(res.sweep_dir)[1]:
        if not r["done"]:
            continue
        snaps = [snapshot.load(p) for p in r["run"].snapshot_paths()]
        act = np.load(r["run"].path / "activity.npz")
        pop = act["pop_rate_e_hz"]
        tenth = max(1, pop.size // 10)
        groups.setdefault(r["label"], []).append({
            "seed": r["seed"], "final": r["final"], "parts": r["parts"],
            "times": [float(s.meta["time"]) for s in snaps],
            "ee": [s.projections["EE"].size.astype(np.float64) for s in snaps],
            "rate_first": float(pop[:tenth].mean()), "rate_last": float(pop[-tenth:].mean()),
            "rt": r["final"].get("realtime_factor"), "wall": r["run"].result().get("seconds")})
    rows, summary = [], {}
    for label, runs in groups.items():
        for part in ("EE", "IE"):
            heads = [r["parts"].get(part, {}) for r in runs]
            fam: dict[str, int] = {}
            for h in heads:
                fam[h.get("chosen_family") or "none"] = fam.get(h.get("chosen_family") or "none", 0) + 1
            rows.append([label, part, len(runs), ", ".join(f"{k} {v}" for k, v in fam.items()),
                         _cell([h.get("sigma_ln_initial") for h in heads]), _cell([h.get("sigma_ln") for h in heads]),
                         _cell([h.get("slope") for h in heads], ".2f"), _cell([h.get("drift") for h in heads]),
                         _cell([r["rate_first"] for r in runs], ".2f") + " -> " + _cell([r["rate_last"] for r in runs],
                                                                                        ".2f") if part == "EE" else "",
                         ("yes" if all(abs(r["rate_last"] - RHO0_HZ) <= 0.1 * RHO0_HZ for r in runs) else "no")
                         if part == "EE" else ""])
        summary[label] = {"rate_last": [r["rate_last"] for r in runs],
                          "parts": {p: [r["parts"].get(p, {}) for r in runs] for p in ("EE", "IE")},
                          "realtime_factor": [r["rt"] for r in runs]}
    st_rows = []
    for label in RULES:
        a = {r["seed"]: r for r in groups.get(f"{label}, start constant", [])}
        b = {r["seed"]: r for r in groups.get(f"{label}, start loguniform", [])}
        res_st = [stationarity.compare_starts(a[s]["times"], a[s]["ee"], b[s]["ee"], seed=s)
                  for s in sorted(set(a) & set(b)) if a[s]["times"] == b[s]["times"]]
        if res_st:
            reached = [x.reached_at for x in res_st if x.reached]
            st_rows.append([label, f"{len(reached)}/{len(res_st)}",
                            f"{np.median(reached):.0f} s" if reached else "never",
                            _cell([x.ks[0] for x in res_st]), _cell([x.ks[-1] for x in res_st]),
                            _cell([x.threshold[-1] for x in res_st])])
            summary[f"{label}: stationarity"] = [x.summary() for x in res_st]
    speed = [[label, _cell([r["rt"] for r in runs], ".1f"), _cell([r["wall"] for r in runs], ".0f")]
             for label, runs in groups.items()]
    lines = [f"# Plastic E->E synapses in the E/I network{' (quick size)' if args.quick else ''}", "",
             SETUP, "",
             "## Per projection", "",
             "Each cell: mean [min, max] over seeds. Sigma of ln size before and after; slope of ln std(change) "
             "on ln size and drift of ln size at each run's headline interval; E population rate (Hz) in the "
             "first and last tenth of the run, and whether iSTDP held it within 10 % of its 5 Hz target at the "
             "end on every seed.", "",
             table(["condition", "projection", "seeds", "family chosen (runs)", "sigma ln, initial",
                    "sigma ln, final", "slope", "drift", "E rate, first -> last 10 % (Hz)", "at target"], rows), "",
             "## E->E from two starts", "", f"Criterion: {stationarity.CRITERION}.", "",
             table(["rule", "seeds converged", "when (median)", "KS at start", "KS at the end",
                    "threshold at the end"], st_rows), "",
             "## Cost", "", table(["condition", "realtime factor (simulation only)", "wall per run (s)"], speed), "",
             f"Sweep report: [sweep/report.md](sweep/report.md). Wall time of this invocation: "
             f"{(time.perf_counter() - t0) / 60:.1f} min (finished runs are reused).", ""]
    write_text(out / "README.md", "\n".join(lines))
    shutil.copytree(res.sweep_dir, out / "sweep", dirs_exist_ok=True)
    summary["failed"] = res.failed
    write_json(out / "summary.json", summary)
    print(f"report: {out / 'README.md'}")
    return summary


if __name__ == "__main__":
    main()
