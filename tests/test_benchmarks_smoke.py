"""Smoke test: ``benchmarks/optimizer_step.py --quick`` runs and returns sane ratios."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "optimizer_step.py"
OPTIMIZERS = ("Adam", "SGD", "SGD+mom", "Madam", "Madam-eager", "LogGrid", "loop")


def _load():
    spec = importlib.util.spec_from_file_location("bench_optimizer_step", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_optimizer_step_quick(capsys):
    res = _load().main(["--quick"])
    out = capsys.readouterr().out
    for key in ("vs_adam", "vs_loop", "median_s", "bytes_per_weight"):
        assert set(res[key]) == set(OPTIMIZERS), key
        for name, value in res[key].items():
            assert math.isfinite(value) and value > 0, (key, name, value)
    assert res["vs_adam"]["Adam"] == 1.0 and res["vs_loop"]["loop"] == 1.0
    assert res["bytes_per_weight"]["Adam"] == 12.0 and res["bytes_per_weight"]["Madam"] == 8.0
    assert res["stored_bytes_per_weight"]["LogGrid"] < 6.0
    assert 0 < res["packed_vs_float32"] < 0.2  # 5 bits of 32 per synapse, plus the signs
    # every target is printed once, with the verdict its ratio gives (not a fixed word)
    assert res["targets"] and set(res["targets"]) == {f"{n} / {b}" for n in ("Madam", "LogGrid")
                                                      for b in ("Adam", "loop")}
    for what, ok in res["targets"].items():
        ratio = res["vs_adam" if what.endswith("Adam") else "vs_loop"][what.split(" / ")[0]]
        assert f"{'PASS' if ok else 'MISS'}  {what} = {ratio:.2f}" in out, what
    assert res["all_pass"] == all(res["targets"].values())


@pytest.mark.slow
@pytest.mark.cxx
def test_ei_network_benchmark_runs(tmp_path, capsys):
    """``benchmarks/ei_network.py`` builds COBA and both E/I rules and reports per-event ratios (about 90 s)."""
    spec = importlib.util.spec_from_file_location("bench_ei", BENCH.parent / "ei_network.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    res = mod.main(["--duration", "1", "--repeats", "1", "--build-root", str(tmp_path),
                    "--json", str(tmp_path / "ei.json")])
    assert set(res) == {"coba", "additive", "madam_loggrid"}
    assert res["coba"]["per_event_vs_coba"] == 1.0 and res["coba"]["events"] > 0
    assert all(math.isfinite(r["realtime"]) and r["realtime"] > 0 for r in res.values())
    assert "vs COBA" in capsys.readouterr().out


def _readme_module():
    spec = importlib.util.spec_from_file_location("bench_readme", BENCH.parent / "readme.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_readme_paragraph_is_generated_from_the_figures_and_states_the_load(tmp_path):
    import json

    mod = _readme_module()
    doc = {"command": "train_throughput.py", "date_utc": "2026-11-30 15:00", "commit": "abc",
           "load_before": {"loadavg_1min": 1.8, "cpu_busy": 0.5}, "load_after": {"loadavg_1min": 1.9, "cpu_busy": 1.0},
           "machine": {"cpus": 2},
           "figures": {"hidden": [256, 256], "batch": 64, "threads": 1, "dale_loggrid_samples_per_s": 9876.0,
                       "ann_adam_samples_per_s": 8765.0, "ratio_dale_over_ann": 1.127}}
    (tmp_path / "train_throughput.json").write_text(json.dumps(doc))
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\nbefore\n{mod.BEGIN}\nold typed numbers\n{mod.END}\nafter\n")
    assert mod.refresh(readme, tmp_path)
    text = readme.read_text()
    assert "old typed numbers" not in text and text.startswith("# x\n\nbefore\n") and text.endswith("after\n")
    assert "9876 samples/s" in text and "ratio 1.13" in text
    assert "2 cores: 50 % busy in the second before the run, 1-minute load average 1.80 before and 1.90 after" in text
    assert "Other work kept the machine busy" in text  # half the CPUs busy before the run
    assert "optimizer_step: no figures yet" in text
    assert not mod.refresh(readme, tmp_path)  # idempotent


def test_committed_readme_speed_paragraph_matches_the_committed_figures():
    """The README's numbers are those of results/benchmarks/*.json, not typed by hand."""
    assert _readme_module().main(["--check"]) == 0
