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


# ------------------------------------------------------------- changes at every interval
def _walk(kind: str, n: int = 400, T: int = 300, seed: int = 0):
    rng = np.random.default_rng(seed)
    ls = rng.normal(0.0, 0.6, n)
    out = [np.exp(ls)]
    for _ in range(T - 1):
        if kind == "multiplicative":
            ls = ls + rng.normal(0.0, 0.03, n)
        elif kind == "reverting":
            ls = ls - 0.02 * ls + rng.normal(0.0, 0.03, n)
        elif kind == "bounded":
            ls = np.minimum(ls + rng.normal(0.0, 0.05, n), 0.5)  # a clip at e^0.5
        if kind == "additive":
            out.append(np.maximum(out[-1] + rng.normal(0.0, 0.02, n), 1e-3))
        else:
            out.append(np.exp(ls))
    return np.arange(T, dtype=float), np.array(out)


def test_interval_scaling_tells_multiplicative_from_additive_changes() -> None:
    from neurosim.analysis.dynamics import interval_scaling

    t, s = _walk("multiplicative")
    mult = interval_scaling(t, s)
    assert [r.interval for r in mult.rows][:3] == [1.0, 2.0, 4.0] and mult.rows[-1].interval == 299.0
    for r in mult.rows[:5]:
        assert abs(r.slope - 1.0) < 0.15, r
        assert abs(r.drift) < 0.02, r  # a free walk in log size: no pull back
    t, s = _walk("additive")
    add = interval_scaling(t, s)
    assert abs(add.rows[0].slope) < 0.2, add.rows[0]


def test_interval_scaling_measures_mean_reversion_and_turnover() -> None:
    from neurosim.analysis.dynamics import HEADLINE_FRACTION, interval_scaling

    t, s = _walk("reverting")
    rev = interval_scaling(t, s)
    r8 = rev.row(8.0)
    assert r8.drift == pytest.approx(-(1 - 0.98**8), abs=0.05)  # OU in log size: -(1 - e^{-theta k})
    assert r8.drift_ci[1] < 0
    # the correlation of ln size decays; turnover where it reaches 1/e, the headline a tenth of it
    assert rev.turnover_reached and 20 < rev.turnover < 200
    assert rev.headline.interval == pytest.approx(HEADLINE_FRACTION * rev.turnover, rel=1.0)
    t, s = _walk("multiplicative")
    free = interval_scaling(t, s)
    assert not free.turnover_reached and "longer than" in free.note


def test_interval_scaling_excludes_bounds_without_faking_reversion() -> None:
    from neurosim.analysis.dynamics import interval_scaling

    t, s = _walk("bounded")
    at = s >= np.exp(0.5) * (1 - 1e-9)
    res = interval_scaling(t, s, at_bound=at, bounds=(0.0, float(np.exp(0.5))))
    for r in res.rows[:4]:
        assert r.n_excluded > 0 and abs(r.drift) < 0.03, r  # a free walk stays free near the clip


# ------------------------------------------------------------------ stationarity (two starts)
def test_two_starts_converge_only_when_their_distributions_agree() -> None:
    from neurosim.analysis.stationarity import compare_starts, ks_distance, ks_threshold
    from neurosim.lns import LogGrid

    rng = np.random.default_rng(0)
    grid = LogGrid(26, 60.0, 1.0)
    n = 1000
    # calibration: two samples of one binned log-normal (ties on 26 levels) pass ~95 % of the time
    passes = 0
    for _ in range(60):
        a = grid.decode(grid.encode(rng.lognormal(-2.0, 0.8, n)))
        b = grid.decode(grid.encode(rng.lognormal(-2.0, 0.8, n)))
        passes += ks_distance(a, b) <= ks_threshold(a, b, n_perm=100, rng=rng)
    assert passes >= 52  # >= 87 % of 60 (expected 95 %)
    # the tabulated no-ties threshold 1.36 * sqrt(2 / n) is not what the grid needs
    a = grid.decode(grid.encode(rng.lognormal(-2.0, 0.8, n)))
    b = grid.decode(grid.encode(rng.lognormal(-2.0, 0.8, n)))
    assert ks_threshold(a, b, n_perm=200, rng=rng) < 1.36 * np.sqrt(2 / n)
    # two starts that converge: far apart at first, drawn from one distribution from t = 3 on
    times = np.arange(6.0)
    sa = [rng.uniform(0.01, 1, n) if t < 3 else rng.lognormal(-2, 0.8, n) for t in times]
    sb = [rng.lognormal(-4, 0.3, n) if t < 3 else rng.lognormal(-2, 0.8, n) for t in times]
    st = compare_starts(times, sa, sb, n_perm=100)
    assert st.reached and st.reached_at in (3.0, 4.0, 5.0) and st.ks[0] > 0.5
    # silent fractions that differ keep the criterion unmet
    sb_silent = [np.where(rng.random(n) < 0.1, 0.0, s) for s in sa]
    assert not compare_starts(times, sa, sb_silent, n_perm=50).reached
    # and distributions that never agree never pass
    never = compare_starts(times, [rng.lognormal(-2, 0.8, n) for _ in times],
                           [rng.lognormal(-2.3, 0.8, n) for _ in times], n_perm=50)
    assert not never.reached and never.summary()["reached_at"] is None
    with pytest.raises(ValueError, match="one array per time"):
        compare_starts(times, sa[:2], sb)


def test_traces_of_a_diverged_network_give_a_nan_weight_sign_zero_without_a_warning():
    import warnings

    import torch

    from neurosim.traces import TraceRecorder

    layer = torch.nn.Linear(4, 3)
    rec = TraceRecorder(layer, None, n=12, seed=0)
    with torch.no_grad():
        layer.weight[0, 0] = float("nan")
    rec.record(1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tr = rec.traces()
    sign = tr.projections["weight"].sign
    assert sign[0] == 0 and set(np.unique(sign[1:])) <= {-1, 1}
