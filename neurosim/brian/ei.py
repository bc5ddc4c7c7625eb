"""A recurrent E/I network of conductance-based LIF neurons with plastic E->E synapses.

The E->E synapses learn with any excitatory rule of :mod:`neurosim.rules.stdp`; the
network is held stable by **inhibitory plasticity** on the I->E synapses
(Vogels, Sprekeler, Zenke, Clopath & Gerstner 2011, Science 334:1569; rule
``"vogels"``), which drives every excitatory cell's rate towards ``rho0``. Additive
E->E STDP alone runs away in a recurrent network (Song, Miller & Abbott 2000 studied a
feedforward setup); hard bounds cap each weight, and the inhibitory rule holds rates.

Neurons (``n_e`` excitatory, ``n_i`` inhibitory; Dale's principle: E cells only make
excitatory synapses (onto ``ge``), I cells only inhibitory ones (onto ``gi``), and
every weight ``w`` is a size >= 0)::

    dv/dt  = (g_l * (E_l - v) + ge * (E_e - v) + gi * (E_i - v)) / C_m : volt (unless refractory)
    dge/dt = -ge / tau_e : siemens
    dgi/dt = -gi / tau_i : siemens

``C_m = 200 pF``, ``g_l = 10 nS`` (``tau_m = 20 ms``), ``E_l = -60 mV``, threshold
``-50 mV``, reset ``-60 mV``, refractory 5 ms, ``E_e = 0 mV``, ``E_i = -80 mV``,
``tau_e = 5 ms``, ``tau_i = 10 ms`` (the conductance-based benchmark network of Vogels
& Abbott 2005 / Brette et al. 2007). Connection probability ``p = 0.1`` for every
pathway (drawn with numpy from ``seed`` and connected by explicit indices, so that
runtime and standalone builds have the same synapses); every neuron also receives
``n_ext = 100`` independent Poisson inputs (``PoissonInput`` on ``ge``).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from neurosim import validate as V
from neurosim.brian.record import (
    MODE,
    SnapshotRecorder,
    SpikingResult,
    TraceRecorder,
    brian_device,
    build_and_run,
    level_metrics,
    size_bounds,
    size_metrics,
    spike_stats,
)
from neurosim.rules.quantities import check_time
from neurosim.rules.stdp import SpikingRule, make_rule

#: Keyword arguments of :func:`run_ei_network` a config may set, with their checks (defaults: the signature).
PARAMS = {
    "n_e": V.Param(V.integral(ge=1), "excitatory neurons"),
    "n_i": V.Param(V.integral(ge=1), "inhibitory neurons"),
    "mode": MODE,
    "initial": V.Param(V.one_of("constant", "uniform", "loguniform"),
                       "initial E->E sizes: all at w_ee, rand() * w_max, or uniform in log over 60x"),
}


def ei_constants() -> dict[str, Any]:
    """Neuron and network constants (with units); see the module docstring."""
    from brian2 import Hz, ms, mV, nS, pF

    return dict(C_m=200 * pF, g_l=10 * nS, E_l=-60 * mV, v_t=-50 * mV, v_r=-60 * mV,
                t_ref=5 * ms, E_e=0 * mV, E_i=-80 * mV, tau_e=5 * ms, tau_i=10 * ms,
                p_connect=0.1, n_ext=100, rate_ext=8 * Hz, w_ext=0.5 * nS,
                w_ee=0.5 * nS, w_ee_max=1.5 * nS, w_ei=0.5 * nS, w_ie=3.0 * nS, w_ie_max=30 * nS,
                w_ii=3.0 * nS)


def default_inhibitory_rule() -> SpikingRule:
    """Vogels et al. (2011) iSTDP: ``eta = 0.05 nS``, target ``rho0 = 5 Hz``, ``tau = 20 ms``."""
    from brian2 import Hz, ms, nS

    return make_rule("vogels", eta=0.05 * nS, rho0=5 * Hz, tau=20 * ms)


def _pairs(rng: np.random.Generator, n_pre: int, n_post: int, p: float,
           same: bool) -> tuple[np.ndarray, np.ndarray]:
    mask = rng.random((n_pre, n_post)) < p
    if same:
        np.fill_diagonal(mask, False)
    i, j = np.nonzero(mask)
    return i.astype(np.int32), j.astype(np.int32)


def run_ei_network(
    rule: SpikingRule,
    *,
    duration: Any = None,
    n_e: int = 800,
    n_i: int = 200,
    seed: int = 0,
    snapshot_every: Any = None,
    mode: str = "runtime",
    build_dir: str | None = None,
    progress: bool = True,
    inhibitory_rule: SpikingRule | None | str = "vogels",
    n_raster: int = 100,
    threads: int = 0,
    initial: str = "constant",
    trace_every: Any = None,
    trace_synapses: int = 512,
) -> SpikingResult:
    """Run the E/I network with ``rule`` on E->E and iSTDP on I->E.

    Parameters
    ----------
    rule:
        Excitatory rule for E->E (``w_max=None`` means 1.5 nS; weights start at 0.5 nS,
        gridded rules encode that to the nearest level).
    duration:
        Biological time (Brian2 time; default 10 s).
    n_e, n_i:
        Population sizes (defaults 800 and 200).
    seed:
        Seed of the connectivity (numpy) and of Brian2's random numbers.
    snapshot_every:
        Interval between weight snapshots (default ``duration / 10``).
    mode, build_dir, progress, threads:
        As for :func:`neurosim.brian.song.run_song`.
    inhibitory_rule:
        ``"vogels"`` (default, :func:`default_inhibitory_rule`), another inhibitory
        :class:`SpikingRule`, or ``None`` for static I->E synapses (no stabilisation).
    initial:
        Initial E->E sizes: ``"constant"`` (all 0.5 nS), ``"uniform"`` (``rand() * w_max``)
        or ``"loguniform"`` (``w_max * 60**(-rand())``).
    trace_every, trace_synapses:
        As for :func:`neurosim.brian.song.run_song` (projections ``EE`` and ``IE``).

    Returns
    -------
    SpikingResult
        Snapshots of ``"EE"`` (sign +1) and ``"IE"`` (sign -1); metrics ``rate_e_hz``,
        ``rate_i_hz``, ``rate_hz`` (all cells), ``isi_cv`` (E cells), the population
        rate of E in the first and last tenth of the run and its maximum over 100 ms
        bins (``rate_e_first_hz``, ``rate_e_last_hz``, ``rate_e_max_bin_hz``), size
        statistics of EE; raster of ``n_raster`` cells (E first, then I from index
        ``n_e``); ``rates`` of all cells (E then I).
    """
    import brian2 as b2

    v = V.apply(PARAMS, dict(n_e=n_e, n_i=n_i, mode=mode, initial=initial))
    n_e, n_i = v["n_e"], v["n_i"]
    duration = check_time("duration", 10 * b2.second if duration is None else duration)
    every = check_time("snapshot_every", duration / 10 if snapshot_every is None else snapshot_every)
    rule.check_sign(1, where="E->E synapses")
    if isinstance(inhibitory_rule, str):
        if inhibitory_rule != "vogels":
            raise ValueError(f"inhibitory_rule: must be 'vogels', a SpikingRule or None, got {inhibitory_rule!r}")
        inhibitory_rule = default_inhibitory_rule()
    if inhibitory_rule is not None:
        inhibitory_rule.check_sign(-1, where="I->E synapses")
    c = ei_constants()
    rng = np.random.default_rng(seed)
    conn = {
        "EE": _pairs(rng, n_e, n_e, c["p_connect"], True),
        "EI": _pairs(rng, n_e, n_i, c["p_connect"], False),
        "IE": _pairs(rng, n_i, n_e, c["p_connect"], False),
        "II": _pairs(rng, n_i, n_i, c["p_connect"], True),
    }
    eqs = """
    dv/dt = (g_l * (E_l - v) + ge * (E_e - v) + gi * (E_i - v)) / C_m : volt (unless refractory)
    dge/dt = -ge / tau_e : siemens
    dgi/dt = -gi / tau_i : siemens
    """
    with brian_device(mode, build_dir) as directory:
        b2.prefs.devices.cpp_standalone.openmp_threads = int(threads) if mode == "standalone" else 0
        b2.seed(seed)
        neurons = b2.NeuronGroup(n_e + n_i, eqs, threshold="v > v_t", reset="v = v_r",
                                 refractory="t_ref", method="euler", namespace=c, name="ei_neurons")
        neurons.v = "E_l + rand() * (v_t - E_l)"
        exc, inh = neurons[:n_e], neurons[n_e:]
        ext = b2.PoissonInput(neurons, "ge", N=c["n_ext"], rate=c["rate_ext"], weight="w_ext")
        ee = rule.synapses(exc, exc, delivery="ge_post += w", w_max=c["w_ee_max"], sign=1, name="ee")
        ee.connect(i=conn["EE"][0], j=conn["EE"][1])
        rule.initialise(ee, {"constant": c["w_ee"] * np.ones(conn["EE"][0].size), "uniform": "rand() * w_max",
                             "loguniform": "w_max * 60.0**(-rand())"}[initial])
        ei = b2.Synapses(exc, inh, "w : siemens", on_pre="ge_post += w", name="ei")
        ei.connect(i=conn["EI"][0], j=conn["EI"][1])
        ei.w = c["w_ei"]
        if inhibitory_rule is not None:
            ie = inhibitory_rule.synapses(inh, exc, delivery="gi_post += w", w_max=c["w_ie_max"], sign=-1,
                                          name="ie")
        else:
            ie = b2.Synapses(inh, exc, "w : siemens", on_pre="gi_post += w", name="ie")
        ie.connect(i=conn["IE"][0], j=conn["IE"][1])
        ie.w = c["w_ie"]
        ii = b2.Synapses(inh, inh, "w : siemens", on_pre="gi_post += w", name="ii")
        ii.connect(i=conn["II"][0], j=conn["II"][1])
        ii.w = c["w_ii"]
        spikes = b2.SpikeMonitor(neurons, name="ei_spikes")
        n_syn = {"EE": conn["EE"][0].size, "IE": conn["IE"][0].size}
        rec = SnapshotRecorder({"EE": ee, "IE": ie}, every, mode, signs={"EE": 1, "IE": -1}, n_synapses=n_syn)
        tracer = TraceRecorder({"EE": ee, "IE": ie}, trace_every, n_syn, trace_synapses, seed)
        net = b2.Network(neurons, ext, ee, ei, ie, ii, spikes, *rec.objects, *tracer.objects)
        t0 = time.perf_counter()
        net.run(duration, report="text" if progress else None)
        timing = {"run_s": time.perf_counter() - t0}
        if mode == "standalone":
            timing = build_and_run(directory, with_output=progress)
        dur_s = float(duration)
        snaps = rec.finish(dur_s)
        sp_i, sp_t = np.asarray(spikes.i[:]).astype(np.int64), np.asarray(spikes.t_)
        w_max = float(np.asarray(ee.namespace["w_max"]))
        w_ie_max = float(np.asarray(ie.namespace["w_max"])) if inhibitory_rule is not None else None
        traces = tracer.finish({"EE": 1, "IE": -1}, {"EE": size_bounds(rule, w_max),
                                                     **({"IE": (0.0, w_ie_max)} if w_ie_max else {})})
    n = n_e + n_i
    rates, _ = spike_stats(sp_i, sp_t, n, dur_s)
    e_sel = sp_i < n_e
    _, cv_e = spike_stats(sp_i[e_sel], sp_t[e_sel], n_e, dur_s)
    bins = np.arange(0.0, dur_s + 1e-9, 0.1)
    pop_e = np.histogram(sp_t[e_sel], bins=bins)[0] / (n_e * 0.1) if bins.size > 1 else np.zeros(1)
    tenth = max(1, pop_e.size // 10)
    sample = np.r_[np.arange(min(n_e, n_raster * 4 // 5)), n_e + np.arange(min(n_i, n_raster // 5))]
    keep = np.isin(sp_i, sample)
    metrics: dict[str, float] = {
        "rate_hz": float(rates.mean()), "rate_e_hz": float(rates[:n_e].mean()),
        "rate_i_hz": float(rates[n_e:].mean()), "isi_cv": cv_e,
        "rate_e_first_hz": float(pop_e[:tenth].mean()), "rate_e_last_hz": float(pop_e[-tenth:].mean()),
        "rate_e_max_bin_hz": float(pop_e.max()), "n_synapses_ee": float(conn["EE"][0].size),
        "duration_s": dur_s, "realtime_factor": dur_s / timing["run_s"], **timing,
    }
    metrics.update(size_metrics(snaps[-1][1]["EE"], w_max))
    metrics.update(level_metrics(snaps, "EE"))
    ie_final = snaps[-1][1]["IE"].size.astype(np.float64)
    metrics["w_ie_mean_nS"] = float(ie_final.mean() * 1e9)
    info = {"rule": rule.params(), "inhibitory_rule": inhibitory_rule.params() if inhibitory_rule else None,
            "mode": mode, "build_dir": directory, "w_max": w_max, "seed": seed, "n_e": n_e, "n_i": n_i,
            "pop_rate_e_hz": pop_e.tolist()}
    return SpikingResult(snapshots=snaps, metrics=metrics, raster=(sp_i[keep], sp_t[keep]), rates=rates,
                         info=info, traces=traces)
