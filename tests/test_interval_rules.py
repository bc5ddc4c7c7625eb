"""The factorial interval rules, consolidation, null controls and stochastic release (Brian2, runtime).

Each rule is driven with eligibilities written straight into ``elig`` (no spikes), so its
update can be checked against the arithmetic it claims; the nulls and release are checked
on small networks.
"""

from __future__ import annotations

import math

import brian2 as b2
import numpy as np
import pytest
from brian2 import Hz, ms

from neurosim.analysis.selectivity import auc, selection_time, size_ratio
from neurosim.lns import LogGrid
from neurosim.rules.spec import MadamSpec
from neurosim.rules.stdp import RULES, make_rule

pytestmark = pytest.mark.brian2


def _drive(rule, signals: np.ndarray, w0: np.ndarray, seed: int = 1) -> tuple[np.ndarray, np.ndarray | None]:
    """Sizes (and levels) after each update of ``rule`` whose eligibility is set to ``signals[k]``."""
    b2.start_scope()
    b2.prefs.codegen.target = "numpy"
    b2.seed(seed)
    n_steps, n = signals.shape
    interval = rule.interval
    pre = b2.NeuronGroup(n, "", threshold="False")
    post = b2.NeuronGroup(1, "ge : 1", threshold="False")
    S = rule.synapses(pre, post, delivery="ge_post += w", w_max=1.0, name="drive")
    S.connect(j="0")
    rule.initialise(S, w0)
    S.namespace["sig"] = b2.TimedArray(signals, dt=interval)
    S.run_regularly("elig = sig(t, i)", dt=interval, when="start", order=-1, name="drive_feed")
    gridded = "level" in S.variables
    mon = b2.StateMonitor(S, ["w"] + (["level"] if gridded else []), record=True, dt=interval, when="start",
                          order=1)
    b2.Network(pre, post, S, mon).run(n_steps * interval)
    return np.asarray(mon.w).T, (np.asarray(mon.level).T.astype(np.int64) if gridded else None)


def test_the_factorial_rules_are_registered_with_their_parameters() -> None:
    assert {"additive_float", "additive_loggrid", "madam_float", "madam_loggrid"} <= set(RULES)
    assert "lr" in RULES["madam_float"].accepts() and "levels" not in RULES["madam_float"].accepts()
    additive_grid = RULES["additive_loggrid"].accepts()
    assert "lr" not in additive_grid and "consolidation_bits" in additive_grid
    with pytest.raises(ValueError, match=r"^consolidation_bits: must be <= 3, got 4"):
        make_rule("madam_loggrid", consolidation_bits=4)
    with pytest.raises(ValueError, match=r"^null: must be one of none, sign, independent"):
        make_rule("madam_float", null="shuffle")
    with pytest.raises(ValueError, match=r"^null_rate: must be a Brian2 quantity in hertz"):
        make_rule("additive", null="independent", null_rate=15.0)


def test_madam_float_is_madam_without_rounding() -> None:
    rng = np.random.default_rng(0)
    n, steps = 30, 60
    signals = rng.normal(size=(steps, n)) * rng.choice([0.01, 1.0], size=(steps, 1))
    w0 = np.exp(rng.uniform(np.log(1 / 60), 0.0, n))
    rule = make_rule("madam_float", lr=0.2, beta=0.9, interval=1 * ms)
    w, _ = _drive(rule, signals, w0)
    spec, expect, v, ref = MadamSpec(0.2, 0.9, 10.0), w0.copy(), np.zeros(n), []
    for t, e in enumerate(signals, start=1):
        for k in range(n):
            gn, v[k] = spec.normalised(e[k], v[k], t)
            expect[k] = min(max(expect[k] * math.exp(0.2 * gn), 1 / 60), 1.0)
        ref.append(expect.copy())
    np.testing.assert_allclose(w, np.array(ref), rtol=1e-10)  # w[k]: after update k + 1
    assert w.min() >= 1 / 60 * (1 - 1e-12) and w.max() <= 1.0


def test_additive_rules_add_the_eligibility_float_and_unbiased_on_the_grid() -> None:
    n = 4000
    signals = np.full((2, n), 0.03)
    w_float, _ = _drive(make_rule("additive_float", interval=1 * ms), signals, np.full(n, 0.5))
    np.testing.assert_allclose(w_float[:, 0], [0.53, 0.56])
    grid = LogGrid(26, 60.0, 1.0)
    start = grid.decode(np.full(n, 20))
    w, level = _drive(make_rule("additive_loggrid", interval=1 * ms), signals[:1], start)
    after = w[-1]
    assert set(np.unique(level[-1])) <= {20, 21}  # the two grid sizes either side of the target
    se = after.std() / math.sqrt(n)
    assert abs(after.mean() - (start[0] + 0.03)) < 4 * se  # unbiased in size
    np.testing.assert_allclose(after, grid.decode(level[-1]), rtol=1e-12)
    # below the smallest size: the lowest level; above w_max: the top
    w, level = _drive(make_rule("additive_loggrid", interval=1 * ms), np.array([[-5.0, 5.0]]),
                      grid.decode(np.array([3, 22])))
    assert level[-1].tolist() == [0, 25]


def test_consolidation_bits_keep_sub_level_steps() -> None:
    steps, n = 20, 5
    signals = np.ones((steps, n))  # a constant signal: gn = 1 after the bias correction
    grid = LogGrid(26, 60.0, 1.0)
    lr = 0.3 * grid.step  # 0.3 levels per update
    w0 = grid.decode(np.full(n, 10))
    _, plain = _drive(make_rule("madam_loggrid", lr=lr, rounding="nearest", interval=1 * ms), signals, w0)
    assert (plain == 10).all()  # nearest rounding loses every 0.3-level step
    _, kept = _drive(make_rule("madam_loggrid", lr=lr, rounding="nearest", interval=1 * ms,
                               consolidation_bits=2), signals, w0)
    # quarter levels: round(1.2) = 1 quarter per update, 20 updates -> 5 levels (of the 6 asked for)
    moved = kept[-1] - 10
    assert (moved >= 4).all() and (moved <= 6).all()
    _, stoch = _drive(make_rule("madam_loggrid", lr=lr, rounding="stochastic", interval=1 * ms,
                                consolidation_bits=3), np.ones((steps, 2000)), grid.decode(np.full(2000, 10)))
    assert abs((stoch[-1] - 10).mean() - 0.3 * steps) < 0.3  # unbiased, as without consolidation


def test_the_sign_null_keeps_the_magnitude_and_removes_the_signal() -> None:
    n, steps = 2000, 10
    signals = np.ones((steps, n))
    w0 = np.full(n, 0.1)
    w, _ = _drive(make_rule("madam_float", lr=0.05, interval=1 * ms), signals, w0)
    assert (w[-1] > w0).all()  # a consistent signal: every size grows
    wn, _ = _drive(make_rule("madam_float", lr=0.05, interval=1 * ms, null="sign"), signals, w0)
    step = np.abs(np.log(wn[2:] / wn[1:-1]))
    np.testing.assert_allclose(step, 0.05, rtol=1e-9)  # the same magnitude every update
    up = np.mean(np.log(wn[-1] / w0) > 0)
    assert 0.4 < up < 0.6  # but a random sign


def test_the_independent_null_pairs_a_ghost_train_with_the_real_postsynaptic_spikes() -> None:
    rule = make_rule("additive_float", interval=10 * ms, null="independent")
    code = rule.code(1.0, "ge_post += w")
    assert "ghost_rate * dt" in code.per_step and "Kpre" not in code.on_pre
    b2.start_scope()
    b2.prefs.codegen.target = "numpy"
    b2.seed(3)
    pre = b2.NeuronGroup(500, "", threshold="False")  # the real inputs never fire
    post = b2.NeuronGroup(1, "ge : 1\ndclock/dt = 1 : second", threshold="clock >= 20*ms",
                          reset="clock = 0*ms")  # 50 Hz, regular
    S = rule.synapses(pre, post, delivery="ge_post += w", w_max=1.0, name="ghost", input_rate=20 * Hz)
    S.connect(j="0")
    rule.initialise(S, 0.5)
    b2.run(2000 * ms)
    change = np.asarray(S.w[:]) - 0.5
    # without the null nothing would move (no presynaptic spikes); with it, ghost pairings do:
    # potentiation lmbda * Kghost per post spike, depression alpha * lmbda * Kpost per ghost spike
    assert np.count_nonzero(change) > 450 and abs(change.mean()) < 0.05
    with pytest.raises(ValueError, match=r"^null_rate: required"):
        rule.synapses(pre, post, delivery="ge_post += w", w_max=1.0, name="ghost2")


def test_release_failures_deliver_nothing_and_pair_with_nothing() -> None:
    b2.start_scope()
    b2.prefs.codegen.target = "numpy"
    b2.seed(4)
    n = 400
    pre = b2.NeuronGroup(n, "dclock/dt = 1 : second", threshold="clock >= 10*ms",
                         reset="clock = 0*ms")  # 100 spikes each in 1 s
    post = b2.NeuronGroup(1, "ge : 1", threshold="False")
    rule = make_rule("additive")
    S = rule.synapses(pre, post, delivery="ge_post += w", w_max=1.0, name="rel", release_probability=0.3)
    S.connect(j="0")
    rule.initialise(S, 0.01)
    b2.run(1000 * ms)
    delivered = float(post.ge[0]) / 0.01
    assert delivered / (n * 100) == pytest.approx(0.3, abs=0.01)
    assert "released = int(rand() < p_release)" in S.pre.code
    assert "Kpre += released" in S.pre.code
    with pytest.raises(ValueError, match=r"^release_probability: must be <= 1"):
        rule.code(1.0, "ge_post += w", release_probability=1.5)


def test_auc_and_selection_time() -> None:
    rng = np.random.default_rng(5)
    group = np.zeros(1000, dtype=bool)
    group[:200] = True
    assert auc(rng.random(1000), group) == pytest.approx(0.5, abs=0.05)
    sizes = rng.random(1000) + group
    assert auc(sizes, group) == 1.0
    assert size_ratio(np.where(group, 2.0, 1.0), group) == 2.0 and math.isnan(size_ratio(np.ones(3), np.ones(3, bool)))
    assert auc(np.ones(1000), group) == 0.5  # ties count one half
    assert math.isnan(auc(np.ones(10), np.zeros(10, dtype=bool)))
    t = np.arange(6.0)
    assert selection_time(t, [0.5, 0.8, 0.7, 0.8, 0.9, 0.95]) == 3.0
    assert math.isnan(selection_time(t, [0.5] * 6))
    with pytest.raises(ValueError, match="group"):
        auc(np.ones(5), np.ones(4, dtype=bool))
