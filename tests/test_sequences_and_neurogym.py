"""Sequence .npz data and neurogym tasks through the runner; the snnTorch example."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from neurosim.runner.config import config_hash, load
from neurosim.tasks import PerceptualDecisionMaking, load_npz_sequences

RNN = """
name = "{name}"
seed = 0
[network]
kind = "rnn"
n_rec = 32
dt = 0.02
[task]
{task}
[rule]
name = "loggrid_madam"
[train]
epochs = 2
batches_per_epoch = 5
batch_size = 16
eval_trials = 64
[analysis]
fit = false
"""


def _pdm_npz(path: Path, trials: int = 120, seed: int = 0, **extra: np.ndarray) -> Path:
    task = PerceptualDecisionMaking(stimulus=300.0, decision=100.0)
    X, y, mask, info = task.batch(trials, np.random.default_rng(seed), return_info=True)
    np.savez(path, X=X, y=y, mask=mask, signed_coherence=info["signed_coherence"],
             coherence=info["coherence"], choice=info["choice"], **extra)
    return path


def _cli(args: list[str], pre: str = "") -> subprocess.CompletedProcess:
    code = f"{pre}import sys; from neurosim.cli import main; sys.exit(main({args!r}))"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


# ----------------------------------------------------------------------------- sequence .npz
def test_sequence_npz_splits_trials_by_seed_and_serves_whole_parts(tmp_path: Path) -> None:
    data = load_npz_sequences(_pdm_npz(tmp_path / "s.npz"), seed=1)
    assert data.sizes == {"val": 18, "test": 18, "train": 84} and (data.n_in, data.n_out) == (3, 3)
    X, y, mask, info = data.eval_batch("test", 0, np.random.default_rng(0))
    assert X.shape == (data.T, 18, 3) and y.shape == mask.shape == (data.T, 18)
    assert set(info) == {"signed_coherence", "coherence", "choice"} and info["choice"].shape == (18,)
    again = load_npz_sequences(tmp_path / "s.npz", seed=1).eval_batch("test", 0, np.random.default_rng(5))
    other = load_npz_sequences(tmp_path / "s.npz", seed=2).eval_batch("test", 0, np.random.default_rng(0))
    assert np.array_equal(again[0], X) and not np.array_equal(other[0], X)
    Xb, yb, mb = data.batch(16, np.random.default_rng(3))
    assert Xb.shape == (data.T, 16, 3) and mb.dtype == np.float32


@pytest.mark.parametrize(("arrays", "message"), [
    ({"X": np.zeros((10, 3)), "y": np.zeros(10, int)}, "sequence array 'X' must be 3-D"),
    ({"X": np.zeros((5, 4, 2)), "y": np.ones((5, 3), int)}, "array 'y' must have shape"),
    ({"X": np.zeros((5, 4, 2)), "y": np.ones((5, 4)) * 0.5}, "non-negative integers"),
    ({"X": np.full((5, 4, 2), np.nan), "y": np.ones((5, 4), int)}, "real, finite"),
    ({"X": np.zeros((5, 4, 2)), "y": np.ones((5, 4), int), "mask": -np.ones((5, 4))}, "'mask' must be finite"),
    ({"X": np.zeros((5, 4, 2)), "y": np.pad(np.ones((5, 3), int), ((0, 0), (0, 1)))}, "trial 3 has no step"),
    ({"X": np.zeros((5, 4, 2)), "y": np.ones((5, 4), int), "coh": np.zeros(3)}, "array 'coh' must be per-trial"),
    ({"X": np.zeros((5, 4, 2))}, "missing array 'y'"),
])
def test_bad_sequence_files_are_one_line_naming_the_array(tmp_path: Path, arrays: dict, message: str) -> None:
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=message) as exc:
        load_npz_sequences(path)
    assert "\n" not in str(exc.value)


def test_too_few_trials_for_a_part_names_the_fraction(tmp_path: Path) -> None:
    path = _pdm_npz(tmp_path / "few.npz", trials=4)
    with pytest.raises(ValueError, match="val_fraction: 0.1 of 4 trials leaves no trial"):
        load_npz_sequences(path, val_fraction=0.1)


def test_sequence_runs_are_keyed_by_content_and_a_2d_model_is_told_what_fits(tmp_path: Path) -> None:
    a = _pdm_npz(tmp_path / "a.npz")
    (tmp_path / "copy.npz").write_bytes(a.read_bytes())
    _pdm_npz(tmp_path / "b.npz", seed=1)
    cfgs = {}
    for name in ("a", "copy", "b"):
        cfg = tmp_path / f"{name}.toml"
        cfg.write_text(RNN.format(name="seq", task=f'name = "npz"\npath = "{tmp_path / name}.npz"'))
        cfgs[name] = config_hash(load(cfg))
    assert cfgs["a"] == cfgs["copy"] != cfgs["b"]
    mlp = tmp_path / "mlp.toml"
    mlp.write_text(f'name = "m"\n[network]\nkind = "mlp"\n[task]\nname = "npz"\npath = "{a}"\n[rule]\nname = "madam"\n')
    proc = _cli(["run", str(mlp), "--runs", str(tmp_path / "runs")])
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "must be 2-D" in proc.stderr and 'network.kind = "rnn"' in proc.stderr


def test_an_rnn_trains_on_a_sequence_npz_and_reports_a_psychometric_curve(tmp_path: Path) -> None:
    from neurosim.runner.run import execute

    path = _pdm_npz(tmp_path / "pdm.npz", trials=200)
    cfg = tmp_path / "seq.toml"
    cfg.write_text(RNN.format(name="seq", task=f'name = "npz"\npath = "{path}"'))
    rd = execute(load(cfg), tmp_path / "runs", progress=False).path
    final = json.loads((rd / "result.json").read_text())["final"]
    assert 0.0 <= final["test_accuracy"] <= 1.0 and set(final["psychometric"]) >= {"0", "51.2", "-51.2"}
    assert "Psychometric curve" in (rd / "report.md").read_text()


# ----------------------------------------------------------------------------- neurogym
@pytest.mark.neurogym
def test_neurogym_and_neurosim_pdm_agree_on_evidence_means_and_noise() -> None:
    """Same dt (20 ms), coherence (25.6 %) and sigma (1): the same stimulus statistics."""
    from neurosim.tasks import NeurogymTask

    timing = {"fixation": 300, "stimulus": 700, "delay": 0, "decision": 300}
    ng = NeurogymTask("PerceptualDecisionMaking-v0", dt=20.0, kwargs={"timing": timing, "cohs": [25.6]})
    ns = PerceptualDecisionMaking(dt=20.0, coherences=(25.6,))
    stats = {}
    for name, task, (s0, s1) in (("neurogym", ng, (15, 50)), ("neurosim", ns, ns.epochs["stimulus"])):
        X, _, _, info = task.batch(2000, np.random.default_rng(0), return_info=True)
        ev = X[s0:s1, :, 1:3]
        right = info["choice"] == 1
        sd = np.sqrt(ev.var(axis=0, ddof=1).mean())  # per-step noise around each trial's mean
        stats[name] = (ev[:, right, 0].mean(), ev[:, right, 1].mean(), sd)
        assert task.T == 65 and np.array_equal(np.unique(info["signed_coherence"]), [-25.6, 25.6])
    for name, (hi, lo, sd) in stats.items():
        assert hi == pytest.approx(0.628, abs=0.003), name
        assert lo == pytest.approx(0.372, abs=0.003), name
        assert sd == pytest.approx(1 / np.sqrt(20), rel=0.01), name


@pytest.mark.neurogym
def test_neurosim_run_trains_a_dale_rnn_on_a_neurogym_task(tmp_path: Path) -> None:
    from neurosim.runner.run import execute

    cfg = tmp_path / "ng.toml"
    cfg.write_text(RNN.format(name="ng", task='name = "neurogym"\nenv = "PerceptualDecisionMaking-v0"\n'
                                             'params = { timing = { stimulus = 300, decision = 100 } }'))
    config = load(cfg)
    rd = execute(config, tmp_path / "runs", progress=False).path
    final = json.loads((rd / "result.json").read_text())["final"]
    assert set(final["psychometric"]) >= {"0", "51.2", "-51.2"} and "test_accuracy_top2_coherence" in final
    assert "Psychometric curve" in (rd / "report.md").read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(RNN.format(name="ng", task='name = "neurogym"\nenv = "PerceptualDecisionMakin-v0"'))
    proc = _cli(["run", str(bad), "--runs", str(tmp_path / "runs")])
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "Did you mean 'PerceptualDecisionMaking-v0'" in proc.stderr
    bad.write_text(RNN.format(name="ng", task='name = "neurogym"\nparams = { dt = 100 }'))
    proc = _cli(["run", str(bad), "--runs", str(tmp_path / "runs2")])
    assert proc.returncode == 2 and "task.params.dt: must equal network.dt in ms (20), got 100" in proc.stderr


def test_a_missing_neurogym_extra_is_one_line_naming_it(tmp_path: Path) -> None:
    cfg = tmp_path / "ng.toml"
    cfg.write_text(RNN.format(name="ng", task='name = "neurogym"\nenv = "PerceptualDecisionMaking-v0"'))
    proc = _cli(["run", str(cfg), "--runs", str(tmp_path / "runs")], pre="import sys; sys.modules['neurogym'] = None; ")
    assert proc.returncode == 2, proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("error:") or "task.name" in line
    assert 'pip install "neurosim[neurogym]"' in line and not (tmp_path / "runs").exists()


# ----------------------------------------------------------------------------- snnTorch
@pytest.mark.snntorch
def test_snntorch_example_learns_with_dale_synapses_on_the_grid() -> None:
    sys.path.insert(0, str(Path(__file__).parents[1] / "experiments"))
    try:
        import snntorch_digits
    finally:
        sys.path.pop(0)
    out = snntorch_digits.main(["--quick"])
    assert out["test_accuracy"] > 0.5  # chance: 0.1
    assert out["on_grid_input->hidden"] and out["on_grid_hidden->readout"]
    assert out["beta"] != pytest.approx(0.95) and out["additive_params"] == 3  # beta and two biases
