"""Sweeps: validation, aggregation, resume after a kill, local pool and Dask with a killed worker."""

from __future__ import annotations

import json
import logging
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import mlp_toml

from neurosim.cli import main
from neurosim.runner.aggregate import paired_differences, size_summary, size_table, summarise
from neurosim.runner.config import ConfigError
from neurosim.runner.sweep import load_sweep, run_sweep, worker_threads

BASE = mlp_toml("base", epochs=3, snapshot_every=3)

SWEEP = """
name = "mini"
base = "base.toml"
seeds = [0, 1]

[[condition]]
label = "loggrid"

[[condition]]
label = "adam"
set = { "network.dale" = false, rule = { name = "adam", lr = 0.003 } }
"""


def _write(tmp_path: Path, sweep: str = SWEEP) -> Path:
    (tmp_path / "base.toml").write_text(BASE)
    path = tmp_path / "mini.toml"
    path.write_text(sweep)
    return path


def _finished(runs: Path) -> dict[str, str]:
    return {p.name: (p / "metrics.jsonl").read_text() for p in runs.iterdir()
            if p.name != "sweeps" and (p / "DONE").exists()}


def test_sweep_expands_and_validates(tmp_path: Path) -> None:
    sweep = load_sweep(_write(tmp_path))
    assert [(t.label, t.seed) for t in sweep.tasks] == [("loggrid", 0), ("loggrid", 1), ("adam", 0), ("adam", 1)]
    assert len({t.key for t in sweep.tasks}) == 4
    bad = SWEEP.replace('lr = 0.003', 'lr = -3')
    with pytest.raises(ConfigError, match=r"condition\[1\] \(adam\): rule.lr: must be > 0"):
        load_sweep(_write(tmp_path, bad))
    with pytest.raises(ConfigError, match="seeds: must not repeat"):
        load_sweep(_write(tmp_path, SWEEP.replace("[0, 1]", "[0, 0]")))
    with pytest.raises(ConfigError, match='sede: unknown sweep key; did you mean "seeds"'):
        load_sweep(_write(tmp_path, "sede = [1]\n" + SWEEP))
    vary = SWEEP + '\n[vary]\n"train.batch_size" = [16, 64]\n'
    assert len(load_sweep(_write(tmp_path, vary)).tasks) == 8


def test_sweep_cli_bad_file_writes_nothing(tmp_path: Path, capsys) -> None:
    path = _write(tmp_path, SWEEP.replace('label = "adam"', 'label = "adam"\nrule = 1'))
    assert main(["sweep", str(path), "--runs", str(tmp_path / "runs"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: condition[1].rule: unknown key") and err.count("\n") == 1
    assert not (tmp_path / "runs").exists()


def test_interrupted_sweep_resumes_without_duplicates(tmp_path: Path, caplog) -> None:
    path = _write(tmp_path)
    runs = tmp_path / "runs"
    env = {**os.environ, "NEUROSIM_TEST_KILL_AT": "1:5"}
    proc = subprocess.run([sys.executable, "-m", "neurosim.cli", "sweep", str(path), "--runs", str(runs),
                           "--workers", "1", "--quiet"], env=env, capture_output=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL  # killed inside the first run
    assert len(_finished(runs)) == 0
    out = run_sweep(load_sweep(path), runs, workers=1, progress=False)
    assert not out.failed
    dirs = [p for p in runs.iterdir() if p.name != "sweeps"]
    assert len(dirs) == 4 and len(_finished(runs)) == 4  # each run once, none lost
    # the resumed run equals a clean one
    clean = tmp_path / "clean"
    run_sweep(load_sweep(path), clean, workers=1, progress=False)
    assert _finished(runs) == _finished(clean)
    # running again does nothing
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="neurosim"):
        run_sweep(load_sweep(path), runs, workers=1, progress=False)
    msgs = [r.getMessage() for r in caplog.records]
    assert "4 already finished, 0 to run" in msgs[0]
    summary = json.loads((out.sweep_dir / "summary.json").read_text())
    assert set(summary["summary"]) == {"loggrid", "adam"}
    report = (out.sweep_dir / "report.md").read_text()
    assert "| loggrid | 2/2 |" in report and "Paired differences" in report
    assert "Synapse sizes per condition" not in report  # the runs asked for no fits (analysis.fit = false)


def test_local_process_pool(tmp_path: Path) -> None:
    path = _write(tmp_path)
    out = run_sweep(load_sweep(path), tmp_path / "runs", workers=2, progress=False)
    assert not out.failed and len(_finished(tmp_path / "runs")) == 4
    clean = tmp_path / "clean"
    run_sweep(load_sweep(path), clean, workers=1, progress=False)
    assert _finished(tmp_path / "runs") == _finished(clean)  # same results on the pool


def test_dask_local_cluster_survives_a_killed_worker(tmp_path: Path, monkeypatch) -> None:
    import dask.distributed  # noqa: F401  (the 'distributed' extra, installed by make install)
    path = _write(tmp_path)
    marker = tmp_path / "killed-once"
    monkeypatch.setenv("NEUROSIM_TEST_KILL_AT", "1:5")
    monkeypatch.setenv("NEUROSIM_TEST_KILL_ONCE", str(marker))
    out = run_sweep(load_sweep(path), tmp_path / "runs", workers=2, dask="local", progress=False)
    assert marker.exists()  # a worker really died mid-run
    assert not out.failed
    assert len(_finished(tmp_path / "runs")) == 4


def test_aggregation_statistics() -> None:
    runs = [{"label": lab, "seed": s, "done": True, "final": {"test_accuracy": acc}}
            for lab, s, acc in [("a", 0, 0.9), ("a", 1, 0.8), ("a", 2, 0.85), ("b", 0, 0.95), ("b", 1, 0.7),
                                ("b", 2, 0.75)]]
    summary = summarise(runs, ["a", "b"])
    m = summary["a"]["metrics"]["test_accuracy"]
    assert m["mean"] == pytest.approx(0.85) and m["min"] == 0.8 and m["max"] == 0.9
    lo, hi = m["interval"]  # Student's t over 3 seeds: mean +- 4.303 * 0.05 / sqrt(3)
    assert hi - m["mean"] == pytest.approx(4.302653 * 0.05 / math.sqrt(3), rel=1e-5)
    assert lo < 0.8 and hi > 0.9 and m["interval_kind"] == "95 % t-interval, 3 seeds"
    d = paired_differences(summary, "test_accuracy", "a")["b"]
    assert d["mean"] == pytest.approx(-0.05) and d["min"] == pytest.approx(-0.1) and d["max"] == pytest.approx(0.05)
    assert not d["all_below"] and not d["all_above"]
    one = summarise(runs[:1], ["a"])["a"]["metrics"]["test_accuracy"]
    assert all(math.isnan(x) for x in one["interval"])  # no interval from one value
    assert worker_threads(2, cores=2) == 1 and worker_threads(1, cores=8) == 8 and worker_threads(16, cores=2) == 1


def test_size_statistics_over_seeds_are_per_part() -> None:
    def head(sigma: float, slope: float, fam: str) -> dict:
        return {"sigma_ln": sigma, "slope": slope, "chosen_family": fam, "slope_interval": 4.0, "time_unit": "step"}

    runs = [{"label": "madam", "seed": s, "done": True, "final": {},
             "parts": {"l1 (E)": head(0.5 + 0.1 * s, 1.0, "lognorm"), "l1 (I)": head(1.0, 0.2, "loguniform")}}
            for s in range(3)]
    sizes = size_summary(runs, ["madam"])["madam"]
    assert set(sizes) == {"l1 (E)", "l1 (I)"}
    assert sizes["l1 (E)"]["stats"]["sigma_ln"]["mean"] == pytest.approx(0.6)
    assert sizes["l1 (I)"]["chosen"] == {"loguniform": 3} and sizes["l1 (E)"]["slope_intervals"] == [4.0]
    md = size_table({"madam": sizes})
    assert "| madam | l1 (E) | 3 | lognorm 3 |" in md


def test_a_worker_caps_the_configured_threads(tmp_path: Path) -> None:
    import torch

    from neurosim.runner.config import load
    from neurosim.runner.run import execute, set_threads

    before = torch.get_num_threads()
    try:
        assert set_threads(4, max_threads=1) == 1 and torch.get_num_threads() == 1
        (tmp_path / "base.toml").write_text(BASE.replace('name = "base"', 'name = "base"\nthreads = 2')
                                            .replace("epochs = 3", "epochs = 1"))
        out = execute(load(tmp_path / "base.toml"), tmp_path / "runs", progress=False,
                      max_threads=1)
        assert json.loads((out.path / "provenance.json").read_text())["threads"] == 1
    finally:
        torch.set_num_threads(before)


def test_sensitivity_figure_draws_the_chosen_labels_solid(tmp_path: Path, monkeypatch) -> None:
    import neurosim.analysis.plots as plots
    from neurosim.runner.tune import sensitivity_figure

    figs = []
    save = plots.save_figure
    monkeypatch.setattr(plots, "save_figure", lambda fig, path, **kw: figs.append(fig) or save(fig, path, **kw))
    scan = {label: {1e-3: {"val_loss": 1.0, "val_accuracy": 0.5}, 1e-2: {"val_loss": 0.5, "val_accuracy": 0.7}}
            for label in ("ANN + Adam", "SNN without sign constraints + Adam", "Dale SNN + Madam")}
    paths = sensitivity_figure(scan, tmp_path / "a", "t")
    assert all(p.exists() for p in paths)
    sensitivity_figure(scan, tmp_path / "b", "t", solid=lambda label: "without" in label)
    assert len(figs) == 2
    for fig, solid in zip(figs, (["ANN + Adam"], ["SNN without sign constraints + Adam"]), strict=True):
        styles = {ln.get_label(): ln.get_linestyle() for ln in fig.axes[1].get_lines() if ln.get_marker() == "o"}
        assert {k for k, v in styles.items() if v == "-"} == set(solid)


def test_best_lr_prefers_accuracy_then_loss_and_skips_diverged() -> None:
    from neurosim.runner.tune import best_lr

    scan = {1e-3: {"val_accuracy": 0.90, "val_loss": 0.30}, 1e-2: {"val_accuracy": 0.95, "val_loss": 0.40},
            1e-1: {"val_accuracy": 0.95, "val_loss": 0.20}, 1.0: {"val_accuracy": 0.99, "val_loss": float("nan")}}
    assert best_lr(scan) == 1e-1  # 1.0 diverged; the tie at 0.95 goes to the lower loss
    with pytest.raises(ValueError, match="every scanned lr diverged"):
        best_lr({1.0: {"val_accuracy": 0.5, "val_loss": float("inf")}})


def test_lr_scan_runs_each_lr_and_rejects_bad_grids(tmp_path: Path) -> None:
    from neurosim.runner.tune import lr_scan

    base = tmp_path / "base.toml"
    base.write_text(mlp_toml("t", epochs=1, fit=None, rule="sgd"))
    with pytest.raises(ValueError, match="lrs"):
        lr_scan("s", {"SGD": {"network.dale": False, "rule": {"name": "sgd"}}}, "base.toml", [0.1, -1.0],
                runs=tmp_path / "runs", base_dir=tmp_path)
    scan = lr_scan("s", {"SGD": {"network.dale": False, "rule": {"name": "sgd"}}}, "base.toml", [1e-4, 0.1],
                   runs=tmp_path / "runs", base_dir=tmp_path, workers=1)
    assert set(scan["SGD"]) == {1e-4, 0.1}
    # one epoch of SGD at 0.1 learns digits; at 1e-4 it barely moves
    assert scan["SGD"][0.1]["val_accuracy"] > scan["SGD"][1e-4]["val_accuracy"] + 0.2
