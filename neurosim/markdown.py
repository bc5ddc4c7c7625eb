"""Markdown for reports: one table helper and the number formats every report uses.

    >>> print(table(["rule", "accuracy (%)"], [["Madam", num(97.04, ".1f")], ["Adam", None]]))
    | rule | accuracy (%) |
    |---|---|
    | Madam | 97.0 |
    | Adam | - |
    <BLANKLINE>
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["MISSING", "interval", "num", "pct", "table"]

#: What a cell shows for a value that is missing or not finite.
MISSING = "-"


def num(x: Any, spec: str = ".3f") -> str:
    """``x`` formatted with ``spec``; :data:`MISSING` for ``None``, NaN or inf; other objects as ``str``."""
    if x is None:
        return MISSING
    if isinstance(x, bool):
        return str(x)
    try:
        xf = float(x)
    except (TypeError, ValueError):
        return str(x)
    return format(xf, spec) if math.isfinite(xf) else MISSING


def pct(x: Any, spec: str = ".1f") -> str:
    """A fraction as a percentage (``0.973`` -> ``97.3``)."""
    return num(None if x is None else 100.0 * float(x), spec)


def interval(ci: Sequence[Any] | None, spec: str = ".3f", *, scale: float = 1.0) -> str:
    """``" [lo, hi]"`` for a two-value interval (scaled), ``""`` when there is none."""
    if ci is None or len(ci) != 2 or ci[0] is None or ci[1] is None:
        return ""
    lo, hi = (float(v) * scale for v in ci)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return ""
    return f" [{format(lo, spec)}, {format(hi, spec)}]"


def table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A Markdown table; ``None`` cells show :data:`MISSING`, other cells ``str(cell)``."""
    def cell(v: Any) -> str:
        return MISSING if v is None else str(v).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"
