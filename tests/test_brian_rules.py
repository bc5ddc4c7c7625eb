"""Brian2 plasticity rules: validation, code strings, and the cross-back-end test against torch.

The cross-back-end test drives the Madam log-grid rule's eligibility directly from a
2-D ``TimedArray`` (one row per learning update, one column per synapse), read by a
``run_regularly`` that runs just before the rule's own update, and compares the
levels with :class:`neurosim.rules.LogGridMadam` fed the gradient ``-e`` in float64.
"""

from __future__ import annotations

import math

import brian2 as b2
import numpy as np
import pytest
import torch
from brian2 import Hz, ms, mV, nS, second

from neurosim.lns import LogGrid
from neurosim.rules import LogGridMadam
from neurosim.rules.stdp import (
    AdditiveSTDP,
    LogGridMadamSTDP,
    WeightDependentSTDP,
    make_rule,
)

pytestmark = pytest.mark.brian2


# ------------------------------------------------------------------ validation
@pytest.mark.parametrize(
    ("name", "params", "match"),
    [
        ("additive", {"tau_plus": 20}, r"^tau_plus: must be a Brian2 quantity in second"),
        ("additive", {"tau_minus": 20 * mV}, r"^tau_minus: must be a Brian2 quantity in second"),
        ("gutig", {"tau_plus": -5 * ms}, r"^tau_plus: must be > 0"),
        ("gutig", {"mu_plus": 1.5}, r"^mu_plus: must be <= 1"),
        ("gutig", {"alpha": 2 * ms}, r"^alpha: must be dimensionless"),
        ("gutig", {"lmbda": -0.1}, r"^lmbda: must be > 0"),
        ("madam_loggrid", {"levels": 1}, r"^levels: must be >= 2, got 1"),
        ("madam_loggrid", {"levels": 2.5}, r"^levels: must be an integer, got 2.5"),
        ("madam_loggrid", {"interval": 0.1}, r"^interval: must be a Brian2 quantity in second"),
        ("madam_loggrid", {"interval": -1 * ms}, r"^interval: must be > 0"),
        ("madam_loggrid", {"rounding": "up"}, r"^rounding: must be one of"),
        ("madam_loggrid", {"ratio": 1.0}, r"^ratio: must be > 1"),
        ("madam_loggrid", {"beta": 1.0}, r"^beta: must be < 1"),
        ("madam_loggrid", {"mu_plus": 1.0}, r"^mu_plus: not a parameter of rule 'madam_loggrid'"),
        ("vogels", {"eta": 0.1 * nS, "rho0": 5}, r"^rho0: must be a Brian2 quantity in hertz"),
        ("vogels", {"eta": 0.1 * nS, "w_max": 3 * mV}, r"^eta: must be in w_max's unit"),
        ("nonsense", {}, r"^rule: must be one of"),
        ("additive", {"w_max": -0.01}, r"^w_max: must be > 0"),
    ],
)
def test_bad_parameters_give_one_line_naming_the_parameter(name, params, match) -> None:
    with pytest.raises(ValueError, match=match) as info:
        make_rule(name, **params)
    assert "\n" not in str(info.value)


def test_units_are_checked_against_the_network_and_signs_against_the_rule() -> None:
    rule = make_rule("additive", w_max=2 * nS)
    with pytest.raises(ValueError, match=r"^w_max: must be in the network's weight unit \(1\)"):
        rule.resolve_w_max(0.01)
    assert float(rule.resolve_w_max(1 * nS) / nS) == pytest.approx(2.0)
    for name in ("additive", "gutig", "madam_loggrid"):
        with pytest.raises(ValueError, match=r"^rule: .* is an excitatory rule .* inhibitory"):
            make_rule(name).check_sign(-1, where="synapses I->E")
    with pytest.raises(ValueError, match=r"^rule: 'vogels' is an inhibitory rule"):
        make_rule("vogels", eta=0.1 * nS).check_sign(1)


def test_nest_names_and_family_members() -> None:
    r = make_rule("gutig", mu_plus=0.0, mu_minus=1.0, alpha=0.5, **{"lambda": 0.02, "Wmax": 0.01})
    assert isinstance(r, WeightDependentSTDP) and r.lmbda == 0.02 and r.w_max == 0.01
    code = r.code(0.01, "ge_post += w")
    assert code.on_pre.splitlines()[0] == "ge_post += w"
    assert "alpha * lmbda * w * Kpost" in code.on_pre  # multiplicative depression (van Rossum)
    assert "lmbda * w_max * Kpre" in code.on_post  # additive potentiation
    soft = make_rule("gutig").code(0.01)
    assert "(w_max - w)" in soft.on_post and "lmbda * w * Kpost" in soft.on_pre  # Rubin 2001
    add = make_rule("additive").code(0.01)
    assert isinstance(make_rule("additive"), AdditiveSTDP)
    assert "w_max * Kpre" in add.on_post and add.regular is None
    assert "w : 1" in add.model and "w : siemens" in make_rule("additive").code(1 * nS).model
    madam = make_rule("madam_loggrid", interval=50 * ms)
    mc = madam.code(0.01)
    assert mc.regular_dt == 50 * ms and "floor(level + lr_per_step * gn + rand())" in mc.regular
    assert "0.5)" in make_rule("madam_loggrid", rounding="nearest").code(0.01).regular
    assert math.isclose(mc.namespace["lr_per_step"], 0.01 / (math.log(60.0) / 25))


# ------------------------------------------------------------ cross-back-end
def _brian_levels(signals: np.ndarray, level0: np.ndarray, rule: LogGridMadamSTDP, seed: int = 1):
    """Levels after each update of the Brian2 rule whose eligibility is set to ``signals[k]``."""
    n_steps, n = signals.shape
    interval = rule.interval
    b2.start_scope()
    b2.seed(seed)
    pre = b2.NeuronGroup(n, "", threshold="False")
    post = b2.NeuronGroup(1, "ge : 1", threshold="False")
    S = rule.synapses(pre, post, delivery="ge_post += w", w_max=1.0, name="xback")
    S.connect(j="0")
    S.level = level0
    S.w = "w_max * exp((level - (grid_levels - 1)) * grid_step)"
    sig = b2.TimedArray(signals, dt=interval)
    S.namespace["sig"] = sig
    S.run_regularly("elig = sig(t, i)", dt=interval, when="start", order=-1, name="xback_feed")
    mon = b2.StateMonitor(S, ["level", "w"], record=True, dt=interval, when="start", order=1)
    net = b2.Network(pre, post, S, mon)
    net.run(n_steps * interval)
    return np.asarray(mon.level).T.astype(np.int64), np.asarray(mon.w).T


def _torch_levels(signals: np.ndarray, level0: np.ndarray, rule: LogGridMadamSTDP):
    grid = LogGrid(rule.levels, rule.ratio, 1.0)
    # p_scale * rms(w0) is the torch grid's top size; choose p_scale so it equals 1.0
    w0 = torch.from_numpy(grid.decode(level0))
    p = torch.nn.Parameter(w0.clone())
    rms = float(w0.pow(2).mean().sqrt())
    opt = LogGridMadam([p], lr=rule.lr, levels=rule.levels, ratio=rule.ratio, rounding=rule.rounding,
                       beta=rule.beta, g_bound=rule.g_bound, p_scale=1.0 / rms, init="encode",
                       generator=torch.Generator().manual_seed(3))
    assert np.array_equal(opt.state[p]["level"].numpy(), level0)
    out, ws = [], []
    for s in signals:
        p.grad = torch.from_numpy(-s)  # -e plays the part of the gradient
        opt.step()
        out.append(opt.state[p]["level"].numpy().astype(np.int64).copy())
        ws.append(p.detach().numpy().copy())
    return np.array(out), np.array(ws)


def _signals(rng: np.random.Generator, n_steps: int, n: int) -> np.ndarray:
    scale = rng.choice([1e-4, 1e-2, 1.0, 30.0], size=(n_steps, 1))
    s = rng.standard_t(2, size=(n_steps, n)) * scale
    s[:10, :3] = 0.0  # 0/0 -> 0 before any signal
    s[rng.random((n_steps, n)) < 0.1] = 0.0
    return s


def test_nearest_rounding_gives_the_same_level_trajectories_as_torch() -> None:
    rng = np.random.default_rng(0)
    n, n_steps = 40, 120
    signals = _signals(rng, n_steps, n)
    level0 = rng.integers(0, 26, n)
    rule = make_rule("madam_loggrid", lr=0.3, rounding="nearest", interval=1 * ms, beta=0.9)
    bl, bw = _brian_levels(signals, level0, rule)
    tl, tw = _torch_levels(signals, level0, rule)
    assert bl.shape == tl.shape == (n_steps, n)
    assert np.abs(np.diff(np.vstack([level0, tl]), axis=0)).sum() > 200  # levels do move
    np.testing.assert_array_equal(bl, tl)
    np.testing.assert_allclose(bw, tw, rtol=1e-12)  # decoded sizes on the same grid
    # and at the default lr the normalised step rarely reaches a whole level (|gn| >= 8.2)
    rule = make_rule("madam_loggrid", rounding="nearest", interval=1 * ms)
    np.testing.assert_array_equal(_brian_levels(signals, level0, rule)[0],
                                  _torch_levels(signals, level0, rule)[0])


def _chi2_same(a: np.ndarray, b: np.ndarray) -> float:
    from scipy import stats

    lo, hi = min(a.min(), b.min()), max(a.max(), b.max())
    ca = np.bincount(a - lo, minlength=hi - lo + 1)
    cb = np.bincount(b - lo, minlength=hi - lo + 1)
    keep = (ca + cb) >= 10
    table = np.vstack([np.append(ca[keep], ca[~keep].sum()), np.append(cb[keep], cb[~keep].sum())])
    table = table[:, table.sum(axis=0) > 0]
    return float(stats.chi2_contingency(table)[1])


def _changes(levels: np.ndarray, level0: np.ndarray) -> np.ndarray:
    return np.diff(np.vstack([level0, levels]), axis=0).ravel()


@pytest.mark.parametrize("lr", [0.01, 0.2])
def test_stochastic_rounding_gives_the_same_distribution_of_level_changes_as_torch(lr: float) -> None:
    rng = np.random.default_rng(1)
    n, n_steps = 200, 60
    signals = rng.normal(size=(n_steps, n)) * rng.choice([0.1, 1.0, 5.0], size=(1, n))
    level0 = rng.integers(3, 23, n)
    kw = dict(lr=lr, interval=1 * ms, beta=0.9)
    rule = make_rule("madam_loggrid", rounding="stochastic", **kw)
    db = _changes(_brian_levels(signals, level0, rule, seed=5)[0], level0)
    dt = _changes(_torch_levels(signals, level0, rule)[0], level0)
    assert np.unique(db).size >= 3 and np.count_nonzero(db) > 300
    p = _chi2_same(db, dt)
    assert p > 1e-3, f"level changes differ between back ends (chi-square p = {p:.2g})"
    # the same expected step: mean |change| per update agrees to within sampling error
    se = np.sqrt(np.abs(db).var() / db.size + np.abs(dt).var() / dt.size)
    assert abs(np.abs(db).mean() - np.abs(dt).mean()) < 4 * se
    # sensitivity: a broken rule is detected by the same test
    if lr == 0.01:  # nearest rounding freezes sub-level steps (|gn| < 8.2): no change at all
        wrong = make_rule("madam_loggrid", rounding="nearest", **kw)
        dw = _changes(_brian_levels(signals, level0, wrong)[0], level0)
        assert np.count_nonzero(dw) == 0 and _chi2_same(dw, dt) < 1e-6
    else:  # a doubled learning rate
        wrong = make_rule("madam_loggrid", rounding="stochastic", **{**kw, "lr": 2 * lr})
        dw = _changes(_brian_levels(signals, level0, wrong, seed=5)[0], level0)
        assert _chi2_same(dw, dt) < 1e-6


def test_levels_stay_on_the_grid_and_within_bounds() -> None:
    rng = np.random.default_rng(2)
    signals = rng.normal(size=(80, 30)) * 5
    level0 = rng.integers(0, 26, 30)
    rule = make_rule("madam_loggrid", lr=1.0, interval=1 * ms, levels=26)
    bl, bw = _brian_levels(signals, level0, rule)
    assert bl.min() == 0 and bl.max() == 25  # clipping at both ends is exercised
    np.testing.assert_allclose(bw, LogGrid.bartol().decode(bl), rtol=1e-12)


def test_rule_parameters_are_json_able() -> None:
    import json

    p = make_rule("madam_loggrid", interval=0.5 * second).params()
    assert p["rule"] == "madam_loggrid" and p["levels"] == 26
    json.dumps(p)
    json.dumps(make_rule("vogels", eta=0.05 * nS, rho0=3 * Hz).params())


def test_non_finite_eligibility_moves_nothing_in_brian2_as_in_torch() -> None:
    rng = np.random.default_rng(4)
    signals = rng.normal(size=(20, 12)) * 3
    signals[3, :4] = [np.nan, np.inf, -np.inf, 1e300]  # 1e300**2 overflows the second moment
    signals[7, 5] = np.nan
    level0 = rng.integers(2, 24, 12)
    rule = make_rule("madam_loggrid", lr=0.5, rounding="nearest", interval=1 * ms)
    bl, bw = _brian_levels(signals, level0, rule)
    tl, _ = _torch_levels(signals, level0, rule)
    assert np.isfinite(bw).all() and bl.min() >= 0 and bl.max() <= 25
    np.testing.assert_array_equal(bl[3, :3], bl[2, :3])  # NaN and +-inf: no step
    np.testing.assert_array_equal(bl, tl)


STANDALONE_SCRIPT = """
import sys
import numpy as np
import brian2 as b2
from neurosim.rules.stdp import make_rule
b2.set_device("cpp_standalone", directory=sys.argv[1], build_on_run=True)
rule = make_rule("madam_loggrid", lr=0.5, rounding="nearest", interval=1 * b2.ms)
pre = b2.NeuronGroup(4, "", threshold="False")
post = b2.NeuronGroup(1, "ge : 1", threshold="False")
S = rule.synapses(pre, post, delivery="ge_post += w", w_max=1.0, name="sa")
S.connect(j="0")
S.level = [5, 10, 15, 20]
S.w = "w_max * exp((level - (grid_levels - 1)) * grid_step)"
sig = b2.TimedArray(np.array([[np.nan, np.inf, -np.inf, 1.0]] * 3), dt=1 * b2.ms)
S.namespace["sig"] = sig
S.run_regularly("elig = sig(t, i)", dt=1 * b2.ms, when="start", order=-1, name="sa_feed")
b2.run(3 * b2.ms)
print([int(v) for v in S.level[:]], bool(np.isfinite(S.w[:]).all()))
"""


@pytest.mark.cxx
def test_non_finite_eligibility_in_cpp_standalone(tmp_path) -> None:
    """The C++ rendering of the guard (``std::isfinite``), compiled and run (about 20 s)."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", STANDALONE_SCRIPT, str(tmp_path / "build")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    levels, finite = proc.stdout.strip().splitlines()[-1].rsplit(" ", 1)
    assert finite == "True"
    import ast

    got = ast.literal_eval(levels)
    assert got[:3] == [5, 10, 15] and got[3] > 15  # NaN/inf: no move; 1.0 moves up
