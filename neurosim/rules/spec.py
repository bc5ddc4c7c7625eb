"""The arithmetic of neurosim's multiplicative rules, as data: one definition for every back end.

Madam (Bernstein, Zhao, Meister, Liu, Anandkumar & Yue 2020, "Learning compositional
functions via multiplicative weight updates", NeurIPS, Algorithm 1), per synapse, at
update ``t`` with signal ``g`` (a loss gradient, or minus an STDP eligibility)::

    g  <- g if g is finite else 0                       (the 0/0 rule, extended)
    v  <- min(beta v + (1 - beta) g**2, largest finite number)
    gn <- clip(g / max(sqrt(v / (1 - beta**t)), smallest normal number), -g_bound, g_bound)

On a log grid (:class:`neurosim.lns.LogGrid`: ``levels`` sizes, log step ``step``) the
level ``k`` of a synapse of sign ``s`` moves by Madam's log-size step in units of levels::

    k <- clip(floor(k + coef * gn * s + u), 0, levels - 1),    coef = -lr / step
    w <- s * size(k)

with ``u = 0.5`` (nearest rounding, :data:`neurosim.lns.NEAREST_OFFSET`) or ``u ~ U[0, 1)``
(stochastic rounding: the expected step is Madam's). Without a grid the float rule is
``w <- w * exp(-lr * gn * s)``.

These classes hold the numbers and the reference arithmetic (scalar, float64); the
back ends render them: :class:`neurosim.rules.Madam` and
:class:`neurosim.rules.LogGridMadam` in torch (eager, multi-tensor, and the fused C
kernel, which receives ``coef``, ``offset``, ``top``, ``beta`` and ``g_bound`` from here),
and the Brian2 rules of :mod:`neurosim.rules.stdp`, whose ``run_regularly`` code is
written from the same numbers. A change of the step, the rounding or the 0/0 rule made
here reaches every back end; ``tests/test_brian_rules.py`` checks that they agree.

Level storage: ``uint8`` up to 256 levels, ``int16`` up to :data:`MAX_LEVELS` = 32767
(torch implements arithmetic and indexing for ``int16`` but not fully for ``uint16``,
and the same dtype is used in optimizer state, snapshots and packed layers).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

from neurosim import validate as V
from neurosim.lns import MAX_LEVELS, NEAREST_OFFSET, ROUNDINGS, LogGrid, level_dtype

__all__ = ["MAX_LEVELS", "GridMadamSpec", "GridSpec", "MadamSpec", "bias_correction"]

_TINY64 = sys.float_info.min
_MAX64 = sys.float_info.max


def bias_correction(beta: float, t: float) -> float:
    """``1 - beta**t``: the bias correction of a zero-started second moment after ``t`` updates."""
    return 1.0 - beta**t


@dataclass(frozen=True)
class MadamSpec:
    """Madam's hyperparameters: ``lr`` (log-size step per unit normalised signal), ``beta``
    (decay of the second moment) and ``g_bound`` (clip of the normalised signal)."""

    lr: float = 0.01
    beta: float = 0.999
    g_bound: float = 10.0

    PARAMS = {
        "lr": V.Param(V.bounded(gt=0.0), "Madam step in natural-log size per unit normalised signal"),
        "beta": V.Param(V.bounded(ge=0.0, lt=1.0), "decay of the signal's second moment"),
        "g_bound": V.Param(V.bounded(gt=0.0), "clip of the normalised signal"),
    }

    def __post_init__(self) -> None:
        for k, p in self.PARAMS.items():
            object.__setattr__(self, k, p.check(k, getattr(self, k)))

    def bias_correction(self, t: float) -> float:
        """:func:`bias_correction` with this spec's ``beta``."""
        return bias_correction(self.beta, t)

    def normalised(self, g: float, v: float, t: int) -> tuple[float, float]:
        """Reference arithmetic (float64): ``(gn, v_new)`` for signal ``g``, second moment ``v``, update ``t``."""
        g = g if math.isfinite(g) else 0.0
        v = min(self.beta * v + (1.0 - self.beta) * g * g, _MAX64)
        if not math.isfinite(v):
            v = _MAX64
        d = max(math.sqrt(v / self.bias_correction(t)), _TINY64)
        return min(max(g / d, -self.g_bound), self.g_bound), v


@dataclass(frozen=True)
class GridSpec:
    """A log grid's shape and its rounding: ``levels`` sizes over ``ratio``, ``rounding``."""

    levels: int = 26
    ratio: float = 60.0
    rounding: str = "stochastic"

    PARAMS = {
        "levels": V.Param(V.integral(ge=2, le=MAX_LEVELS), "number of levels of the grid"),
        "ratio": V.Param(V.bounded(gt=1.0, le=1e30), "largest / smallest size"),
        "step": V.Param(V.optional(V.bounded(gt=0.0)), "natural-log step per level (instead of ratio)"),
        "rounding": V.Param(V.one_of(*ROUNDINGS), "rounding of level steps"),
    }

    def __post_init__(self) -> None:
        for k in ("levels", "ratio", "rounding"):
            object.__setattr__(self, k, self.PARAMS[k].check(k, getattr(self, k)))

    @classmethod
    def of(cls, levels: int = 26, ratio: float = 60.0, step: float | None = None,  # the fields' defaults
           rounding: str = "stochastic") -> GridSpec:
        """From ``ratio`` or, if given, ``step`` (``ratio = exp(step * (levels - 1))``)."""
        levels = cls.PARAMS["levels"].check("levels", levels)
        if step is not None:
            step = cls.PARAMS["step"].check("step", step)
            ratio = math.exp(step * (levels - 1))
            if not ratio <= 1e30:
                raise ValueError(f"step: {step:g} over {levels} levels spans a ratio of {ratio:.3g}, "
                                 "more than 1e30")
        return cls(levels, ratio, rounding)

    def grid(self, w_max: float = 1.0) -> LogGrid:
        """The :class:`~neurosim.lns.LogGrid` with top size ``w_max``."""
        return LogGrid(self.levels, self.ratio, w_max)

    @property
    def step(self) -> float:
        """Natural-log step of one level (:attr:`neurosim.lns.LogGrid.step`)."""
        return self.grid().step

    @property
    def top(self) -> int:
        """The highest level, ``levels - 1``."""
        return self.levels - 1

    @property
    def stochastic(self) -> bool:
        return self.rounding == "stochastic"

    @property
    def offset(self) -> float:
        """``u`` of nearest rounding (:data:`~neurosim.lns.NEAREST_OFFSET`); stochastic rounding draws it."""
        return NEAREST_OFFSET

    @property
    def level_dtype(self) -> np.dtype:
        """Storage dtype of levels: ``uint8`` up to 256 levels, else ``int16``."""
        return level_dtype(self.levels)


@dataclass(frozen=True)
class GridMadamSpec:
    """Madam on a log grid: a :class:`MadamSpec` and a :class:`GridSpec`."""

    madam: MadamSpec = MadamSpec()
    grid: GridSpec = GridSpec()

    @classmethod
    def of(cls, lr: float = MadamSpec.lr, beta: float = MadamSpec.beta, g_bound: float = MadamSpec.g_bound,
           levels: int = GridSpec.levels, ratio: float = GridSpec.ratio, step: float | None = None,
           rounding: str = GridSpec.rounding) -> GridMadamSpec:
        """From flat hyperparameters (as an optimizer's param group or a config holds them)."""
        return cls(MadamSpec(lr, beta, g_bound), GridSpec.of(levels, ratio, step, rounding))

    @property
    def coef(self) -> float:
        """Levels moved per unit of ``gn * sign`` before rounding: ``-lr / step``."""
        return -self.madam.lr / self.grid.step

    def level_update(self, level: int, gn: float, sign: float, u: float) -> int:
        """Reference arithmetic: the new level for normalised signal ``gn`` and rounding offset ``u``."""
        x = math.floor(level + self.coef * gn * sign + u)
        return int(min(max(x, 0), self.grid.top))

    def as_dict(self) -> dict[str, Any]:
        """The flat hyperparameters (JSON-able)."""
        g = self.grid
        return {"lr": self.madam.lr, "beta": self.madam.beta, "g_bound": self.madam.g_bound,
                "levels": g.levels, "ratio": g.ratio, "rounding": g.rounding}
