"""The studies in experiments/ at their --quick size (seconds to a minute each)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _study(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "experiments" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_compare_rules_quick(tmp_path: Path) -> None:
    study = _study("compare_rules")
    out = study.main(["--quick", "--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "out"),
                      "--workers", "1"])
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
