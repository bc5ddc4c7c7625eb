"""The Dale RNN remedies (feedforward inhibition, balance, inhibitory gain), gradient clipping,
the curriculum, run keys that survive new config keys, E->E/E->I/I->E/I->I parts, firing statistics."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from neurosim.analysis.projections import input_totals, parts
from neurosim.analysis.spiking import spike_statistics
from neurosim.cli import main as cli_main
from neurosim.models import DaleRNN
from neurosim.runner.config import config_hash, resolve
from neurosim.snapshot import Projection, Snapshot, from_module, load, save


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ----------------------------------------------------------------------------- DaleRNN options
def test_feedforward_inhibition_lets_a_unit_subtract_inputs() -> None:
    net = DaleRNN(3, 20, 3, feedforward_inhibition=True, generator=gen())
    assert net.input.weight.shape == (20, 6)
    assert bool((net.input.weight[:, :3] >= 0).all()) and bool((net.input.weight[:, 3:] <= 0).all())
    # the net input weight of a channel (direct + relay) takes both signs: a difference of inputs
    net_w = net.input.weight[:, :3] + net.input.weight[:, 3:]
    assert bool((net_w > 0).any()) and bool((net_w < 0).any())
    assert net(torch.rand(5, 2, 3)).shape == (5, 2, 3)
    plain = DaleRNN(3, 20, 3, generator=gen())
    assert bool((plain.input.weight >= 0).all())  # without it every input only excites
    ann = DaleRNN(3, 20, 3, dale=False, feedforward_inhibition=True, generator=gen())
    assert ann.n_synapses == net.n_synapses


def test_exact_balance_and_inhibitory_gain() -> None:
    rows = DaleRNN(3, 50, 3, balance="rows", spectral_radius=1.0, generator=gen(1))
    assert float(rows.W_rec.sum(1).abs().max()) < 1e-4  # every unit's E and I input cancel
    mean = DaleRNN(3, 50, 3, generator=gen(1))
    assert float(mean.W_rec.sum(1).abs().max()) > 0.1  # only on average
    gained = DaleRNN(3, 50, 3, inhibitory_gain=1.5, balance="rows", generator=gen(1))
    inh = gained.rec_sign < 0
    # after the common radius scaling the I/E ratio of every row is 1.5
    ratio = gained.recurrent.size[:, inh].sum(1) / gained.recurrent.size[:, ~inh].sum(1)
    assert torch.allclose(ratio, torch.full_like(ratio, 1.5), rtol=1e-4)
    with pytest.raises(ValueError, match="balance"):
        DaleRNN(3, 20, 3, balance="exact")
    with pytest.raises(ValueError, match="inhibitory_gain"):
        DaleRNN(3, 20, 3, inhibitory_gain=0.0)


def test_defaults_draw_the_same_network_as_before_the_options() -> None:
    a = DaleRNN(3, 30, 3, generator=gen(7))
    b = DaleRNN(3, 30, 3, feedforward_inhibition=False, inhibitory_gain=1.0, balance="mean", generator=gen(7))
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert ka == kb and torch.equal(va, vb)


# ----------------------------------------------------------------------------- parts per projection
def test_recurrent_layers_split_four_ways_and_survive_a_round_trip(tmp_path: Path) -> None:
    net = DaleRNN(3, 20, 3, generator=gen())
    path = save(tmp_path / "s.npz", from_module(net))
    snap = load(path)
    assert snap.projections["recurrent"].post_sign is not None
    got = parts(snap, ["input", "recurrent", "readout"])
    assert list(got) == ["input (E->E)", "input (E->I)", "recurrent (E->E)", "recurrent (E->I)",
                         "recurrent (I->E)", "recurrent (I->I)", "readout"]
    n = {k: int(v[0].mask.sum()) if v[0].mask is not None else v[0].proj.n_synapses for k, v in got.items()}
    assert n["recurrent (E->E)"] == 16 * 16 and n["recurrent (I->E)"] == 16 * 4 and n["recurrent (I->I)"] == 16
    pooled = parts(snap, ["recurrent"], pool=True)
    assert list(pooled) == ["pooled: recurrent (E->E) + recurrent (E->I) + recurrent (I->E) + recurrent (I->I)"]


def test_input_totals_sum_what_each_unit_receives_per_part() -> None:
    from neurosim.lns import LogGrid

    # units 0, 1 excitatory and 2 inhibitory; columns likewise (E, E, I)
    size = np.array([[0.0, 1.0, 4.0], [2.0, 0.0, 8.0], [1.0, 3.0, 0.0]], dtype=np.float32)
    sign = np.tile(np.array([1, 1, -1], dtype=np.int8), (3, 1))
    snap = Snapshot({"rec": Projection(sign=sign, size=size, post_sign=np.array([1, 1, -1]))})
    got = input_totals(snap)
    assert got["rec (E->E)"] == {"summed_size": 1.5, "units": 2}  # rows 0, 1: (0 + 1 + 2 + 0) / 2
    assert got["rec (I->E)"]["summed_size"] == 6.0 and got["rec (E->I)"]["summed_size"] == 4.0
    assert got["rec (I->I)"] == {"summed_size": 0.0, "units": 1}
    grid = LogGrid(4, 8.0, 8.0)
    levels = grid.encode(np.maximum(size, 1.0))
    on_grid = Snapshot({"rec": Projection(sign=sign, size=grid.decode(levels), level=levels, grid=grid,
                                          post_sign=np.array([1, 1, -1]))})
    g = input_totals(on_grid)["rec (I->E)"]
    assert g["at_highest_level"] == 0.5 and g["at_lowest_level"] == 0.0  # sizes 4 and 8 of 1..8
    assert input_totals(on_grid)["rec (E->E)"]["at_lowest_level"] == 0.75  # 1, 1, 2, 1 -> three at 1


def test_post_sign_is_checked() -> None:
    with pytest.raises(ValueError, match="post_sign"):
        Projection(sign=np.ones((3, 2)), size=np.ones((3, 2)), post_sign=np.ones(2))
    with pytest.raises(ValueError, match="post_sign"):
        Projection(sign=np.ones((3, 2)), size=np.ones((3, 2)), post_sign=np.zeros(3))
    old = Snapshot({"recurrent": Projection(sign=np.array([[1, -1], [1, -1]]), size=np.ones((2, 2)))})
    assert list(parts(old, ["recurrent"])) == ["recurrent (E)", "recurrent (I)"]  # older snapshots as before


# ----------------------------------------------------------------------------- runner
RNN = """
name = "remedy"
[network]
kind = "rnn"
n_rec = 16
[task]
name = "context_dependent_integration"
[rule]
name = "madam"
[train]
epochs = 2
batches_per_epoch = 3
batch_size = 8
eval_trials = 16
[analysis]
fit = false
figures = false
"""


def _run(tmp_path: Path, text: str, name: str = "c.toml") -> tuple[int, Path | None]:
    cfg = tmp_path / name
    cfg.write_text(text)
    code = cli_main(["run", str(cfg), "--runs", str(tmp_path / "runs"), "--quiet"])
    dirs = sorted((tmp_path / "runs").glob("remedy-*")) if (tmp_path / "runs").exists() else []
    return code, (dirs[-1] if dirs else None)


def test_late_keys_at_their_default_keep_the_run_key() -> None:
    import tomllib

    raw = tomllib.loads(RNN)
    base = config_hash(resolve(raw))
    explicit = {**raw, "network": {**raw["network"], "feedforward_inhibition": False, "balance": "mean",
                                   "inhibitory_gain": 1.0},
                "train": {**raw["train"], "clip_grad_norm": None}}
    assert config_hash(resolve(explicit)) == base
    changed = {**raw, "train": {**raw["train"], "clip_grad_norm": 1.0}}
    assert config_hash(resolve(changed)) != base


def test_clipping_and_curriculum_run(tmp_path: Path) -> None:
    text = RNN.replace("[train]", "[train]\nclip_grad_norm = 0.5").replace(
        'name = "context_dependent_integration"',
        'name = "context_dependent_integration"\ncurriculum = { epochs = 1, params = { coherences = [50.0] } }')
    code, run = _run(tmp_path, text)
    assert code == 0 and run is not None and (run / "DONE").exists()
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["train"]["clip_grad_norm"] == 0.5 and cfg["task"]["curriculum"]["epochs"] == 1


def test_curriculum_batches_come_from_the_easier_task() -> None:
    import tomllib

    from neurosim.runner.torch_run import prepare, training_batches

    raw = tomllib.loads(RNN)
    raw["task"]["curriculum"] = {"epochs": 1, "params": {"coherences": [50.0]}}
    setup = prepare(resolve(raw))
    first = next(iter(training_batches(setup, 0)))[0].numpy()
    later = next(iter(training_batches(setup, 1)))[0].numpy()
    s0, s1 = setup.task.epochs["stimulus"]
    # at coherence 50 % the two channels of the motion stream differ by 0.5 on average
    gap = lambda x: np.abs(x[s0:s1, :, 1] - x[s0:s1, :, 2]).mean(0)  # noqa: E731
    assert np.allclose(gap(first), 0.5, atol=0.15)
    assert gap(later).min() < 0.3


@pytest.mark.parametrize("curriculum, message", [
    ("{ params = {} }", "task.curriculum.epochs: required"),
    ("{ epochs = 0 }", "task.curriculum.epochs"),
    ("{ epochs = 1, steps = 3 }", "task.curriculum.steps: unknown key"),
    ("{ epochs = 1, params = { coherences = [150.0] } }", "task.curriculum.params"),
    ("{ epochs = 1, params = { dt = 10.0 } }", "task.curriculum.params.dt"),
    ("{ epochs = 2 }", "task.curriculum.epochs: must be < train.epochs (2)"),
])
def test_bad_curriculum_is_one_line(tmp_path: Path, capsys, curriculum: str, message: str) -> None:
    text = RNN.replace('name = "context_dependent_integration"',
                       f'name = "context_dependent_integration"\ncurriculum = {curriculum}')
    code, _ = _run(tmp_path, text)
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1, err


def test_clipping_leaves_non_finite_gradients_to_the_rule() -> None:
    from neurosim.runner.torch_run import _clip_gradients

    lin = torch.nn.Linear(3, 2)
    lin.weight.grad = torch.full((2, 3), 10.0)
    lin.bias.grad = torch.zeros(2)
    _clip_gradients(lin, 1.0)
    assert abs(float(torch.cat([lin.weight.grad.ravel(), lin.bias.grad]).norm()) - 1.0) < 1e-5
    lin.weight.grad = torch.tensor([[float("nan"), 1.0, 1.0], [1.0, 1.0, 1.0]])
    _clip_gradients(lin, 1.0)
    assert float(lin.weight.grad[0, 1]) == 1.0  # not turned into NaN by a NaN norm


# ----------------------------------------------------------------------------- firing statistics
def test_spike_statistics_of_poisson_and_clock_trains() -> None:
    rng = np.random.default_rng(0)
    poisson = (rng.random((2000, 30, 10)) < 0.02).astype(np.int8)
    clock = np.zeros((2000, 30, 10), np.int8)
    clock[::50] = 1
    st = spike_statistics(np.concatenate([poisson, clock], 2), 0.001, {"P": slice(0, 10), "C": slice(10, 20)})
    assert abs(st["P"]["rate_hz"] - 20) < 1.5 and abs(st["C"]["rate_hz"] - 20) < 1e-9
    assert 0.85 < st["P"]["cv_isi"] < 1.05 and st["C"]["cv_isi"] == 0.0
    assert 0.85 < st["P"]["fano"] < 1.15 and st["C"]["fano"] == 0.0
    # a stimulus that differs between two groups of trials is not counted as variability
    driven = np.zeros((100, 40, 1), np.int8)
    driven[:10, :20] = 1
    assert spike_statistics(driven, 0.001, {"u": slice(0, 1)}, groups=np.repeat([0, 1], 20))["u"]["fano"] == 0.0
    assert spike_statistics(driven, 0.001, {"u": slice(0, 1)})["u"]["fano"] > 1.0
    assert st["P"]["silent"] == st["C"]["silent"] == 0.0
    # two units of four never fire in the window (one of them fires only outside it)
    s = np.zeros((100, 5, 4), np.int8)
    s[50, 0, 0] = s[60:, :, 1] = s[10, 2, 2] = 1
    assert spike_statistics(s, 0.001, {"a": slice(0, 4)}, window=(40, 100))["a"]["silent"] == 0.5


def test_spike_statistics_refuse_bad_input() -> None:
    s = np.zeros((10, 2, 3), np.int8)
    with pytest.raises(ValueError, match="window"):
        spike_statistics(s, 0.001, {"a": slice(0, 3)}, window=(5, 20))
    with pytest.raises(ValueError, match="groups"):
        spike_statistics(s, 0.001, {"a": slice(0, 3)}, groups=[0, 1, 2])
    with pytest.raises(ValueError, match="only 0 and 1"):
        spike_statistics(s + 2, 0.001, {"a": slice(0, 3)})
    with pytest.raises(ValueError, match="dt"):
        spike_statistics(s, 0.0, {"a": slice(0, 3)})


def test_train_step_inspects_the_gradient_before_clipping() -> None:
    import tomllib

    from neurosim.runner.torch_run import prepare, train_step, training_batches

    raw = tomllib.loads(RNN)
    raw["train"]["clip_grad_norm"] = 1e-6
    setup = prepare(resolve(raw))
    seen: list[float] = []
    batch = next(iter(training_batches(setup, 0)))
    loss = train_step(setup, batch, 0, 0, inspect=lambda m: seen.append(
        float(torch.nn.utils.get_total_norm([p.grad for p in m.parameters()]))))
    after = float(torch.nn.utils.get_total_norm([p.grad for p in setup.model.parameters()]))
    assert not loss.requires_grad and np.isfinite(float(loss))
    assert seen[0] > 1e-3 and after == pytest.approx(1e-6, rel=1e-3)  # inspect saw it as the loss gave it


def test_population_share_of_gain_and_of_structure() -> None:
    from neurosim.analysis.projections import population_share

    rng = np.random.default_rng(0)
    gain = np.ones((10, 10))
    gain[:, 8:] = -4.0  # every E->x synapse pushed one way, every I->x the other: all gain
    assert population_share(gain, 8) == pytest.approx(1.0)
    noise = rng.standard_normal((200, 200))  # no common part: about 4 / 40000
    assert population_share(noise, 160) < 4e-3
    mixed = gain[:10, :10] + rng.standard_normal((10, 10)) * 1e-3
    assert 0.99 < population_share(mixed, 8) < 1.0
    assert population_share(np.ones((3, 5)), 2, n_exc_pre=4) == pytest.approx(1.0)  # non-square
    assert np.isnan(population_share(np.zeros((4, 4)), 2))
    with pytest.raises(ValueError, match="n_exc"):
        population_share(gain, 11)
    with pytest.raises(ValueError, match="2-D"):
        population_share(np.ones(4), 2)
