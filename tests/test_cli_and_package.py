"""The console script, the installed wheel (with its data), and the demo."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import neurosim
from neurosim.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_version_and_help(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert neurosim.__version__ in capsys.readouterr().out
    assert main([]) == 0
    assert "usage: neurosim" in capsys.readouterr().out


def test_unknown_command_exits_2(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_wheel_ships_the_reference_data(tmp_path) -> None:
    """Build the wheel, install it into an empty folder, and load a reference from it."""
    wheel_dir = tmp_path / "wheel"
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps",
                    "--no-build-isolation", "-q", "-w", str(wheel_dir)], check=True)
    (wheel,) = wheel_dir.glob("neurosim-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "neurosim/data/bartol2015.toml" in names
    assert "neurosim/rules/_kernels.c" in names
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                    str(target), str(wheel)], check=True)
    code = (
        "import neurosim.analysis.reference as r, sys; "
        "d = r.data_dir(); ref = r.load('bartol2015'); "
        "print(d); print(ref.citation[:40])"
    )
    # cwd outside the checkout, so that ``import neurosim`` cannot find the source tree
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                         cwd=tmp_path, env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}).stdout
    data_dir, citation = out.splitlines()[:2]
    assert Path(data_dir).resolve().is_relative_to(target.resolve())
    assert "Bartol" in citation


def test_demo_quick_learns_and_reports_levels(capsys) -> None:
    sys.path.insert(0, str(ROOT / "experiments"))
    try:
        import demo_loggrid_digits
    finally:
        sys.path.pop(0)
    result = demo_loggrid_digits.main(["--quick", "--hidden", "64"])
    out = capsys.readouterr().out
    assert "test accuracy" in out and "levels in use" in out
    assert result["test_accuracy"] > 0.5  # chance is 0.1; 10 epochs of 26-level learning
    assert 2 <= result["levels_used_input->hidden"] <= 26


def test_python_dash_m_neurosim_is_the_command() -> None:
    out = subprocess.run([sys.executable, "-m", "neurosim", "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip().startswith("neurosim"), out.stderr
