"""Spike-encoded inputs of the SNN: the codes, their seeding, Brian2 replay, and exact resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import mlp_toml

from neurosim.models import SpikingMLP
from neurosim.models.encoding import encode, latency_spikes, poisson_spikes


def test_poisson_rate_matches_the_input_and_the_seed_fixes_the_trains() -> None:
    x = torch.tensor([[0.0, 0.1, 0.5, 0.9, 1.0]])
    s = poisson_spikes(x.expand(4000, 5), steps=25, generator=torch.Generator().manual_seed(0))
    assert s.shape == (25, 4000, 5) and set(s.unique().tolist()) <= {0.0, 1.0}
    rate = s.mean(dim=(0, 1))
    se = np.sqrt(0.25 / s[:, :, 0].numel())
    np.testing.assert_allclose(rate.numpy(), x[0].numpy(), atol=5 * se)
    assert float(rate[0]) == 0.0 and float(rate[-1]) == 1.0
    again = poisson_spikes(x.expand(4000, 5), steps=25, generator=torch.Generator().manual_seed(0))
    other = poisson_spikes(x.expand(4000, 5), steps=25, generator=torch.Generator().manual_seed(1))
    assert torch.equal(s, again) and not torch.equal(s, other)
    half = encode(x.expand(4000, 5), "poisson", 25, p_scale=0.5, generator=torch.Generator().manual_seed(0))
    np.testing.assert_allclose(half.mean(dim=(0, 1)).numpy(), 0.5 * x[0].numpy(), atol=5 * se)


def test_latency_code_fires_once_earlier_for_larger_inputs() -> None:
    x = torch.tensor([[0.0, 0.25, 0.5, 1.0]])
    s = latency_spikes(x, steps=9)
    assert s.sum(0).tolist() == [[0.0, 1.0, 1.0, 1.0]]
    first = s[:, 0].argmax(0).tolist()
    assert first[1:] == [6, 4, 0]  # round((1 - x) * 8)


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_spike_codes_refuse_inputs_outside_the_unit_interval(bad: float) -> None:
    x = torch.tensor([[0.2, bad]])
    for enc in ("poisson", "latency"):
        with pytest.raises(ValueError, match=r"x: spike encodings need inputs in \[0, 1\]"):
            encode(x, enc, 5)


def test_model_checks_its_encoding_arguments() -> None:
    with pytest.raises(ValueError, match="encoding"):
        SpikingMLP(4, [8], 2, encoding="burst")
    with pytest.raises(ValueError, match=r"max_rate: must be <= 1 / dt = 1000 Hz"):
        SpikingMLP(4, [8], 2, encoding="poisson", max_rate=2000.0)
    net = SpikingMLP(4, [8], 2, encoding="poisson")
    with pytest.raises(ValueError, match=r"input_spikes: must have shape \(25, 3, 4\)"):
        net(torch.rand(3, 4), input_spikes=torch.zeros(25, 2, 4))
    with pytest.raises(ValueError, match="encoding is 'current'"):
        SpikingMLP(4, [8], 2)(torch.rand(3, 4), input_spikes=torch.zeros(25, 3, 4))


def test_current_code_is_the_expected_value_of_the_poisson_code() -> None:
    """Same weights: the Poisson network's first-layer drive averages to the current network's."""
    g = torch.Generator().manual_seed(0)
    x = torch.rand(3, 6, generator=g)
    current = encode(x, "current", 20)
    spikes = torch.stack([encode(x, "poisson", 20, generator=torch.Generator().manual_seed(k))
                          for k in range(400)]).mean(0)
    np.testing.assert_allclose(spikes.numpy(), current.numpy(), atol=0.1)


def test_poisson_network_is_reproducible_from_its_seed_and_its_generator_advances() -> None:
    x = torch.rand(4, 6, generator=torch.Generator().manual_seed(2))

    def net() -> SpikingMLP:
        return SpikingMLP(6, [10], 3, encoding="poisson", generator=torch.Generator().manual_seed(5))

    a, b = net(), net()
    first = a(x)
    assert torch.equal(first, b(x))  # same seed, same spikes
    assert not torch.equal(first, a(x))  # the model's own generator moved on
    fixed = torch.Generator().manual_seed(9)
    s = a.encode(x, generator=torch.Generator().manual_seed(9))
    assert torch.equal(a(x, generator=fixed), a(x, input_spikes=s))


@pytest.mark.brian2
@pytest.mark.parametrize("encoding", ["poisson", "latency"])
def test_brian2_replays_the_same_input_spikes(encoding: str) -> None:
    from neurosim.brian.export import input_trains, predict

    net = SpikingMLP(6, [7, 5], 3, steps=12, encoding=encoding,
                     generator=torch.Generator().manual_seed(8)).double()
    with torch.no_grad():
        for layer in net.layers:
            layer.size.mul_(4.0)
            layer.bias.normal_(0.0, 0.2, generator=torch.Generator().manual_seed(9))
    x = torch.rand(20, 6, generator=torch.Generator().manual_seed(10), dtype=torch.float64)
    s = input_trains(net, x, seed=4)
    with torch.no_grad():
        ref, hidden = net(x, input_spikes=torch.from_numpy(s), return_spikes=True)
    assert 0.02 < float(hidden[0].mean()) < 0.95
    classes, logits = predict(net, x.numpy(), seed=4, batch_size=8, return_logits=True)
    np.testing.assert_allclose(logits, ref.numpy(), rtol=0, atol=1e-10)
    assert np.array_equal(classes, ref.argmax(1).numpy())
    _, other = predict(net, x.numpy(), seed=5, batch_size=8, return_logits=True)
    if encoding == "poisson":  # other trains, other readout: the replay is not a coincidence
        assert np.abs(other - logits).max() > 1e-3


def test_runner_refuses_spike_codes_for_features_outside_the_unit_interval(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", X=np.linspace(-2, 2, 400).reshape(100, 4), y=np.arange(100) % 2)
    cfg = tmp_path / "c.toml"
    cfg.write_text(mlp_toml("spk").replace('kind = "mlp"', 'kind = "snn"\nencoding = "poisson"\nsteps = 4')
                   .replace('name = "digits"', f'name = "npz"\npath = "{tmp_path / "d.npz"}"'))
    proc = subprocess.run([sys.executable, "-m", "neurosim.cli", "run", str(cfg), "--runs", str(tmp_path / "r"),
                           "--quiet"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and "network.encoding" in err[0] and "[0, 1]" in err[0], proc.stderr


RNN_NOISE = """
name = "rnn-noise"
seed = 3
[network]
kind = "rnn"
n_rec = 16
[task]
name = "perceptual_decision_making"
params = { stimulus = 200.0, decision = 100.0 }
[rule]
name = "loggrid_madam"
[train]
epochs = 4
batches_per_epoch = 10
batch_size = 8
eval_trials = 32
snapshot_every = 2
[analysis]
fit = false
"""


@pytest.mark.parametrize("what", ["snn-poisson-spikes", "rnn-recurrent-noise"])
def test_a_run_that_draws_noise_resumes_after_sigkill_with_the_same_draws(tmp_path: Path, what: str) -> None:
    """The model's own generator (Poisson input spikes, recurrent noise) is saved and restored."""
    from test_runner_run import _same_run

    from neurosim.runner.config import load
    from neurosim.runner.run import execute

    cfg = tmp_path / "noisy.toml"
    if what.startswith("snn"):
        cfg.write_text(mlp_toml("snn-poisson", seed=3, epochs=4, snapshot_every=2)
                       .replace('kind = "mlp"', 'kind = "snn"\nencoding = "poisson"\nsteps = 5'))
    else:
        cfg.write_text(RNN_NOISE)
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    proc = subprocess.Popen([sys.executable, "-m", "neurosim.cli", "run", str(cfg), "--runs", str(killed),
                             "--quiet"], env={**os.environ, "NEUROSIM_TEST_KILL_AT": "2:7"})
    assert proc.wait(timeout=180) == -signal.SIGKILL
    (rd,) = killed.iterdir()
    execute(load(cfg), killed, progress=False)
    assert "resumed from checkpoint at epoch 2" in (rd / "run.log").read_text()
    execute(load(cfg), clean, progress=False)
    _same_run(rd, clean / rd.name)
