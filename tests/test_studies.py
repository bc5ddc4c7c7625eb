"""The studies in experiments/ at their --quick size (seconds to a minute each)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from neurosim.runner.study import load_study

ROOT = Path(__file__).resolve().parents[1]


def _study(name: str):
    return load_study(ROOT / "experiments" / f"{name}.py")


def _run_quick(name: str, tmp_path: Path) -> tuple[Any, dict[str, Any]]:
    """Run a study at its --quick size in-process; the module and what its main returned."""
    study = _study(name)
    out = study.main(["--quick", "--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "out"),
                      "--workers", "1"])
    return study, out


def test_compare_rules_quick(tmp_path: Path) -> None:
    study, out = _run_quick("compare_rules", tmp_path)
    assert not out["failed"]
    assert set(out["summary"]) == set(study.CONDITIONS)
    # untuned rules keep Madam's lr; tuned ones take one from the scanned grid
    assert out["chosen_lr"]["Dale + LogGridMadam 26 levels, stochastic"] == 0.01
    readme = (tmp_path / "out" / "README.md").read_text()
    assert "lr_sensitivity.png" in readme and "| ANN + Adam (tuned) |" in readme
    assert (tmp_path / "out" / "lr_sensitivity.png").is_file()
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    acc = summary["summary"]["ANN + Adam (tuned)"]["metrics"]["test_accuracy"]["mean"]
    assert 0.0 <= acc <= 1.0


def test_quickstart_sweep_file_is_valid() -> None:
    from neurosim.runner.sweep import load_sweep

    sweep = load_sweep(ROOT / "experiments" / "quickstart.toml")
    kinds = {t.config["network"]["kind"] for t in sweep.tasks}
    rules = {t.config["rule"]["name"] for t in sweep.tasks}
    assert kinds == {"mlp", "brian_song"}
    assert {"loggrid_madam", "dale_sgd", "adam", "additive", "madam_loggrid"} <= rules
    song = [t for t in sweep.tasks if t.config["network"]["kind"] == "brian_song"]
    assert all(t.config["network"]["mode"] == "standalone" and t.config["train"]["duration"] == 100.0
               for t in song)


@pytest.mark.parametrize("config", sorted((ROOT / "experiments" / "configs").glob("*.toml")),
                         ids=lambda p: p.stem)
def test_shipped_configs_are_valid(config: Path) -> None:
    from neurosim.runner.config import load

    assert load(config)["name"] and load(config, quick=True)["quick"]


@pytest.mark.brian2
def test_snn_digits_quick(tmp_path: Path) -> None:
    study, out = _run_quick("snn_digits", tmp_path)
    assert not out["failed"]
    assert set(out["summary"]) == set(study.CONDITIONS)
    # every trained network ran in Brian2 on the whole test split
    for label, runs in out["brian"].items():
        assert len(runs) == 1 and runs[0]["n_test"] > 200, label
        assert 0.0 <= runs[0]["agreement"] <= 1.0
    # the exported network is the same network: a broken export would not agree on 95 %
    assert min(r["agreement"] for rs in out["brian"].values() for r in rs) >= 0.95
    readme = (tmp_path / "out" / "README.md").read_text()
    assert "brian_agreement.png" in readme and (tmp_path / "out" / "brian_agreement.png").is_file()


@pytest.mark.brian2
def test_snn_tasks_quick(tmp_path: Path) -> None:
    study = _study("snn_tasks")
    out = study.main(["--quick", "--task", "pdm", "--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "out"),
                      "--workers", "1"])
    res = out["perceptual_decision_making"]
    assert not res["failed"] and set(res["summary"]) == set(study.CONDITIONS)
    assert res["chosen_lr"]["Dale SNN + LogGridMadam 26 levels, stochastic"] == 0.01
    assert res["chosen_lr"]["Dale SNN + DaleAdam (tuned)"] == study.LRS[1]  # quick: no scan, one lr
    for label, ms in res["measures"].items():
        assert len(ms) == 1, label
        stats = ms[0]["stats"]
        assert set(stats) == {"E_adaptive", "E", "I"} and all(s["rate_hz"] >= 0 for s in stats.values())
        assert set(ms[0]["initial_stats"]) == set(stats)
        assert all(0.0 <= s["silent"] <= 1.0 for s in [*stats.values(), *ms[0]["initial_stats"].values()])
        # the Brian2 copy is the same network: a broken export would not agree on 95 % of decisions
        assert ms[0]["runtime"]["decision_agreement"] >= 0.95, label
    readme = (tmp_path / "out" / "README.md").read_text()
    assert "## perceptual_decision_making" in readme and "Brian2 copies" in readme
    assert "E/I balance of the recurrent input" in readme and "silent before training (%)" in readme
    parts = res["balance"]["Dale SNN + Madam (lr 0.01)"][0]["final"]
    assert set(parts) == {f"recurrent ({a}->{b})" for a in "EI" for b in "EI"}
    assert all(p["summed_size"] > 0 for p in parts.values())
    assert (tmp_path / "out" / "perceptual_decision_making" / "psychometric.png").is_file()


def test_rnn_remedies_quick(tmp_path: Path) -> None:
    study, out = _run_quick("rnn_remedies", tmp_path)
    assert set(out["screen"]) == {"context_dependent_integration", "parametric_working_memory"}
    rows = list(study.remedies("context_dependent_integration"))
    assert list(out["screen"]["context_dependent_integration"]) == [rows[0], rows[1], rows[-1]]
    assert set(out["final"]) == set(study.BASES)
    assert list(out["final"]["context_dependent_integration"]) == list(study.FINAL_RULES)
    readme = (tmp_path / "out" / "README.md").read_text()
    assert "One remedy at a time" in readme and "every seed above?" in readme
    assert "| Dale + LogGridMadam 26 levels (lr 0.01) | " in readme


def test_level_count_quick(tmp_path: Path) -> None:
    study, out = _run_quick("level_count", tmp_path)
    assert not out["failed"] and set(out["conditions"]) == {"8 levels over 60x", "26 levels over 60x"}
    assert 0 in out["reference"] and all(len(c["difference_pp"]) == 1 for c in out["conditions"].values())
    assert (tmp_path / "out" / "accuracy_by_levels.png").is_file()


@pytest.mark.brian2
def test_song_plasticity_quick(tmp_path: Path) -> None:
    study, out = _run_quick("song_plasticity", tmp_path)
    fact = out["factorial"]
    assert {"additive", "additive, sign null", "additive, independent null", "madam_loggrid",
            f"madam_loggrid, {study.SECOND_START}"} <= set(fact)
    # the positive control already separates the correlated group after 2 s; its nulls do not
    assert fact["additive"]["auc"][0] > 0.55 > max(fact["additive, sign null"]["auc"][0],
                                                   fact["additive, independent null"]["auc"][0])
    assert set(out["stationarity"]) == {"additive", "madam_loggrid"}
    assert out["chosen"] in study.VARIANTS and out["levels"]
    for name in ("README.md", "results.json", "selection.png", "final_sizes.png", "levels.png"):
        assert (tmp_path / "out" / name).is_file(), name


@pytest.mark.slow
@pytest.mark.brian2
def test_ei_plasticity_quick(tmp_path: Path) -> None:
    """The E/I study at its test size (six 2 s runs of the 1000-neuron network in runtime mode)."""
    study, out = _run_quick("ei_plasticity", tmp_path)
    assert not out["failed"]
    assert {"additive, start constant", "madam_loggrid, sign null"} <= set(out)
    for label in ("additive, start constant", "madam_loggrid, start loguniform"):
        parts = out[label]["parts"]
        assert set(parts) == {"EE", "IE"} and parts["EE"][0]["n_synapses"] > parts["IE"][0]["n_synapses"]
    assert (tmp_path / "out" / "README.md").is_file()


@pytest.mark.brian2
def test_pair_precision_quick(tmp_path: Path) -> None:
    study, out = _run_quick("pair_precision", tmp_path)
    conds = out["conditions"]
    assert not out["failed"] and len(conds) == 8  # 2 rules x 2 release probabilities x (rule, sign null)
    # identical start: with every spike released, the deterministic rule keeps every pair equal;
    # failed releases pair differently at the two synapses, and stochastic rounding adds its own noise
    assert conds["additive, p = 1"][0]["frac_pairs_identical"] == 1.0
    assert conds["additive, p = 0.5"][0]["frac_pairs_identical"] < 1.0
    assert conds["madam_loggrid, p = 1"][0]["frac_pairs_identical"] < 1.0
    lo, hi = out["bartol"]["interval"]
    assert lo < study.BARTOL_CV < hi
    assert (tmp_path / "out" / "pairs.png").is_file()


@pytest.mark.parametrize("sweep", sorted((ROOT / "experiments").glob("*.toml")), ids=lambda p: p.stem)
def test_shipped_sweeps_are_valid(sweep: Path) -> None:
    from neurosim.runner.sweep import load_sweep

    full, quick = load_sweep(sweep), load_sweep(sweep, quick=True)
    assert full.tasks and len(full.tasks) == len(quick.tasks)
    assert all(t.config["quick"] for t in quick.tasks)


def test_rnn_sweep_report_has_psychometric_curves_and_diagnostics(tmp_path: Path) -> None:
    from neurosim.runner.sweep import load_sweep, run_sweep

    sweep = load_sweep(ROOT / "experiments" / "pdm_long_budget.toml", quick=True)
    sweep.tasks = [t for t in sweep.tasks if t.seed == 0][:2]  # two conditions, one seed: seconds
    res = run_sweep(sweep, tmp_path / "runs", workers=1, progress=False)
    study = _study("compare_rules")
    study.main(["--describe", str(res.sweep_dir), "--out", str(tmp_path / "out")])
    readme = (tmp_path / "out" / "README.md").read_text()
    assert "psychometric.png" in readme and (tmp_path / "out" / "psychometric.png").is_file()
    diag = json.loads((tmp_path / "out" / "summary.json").read_text())["diagnostics"]
    assert len(diag) == 2
    for d in diag.values():
        assert d["spectral_radius"] > 0 and 0 <= d["dead_fraction"] <= 1 and 0 <= d["moved"] <= 1


def test_snn_gain_quick(tmp_path: Path) -> None:
    study, out = _run_quick("snn_gain", tmp_path)
    assert set(out["results"]) == {*study.SWINGS, *study.STEADY}
    for label, recs in out["records"].items():
        rec = recs[0]
        assert len(rec["share"]) == len(rec["loss"]) == 12, label
        assert rec["rate_step"] == [0, 4, 8, 12] and all(r >= 0 for r in rec["E_hz"] + rec["I_hz"])
        assert all(0.0 <= s <= 1.0 for s in rec["share"]) and np.isnan(rec["cosine"][0])
        assert all(-1.0 - 1e-9 <= c <= 1.0 + 1e-9 for c in rec["cosine"][1:])
    assert out["verdict"] in ("holds", "does not hold")
    readme = (tmp_path / "out" / "README.md").read_text()
    assert "median population share" in readme and (tmp_path / "out" / "gain.png").is_file()
    # a second invocation reuses the retraced seeds, and reports the same
    again = study.main(["--quick", "--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "out"),
                        "--workers", "1"])
    assert again["records"] == out["records"]


def test_snn_gain_retraces_the_run(tmp_path: Path) -> None:
    """The diagnosis's steps are the run's own: the same sizes as the runner's traces, exactly."""
    from neurosim.runner.run import execute

    gain = _study("snn_gain")
    snn = gain._study()
    sweep = snn.task_sweep(gain.TASK, {label: 0.01 for label in snn.CONDITIONS}, [0], quick=True)
    for label in ("Dale SNN + Madam (lr 0.01)", "Control: Dale SNN + LogGridMadam 26, shuffled gradient"):
        config = next(t.config for t in sweep.tasks if t.label == label)
        config = {**config, "train": {**config["train"], "epochs": 1, "batches_per_epoch": 3, "eval_trials": 16},
                  "analysis": {**config["analysis"], "figures": False}}
        execute(config, tmp_path / "runs", progress=False)
        rec = gain.retrace(config, 3, 3, str(tmp_path / "runs"))
        assert rec["trace_check"] == 0.0, label
        assert gain.retrace(config, 3, 3, str(tmp_path / "elsewhere"))["trace_check"] is None


def test_load_study_names_a_missing_script(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no script at"):
        load_study(tmp_path / "nothing.py")
    assert load_study(ROOT / "experiments" / "snn_tasks.py").TASKS["pdm"] == "perceptual_decision_making"
