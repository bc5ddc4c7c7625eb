"""Torch optimizers: the published update, validation, state_dict resume, implementation paths."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from neurosim.dale import DaleLinear, ei_signs
from neurosim.lns import LogGrid
from neurosim.rules import DaleAdam, DaleSGD, LogGridMadam, Madam, QuantizedSGD, param_groups


def _grads(shapes, steps, seed=1, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    return [[torch.randn(s, generator=g, dtype=torch.float64) * scale for s in shapes]
            for _ in range(steps)]


def _run(opt_fn, params0, grads, dtype=torch.float32):
    params = [torch.nn.Parameter(p.clone().to(dtype)) for p in params0]
    opt = opt_fn(params)
    for gs in grads:
        for p, g in zip(params, gs, strict=True):
            p.grad = g.to(dtype)
        opt.step()
    return params, opt


# ------------------------------------------------------------------- Madam
def madam_reference(w0: np.ndarray, grads: list[np.ndarray], lr=0.01, beta=0.999, g_bound=10.0,
                    p_scale=3.0) -> np.ndarray:
    """The equations of Bernstein et al. (2020) as written in REFERENCES.md, in float64."""
    w = w0.copy()
    v = np.zeros_like(w)
    w_max = p_scale * np.sqrt(np.mean(w0**2))
    for t, g in enumerate(grads, start=1):
        v = beta * v + (1 - beta) * g**2
        with np.errstate(invalid="ignore", divide="ignore"):
            gn = g / np.sqrt(v / (1 - beta**t))
        gn = np.nan_to_num(gn, nan=0.0)
        gn = np.clip(gn, -g_bound, g_bound)
        w = w * np.exp(-lr * gn * np.sign(w))
        w = np.clip(w, -w_max, w_max)
    return w


@pytest.mark.parametrize("foreach", [False, True])
def test_madam_matches_the_published_equations_in_float64(foreach: bool) -> None:
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=(40, 30))
    grads = [rng.normal(size=(40, 30)) * rng.choice([1e-3, 1.0, 30.0]) for _ in range(60)]
    grads[5][0, :5] = 0.0  # zero gradients mid-run
    p = torch.nn.Parameter(torch.from_numpy(w0.copy()))
    opt = Madam([p], lr=0.01, foreach=foreach)
    for g in grads:
        p.grad = torch.from_numpy(g)
        opt.step()
    expected = madam_reference(w0, grads)
    np.testing.assert_allclose(p.detach().numpy(), expected, rtol=1e-6, atol=0)
    # the clip at w_max is reached with large lr: check it against the reference too
    p2 = torch.nn.Parameter(torch.from_numpy(w0.copy()))
    opt2 = Madam([p2], lr=0.3, foreach=foreach)
    for g in grads:
        p2.grad = torch.from_numpy(g)
        opt2.step()
    ref2 = madam_reference(w0, grads, lr=0.3)
    assert np.isclose(np.abs(ref2).max(), 3.0 * np.sqrt(np.mean(w0**2)))
    np.testing.assert_allclose(p2.detach().numpy(), ref2, rtol=1e-6, atol=0)


def test_madam_keeps_signs_and_moves_sizes_multiplicatively() -> None:
    torch.manual_seed(0)
    p0 = torch.randn(200)
    params, _ = _run(lambda ps: Madam(ps), [p0], _grads([(200,)], 300))
    assert torch.equal(torch.sign(params[0].detach()), torch.sign(p0))
    # one step changes log|w| by at most lr * g_bound
    p = torch.nn.Parameter(p0.clone())
    opt = Madam([p], lr=0.01)
    p.grad = torch.randn(200) * 1e6
    opt.step()
    w_max = 3.0 * p0.pow(2).mean().sqrt()
    inside = p0.abs() < w_max / 1.2  # entries not clipped at w_max on this step
    assert (torch.log(p.detach().abs() / p0.abs()))[inside].abs().max() <= 0.1 + 1e-6
    assert torch.isclose(p.detach().abs().max(), w_max)  # the largest entries were clipped


def test_all_zero_parameter_warns_naming_the_group() -> None:
    w = torch.nn.Parameter(torch.randn(3, 3))
    b = torch.nn.Parameter(torch.zeros(3))
    opt = Madam([{"params": [w]}, {"params": [b]}])
    w.grad, b.grad = torch.randn(3, 3), torch.randn(3)
    with pytest.warns(RuntimeWarning, match="parameter 0 of param group 1 is all zero"):
        opt.step()
    assert torch.equal(b.detach(), torch.zeros(3))


def test_additive_group_moves_a_zero_bias() -> None:
    w = torch.nn.Parameter(torch.randn(3, 3))
    b = torch.nn.Parameter(torch.zeros(3))
    opt = Madam([{"params": [w]}, {"params": [b], "rule": "additive"}], lr=0.01)
    w.grad, b.grad = torch.randn(3, 3), torch.tensor([1.0, -1.0, 0.0])
    opt.step()
    # first normalised step is sign(g): the bias moves by -lr * sign(g)
    torch.testing.assert_close(b.detach(), torch.tensor([-0.01, 0.01, 0.0]))


@pytest.mark.parametrize(
    ("cls", "kwargs", "name"),
    [(Madam, {"lr": -1}, "lr"), (Madam, {"lr": 0.0}, "lr"), (Madam, {"beta": 1.0}, "beta"),
     (Madam, {"g_bound": 0}, "g_bound"), (Madam, {"p_scale": float("nan")}, "p_scale"),
     (Madam, {"rule": "sgd"}, "rule"), (Madam, {"foreach": "yes"}, "foreach"),
     (LogGridMadam, {"levels": 1}, "levels"), (LogGridMadam, {"levels": 3.5}, "levels"),
     (LogGridMadam, {"ratio": 0.5}, "ratio"), (LogGridMadam, {"step": -0.1}, "step"),
     (LogGridMadam, {"rounding": "up"}, "rounding"), (LogGridMadam, {"init": "zeros"}, "init"),
     (LogGridMadam, {"lr": -1}, "lr"), (QuantizedSGD, {"levels": 1}, "levels"),
     (QuantizedSGD, {"lr": 0}, "lr"), (QuantizedSGD, {"rounding": "x"}, "rounding"),
     (DaleSGD, {"lr": -1}, "lr"), (DaleAdam, {"rule": "madam"}, "rule")],
)
def test_bad_hyperparameters_raise_naming_them(cls, kwargs, name) -> None:
    p = torch.nn.Parameter(torch.rand(4, 4) + 0.1)
    with pytest.raises(ValueError, match=f"^{name}:"):
        cls([p], **kwargs)


def test_bad_value_in_a_param_group_is_caught() -> None:
    a, b = torch.nn.Parameter(torch.rand(3) + 0.1), torch.nn.Parameter(torch.rand(3) + 0.1)
    with pytest.raises(ValueError, match="^lr:"):
        Madam([{"params": [a]}, {"params": [b], "lr": -0.5}])
    with pytest.raises(ValueError, match="^levels:"):
        LogGridMadam([{"params": [a]}, {"params": [b], "levels": 0}])


# ----------------------------------------------------------- LogGridMadam
def test_loggrid_sizes_stay_exactly_on_the_grid_and_signs_never_flip() -> None:
    torch.manual_seed(0)
    p0 = torch.randn(50, 40)
    for rounding in ("stochastic", "nearest"):
        params, opt = _run(lambda ps, r=rounding: LogGridMadam(ps, lr=0.05, rounding=r), [p0],
                           _grads([(50, 40)], 200, scale=5.0))
        p = params[0].detach()
        level, grid = opt.grid_of(params[0])
        assert level.dtype == np.uint8 and level.max() <= 25
        table = torch.from_numpy(grid.sizes().astype(np.float32))
        assert torch.equal(p.abs(), table[torch.from_numpy(level.astype(np.int64))])
        assert torch.equal(torch.sign(p), torch.where(p0 >= 0, 1.0, -1.0))
        assert grid.w_max == pytest.approx(3.0 * float(p0.double().pow(2).mean().sqrt()))
        assert len(np.unique(level)) > 5  # levels moved


def test_loggrid_stochastic_rounding_keeps_the_expected_step() -> None:
    """With a constant gradient sign the mean level drift is lr*|gn|/step per step."""
    n = 20_000
    p = torch.nn.Parameter(torch.full((n,), 0.1))
    opt = LogGridMadam([p], lr=0.01, levels=26, ratio=60.0, rounding="stochastic")
    level0 = opt.state[p]["level"].double().mean().item()
    steps = 50
    for _ in range(steps):
        p.grad = torch.ones(n)  # gn = 1 every step: shrink by 0.01 in log each step
        opt.step()
    drift = opt.state[p]["level"].double().mean().item() - level0
    expected = -steps * 0.01 / LogGrid.bartol().step  # about -3.05 levels
    assert drift == pytest.approx(expected, abs=0.05)


def test_loggrid_nearest_rounding_freezes_small_steps() -> None:
    p = torch.nn.Parameter(torch.full((100,), 0.1))
    opt = LogGridMadam([p], lr=0.01, rounding="nearest")
    before = opt.state[p]["level"].clone()
    for _ in range(100):
        p.grad = torch.ones(100)
        opt.step()
    assert torch.equal(opt.state[p]["level"], before)  # 0.061 levels per step rounds to 0


def test_loggrid_zero_parameter_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="parameter 0 of param group 0 has rms 0"):
        LogGridMadam([torch.nn.Parameter(torch.zeros(3, 3))])


def authors_bbit_madam(n0: np.ndarray, sign: np.ndarray, w_max: float, grads, lr_factor=10.0,
                       base=0.001, bits=12, beta=0.999, g_bound=10.0) -> np.ndarray:
    """B-bit Madam as described by Bernstein et al. (2020), REFERENCES.md: level n counts from the
    top (n = 0 is w_max), |w| = w_max * exp(-base * n), n += round(lr_factor * gn) * sign(w)."""
    n = n0.astype(np.float64).copy()
    v = np.zeros_like(n)
    for t, g in enumerate(grads, start=1):
        v = beta * v + (1 - beta) * g**2
        with np.errstate(invalid="ignore", divide="ignore"):
            gn = np.nan_to_num(g / np.sqrt(v / (1 - beta**t)), nan=0.0)
        gn = np.clip(gn, -g_bound, g_bound)
        n = np.clip(n + np.floor(lr_factor * gn * sign + 0.5), 0, 2**bits - 1)
    return sign * w_max * np.exp(-base * n)


def test_12bit_setting_is_the_authors_bbit_madam() -> None:
    torch.manual_seed(0)
    w0 = torch.randn(30, 20, dtype=torch.float64)
    p = torch.nn.Parameter(w0.clone())
    opt = LogGridMadam([p], lr=0.01, levels=4096, step=0.001, rounding="nearest", init="uniform",
                       generator=torch.Generator().manual_seed(5))
    k0 = opt.state[p]["level"].numpy().astype(np.int64)
    assert opt.state[p]["level"].dtype == torch.int16
    assert len(np.unique(k0)) > 400  # uniform over 4096 levels, not the initial weights
    sign = np.where(w0.numpy() >= 0, 1.0, -1.0)
    w_max = 3.0 * float(np.sqrt(np.mean(w0.numpy() ** 2)))
    grads = [g[0].numpy() for g in _grads([(30, 20)], 80, seed=2)]
    for g in grads:
        p.grad = torch.from_numpy(g)
        opt.step()
    expected = authors_bbit_madam(4095 - k0, sign, w_max, grads)
    np.testing.assert_allclose(p.detach().numpy(), expected, rtol=1e-9)


# ------------------------------------------------------ additive baselines
def test_dale_sgd_and_adam_silence_synapses_but_keep_signs() -> None:
    torch.manual_seed(0)
    for cls in (DaleSGD, DaleAdam):
        layer = DaleLinear(ei_signs(20), 5)
        opt = cls(param_groups(layer), lr=0.5)
        for _ in range(20):
            opt.zero_grad()
            layer(torch.rand(16, 20)).sum().backward()  # pushes excitatory sizes towards 0
            opt.step()
        assert (layer.size >= 0).all()
        assert (layer.size[:, :16] == 0).float().mean() > 0.5  # silent excitatory synapses
        assert torch.equal(layer.sign, ei_signs(20).view(1, 20))
        assert layer.bias.detach().abs().sum() > 0  # the additive bias moved, unclipped


def test_quantized_sgd_stays_on_its_uniform_grid() -> None:
    torch.manual_seed(0)
    size0 = torch.rand(40, 30)
    params, opt = _run(lambda ps: QuantizedSGD(ps, lr=0.05, levels=26), [size0],
                       _grads([(40, 30)], 50))
    p = params[0].detach()
    w_max = opt.state[params[0]]["w_max"]
    k = p / (w_max / 25)
    assert torch.allclose(k, k.round(), atol=1e-4)
    assert p.min() >= 0 and p.max() <= w_max * (1 + 1e-6)
    assert (p == 0).any()
    with pytest.raises(ValueError, match="negative entries"):
        QuantizedSGD([torch.nn.Parameter(torch.randn(5))])


def test_quantized_sgd_on_the_log_grid_steps_additively_and_unbiased_in_size() -> None:
    torch.manual_seed(0)
    size0 = torch.rand(40, 30) + 0.01
    params, opt = _run(lambda ps: QuantizedSGD(ps, lr=0.05, levels=26, grid="log", generator=_gen()), [size0],
                       _grads([(40, 30)], 50))
    level, grid = opt.grid_of(params[0])
    assert grid.levels == 26 and grid.ratio == 60.0 and level.dtype == np.uint8
    np.testing.assert_allclose(grid.decode(level), params[0].detach().numpy(), rtol=1e-5)
    lo, hi = opt.size_bounds(params[0])
    assert lo == pytest.approx(hi / 60.0) and hi == pytest.approx(grid.w_max)
    # one step from one size: the mean new size is size - lr * g (stochastic rounding, unbiased in size)
    p = torch.nn.Parameter(torch.full((40_000,), 0.5))
    o = QuantizedSGD([p], lr=1.0, p_scale=1.0, grid="log", generator=_gen())
    p.grad = torch.full_like(p, 0.013)
    o.step()
    assert float(p.detach().mean()) == pytest.approx(0.487, abs=6e-4)  # 4 standard errors
    assert len(torch.unique(p)) == 2  # the two grid sizes either side of 0.487
    near = QuantizedSGD([q := torch.nn.Parameter(torch.full((10,), 0.5))], lr=1.0, p_scale=1.0, grid="log",
                        rounding="nearest")
    q.grad = torch.full_like(q, 0.013)
    near.step()
    assert len(torch.unique(q)) == 1
    with pytest.raises(ValueError, match='grid: must be one of'):
        QuantizedSGD([torch.nn.Parameter(torch.rand(5))], grid="linear")


# --------------------------------------------------- state_dict and paths
def _gen() -> torch.Generator:
    return torch.Generator().manual_seed(0)


OPTIMIZERS = {
    "madam": lambda ps: Madam(ps),
    "loggrid_stochastic": lambda ps: LogGridMadam(ps, rounding="stochastic", generator=_gen()),
    "loggrid_nearest_12bit": lambda ps: LogGridMadam(ps, levels=4096, step=0.001,
                                                     rounding="nearest", generator=_gen()),
    "quantized_sgd": lambda ps: QuantizedSGD(ps, lr=0.05, generator=_gen()),
    "quantized_sgd_log": lambda ps: QuantizedSGD(ps, lr=0.05, grid="log", generator=_gen()),
    "dale_adam": lambda ps: DaleAdam(ps, lr=0.01),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_state_dict_round_trip_resumes_bit_identically(name: str) -> None:
    torch.manual_seed(0)
    p0 = [torch.rand(64, 32) + 0.05, torch.rand(10) + 0.05]
    grads = _grads([(64, 32), (10,)], 30, seed=3)
    make = OPTIMIZERS[name]
    straight, _ = _run(make, p0, grads)

    params = [torch.nn.Parameter(p.clone()) for p in p0]
    opt = make(params)
    for gs in grads[:12]:
        for p, g in zip(params, gs, strict=True):
            p.grad = g.float()
        opt.step()
    saved_params = [p.detach().clone() for p in params]
    saved_state = copy.deepcopy(opt.state_dict())
    del opt
    resumed = [torch.nn.Parameter(p.clone()) for p in saved_params]
    opt2 = make([torch.nn.Parameter(p.clone()) for p in p0])  # fresh construction, then load
    opt2.param_groups[0]["params"] = resumed  # rebind to the restored parameters
    opt2.state.clear()
    opt2.load_state_dict(saved_state)
    for gs in grads[12:]:
        for p, g in zip(resumed, gs, strict=True):
            p.grad = g.float()
        opt2.step()
    for a, b in zip(straight, resumed, strict=True):
        assert torch.equal(a.detach(), b.detach())


@pytest.mark.parametrize("cls", [Madam, LogGridMadam])
def test_foreach_equals_single_tensor(cls) -> None:
    torch.manual_seed(0)
    p0 = [torch.randn(33, 17), torch.randn(5, 7, 3), torch.randn(100)]
    grads = _grads([p.shape for p in p0], 25, seed=4, scale=2.0)
    kw = {"generator": _gen()} if cls is LogGridMadam else {}
    a, _ = _run(lambda ps: cls(ps, foreach=False, fused=False, **kw), p0, grads)
    kw = {"generator": _gen()} if cls is LogGridMadam else {}
    b, _ = _run(lambda ps: cls(ps, foreach=True, fused=False, **kw), p0, grads)
    for x, y in zip(a, b, strict=True):
        assert torch.equal(x.detach(), y.detach())


@pytest.mark.fused
@pytest.mark.parametrize("rounding", ["stochastic", "nearest"])
def test_fused_kernel_agrees_with_the_eager_path(rounding: str) -> None:
    torch.manual_seed(0)
    p0 = [torch.randn(700, 600), torch.randn(300)]  # large enough to be split across threads
    grads = _grads([p.shape for p in p0], 10, seed=5, scale=2.0)

    def groups(ps):
        return [{"params": [ps[0]]}, {"params": [ps[1]], "rule": "additive"}]

    eager, _ = _run(lambda ps: Madam(groups(ps), fused=False), p0, grads)
    fused, _ = _run(lambda ps: Madam(groups(ps), fused=True), p0, grads)
    for x, y in zip(eager, fused, strict=True):
        torch.testing.assert_close(x.detach(), y.detach(), rtol=2e-6, atol=1e-9)
    eager, o1 = _run(lambda ps: LogGridMadam(groups(ps), rounding=rounding, fused=False,
                                             generator=torch.Generator().manual_seed(0)), p0, grads)
    fused, o2 = _run(lambda ps: LogGridMadam(groups(ps), rounding=rounding, fused=True,
                                             generator=torch.Generator().manual_seed(0)), p0, grads)
    assert torch.equal(o1.state[eager[0]]["level"], o2.state[fused[0]]["level"])
    assert torch.equal(eager[0].detach(), fused[0].detach())
    torch.testing.assert_close(eager[1].detach(), fused[1].detach(), rtol=2e-6, atol=1e-9)


def test_param_groups_splits_synapses_from_biases() -> None:
    model = torch.nn.Sequential(DaleLinear(torch.ones(4), 3), torch.nn.Linear(3, 2))
    groups = param_groups(model, lr=1e-3)
    assert [len(g["params"]) for g in groups] == [2, 2]
    assert groups[1]["rule"] == "additive" and groups[1]["lr"] == 1e-3
    assert any(p is model[0].size for p in groups[0]["params"])
    assert groups[0].get("rule") is None and "lr" not in groups[0]  # the synapse group keeps the defaults


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_a_zero_dimensional_parameter_steps_like_any_other(name: str) -> None:
    """A learnable scalar (snnTorch's ``beta``) in the synapse group: no crash, and it moves."""
    p = torch.nn.Parameter(torch.tensor(0.9))
    q = torch.nn.Parameter(torch.rand(3, 2, generator=_gen()) + 0.1)
    opt = OPTIMIZERS[name]([p, q])
    for _ in range(5):
        opt.zero_grad()
        (p * q).sum().backward()
        opt.step()
    assert p.shape == () and torch.isfinite(p).all() and float(p.detach()) != 0.9


@pytest.mark.parametrize("fused", [pytest.param(True, marks=pytest.mark.fused), False])
def test_every_torch_path_renders_the_specs_reference_arithmetic(fused: bool) -> None:
    """Three steps of LogGridMadam (nearest rounding, so nothing is random) against
    GridMadamSpec.normalised and .level_update evaluated per synapse in float64."""
    from neurosim.rules.spec import GridMadamSpec

    spec = GridMadamSpec.of(lr=0.4, beta=0.9, rounding="nearest")
    gen = torch.Generator().manual_seed(3)
    p = torch.nn.Parameter(torch.randn(12, 9, generator=gen))
    opt = LogGridMadam([p], lr=0.4, beta=0.9, rounding="nearest", fused=fused)
    sign = np.sign(p.detach().numpy().ravel())
    v = np.zeros(p.numel())
    moved = 0
    for t in (1, 2, 3):
        g = torch.randn(p.shape, generator=gen) * 10.0 ** (t - 2)
        p.grad = g.clone()
        before = opt.state[p]["level"].numpy().ravel().astype(int)
        opt.step()
        after = opt.state[p]["level"].numpy().ravel().astype(int)
        expect = []
        for i, gi in enumerate(g.numpy().ravel().astype(np.float64)):
            gn, v[i] = spec.madam.normalised(gi, v[i], t)
            expect.append(spec.level_update(int(before[i]), gn, sign[i], spec.grid.offset))
        assert np.array_equal(after, expect), (t, np.flatnonzero(after != np.asarray(expect))[:5])
        moved += int((after != before).sum())
    assert moved > p.numel()  # the comparison is not between two levels that never move


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_a_schedule_that_takes_the_lr_to_zero_steps_and_keeps_the_grid(name: str) -> None:
    """CosineAnnealingLR ends at lr 0 (the constructor refuses 0, a scheduler may set it)."""
    q = torch.nn.Parameter(torch.rand(4, 3, generator=_gen()) + 0.1)
    opt = OPTIMIZERS[name]([q])
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=2)
    for _ in range(2):
        opt.zero_grad()
        q.pow(2).sum().backward()
        opt.step()
        sched.step()
    assert opt.param_groups[0]["lr"] == 0.0
    before = q.detach().clone()
    opt.zero_grad()
    q.pow(2).sum().backward()
    opt.step()
    assert torch.equal(q.detach(), before)  # lr 0: nothing moves
    if hasattr(opt, "grid_of") and opt.grid_of(q) is not None:
        level, grid = opt.grid_of(q)
        np.testing.assert_allclose(grid.decode(level), q.detach().abs().numpy(), rtol=1e-6)
