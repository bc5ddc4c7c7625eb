"""Tests of level occupancy, dynamic range, pair CV and Bartol's distinguishable sizes."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from scipy.special import erfinv  # noqa: E402

from neurosim.analysis import precision as P  # noqa: E402
from neurosim.analysis import reference  # noqa: E402
from neurosim.lns import LogGrid  # noqa: E402


def test_bartol_z_and_count():
    assert P.BARTOL_Z == pytest.approx(math.sqrt(2) * erfinv(0.69))
    assert 1.01 < P.BARTOL_Z < 1.02
    ref = reference.load("bartol2015")
    n = P.distinguishable_sizes(ref["pair_cv_median"], ref["size_ratio"])
    assert n == pytest.approx(26.3, abs=0.05)
    assert round(n) == ref["n_levels"]
    assert P.capacity_bits(round(n)) == pytest.approx(ref["bits"], abs=0.01)


def test_distinguishable_sizes_monotone_and_inverse():
    # Finer precision -> more sizes; wider range -> more sizes.
    assert P.distinguishable_sizes(0.05) > P.distinguishable_sizes(0.1)
    assert P.distinguishable_sizes(0.1, ratio=100) > P.distinguishable_sizes(0.1, ratio=10)
    # Inverse: N sizes spaced by factor (1 + 2 cv z) span exactly ratio.
    cv, z = 0.07, 1.3
    step = 1 + 2 * cv * z
    ratio = step**17
    assert P.distinguishable_sizes(cv, ratio, z=z) == pytest.approx(17.0)


@pytest.mark.parametrize("bad", [0.0, -0.1, float("nan")])
def test_distinguishable_sizes_bad_cv(bad):
    with pytest.raises(ValueError, match="cv"):
        P.distinguishable_sizes(bad)


def test_pair_cv_conventions():
    a, b = np.array([1.0, 2.0, 0.0]), np.array([1.2, 2.0, 0.0])
    cv1 = P.pair_cv(a, b)
    np.testing.assert_allclose(cv1[:2], [np.std([1.0, 1.2], ddof=1) / 1.1, 0.0])
    assert np.isnan(cv1[2])
    cv0 = P.pair_cv(a, b, ddof=0)
    np.testing.assert_allclose(cv0[0], np.std([1.0, 1.2]) / 1.1)
    assert cv1[0] == pytest.approx(math.sqrt(2) * cv0[0])


def test_pair_cv_recovers_noise_level():
    """Pairs sharing a true size with 8.3 % multiplicative noise have median CV near 0.083*c."""
    rng = np.random.default_rng(0)
    true = np.exp(rng.normal(0, 1, 20000))
    sd = 0.083
    a = true * (1 + sd * rng.standard_normal(true.size))
    b = true * (1 + sd * rng.standard_normal(true.size))
    # |a-b|/(sqrt2 * mean) ~ |N(0, sd)| -> median sd * 0.6745
    med = np.median(P.pair_cv(a, b))
    assert med == pytest.approx(sd * 0.6745, rel=0.05)


def test_pair_cv_shape_mismatch():
    with pytest.raises(ValueError, match="same shape"):
        P.pair_cv([1.0, 2.0], [1.0])


def test_level_occupancy_uniform_and_partial():
    occ = P.level_occupancy(np.repeat(np.arange(8), 5), 8)
    assert occ.entropy_bits == pytest.approx(3.0)
    assert occ.capacity_bits == pytest.approx(3.0)
    assert occ.levels_in_use == 8
    occ2 = P.level_occupancy([0, 0, 1, 1], 26)
    assert occ2.entropy_bits == pytest.approx(1.0)
    assert occ2.levels_in_use == 2
    assert occ2.capacity_bits == pytest.approx(math.log2(26))
    np.testing.assert_allclose(occ2.fractions.sum(), 1.0)


def test_level_occupancy_from_grid():
    grid = LogGrid(levels=26, ratio=60.0)
    rng = np.random.default_rng(1)
    sizes = np.exp(rng.uniform(np.log(1 / 60), 0, 50000))  # log-uniform over the grid
    occ = P.level_occupancy(grid.encode(sizes), grid.levels)
    # Log-uniform on the grid: inner levels equally used, end levels half -> near capacity.
    assert 4.55 < occ.entropy_bits < occ.capacity_bits


@pytest.mark.parametrize(
    ("levels", "n", "match"),
    [([0, 26], 26, "levels"), ([-1], 4, "levels"), ([0.5], 4, "levels"), ([0], 1, "n_levels")],
)
def test_level_occupancy_bad(levels, n, match):
    with pytest.raises(ValueError, match=match):
        P.level_occupancy(levels, n)


def test_occupancy_plot():
    ax = P.level_occupancy([0, 1, 1, 2], 4).plot()
    assert len(ax.patches) == 4
    assert "level" in ax.get_xlabel()


def test_dynamic_range_quantiles_ignore_zeros():
    rng = np.random.default_rng(2)
    s = np.exp(rng.normal(0, 1, 100000))
    expected = math.exp(2 * 2.3263)  # z(0.99) = 2.3263
    assert P.dynamic_range(s) == pytest.approx(expected, rel=0.05)
    with_zeros = np.concatenate([s, np.zeros(50000)])
    assert P.dynamic_range(with_zeros) == pytest.approx(P.dynamic_range(s))
    assert P.dynamic_range(s, 0.0, 1.0) == pytest.approx(s.max() / s.min())


def test_dynamic_range_bad():
    with pytest.raises(ValueError, match="lo, hi"):
        P.dynamic_range([1.0, 2.0], lo=0.5, hi=0.4)
    with pytest.raises(ValueError, match="sizes"):
        P.dynamic_range([1.0, -2.0])
    with pytest.raises(ValueError, match="non-zero"):
        P.dynamic_range([0.0, 0.0, 1.0])


def test_precision_report_markdown():
    rng = np.random.default_rng(4)
    s = np.exp(rng.uniform(np.log(1 / 60), 0, 5000))
    s[:10] = 0
    grid = LogGrid()
    true = s[10:1010]
    a = true * (1 + 0.05 * rng.standard_normal(true.size))
    b = true * (1 + 0.05 * rng.standard_normal(true.size))
    rep = P.precision_report(s, levels=grid.encode(s), n_levels=grid.levels, pairs=(a, b))
    assert rep.n_zero == 10 and rep.n_synapses == 5000
    assert rep.samavat_bits == (4.1, 4.59)
    assert rep.bartol_bits == 4.7
    expected_n = P.distinguishable_sizes(rep.median_pair_cv, rep.dynamic_range)
    assert rep.n_distinguishable == pytest.approx(expected_n)
    md = rep.markdown()
    assert md.startswith("|") and "Samavat" in md and "bits" in md
    with pytest.raises(ValueError, match="n_levels"):
        P.precision_report(s, levels=grid.encode(s))
