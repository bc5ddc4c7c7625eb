"""Run directories: contents, skip when finished, exact resume after SIGKILL, Ctrl-C, atomic writes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import mlp_toml

from neurosim import snapshot as snap
from neurosim.cli import main
from neurosim.runner.config import load
from neurosim.runner.run import execute

CONFIG = mlp_toml("tiny", seed=3, epochs=4, snapshot_every=2, fit=None) + "[analysis]\nfit = {fit}\n"


def _config(tmp_path: Path, fit: bool = False, **replace: str) -> Path:
    text = CONFIG.format(fit="true" if fit else "false")
    for a, b in replace.items():
        text = text.replace(a, b)
    path = tmp_path / "tiny.toml"
    path.write_text(text)
    return path


def _same_run(a: Path, b: Path) -> None:
    assert (a / "metrics.jsonl").read_text() == (b / "metrics.jsonl").read_text()
    from neurosim import traces

    ta, tb = traces.load(a / "traces.npz"), traces.load(b / "traces.npz")  # every step, across the kill
    np.testing.assert_array_equal(ta.time, tb.time)
    for name, p in ta.projections.items():
        np.testing.assert_array_equal(p.size, tb.projections[name].size)
    sa, sb = sorted((a / "snapshots").glob("*.npz")), sorted((b / "snapshots").glob("*.npz"))
    assert [p.name for p in sa] == [p.name for p in sb] and sa
    for pa, pb in zip(sa, sb, strict=True):
        x, y = snap.load(pa), snap.load(pb)
        assert x.meta == y.meta
        for name, proj in x.projections.items():
            np.testing.assert_array_equal(proj.size, y.projections[name].size)
            np.testing.assert_array_equal(proj.sign, y.projections[name].sign)
            if proj.level is not None:
                np.testing.assert_array_equal(proj.level, y.projections[name].level)


def test_run_writes_a_complete_directory_and_skips_when_done(tmp_path: Path, capsys) -> None:
    cfg = _config(tmp_path, fit=True)
    runs = tmp_path / "runs"
    assert main(["run", str(cfg), "--runs", str(runs), "--quiet"]) == 0
    (rd,) = runs.iterdir()
    for name in ("config.toml", "config.json", "provenance.json", "metrics.jsonl", "report.md", "run.log",
                 "DONE", "checkpoint.pt", "result.json"):
        assert (rd / name).is_file(), name
    assert sorted(p.name for p in (rd / "snapshots").glob("*.npz")) == [
        "epoch-00000.npz", "epoch-00002.npz", "epoch-00004.npz"]
    prov = json.loads((rd / "provenance.json").read_text())
    assert prov["threads"] == 1 and prov["torch"] and prov["numpy"]
    from neurosim.rules import _fused

    # the path the optimizer's steps took, not only whether the kernels could be built
    assert prov["optimizer_path"] == ("fused" if _fused.available() else "eager")
    rows = [json.loads(line) for line in (rd / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [0, 1, 2, 3, 4]
    assert rows[-1]["val_accuracy"] > rows[0]["val_accuracy"]
    report = (rd / "report.md").read_text()
    assert "## Synapse sizes" in report and "learning_curve.png" in report
    # the final snapshot is on the 26-level grid
    final = snap.load(rd / "snapshots" / "epoch-00004.npz")
    proj = next(p for p in final.projections.values() if p.grid is not None)
    assert proj.level.max() <= 25 and np.allclose(proj.size, proj.grid.decode(proj.level))
    capsys.readouterr()
    assert main(["run", str(cfg), "--runs", str(runs), "--quiet"]) == 0
    assert "already finished" in capsys.readouterr().out
    # report regenerates from disk
    (rd / "report.md").unlink()
    assert main(["report", str(rd)]) == 0
    assert (rd / "report.md").read_text().startswith("# Run ")


def _cli(args: list[str], env: dict[str, str] | None = None, **kw) -> subprocess.Popen:
    full_env = {**os.environ, **(env or {})}
    return subprocess.Popen([sys.executable, "-m", "neurosim.cli", *args], env=full_env, **kw)


def test_resume_after_sigkill_gives_identical_results(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    proc = _cli(["run", str(cfg), "--runs", str(killed), "--quiet"], env={"NEUROSIM_TEST_KILL_AT": "2:7"})
    assert proc.wait(timeout=120) == -signal.SIGKILL
    (rd,) = killed.iterdir()
    assert not (rd / "DONE").exists() and (rd / "checkpoint.pt").exists()
    assert "epoch-00004.npz" not in [p.name for p in (rd / "snapshots").iterdir()]
    execute(load(cfg), killed, progress=False)
    assert "resumed from checkpoint at epoch 2" in (rd / "run.log").read_text()
    execute(load(cfg), clean, progress=False)
    _same_run(rd, clean / rd.name)


def test_ctrl_c_saves_a_checkpoint_and_exits_130(tmp_path: Path) -> None:
    cfg = _config(tmp_path, **{"epochs = 4": "epochs = 400", "hidden = [16]": "hidden = [256]"})
    runs = tmp_path / "runs"
    proc = _cli(["run", str(cfg), "--runs", str(runs), "--quiet"], stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 90
    while time.time() < deadline and not list(runs.glob("*/checkpoint.pt")):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "checkpoint saved" in err
    (rd,) = runs.iterdir()
    assert not (rd / "DONE").exists()
    assert "interrupted at epoch" in (rd / "run.log").read_text()
    import torch

    ckpt = torch.load(rd / "checkpoint.pt", weights_only=False)
    assert ckpt["epoch"] >= 1


def test_atomic_write_leaves_old_file_on_failure(tmp_path: Path, monkeypatch) -> None:
    from neurosim.files import write_json

    target = tmp_path / "metrics.json"
    write_json(target, {"a": 1})

    class Boom(Exception):
        pass

    def boom(obj, **kw):
        raise Boom

    monkeypatch.setattr(json, "dumps", boom)
    with pytest.raises(Boom):
        write_json(target, {"a": 2})
    monkeypatch.undo()
    assert json.loads(target.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]  # no temporary left behind
    proj = {"x": snap.Projection(sign=np.ones(3, np.int8), size=np.ones(3, np.float32))}
    path = tmp_path / "s.npz"
    snap.save(path, proj)
    monkeypatch.setattr(np, "savez_compressed", lambda *a, **k: (_ for _ in ()).throw(Boom()))
    with pytest.raises(Boom):
        snap.save(path, {"x": snap.Projection(sign=np.ones(3, np.int8), size=2 * np.ones(3, np.float32))})
    monkeypatch.undo()
    assert snap.load(path).projections["x"].size.tolist() == [1, 1, 1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json", "s.npz"]


@pytest.mark.parametrize("rule", ["adam", "sgd", "madam", "dale_adam", "dale_sgd", "quantized_sgd"])
def test_every_torch_rule_runs(rule: str, tmp_path: Path) -> None:
    dale = "false" if rule in ("adam", "sgd") else "true"
    cfg = _config(tmp_path, **{'"loggrid_madam"': f'"{rule}"', "hidden = [16]": f"hidden = [16]\ndale = {dale}",
                               "epochs = 4": "epochs = 2"})
    out = execute(load(cfg), tmp_path / "runs", progress=False)
    assert out.ran and out.final["val_accuracy"] > 0.15


def test_rnn_run_on_a_cognitive_task(tmp_path: Path) -> None:
    text = """
name = "pdm"
[network]
kind = "rnn"
n_rec = 32
[task]
name = "perceptual_decision_making"
[rule]
name = "loggrid_madam"
shuffle_gradient = true
[schedule]
name = "StepLR"
params = {step_size = 1, gamma = 0.5}
[train]
epochs = 2
batches_per_epoch = 3
batch_size = 16
eval_trials = 64
[analysis]
fit = false
"""
    cfg = tmp_path / "pdm.toml"
    cfg.write_text(text)
    out = execute(load(cfg), tmp_path / "runs", progress=False)
    rows = [json.loads(line) for line in (out.path / "metrics.jsonl").read_text().splitlines()]
    assert [r["lr"] for r in rows[1:]] == [0.01, 0.005]  # the scheduler stepped once per epoch
    assert 0.0 <= out.final["test_accuracy"] <= 1.0 and "test_accuracy_top2_coherence" in out.final
    # the trained network comes back from its directory: same test metrics, and its activity can be inspected
    from neurosim.runner.torch_run import evaluate, load_run

    setup = load_run(out.path)
    assert not setup.model.training
    assert evaluate(setup)["test_accuracy"] == out.final["test_accuracy"]
    u, *_ = setup.task.batch(8, np.random.default_rng(0))
    act = setup.model.activity(torch.from_numpy(u))
    assert 0.0 <= act["dead_fraction"] <= 1.0 and act["spectral_radius"] > 0


def test_load_run_without_a_checkpoint_names_the_directory(tmp_path: Path) -> None:
    from neurosim.runner.torch_run import load_run

    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "config.json").write_text(json.dumps(load(_config(tmp_path))))
    with pytest.raises(FileNotFoundError, match="empty: no checkpoint"):
        load_run(tmp_path / "empty")


def test_a_diverging_run_stops_and_says_so(tmp_path: Path) -> None:
    cfg = _config(tmp_path, **{'name = "loggrid_madam"': 'name = "sgd"\nlr = 1e12',
                               "hidden = [16]": "hidden = [16]\ndale = false"})
    out = execute(load(cfg), tmp_path / "runs", progress=False)
    assert out.final["diverged"] == 1 and out.final["epochs"] < 4
    assert "diverged at epoch" in (out.path / "run.log").read_text()
    assert (out.path / "DONE").exists() and (out.path / "report.md").exists()


@pytest.mark.cxx
def test_a_standalone_brian_run_leaves_no_build_behind(tmp_path: Path) -> None:
    """The compiled network and its pregenerated inputs (0.7 GB for a 1000 s Song run) are
    removed once the run has ended; what it reports lives outside the build folder."""
    cfg = Path(__file__).resolve().parents[1] / "experiments" / "configs" / "song.toml"
    runs = tmp_path / "runs"
    assert main(["run", str(cfg), "--runs", str(runs), "--quiet", "--set", "train.duration=2",
                 "--set", "train.snapshot_interval=1", "--set", "network.n_inputs=100",
                 "--set", "analysis.fit=false"]) == 0
    (rd,) = runs.iterdir()
    assert (rd / "DONE").exists() and (rd / "figures" / "raster.png").exists()
    assert not (rd / "build").exists()
    assert (rd / "figures" / "raster.svg").stat().st_size < 2e6  # the spikes are embedded as a bitmap
