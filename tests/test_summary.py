"""Tests of the per-run analysis entry points (``neurosim.analysis.summary``)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from neurosim.analysis import biology, precision, selection
from neurosim.analysis.summary import BOOT_CAP, analyse_run, compare_runs
from neurosim.lns import LogGrid
from neurosim.snapshot import Projection, Snapshot

FIGS = ("sizes", "qq", "occupancy", "intervals")
FAST = ["lognorm", "lognorm_mix2", "loguniform"]  # fewer binned fits keep the tests fast


def _cont(rng: np.random.Generator, n: int, sigma: float = 0.6, step: int = 0,
          signed: bool = False, zeros: float = 0.0) -> Snapshot:
    size = rng.lognormal(-2.0, sigma, n)
    size[rng.random(n) < zeros] = 0.0
    sign = np.where(rng.random(n) < 0.8, 1, -1) if signed else np.ones(n)
    return Snapshot({"w": Projection(sign=sign, size=size)}, {"step": step})


def _gridded_pair(rng: np.random.Generator, n: int) -> list[Snapshot]:
    """Two projections with their own w_max (as LogGridMadam keeps), one level step apart."""
    g1, g2 = LogGrid(26, 60.0, 0.3), LogGrid(26, 60.0, 0.1)
    l1, l2 = rng.integers(5, 20, n), rng.integers(3, 25, n)
    snaps = []
    for step in (0, 1):
        snaps.append(Snapshot({
            "hidden": Projection(sign=np.ones(n), size=g1.decode(l1), level=l1, grid=g1),
            "out": Projection(sign=-np.ones(n), size=g2.decode(l2), level=l2, grid=g2),
        }, {"step": step, "rounding": "stochastic"}))
        l1 = np.clip(l1 + rng.integers(-1, 2, n), 0, 25)
        l2 = np.clip(l2 + rng.integers(-1, 2, n), 0, 25)
    return snaps


def _strict_json(obj: object) -> None:
    json.dumps(obj, allow_nan=False)  # raises on NaN / inf / non-JSON types


def test_single_continuous_snapshot_without_figures(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    res = analyse_run([_cont(rng, 800)], tmp_path / "a", figures=False, label="one")
    s = res.summary
    _strict_json(s)
    part = s["parts"]["w"]
    assert part["initial"] is None and s["n_snapshots"] == 1 and not s["pooled"]
    f = part["final"]
    assert f["fit_method"] == "continuous"
    assert f["best_family_aic"] in f["families"] and f["chosen_family"] in f["families"]
    lo, hi = f["sigma_ln_ci"]
    assert lo < f["sigma_ln"] < hi and lo < 0.6 < hi
    assert "skipped" in part["dynamics"] and s["headline"]["w"]["slope"] is None
    assert f["ks_to_reference"].keys() == {"song2005", "dorkenwald2022"}
    assert res.figures == []
    assert "| family | parameters |" in res.markdown and "single snapshot" in res.markdown
    assert json.loads((tmp_path / "a" / "summary.json").read_text())["label"] == "one"
    assert (tmp_path / "a" / "analysis.md").is_file()


def test_two_projections_of_different_shapes_are_analysed_apart(tmp_path: Path) -> None:
    """A log-normal projection beside a log-uniform one: each part gets its own family and sigma."""
    rng = np.random.default_rng(10)
    n = 3000
    a0, b0 = rng.lognormal(-2.0, 0.5, n), np.exp(rng.uniform(-3.0, 0.0, n))
    a1, b1 = a0 * np.exp(rng.normal(0, 0.05, n)), b0 + rng.normal(0, 0.004, n)
    snaps = [Snapshot({"EE": Projection(sign=np.ones(n), size=a), "IE": Projection(sign=-np.ones(n), size=b)},
                      {"time": float(t)}) for t, (a, b) in enumerate([(a0, b0), (a1, b1)])]
    res = analyse_run(snaps, tmp_path / "ei", families=FAST, figures=False, n_boot=50)
    parts = res.summary["parts"]
    assert set(parts) == {"EE", "IE"}
    assert parts["EE"]["final"]["chosen_family"] == "lognorm"
    assert parts["IE"]["final"]["chosen_family"] == "loguniform"
    assert parts["EE"]["final"]["sigma_ln"] == pytest.approx(0.5, abs=0.05)
    assert parts["IE"]["final"]["sigma_ln"] > 0.7
    # multiplicative noise on EE, additive on IE: the dynamics tell them apart
    h = res.summary["headline"]
    assert h["EE"]["slope"] == pytest.approx(1.0, abs=0.1)
    assert h["IE"]["slope"] < 0.3
    pooled = analyse_run(snaps, tmp_path / "pooled", families=FAST, figures=False, n_boot=50, pool=True)
    (label,) = pooled.summary["parts"]
    assert label.startswith("pooled: ") and "EE" in label and "IE" in label and pooled.summary["pooled"]


def test_gridded_run_figures_links_and_precision(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    snaps = _gridded_pair(rng, 2000)
    out = tmp_path / "run" / "analysis"
    res = analyse_run(snaps, out, label="loggrid", families=FAST)
    _strict_json(res.summary)
    names = {p.name for p in res.figures}
    assert names == {f"{f}.{e}" for f in FIGS for e in ("png", "svg")}
    assert all(p.is_file() and p.stat().st_size > 0 for p in res.figures)
    # links are relative to out_dir's parent, and resolve there
    links = re.findall(r"\]\(([^)]+)\)", res.markdown)
    assert links and all(link.startswith("analysis/") for link in links)
    assert all((out.parent / link).is_file() for link in links)
    local = re.findall(r"\]\(([^)]+)\)", (out / "analysis.md").read_text())
    assert local and all((out / link).is_file() for link in local)
    parts = res.summary["parts"]
    assert set(parts) == {"hidden", "out"}
    for name in ("hidden", "out"):
        f = parts[name]["final"]
        assert f["fit_method"] == "binned" and set(f["families"]) == set(FAST)
        occ = precision.level_occupancy(snaps[-1].projections[name].level, 26)
        assert f["entropy_bits"] == pytest.approx(occ.entropy_bits)
        assert f["levels_used"] == occ.levels_in_use and f["capacity_bits"] == pytest.approx(math.log2(26))
        assert parts[name]["initial"]["entropy_bits"] is not None
        # one-level steps on a log grid: change proportional to size, slope ~ 1
        d = parts[name]["dynamics"]["headline"]
        assert d["ci"][0] - 0.1 < 1.0 < d["ci"][1] + 0.1
    assert parts["hidden"]["final"]["sign_positive"] == 2000 and parts["out"]["final"]["sign_negative"] == 2000
    assert "Samavat" in res.markdown and "Dorkenwald et al. 2022" in res.markdown
    assert selection.RULE in res.markdown


def test_signed_ann_weights_zeros_and_all_zero_projection(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    w = rng.normal(0.0, 0.1, (40, 50))
    w[:, :5] = 0.0  # silenced inputs
    proj = {"l1": Projection(sign=np.sign(w), size=np.abs(w)),
            "dead": Projection(sign=np.ones(30), size=np.zeros(30))}
    res = analyse_run([proj, proj], tmp_path / "ann", figures=False)
    parts = res.summary["parts"]
    assert set(parts) == {"l1", "dead"}  # signed weights: one part, no E/I split
    f = parts["l1"]["final"]
    assert f["n_zero"] == 200 and f["silent_fraction"] == pytest.approx(200 / 2000)
    assert f["sign_negative"] > 0 and f["sign_positive"] > 0
    assert "silent fraction" in res.markdown
    # identical snapshots: no change to scale, reported as skipped
    assert parts["l1"]["dynamics"]["skipped"]
    assert "fit" in parts["dead"]["final"]["skipped"]
    dead = analyse_run([{"dead": proj["dead"]}], tmp_path / "dead")
    _strict_json(dead.summary)
    assert dead.figures == [] and dead.summary["figures_skipped"]
    assert "(no fit" in dead.markdown


def test_a_dale_layer_splits_into_its_excitatory_and_inhibitory_inputs(tmp_path: Path) -> None:
    import torch

    from neurosim.dale import DaleLinear, ei_signs
    from neurosim.rules import LogGridMadam, param_groups
    from neurosim.snapshot import from_module

    gen = torch.Generator().manual_seed(0)
    model = torch.nn.Sequential(DaleLinear(ei_signs(10, 0.2), 16, generator=gen), torch.nn.ReLU(),
                                DaleLinear(ei_signs(16, 0.25), 3, generator=gen))
    opt = LogGridMadam(param_groups(model), lr=0.01, levels=26, generator=gen)
    x, y = torch.rand(64, 10, generator=gen), torch.randint(0, 3, (64,), generator=gen)
    snaps = [from_module(model, opt)]
    for _ in range(20):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    snaps.append(from_module(model, opt))
    res = analyse_run(snaps, tmp_path / "dale", figures=False, label="dale", families=FAST, n_boot=20)
    parts = res.summary["parts"]
    assert set(parts) == {"0 (E)", "0 (I)", "2 (E)", "2 (I)"}
    n = {k: p["final"]["n_synapses"] for k, p in parts.items()}
    assert n == {"0 (E)": 8 * 16, "0 (I)": 2 * 16, "2 (E)": 12 * 3, "2 (I)": 4 * 3}
    assert parts["0 (E)"]["final"]["sign_negative"] == 0 and parts["0 (I)"]["final"]["sign_positive"] == 0
    for p in parts.values():  # a part too small to fit says so
        assert p["final"].get("fit_method") == "binned" or "fit" in p["final"]["skipped"]
        assert 0 < p["final"]["entropy_bits"] <= math.log2(26) + 1e-9
    assert parts["0 (E)"]["final"]["fit_method"] == "binned"


def test_compare_runs_panel_and_table(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    runs = {
        "madam": [_cont(rng, 1500, 0.6), _cont(rng, 1500, 0.9, step=1)],
        "additive": [_cont(rng, 1500, 0.6), _cont(rng, 1500, 0.4, step=1, zeros=0.2)],
        "loggrid": _gridded_pair(rng, 1000),
    }
    res = compare_runs(runs, tmp_path / "sweep" / "cmp", families=FAST, n_boot=50)
    _strict_json(res.summary)
    names = {p.name for p in res.figures}
    assert names == {f"runs_{k}.{e}" for k in ("panel", "shapes") for e in ("png", "svg")}
    for k in runs:
        assert f"| {k} |" in res.markdown
    assert "### loggrid: hidden: final-snapshot fits" in res.markdown
    per = res.summary["runs"]
    assert per["additive"]["w"]["silent_fraction"] == pytest.approx(0.2, abs=0.04)
    assert per["madam"]["w"]["sigma_ln"] > per["additive"]["w"]["sigma_ln"]
    assert per["loggrid"]["hidden"]["levels_used"] > 0 and per["loggrid"]["out"]["levels_used"] > 0
    links = re.findall(r"\]\(([^)]+)\)", res.markdown)
    assert links and all((tmp_path / "sweep" / link).is_file() for link in links)


def test_bad_input(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    snap = _cont(rng, 200)
    with pytest.raises(ValueError, match="snapshots: empty"):
        analyse_run([], tmp_path)
    with pytest.raises(ValueError, match="sequence of snapshots"):
        analyse_run(snap, tmp_path)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="projections: 'nope'"):
        analyse_run([snap], tmp_path, projections=["nope"], figures=False)
    with pytest.raises(ValueError, match="references: unknown"):
        analyse_run([snap], tmp_path, references=["smith1999"], figures=False)
    with pytest.raises(ValueError, match="runs: empty"):
        compare_runs({}, tmp_path)


def test_boot_cap_interval_matches_full_bootstrap() -> None:
    rng = np.random.default_rng(5)
    s = rng.lognormal(0.0, 0.8, 4 * BOOT_CAP)
    full = biology.compare_with_references(s, ["song2005"], n_boot=100, seed=1)
    capped = biology.compare_with_references(s, ["song2005"], n_boot=100, seed=1,
                                             boot_cap=BOOT_CAP)
    assert capped.sigma_ln == full.sigma_ln
    w_full = full.sigma_ci[1] - full.sigma_ci[0]
    w_cap = capped.sigma_ci[1] - capped.sigma_ci[0]
    assert w_cap == pytest.approx(w_full, rel=0.35)
    assert capped.sigma_ci[0] < capped.sigma_ln < capped.sigma_ci[1]
    with pytest.raises(ValueError, match="boot_cap"):
        biology.compare_with_references(s, ["song2005"], boot_cap=5)


def test_100k_synapses_multiplicative_noise(tmp_path: Path) -> None:
    rng = np.random.default_rng(6)
    a = _cont(rng, 100_000)
    size1 = a.projections["w"].size * np.exp(rng.normal(0.0, 0.05, 100_000))
    b = Snapshot({"w": Projection(sign=np.ones(100_000), size=size1)}, {"step": 1})
    res = analyse_run([a, b], tmp_path / "big", figures=False, n_boot=40)
    d = res.summary["parts"]["w"]["dynamics"]["headline"]
    assert d["ci"][0] - 0.05 < 1.0 < d["ci"][1] + 0.05


def test_pair_cv_from_sparse_projection_pairs(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    n_pairs = 400
    base = rng.lognormal(0.0, 0.8, n_pairs)
    a = base * np.exp(rng.normal(0.0, 0.05, n_pairs))
    b = base * np.exp(rng.normal(0.0, 0.05, n_pairs))
    pre = np.repeat(np.arange(n_pairs), 2)
    post = np.repeat(np.arange(n_pairs) % 37, 2)
    size = np.column_stack([a, b]).ravel()
    snap = Snapshot({"s": Projection(sign=np.ones(size.size), size=size, pre=pre, post=post)})
    res = analyse_run([snap], tmp_path / "pairs", figures=False)
    f = res.summary["parts"]["s"]["final"]
    expect = float(np.median(precision.pair_cv(a.astype(np.float32), b.astype(np.float32))))
    assert f["median_pair_cv"] == pytest.approx(expect, rel=1e-4)
    assert f["n_distinguishable"] > 1 and "median pair CV" in res.markdown
