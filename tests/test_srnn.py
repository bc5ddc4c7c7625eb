"""SpikingRNN: signs kept, sizes on the grid, reproducible from the seed, Brian2 agreement."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurosim.models import SpikingRNN, build, on_off_spikes
from neurosim.rules import LogGridMadam, Madam, param_groups
from neurosim.rules.additive import DaleAdam
from neurosim.tasks import cognitive as cg


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def task_batch(n: int = 8, seed: int = 0, dt: float = 10.0):
    task = cg.PerceptualDecisionMaking(dt=dt)
    x, y, m = task.batch(n, np.random.default_rng(seed))
    return task, torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(m)


def train_steps(net: SpikingRNN, opt: torch.optim.Optimizer, steps: int = 3) -> None:
    for k in range(steps):
        _, x, y, m = task_batch(8, seed=k)
        out = net(x)
        ce = torch.nn.functional.cross_entropy(out.reshape(-1, 3), y.reshape(-1), reduction="none")
        loss = (ce * m.reshape(-1)).sum() / m.sum()
        opt.zero_grad()
        loss.backward()
        opt.step()


def test_shapes_populations_and_defaults() -> None:
    net = SpikingRNN(3, 50, 3, generator=gen())
    assert net.n_exc == 40 and net.n_adaptive == 16
    assert net.populations == {"E_adaptive": slice(0, 16), "E": slice(0, 40), "I": slice(40, 50)}
    assert net.input.weight.shape == (50, 6)  # on and off channels
    assert net.readout.weight.shape == (3, 40)  # E units only
    assert np.isclose(net.beta, np.exp(-0.25)) and np.isclose(net.alpha, np.exp(-0.5))
    out, spikes = net(torch.rand(20, 4, 3), return_spikes=True)
    assert out.shape == (20, 4, 3) and spikes.shape == (20, 4, 50)
    assert set(spikes.unique().tolist()) <= {0.0, 1.0}
    assert isinstance(build("srnn", 3, 3, n_rec=20), SpikingRNN)


@pytest.mark.parametrize("kwargs, message", [
    ({"n_rec": 1}, "n_rec"),
    ({"tau_mem": 0.001}, "tau_mem: must be >= dt"),
    ({"max_rate": 300.0}, "max_rate: must be <= 1 / dt"),
    ({"adaptive_fraction": 1.5}, "adaptive_fraction"),
    ({"surrogate": "relu"}, "surrogate"),
    ({"surrogate_scale": 0.0}, "surrogate_scale"),
    ({"inhibitory_fraction": 1.0}, "inhibitory_fraction"),
])
def test_bad_parameters_name_the_key(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        SpikingRNN(3, **{"n_rec": 20, **kwargs})


def test_surrogate_scale_dampens_the_gradient_not_the_spikes() -> None:
    """Two steps: the input weights reach the output through exactly one spike, so their
    gradient scales by ``surrogate_scale``; the readout's does not; the forward pass is unchanged."""
    x = torch.zeros(2, 5, 3)
    x[0] = 1.0
    spikes = on_off_spikes(x, 1.0)
    grads, outs = {}, {}
    for scale in (1.0, 0.3):
        net = SpikingRNN(3, 30, 3, input_gain=20.0, surrogate_scale=scale, generator=gen(1)).double()
        with torch.no_grad():
            net.input.bias.fill_(0.5)
        out = net(x.double(), input_spikes=spikes.double())
        out[-1].sum().backward()
        grads[scale] = (net.input.size.grad.clone(), net.readout.size.grad.clone())
        outs[scale] = out.detach()
    assert torch.equal(outs[1.0], outs[0.3])
    assert grads[1.0][0].abs().sum() > 0
    torch.testing.assert_close(grads[0.3][0], 0.3 * grads[1.0][0])
    torch.testing.assert_close(grads[0.3][1], grads[1.0][1])


def test_bad_inputs_are_one_line_errors() -> None:
    net = SpikingRNN(3, 20, 3, generator=gen())
    with pytest.raises(ValueError, match=r"u: must have shape \(T, batch, 3\)"):
        net(torch.rand(5, 3))
    with pytest.raises(ValueError, match="input_spikes: must have shape"):
        net(torch.rand(5, 2, 3), input_spikes=torch.zeros(5, 2, 3))
    with pytest.raises(ValueError, match="finite"):
        net(torch.full((5, 2, 3), float("nan")))


def test_on_off_code() -> None:
    u = torch.tensor([0.5, -0.5, 0.0, 2.0]).expand(4000, 1, 4)
    s = on_off_spikes(u, 0.5, gen(1))
    rate = s.mean(0)[0]  # on: 4 channels, then off: 4
    assert torch.allclose(rate[:4], torch.tensor([0.25, 0.0, 0.0, 0.5]), atol=0.03)
    assert torch.allclose(rate[4:], torch.tensor([0.0, 0.25, 0.0, 0.0]), atol=0.03)
    with pytest.raises(ValueError, match="p_scale"):
        on_off_spikes(u, 1.5)


@pytest.mark.parametrize("rule", ["madam", "loggrid", "dale_adam"])
def test_signs_are_kept_by_every_dale_rule(rule) -> None:
    net = SpikingRNN(3, 30, 3, generator=gen(2))
    signs = {n: net.get_submodule(n).weight.sign().clone() for n in ("input", "recurrent", "readout")}
    groups = param_groups(net)
    opt = {"madam": lambda: Madam(groups, lr=0.05), "loggrid": lambda: LogGridMadam(groups, lr=0.05),
           "dale_adam": lambda: DaleAdam(groups, lr=0.05)}[rule]()
    before = net.recurrent.size.detach().clone()
    train_steps(net, opt)
    assert not torch.equal(before, net.recurrent.size)  # it learned something
    for n, s in signs.items():
        w = net.get_submodule(n).weight
        assert bool(((w.sign() == s) | (w == 0)).all()), n
    unit = net.unit_sign
    assert bool((net.recurrent.weight[:, unit > 0] >= 0).all()) and bool((net.recurrent.weight[:, unit < 0] <= 0).all())
    assert bool((net.input.weight >= 0).all()) and bool((net.readout.weight >= 0).all())


def test_sizes_stay_on_the_26_level_grid() -> None:
    from neurosim import snapshot

    net = SpikingRNN(3, 30, 3, generator=gen(3))
    opt = LogGridMadam(param_groups(net), lr=0.05)
    train_steps(net, opt)
    projs = snapshot.from_module(net, opt)
    for name in ("input", "recurrent", "readout"):
        p = projs[name]
        assert p.grid is not None and p.grid.levels == 26
        assert np.allclose(p.size, p.grid.decode(p.level), rtol=1e-6)
    assert projs["recurrent"].post_sign is not None  # E->E, E->I, I->E, I->I can be told apart


def test_reproducible_from_the_seed() -> None:
    _, x, _, _ = task_batch(4)
    nets = [SpikingRNN(3, 30, 3, generator=gen(5)) for _ in range(2)]
    outs = [n(x) for n in nets]
    assert torch.equal(outs[0], outs[1])  # same weights, same input spikes (the model's own generator)
    for n in nets:
        train_steps(n, LogGridMadam(param_groups(n), lr=0.05, generator=gen(9)))
    for a, b in zip(nets[0].parameters(), nets[1].parameters(), strict=True):
        assert torch.equal(a, b)
    other = SpikingRNN(3, 30, 3, generator=gen(6))
    assert not torch.equal(other.recurrent.size, nets[0].recurrent.size)


def test_adaptive_threshold_slows_firing() -> None:
    net = SpikingRNN(1, 10, 1, adaptive_fraction=0.5, inhibitory_fraction=0.0, generator=gen(0)).double()
    with torch.no_grad():
        net.recurrent.size.zero_()
        net.input.size.fill_(1.0)
        net.input.bias.zero_()
    u = torch.ones(300, 1, 1, dtype=torch.float64)
    _, s = net(u, input_spikes=torch.cat([torch.ones(300, 1, 1), torch.zeros(300, 1, 1)], -1).double(),
               return_spikes=True)
    counts = s.sum((0, 1))
    assert float(counts[:5].mean()) < 0.8 * float(counts[5:].mean())  # adaptive units fire less


def test_matched_network_without_signs() -> None:
    net = SpikingRNN(3, 30, 3, dale=False, generator=gen(0))
    assert isinstance(net.recurrent, torch.nn.Linear)
    w = net.recurrent.weight
    assert bool((w > 0).any()) and bool((w < 0).any())
    assert net.n_synapses == SpikingRNN(3, 30, 3, generator=gen(0)).n_synapses


@pytest.mark.brian2
@pytest.mark.parametrize("relays", [False, True], ids=["plain", "feedforward_inhibition"])
def test_brian2_runtime_replays_torch_exactly(relays: bool) -> None:
    from neurosim.brian.srnn_export import input_trains, run_trials

    task, x, y, m = task_batch(6, dt=5.0)
    net = SpikingRNN(task.n_in, 30, task.n_out, dt=0.005, feedforward_inhibition=relays,
                     input_gain=3.0 if relays else 1.0, generator=gen(0)).double()
    trains = input_trains(net, x.numpy(), seed=3)
    with torch.no_grad():
        out, spikes = net(x.double(), input_spikes=torch.from_numpy(trains), return_spikes=True)
    assert float(spikes.mean()) > 0.01  # the copy is tested on a network that fires
    import brian2

    before = brian2.defaultclock.dt
    b_out, counts = run_trials(net, x.numpy(), input_spikes=trains, batch_size=4)
    assert brian2.defaultclock.dt == before  # its own clock: other Brian2 code is not moved to 5 ms
    assert np.abs(b_out - out.numpy()).max() < 1e-9
    assert np.array_equal(counts, spikes.sum(0).numpy().astype(np.int64))
    other = input_trains(net, x.numpy(), seed=4)
    assert not np.array_equal(other, trains)
    assert np.abs(run_trials(net, x.numpy(), input_spikes=other)[0] - out.numpy()).max() > 1e-3


@pytest.mark.brian2
@pytest.mark.cxx
def test_brian2_standalone_agrees() -> None:
    from neurosim.brian.srnn_export import input_trains, run_trials

    task, x, _, _ = task_batch(3, dt=5.0)
    net = SpikingRNN(task.n_in, 20, task.n_out, dt=0.005, generator=gen(1)).double()
    trains = input_trains(net, x.numpy(), seed=0)
    with torch.no_grad():
        out = net(x.double(), input_spikes=torch.from_numpy(trains))
    b_out, _ = run_trials(net, x.numpy(), input_spikes=trains, codegen_target="cpp_standalone")
    assert np.abs(b_out - out.numpy()).max() < 1e-9
    again, _ = run_trials(net, x.numpy(), input_spikes=trains)  # the runtime device is back
    assert np.abs(again - out.numpy()).max() < 1e-9


def test_export_refuses_bad_input() -> None:
    from neurosim.brian.srnn_export import input_trains, run_trials

    net = SpikingRNN(3, 10, 3, generator=gen())
    with pytest.raises(ValueError, match=r"U: must have shape \(T, n_trials, 3\)"):
        input_trains(net, np.zeros((5, 3)))
    with pytest.raises(ValueError, match="input_spikes: must hold only 0 and 1"):
        run_trials(net, np.zeros((5, 2, 3)), input_spikes=np.full((5, 2, 6), 0.5))
    with pytest.raises(ValueError, match="model: must be a neurosim.models.SpikingRNN"):
        input_trains(object(), np.zeros((5, 2, 3)))
    with pytest.raises(ValueError, match="batch_size"):
        run_trials(net, np.zeros((5, 2, 3)), batch_size=0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_runs_on_cuda() -> None:
    net = SpikingRNN(3, 30, 3, generator=gen(0), device="cuda")
    out = net(torch.rand(10, 2, 3, device="cuda"))
    out.sum().backward()
    assert out.device.type == "cuda" and net.recurrent.size.grad is not None
