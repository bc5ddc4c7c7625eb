"""Snapshots: the signs and sizes of all synapses of a network at one time.

A snapshot is the contract between learning and analysis: everything that learns
writes it, everything that analyses reads it. One ``.npz`` file holds, per named
projection:

========== =========== ==============================================================
key        dtype       meaning
========== =========== ==============================================================
``sign``   int8        -1 / +1 per synapse (0 only for a signed weight exactly 0)
``size``   float32     size ``>= 0`` per synapse, in ``unit`` (0 means silent)
``pre``    int32       presynaptic index per synapse (sparse projections only)
``post``   int32       postsynaptic index per synapse (sparse projections only)
``level``  uint8/16    level on the log grid (gridded projections only)
========== =========== ==============================================================

plus JSON text: per projection its ``unit`` (``"1"`` for dimensionless network
weights, e.g. ``"nS"`` for Brian2 conductances) and ``grid``
(:meth:`neurosim.lns.LogGrid.to_dict` or ``null``), and the snapshot's ``meta``
(``time`` in seconds of biological time or ``step`` in optimizer steps, ``rule``,
``seed``, anything else JSON-serialisable). Dense projections keep their
``(post, pre)`` shape. Files are written atomically; a truncated or foreign file
raises :class:`SnapshotError` naming it.

Example
-------
>>> import numpy as np, tempfile, os
>>> from neurosim import snapshot
>>> p = snapshot.Projection(sign=np.ones((2, 3), np.int8), size=np.full((2, 3), 0.5, np.float32))
>>> path = os.path.join(tempfile.mkdtemp(), "snap.npz")
>>> snapshot.save(path, {"hidden": p}, {"step": 0, "rule": "madam"})
>>> snapshot.load(path).projections["hidden"].size.shape
(2, 3)
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neurosim.files import atomic_path
from neurosim.lns import LogGrid

FORMAT = "neurosim.snapshot/1"
_ARRAYS = ("sign", "size", "pre", "post", "level", "post_sign")


class SnapshotError(ValueError):
    """A file that is not a readable neurosim snapshot."""


@dataclass
class Projection:
    """One projection's synapses: ``weight = sign * size``.

    ``pre``/``post`` are given for sparse projections (1-D arrays the length of
    ``size``); dense projections leave them ``None`` and keep ``size`` as a
    ``(post, pre)`` matrix. ``level`` and ``grid`` are given together for
    projections whose sizes live on a :class:`~neurosim.lns.LogGrid`.
    ``post_sign`` (dense projections only) is the E/I identity (+1 / -1) of each
    postsynaptic unit, one per row, where the model knows it (the units of a
    recurrent E/I network), so that an analysis can take E->E, E->I, I->E and
    I->I apart.
    """

    sign: np.ndarray
    size: np.ndarray
    pre: np.ndarray | None = None
    post: np.ndarray | None = None
    unit: str = "1"
    level: np.ndarray | None = None
    grid: LogGrid | None = None
    post_sign: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.sign = np.asarray(self.sign).astype(np.int8, copy=False)
        self.size = np.asarray(self.size).astype(np.float32, copy=False)
        if self.sign.shape != self.size.shape:
            raise ValueError(f"sign: shape {self.sign.shape} differs from size {self.size.shape}")
        if np.isnan(self.size).any() or (self.size < 0).any():
            raise ValueError("size: must be >= 0 and not NaN (keep signs in `sign`)")
        if not np.isin(self.sign, (-1, 0, 1)).all():
            raise ValueError("sign: entries must be -1, 0 or +1")
        for name in ("pre", "post"):
            idx = getattr(self, name)
            if idx is not None:
                idx = np.asarray(idx).astype(np.int32, copy=False)
                if idx.shape != (self.size.size,):
                    raise ValueError(f"{name}: must be 1-D with one index per synapse ({self.size.size})")
                setattr(self, name, idx)
        if (self.level is None) != (self.grid is None):
            raise ValueError("level and grid: give both or neither")
        if self.level is not None and self.grid is not None:
            self.level = np.asarray(self.level).astype(self.grid.dtype, copy=False)
            if self.level.shape != self.size.shape:
                raise ValueError(f"level: shape {self.level.shape} differs from size {self.size.shape}")
        if self.post_sign is not None:
            self.post_sign = np.asarray(self.post_sign).astype(np.int8, copy=False)
            if self.pre is not None or self.size.ndim != 2 or self.post_sign.shape != (self.size.shape[0],):
                raise ValueError(f"post_sign: must be 1-D with one sign per row of a dense (post, pre) size, "
                                 f"got shape {self.post_sign.shape} for size {self.size.shape}")
            if not np.isin(self.post_sign, (-1, 1)).all():
                raise ValueError("post_sign: entries must be -1 or +1")
        if not isinstance(self.unit, str):
            raise ValueError(f"unit: must be a string, got {type(self.unit).__name__}")

    @property
    def weight(self) -> np.ndarray:
        """Signed weights ``sign * size`` (float32)."""
        return self.sign * self.size

    @property
    def n_synapses(self) -> int:
        return int(self.size.size)


@dataclass
class Snapshot:
    """Named projections plus metadata, as read by :func:`load`."""

    projections: dict[str, Projection]
    meta: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def sizes(self, names: str | list[str] | None = None) -> np.ndarray:
        """All sizes of the named projections (default: all), flattened, float64."""
        if names is None:
            names = list(self.projections)
        elif isinstance(names, str):
            names = [names]
        missing = [n for n in names if n not in self.projections]
        if missing:
            raise KeyError(f"projection {missing[0]!r} not in snapshot; has {sorted(self.projections)}")
        if not names:
            return np.empty(0)
        return np.concatenate([self.projections[n].size.ravel().astype(np.float64) for n in names])


def save(
    path: str | os.PathLike[str],
    projections: dict[str, Projection],
    meta: dict[str, Any] | None = None,
) -> Path:
    """Write a snapshot to ``path`` (``.npz``) atomically; return the path."""
    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"path: snapshot files end in .npz, got {path.name!r}")
    arrays: dict[str, np.ndarray] = {}
    header: dict[str, Any] = {"format": FORMAT, "meta": dict(meta or {}), "projections": {}}
    for name, proj in projections.items():
        if not isinstance(name, str) or not name or "/" in name:
            raise ValueError(f"projection name: must be a non-empty string without '/', got {name!r}")
        if not isinstance(proj, Projection):
            raise ValueError(f"projection {name!r}: must be a snapshot.Projection")
        for key in _ARRAYS:
            value = getattr(proj, key)
            if value is not None:
                arrays[f"{name}/{key}"] = value
        header["projections"][name] = {
            "unit": proj.unit,
            "grid": proj.grid.to_dict() if proj.grid is not None else None,
        }
    try:
        header_text = json.dumps(header, default=_json_default)
    except TypeError as exc:
        raise ValueError(f"meta: must be JSON-serialisable ({exc})") from None
    arrays["__header__"] = np.array(header_text)
    with atomic_path(path) as tmp:
        np.savez_compressed(tmp, **arrays)
    return path


def load(path: str | os.PathLike[str]) -> Snapshot:
    """Read a snapshot written by :func:`save`.

    Raises :class:`SnapshotError` (one line, naming the file) for a missing,
    truncated or foreign file.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            if "__header__" not in npz.files:
                raise SnapshotError(f"{path}: not a neurosim snapshot (no __header__ entry)")
            header = json.loads(str(npz["__header__"]))
            if header.get("format") != FORMAT:
                raise SnapshotError(f"{path}: unknown snapshot format {header.get('format')!r}")
            projections = {}
            for name, info in header["projections"].items():
                kw = {k: npz[f"{name}/{k}"] for k in _ARRAYS if f"{name}/{k}" in npz.files}
                grid = LogGrid(**info["grid"]) if info.get("grid") else None
                projections[name] = Projection(unit=info.get("unit", "1"), grid=grid, **kw)
    except SnapshotError:
        raise
    except FileNotFoundError:
        raise SnapshotError(f"{path}: no such snapshot file") from None
    except (zipfile.BadZipFile, OSError, EOFError, KeyError, ValueError, json.JSONDecodeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SnapshotError(f"{path}: not a readable neurosim snapshot ({reason})") from None
    return Snapshot(projections=projections, meta=header.get("meta", {}), path=path)


def synapse_tensors(model: Any) -> dict[str, Any]:
    """``{projection name: parameter}`` of a torch model: each Dale layer's ``size``, each other
    module's ``weight`` of two or more dimensions (biases and 1-D parameters are not synapses)."""
    out = {}
    for mod_name, module in model.named_modules():
        params = dict(module.named_parameters(recurse=False))
        buffers = dict(module.named_buffers(recurse=False))
        if "size" in params and "sign" in buffers:
            out[mod_name or "weight"] = params["size"]
        elif "weight" in params and params["weight"].dim() >= 2:
            out[mod_name or "weight"] = params["weight"]
    return out


def from_module(model: Any, optimizer: Any = None, unit: str = "1") -> dict[str, Projection]:
    """Projections of a torch model: Dale layers by sign and size, other weights as they are.

    A *Dale layer* is any module with a ``size`` parameter and a ``sign`` buffer
    (``weight = sign * size``, the sign broadcast over the size). Any other
    module's ``weight`` parameter with two or more dimensions is taken as it is
    (``sign = sign(weight)``, ``size = |weight|``). Biases and 1-D parameters are
    not synapses and are left out.

    If ``optimizer`` keeps levels on a log grid (:class:`neurosim.rules.LogGridMadam`),
    each gridded parameter's ``level`` and ``grid`` are included.
    """
    grids = _optimizer_grids(optimizer)
    out: dict[str, Projection] = {}
    for name, size_t in synapse_tensors(model).items():
        module = model if name == "weight" else model.get_submodule(name)
        sign_buf = dict(module.named_buffers(recurse=False)).get("sign")
        if sign_buf is not None and size_t is getattr(module, "size", None):
            # copies: a snapshot must not change as the model goes on learning
            size = size_t.detach().cpu().numpy().copy()
            sign = np.sign(np.broadcast_to(sign_buf.detach().cpu().numpy(), size.shape)).astype(np.int8)
        else:
            w = size_t.detach().cpu().numpy()
            sign, size = np.sign(w).astype(np.int8), np.abs(w)
        level, grid = grids.get(id(size_t), (None, None))
        if level is not None:
            level = np.array(level, copy=True)
        post_sign = getattr(module, "post_sign", None)  # set by recurrent E/I models on their Dale layers
        if post_sign is not None:
            post_sign = np.asarray(_to_numpy(post_sign)).astype(np.int8)
        out[name] = Projection(sign=sign, size=size, unit=unit, level=level, grid=grid, post_sign=post_sign)
    if not out:
        raise ValueError("model: has no Dale layer (size + sign) and no weight matrix to snapshot")
    return out


def _to_numpy(x: Any) -> np.ndarray:
    """A torch tensor (any device) or array-like as a numpy array."""
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


def _optimizer_grids(optimizer: Any) -> dict[int, tuple[np.ndarray, LogGrid]]:
    if optimizer is None or not hasattr(optimizer, "grid_of"):
        return {}
    found = {}
    for group in optimizer.param_groups:
        for p in group["params"]:
            got = optimizer.grid_of(p)
            if got is not None:
                found[id(p)] = got
    return found


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (np.integer, np.floating, np.bool_)):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def from_synapses(S: Any, name: str = "w", grid: LogGrid | None = None, *, sign: Any = None,
                  unit: Any = None) -> Projection:
    """A :class:`Projection` of a Brian2 ``Synapses`` object (runtime, or standalone after build).

    Parameters
    ----------
    S:
        Any Brian2 ``Synapses`` (a user's own too).
    name:
        The weight variable (default ``"w"``).
    grid:
        The :class:`~neurosim.lns.LogGrid` of a gridded projection (sizes in ``unit``);
        if ``None`` and ``S`` has a ``level`` variable and the namespace constants of
        :class:`neurosim.rules.stdp.LogGridMadamSTDP` (``grid_levels``, ``grid_ratio``,
        ``w_max``), the grid is rebuilt from those.
    sign:
        ``+1`` / ``-1`` (or one per synapse) for networks whose weight is a size with the
        sign in the delivery statement (Dale's principle); default: a sign variable of
        ``S`` if it has one (``w_sign`` or ``sgn``: ``sign`` itself is a Brian2 function and
        cannot name a variable), else the sign of the weight.
    unit:
        A Brian2 unit for the sizes (e.g. ``nS``); default the SI unit of the weight's
        dimension (``"1"`` for dimensionless weights). Its string is the projection's ``unit``.

    ``pre`` / ``post`` are the synapses' ``i`` / ``j`` indices.
    """
    import brian2 as b2

    from neurosim.rules.quantities import unit_string

    if name not in S.variables:
        raise ValueError(f"name: Synapses {S.name!r} has no variable {name!r}")
    var = S.variables[name]
    dim = var.dim
    raw = np.array(S.state(name, use_units=False)[:], dtype=np.float64)
    if unit is None:
        scale, unit_str = 1.0, unit_string(dim)
    else:
        if b2.get_dimensions(unit) is not dim:
            raise ValueError(f"unit: must have the dimension of {name} ({unit_string(dim)}), got {unit!r}")
        scale, unit_str = float(np.asarray(unit)), str(unit)
    values = raw / scale
    if sign is None:
        var_sign = next((v for v in _SIGN_VARIABLES if v in S.variables), None)
        if var_sign is not None:
            sgn = np.sign(np.asarray(S.state(var_sign, use_units=False)[:], dtype=np.float64))
        else:
            sgn = np.sign(values)
    else:
        sgn = np.broadcast_to(np.asarray(sign, dtype=np.float64), values.shape)
        if not np.isin(sgn, (-1.0, 1.0)).all():
            raise ValueError("sign: must be +1 or -1 (one value or one per synapse)")
    pre = np.asarray(S.i[:], dtype=np.int64)
    post = np.asarray(S.j[:], dtype=np.int64)
    level = None
    if "level" in S.variables and grid is None:
        grid = _synapses_grid(S, dim, scale)
    if grid is not None:
        if "level" not in S.variables:
            raise ValueError(f"grid: Synapses {S.name!r} has no 'level' variable")
        level = np.asarray(S.state("level", use_units=False)[:]).astype(np.int64)
    return Projection(sign=sgn.astype(np.int8), size=np.abs(values), pre=pre, post=post,
                      unit=unit_str, level=level, grid=grid)


_SIGN_VARIABLES = ("w_sign", "sgn")


def _synapses_grid(S: Any, dim: Any, scale: float) -> LogGrid | None:
    """The log grid of a Synapses made by ``neurosim.rules.stdp`` (from its namespace), else None."""
    ns = getattr(S, "namespace", None) or {}
    if not all(k in ns for k in ("grid_levels", "grid_ratio", "w_max")):
        return None
    w_max = float(np.asarray(ns["w_max"])) / scale
    return LogGrid(int(ns["grid_levels"]), float(ns["grid_ratio"]), w_max)
