"""Hostile gradients: NaN, +-inf, huge and tiny values into every optimizer, on every path.

The property test runs in a subprocess, so that a segfault in the fused C kernels (a
NaN cast to an integer index, say) fails the test instead of killing pytest.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import torch

from neurosim.rules import LogGridMadam, Madam, QuantizedSGD

PROPERTY_SCRIPT = textwrap.dedent("""
    import math, sys
    import torch
    from hypothesis import HealthCheck, given, settings, strategies as st
    from neurosim.rules import DaleAdam, DaleSGD, LogGridMadam, Madam, QuantizedSGD, _fused

    HOSTILE = [math.nan, math.inf, -math.inf, 3.0e38, -3.0e38, 1e30, -1e30, 1e-45, -1e-45, 1e-38, 0.0,
               1.0, -1.0]
    PATHS = [dict(fused=False, foreach=False), dict(fused=False, foreach=True)]
    if _fused.available():
        PATHS.append(dict(fused=True))
    elif sys.argv[1] == "ci":
        raise SystemExit("fused kernels unavailable under CI")

    values = st.one_of(st.sampled_from(HOSTILE), st.floats(width=32, allow_nan=True, allow_infinity=True))

    def grad_like(p, draw_vals):
        flat = torch.tensor(draw_vals[: p.numel()] + [0.0] * max(0, p.numel() - len(draw_vals)),
                            dtype=torch.float32)
        return flat.view_as(p)

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(st.lists(values, min_size=24, max_size=24), min_size=1, max_size=4),
           st.integers(0, len(PATHS) - 1), st.sampled_from(["stochastic", "nearest"]),
           st.sampled_from([26, 300]))
    def check(steps, path_i, rounding, levels):
        path = PATHS[path_i]
        torch.manual_seed(0)
        for name in ("madam", "loggrid", "quantized", "dale_sgd", "dale_adam"):
            size = torch.rand(4, 6) + 0.05
            p = torch.nn.Parameter(size if name in ("quantized", "dale_sgd", "dale_adam") else torch.randn(4, 6))
            if name == "madam":
                opt = Madam([p], **path)
            elif name == "loggrid":
                opt = LogGridMadam([p], levels=levels, rounding=rounding, **path)
            elif name == "quantized":
                opt = QuantizedSGD([p], levels=min(levels, 256), rounding=rounding)
            elif name == "dale_sgd":
                opt = DaleSGD([p], lr=0.1)
            else:
                opt = DaleAdam([p], lr=0.1)
            fed_bad = 0
            for vals in steps:
                p.grad = grad_like(p, vals)
                fed_bad += int((~torch.isfinite(p.grad)).sum())
                opt.step()
            if name in ("madam", "loggrid", "quantized"):
                assert torch.isfinite(p).all(), (name, path)
                assert opt.nonfinite_count() == fed_bad, (name, opt.nonfinite_count(), fed_bad)
                for state in opt.state.values():
                    assert torch.isfinite(state.get("exp_avg_sq", torch.zeros(1))).all()
            if name == "loggrid":
                level, grid = opt.grid_of(p)
                assert level.min() >= 0 and level.max() <= levels - 1
                table = torch.as_tensor(grid.sizes(), dtype=torch.float32)
                assert torch.equal(p.detach().abs(), table[torch.as_tensor(level).long()])
            if name == "quantized":
                st_ = opt.state[p]
                assert int(st_["level"].min()) >= 0 and int(st_["level"].max()) <= min(levels, 256) - 1

    check()
    print("ok")
""")


def test_every_optimizer_and_path_survives_hostile_gradients() -> None:
    import os

    mode = "ci" if os.environ.get("CI", "").lower() in ("1", "true", "yes") else "local"
    proc = subprocess.run([sys.executable, "-c", PROPERTY_SCRIPT, mode], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode != -11, "segmentation fault:\n" + proc.stderr[-3000:]
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().endswith("ok")


@pytest.mark.parametrize("fused", [pytest.param(True, marks=pytest.mark.fused), False])
def test_nan_gradient_leaves_loggrid_weights_on_the_grid_and_counts(fused: bool) -> None:
    torch.manual_seed(0)
    p = torch.nn.Parameter(torch.randn(30, 20))
    opt = LogGridMadam([p], fused=fused)
    before = opt.state[p]["level"].clone()
    p.grad = torch.full_like(p, float("nan"))
    opt.step()
    assert torch.equal(opt.state[p]["level"], before)  # a skipped entry does not move
    assert opt.nonfinite_count() == p.numel()
    p.grad = torch.ones_like(p)
    opt.step()  # an ordinary step afterwards still moves synapses
    assert not torch.equal(opt.state[p]["level"], before)


def test_infinite_squared_gradient_does_not_freeze_the_second_moment() -> None:
    p = torch.nn.Parameter(torch.ones(8))
    opt = Madam([p], fused=False)
    p.grad = torch.full_like(p, 3e38)  # its square overflows float32
    opt.step()
    v = opt.state[p]["exp_avg_sq"]
    assert torch.isfinite(v).all() and float(v.max()) == torch.finfo(torch.float32).max
    assert opt.nonfinite_count() == 0  # finite gradients are not skipped


def test_counters_survive_a_state_dict_round_trip_exactly() -> None:
    p = torch.nn.Parameter(torch.rand(5, 5) + 0.1)
    for cls in (Madam, LogGridMadam, QuantizedSGD):
        opt = cls([p])
        p.grad = torch.full_like(p, float("inf"))
        opt.step()
        sd = opt.state_dict()
        opt2 = cls([p])
        opt2.load_state_dict(sd)
        state = opt2.state[p]
        assert state["nonfinite"].dtype == torch.int64 and int(state["nonfinite"]) == 25, cls
        if "level" in state:
            assert not state["level"].is_floating_point()


@pytest.mark.fused
def test_state_loaded_from_another_model_is_refused_not_read_out_of_bounds() -> None:
    a, b = torch.nn.Parameter(torch.randn(4, 4)), torch.nn.Parameter(torch.randn(40, 40))
    opt_a, opt_b = LogGridMadam([a]), LogGridMadam([b])
    opt_b.load_state_dict(opt_a.state_dict())  # torch checks the group sizes, not the shapes
    b.grad = torch.ones_like(b)
    with pytest.raises(ValueError, match="loaded from another model"):
        opt_b.step()


def test_grid_too_wide_for_float32_is_refused() -> None:
    p = torch.nn.Parameter(torch.randn(4, 4))
    with pytest.raises(ValueError, match="^ratio: must be <= 1e"):
        LogGridMadam([p], ratio=1e308)
    small = torch.nn.Parameter(torch.randn(4, 4) * 1e-12)  # its smallest grid size underflows float32
    with pytest.raises(ValueError, match="^ratio: the grid"):
        LogGridMadam([small], ratio=1e30)
