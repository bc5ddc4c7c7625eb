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
import sys
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


def _read_csv(path: Path, column: str | None) -> np.ndarray:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.reader(fh) if any(c.strip() for c in r)]
    if not rows:
        raise _InputError(f"{path.name}: empty file")

    def numeric(cell: str) -> bool:
        try:
            float(cell)
        except ValueError:
            return False
        return True

    header = None
    if not all(numeric(c) for c in rows[0] if c.strip()):
        header = [c.strip() for c in rows[0]]
        rows = rows[1:]
    width = max(len(r) for r in rows) if rows else 0
    if column is None:
        if width != 1:
            names = header if header else [str(i) for i in range(width)]
            raise _InputError(
                f"{path.name}: {width} columns; choose one with --column (one of {', '.join(names)})"
            )
        idx = 0
    elif header is not None and column in header:
        idx = header.index(column)
    elif column.lstrip("-").isdigit() and 0 <= int(column) < width:
        idx = int(column)
    else:
        names = header if header else [str(i) for i in range(width)]
        raise _InputError(f"{path.name}: no column {column!r}; columns: {', '.join(names)}")
    out = np.empty(len(rows))
    for i, r in enumerate(rows):
        cell = r[idx].strip() if idx < len(r) else ""
        try:
            out[i] = float(cell)
        except ValueError:
            out[i] = np.nan  # empty or non-numeric cells count as NaN
    return out


def _load(args: argparse.Namespace) -> dict[str, Any]:
    """Sizes and their context: ``sizes``, ``snapshot`` flag, ``grid``, ``unit``."""
    path = Path(args.file)
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
        return {"sizes": np.asarray(arr, dtype=np.float64).ravel(), "snapshot": False,
                "grid": None, "unit": None}
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
                    return {"sizes": np.asarray(npz[key], dtype=np.float64).ravel(),
                            "snapshot": False, "grid": None, "unit": None}
        except (OSError, ValueError) as exc:
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
    try:
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
    out = Path(args.out) if args.out else Path(args.file).with_name(f"{Path(args.file).stem}_fit")
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
