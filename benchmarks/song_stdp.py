"""Benchmark: the Song (2000) STDP setup, additive vs Madam-log-grid, runtime vs standalone.

For each mode the two rules are run interleaved (additive, Madam, additive, Madam, ...)
and the medians reported: the realtime factor (biological / wall-clock time of the
simulation itself) and the ratio Madam / additive within the same mode.

* C++ standalone: each rule is compiled once into its own build directory (compile
  time reported separately); the repeats re-execute the compiled binary
  (``./main``) without recompiling. OpenMP threads with ``--threads``.
* Cython runtime: each repeat builds the network again (code objects come from the
  Cython cache after the first run) and times ``Network.run`` only. Runtime mode is
  slow per time step, so it runs ``--runtime-duration`` (default 10 s) of biological
  time; the realtime factor is comparable, the absolute time is not.

Baseline: Brian2's own ``examples/synapses/STDP.py`` network (the same Song setup
with a ``PoissonGroup``, a ``StateMonitor`` on two weights and a ``SpikeMonitor`` on
all inputs), re-stated here, compiled in standalone mode into its own directory and
re-executed interleaved with the two rules, so the realtime factors can be compared
with what Brian2 itself reaches on the same machine in the same run.

Targets (issue 5): ratio <= 1.3 in each mode, standalone >= 30x realtime.

Usage::

    python benchmarks/song_stdp.py [--repeats 3] [--duration 100] [--threads 0]
                                   [--inputs poisson|pregenerated] [--skip-runtime]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from brian2 import ms, second

from neurosim.brian import make_rule
from neurosim.brian.song import run_song

sys.path.insert(0, str(Path(__file__).resolve().parent))  # a script, or loaded by path: find _record
from _record import load, record  # noqa: E402

RULES = {"additive": {}, "madam_loggrid": {"interval": 100 * ms}}


def _rerun(build_dir: str) -> float:
    """Wall-clock seconds of one execution of a compiled standalone project."""
    t0 = time.perf_counter()
    subprocess.run(["./main"], cwd=build_dir, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def build_brian2_example(build_dir: str, duration_s: float) -> None:
    """Compile Brian2's STDP example network (Song et al. 2000 constants) without running it.

    Re-stated from the equations of Brian2's ``examples/synapses/STDP.py``: 1000 Poisson
    inputs at 15 Hz, one conductance-based neuron, additive STDP with hard bounds.
    Called in a subprocess (``--build-example DIR``) because ``set_device`` is global.
    """
    import brian2 as b2
    from brian2 import Hz, mV

    b2.set_device("cpp_standalone", directory=build_dir, build_on_run=False)
    b2.prefs.devices.cpp_standalone.openmp_threads = 0
    ns = {"taum": 10 * ms, "taupre": 20 * ms, "taupost": 20 * ms, "Ee": 0 * mV, "vt": -54 * mV,
          "vr": -60 * mV, "El": -74 * mV, "taue": 5 * ms, "gmax": 0.01}
    ns["dApre"] = 0.01 * ns["gmax"]
    ns["dApost"] = -ns["dApre"] * 1.05
    b2.seed(0)
    inp = b2.PoissonGroup(1000, rates=15 * Hz)
    neuron = b2.NeuronGroup(1, "dv/dt = (ge * (Ee - v) + El - v) / taum : volt\ndge/dt = -ge / taue : 1",
                            threshold="v > vt", reset="v = vr", method="euler", namespace=ns)
    S = b2.Synapses(inp, neuron, """w : 1
                    dApre/dt = -Apre / taupre : 1 (event-driven)
                    dApost/dt = -Apost / taupost : 1 (event-driven)""",
                    on_pre="ge += w\nApre += dApre\nw = clip(w + Apost, 0, gmax)",
                    on_post="Apost += dApost\nw = clip(w + Apre, 0, gmax)", namespace=ns)
    S.connect()
    S.w = "rand() * gmax"
    mon = b2.StateMonitor(S, "w", record=[0, 1])
    s_mon = b2.SpikeMonitor(inp)
    b2.Network(inp, neuron, S, mon, s_mon).run(duration_s * second, report=None)
    b2.device.build(directory=build_dir, compile=True, run=False)


def bench_standalone(args: argparse.Namespace, root: Path) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    dirs = {}
    example = str(root / "standalone_brian2_example")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--build-example", example, "--duration", str(args.duration)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out["brian2_example"] = {"compile_s": time.perf_counter() - t0}
    dirs["brian2_example"] = example
    for name, kw in RULES.items():
        d = str(root / f"standalone_{name}")
        res = run_song(make_rule(name, **kw), duration=args.duration * second, mode="standalone",
                       build_dir=d, progress=False, threads=args.threads, inputs=args.inputs,
                       snapshot_every=args.duration * second)
        dirs[name] = d
        out[name] = {"compile_s": res.metrics["compile_s"], "first_run_s": res.metrics["run_s"],
                     "rate_hz": res.metrics["rate_hz"]}
    times: dict[str, list[float]] = {n: [] for n in dirs}
    for _ in range(args.repeats):
        for name, d in dirs.items():
            times[name].append(_rerun(d))
    for name in dirs:
        med = statistics.median(times[name])
        out[name].update(run_s_median=med, runs=times[name], realtime=args.duration / med)
    return out


def bench_runtime(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    times: dict[str, list[float]] = {n: [] for n in RULES}
    for _ in range(args.repeats):
        for name, kw in RULES.items():
            res = run_song(make_rule(name, **kw), duration=args.runtime_duration * second,
                           mode="runtime", progress=False, inputs=args.inputs,
                           snapshot_every=args.runtime_duration * second)
            times[name].append(res.metrics["run_s"])
    out = {}
    for name in RULES:
        med = statistics.median(times[name])
        out[name] = {"run_s_median": med, "runs": times[name], "realtime": args.runtime_duration / med}
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--duration", type=float, default=100.0, help="standalone biological time (s)")
    ap.add_argument("--runtime-duration", type=float, default=10.0, help="runtime biological time (s)")
    ap.add_argument("--threads", type=int, default=0, help="OpenMP threads (standalone)")
    ap.add_argument("--inputs", choices=("poisson", "pregenerated"), default="poisson")
    ap.add_argument("--skip-runtime", action="store_true")
    ap.add_argument("--build-root", default=None)
    ap.add_argument("--json", default=None, help="write the results here")
    ap.add_argument("--build-example", default=None, help=argparse.SUPPRESS)  # internal: compile the baseline
    args = ap.parse_args(argv)
    if args.build_example:
        build_brian2_example(args.build_example, args.duration)
        return {}
    load_before = load()
    root = Path(args.build_root or tempfile.mkdtemp(prefix="song_bench_"))
    results = {"args": vars(args), "standalone": bench_standalone(args, root)}
    if not args.skip_runtime:
        results["runtime"] = bench_runtime(args)
    print(f"\nSong setup, {args.inputs} inputs; medians of {args.repeats} interleaved repeats")
    print(f"{'mode':<11} {'rule':<14} {'bio s':>6} {'wall s':>8} {'x realtime':>10} {'compile s':>9}")
    for mode in ("standalone", "runtime"):
        if mode not in results:
            continue
        dur = args.duration if mode == "standalone" else args.runtime_duration
        for name, r in results[mode].items():
            comp = f"{r['compile_s']:.1f}" if "compile_s" in r else "-"
            print(f"{mode:<11} {name:<14} {dur:>6.0f} {r['run_s_median']:>8.2f} {r['realtime']:>10.1f} "
                  f"{comp:>9}")
        ratio = results[mode]["madam_loggrid"]["run_s_median"] / results[mode]["additive"]["run_s_median"]
        results[mode]["ratio_madam_over_additive"] = ratio
        print(f"{mode:<11} ratio Madam/additive = {ratio:.2f}  (target <= 1.3)")
    st = results["standalone"]
    vs = st["additive"]["run_s_median"] / st["brian2_example"]["run_s_median"]
    st["ratio_additive_over_brian2_example"] = vs
    print(f"standalone additive realtime factor {st['additive']['realtime']:.1f}x (target >= 30x); "
          f"Brian2's own example {st['brian2_example']['realtime']:.1f}x in the same run; "
          f"neurosim additive / example wall time = {vs:.2f}")
    record(f"song_stdp-{args.inputs}", results, load_before=load_before, out=args.json)
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
