"""Madam-family spiking rules for Brian2: an STDP eligibility composed with :mod:`neurosim.rules.spec`.

See :mod:`neurosim.rules.stdp` (``madam_loggrid``) for the update each interval; the
arithmetic is :class:`~neurosim.rules.spec.GridMadamSpec`'s, the one definition
:class:`neurosim.rules.LogGridMadam` renders in torch.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import numpy as np

from neurosim import validate as V
from neurosim.lns import LogGrid
from neurosim.rules.quantities import check_number, check_time, check_weight, finite_or_zero
from neurosim.rules.spec import GridMadamSpec, GridSpec, MadamSpec
from neurosim.rules.spiking import AdditiveSTDP, SpikingRule, WeightDependentSTDP

__all__ = ["LogGridMadamSTDP"]

_SMALLEST = float(np.finfo(np.float64).tiny)
_LARGEST = float(np.finfo(np.float64).max)


@dataclass(frozen=True)
class LogGridMadamSTDP(SpikingRule):
    """Madam on a log grid driven by an additive-STDP eligibility (see the module docstring).

    Built from two parts: ``eligibility`` (an :class:`AdditiveSTDP`: ``alpha``, ``lmbda``,
    ``tau_plus``, ``tau_minus``) and ``spec`` (a :class:`~neurosim.rules.spec.GridMadamSpec`:
    ``lr``, ``beta``, ``g_bound``, ``levels``, ``ratio``, ``rounding``), plus the update
    ``interval`` and the top size ``w_max``. :meth:`build` takes them flat, as a config does.

    Parameters of :meth:`build`
    ---------------------------
    lr:
        Madam step in natural-log size per unit normalised signal (> 0; Bernstein et al.
        2020 use 0.01 everywhere). One update moves ``lr * gn / step`` levels
        (0.061 levels for ``|gn| = 1`` on the 26-level, 60x grid).
    levels, ratio:
        The grid (:class:`neurosim.lns.LogGrid`; default Bartol et al. 2015: 26, 60).
        Its top size is ``w_max``.
    rounding:
        ``"stochastic"`` (``floor(x + rand())``) or ``"nearest"`` (``floor(x + 0.5)``).
    interval:
        Time between updates (a Brian2 time, default 100 ms): a run of duration ``T``
        makes ``T / interval`` updates; crossing the 26-level grid takes ~400 at ``|gn| = 1``.
    beta, g_bound:
        Second-moment decay in [0, 1) and clip of the normalised signal (> 0).
    alpha, lmbda, tau_plus, tau_minus:
        Those of the additive STDP whose weight change is the eligibility.
    """

    eligibility: AdditiveSTDP = None  # type: ignore[assignment]
    spec: GridMadamSpec = GridMadamSpec()
    interval: Any = None
    w_max: Any = None

    TIMES = ("tau_plus", "tau_minus", "interval")
    UNIT_DEFAULTS = {**WeightDependentSTDP.UNIT_DEFAULTS, "interval": 0.100}

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", "madam_loggrid")
        if self.eligibility is None:
            object.__setattr__(self, "eligibility", AdditiveSTDP())
        if not isinstance(self.eligibility, AdditiveSTDP):
            raise ValueError(f"eligibility: must be an AdditiveSTDP, got {type(self.eligibility).__name__}")
        if not isinstance(self.spec, GridMadamSpec):
            raise ValueError(f"spec: must be a GridMadamSpec, got {type(self.spec).__name__}")
        interval = self._default("interval") if self.interval is None else self.interval
        object.__setattr__(self, "interval", check_time("interval", interval))
        if self.w_max is not None:
            object.__setattr__(self, "w_max", check_weight("w_max", self.w_max))

    @classmethod
    def build(cls, lr: float = MadamSpec.lr, levels: int = GridSpec.levels, ratio: float = GridSpec.ratio,
              rounding: str = GridSpec.rounding, interval: Any = None, beta: float = MadamSpec.beta,
              g_bound: float = MadamSpec.g_bound, alpha: float = WeightDependentSTDP.alpha,
              lmbda: float = WeightDependentSTDP.lmbda, w_max: Any = None, tau_plus: Any = None,
              tau_minus: Any = None) -> LogGridMadamSTDP:
        """The rule from flat parameters (numbers checked as plain numbers, times as Brian2 times)."""
        nums = {k: check_number(k, v) for k, v in (("lr", lr), ("ratio", ratio), ("beta", beta),
                                                   ("g_bound", g_bound))}
        spec = GridMadamSpec.of(lr=nums["lr"], beta=nums["beta"], g_bound=nums["g_bound"],
                                levels=V.integer("levels", levels), ratio=nums["ratio"], rounding=rounding)
        elig = AdditiveSTDP(alpha=alpha, lmbda=lmbda, tau_plus=tau_plus, tau_minus=tau_minus)
        return cls(eligibility=elig, spec=spec, interval=interval, w_max=w_max)

    # flat views of the two parts (what configs, reports and tests read)
    lr = property(lambda self: self.spec.madam.lr)
    beta = property(lambda self: self.spec.madam.beta)
    g_bound = property(lambda self: self.spec.madam.g_bound)
    levels = property(lambda self: self.spec.grid.levels)
    ratio = property(lambda self: self.spec.grid.ratio)
    rounding = property(lambda self: self.spec.grid.rounding)
    alpha = property(lambda self: self.eligibility.alpha)
    lmbda = property(lambda self: self.eligibility.lmbda)
    tau_plus = property(lambda self: self.eligibility.tau_plus)
    tau_minus = property(lambda self: self.eligibility.tau_minus)

    @classmethod
    def accepts(cls) -> list[str]:
        return list(inspect.signature(cls.build).parameters)

    @classmethod
    def build_defaults(cls) -> dict[str, Any]:
        return {k: p.default for k, p in inspect.signature(cls.build).parameters.items()}

    @property
    def gridded(self) -> bool:
        return True

    @property
    def step(self) -> float:
        """Natural-log step of one level, ``ln(ratio) / (levels - 1)``."""
        return self.spec.grid.step

    def grid(self, w_max: Any) -> LogGrid:
        return self.spec.grid.grid(float(np.asarray(w_max)))

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rule": self.name, **self.spec.as_dict(), "alpha": self.alpha,
                               "lmbda": self.lmbda}
        for k in ("interval", "tau_plus", "tau_minus", "w_max"):
            v = getattr(self, k)
            out[k] = v if isinstance(v, (int, float, type(None))) else str(v)
        return out

    def _body(self):
        model, pre, post, ns = self.eligibility.signal("elig")
        spec, unit_grid = self.spec, self.spec.grid.grid(1.0)
        u = "rand()" if spec.grid.stochastic else repr(spec.grid.offset)
        # The spec's update with the signal g = -elig: its gn is minus the eligibility's, and
        # coef * gn(g) = lr_per_step * gn(elig) with lr_per_step = -coef = lr / step.
        regular = "\n".join([
            "n_updates += 1",
            "elig = finite_or_zero(elig)",
            "v_elig = clip(beta * v_elig + (1 - beta) * elig**2, 0, v_max)",
            "gn = clip(finite_or_zero(elig / clip(sqrt(v_elig / (1 - beta**n_updates)), d_min, v_max)),"
            " -g_bound, g_bound)",
            f"level = int(clip(floor(level + lr_per_step * gn + {u}), 0, grid_levels - 1))",
            f"w = {unit_grid.decode_expression('level', 'w_max')}",
            "elig = 0",
        ])
        model = ["level : integer", "elig : 1", "v_elig : 1", "n_updates : 1"] + model
        ns = dict(ns, beta=spec.madam.beta, g_bound=spec.madam.g_bound, lr_per_step=-spec.coef,
                  grid_levels=spec.grid.levels, grid_ratio=spec.grid.ratio, grid_step=spec.grid.step,
                  v_max=_LARGEST,
                  d_min=_SMALLEST, finite_or_zero=finite_or_zero())
        return model, pre, post, regular, ns

    def initialise(self, S: Any, w0: str | Any) -> None:
        """Encode the initial sizes to the nearest level (:meth:`neurosim.lns.LogGrid.encode`) and decode."""
        unit_grid = self.spec.grid.grid(1.0)
        if isinstance(w0, str):
            S.w = w0
            S.level = unit_grid.encode_expression("w", "w_max")
        else:
            vals = np.asarray(w0 / S.namespace["w_max"], dtype=np.float64)
            S.level = unit_grid.encode(np.maximum(vals, 0.0))
        S.w = unit_grid.decode_expression("level", "w_max")
