"""Tests of the size-change scaling (multiplicative vs additive dynamics)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from neurosim.analysis.dynamics import size_change_scaling  # noqa: E402
from neurosim.snapshot import Projection, Snapshot  # noqa: E402


def _sizes(n=8000, seed=0):
    rng = np.random.default_rng(seed)
    return rng, np.exp(rng.normal(0.0, 1.0, n))


def test_multiplicative_gives_slope_one():
    rng, s0 = _sizes()
    s1 = s0 * np.exp(0.1 * rng.standard_normal(s0.size))
    r = size_change_scaling(s0, s1, n_boot=100)
    assert r.ci[0] <= 1.0 <= r.ci[1]
    assert r.slope == pytest.approx(1.0, abs=0.05)
    assert r.ci[1] - r.ci[0] < 0.15
    assert r.n_zero_excluded == 0


def test_additive_gives_slope_zero():
    rng, s0 = _sizes(seed=1)
    s1 = s0 + 0.01 * rng.standard_normal(s0.size)
    s1 = np.abs(s1)  # keep sizes >= 0 without zeros
    r = size_change_scaling(s0, s1, n_boot=100)
    assert r.ci[0] <= 0.0 <= r.ci[1] or abs(r.slope) < 0.05
    assert abs(r.slope) < 0.1
    assert r.ci[1] < 0.5  # clearly not multiplicative


def test_intermediate_exponent_recovered():
    rng, s0 = _sizes(seed=2)
    s1 = s0 + 0.02 * s0**0.5 * rng.standard_normal(s0.size)
    r = size_change_scaling(np.abs(s0), np.abs(s1), n_boot=100)
    assert r.slope == pytest.approx(0.5, abs=0.08)


def test_zeros_excluded_and_counted():
    rng, s0 = _sizes(seed=3)
    s1 = s0 * np.exp(0.1 * rng.standard_normal(s0.size))
    s0[:50] = 0.0
    s1[50:80] = 0.0
    r = size_change_scaling(s0, s1, n_boot=50)
    assert r.n_zero_excluded == 80
    assert r.n_used == s0.size - 80
    assert r.slope == pytest.approx(1.0, abs=0.06)
    assert "80 zero excluded" in r.markdown()


def test_snapshots_and_plot():
    rng, s0 = _sizes(n=3000, seed=4)
    s1 = s0 * np.exp(0.05 * rng.standard_normal(s0.size))

    def snap(s, step):
        proj = Projection(sign=np.ones(s.size, np.int8), size=s.astype(np.float32), unit="nS")
        return Snapshot(projections={"ee": proj}, meta={"step": step, "rule": "x", "seed": 0})

    r = size_change_scaling(snap(s0, 0), snap(s1, 10), n_boot=50)
    assert r.unit == "nS"
    assert r.slope == pytest.approx(1.0, abs=0.1)
    ax = r.plot()
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert "nS" in ax.get_xlabel() and "nS" in ax.get_ylabel()


def test_bad_input():
    with pytest.raises(ValueError, match="before, after"):
        size_change_scaling(np.ones(10), np.ones(11))
    with pytest.raises(ValueError, match="after"):
        size_change_scaling(np.ones(1000), -np.ones(1000))
    with pytest.raises(ValueError, match="min_count"):
        size_change_scaling(np.ones(100), np.ones(100), min_count=1)
    rng, s0 = _sizes(n=500, seed=5)
    with pytest.raises(ValueError, match="min_count"):
        size_change_scaling(s0, s0 * 1.0, n_boot=20)  # no change at all
