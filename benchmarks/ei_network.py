"""Benchmark: the plastic E/I network against the COBA benchmark network, both compiled by Brian2.

neurosim's E/I network (:mod:`neurosim.brian.ei`: 800 E + 200 I conductance-based LIF
neurons, 10 % connectivity, external Poisson drive, plastic E->E under additive STDP or
Madam on the log grid, Vogels iSTDP on I->E) is compiled in C++ standalone mode, and so is
the COBA benchmark of Brette et al. (2007, J. Comput. Neurosci. 23:349; benchmark 1, the
Vogels & Abbott 2005 network that Brian2's documentation ships as ``COBA.py``: 4000 LIF
neurons, 3200 E and 800 I, 2 % connectivity, static conductance synapses, ``we = 6 nS``,
``wi = 67 nS``), re-stated here from its equations. The compiled binaries are re-executed
interleaved (COBA, additive, Madam, COBA, ...) and the medians reported: the realtime factor
(biological / wall-clock time of the simulation itself) and, as the like-for-like number,
the wall time per million synaptic events (spikes times outgoing synapses) against COBA's.

Usage::

    python benchmarks/ei_network.py [--repeats 3] [--duration 20] [--threads 0]

Take the figures on an idle machine (``cat /proc/loadavg``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from brian2 import ms, second

from neurosim.brian import make_rule
from neurosim.brian.ei import run_ei_network

sys.path.insert(0, str(Path(__file__).resolve().parent))  # a script, or loaded by path: find _record
from _record import load, record  # noqa: E402

RULES = {"additive": {}, "madam_loggrid": {"interval": 100 * ms}}


def _rerun(build_dir: str) -> float:
    t0 = time.perf_counter()
    subprocess.run(["./main"], cwd=build_dir, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def build_coba(build_dir: str, duration_s: float, threads: int) -> None:
    """Compile the COBA benchmark network (Brette et al. 2007, benchmark 1) without running it.

    Writes ``events.json`` (the number of synaptic events of the run, counted by a
    ``SpikeMonitor``) after a first execution, so the per-event cost can be compared.
    """
    import brian2 as b2
    from brian2 import mV, nS, pF

    b2.set_device("cpp_standalone", directory=build_dir, build_on_run=False)
    b2.prefs.devices.cpp_standalone.openmp_threads = threads
    ns = dict(C_m=200 * pF, g_l=10 * nS, E_l=-60 * mV, v_t=-50 * mV, v_r=-60 * mV, E_e=0 * mV, E_i=-80 * mV,
              tau_e=5 * ms, tau_i=10 * ms, we=6 * nS, wi=67 * nS)
    eqs = """dv/dt = (g_l * (E_l - v) + ge * (E_e - v) + gi * (E_i - v)) / C_m : volt (unless refractory)
             dge/dt = -ge / tau_e : siemens
             dgi/dt = -gi / tau_i : siemens"""
    b2.seed(0)
    P = b2.NeuronGroup(4000, eqs, threshold="v > v_t", reset="v = v_r", refractory=5 * ms, method="exponential_euler",
                       namespace=ns)
    P.v = "v_r + rand() * (v_t - v_r)"
    P.ge = "(randn() * 1.5 + 4) * 10 * nS"
    P.gi = "(randn() * 12 + 20) * 10 * nS"
    Ce = b2.Synapses(P[:3200], P, on_pre="ge += we", namespace=ns)
    Ci = b2.Synapses(P[3200:], P, on_pre="gi += wi", namespace=ns)
    Ce.connect(p=0.02)
    Ci.connect(p=0.02)
    mon = b2.SpikeMonitor(P)
    b2.Network(P, Ce, Ci, mon).run(duration_s * second, report=None)
    b2.device.build(directory=build_dir, compile=True, run=True)
    n_out = {"E": len(Ce) / 3200, "I": len(Ci) / 800}
    sp = mon.i[:]
    events = float(sum(n_out["E"] if i < 3200 else n_out["I"] for i in sp))
    Path(build_dir, "events.json").write_text(json.dumps({"events": events, "spikes": int(len(sp))}))


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--duration", type=float, default=20.0, help="biological time (s)")
    ap.add_argument("--threads", type=int, default=0, help="OpenMP threads")
    ap.add_argument("--build-root", default=None)
    ap.add_argument("--json", default=None)
    ap.add_argument("--build-coba", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.build_coba:
        build_coba(args.build_coba, args.duration, args.threads)
        return {}
    load_before = load()
    root = Path(args.build_root or tempfile.mkdtemp(prefix="ei_bench_"))
    dirs, out = {}, {}
    coba = str(root / "coba")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--build-coba", coba, "--duration", str(args.duration),
                    "--threads", str(args.threads)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out["coba"] = {"build_and_first_run_s": time.perf_counter() - t0,
                   **json.loads(Path(coba, "events.json").read_text())}
    dirs["coba"] = coba
    for name, kw in RULES.items():
        d = str(root / name)
        res = run_ei_network(make_rule(name, **kw), duration=args.duration * second, mode="standalone",
                             build_dir=d, progress=False, threads=args.threads,
                             snapshot_every=args.duration * second)
        n_syn_e = res.metrics["n_synapses_ee"] / 800 + 0.1 * 200  # E->E and E->I per E cell (p = 0.1)
        rates = res.rates
        events = float(rates[:800].sum() * args.duration * n_syn_e + rates[800:].sum() * args.duration * 100)
        dirs[name] = d
        out[name] = {"compile_s": res.metrics["compile_s"], "rate_e_hz": res.metrics["rate_e_hz"], "events": events}
    times: dict[str, list[float]] = {n: [] for n in dirs}
    for _ in range(args.repeats):
        for name, d in dirs.items():
            times[name].append(_rerun(d))
    print(f"\nE/I network vs COBA (Brette et al. 2007), {args.duration:g} s, medians of {args.repeats} "
          "interleaved re-executions")
    print(f"{'network':<16} {'wall s':>8} {'x realtime':>10} {'events (M)':>11} {'s per M events':>15} {'vs COBA':>8}")
    per_event = {}
    for name in dirs:
        med = statistics.median(times[name])
        out[name].update(run_s_median=med, runs=times[name], realtime=args.duration / med)
        per_event[name] = med / (out[name]["events"] / 1e6)
    for name in dirs:
        r = out[name]
        out[name]["per_event_vs_coba"] = per_event[name] / per_event["coba"]
        print(f"{name:<16} {r['run_s_median']:>8.2f} {r['realtime']:>10.1f} {r['events'] / 1e6:>11.1f} "
              f"{per_event[name]:>15.3f} {out[name]['per_event_vs_coba']:>8.2f}")
    record("ei_network", {"duration_s": args.duration, "repeats": args.repeats, **out}, load_before=load_before,
           out=args.json)
    return out


if __name__ == "__main__":
    main(sys.argv[1:])
