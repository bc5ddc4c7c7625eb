"""Brian2 networks: the Song (2000) setup under each rule, the E/I network, snapshots, modes.

Default tests run in runtime mode with short durations (seconds of biological time);
the full 100 s Song runs, the standalone builds and the longer E/I run are marked
``slow``.
"""

from __future__ import annotations

import brian2 as b2
import numpy as np
import pytest
from brian2 import ms, mV, nS, second

from neurosim import snapshot
from neurosim.brian import SpikingResult, make_rule, run_ei_network, run_song
from neurosim.lns import LogGrid

pytestmark = pytest.mark.brian2


def _hist(result: SpikingResult, w_max: float = 0.01) -> np.ndarray:
    return np.histogram(result.snapshots[-1][1]["input"].size / w_max, bins=10, range=(0, 1))[0]


def _bimodal(counts: np.ndarray) -> bool:
    """Piled at both bounds: each outer decile holds more than any of the middle six."""
    return bool(min(counts[0], counts[-1]) > counts[2:8].max())


def _unimodal_inside(counts: np.ndarray) -> bool:
    """One interior mode and (almost) nothing at the bounds."""
    return bool(counts[0] + counts[-1] <= 0.02 * counts.sum() and 0 < np.argmax(counts) < 9)


# --------------------------------------------------------- Song setup (fast)
@pytest.fixture(scope="module")
def song_madam() -> SpikingResult:
    rule = make_rule("madam_loggrid", interval=20 * ms, lr=0.05)
    return run_song(rule, duration=3 * second, snapshot_every=1 * second, progress=False,
                    duplicate=True, n_inputs=1000, inputs="pregenerated")


def test_madam_sizes_stay_exactly_on_the_grid_and_signs_never_flip(song_madam) -> None:
    times = [t for t, _ in song_madam.snapshots]
    assert times == pytest.approx([0.0, 1.0, 2.0, 3.0])
    grid = LogGrid.bartol(0.005)  # w_max halved for duplicated inputs
    for _, projs in song_madam.snapshots:
        p = projs["input"]
        assert p.grid == grid and p.unit == "1"
        np.testing.assert_allclose(p.size, grid.decode(p.level), rtol=1e-6)
        assert (p.sign == 1).all()
        assert p.pre.shape == (2000,) and (p.post == 0).all()
        np.testing.assert_array_equal(np.sort(p.pre), np.repeat(np.arange(1000), 2))  # connect(n=2) pairs
    m = song_madam.metrics
    assert m["levels_moved_mean"] > 0.5 and m["frac_synapses_moved"] > 0.3
    assert m["rate_hz"] > 1.0 and np.isfinite(m["isi_cv"])
    assert m["n_updates"] == 151
    idx, t = song_madam.raster
    assert idx.shape == t.shape and (idx == -1).sum() == m["n_out_spikes"]


def _pairs(proj) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(proj.pre, kind="stable")
    s = proj.size[order]
    return s[0::2], s[1::2]


def test_identical_pair_start_isolates_the_rule_noise() -> None:
    """Both synapses of a pair see the same spikes: a deterministic rule keeps them equal, stochastic
    rounding pulls them apart."""
    kw = dict(duration=1 * second, snapshot_every=1 * second, progress=False, duplicate=True, n_inputs=1000,
              inputs="pregenerated", pair_start="identical")
    add = run_song(make_rule("additive"), **kw)
    a0, b0 = _pairs(add.snapshots[0][1]["input"])
    np.testing.assert_array_equal(a0, b0)
    assert np.ptp(a0) > 0.9 * 0.005  # spread over [0, w_max)
    a1, b1 = _pairs(add.snapshots[-1][1]["input"])
    assert not np.array_equal(a0, a1)  # it learned
    np.testing.assert_array_equal(a1, b1)
    mad = run_song(make_rule("madam_loggrid", interval=20 * ms, lr=0.05), **kw)
    a0, b0 = _pairs(mad.snapshots[0][1]["input"])
    np.testing.assert_array_equal(a0, b0)
    a1, b1 = _pairs(mad.snapshots[-1][1]["input"])
    assert np.mean(a1 != b1) > 0.1
    with pytest.raises(ValueError, match="pair_start"):
        run_song(make_rule("additive"), duration=1 * second, pair_start="identical")


def test_soft_bound_rule_gives_a_unimodal_distribution() -> None:
    res = run_song(make_rule("gutig", mu_plus=1.0, mu_minus=1.0, lmbda=0.1), duration=3 * second,
                   snapshot_every=3 * second, progress=False, inputs="pregenerated")
    counts = _hist(res)
    assert _unimodal_inside(counts), counts
    # Gütig et al. (2003): the fixed point of mu = 1 lies at w_max / (1 + alpha)
    assert res.metrics["w_mean_rel"] == pytest.approx(1 / 2.05, abs=0.08)


def test_additive_rule_piles_sizes_at_the_bounds() -> None:
    res = run_song(make_rule("additive", lmbda=0.05), duration=8 * second, snapshot_every=8 * second,
                   progress=False, inputs="pregenerated")
    counts = _hist(res)
    assert _bimodal(counts), counts
    assert (res.snapshots[-1][1]["input"].size <= 0.01 + 1e-12).all()


def test_snapshots_round_trip_through_the_file_format(song_madam, tmp_path) -> None:
    t, projs = song_madam.snapshots[-1]
    path = snapshot.save(tmp_path / "s.npz", projs, {"time": t, "rule": "madam_loggrid"})
    back = snapshot.load(path).projections["input"]
    np.testing.assert_array_equal(back.level, projs["input"].level)
    assert back.grid == projs["input"].grid


# ----------------------------------------------------- from_synapses (fast)
def test_from_synapses_works_on_a_users_own_synapses() -> None:
    b2.start_scope()
    G = b2.NeuronGroup(4, "dv/dt = -v / (10*ms) : volt", threshold="v > 1*volt", reset="")
    S = b2.Synapses(G, G, "w : volt", on_pre="v_post += w")
    S.connect(i=[0, 1, 2, 3], j=[1, 2, 3, 0])
    S.w = [0.5, -1.0, 2.0, 0.0] * mV
    p = snapshot.from_synapses(S)
    assert p.unit == "volt" and p.pre.tolist() == [0, 1, 2, 3] and p.post.tolist() == [1, 2, 3, 0]
    assert p.sign.tolist() == [1, -1, 1, 0]
    np.testing.assert_allclose(p.size, [5e-4, 1e-3, 2e-3, 0.0], rtol=1e-6)
    q = snapshot.from_synapses(S, unit=mV)
    assert q.unit == "mV"
    np.testing.assert_allclose(q.size, [0.5, 1.0, 2.0, 0.0], rtol=1e-6)
    # a size-valued projection with an explicit sign, and a sign variable
    S2 = b2.Synapses(G, G, "g : siemens\nw_sign : 1", on_pre="v_post += w_sign * g * 1*mV/nS")
    S2.connect(i=[0, 1], j=[2, 3])
    S2.g = [1, 2] * nS
    S2.w_sign = [-1, 1]
    p2 = snapshot.from_synapses(S2, name="g")
    assert p2.sign.tolist() == [-1, 1] and p2.unit == "siemens"
    assert snapshot.from_synapses(S2, name="g", sign=-1).sign.tolist() == [-1, -1]
    with pytest.raises(ValueError, match="^name: Synapses .* has no variable 'x'"):
        snapshot.from_synapses(S, name="x")
    with pytest.raises(ValueError, match="^unit: must have the dimension of w"):
        snapshot.from_synapses(S, unit=nS)


def test_networks_refuse_an_excitatory_rule_on_inhibitory_synapses() -> None:
    with pytest.raises(ValueError, match=r"^rule: 'additive' is an excitatory rule .* I->E"):
        run_ei_network(make_rule("gutig"), duration=10 * ms, inhibitory_rule=make_rule("additive"),
                       progress=False)
    with pytest.raises(ValueError, match=r"^rule: 'vogels' is an inhibitory rule"):
        run_song(make_rule("vogels", eta=0.01), duration=10 * ms, progress=False)
    with pytest.raises(ValueError, match=r"^w_max: must be in the network's weight unit"):
        run_song(make_rule("additive", w_max=1 * nS), duration=10 * ms, progress=False)
    with pytest.raises(ValueError, match=r"^mode: must be one of"):
        run_song(make_rule("additive"), duration=10 * ms, mode="gpu", progress=False)


# ------------------------------------------------------------ E/I network
def test_ei_network_rates_stay_bounded_with_inhibitory_plasticity() -> None:
    res = run_ei_network(make_rule("additive"), duration=1 * second, snapshot_every=0.5 * second,
                         progress=False)
    m = res.metrics
    assert 0.5 < m["rate_e_hz"] < 50 and m["rate_e_max_bin_hz"] < 100
    assert res.rates.shape == (1000,)
    ee, ie = res.snapshots[-1][1]["EE"], res.snapshots[-1][1]["IE"]
    assert (ee.sign == 1).all() and (ie.sign == -1).all()  # Dale: signs never flip
    assert ee.unit == "siemens" and ee.size.max() <= 1.5e-9 * (1 + 1e-6)
    assert [t for t, _ in res.snapshots] == pytest.approx([0.0, 0.5, 1.0])
    assert np.all(ie.pre < 200) and np.all(ie.post < 800)


# ------------------------------------------------------------------ slow
@pytest.mark.slow
@pytest.mark.cxx
def test_song_100s_additive_bimodal_soft_bound_unimodal_standalone(tmp_path) -> None:
    add = run_song(make_rule("additive"), mode="standalone", build_dir=str(tmp_path / "a"),
                   progress=False)
    soft = run_song(make_rule("gutig"), mode="standalone", build_dir=str(tmp_path / "g"),
                    progress=False)
    assert _bimodal(_hist(add)), _hist(add)
    assert _unimodal_inside(_hist(soft)), _hist(soft)
    assert len(add.snapshots) == 11 and add.metrics["compile_s"] > 0


@pytest.mark.slow
@pytest.mark.cxx
def test_standalone_and_runtime_madam_agree_on_grid_and_snapshots(tmp_path) -> None:
    rule = make_rule("madam_loggrid", interval=100 * ms)
    res = run_song(rule, duration=5 * second, snapshot_every=1 * second, mode="standalone",
                   build_dir=str(tmp_path / "m"), progress=False)
    assert [t for t, _ in res.snapshots] == pytest.approx([0, 1, 2, 3, 4, 5])
    p = res.snapshots[-1][1]["input"]
    np.testing.assert_allclose(p.size, LogGrid.bartol(0.01).decode(p.level), rtol=1e-6)
    # a second standalone run in the same process (device reset properly), then runtime
    res2 = run_ei_network(make_rule("additive"), duration=1 * second, mode="standalone",
                          build_dir=str(tmp_path / "ei"), progress=False)
    assert 0.5 < res2.metrics["rate_e_hz"] < 50
    res3 = run_song(rule, duration=0.5 * second, progress=False)
    assert res3.metrics["n_updates"] == 6


@pytest.mark.slow
def test_ei_network_10s_rates_bounded_for_each_rule() -> None:
    for name in ("additive", "gutig", "madam_loggrid"):
        res = run_ei_network(make_rule(name), duration=10 * second, progress=False)
        m = res.metrics
        assert 0.5 < m["rate_e_last_hz"] < 30 and m["rate_e_max_bin_hz"] < 100, (name, m)


# --------------------------------------------------------- correlated inputs, traces, initial sizes
def test_correlated_inputs_keep_the_rate_and_have_the_asked_correlation() -> None:
    from neurosim.brian.song import poisson_trains

    dt = 1e-3  # coarse bins keep the test fast; the correlation is per bin
    idx, t = poisson_trains(60, 15.0, 400.0, dt, seed=1, n_correlated=20, correlation=0.15)
    counts = np.zeros((60, 400_000), dtype=np.int8)
    counts[idx, np.round(t / dt).astype(int)] = 1
    rates = counts.sum(axis=1) / 400.0 / (-np.expm1(-15.0 * dt) / dt / 15.0)  # at most one spike per bin
    assert rates[:20].mean() == pytest.approx(15.0, rel=0.03) and rates[20:].mean() == pytest.approx(15.0, rel=0.03)
    c = np.corrcoef(counts[:30].astype(np.float32))
    within = c[:20, :20][np.triu_indices(20, 1)].mean()
    assert within == pytest.approx(0.15, abs=0.02) and abs(c[:20, 20:30].mean()) < 0.01
    with pytest.raises(ValueError, match="n_correlated"):
        poisson_trains(5, 15.0, 1.0, dt, seed=0, n_correlated=6, correlation=0.1)


def test_song_with_a_correlated_group_traces_and_loguniform_start() -> None:
    rule = make_rule("additive_loggrid", interval=50 * ms)
    r = run_song(rule, duration=2 * second, snapshot_every=1 * second, progress=False, n_inputs=1000,
                 inputs="pregenerated", correlated_fraction=0.2, correlation=0.2, initial="loguniform",
                 trace_every=100 * ms, trace_synapses=64)
    assert r.info["groups"]["correlated"].sum() == 200 and r.info["groups"]["correlated"][:200].all()
    assert 0.0 <= r.metrics["auc_correlated"] <= 1.0
    tr = r.traces.projections["input"]
    assert tr.size.shape == (20, 64) and tr.level.dtype == np.uint8 and tr.grid == LogGrid.bartol(0.01)
    np.testing.assert_allclose(tr.size, tr.grid.decode(tr.level), rtol=1e-6)
    assert tr.bounds == pytest.approx((0.01 / 60, 0.01))
    first = r.snapshots[0][1]["input"].size / 0.01
    assert np.median(first) < 0.2  # log-uniform over 60x: median 60**-0.5 = 0.13, not 0.5
    assert r.info["rate_bins_hz"].size == 2
    with pytest.raises(ValueError, match="pregenerated"):
        run_song(rule, duration=1 * second, progress=False, correlated_fraction=0.2, correlation=0.2)


def test_the_matched_log_uniform_start_has_the_uniform_starts_mean() -> None:
    from neurosim.brian.song import LOGUNIFORM_MEAN_RATIO

    r = LOGUNIFORM_MEAN_RATIO
    assert (1 - 1 / r) / np.log(r) == pytest.approx(0.5, abs=1e-12)
    res = run_song(make_rule("additive"), duration=0.1 * second, snapshot_every=0.1 * second, progress=False,
                   n_inputs=4000, initial="loguniform_mean")
    first = res.snapshots[0][1]["input"].size / 0.01
    assert first.min() >= 1 / r - 1e-9 and first.max() <= 1.0
    assert first.mean() == pytest.approx(0.5, abs=0.01)  # the same mean drive as rand() * w_max
    assert np.median(first) == pytest.approx(r ** -0.5, rel=0.03)  # but log-uniform, not uniform


def test_the_correlated_group_follows_the_inputs_when_each_has_two_synapses() -> None:
    r = run_song(make_rule("additive"), duration=0.2 * second, snapshot_every=0.1 * second, progress=False,
                 n_inputs=100, duplicate=True, inputs="pregenerated", correlated_fraction=0.2, correlation=0.2)
    pre = r.snapshots[-1][1]["input"].pre
    np.testing.assert_array_equal(r.info["groups"]["correlated"], pre < 20)
    assert r.info["groups"]["correlated"].sum() == 40  # both synapses of each of the 20 inputs
