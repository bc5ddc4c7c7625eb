"""The Song, Miller & Abbott (2000) setup: many Poisson inputs onto one neuron with STDP.

Song, S., Miller, K. D., Abbott, L. F. (2000). Competitive Hebbian learning through
spike-timing-dependent synaptic plasticity. Nat. Neurosci. 3:919-926.

The constants are those of Brian2's ``examples/synapses/STDP.py``: 1000 Poisson
inputs at 15 Hz onto one conductance-based integrate-and-fire neuron::

    dv/dt  = (ge * (E_e - v) + E_l - v) / tau_m : volt
    dge/dt = -ge / tau_e : 1          (conductance relative to the leak)

with ``tau_m = 10 ms``, ``E_e = 0 mV``, ``E_l = -74 mV``, threshold ``-54 mV``,
reset ``-60 mV``, ``tau_e = 5 ms``; weights are dimensionless, ``w_max = 0.01``,
initial ``w = rand() * w_max``; additive STDP with ``tau = 20 ms``,
``A+ = 0.01 w_max``, ``A- = 1.05 A+``; 100 s of biological time.

**Correlated inputs** (a functional test of learning, after Song, Miller & Abbott 2000):
``correlated_fraction`` of the inputs (the first ones) fire with zero-lag pairwise
correlation ``correlation`` (the correlation coefficient of their spike counts in one
time step): each is a thinned copy of a shared "mother" Poisson train of rate
``rate / correlation``, keeping each mother spike with probability ``correlation``
(the mixture method of Kuhn, Aertsen & Rotter 2003, Neural Comput. 15:67; Brette 2009,
Neural Comput. 21:188), so every input keeps the same Poisson rate. A rule that learns
makes the correlated synapses larger than the rest (:mod:`neurosim.analysis.selectivity`).

``initial`` sets the initial sizes: ``"uniform"`` (``rand() * w_max``, as Brian2's
example), ``"loguniform"`` (``w_max * 60**(-rand())``: uniform in log size over 60x) or
``"loguniform_mean"`` (uniform in log size over :data:`LOGUNIFORM_MEAN_RATIO` = 4.92x below
``w_max``, the range whose mean size is the uniform start's ``w_max / 2``). The last is the
second start of the stationarity test: a different shape with the same mean drive. Over
60x the mean size is ``0.24 w_max`` and the neuron stays silent (0 Hz in every one of 35
1000 s runs), so no timing rule moves at all.

``release_probability < 1`` makes release stochastic: each presynaptic spike releases with
that probability at each synapse independently, and a failure delivers nothing and
counts for no STDP pairing (:meth:`neurosim.rules.stdp.SpikingRule.code`). The default
``w_max`` is divided by the release probability, so that the expected drive stays the same.

``duplicate=True`` gives every input two synapses onto the neuron (``connect(n=2)``:
a pair sharing pre- and postsynaptic cell, hence its whole activity history), for the
pair-precision measurement of Bartol et al. (2015). ``pair_start="independent"`` draws
the two initial sizes independently (``rand() * w_max`` each); ``"identical"`` gives
both synapses of input ``k`` the same initial size ``w_max * frac(k * phi + u0)``
(``phi = (sqrt(5) - 1) / 2``, ``u0`` drawn from ``seed``: sizes spread evenly over
``[0, w_max)``), so that any later difference within a pair comes from the rule alone.
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
from neurosim.rules.stdp import SpikingRule

SONG_W_MAX = 0.01

#: The ratio r whose log-uniform start below w_max has mean w_max / 2: (1 - 1/r) / ln r = 1/2.
LOGUNIFORM_MEAN_RATIO = 4.921553634567504

#: Keyword arguments of :func:`run_song` a config may set, with their checks (defaults: the signature).
PARAMS = {
    "n_inputs": V.Param(V.integral(ge=1), "Poisson inputs onto the one neuron"),
    "duplicate": V.Param(V.flag, "two synapses per input (for pair precision)"),
    "pair_start": V.Param(V.one_of("independent", "identical"), "initial sizes of a pair (with duplicate)"),
    "inputs": V.Param(V.one_of("poisson", "pregenerated"),
                      "PoissonGroup, or the same statistics drawn in advance (faster in standalone)"),
    "mode": MODE,
    "correlated_fraction": V.Param(V.bounded(ge=0.0, le=1.0), "fraction of the inputs that are correlated"),
    "correlation": V.Param(V.bounded(ge=0.0, le=1.0), "their pairwise spike-count correlation (zero lag)"),
    "initial": V.Param(V.one_of("uniform", "loguniform", "loguniform_mean"),
                       "initial sizes: rand() * w_max, uniform in log over 60x, or uniform in log with mean w_max / 2"),
    "release_probability": V.Param(V.bounded(gt=0.0, le=1.0), "probability that a spike releases at a synapse"),
}


def song_constants() -> dict[str, Any]:
    """Constants of the Song setup (Brian2's ``examples/synapses/STDP.py``), with units."""
    from brian2 import Hz, ms, mV

    return dict(tau_m=10 * ms, E_e=0 * mV, v_t=-54 * mV, v_r=-60 * mV, E_l=-74 * mV,
                tau_e=5 * ms, input_rate=15 * Hz)


def poisson_trains(n: int, rate_hz: float, duration_s: float, dt_s: float, seed: int, *,
                   n_correlated: int = 0, correlation: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Spike trains of ``n`` Poisson inputs on a ``dt`` grid (at most one spike per bin).

    Returns ``(indices, times_s)`` sorted by time; each bin of each input holds a spike
    with probability ``1 - exp(-rate * dt)`` (a Poisson process seen on the time grid).
    The first ``n_correlated`` inputs (if ``correlation > 0``) are thinned copies of one
    mother train (per-bin probability ``p / correlation``, ``p`` the inputs' per-bin
    probability; each mother spike kept with probability ``correlation``): each input has
    the same per-bin probability ``p`` as the rest, and two of them a spike-count
    correlation of ``correlation * (1 - p / correlation) / (1 - p)``, i.e. ``correlation``
    to within ``p`` (Kuhn et al. 2003; see the module docstring).
    """
    rng = np.random.default_rng(seed)
    n_bins = int(round(duration_s / dt_s))
    n_c = n_correlated if correlation > 0 else 0
    if n_c > n:
        raise ValueError(f"n_correlated: must be <= n ({n}), got {n_c}")
    idx, bins = [], []
    p = -np.expm1(-rate_hz * dt_s)
    if n_c:
        # thinning a mother of per-bin probability p / c by c gives each child exactly p per bin
        p_mother = min(p / correlation, 1.0)
        mother = np.flatnonzero(rng.random(n_bins) < p_mother) if n_bins < 50_000_000 else \
            np.sort(rng.choice(n_bins, rng.binomial(n_bins, p_mother), replace=False))
        for k in range(n_c):
            b = mother[rng.random(mother.size) < correlation]
            idx.append(np.full(b.size, k, np.int64))
            bins.append(b)
    counts = rng.binomial(n_bins, p, size=n - n_c)
    for k, m in enumerate(counts, start=n_c):
        b = rng.choice(n_bins, size=m, replace=False) if m else np.empty(0, np.int64)
        idx.append(np.full(m, k, np.int64))
        bins.append(b)
    i, b = np.concatenate(idx), np.concatenate(bins)
    order = np.argsort(b, kind="stable")
    return i[order], b[order] * dt_s


def run_song(
    rule: SpikingRule,
    *,
    duration: Any = None,
    n_inputs: int = 1000,
    seed: int = 0,
    snapshot_every: Any = None,
    mode: str = "runtime",
    build_dir: str | None = None,
    duplicate: bool = False,
    progress: bool = True,
    input_rate: Any = None,
    n_raster: int = 50,
    threads: int = 0,
    inputs: str = "poisson",
    pair_start: str = "independent",
    correlated_fraction: float = 0.0,
    correlation: float = 0.0,
    initial: str = "uniform",
    release_probability: float = 1.0,
    trace_every: Any = None,
    trace_synapses: int = 512,
) -> SpikingResult:
    """Run the Song setup with ``rule`` on the input synapses.

    Parameters
    ----------
    rule:
        An excitatory :class:`~neurosim.rules.stdp.SpikingRule` (its ``w_max=None`` means 0.01,
        halved with ``duplicate=True`` and divided by ``release_probability``).
    duration:
        Biological time (Brian2 time; default 100 s).
    n_inputs:
        Number of Poisson inputs (>= 1).
    seed:
        Seed of Brian2's random numbers (inputs, initial weights, stochastic rounding).
    snapshot_every:
        Interval between weight snapshots (Brian2 time; default 10 s; ``None`` for
        first and last only is not offered: pass ``duration``).
    mode:
        ``"runtime"`` (Brian2's default code generation) or ``"standalone"`` (C++).
    build_dir:
        Standalone build directory (default: a fresh temporary directory).
    duplicate:
        Two synapses per input (pairs sharing pre and post); the default ``w_max`` is then
        halved (0.005) so that the neuron receives the same total drive.
    progress:
        Brian2's text progress report.
    input_rate:
        Poisson rate (Brian2 rate; default 15 Hz).
    n_raster:
        How many inputs are in the raster (the output neuron is index ``-1`` there).
    threads:
        OpenMP threads in standalone mode (0: none).
    inputs:
        ``"poisson"``: a ``PoissonGroup`` as in Brian2's example (one random number per
        input per time step); ``"pregenerated"``: the same Poisson statistics (at most one
        spike per input per time step) drawn in numpy from ``seed`` and played by a
        ``SpikeGeneratorGroup``, which avoids ``n_inputs`` random numbers per step and
        is several times faster in standalone mode.
    pair_start:
        With ``duplicate=True``: ``"independent"`` (default) or ``"identical"`` initial
        sizes of the two synapses of a pair (see the module docstring).
    correlated_fraction, correlation:
        The correlated group (the first ``round(correlated_fraction * n_inputs)`` inputs)
        and its pairwise correlation (needs ``inputs="pregenerated"``).
    initial:
        ``"uniform"`` or ``"loguniform"`` initial sizes (see the module docstring).
    release_probability:
        Probability that a presynaptic spike releases at a synapse (1: always).
    trace_every, trace_synapses:
        Record the sizes of ``trace_synapses`` synapses (a seeded subsample) every
        ``trace_every`` (Brian2 time; ``None``: no traces) for size changes at any interval.

    Returns
    -------
    SpikingResult
        Snapshots of projection ``"input"``; metrics ``rate_hz`` (output neuron),
        ``isi_cv``, ``input_rate_hz``, size statistics, levels moved (gridded rules),
        ``run_s`` and (standalone) ``compile_s``; raster of ``n_raster`` inputs and the
        output neuron (index -1); ``rates`` = the output neuron's rate.
    """
    import brian2 as b2

    v = V.apply(PARAMS, dict(n_inputs=n_inputs, duplicate=duplicate, pair_start=pair_start, inputs=inputs,
                             mode=mode, correlated_fraction=correlated_fraction, correlation=correlation,
                             initial=initial, release_probability=release_probability))
    n_inputs = v["n_inputs"]
    n_corr = int(round(correlated_fraction * n_inputs)) if correlation > 0 else 0
    if n_corr and inputs != "pregenerated":
        raise ValueError("inputs: correlated inputs need 'pregenerated' (the trains are drawn in advance)")
    duration = check_time("duration", 100 * b2.second if duration is None else duration)
    every = check_time("snapshot_every", 10 * b2.second if snapshot_every is None else snapshot_every)
    rule.check_sign(1, where="Song input synapses")
    if pair_start == "identical" and not duplicate:
        raise ValueError("pair_start: 'identical' needs duplicate=True (two synapses per input)")
    c = song_constants()
    if input_rate is not None:
        c["input_rate"] = input_rate
    eqs = """
    dv/dt = (ge * (E_e - v) + E_l - v) / tau_m : volt
    dge/dt = -ge / tau_e : 1
    """
    with brian_device(mode, build_dir) as directory:
        if mode == "standalone" and threads:
            b2.prefs.devices.cpp_standalone.openmp_threads = int(threads)
        elif mode == "standalone":
            b2.prefs.devices.cpp_standalone.openmp_threads = 0
        b2.seed(seed)
        if inputs == "poisson":
            source = b2.PoissonGroup(n_inputs, rates=c["input_rate"], name="song_inputs")
        elif inputs == "pregenerated":
            idx, times = poisson_trains(n_inputs, float(c["input_rate"]), float(duration),
                                        float(b2.defaultclock.dt), seed, n_correlated=n_corr,
                                        correlation=correlation)
            source = b2.SpikeGeneratorGroup(n_inputs, idx, times * b2.second, name="song_inputs")
        else:
            raise ValueError(f"inputs: must be 'poisson' or 'pregenerated', got {inputs!r}")
        neuron = b2.NeuronGroup(1, eqs, threshold="v > v_t", reset="v = v_r", method="euler",
                                namespace=c, name="song_neuron")
        neuron.v = c["v_r"]
        # the same expected drive: halved for two synapses per input, over p for release probability p
        default_w_max = (SONG_W_MAX / 2 if duplicate else SONG_W_MAX) / release_probability
        S = rule.synapses(source, neuron, delivery="ge_post += w", w_max=default_w_max, sign=1,
                          name="song_synapses", input_rate=c["input_rate"] * release_probability,
                          release_probability=release_probability)
        S.connect(j="0", n=2 if duplicate else 1)
        if pair_start == "identical":  # the same size for both synapses of input i (a function of i only)
            u0 = float(np.random.default_rng(seed).uniform())
            rule.initialise(S, f"w_max * ((i * {(5 ** 0.5 - 1) / 2!r} + {u0!r}) % 1.0)")
        elif initial in ("loguniform", "loguniform_mean"):
            ratio = 60.0 if initial == "loguniform" else LOGUNIFORM_MEAN_RATIO
            rule.initialise(S, f"w_max * {ratio!r}**(-rand())")
        else:
            rule.initialise(S, "rand() * w_max")
        out_mon = b2.SpikeMonitor(neuron, name="song_out_spikes")
        n_r = min(n_raster, n_inputs)
        mons = [out_mon]
        if inputs == "poisson":
            in_mon = b2.SpikeMonitor(source[:n_r], name="song_in_spikes")
            mons.append(in_mon)
        n_syn = n_inputs * (2 if duplicate else 1)
        rec = SnapshotRecorder({"input": S}, every, mode, signs={"input": 1}, n_synapses={"input": n_syn})
        tracer = TraceRecorder({"input": S}, trace_every, {"input": n_syn}, trace_synapses, seed)
        net = b2.Network(source, neuron, S, *mons, *rec.objects, *tracer.objects)
        t0 = time.perf_counter()
        net.run(duration, report="text" if progress else None)
        timing = {"run_s": time.perf_counter() - t0}
        if mode == "standalone":
            timing = build_and_run(directory, with_output=progress)
        dur_s = float(duration)
        snaps = rec.finish(dur_s)
        out_t = np.asarray(out_mon.t_)
        rates, cv = spike_stats(np.zeros(out_t.size, np.int64), out_t, 1, dur_s)
        if inputs == "poisson":
            in_i, in_t = np.asarray(in_mon.i[:]), np.asarray(in_mon.t_)
        else:  # the trains are known in advance
            keep = idx < n_r
            in_i, in_t = idx[keep], times[keep]
        w_max = float(np.asarray(S.namespace["w_max"]))
        pre_index = np.asarray(S.i[:])  # synapses are ordered input by input (two per input with duplicate)
        traces = tracer.finish({"input": 1}, {"input": size_bounds(rule, w_max)})
    raster_i = np.concatenate([in_i.astype(np.int64), -np.ones(out_t.size, np.int64)])
    raster_t = np.concatenate([in_t, out_t])
    metrics: dict[str, float] = {
        "rate_hz": float(rates[0]), "isi_cv": cv, "n_out_spikes": float(out_t.size),
        "input_rate_hz": float(in_t.size / max(1, n_r) / dur_s),
        "n_synapses": float(snaps[-1][1]["input"].n_synapses), "duration_s": dur_s,
        "realtime_factor": dur_s / timing["run_s"], **timing,
    }
    metrics.update(size_metrics(snaps[-1][1]["input"], w_max))
    metrics.update(level_metrics(snaps, "input"))
    if getattr(rule, "interval", None) is not None:
        metrics["n_updates"] = float(int(dur_s / float(rule.interval)) + 1)
    groups = {"correlated": pre_index < n_corr} if n_corr else {}
    if groups:
        from neurosim.analysis.selectivity import auc

        metrics["auc_correlated"] = auc(snaps[-1][1]["input"].size, groups["correlated"])
    bin_s = max(dur_s / 100.0, 1.0)
    edges = np.arange(0.0, dur_s + bin_s / 2, bin_s)
    info = {"rule": rule.params(), "mode": mode, "build_dir": directory, "w_max": w_max,
            "duplicate": duplicate, "pair_start": pair_start, "seed": seed, "n_inputs": n_inputs,
            "inputs": inputs, "n_correlated": n_corr, "correlation": correlation, "initial": initial,
            "release_probability": release_probability, "groups": groups,
            "rate_bins_hz": np.histogram(out_t, bins=edges)[0] / bin_s, "rate_bin_s": bin_s}
    return SpikingResult(snapshots=snaps, metrics=metrics, raster=(raster_i, raster_t),
                         rates=rates, info=info, traces=traces)

