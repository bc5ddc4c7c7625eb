"""Refresh the README's speed paragraph from the benchmarks' figures in ``results/benchmarks/``.

The text between ``<!-- benchmarks:begin -->`` and ``<!-- benchmarks:end -->``
in README.md is generated here, never typed: one paragraph per benchmark file,
each with the command that made it, its date and commit, the machine's load
average before and after and the CPU fraction busy in the second before the run
(figures taken with more than a quarter of the CPUs busy are marked unreliable).
``make bench`` runs the benchmarks and then this script.

    python benchmarks/readme.py [--check]

``--check`` exits 1 if the README's paragraph differs from what the files give.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from neurosim.files import write_text

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ROOT / "results" / "benchmarks"
README = ROOT / "README.md"
BEGIN, END = "<!-- benchmarks:begin -->", "<!-- benchmarks:end -->"
BUSY = 0.25  # CPU fraction busy before a run above which its figures are marked unreliable


def _optimizer_step(f: dict[str, Any]) -> str:
    a, loop = f["vs_adam"], f["vs_adam"]["loop"]
    path = "fused C kernel" if f["fused"] else "eager torch"
    return (f"**Optimizer step**: one step on {f['n_weights'] / 1e6:.1f}M weights, {f['threads']} torch "
            f"threads, time as a ratio to torch Adam's in the same run: Madam {a['Madam']:.2f}x ({path}; "
            f"eager {a['Madam-eager']:.2f}x), LogGridMadam {a['LogGrid']:.2f}x, SGD {a['SGD']:.2f}x; a "
            f"per-tensor loop of the published Madam equations takes {loop:.1f}x, so Madam is "
            f"{loop / a['Madam']:.1f}x faster than that loop. A packed 26-level Dale layer takes "
            f"{f['packed_vs_float32']:.3f}x the bytes of float32.")


def _train_throughput(f: dict[str, Any]) -> str:
    hidden = "-".join(str(h) for h in f["hidden"])
    return (f"**Training throughput** (64-{hidden}-10, batch {f['batch']}, {f['threads']} thread(s), "
            f"interleaved): Dale MLP with LogGridMadam {f['dale_loggrid_samples_per_s']:.0f} samples/s, "
            f"ANN with Adam {f['ann_adam_samples_per_s']:.0f}: ratio {f['ratio_dale_over_ann']:.2f} "
            "(target >= 0.7).")


def _fit_sizes(f: dict[str, Any]) -> str:
    slowest = max(f["family_s"], key=f["family_s"].get)
    return (f"**Fitting** every size family to {f['n']:.0e} log-normal sizes in one call: "
            f"{f['all_families_s']:.2f} s ({f['all_vs_baseline']:.1f}x one `scipy.stats.lognorm.fit` "
            f"with the location fixed, {f['baseline_lognorm_fit_s']:.2f} s in the same run; slowest family "
            f"{slowest}, {f['family_s'][slowest]:.2f} s; target <= {f['target_s']:.0f} s).")


def _song(inputs: str) -> Callable[[dict[str, Any]], str]:
    def render(f: dict[str, Any]) -> str:
        st = f["standalone"]
        dur = f["args"]["duration"]
        text = (f"**Brian2, Song setup, {dur:g} s, {inputs} inputs** (C++ standalone, compiled once, medians "
                f"of {f['args']['repeats']} interleaved re-executions): additive STDP "
                f"{st['additive']['realtime']:.1f}x realtime, Madam on the log grid "
                f"{st['madam_loggrid']['realtime']:.1f}x (ratio of wall times {st['ratio_madam_over_additive']:.2f}, "
                f"target <= 1.3)")
        if "brian2_example" in st:
            text += (f"; Brian2's own `examples/synapses/STDP.py` network in the same run "
                     f"{st['brian2_example']['realtime']:.1f}x")
        if "runtime" in f:
            text += f"; Cython runtime ratio {f['runtime']['ratio_madam_over_additive']:.2f}"
        return text + "."
    return render


def _ei_network(f: dict[str, Any]) -> str:
    return (f"**Brian2, E/I network against COBA** ({f['duration_s']:g} s, medians of {f['repeats']} "
            f"interleaved re-executions): the plastic network runs at {f['additive']['realtime']:.1f}x "
            f"realtime with additive STDP and {f['madam_loggrid']['realtime']:.1f}x with Madam on the grid; "
            f"per synaptic event that is {f['additive']['per_event_vs_coba']:.1f}x and "
            f"{f['madam_loggrid']['per_event_vs_coba']:.1f}x the static COBA network's cost: the price of "
            "the plasticity.")


#: benchmark file stem -> renderer, in the order of the paragraph
RENDER: dict[str, Callable[[dict[str, Any]], str]] = {
    "optimizer_step": _optimizer_step,
    "train_throughput": _train_throughput,
    "fit_sizes": _fit_sizes,
    "song_stdp-poisson": _song("Poisson"),
    "song_stdp-pregenerated": _song("pregenerated"),
    "ei_network": _ei_network,
}


def _state(doc: dict[str, Any]) -> str:
    cpus = doc["machine"]["cpus"]
    before, after = doc["load_before"], doc["load_after"]
    busy = before["cpu_busy"] > BUSY
    note = " **Other work kept the machine busy before the run: these ratios are unreliable.**" if busy else ""
    return (f" (`python benchmarks/{doc['command']}`, {doc['date_utc']} UTC, commit {doc['commit']}, {cpus} "
            f"cores: {100 * before['cpu_busy']:.0f} % busy in the second before the run, 1-minute load average "
            f"{before['loadavg_1min']:.2f} before and {after['loadavg_1min']:.2f} after, the benchmark's own "
            f"work included.){note}")


def paragraph(folder: Path = FIGURES) -> str:
    """The generated text: one paragraph per benchmark file found."""
    parts = []
    for stem, render in RENDER.items():
        path = folder / f"{stem}.json"
        if not path.exists():
            parts.append(f"*{stem}: no figures yet (run `python benchmarks/{stem.split('-')[0]}.py`).*")
            continue
        doc = json.loads(path.read_text())
        parts.append(render(doc["figures"]) + _state(doc))
    return "\n\n".join(parts)


def refresh(readme: Path = README, folder: Path = FIGURES) -> bool:
    """Rewrite the README's generated paragraph; return whether it changed."""
    text = readme.read_text()
    if text.count(BEGIN) != 1 or text.count(END) != 1 or text.index(BEGIN) > text.index(END):
        raise SystemExit(f"{readme}: needs one {BEGIN} ... {END} block")
    head, rest = text.split(BEGIN)
    _, tail = rest.split(END)
    new = f"{head}{BEGIN}\n{paragraph(folder)}\n{END}{tail}"
    if new != text:
        write_text(readme, new)
    return new != text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if the README is not what the figures give")
    args = ap.parse_args(argv)
    if args.check:
        text = README.read_text()
        current = text.split(BEGIN)[1].split(END)[0].strip() if BEGIN in text else ""
        if current != paragraph().strip():
            print("README's benchmark paragraph is stale: run python benchmarks/readme.py")
            return 1
        return 0
    print("README updated" if refresh() else "README already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
