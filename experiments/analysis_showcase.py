"""Showcase of ``neurosim.analysis`` (the closing artefacts of issue 6).

Runs the fit table, model comparisons and figures for

(a) a log-normal sample (mu = -1, sigma = 0.6 of ln size);
(b) a two-log-normal mixture sample with the component parameters of Dorkenwald et al.
    (2022, eLife 11:e76120; unverified values from ``data/dorkenwald2022.toml``,
    converted to natural-log units);
(c) a trained network: the Dale MLP 64-128-10 of ``experiments/demo_loggrid_digits.py``
    learning scikit-learn's digits with LogGridMadam (26 levels over 60x, stochastic
    rounding, lr 0.01, untuned), snapshots every 10 epochs (initial to final); the same
    network trained with continuous Madam (lr 0.01) and with additive DaleSGD (lr 0.05)
    is set beside it (:func:`neurosim.analysis.summary.compare_runs`).

Writes ``<out>/README.md`` with the tables and embedded figures, one folder per case, and
the network's initial and final snapshots (``.npz``, readable by ``neurosim fit``).

    python experiments/analysis_showcase.py [--quick] [--out results/analysis] [--seed 0]
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from neurosim.analysis import reference
from neurosim.analysis.summary import analyse_run, compare_runs
from neurosim.files import write_json, write_text
from neurosim.markdown import table
from neurosim.runner.study import report_dir, study_parser
from neurosim.snapshot import Projection, Snapshot


def _sample_snapshot(sizes: np.ndarray, label: str) -> Snapshot:
    return Snapshot({"sample": Projection(sign=np.ones(sizes.size), size=sizes, unit="a.u.")},
                    {"source": label})


def _comparisons(rep: Any, n_boot: int, n_mc: int) -> tuple[str, dict[str, Any]]:
    """Model comparisons, bootstrap intervals and a Monte Carlo GoF p value, as Markdown."""
    rows = []
    out: dict[str, Any] = {}
    for a, b in (("lognorm", "gamma"), ("lognorm", "weibull_min"), ("lognorm", "loguniform"),
                 ("lognorm", "lognorm_mix2")):
        c = rep.compare(a, b, n_boot=n_boot, seed=0)
        rows.append([f"{a} vs {b} ({c.test})", f"{c.statistic:.3g}", f"{c.pvalue:.3g}", c.favoured or "neither"])
        out[f"{a}_vs_{b}"] = {"method": c.test, "statistic": c.statistic, "p": c.pvalue,
                              "favoured": c.favoured}
    best = rep.best
    p = rep.gof(best, n_mc=n_mc, seed=0)
    out["gof_best_p"] = p
    ci_rows = []
    for fam in dict.fromkeys(["lognorm", best]):
        for name, val in rep.results[fam].params.items():
            lo, hi = rep.bootstrap_ci(name, fam, n_boot=max(10, min(n_boot, 50)), seed=0)
            ci_rows.append([fam, name, f"{val:.4g}", f"[{lo:.4g}, {hi:.4g}]"])
            out[f"ci_{fam}_{name}"] = [lo, hi]
    text = (table(["test", "statistic", "p", "favours"], rows) + "\n"
            + f"Monte Carlo goodness of fit of the best family ({best}, KS, parametric "
              f"bootstrap, {n_mc} replicates): p = {p:.3g}.\n\n"
            + table(["family", "parameter", "estimate", "95 % bootstrap CI"], ci_rows))
    return text, out


def _train(rule: str, epochs: int, seed: int, every: int) -> tuple[list[Snapshot], Any, float, float]:
    """Train the Dale MLP 64-128-10 on digits; snapshots every ``every`` epochs, size traces every step."""
    import torch
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from torch import nn

    from neurosim.dale import DaleLinear, ei_signs
    from neurosim.rules import DaleSGD, LogGridMadam, Madam, param_groups
    from neurosim.snapshot import from_module
    from neurosim.traces import TraceRecorder, Traces

    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    X, y = load_digits(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(
        (X / 16.0).astype(np.float32), y, test_size=0.25, random_state=seed, stratify=y)
    X_tr, y_tr = torch.from_numpy(X_tr), torch.from_numpy(y_tr)
    X_te, y_te = torch.from_numpy(X_te), torch.from_numpy(y_te)
    model = nn.Sequential(DaleLinear(torch.ones(64), 128, generator=gen), nn.ReLU(),
                          DaleLinear(ei_signs(128, 0.2), 10, generator=gen))
    if rule == "loggrid":
        opt = LogGridMadam(param_groups(model), lr=0.01, levels=26, ratio=60.0,
                           rounding="stochastic", generator=gen)
        meta = {"rule": "LogGridMadam", "rounding": "stochastic"}
    elif rule == "madam":
        opt = Madam(param_groups(model), lr=0.01)
        meta = {"rule": "Madam"}
    else:
        opt = DaleSGD(param_groups(model), lr=0.05)
        meta = {"rule": "DaleSGD"}
    names = {"0": "input->hidden", "2": "hidden->output"}

    def snap(epoch: int) -> Snapshot:
        # from_module's arrays may share memory with the live tensors: copy them
        projs = {names.get(k, k): Projection(
            sign=v.sign.copy(), size=v.size.copy(), unit=v.unit,
            level=None if v.level is None else v.level.copy(), grid=v.grid)
            for k, v in from_module(model, opt).items()}
        return Snapshot(projs, {**meta, "epoch": epoch, "seed": seed})

    snaps = [snap(0)]
    rec = TraceRecorder(model, opt, n=512, seed=seed)
    rec.record(0)
    loss_fn = nn.CrossEntropyLoss()
    t0 = time.perf_counter()
    step = 0
    for ep in range(1, epochs + 1):
        for idx in torch.randperm(len(X_tr), generator=gen).split(32):
            opt.zero_grad()
            loss_fn(model(X_tr[idx]), y_tr[idx]).backward()
            opt.step()
            step += 1
            rec.record(step)
        if ep % every == 0 or ep == epochs:
            snaps.append(snap(ep))
    seconds = time.perf_counter() - t0
    with torch.no_grad():
        acc = (model(X_te).argmax(1) == y_te).float().mean().item()
    tr = rec.traces()
    traces = Traces(tr.time, tr.unit, {names.get(k, k): v for k, v in tr.projections.items()})
    return snaps, traces, acc, seconds


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the showcase; return a JSON-able dict of the headline numbers."""
    ap = study_parser(__doc__, "analysis", quick_help="small samples, 10 epochs, few bootstraps")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    out = report_dir(args, "analysis")
    n = 1000 if args.quick else 5000
    n_boot, n_mc = (19, 19) if args.quick else (99, 99)
    epochs, every = (10, 5) if args.quick else (40, 10)
    rng = np.random.default_rng(args.seed)
    t_start = time.perf_counter()
    result: dict[str, Any] = {"n_sample": n, "quick": args.quick}
    md = ["# neurosim.analysis showcase (issue 6)\n",
          f"Generated by `python experiments/analysis_showcase.py{' --quick' if args.quick else ''} "
          f"--out {out} --seed {args.seed}`. Histograms show density per unit ln size on a "
          "log size axis; reference shapes (Song et al. 2005, EPSP amplitudes; Dorkenwald et al. "
          "2022, spine-head volumes, unverified numbers) are drawn with their median moved to "
          "the data's, since only shapes can be compared.\n"]

    # (a) log-normal sample
    x = rng.lognormal(-1.0, 0.6, n)
    ra = analyse_run([_sample_snapshot(x, "lognormal")], out / "lognormal",
                     label=f"(a) log-normal sample, n = {n}, mu = -1, sigma = 0.6")
    text, comp = _comparisons(ra.final["sample"].fit, n_boot, n_mc)
    md += [ra.markdown.replace("## Synapse sizes: ", "## "), "#### Model comparison\n", text]
    result["lognormal"] = {**ra.summary["headline"]["sample"], **comp}

    # (b) two-log-normal mixture with Dorkenwald's components (ln units)
    ref = reference.load("dorkenwald2022")
    ln10 = math.log(10.0)
    w1 = ref["mix_weight_1"] / (ref["mix_weight_1"] + ref["mix_weight_2"])
    pick = rng.random(n) < w1
    v = np.where(pick, rng.normal(ref["mix_mean_1"] * ln10, ref["mix_sd_1"] * ln10, n),
                 rng.normal(ref["mix_mean_2"] * ln10, ref["mix_sd_2"] * ln10, n))
    rb = analyse_run([_sample_snapshot(np.exp(v), "mixture")], out / "mixture",
                     label=(f"(b) two-log-normal mixture sample, n = {n}, w1 = {w1:.2f}, "
                            f"mu = {ref['mix_mean_1'] * ln10:.3f} / {ref['mix_mean_2'] * ln10:.3f}, "
                            f"sigma = {ref['mix_sd_1'] * ln10:.3f} / {ref['mix_sd_2'] * ln10:.3f}"))
    text, comp = _comparisons(rb.final["sample"].fit, n_boot, n_mc)
    md += [rb.markdown.replace("## Synapse sizes: ", "## "), "#### Model comparison\n", text]
    result["mixture"] = {**rb.summary["headline"]["sample"], **comp,
                         "true": {"w1": w1, "mu1": ref["mix_mean_1"] * ln10,
                                  "sigma1": ref["mix_sd_1"] * ln10, "mu2": ref["mix_mean_2"] * ln10,
                                  "sigma2": ref["mix_sd_2"] * ln10}}

    # (c) trained networks
    runs: dict[str, list[Snapshot]] = {}
    traces: dict[str, Any] = {}
    train_info = []
    for rule, name in (("loggrid", "LogGridMadam 26 levels"), ("madam", "Madam"),
                       ("sgd", "DaleSGD (additive)")):
        snaps, traces[name], acc, secs = _train(rule, epochs, args.seed, every)
        runs[name] = snaps
        train_info.append([name, f"{acc * 100:.1f} %", f"{secs:.1f} s", len(snaps)])
        result[f"accuracy_{rule}"] = acc
    from neurosim import snapshot as snapmod

    for tag, s in (("initial", runs["LogGridMadam 26 levels"][0]),
                   ("final", runs["LogGridMadam 26 levels"][-1])):
        snapmod.save(out / "network" / f"snapshot_{tag}.npz", s.projections, s.meta)
    rc = analyse_run(runs["LogGridMadam 26 levels"], out / "network", n_boot_fit=50,
                     traces=traces["LogGridMadam 26 levels"],
                     label=(f"(c) Dale MLP 64-128-10 on digits, LogGridMadam (26 levels over 60x, "
                            f"stochastic rounding, lr 0.01), {epochs} epochs"))
    md += [rc.markdown.replace("## Synapse sizes: ", "## "),
           "Snapshots: [initial](network/snapshot_initial.npz), "
           "[final](network/snapshot_final.npz) (`neurosim fit network/snapshot_final.npz`).\n"]
    result["network"] = rc.summary["headline"]
    cmp = compare_runs(runs, out / "rules", traces=traces)
    md += ["## Rules side by side (same network, same data, same seed)\n",
           table(["rule", "test accuracy", "training time", "snapshots"], train_info),
           cmp.markdown.replace("## Runs compared: ", "### ")]
    result["rules"] = {k: {part: h.get("sigma_ln") for part, h in v.items()} for k, v in cmp.summary["runs"].items()}
    result["rules_slope"] = {k: {part: h.get("slope") for part, h in v.items()} for k, v in cmp.summary["runs"].items()}

    result["seconds"] = time.perf_counter() - t_start
    md.append(f"Total time of this script: {result['seconds']:.0f} s.\n")
    write_text(out / "README.md", "\n".join(md))
    write_json(out / "showcase.json", result)
    return result


if __name__ == "__main__":
    r = main()
    print(f"wrote README.md in {r['seconds']:.0f} s")
