"""The ``neurosim fit FILE`` subcommand: fit size distributions and draw the figure.

Input files:

* ``.csv`` / ``.txt``: one numeric column, or a named column (``--column``; a name
  from the header row or a 0-based index);
* ``.npy``: one array (flattened);
* ``.npz``: a named array (``--array``; optional when the file holds one array), or
  a neurosim snapshot (an ``.npz`` with a ``__header__`` entry): ``--projection``
  selects projections (repeatable; default all, pooled). Gridded projections are
  fitted by the binned likelihood of their levels; zeros in a snapshot are silent
  synapses and are reported as the silent fraction.

For user files, zeros, negative, NaN or infinite values are an error (one line on
stderr that counts them, exit status 2) unless ``--drop-invalid`` drops them.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

EXIT_USAGE = 2


class _InputError(ValueError):
    """A problem with the user's input file: reported on one line, exit status 2."""


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``fit`` subcommand to an ``argparse`` subparsers object."""
    from neurosim.analysis.fits import FAMILIES

    p = subparsers.add_parser(
        "fit",
        help="fit synapse-size distributions (log-normal, gamma, ..., 2-log-normal mixture)",
        description=(
            "Fit candidate distributions to synapse sizes, print a Markdown table "
            "(loglik, AIC, BIC, KS) and write a figure (PNG and SVG)."
        ),
    )
    p.add_argument("file", help="CSV, .npy, .npz or neurosim snapshot (.npz) with sizes")
    p.add_argument("--column", help="CSV column: header name or 0-based index")
    p.add_argument("--array", help="array name inside a plain .npz file")
    p.add_argument(
        "--projection", action="append", default=None,
        help="snapshot projection to fit (repeatable; default all, pooled)",
    )
    p.add_argument(
        "--families", default=None,
        help=f"comma-separated families (default all: {','.join(FAMILIES)})",
    )
    p.add_argument("--out", default=None,
                   help="figure path without suffix (default: <input stem>_fit beside the input)")
    p.add_argument("--unit", default=None, help="size unit for labels (default: file's or a.u.)")
    p.add_argument("--drop-invalid", action="store_true",
                   help="drop zeros, negatives, NaN and inf instead of failing")
    p.add_argument("--gof", action="store_true",
                   help="add Monte Carlo goodness-of-fit p values (parametric bootstrap of KS)")
    p.add_argument("--n-mc", type=int, default=99, help="replicates for --gof (default 99)")
    p.set_defaults(func=run)
    return p


_DELIMITERS = ("\t", ";", ",")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+([eE][+-]?\d+)?$")


def _numeric(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _delimiter(lines: list[str], suffix: str) -> str | None:
    """The field separator: tab, semicolon or comma, whichever splits the first lines evenly."""
    sample = lines[:50]
    for d in (("\t",) if suffix == ".tsv" else ()) + _DELIMITERS:
        counts = {len(next(csv.reader([line], delimiter=d))) for line in sample}
        if len(counts) == 1 and counts.pop() > 1:
            return d
    return None


def _read_csv(path: Path, column: str | None) -> np.ndarray:
    """One column of a delimited text file (comma, semicolon or tab; UTF-8, with or without a BOM)."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _InputError(f"{path.name}: not UTF-8 text") from None
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise _InputError(f"{path.name}: empty file")
    delim = _delimiter(lines, path.suffix.lower())
    rows = [[c.strip() for c in r] for r in csv.reader(lines, delimiter=delim or ",")] if delim else \
        [[line.strip()] for line in lines]
    header = None
    if not all(_numeric(c) for c in rows[0] if c):
        header = rows[0]
        rows = rows[1:]
    if not rows:
        raise _InputError(f"{path.name}: a header ({', '.join(header or [])}) but no values")
    width = max(len(r) for r in rows)
    names = header if header else [str(i) for i in range(width)]
    if column is None:
        if width != 1:
            raise _InputError(
                f"{path.name}: {width} columns; choose one with --column (one of {', '.join(names)})"
            )
        idx = 0
    elif header is not None and column in header:
        idx = header.index(column)
    elif column.isdigit() and int(column) < width:
        idx = int(column)
    else:
        raise _InputError(f"{path.name}: no column {column!r}; columns: {', '.join(names)}")
    out = np.empty(len(rows))
    for i, r in enumerate(rows):
        cell = r[idx] if idx < len(r) else ""
        if _DECIMAL_COMMA.match(cell):
            line = i + 1 + (header is not None)
            raise _InputError(f"{path.name}: line {line}: {cell!r} has a decimal comma; write a decimal "
                              f"point ({cell.replace(',', '.')})")
        try:
            out[i] = float(cell)
        except ValueError:
            out[i] = np.nan  # empty or non-numeric cells count as NaN
    return out


def _as_sizes(arr: Any, where: str) -> np.ndarray:
    """A numeric array as float64, flattened; complex, boolean, text or object arrays are refused."""
    arr = np.asarray(arr)
    if arr.dtype.kind not in "iuf":
        kind = {"c": "complex", "b": "boolean", "U": "text", "S": "bytes", "O": "object"}.get(
            arr.dtype.kind, str(arr.dtype))
        raise _InputError(f"{where}: holds {kind} values; sizes must be real numbers")
    return arr.astype(np.float64).ravel()


def _load(args: argparse.Namespace) -> dict[str, Any]:
    """Sizes and their context: ``sizes``, ``snapshot`` flag, ``grid``, ``unit``."""
    path = Path(args.file)
    if path.is_dir():
        raise _InputError(f"{path}: is a directory, expected a file of sizes")
    if not path.is_file():
        raise _InputError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        return {"sizes": _read_csv(path, args.column), "snapshot": False, "grid": None,
                "unit": None}
    if suffix == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise _InputError(f"{path.name}: not a readable .npy file ({exc})") from None
        return {"sizes": _as_sizes(arr, path.name), "snapshot": False, "grid": None, "unit": None}
    if suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as npz:
                names = list(npz.files)
                if "__header__" not in names:
                    if args.array is None:
                        if len(names) != 1:
                            raise _InputError(
                                f"{path.name}: {len(names)} arrays; choose one with --array "
                                f"(one of {', '.join(names)})"
                            )
                        key = names[0]
                    elif args.array in names:
                        key = args.array
                    else:
                        raise _InputError(
                            f"{path.name}: no array {args.array!r}; arrays: {', '.join(names)}"
                        )
                    return {"sizes": _as_sizes(npz[key], f"{path.name}: array {key!r}"),
                            "snapshot": False, "grid": None, "unit": None}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            if isinstance(exc, _InputError):
                raise
            raise _InputError(f"{path.name}: not a readable .npz file ({exc})") from None
        return _load_snapshot(path, args.projection)
    raise _InputError(f"{path.name}: unsupported file type {suffix!r}; use .csv, .npy or .npz")


def _load_snapshot(path: Path, projection: list[str] | None) -> dict[str, Any]:
    from neurosim import snapshot

    try:
        snap = snapshot.load(path)
    except snapshot.SnapshotError as exc:
        raise _InputError(str(exc)) from None
    names = projection or list(snap.projections)
    missing = [n for n in names if n not in snap.projections]
    if missing:
        raise _InputError(
            f"{path.name}: no projection {missing[0]!r}; has {', '.join(snap.projections)}"
        )
    if not names:
        raise _InputError(f"{path.name}: snapshot has no projections")
    projs = [snap.projections[n] for n in names]
    grids = {None if p.grid is None else tuple(p.grid.to_dict().values()) for p in projs}
    units = {p.unit for p in projs}
    if len(grids) > 1 or len(units) > 1:
        raise _InputError(
            f"{path.name}: projections {', '.join(names)} differ in grid or unit; "
            "pick one with --projection"
        )
    return {"sizes": snap.sizes(names), "snapshot": True, "grid": projs[0].grid,
            "unit": projs[0].unit, "projections": names}


def _check_writable(out: Path) -> None:
    """The figure's folder must be writable or creatable (checked before any work)."""
    from neurosim.files import unwritable

    why = unwritable(out.parent)
    if why:
        raise _InputError(f"--out: {why}")


def _invalid_counts(x: np.ndarray) -> dict[str, int]:
    return {
        "zeros": int((x == 0).sum()),
        "negative": int((x < 0).sum()),
        "NaN": int(np.isnan(x).sum()),
        "inf": int(np.isinf(x).sum()),
    }


def _describe(counts: dict[str, int]) -> str:
    words = {"zeros": ("zero", "zeros"), "negative": ("negative", "negative"),
             "NaN": ("NaN", "NaN"), "inf": ("inf", "inf")}
    return ", ".join(f"{c} {words[k][c != 1]}" for k, c in counts.items() if c)


def run(args: argparse.Namespace) -> int:
    """Run ``neurosim fit``; return the exit status (0 ok, 2 bad input)."""
    from neurosim.analysis import plots
    from neurosim.analysis.fits import MIN_POSITIVE, fit_sizes

    name = Path(args.file).name
    out = Path(args.out) if args.out else Path(args.file).with_name(f"{Path(args.file).stem}_fit")
    try:
        _check_writable(out)
        loaded = _load(args)
        x = loaded["sizes"]
        if loaded["snapshot"]:
            x = x[x >= 0]  # snapshot sizes are validated >= 0; zeros are silent synapses
        else:
            counts = _invalid_counts(x)
            n_bad = sum(counts.values())
            if n_bad:
                if not args.drop_invalid:
                    raise _InputError(
                        f"{name}: {_describe(counts)} among {x.size} values; sizes must be "
                        "positive (use --drop-invalid to drop them)"
                    )
                print(f"note: {name}: dropped {_describe(counts)} of {x.size} values",
                      file=sys.stderr)
                x = x[np.isfinite(x) & (x > 0)]
        n_pos = int((x > 0).sum())
        if n_pos < MIN_POSITIVE:
            raise _InputError(
                f"{name}: only {n_pos} positive values among {x.size}; need at least "
                f"{MIN_POSITIVE}"
            )
        unit = args.unit or loaded.get("unit") or "a.u."
        if unit == "1":
            unit = "a.u."
        grid = loaded["grid"]
        if grid is not None:
            # sizes are float32 decoded levels: snap them back onto the grid exactly
            pos = x > 0
            x = x.copy()
            x[pos] = grid.decode(grid.encode(x[pos], "nearest"))
        report = fit_sizes(x, families=args.families, grid=grid, unit=unit)
        if args.gof:
            for fam in report.results:
                report.gof(fam, n_mc=args.n_mc)
    except _InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as exc:
        print(f"error: {name}: {str(exc).splitlines()[0]}", file=sys.stderr)
        return EXIT_USAGE

    where = f" (projections: {', '.join(loaded['projections'])})" if loaded["snapshot"] else ""
    print(f"# Size distribution fit: {name}{where}\n")
    print(report.table())
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    plots.plot_fit(report, ax=axes[0])
    if "lognorm" in report.results:
        plots.plot_qq(report, "lognorm", ax=axes[1])
    else:
        plots.plot_qq(report, report.best, ax=axes[1])
    fig.tight_layout()
    paths = plots.save_figure(fig, out)
    plt.close(fig)
    print(f"figure: {paths[0]} and {paths[1].name}")
    return 0


__all__ = ["register", "run"]
