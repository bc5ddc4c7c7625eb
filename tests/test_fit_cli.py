"""Tests of the ``neurosim fit`` subcommand, called in-process."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest

from neurosim import snapshot
from neurosim.analysis import fit_cli
from neurosim.lns import LogGrid

FAST = "lognorm,gamma"


def cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="neurosim")
    sub = parser.add_subparsers()
    fit_cli.register(sub)
    args = parser.parse_args(["fit", *argv])
    return args.func(args)


def sizes(n: int = 300, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).lognormal(-1.0, 0.5, n)


def test_csv_single_column_prints_table_and_writes_figure(tmp_path: Path, capsys) -> None:
    f = tmp_path / "sizes.csv"
    f.write_text("\n".join(f"{v:.6g}" for v in sizes()) + "\n")
    assert cli(str(f), "--families", FAST) == 0
    out = capsys.readouterr().out
    assert "| family |" in out and "| lognorm |" in out and "Best by AIC: lognorm" in out
    assert (tmp_path / "sizes_fit.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "sizes_fit.svg").exists()


def test_csv_named_column_and_out(tmp_path: Path, capsys) -> None:
    f = tmp_path / "data.csv"
    x = sizes()
    f.write_text("id,volume\n" + "\n".join(f"{i},{v:.6g}" for i, v in enumerate(x)) + "\n")
    assert cli(str(f), "--families", FAST) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "choose one with --column" in err and "volume" in err
    assert cli(str(f), "--column", "volume", "--families", FAST, "--out",
               str(tmp_path / "figs" / "v")) == 0
    out = capsys.readouterr().out
    mu = float(out.split("mu=")[1].split(",")[0])
    assert mu == pytest.approx(np.log(x).mean(), abs=1e-3)
    assert (tmp_path / "figs" / "v.png").exists() and (tmp_path / "figs" / "v.svg").exists()
    assert cli(str(f), "--column", "area") == 2
    assert "no column 'area'" in capsys.readouterr().err


def test_invalid_values_are_counted_on_one_line(tmp_path: Path, capsys) -> None:
    x = sizes(500).astype(str).tolist()
    x[:3] = ["0", "0", "0"]
    x[3] = "-0.2"
    x[4:6] = ["nan", "NA"]  # non-numeric cells count as NaN; blank lines are skipped
    f = tmp_path / "sizes.csv"
    f.write_text("\n".join(x) + "\n")
    assert cli(str(f), "--families", FAST) == 2
    cap = capsys.readouterr()
    assert cap.err == (
        "error: sizes.csv: 3 zeros, 1 negative, 2 NaN among 500 values; sizes must be "
        "positive (use --drop-invalid to drop them)\n"
    )
    assert cap.out == ""
    assert not (tmp_path / "sizes_fit.png").exists()
    assert cli(str(f), "--families", FAST, "--drop-invalid") == 0
    cap = capsys.readouterr()
    assert "dropped 3 zeros, 1 negative, 2 NaN of 500 values" in cap.err
    assert "n = 494 sizes" in cap.out


def test_too_few_values(tmp_path: Path, capsys) -> None:
    f = tmp_path / "few.npy"
    np.save(f, sizes(15))
    assert cli(str(f)) == 2
    err = capsys.readouterr().err
    assert err == "error: few.npy: only 15 positive values among 15; need at least 20\n"


def test_npy_and_npz_arrays(tmp_path: Path, capsys) -> None:
    np.save(tmp_path / "a.npy", sizes().reshape(30, 10))
    assert cli(str(tmp_path / "a.npy"), "--families", "lognorm") == 0
    assert "n = 300 sizes" in capsys.readouterr().out
    np.savez(tmp_path / "b.npz", first=sizes(seed=1), second=sizes(50, seed=2))
    assert cli(str(tmp_path / "b.npz"), "--families", "lognorm") == 2
    assert "choose one with --array" in capsys.readouterr().err
    assert cli(str(tmp_path / "b.npz"), "--array", "second", "--families", "lognorm") == 0
    assert "n = 50 sizes" in capsys.readouterr().out
    assert cli(str(tmp_path / "b.npz"), "--families", "pareto", "--array", "first") == 2
    assert "families: unknown 'pareto'" in capsys.readouterr().err


def test_snapshot_gridded_with_silent_synapses(tmp_path: Path, capsys) -> None:
    grid = LogGrid.bartol(w_max=float(np.exp(1.0)))
    rng = np.random.default_rng(3)
    lv = grid.encode(rng.lognormal(-1.0, 0.6, (40, 50)))
    size = grid.decode(lv).astype(np.float32)
    size[:, :5] = 0.0  # silent synapses: 10 %
    proj = snapshot.Projection(sign=np.ones_like(lv, dtype=np.int8), size=size, level=lv,
                               grid=grid, unit="nS")
    other = snapshot.Projection(sign=np.ones(100, np.int8), size=sizes(100).astype(np.float32),
                                pre=np.arange(100), post=np.arange(100))
    path = tmp_path / "snap.npz"
    snapshot.save(path, {"hidden": proj, "readout": other}, {"step": 10, "rule": "madam"})
    assert cli(str(path), "--families", FAST) == 2
    assert "differ in grid or unit; pick one with --projection" in capsys.readouterr().err
    assert cli(str(path), "--projection", "hidden", "--families", FAST) == 0
    out = capsys.readouterr().out
    assert "Binned likelihood over 26 grid levels" in out
    assert "silent fraction 0.1000" in out and "n = 2000 sizes (nS)" in out
    mu = float(out.split("mu=")[1].split(",")[0])
    assert mu == pytest.approx(-1.0, abs=0.06)
    assert cli(str(path), "--projection", "output") == 2
    assert "no projection 'output'" in capsys.readouterr().err


def test_gof_column(tmp_path: Path, capsys) -> None:
    f = tmp_path / "s.npy"
    np.save(f, sizes(200))
    assert cli(str(f), "--families", FAST, "--gof", "--n-mc", "19") == 0
    assert "GoF p" in capsys.readouterr().out


def test_missing_and_unsupported_files(tmp_path: Path, capsys) -> None:
    assert cli(str(tmp_path / "nope.csv")) == 2
    assert "no such file" in capsys.readouterr().err
    f = tmp_path / "x.json"
    f.write_text("[]")
    assert cli(str(f)) == 2
    assert "unsupported file type '.json'" in capsys.readouterr().err


# ---------------------------------------------------------------- hostile files
def _lines(values: np.ndarray) -> list[str]:
    return [f"{v:.6g}" for v in values]


def test_utf8_bom_keeps_the_first_value_and_the_header_name(tmp_path: Path, capsys) -> None:
    x = sizes(200)
    f = tmp_path / "bom.csv"
    f.write_text("\n".join(_lines(x)), encoding="utf-8-sig")
    assert cli(str(f), "--families", "lognorm") == 0
    assert f"n = {x.size} sizes" in capsys.readouterr().out  # the first value is not lost
    g = tmp_path / "bomh.csv"
    g.write_text("volume\n" + "\n".join(_lines(x)), encoding="utf-8-sig")
    assert cli(str(g), "--column", "volume", "--families", "lognorm") == 0


@pytest.mark.parametrize("sep", ["\t", ";"])
def test_tab_and_semicolon_separated_files_are_split(tmp_path: Path, capsys, sep: str) -> None:
    x = sizes(200)
    f = tmp_path / "data.txt"
    f.write_text(f"id{sep}volume\n" + "\n".join(f"{i}{sep}{v:.6g}" for i, v in enumerate(x)))
    assert cli(str(f), "--column", "volume", "--families", "lognorm") == 0
    mu = float(capsys.readouterr().out.split("mu=")[1].split(",")[0])
    assert mu == pytest.approx(np.log(x).mean(), abs=1e-3)


@pytest.mark.parametrize("content,words", [
    ("a;b\n1,5;2,5\n1,7;2,1\n", ("decimal comma", "line 2", "2.5")),
    ("volume\n", ("header", "no values")),
    ("\n".join(["1e308"] * 30), ("rescale",)),
])
def test_confusing_files_get_a_clear_line(tmp_path: Path, capsys, content: str, words: tuple[str, ...]) -> None:
    f = tmp_path / "bad.csv"
    f.write_text(content)
    args = ["--column", "b"] if "a;b" in content else []
    assert cli(str(f), *args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ")
    for w in words:
        assert w in err, (w, err)


def test_directory_and_complex_arrays_are_refused(tmp_path: Path, capsys) -> None:
    (tmp_path / "d.csv").mkdir()
    assert cli(str(tmp_path / "d.csv")) == 2
    assert "is a directory" in capsys.readouterr().err
    np.save(tmp_path / "c.npy", sizes(100).astype(complex))
    assert cli(str(tmp_path / "c.npy")) == 2
    err = capsys.readouterr().err
    assert "complex" in err and err.count("\n") == 1
