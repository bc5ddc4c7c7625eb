"""The logarithmic grid of synapse sizes (a logarithmic number system).

A synapse's *size* (its positive magnitude) takes one of ``levels`` values spread
uniformly in log space between ``w_min = w_max / ratio`` and ``w_max``::

    size(k) = w_max * ratio ** ((k - (levels - 1)) / (levels - 1)),   k = 0 .. levels-1

Level 0 is the smallest size, level ``levels - 1`` the largest (Bernstein et al.
2020 count the other way: their ``n`` is ``levels - 1 - k``). One level is
``step = ln(ratio) / (levels - 1)`` in natural log.

The biological preset follows Bartol et al. (2015), eLife 4:e10778: about 26
distinguishable spine-head volumes over a ~60-fold range (~4.7 bits).

The module is numpy-only at import time; every function also accepts torch
tensors and then returns tensors of the same device (torch is imported lazily).

Edge cases of :meth:`LogGrid.encode` (documented contract):

* sizes below ``w_min`` (including exactly 0) saturate to level 0; sizes above
  ``w_max`` (including ``+inf``) saturate to level ``levels - 1``;
* negative sizes and NaN raise :class:`ValueError` (a size is a magnitude; pass
  ``abs(w)`` and keep the sign separately).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from neurosim import validate as V

Rounding = Literal["nearest", "stochastic"]
ROUNDINGS: tuple[str, ...] = ("stochastic", "nearest")
#: Nearest rounding is ``floor(x + NEAREST_OFFSET)`` (ties round up) in every back end.
NEAREST_OFFSET: float = 0.5
#: Most levels a grid may have: levels are stored as ``int16`` beyond 256 (see :func:`level_dtype`).
MAX_LEVELS: int = 32767


def _is_torch(x: Any) -> bool:
    return type(x).__module__.startswith("torch") and hasattr(x, "dtype") and hasattr(x, "device")


def level_dtype(levels: int) -> np.dtype:
    """Storage dtype of level codes ``0 .. levels-1``: ``uint8`` up to 256 levels, else ``int16``.

    One dtype everywhere (optimizer state, snapshots): ``int16`` rather than ``uint16``
    because torch's ``uint16`` tensors lack most arithmetic and indexing; hence at most
    :data:`MAX_LEVELS` levels.
    """
    return np.dtype(np.uint8 if V.integer("levels", levels, ge=2, le=MAX_LEVELS) <= 256 else np.int16)


@dataclass(frozen=True)
class LogGrid:
    """``levels`` sizes spaced uniformly in log between ``w_max / ratio`` and ``w_max``.

    Parameters
    ----------
    levels:
        Number of distinguishable sizes (>= 2).
    ratio:
        Dynamic range ``w_max / w_min`` (> 1, dimensionless).
    w_max:
        Largest size, in the unit of the sizes (> 0).

    Examples
    --------
    >>> g = LogGrid.bartol()
    >>> g.levels, round(g.step, 4), round(g.bits, 2)
    (26, 0.1638, 4.7)
    >>> g.encode(np.array([1.0, 1 / 60, 0.1])).tolist()
    [25, 0, 11]
    """

    levels: int = 26
    ratio: float = 60.0
    w_max: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "levels", V.integer("levels", self.levels, ge=2, le=MAX_LEVELS))
        object.__setattr__(self, "ratio", V.real("ratio", self.ratio, gt=1.0))
        object.__setattr__(self, "w_max", V.real("w_max", self.w_max, gt=0.0))

    # ------------------------------------------------------------------ presets
    @classmethod
    def bartol(cls, w_max: float = 1.0) -> LogGrid:
        """26 levels over a 60-fold range: the biological preset.

        Bartol, T. M., Bromer, C., Kinney, J., Chirillo, M. A., Bourne, J. N.,
        Harris, K. M., Sejnowski, T. J. (2015). Nanoconnectomic upper bound on the
        variability of synaptic plasticity. eLife 4:e10778. doi:10.7554/eLife.10778.
        Pairs of CA1 synapses sharing axon and dendrite differ by a median CV of
        0.083; over a ~60-fold range of spine-head volumes this gives ~26
        distinguishable sizes (~4.7 bits).
        """
        return cls(levels=26, ratio=60.0, w_max=w_max)

    @classmethod
    def from_bits(cls, bits: int, step: float, w_max: float = 1.0) -> LogGrid:
        """The machine-style grid of B-bit Madam: ``2**bits`` levels of log step ``step``.

        Bernstein et al. (2020), NeurIPS, Table 2: 12 bits at 0.001 (spans
        ``exp(4.095) = 60x``), 10 bits at 0.005, 8 bits at 0.01.
        """
        return cls.from_step(2 ** V.integer("bits", bits, ge=1), step, w_max)

    @classmethod
    def from_step(cls, levels: int, step: float, w_max: float = 1.0) -> LogGrid:
        """``levels`` levels spaced ``step`` apart in natural log."""
        step = V.real("step", step, gt=0.0)
        levels = V.integer("levels", levels, ge=2, le=MAX_LEVELS)
        return cls(levels=levels, ratio=math.exp(step * (levels - 1)), w_max=w_max)

    # --------------------------------------------------------------- properties
    @property
    def step(self) -> float:
        """Natural-log distance between neighbouring levels."""
        return math.log(self.ratio) / (self.levels - 1)

    @property
    def bits(self) -> float:
        """Capacity ``log2(levels)`` in bits."""
        return math.log2(self.levels)

    @property
    def w_min(self) -> float:
        """Smallest size (level 0), ``w_max / ratio``."""
        return self.w_max / self.ratio

    @property
    def dtype(self) -> np.dtype:
        """Storage dtype of level codes: ``uint8`` up to 256 levels, ``int16`` beyond (:func:`level_dtype`)."""
        return level_dtype(self.levels)

    def sizes(self) -> np.ndarray:
        """All ``levels`` sizes, smallest first (float64)."""
        k = np.arange(self.levels, dtype=np.float64)
        return self.w_max * np.exp((k - (self.levels - 1)) * self.step)

    def with_w_max(self, w_max: float) -> LogGrid:
        """The same grid shape scaled to a new ``w_max``."""
        return LogGrid(self.levels, self.ratio, w_max)

    def decode_expression(self, level: str = "level", w_max: str = "w_max") -> str:
        """:meth:`decode` as an expression string (Brian2 code): the size of level ``level``.

        The numbers are this grid's, so a rule rendered from it follows any change of
        the grid: ``w_max * exp((level - (levels - 1)) * step)``.
        """
        return f"{w_max} * exp(({level} - {self.levels - 1}) * {self.step!r})"

    def encode_expression(self, size: str = "w", w_max: str = "w_max") -> str:
        """Nearest-rounding :meth:`encode` as an expression string (Brian2 code), clipped to the grid."""
        return (f"int(clip(floor({self.levels - 1} + log({size} / {w_max}) / {self.step!r} + {NEAREST_OFFSET!r}),"
                f" 0, {self.levels - 1}))")

    def to_dict(self) -> dict[str, float]:
        """Grid parameters as plain numbers (for snapshots and configs)."""
        return {"levels": self.levels, "ratio": self.ratio, "w_max": self.w_max}

    # -------------------------------------------------------------- conversion
    def position(self, size: Any) -> Any:
        """Continuous level ``(levels-1) + ln(size / w_max) / step``, not clipped.

        Raises :class:`ValueError` for negative or NaN sizes; 0 gives ``-inf``.
        """
        if _is_torch(size):
            import torch

            if torch.isnan(size).any():
                raise ValueError("size: NaN is not a size; got NaN entries")
            if (size < 0).any():
                raise ValueError("size: must be >= 0 (pass abs(w), keep the sign apart)")
            x = size.double() if not size.is_floating_point() else size
            return (self.levels - 1) + torch.log(x / self.w_max) / self.step
        arr = np.asarray(size, dtype=np.float64)
        if np.isnan(arr).any():
            raise ValueError("size: NaN is not a size; got NaN entries")
        if (arr < 0).any():
            raise ValueError("size: must be >= 0 (pass abs(w), keep the sign apart)")
        with np.errstate(divide="ignore"):
            return (self.levels - 1) + np.log(arr / self.w_max) / self.step

    def encode(
        self,
        size: Any,
        rounding: Rounding = "nearest",
        generator: Any = None,
    ) -> Any:
        """Level codes of ``size`` (numpy in, numpy out; torch in, torch out).

        ``rounding="nearest"`` is ``floor(x + 0.5)`` of the continuous level ``x``
        (ties round up; the Brian2 back end uses the same expression).
        ``rounding="stochastic"`` is ``floor(x + u)`` with ``u ~ U[0, 1)``: it
        rounds up with probability equal to the fractional part, so the expected
        level (and the expected log-size) equals the exact one inside the grid.
        ``generator`` is a :class:`numpy.random.Generator` (numpy input) or a
        :class:`torch.Generator` (torch input). Results saturate at ``0`` and
        ``levels - 1``; see the module docstring for zero/negative/NaN input.
        Returns ``int64`` levels (numpy) or ``torch.int64`` (torch).
        """
        V.choice("rounding", rounding, ROUNDINGS)
        x = self.position(size)
        top = self.levels - 1
        if _is_torch(x):
            import torch

            x = torch.clamp(x, -1.0, float(top) + 1.0)  # finite before rounding
            if rounding == "nearest":
                k = torch.floor(x + NEAREST_OFFSET)
            else:
                u = torch.rand(x.shape, generator=generator, dtype=x.dtype, device=x.device)
                k = torch.floor(x + u)
            return torch.clamp(k, 0, top).to(torch.int64)
        x = np.clip(x, -1.0, top + 1.0)
        if rounding == "nearest":
            k = np.floor(x + NEAREST_OFFSET)
        else:
            rng = generator if generator is not None else np.random.default_rng()
            k = np.floor(x + rng.random(np.shape(x)))
        return np.clip(k, 0, top).astype(np.int64)

    def decode(self, level: Any) -> Any:
        """Sizes of level codes (float64 for numpy; the default float dtype for torch).

        Raises :class:`ValueError` for levels outside ``0 .. levels-1``.
        """
        if _is_torch(level):
            import torch

            if level.numel() and (int(level.min()) < 0 or int(level.max()) >= self.levels):
                raise ValueError(f"level: must be in 0..{self.levels - 1}")
            table = torch.as_tensor(self.sizes(), device=level.device)
            return table.to(torch.get_default_dtype())[level.long()]
        arr = np.asarray(level)
        if arr.size and (arr.min() < 0 or arr.max() >= self.levels):
            raise ValueError(f"level: must be in 0..{self.levels - 1}, got {arr.min()}..{arr.max()}")
        return self.sizes()[arr.astype(np.int64)]


# --------------------------------------------------------------------- storage
@dataclass(frozen=True)
class PackedLayer:
    """A gridded Dale layer stored compactly: level codes plus one sign per presynaptic unit.

    ``codes`` holds the level codes bit-packed at ``ceil(log2(levels))`` bits per
    synapse (5 bits for 26 levels); ``pre_sign`` is one ``int8`` per presynaptic
    unit (the column of a ``(post, pre)`` weight matrix). ``grid`` restores sizes.
    """

    codes: np.ndarray
    pre_sign: np.ndarray
    shape: tuple[int, int]
    grid: LogGrid

    @property
    def nbytes(self) -> int:
        """Bytes of the stored arrays (codes and signs)."""
        return int(self.codes.nbytes + self.pre_sign.nbytes)

    def levels(self) -> np.ndarray:
        """The unpacked ``(post, pre)`` level matrix."""
        bits = code_bits(self.grid.levels)
        n = self.shape[0] * self.shape[1]
        return unpack_bits(self.codes, bits, n).reshape(self.shape)

    def weight(self) -> np.ndarray:
        """The signed weight matrix ``pre_sign * size`` (float32)."""
        return (self.grid.decode(self.levels()) * self.pre_sign[None, :]).astype(np.float32)


def code_bits(levels: int) -> int:
    """Bits per level code: ``ceil(log2(levels))``."""
    return max(1, math.ceil(math.log2(levels)))


def pack_bits(values: np.ndarray, bits: int) -> np.ndarray:
    """Pack non-negative integers ``< 2**bits`` into a ``uint8`` bit stream (little-endian bits)."""
    v = np.asarray(values, dtype=np.uint32).ravel()
    if v.size and int(v.max()) >= 2**bits:
        raise ValueError(f"values: must be < 2**{bits}, got {int(v.max())}")
    planes = ((v[:, None] >> np.arange(bits, dtype=np.uint32)[None, :]) & 1).astype(np.uint8)
    return np.packbits(planes.ravel(), bitorder="little")


def unpack_bits(packed: np.ndarray, bits: int, n: int) -> np.ndarray:
    """Inverse of :func:`pack_bits` for ``n`` values."""
    flat = np.unpackbits(np.asarray(packed, dtype=np.uint8), bitorder="little")[: n * bits]
    planes = flat.reshape(n, bits).astype(np.uint32)
    return (planes << np.arange(bits, dtype=np.uint32)[None, :]).sum(axis=1).astype(np.int64)


def pack_layer(level: np.ndarray, pre_sign: np.ndarray, grid: LogGrid) -> PackedLayer:
    """Store a ``(post, pre)`` level matrix and per-presynaptic signs compactly.

    For 26 levels the codes take 5 bits per synapse, so a layer costs about
    ``5/32 = 0.16x`` its float32 bytes (plus one byte per presynaptic unit).
    """
    level = np.asarray(level)
    if level.ndim != 2:
        raise ValueError(f"level: must be a (post, pre) matrix, got shape {level.shape}")
    pre_sign = np.asarray(pre_sign)
    if pre_sign.shape != (level.shape[1],):
        raise ValueError(
            f"pre_sign: must have one entry per presynaptic unit ({level.shape[1]}), "
            f"got shape {pre_sign.shape}"
        )
    if not np.isin(pre_sign, (-1, 1)).all():
        raise ValueError("pre_sign: entries must be -1 or +1")
    if level.size and (level.min() < 0 or level.max() >= grid.levels):
        raise ValueError(f"level: must be in 0..{grid.levels - 1}")
    codes = pack_bits(level, code_bits(grid.levels))
    return PackedLayer(codes, pre_sign.astype(np.int8), (int(level.shape[0]), int(level.shape[1])), grid)
