"""Spiking runs in Brian2 (the Song setup, the E/I network) for one config.

Brian2 runs are not checkpointed mid-simulation: an interrupted run restarts
cleanly (its snapshots are rewritten, atomically, from time 0). Each standalone
run builds in its own directory, ``<run dir>/build``, removed when the run has ended
(the compiled network and its pregenerated inputs take about 0.7 GB for a 1000 s Song
run; everything the run reports is saved outside it).
"""

from __future__ import annotations

import shutil
from typing import Any

from neurosim import snapshot as snap
from neurosim.runner.rundir import RunDir


def make_rule(config: dict[str, Any]) -> Any:
    """The Brian2 rule of ``config['rule']`` (seconds become Brian2 times; see :mod:`neurosim.rules.stdp`)."""
    from neurosim.runner.config import checked
    from neurosim.runner.schema import check_brian_rule

    return checked("rule", lambda k, v: check_brian_rule(v), config["rule"])


def check_memory(config: dict[str, Any]) -> None:
    """Refuse, before Brian2 builds anything, a network that would not fit in memory.

    Counts synapses, neurons and (Song setup, ``inputs = "pregenerated"``) the input spikes
    drawn in advance; see :mod:`neurosim.runner.memory` for the bytes each is given.
    """
    from neurosim.runner import memory as M

    net, tr = config["network"], config["train"]
    if net["kind"] == "brian_song":
        from neurosim.brian.song import song_constants

        n = net["n_inputs"]
        synapses = n * (2 if net["duplicate"] else 1)
        neurons = n + 1
        rate = float(song_constants()["input_rate"])  # Hz
        spikes = n * rate * tr["duration"] if net["inputs"] == "pregenerated" else 0.0
    else:
        from neurosim.brian.ei import ei_constants

        neurons = net["n_e"] + net["n_i"]
        synapses = ei_constants()["p_connect"] * neurons**2
        spikes = 0.0
    need = M.BYTES_PER_SYNAPSE * synapses + M.BYTES_PER_NEURON * neurons + M.BYTES_PER_SPIKE * spikes
    M.refuse_if_too_big(need, f"{synapses:.3g} synapses, {neurons:.3g} neurons and {spikes:.3g} "
                              "pregenerated input spikes")


def simulate(config: dict[str, Any], rule: Any, rundir: RunDir, *, progress: bool = True,
             threads: int = 0) -> dict[str, Any]:
    """Run the network, write snapshots and metrics; return the final metrics.

    ``threads``: OpenMP threads of a standalone build (0 or 1: none).
    """
    from brian2 import second

    from neurosim import brian

    net = config["network"]
    tr = config["train"]
    build = rundir.path / "build"
    if build.exists():
        shutil.rmtree(build)
    for old in rundir.snapshot_paths():  # a restart begins at time 0
        old.unlink()
    common = dict(duration=tr["duration"] * second, seed=config["seed"],
                  snapshot_every=tr["snapshot_interval"] * second, mode=net["mode"],
                  build_dir=str(build) if net["mode"] == "standalone" else None, progress=progress,
                  trace_every=tr["trace_interval"] * second if tr["trace_synapses"] else None,
                  trace_synapses=tr["trace_synapses"], threads=threads if threads > 1 else 0)
    if net["kind"] == "brian_song":
        from neurosim.brian import song

        result = brian.run_song(rule, **{k: net[k] for k in song.PARAMS if k != "mode"}, **common)
    else:
        from neurosim.brian import ei

        result = brian.run_ei_network(rule, **{k: net[k] for k in ei.PARAMS if k != "mode"}, **common)
    if result.traces is not None:
        from neurosim import traces

        traces.save(rundir.traces, result.traces)
    rows = []
    for t, projections in result.snapshots:
        meta = {"time": float(t), "time_unit": "s", "rule": config["rule"]["name"], "seed": config["seed"],
                "network": net["kind"], "w_max": float(result.info["w_max"])}
        snap.save(rundir.snapshots / f"t-{t:010.3f}s.npz", projections, meta)
        rows.append({"time_s": float(t)})
    _save_activity(result, rundir)
    final = {k: v for k, v in result.metrics.items() if isinstance(v, (int, float, str, bool))}
    # wall-clock numbers vary between runs; keep them out of the metrics file
    rows.append({"time_s": float(tr["duration"]),
                 **{k: v for k, v in final.items() if not _wall_clock(k)}})
    rundir.write_metrics(rows)
    _raster_figure(result, rundir, config)
    shutil.rmtree(build, ignore_errors=True)
    return final


def _save_activity(result: Any, rundir: RunDir) -> None:
    """``activity.npz``: per-neuron rates (Hz), the raster sample (index, time in s), the output
    rate in bins (Song setup: ``rate_bins_hz`` of ``rate_bin_s``), the synapse groups (Song
    setup: ``group_correlated``) and, for the E/I network, the excitatory population rate in
    100 ms bins (Hz)."""
    import numpy as np

    from neurosim.files import atomic_path

    idx, times = result.raster
    arrays = {"rates_hz": np.asarray(result.rates, dtype=np.float64), "raster_index": np.asarray(idx),
              "raster_time_s": np.asarray(times, dtype=np.float64)}
    for key in ("pop_rate_e_hz", "rate_bins_hz", "rate_bin_s"):
        if key in result.info:
            arrays[key] = np.asarray(result.info[key], dtype=np.float64)
    for name, mask in result.info.get("groups", {}).items():  # e.g. which synapses get correlated input
        arrays[f"group_{name}"] = np.asarray(mask, dtype=bool)
    with atomic_path(rundir.path / "activity.npz") as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, **arrays)


def _wall_clock(key: str) -> bool:
    """Metrics that measure the machine, not the model (kept out of metrics.jsonl)."""
    return key.endswith("_s") or key == "realtime_factor"


def _raster_figure(result: Any, rundir: RunDir, config: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    idx, times = result.raster
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8, 3), constrained_layout=True)
    ax1.plot(times, idx, "|", ms=3, color="k", rasterized=True)  # an SVG of 1e5 spikes would take 60 MB
    ax1.set_xlabel("time (s)")
    ax1.set_ylabel("neuron (sample)")
    ax1.set_title("raster", fontsize=9)
    rates = np.asarray(result.rates)
    if rates.size > 1:
        ax2.hist(rates, bins=30, color="0.5")
        ax2.set_xlabel("firing rate (Hz)")
        ax2.set_ylabel("neurons")
    else:
        ax2.bar([0], rates, color="0.5")
        ax2.set_xticks([])
        ax2.set_ylabel("firing rate (Hz)")
    fig.suptitle(f"{config['network']['kind']} with {config['rule']['name']}", fontsize=9)
    from neurosim.analysis.plots import save_figure

    save_figure(fig, rundir.figures / "raster", tight=False)  # atomic, like every run-directory file
    plt.close(fig)
