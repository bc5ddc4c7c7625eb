"""Hostile input to the commands: each case is one clear line (or the right result), never a traceback,
and nothing already written is lost. Cases follow the hardening issue's list."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import mlp_toml

from neurosim.cli import EXIT_DIVERGED, EXIT_USAGE, main
from neurosim.runner.rundir import code_hash

BASE = mlp_toml("h", seed=1, epochs=2)


def _base(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "base.toml"
    path.write_text(BASE + extra)
    return path


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _one_error_line(err: str, *words: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for w in words:
        assert w in lines[0], (w, lines[0])


def _cli(args: list[str], **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "neurosim.cli", *args], **kw)


# ---------------------------------------------------------------- crashes -> recorded outcomes
@pytest.mark.parametrize("rule", ["loggrid_madam", "madam"])
def test_huge_finite_input_is_a_recorded_divergence_not_a_crash(tmp_path: Path, capsys, rule: str) -> None:
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "big.npz", X=np.full((200, 8), 3e38, np.float32), y=rng.integers(0, 2, 200))
    cfg = _base(tmp_path).read_text().replace('name = "digits"', f'name = "npz"\npath = "{tmp_path / "big.npz"}"')
    cfg = cfg.replace('name = "loggrid_madam"', f'name = "{rule}"')
    (tmp_path / "c.toml").write_text(cfg)
    runs = tmp_path / "runs"
    code, out, err = _run(capsys, "run", str(tmp_path / "c.toml"), "--runs", str(runs), "--quiet")
    assert code == EXIT_DIVERGED and code not in (0, EXIT_USAGE), (out, err)
    assert out.startswith("diverged: ") and "non-finite loss" in out and out.count("\n") == 1
    (rd,) = [p for p in runs.iterdir()]
    final = json.loads((rd / "result.json").read_text())["final"]
    assert final["diverged"] == 1 and final["diverged_reason"] == "non-finite loss"
    assert (rd / "DONE").exists()
    if rule == "loggrid_madam":
        assert final["nonfinite_grads"] > 0  # the NaN gradients were skipped, counted, weights stayed finite
    # again: the recorded outcome, the same status, no crash
    code, out, _ = _run(capsys, "run", str(tmp_path / "c.toml"), "--runs", str(runs), "--quiet")
    assert code == EXIT_DIVERGED and out.startswith("already diverged")


def test_large_but_finite_loss_is_not_divergence(tmp_path: Path) -> None:
    from neurosim.runner.config import load
    from neurosim.runner.torch_run import _divergence, prepare

    setup = prepare(load(_base(tmp_path)))
    assert _divergence(setup, 1e30) is None
    assert _divergence(setup, float("nan")) == "non-finite loss"
    with __import__("torch").no_grad():
        next(setup.model.parameters()).fill_(float("inf"))
    assert _divergence(setup, 1.0) == "non-finite weights"


def test_a_sweep_and_an_lr_scan_keep_going_past_a_diverged_run(tmp_path: Path) -> None:
    from neurosim.runner.sweep import build_sweep, run_sweep
    from neurosim.runner.tune import best_lr

    base = _base(tmp_path)
    sweep = build_sweep({"name": "s", "base": str(base), "seeds": [0], "condition": [
        {"label": "ok", "set": {"rule": {"name": "sgd", "lr": 0.1}, "network.dale": False}},
        {"label": "boom", "set": {"rule": {"name": "sgd", "lr": 1e12}, "network.dale": False}}]})
    out = run_sweep(sweep, tmp_path / "runs", workers=1, progress=False)
    assert not out.failed and len(out.diverged) == 1 and "boom" in out.diverged[0]
    summary = json.loads((out.sweep_dir / "summary.json").read_text())["summary"]
    assert summary["boom"]["metrics"]["diverged"]["mean"] == 1.0
    assert best_lr({0.1: {"val_loss": 0.5, "val_accuracy": 0.8, "diverged": 0},
                    1e12: {"val_loss": 0.1, "val_accuracy": 0.9, "diverged": 1}}) == 0.1


# ---------------------------------------------------------------- data loss
def test_quick_studies_never_write_into_results(tmp_path: Path, monkeypatch) -> None:
    from neurosim.runner.study import RESULTS, report_dir, study_parser

    monkeypatch.chdir(tmp_path)
    parser = study_parser("A study.", "demo")
    quick = report_dir(parser.parse_args(["--quick", "--runs", "r"]), "demo")
    assert quick == Path("r") / "quick" / "demo" and not RESULTS.exists()
    named = report_dir(parser.parse_args(["--quick", "--out", "results/demo"]), "demo")
    assert named == Path("results/demo")  # asked for by name
    assert report_dir(parser.parse_args([]), "demo") == RESULTS / "demo"


# ---------------------------------------------------------------- wrong or silent results
def test_runs_are_keyed_by_the_content_of_their_npz_file(tmp_path: Path, capsys) -> None:
    rng = np.random.default_rng(0)
    data = tmp_path / "d.npz"
    np.savez(data, X=rng.normal(size=(120, 5)), y=rng.integers(0, 3, 120))
    cfg = _base(tmp_path).read_text().replace('name = "digits"', f'name = "npz"\npath = "{data}"')
    (tmp_path / "c.toml").write_text(cfg)
    runs = tmp_path / "runs"
    assert _run(capsys, "run", str(tmp_path / "c.toml"), "--runs", str(runs), "--quiet")[0] == 0
    np.savez(data, X=rng.normal(size=(120, 5)), y=rng.integers(0, 3, 120))  # same path, new data
    code, out, _ = _run(capsys, "run", str(tmp_path / "c.toml"), "--runs", str(runs), "--quiet")
    assert code == 0 and not out.startswith("already") and len(list(runs.iterdir())) == 2
    # the same content under another path is the same run
    copy = tmp_path / "copy.npz"
    copy.write_bytes(data.read_bytes())
    (tmp_path / "c2.toml").write_text(cfg.replace(str(data), str(copy)))
    code, out, _ = _run(capsys, "run", str(tmp_path / "c2.toml"), "--runs", str(runs), "--quiet")
    assert code == 0 and out.startswith("already finished")
    cfg_json = json.loads((next(runs.iterdir()) / "config.json").read_text())
    assert len(cfg_json["task"]["sha256"]) == 64


def test_a_run_made_by_other_code_is_stale_until_told(tmp_path: Path, capsys) -> None:
    runs = tmp_path / "runs"
    base = _base(tmp_path)
    assert _run(capsys, "run", str(base), "--runs", str(runs), "--quiet")[0] == 0
    (rd,) = runs.iterdir()
    prov = json.loads((rd / "provenance.json").read_text())
    assert prov["code_hash"] and "fused" in prov["fused_kernels"] and "compiler" in prov["fused_kernels"]
    prov["code_hash"] = "0123456789ab"
    (rd / "provenance.json").write_text(json.dumps(prov))
    code, _, err = _run(capsys, "run", str(base), "--runs", str(runs), "--quiet")
    assert code == EXIT_USAGE
    _one_error_line(err, "made by other neurosim code", "0123456789ab", "--stale rerun", "--stale reuse")
    code, out, _ = _run(capsys, "run", str(base), "--runs", str(runs), "--quiet", "--stale", "reuse")
    assert code == 0 and out.startswith("already finished")
    # reanalyse: the training stays, the report and analysis are written again by this code
    (rd / "report.md").write_text("old report")
    metrics = (rd / "metrics.jsonl").read_text()
    code, out, _ = _run(capsys, "run", str(base), "--runs", str(runs), "--quiet", "--stale", "reanalyse")
    assert code == 0 and out.startswith("already finished")
    result = json.loads((rd / "result.json").read_text())
    assert result["analysed_by"] == code_hash() and (rd / "report.md").read_text() != "old report"
    assert (rd / "metrics.jsonl").read_text() == metrics
    assert json.loads((rd / "provenance.json").read_text())["code_hash"] == "0123456789ab"  # still stale
    code, out, _ = _run(capsys, "run", str(base), "--runs", str(runs), "--quiet", "--stale", "rerun")
    assert code == 0 and out.startswith("finished")
    assert (runs / "stale" / f"{rd.name}.0123456789ab" / "DONE").exists()  # moved aside, not lost
    assert json.loads((rd / "provenance.json").read_text())["code_hash"] != "0123456789ab"
    # a sweep finds stale runs before it runs anything
    prov = json.loads((rd / "provenance.json").read_text())
    prov["code_hash"] = "ffffffffffff"
    (rd / "provenance.json").write_text(json.dumps(prov))
    sweep = tmp_path / "s.toml"
    sweep.write_text(f'name = "s"\nbase = "{base}"\nseeds = [1, 2]\n[[condition]]\nlabel = "a"\nname = "h"\n')
    code, _, err = _run(capsys, "sweep", str(sweep), "--runs", str(runs), "--quiet")
    assert code == EXIT_USAGE and "1 stale run(s)" in err
    assert not any(p.name.startswith("h-") and not (p / "DONE").exists() for p in runs.iterdir())
    # the sweep's workers reanalyse a finished stale run (and train the rest)
    code, _, _ = _run(capsys, "sweep", str(sweep), "--runs", str(runs), "--quiet", "--stale", "reanalyse")
    assert code == 0 and json.loads((rd / "result.json").read_text())["analysed_by"] == code_hash()


@pytest.mark.parametrize("sched,key", [
    ('{name = "ExponentialLR", params = {gamma = -1}}', "schedule.params.gamma"),
    ('{name = "CosineAnnealingLR", params = {T_max = 0}}', "schedule.params.T_max"),
    ('{name = "StepLR", params = {step_size = 0}}', "schedule.params.step_size"),
    ('{name = "LinearLR", params = {start_factor = 1.0, end_factor = 2.0}}', "schedule.params.end_factor"),
    ('{name = "MultiStepLR", params = {milestones = [1], gamma = -2}}', "schedule.params.gamma"),
])
def test_bad_scheduler_parameters_fail_before_the_run(tmp_path: Path, capsys, sched: str, key: str) -> None:
    base = _base(tmp_path)
    code, _, err = _run(capsys, "run", str(base), "--runs", str(tmp_path / "runs"), "--set", f"schedule={sched}")
    assert code == EXIT_USAGE
    _one_error_line(err, key)
    assert not (tmp_path / "runs").exists()


def test_scheduler_simulated_over_the_epochs() -> None:
    from neurosim.runner.config import ConfigError, _check_scheduler

    _check_scheduler({"name": "CosineAnnealingLR", "params": {"T_max": 5}}, 40)  # lr stays in [0, 1]
    with pytest.raises(ConfigError, match="schedule.params"):
        _check_scheduler({"name": "StepLR", "params": {"step_size": 1, "gamma": float("inf")}}, 5)


def test_quick_does_not_hide_invalid_values(tmp_path: Path, capsys) -> None:
    base = _base(tmp_path)
    code, _, err = _run(capsys, "run", str(base), "--runs", str(tmp_path / "r"), "--quick",
                        "--set", "train.epochs=[1, 2]")
    assert code == EXIT_USAGE
    _one_error_line(err, "train.epochs")


def test_sweep_workers_key_is_read_and_checked(tmp_path: Path, capsys) -> None:
    from neurosim.runner.sweep import load_sweep

    base = _base(tmp_path)
    path = tmp_path / "s.toml"
    path.write_text(f'name = "s"\nbase = "{base}"\nworkers = 3\n[[condition]]\nlabel = "a"\n')
    assert load_sweep(path).workers == 3
    path.write_text(f'name = "s"\nbase = "{base}"\nworkers = "many"\n[[condition]]\nlabel = "a"\n')
    code, _, err = _run(capsys, "sweep", str(path), "--runs", str(tmp_path / "r"))
    assert code == EXIT_USAGE
    _one_error_line(err, "workers", "many")


@pytest.mark.parametrize("config, setting", [
    (None, "network.hidden=[2000000000]"),
    ("experiments/configs/song.toml", "network.n_inputs=2000000000"),
    ("experiments/configs/ei.toml", "network.n_e=2000000")])
def test_a_network_too_big_for_memory_is_refused_before_anything_is_built(tmp_path: Path, capsys, config,
                                                                          setting: str) -> None:
    path = _base(tmp_path) if config is None else Path(__file__).resolve().parents[1] / config
    code, _, err = _run(capsys, "run", str(path), "--runs", str(tmp_path / "r"), "--set", setting)
    assert code == EXIT_USAGE
    _one_error_line(err, "network", "GiB", "available")
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())  # nothing half-written


def test_extreme_ratio_and_empty_validation_split_are_named(tmp_path: Path, capsys) -> None:
    base = _base(tmp_path)
    code, _, err = _run(capsys, "run", str(base), "--runs", str(tmp_path / "r"), "--set", "rule.ratio=1e308")
    assert code == EXIT_USAGE
    _one_error_line(err, "rule.ratio", "1e+30")
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "few.npz", X=rng.normal(size=(4, 3)), y=np.arange(4))
    cfg = base.read_text().replace('name = "digits"', f'name = "npz"\npath = "{tmp_path / "few.npz"}"')
    (tmp_path / "c.toml").write_text(cfg)
    code, _, err = _run(capsys, "run", str(tmp_path / "c.toml"), "--runs", str(tmp_path / "r"))
    assert code == EXIT_USAGE
    _one_error_line(err, "val_fraction", "no validation samples")
    code, _, err = _run(capsys, "run", str(tmp_path / "c.toml"), "--runs", str(tmp_path / "r"),
                        "--set", "task.val_fraction=0")
    assert code == EXIT_USAGE
    _one_error_line(err, "test_fraction", "no test samples")


def test_report_on_an_unfinished_run_says_so(tmp_path: Path, capsys) -> None:
    runs = tmp_path / "runs"
    assert _run(capsys, "run", str(_base(tmp_path)), "--runs", str(runs), "--quiet")[0] == 0
    (rd,) = runs.iterdir()
    (rd / "DONE").unlink()
    (rd / "result.json").unlink()
    code, out, err = _run(capsys, "report", str(rd))
    assert code == 0 and "not finished" in err
    assert "**Unfinished run**" in (rd / "report.md").read_text()


# ---------------------------------------------------------------- tracebacks -> one line
@pytest.mark.parametrize("case", ["binary config", "long name", "seed beyond 64 bits", "threads beyond 64 bits",
                                  "--runs is a file", "--runs under /proc", "sweep --runs under /proc"])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path: Path, capsys, case: str) -> None:
    base = _base(tmp_path)
    runs = tmp_path / "runs"
    args = ["run", str(base), "--runs", str(runs)]
    if case == "binary config":
        (tmp_path / "bin.toml").write_bytes(bytes(range(256)) * 3)
        args[1], words = str(tmp_path / "bin.toml"), ("not UTF-8",)
    elif case == "long name":
        args += ["--set", f'name="{"a" * 300}"']
        words = ("name", "at most 100")
    elif case == "seed beyond 64 bits":
        args += ["--set", f"seed={2**64}"]
        words = ("seed", "<=")
    elif case == "threads beyond 64 bits":
        args += ["--set", f"threads={2**64}"]
        words = ("threads", "<=")
    elif case == "--runs is a file":
        runs.write_text("x")
        words = ("--runs", "is a file")
    elif case == "--runs under /proc":
        args[3] = "/proc/neurosim-runs"
        words = ("cannot create",)
    else:
        sweep = tmp_path / "s.toml"
        sweep.write_text(f'name = "s"\nbase = "{base}"\n[[condition]]\nlabel = "a"\n')
        args = ["sweep", str(sweep), "--runs", "/proc/neurosim-runs", "--quiet"]
        words = ("cannot create",)
    code, _, err = _run(capsys, *args)
    assert code == EXIT_USAGE
    _one_error_line(err, *words)
    assert not runs.exists() or runs.is_file()


def test_unwritable_folders_are_one_line(tmp_path: Path, capsys, monkeypatch) -> None:
    """run, sweep, report and fit --out into a folder that cannot be written (root ignores chmod, so
    the write itself is made to fail with the error a read-only folder gives)."""
    import neurosim.files as io

    runs = tmp_path / "runs"
    base = _base(tmp_path)
    assert _run(capsys, "run", str(base), "--runs", str(runs), "--quiet")[0] == 0
    (rd,) = runs.iterdir()

    def refuse(path, *a, **k):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(io, "atomic_path", refuse)
    code, _, err = _run(capsys, "report", str(rd))
    assert code == EXIT_USAGE
    _one_error_line(err, "Permission denied")
    monkeypatch.undo()
    if os.geteuid() != 0:  # a real read-only folder where permissions apply
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o555)
        for args in (["run", str(base), "--runs", str(ro / "r")],
                     ["fit", str(tmp_path / "x.csv"), "--out", str(ro / "f")]):
            code, _, err = _run(capsys, *args)
            assert code == EXIT_USAGE and "not writable" in err
    # --out of fit under a file
    (tmp_path / "x.csv").write_text("\n".join(str(v) for v in np.linspace(0.1, 1, 40)))
    code, _, err = _run(capsys, "fit", str(tmp_path / "x.csv"), "--out", str(base / "fig"))
    assert code == EXIT_USAGE
    _one_error_line(err, "--out")


def test_unreachable_dask_scheduler_is_one_line(tmp_path: Path, capsys) -> None:
    base = _base(tmp_path)
    sweep = tmp_path / "s.toml"
    sweep.write_text(f'name = "s"\nbase = "{base}"\n[[condition]]\nlabel = "a"\n')
    code, _, err = _run(capsys, "sweep", str(sweep), "--runs", str(tmp_path / "r"), "--quiet", "--dask",
                        "tcp://127.0.0.1:9")
    assert code == EXIT_USAGE
    _one_error_line(err, "--dask", "127.0.0.1:9")
    code, _, err = _run(capsys, "sweep", str(sweep), "--runs", str(tmp_path / "r"), "--quiet", "--dask", "nowhere")
    assert code == EXIT_USAGE
    _one_error_line(err, "--dask", "tcp://host:8786")


@pytest.mark.parametrize("damage", ["metrics.jsonl", "config.json", "snapshot"])
def test_report_on_damaged_files_is_one_line(tmp_path: Path, capsys, damage: str) -> None:
    runs = tmp_path / "runs"
    assert _run(capsys, "run", str(_base(tmp_path, '\n'.join(["", "[quick]"]))), "--runs", str(runs), "--quiet",
                "--set", "analysis.fit=true")[0] == 0
    (rd,) = runs.iterdir()
    target = sorted((rd / "snapshots").glob("*.npz"))[-1] if damage == "snapshot" else rd / damage
    target.write_bytes(target.read_bytes()[: len(target.read_bytes()) // 3])
    code, _, err = _run(capsys, "report", str(rd))
    assert code == EXIT_USAGE
    _one_error_line(err, target.name)
    if damage == "snapshot":
        code, _, err = _run(capsys, "fit", str(target))
        assert code == EXIT_USAGE
        _one_error_line(err, target.name)


@pytest.mark.parametrize("policy, logged", [("previous", "resuming from checkpoint.prev.pt"),
                                            ("scratch", "starting from scratch")])
def test_damaged_checkpoint_is_named_and_the_user_chooses(tmp_path: Path, capsys, policy: str,
                                                          logged: str) -> None:
    base = _base(tmp_path)
    runs = tmp_path / "runs"
    env = {**os.environ, "NEUROSIM_TEST_KILL_AT": "2:3"}
    proc = subprocess.run([sys.executable, "-m", "neurosim.cli", "run", str(base), "--runs", str(runs), "--quiet",
                           "--set", "train.epochs=3"], env=env, capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL
    (rd,) = runs.iterdir()
    ckpt = rd / "checkpoint.pt"
    ckpt.write_bytes(ckpt.read_bytes()[:500])
    args = ["run", str(base), "--runs", str(runs), "--quiet", "--set", "train.epochs=3"]
    code, _, err = _run(capsys, *args)
    assert code == EXIT_USAGE
    _one_error_line(err, "checkpoint.pt", "--bad-checkpoint previous", "--bad-checkpoint scratch")
    assert not (rd / "DONE").exists()
    code, out, _ = _run(capsys, *args, "--bad-checkpoint", policy)
    assert code == 0 and out.startswith("finished")
    assert logged in (rd / "run.log").read_text()


# ---------------------------------------------------------------- processes and files
def test_sweep_workers_die_with_their_parent(tmp_path: Path) -> None:
    base = _base(tmp_path)
    sweep = tmp_path / "s.toml"
    sweep.write_text(f'name = "s"\nbase = "{base}"\nseeds = [0, 1]\nworkers = 2\n[[condition]]\nlabel = "a"\n'
                     'set = { "train.epochs" = 100000, "network.hidden" = [64] }\n')
    runs = tmp_path / "runs"
    proc = _cli(["sweep", str(sweep), "--runs", str(runs), "--quiet"], stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    pids: list[int] = []
    while time.time() < deadline and len(pids) < 2:
        pids = [int(p.read_text()) for p in runs.glob("*/.lock") if p.read_text().strip()]
        time.sleep(0.2)
    assert len(pids) == 2, "the workers never started"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    deadline = time.time() + 15
    alive = pids
    while time.time() < deadline and alive:
        alive = [p for p in alive if _alive(p)]
        time.sleep(0.2)
    assert not alive, f"workers {alive} outlived the sweep"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped) is not running
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_a_second_run_of_the_same_config_waits_its_turn(tmp_path: Path, capsys) -> None:
    base = _base(tmp_path)
    runs = tmp_path / "runs"
    args = ["run", str(base), "--runs", str(runs), "--quiet", "--set", "train.epochs=100000",
            "--set", "network.hidden=[64]"]
    first = _cli(args, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and not list(runs.glob("*/checkpoint.pt")):
        time.sleep(0.1)
    code, _, err = _run(capsys, *args)
    assert code == EXIT_USAGE
    _one_error_line(err, "in progress in another process", f"pid {first.pid}")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    # the killed process's lock does not block the resume
    second = _cli(args, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    log = next(runs.iterdir()) / "run.log"
    while time.time() < deadline and "resumed" not in log.read_text():
        time.sleep(0.1)
    second.send_signal(signal.SIGINT)
    _, err = second.communicate(timeout=60)
    assert second.returncode == 130 and "resumed from checkpoint" in log.read_text()
    # the Ctrl-C message and the log name the same epoch
    said = err.strip().splitlines()[-1].split("interrupted at ")[1].split(";")[0]
    assert f"interrupted at {said}" in log.read_text()


def test_written_files_follow_the_umask_and_killed_writes_are_cleaned(tmp_path: Path, capsys) -> None:
    import neurosim.files as io

    runs = tmp_path / "runs"
    base = _base(tmp_path)
    assert _run(capsys, "run", str(base), "--runs", str(runs), "--quiet", "--set", "train.epochs=1")[0] == 0
    (rd,) = runs.iterdir()
    for name in ("config.json", "metrics.jsonl", "report.md", "checkpoint.pt", "DONE"):
        assert (rd / name).stat().st_mode & 0o777 == io._MODE, name
    for snap in (rd / "snapshots").iterdir():
        assert snap.stat().st_mode & 0o777 == io._MODE
    # a writer killed mid-checkpoint leaves a temporary file; taking the run up again removes it
    (rd / "DONE").unlink()
    stray = rd / ".checkpoint.pt.abc123.tmp.pt"
    stray.write_bytes(b"half")
    assert _run(capsys, "run", str(base), "--runs", str(runs), "--quiet", "--set", "train.epochs=1")[0] == 0
    assert not stray.exists()
