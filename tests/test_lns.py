"""The log grid: formula, presets, rounding, saturation, bad input, compact storage."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from neurosim.lns import LogGrid, pack_bits, pack_layer, unpack_bits


def test_sizes_follow_the_formula() -> None:
    g = LogGrid(levels=26, ratio=60.0, w_max=2.0)
    k = np.arange(26)
    expected = 2.0 * 60.0 ** ((k - 25) / 25)
    np.testing.assert_allclose(g.sizes(), expected, rtol=1e-12)
    assert g.sizes()[0] == pytest.approx(2.0 / 60.0)
    assert g.step == pytest.approx(math.log(60.0) / 25)
    assert g.bits == pytest.approx(math.log2(26))


def test_presets() -> None:
    b = LogGrid.bartol(w_max=0.5)
    assert (b.levels, b.ratio, b.w_max) == (26, 60.0, 0.5)
    assert "Bartol" in LogGrid.bartol.__doc__ and "eLife" in LogGrid.bartol.__doc__
    m = LogGrid.from_bits(12, 0.001)
    assert m.levels == 4096
    assert m.step == pytest.approx(0.001)
    assert m.ratio == pytest.approx(math.exp(4.095))  # about 60x, like Bartol's range
    assert 59 < m.ratio < 61
    assert m.dtype == np.int16 and b.dtype == np.uint8  # one level dtype everywhere (see lns.level_dtype)


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [({"levels": 1}, "levels"), ({"levels": 2.5}, "levels"), ({"ratio": 1.0}, "ratio"),
     ({"ratio": float("nan")}, "ratio"), ({"w_max": 0.0}, "w_max"), ({"w_max": -1.0}, "w_max")],
)
def test_bad_grid_parameters_name_the_parameter(kwargs: dict, word: str) -> None:
    with pytest.raises(ValueError, match=f"^{word}:"):
        LogGrid(**kwargs)


def test_from_bits_and_step_validation() -> None:
    with pytest.raises(ValueError, match="^bits:"):
        LogGrid.from_bits(0, 0.001)
    with pytest.raises(ValueError, match="^step:"):
        LogGrid.from_bits(8, -0.01)


@given(k=st.lists(st.integers(0, 25), min_size=1, max_size=50))
def test_decode_encode_round_trip(k: list[int]) -> None:
    g = LogGrid.bartol(w_max=3.0)
    levels = np.array(k)
    for rounding in ("nearest", "stochastic"):
        np.testing.assert_array_equal(g.encode(g.decode(levels), rounding=rounding), levels)


def test_nearest_rounding_is_floor_x_plus_half() -> None:
    g = LogGrid(levels=5, ratio=math.exp(4.0))  # step 1.0 in log
    # continuous positions 1.5 (tie -> up), 1.49, 2.51
    pos = np.array([1.5, 1.49, 2.51])
    sizes = g.w_max * np.exp(pos - 4.0)
    np.testing.assert_array_equal(g.encode(sizes), [2, 1, 3])


def test_saturation_zero_negative_nan() -> None:
    g = LogGrid.bartol()
    np.testing.assert_array_equal(g.encode(np.array([0.0, 1e-9, 5.0, np.inf])), [0, 0, 25, 25])
    with pytest.raises(ValueError, match="must be >= 0"):
        g.encode(np.array([0.1, -0.2]))
    with pytest.raises(ValueError, match="NaN"):
        g.encode(np.array([0.1, np.nan]))
    with pytest.raises(ValueError, match="^level:"):
        g.decode(np.array([26]))
    with pytest.raises(ValueError, match="^rounding:"):
        g.encode(np.array([0.1]), rounding="up")


@settings(max_examples=25, deadline=None)
@given(pos=st.floats(0.0, 24.999), seed=st.integers(0, 2**16))
def test_stochastic_rounding_is_unbiased_in_log_size(pos: float, seed: int) -> None:
    """E[log decode(encode(s))] equals log s inside the grid (rounds up w.p. the fraction)."""
    g = LogGrid.bartol()
    size = g.w_max * math.exp((pos - 25) * g.step)
    n = 20_000
    k = g.encode(np.full(n, size), rounding="stochastic", generator=np.random.default_rng(seed))
    assert set(np.unique(k)) <= {math.floor(pos), math.floor(pos) + 1}
    mean_log = np.log(g.decode(k)).mean()
    frac = pos - math.floor(pos)
    se = g.step * math.sqrt(frac * (1 - frac) / n) + 1e-12
    assert abs(mean_log - math.log(size)) <= 5 * se + 1e-9


def test_torch_in_torch_out_and_generator() -> None:
    g = LogGrid.bartol()
    x = torch.tensor([1.0, 0.1, 1 / 60])
    k = g.encode(x)
    assert isinstance(k, torch.Tensor) and k.dtype == torch.int64
    assert k.tolist() == g.encode(x.numpy()).tolist()
    a = g.encode(torch.full((1000,), 0.3), "stochastic", torch.Generator().manual_seed(1))
    b = g.encode(torch.full((1000,), 0.3), "stochastic", torch.Generator().manual_seed(1))
    assert torch.equal(a, b)
    assert isinstance(g.decode(k), torch.Tensor)
    with pytest.raises(ValueError, match="must be >= 0"):
        g.encode(torch.tensor([-1.0]))


def test_lns_does_not_import_torch_at_module_load() -> None:
    import subprocess
    import sys

    code = "import sys, neurosim.lns; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


@given(bits=st.integers(1, 16), data=st.data())
def test_bit_packing_round_trip(bits: int, data: st.DataObject) -> None:
    values = np.array(data.draw(st.lists(st.integers(0, 2**bits - 1), max_size=40)), dtype=np.int64)
    np.testing.assert_array_equal(unpack_bits(pack_bits(values, bits), bits, values.size), values)


def test_packed_dale_layer_is_at_most_026_of_float32() -> None:
    rng = np.random.default_rng(0)
    grid = LogGrid.bartol(w_max=0.4)
    post, pre = 300, 500
    level = rng.integers(0, 26, (post, pre))
    pre_sign = np.where(rng.random(pre) < 0.8, 1, -1)
    packed = pack_layer(level, pre_sign, grid)
    ratio = packed.nbytes / (post * pre * 4)
    assert ratio <= 0.26, ratio
    assert ratio < 0.17  # 5 bits per synapse plus one sign byte per presynaptic unit
    np.testing.assert_array_equal(packed.levels(), level)
    expected = (grid.decode(level) * pre_sign[None, :]).astype(np.float32)
    np.testing.assert_array_equal(packed.weight(), expected)
    with pytest.raises(ValueError, match="^pre_sign:"):
        pack_layer(level, pre_sign[:-1], grid)
