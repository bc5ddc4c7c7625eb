"""Published reference data on synapse sizes, shipped as TOML files in ``data/``.

Each source is one TOML file (``data/<key>.toml``, installed as ``neurosim/data``) with its
citation, DOI, what was measured (spine-head volume, EPSP amplitude, ...) and, for every
number, a table with ``value``, ``unit``, ``kind``, ``where`` and ``verified`` (see
``data/README.md``). Sources with a ``[shape]`` table describe a log-normal-like
distribution that networks can be compared with (:func:`sigma_ln`, :func:`standardised_cdf`).

Sources
-------
* Bartol et al. (2015), eLife 4:e10778 -- ``bartol2015``
* Samavat et al. (2024), Neural Computation 36:781 -- ``samavat2024``
* Song et al. (2005), PLoS Biol. 3:e68 -- ``song2005``
* Dorkenwald et al. (2022), eLife 11:e76120 -- ``dorkenwald2022``
* Loewenstein, Kuras & Rumpel (2011), J. Neurosci. 31:9481 -- ``loewenstein2011``
"""

from __future__ import annotations

import functools
import importlib.resources
import math
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import optimize, stats

KINDS: tuple[str, ...] = (
    "reported-text",
    "reported-table",
    "reported-figure",
    "digitised-figure",
    "derived",
)

_LOG_BASES = {"e": 1.0, "10": math.log(10.0), "2": math.log(2.0)}


#: The references a run's analysis compares with by default: shapes (Song et al. 2005,
#: Dorkenwald et al. 2022), precision (Bartol et al. 2015, Samavat et al. 2024) and
#: dynamics (Loewenstein et al. 2011).
DEFAULT_REFERENCES: tuple[str, ...] = (
    "bartol2015", "song2005", "dorkenwald2022", "samavat2024", "loewenstein2011",
)

@dataclass(frozen=True)
class RefValue:
    """One published (or derived) number with its provenance.

    Attributes
    ----------
    value:
        The number, in ``unit``.
    unit:
        Its unit (``"1"`` for dimensionless).
    kind:
        One of :data:`KINDS`.
    where:
        Section, table or figure of the source.
    verified:
        True only if checked against the paper or an authoritative copy of its text.
    note:
        What was checked, or what is unchecked.
    formula:
        For ``kind = "derived"``: how it was computed from reported numbers.
    """

    value: float
    unit: str
    kind: str
    where: str
    verified: bool
    note: str = ""
    formula: str = ""


@dataclass(frozen=True)
class Reference:
    """One published source: citation, what was measured, and its numbers.

    ``ref["name"]`` returns the number ``ref.values["name"].value``.
    """

    key: str
    citation: str
    doi: str
    measured: str
    units: str
    values: dict[str, RefValue]
    shape: dict[str, Any] | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> float:
        try:
            return self.values[name].value
        except KeyError:
            raise KeyError(
                f"name: {name!r} is not a value of reference {self.key!r}; "
                f"available: {sorted(self.values)}"
            ) from None

    @property
    def all_verified(self) -> bool:
        """True if every number of this source is marked verified."""
        return all(v.verified for v in self.values.values())


_SHORT = {
    "bartol2015": "Bartol et al. 2015",
    "song2005": "Song et al. 2005",
    "dorkenwald2022": "Dorkenwald et al. 2022",
    "samavat2024": "Samavat et al. 2024",
    "loewenstein2011": "Loewenstein et al. 2011",
}


def short_citation(key: str) -> str:
    """A reference key as an author-year citation."""
    return _SHORT.get(key, key)


def data_dir() -> Path:
    """Folder holding the reference TOML files.

    ``neurosim/data`` inside an installed wheel, else the repository's top-level ``data/``
    (source or editable install).
    """
    try:
        packaged = importlib.resources.files("neurosim") / "data"
        if packaged.is_dir():
            return Path(str(packaged))
    except (ModuleNotFoundError, TypeError):  # pragma: no cover - defensive
        pass
    return Path(__file__).resolve().parents[2] / "data"


def available() -> list[str]:
    """Keys of the shipped references (file names without ``.toml``), sorted."""
    return sorted(p.stem for p in data_dir().glob("*.toml"))


def load(name: str) -> Reference:
    """Load the reference ``name`` (e.g. ``"song2005"``) from the shipped data.

    Raises
    ------
    ValueError
        If ``name`` is not a shipped reference, or its file breaks the schema.
    """
    names = available()
    if not isinstance(name, str) or name not in names:
        raise ValueError(f"name: unknown reference {name!r}; available: {', '.join(names)}")
    return _load_file(str(data_dir() / f"{name}.toml"))


@functools.cache
def _load_file(path_str: str) -> Reference:
    path = Path(path_str)
    with open(path, "rb") as fh:
        raw = tomllib.load(fh)
    return _parse(raw, path)


def _parse(raw: dict[str, Any], path: Path) -> Reference:
    for k in ("key", "citation", "doi", "measured", "units"):
        if not isinstance(raw.get(k), str):
            raise ValueError(f"{path.name}: top-level {k!r} must be a string")
    values: dict[str, RefValue] = {}
    for vname, tab in raw.get("values", {}).items():
        if not isinstance(tab, dict):
            raise ValueError(f"{path.name}: values.{vname} must be a table")
        missing = [k for k in ("value", "unit", "kind", "where", "verified") if k not in tab]
        if missing:
            raise ValueError(f"{path.name}: values.{vname} lacks {missing}")
        if tab["kind"] not in KINDS:
            raise ValueError(
                f"{path.name}: values.{vname}.kind {tab['kind']!r} not one of {KINDS}"
            )
        if tab["kind"] == "derived" and not tab.get("formula"):
            raise ValueError(f"{path.name}: derived value {vname!r} needs a 'formula'")
        if not tab["verified"] and not tab.get("note"):
            raise ValueError(f"{path.name}: unverified value {vname!r} needs a 'note'")
        values[vname] = RefValue(
            value=float(tab["value"]),
            unit=str(tab["unit"]),
            kind=str(tab["kind"]),
            where=str(tab["where"]),
            verified=bool(tab["verified"]),
            note=str(tab.get("note", "")),
            formula=str(tab.get("formula", "")),
        )
    meta = {k: v for k, v in raw.items() if k not in ("values", "shape")}
    return Reference(
        key=raw["key"],
        citation=raw["citation"],
        doi=raw["doi"],
        measured=raw["measured"],
        units=raw["units"],
        values=values,
        shape=raw.get("shape"),
        meta=meta,
    )


def _as_ref(ref: str | Reference) -> Reference:
    return ref if isinstance(ref, Reference) else load(ref)


def with_shape() -> list[str]:
    """Keys of the references that describe a size distribution (have a ``[shape]``)."""
    return [k for k in available() if load(k).shape is not None]


def mixture_ln(ref: str | Reference) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Means, sds (natural-log units) and weights of a shaped reference (one component for a log-normal)."""
    ref = _as_ref(ref)
    shape = ref.shape or {}
    scale = _LOG_BASES[str(shape.get("log_base", "e"))]
    if shape.get("family") == "lognormal":
        return (
            np.array([ref[shape["mu"]] * scale]),
            np.array([ref[shape["sigma"]] * scale]),
            np.array([1.0]),
        )
    if shape.get("family") == "lognormal_mixture":
        means = np.array([ref[n] for n in shape["means"]]) * scale
        sds = np.array([ref[n] for n in shape["sds"]]) * scale
        w = np.array([ref[n] for n in shape["weights"]], dtype=float)
        return means, sds, w / w.sum()
    raise ValueError(f"ref: reference {ref.key!r} has no log-normal-like shape; "
                     f"ones that do: {with_shape()}")


def sigma_ln(ref: str | Reference) -> float:
    """Standard deviation of the natural log of size for a reference's shape.

    A log10 standard deviation is converted by multiplying by ``ln 10``. For a mixture of
    log-normals it is the standard deviation of the whole mixture in ln units,
    ``sqrt(sum w_i (s_i^2 + m_i^2) - (sum w_i m_i)^2)``.

    Examples
    --------
    >>> round(sigma_ln("song2005"), 2)
    0.94
    """
    m, s, w = mixture_ln(_as_ref(ref))
    mean = float(np.sum(w * m))
    return float(math.sqrt(np.sum(w * (s**2 + m**2)) - mean**2))


def component_sigmas_ln(ref: str | Reference) -> list[float]:
    """Natural-log standard deviation of each component of a reference's shape."""
    _, s, _ = mixture_ln(_as_ref(ref))
    return [float(x) for x in s]


def median_ln(ref: str | Reference) -> float:
    """Median of the natural log of size under a reference's shape (ln of its unit)."""
    m, s, w = mixture_ln(_as_ref(ref))
    if len(m) == 1:
        return float(m[0])

    def cdf(x: float) -> float:
        return float(np.sum(w * stats.norm.cdf(x, loc=m, scale=s))) - 0.5

    lo, hi = float(np.min(m - 10 * s)), float(np.max(m + 10 * s))
    return float(optimize.brentq(cdf, lo, hi, xtol=1e-12))


def standardised_cdf(ref: str | Reference) -> Callable[[np.ndarray], np.ndarray]:
    """CDF of ``ln(size) - median(ln size)`` under a reference's shape.

    Removing the median removes the reference's scale (and unit), so only the shape is
    compared: a normal with ``sigma_ln`` for a log-normal (Song et al. 2005), the shifted
    two-component mixture for Dorkenwald et al. (2022).
    """
    r = _as_ref(ref)
    m, s, w = mixture_ln(r)
    med = median_ln(r)
    mc = m - med

    def cdf(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        return np.sum(w * stats.norm.cdf(x[..., None], loc=mc, scale=s), axis=-1)

    return cdf
