"""Interval rules for Brian2: an STDP eligibility applied every ``interval``, additively or by Madam.

Four rules, the cells of a factorial design that separates the update from the storage:

=====================  ====================================  ==============================
rule                   update every ``interval``             sizes
=====================  ====================================  ==============================
``additive_float``     ``w += elig * w_max``                 float, clipped to ``[0, w_max]``
``additive_loggrid``   the same, rounded onto the grid       log grid (``levels``, ``ratio``)
``madam_float``        ``w *= exp(lr * gn)``                 float, ``[w_max / ratio, w_max]``
``madam_loggrid``      ``level += lr / step * gn``, rounded  log grid (``levels``, ``ratio``)
=====================  ====================================  ==============================

``elig`` is what additive STDP (Song, Miller & Abbott 2000; :class:`AdditiveSTDP`) would
have added to ``w / w_max`` since the last update, without bounds; ``gn`` is Madam's
normalised signal (Bernstein et al. 2020, :class:`neurosim.rules.spec.MadamSpec`: the
eligibility over the root of its running second moment, clipped to ``g_bound``). The
Madam rules are :class:`neurosim.rules.Madam` / :class:`neurosim.rules.LogGridMadam`
fed the gradient ``-elig`` (same spec, same arithmetic; ``tests/test_brian_rules.py``).
Rounding: Madam's step is rounded in log size (``floor(x + u)``, unbiased in level); the
additive step in size (between the two neighbouring grid sizes, with the probability
that keeps the expected size), each unbiased in the variable its rule moves.
``madam_float`` has the grid's range, so that ``madam_float`` against ``madam_loggrid``
isolates the rounding; ``additive_float`` keeps Song's bounds ``[0, w_max]`` (a log grid
has no size 0, which is part of what the grid changes).

**Consolidation** (``consolidation_bits = b``, grid rules only): the synapse keeps a
finer level ``flevel`` with ``2**b`` sub-steps per level, the update rounds onto that
finer grid, and the expressed size is the nearest whole level: sub-level steps
accumulate instead of being rounded away or up. It costs ``b`` bits per synapse.

**Null controls** (``null``, every rule of :mod:`neurosim.rules.stdp` that learns from
spike timing): the same run with the timing signal removed at equal magnitude.

* ``"sign"``: each update's eligibility (interval rules) or each pairing's change
  (per-spike rules) gets a random sign. The magnitude is kept; the signal and also the
  mean of the changes go: for additive STDP that removes its depression bias
  (``alpha = 1.05``), so it answers "does the timing *or* the bias do it".
* ``"independent"``: the eligibility comes from an independent Poisson train at
  ``null_rate`` (the input's rate) in place of the synapse's own input, paired with the
  real postsynaptic spikes. The bias stays (an uncorrelated pre train pairs with the
  post train as the real one would by chance); only the causal correlation goes, so it
  answers "does the input-output correlation do it". The ghost train is drawn in each
  synapse every time step (clock-driven traces).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from neurosim import validate as V
from neurosim.lns import LogGrid
from neurosim.rules.quantities import check_number, check_time, check_weight, finite_or_zero
from neurosim.rules.spec import GridMadamSpec, GridSpec, MadamSpec
from neurosim.rules.spiking import RANDOM_SIGN, AdditiveSTDP, SpikingRule, WeightDependentSTDP

__all__ = ["MAX_CONSOLIDATION_BITS", "AdditiveFloatSTDP", "AdditiveLogGridSTDP", "IntervalSTDP", "LogGridMadamSTDP",
           "MadamFloatSTDP", "MadamLogGridSTDP"]

_SMALLEST = float(np.finfo(np.float64).tiny)
_LARGEST = float(np.finfo(np.float64).max)
#: At most this many consolidation bits (the issue's budget: 3 extra bits per synapse).
MAX_CONSOLIDATION_BITS = 3


@dataclass(frozen=True)
class IntervalSTDP(SpikingRule):
    """An STDP eligibility applied every ``interval`` (see the module docstring).

    Parts: ``eligibility`` (an :class:`AdditiveSTDP`: ``alpha``, ``lmbda``, ``tau_plus``,
    ``tau_minus``, and its ``null``), ``madam`` (a :class:`~neurosim.rules.spec.MadamSpec`,
    ``None`` for the additive update), ``grid`` (a :class:`~neurosim.rules.spec.GridSpec`,
    ``None`` for float sizes), ``ratio`` (the float Madam rule's range), the update
    ``interval``, the top size ``w_max`` and ``consolidation_bits``. Subclasses fix which
    parts they have; :meth:`build` takes the parameters flat, as a config does.
    """

    eligibility: AdditiveSTDP = None  # type: ignore[assignment]
    madam: MadamSpec | None = None
    grid_spec: GridSpec | None = None
    ratio: float = GridSpec.ratio
    interval: Any = None
    w_max: Any = None
    consolidation_bits: int = 0

    TIMES = ("tau_plus", "tau_minus", "interval")
    RATES = ("null_rate",)
    UNIT_DEFAULTS = {**WeightDependentSTDP.UNIT_DEFAULTS, "interval": 0.100}
    RULE: ClassVar[str] = ""
    MULTIPLICATIVE: ClassVar[bool] = False
    GRIDDED: ClassVar[bool] = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", self.RULE)
        if self.eligibility is None:
            object.__setattr__(self, "eligibility", AdditiveSTDP())
        if not isinstance(self.eligibility, AdditiveSTDP):
            raise ValueError(f"eligibility: must be an AdditiveSTDP, got {type(self.eligibility).__name__}")
        if self.MULTIPLICATIVE != isinstance(self.madam, MadamSpec):
            raise ValueError(f"madam: {self.RULE!r} needs {'a MadamSpec' if self.MULTIPLICATIVE else 'None'}")
        if self.GRIDDED != isinstance(self.grid_spec, GridSpec):
            raise ValueError(f"grid_spec: {self.RULE!r} needs {'a GridSpec' if self.GRIDDED else 'None'}")
        object.__setattr__(self, "ratio", check_number("ratio", self.ratio, gt=1.0, le=1e30))
        interval = self._default("interval") if self.interval is None else self.interval
        object.__setattr__(self, "interval", check_time("interval", interval))
        if self.w_max is not None:
            object.__setattr__(self, "w_max", check_weight("w_max", self.w_max))
        bits = V.integral(ge=0, le=MAX_CONSOLIDATION_BITS)("consolidation_bits", self.consolidation_bits)
        if bits and not self.GRIDDED:
            raise ValueError("consolidation_bits: only a grid rule has sub-level steps to keep; must be 0 here")
        object.__setattr__(self, "consolidation_bits", bits)

    # ------------------------------------------------------------------ construction
    @classmethod
    def _make(cls, *, lr: float | None, beta: float | None, g_bound: float | None, levels: int | None,
              ratio: float, rounding: str | None, interval: Any, alpha: float, lmbda: float, w_max: Any,
              tau_plus: Any, tau_minus: Any, consolidation_bits: int, null: str, null_rate: Any
              ) -> IntervalSTDP:
        ratio = check_number("ratio", ratio, gt=1.0, le=1e30)
        madam = grid = None
        if cls.MULTIPLICATIVE:
            nums = {k: check_number(k, v) for k, v in (("lr", lr), ("beta", beta), ("g_bound", g_bound))}
            madam = MadamSpec(**nums)
        if cls.GRIDDED:
            grid = GridSpec.of(levels=V.integer("levels", levels), ratio=ratio, rounding=rounding)
        elig = AdditiveSTDP(alpha=alpha, lmbda=lmbda, tau_plus=tau_plus, tau_minus=tau_minus, null=null,
                            null_rate=null_rate)
        return cls(eligibility=elig, madam=madam, grid_spec=grid, ratio=ratio, interval=interval, w_max=w_max,
                   consolidation_bits=consolidation_bits)

    @classmethod
    def accepts(cls) -> list[str]:
        return list(inspect.signature(cls.build).parameters)

    @classmethod
    def build_defaults(cls) -> dict[str, Any]:
        return {k: p.default for k, p in inspect.signature(cls.build).parameters.items()}

    # flat views of the parts (what configs, reports and tests read)
    lr = property(lambda self: self.madam.lr if self.madam else None)
    beta = property(lambda self: self.madam.beta if self.madam else None)
    g_bound = property(lambda self: self.madam.g_bound if self.madam else None)
    levels = property(lambda self: self.grid_spec.levels if self.grid_spec else None)
    rounding = property(lambda self: self.grid_spec.rounding if self.grid_spec else None)
    alpha = property(lambda self: self.eligibility.alpha)
    lmbda = property(lambda self: self.eligibility.lmbda)
    tau_plus = property(lambda self: self.eligibility.tau_plus)
    tau_minus = property(lambda self: self.eligibility.tau_minus)
    null = property(lambda self: self.eligibility.null)
    null_rate = property(lambda self: self.eligibility.null_rate)

    @property
    def gridded(self) -> bool:
        return self.GRIDDED

    @property
    def step(self) -> float:
        """Natural-log step of one level, ``ln(ratio) / (levels - 1)`` (grid rules)."""
        return self.grid_spec.step if self.grid_spec else float("nan")

    def grid(self, w_max: Any) -> LogGrid | None:
        return self.grid_spec.grid(float(np.asarray(w_max))) if self.grid_spec else None

    def size_bounds(self, w_max: float) -> tuple[float, float]:
        """The sizes the rule keeps to: ``(w_max / ratio, w_max)``, or ``(0, w_max)`` for ``additive_float``."""
        return (0.0 if not (self.MULTIPLICATIVE or self.GRIDDED) else w_max / self.ratio, w_max)

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rule": self.name, "alpha": self.alpha, "lmbda": self.lmbda, "null": self.null}
        if self.madam:
            out.update(lr=self.lr, beta=self.beta, g_bound=self.g_bound)
        if self.grid_spec:
            out.update(levels=self.levels, rounding=self.rounding, consolidation_bits=self.consolidation_bits)
        if self.MULTIPLICATIVE or self.GRIDDED:
            out["ratio"] = self.ratio
        for k in ("interval", "tau_plus", "tau_minus", "w_max", "null_rate"):
            v = getattr(self, k)
            out[k] = v if isinstance(v, (int, float, type(None))) else str(v)
        return out

    # ------------------------------------------------------------------ code
    def _update(self) -> tuple[list[str], list[str], dict[str, Any]]:
        """``(model lines, statements, namespace)`` of the size update from ``elig``."""
        b = self.consolidation_bits
        if not self.GRIDDED:
            if self.MULTIPLICATIVE:
                return [], ["w = clip(w * exp(lr * gn), w_max / ratio, w_max)"], {"lr": self.lr, "ratio": self.ratio}
            return [], ["w = clip(w + elig * w_max, 0 * w_max, w_max)"], {}
        g = self.grid_spec
        unit_grid = g.grid(1.0)
        u = "rand()" if g.stochastic else repr(g.offset)
        ns: dict[str, Any] = {"grid_levels": g.levels, "grid_ratio": g.ratio, "grid_step": g.step, "sub": 2**b}
        decode = f"w = {unit_grid.decode_expression('level', 'w_max')}"
        if self.MULTIPLICATIVE:
            # the spec's update with g = -elig: coef * gn(g) = -coef * gn(elig)
            ns["lr_per_step"] = -GridMadamSpec(self.madam, g).coef
            if b == 0:
                return [], [f"level = int(clip(floor(level + lr_per_step * gn + {u}), 0, grid_levels - 1))",
                            decode], ns
            return (["flevel : integer"],
                    [f"flevel = int(clip(floor(flevel + sub * lr_per_step * gn + {u}), 0, sub * (grid_levels - 1)))",
                     "level = int(floor(flevel / sub + 0.5))", decode], ns)
        # additive: the new size, then between its two neighbouring grid sizes, unbiased in size
        # (with consolidation, from the finer size the synapse keeps, onto the finer grid)
        top = "(sub * (grid_levels - 1))" if b else "(grid_levels - 1)"
        var = "flevel" if b else "level"
        step = "(grid_step / sub)" if b else "grid_step"
        base = f"w_max * exp((flevel - {top}) * {step})" if b else "w"
        s_target = f"{base} + elig * w_max"
        pos = f"clip((grid_levels - 1) + log(clip(({s_target}) / w_max, tiny, 1.0)) / grid_step, 0, grid_levels - 1)"
        ns["tiny"] = 1e-300
        if b:
            pos = f"sub * {pos}"
        lines = [f"x_lo = clip(floor({pos}), 0, {top} - 1)",
                 f"s_lo = w_max * exp((x_lo - {top}) * {step})",
                 f"p_up = clip(({s_target} - s_lo) / (s_lo * (exp({step}) - 1)), 0, 1)",
                 f"{var} = int(x_lo + int({u} < p_up))" if g.stochastic else f"{var} = int(x_lo + int(p_up >= 0.5))"]
        if b:
            lines.append("level = int(floor(flevel / sub + 0.5))")
        return (["flevel : integer"] if b else []), lines + [decode], ns

    def _body(self, gate: str | None = None):
        model, pre, post, per_step, ns = self.eligibility.signal("elig", gate)
        regular = ["n_updates += 1", "elig = finite_or_zero(elig)"]
        if self.null == "sign":
            regular.append(f"elig = elig * {RANDOM_SIGN}")
        extra_model = ["elig : 1", "n_updates : 1"]
        if self.MULTIPLICATIVE:
            regular += [
                "v_elig = clip(beta * v_elig + (1 - beta) * elig**2, 0, v_max)",
                "gn = clip(finite_or_zero(elig / clip(sqrt(v_elig / (1 - beta**n_updates)), d_min, v_max)),"
                " -g_bound, g_bound)",
            ]
            extra_model.append("v_elig : 1")
            ns = dict(ns, beta=self.beta, g_bound=self.g_bound, v_max=_LARGEST, d_min=_SMALLEST)
        upd_model, upd, upd_ns = self._update()
        if self.GRIDDED:
            extra_model.insert(0, "level : integer")
        regular += upd + ["elig = 0"]
        ns = dict(ns, **upd_ns, finite_or_zero=finite_or_zero())
        return extra_model + upd_model + model, pre, post, "\n".join(regular), ns, per_step

    def initialise(self, S: Any, w0: str | Any) -> None:
        """Set the initial sizes; grid rules encode them to the nearest level (:meth:`neurosim.lns.LogGrid.encode`)."""
        if not self.GRIDDED:
            S.w = w0
            lo = "w_max / ratio" if self.MULTIPLICATIVE else "0 * w_max"
            S.w = f"clip(w, {lo}, w_max)"
            return
        unit_grid = self.grid_spec.grid(1.0)
        if isinstance(w0, str):
            S.w = w0
            S.level = unit_grid.encode_expression("w", "w_max")
        else:
            vals = np.asarray(w0 / S.namespace["w_max"], dtype=np.float64)
            S.level = unit_grid.encode(np.maximum(vals, 0.0))
        if self.consolidation_bits:
            S.flevel = f"level * {2 ** self.consolidation_bits}"
        S.w = unit_grid.decode_expression("level", "w_max")


_E = WeightDependentSTDP  # defaults of the eligibility's parameters


@dataclass(frozen=True)
class MadamLogGridSTDP(IntervalSTDP):
    """``madam_loggrid``: Madam on the log grid (see the module docstring).

    Parameters of :meth:`build`
    ---------------------------
    lr:
        Madam step in natural-log size per unit normalised signal (> 0; Bernstein et al.
        2020 use 0.01 everywhere). One update moves ``lr * gn / step`` levels (0.061
        levels for ``|gn| = 1`` on the 26-level, 60x grid).
    levels, ratio:
        The grid (:class:`neurosim.lns.LogGrid`; default Bartol et al. 2015: 26, 60); top size ``w_max``.
    rounding:
        ``"stochastic"`` (``floor(x + rand())``) or ``"nearest"`` (``floor(x + 0.5)``).
    interval:
        Time between updates (a Brian2 time, default 100 ms).
    beta, g_bound:
        Second-moment decay in [0, 1) (its horizon is ``interval / (1 - beta)``) and clip of
        the normalised signal (> 0).
    consolidation_bits:
        Sub-level steps kept per synapse, 0-3 bits (see the module docstring).
    alpha, lmbda, tau_plus, tau_minus:
        Those of the additive STDP whose change is the eligibility.
    null, null_rate:
        The null control (``"none"``, ``"sign"``, ``"independent"``) and the ghost train's
        rate (a Brian2 rate; ``None``: the network's input rate).
    """

    RULE = "madam_loggrid"
    MULTIPLICATIVE = True
    GRIDDED = True

    @classmethod
    def build(cls, lr: float = MadamSpec.lr, levels: int = GridSpec.levels, ratio: float = GridSpec.ratio,
              rounding: str = GridSpec.rounding, interval: Any = None, beta: float = MadamSpec.beta,
              g_bound: float = MadamSpec.g_bound, consolidation_bits: int = 0, alpha: float = _E.alpha,
              lmbda: float = _E.lmbda, w_max: Any = None, tau_plus: Any = None, tau_minus: Any = None,
              null: str = "none", null_rate: Any = None) -> MadamLogGridSTDP:
        """The rule from flat parameters (numbers as plain numbers, times as Brian2 times)."""
        return cls._make(lr=lr, beta=beta, g_bound=g_bound, levels=levels, ratio=ratio, rounding=rounding,
                         interval=interval, alpha=alpha, lmbda=lmbda, w_max=w_max, tau_plus=tau_plus,
                         tau_minus=tau_minus, consolidation_bits=consolidation_bits, null=null,
                         null_rate=null_rate)

    def __post_init__(self) -> None:
        if self.madam is None:
            object.__setattr__(self, "madam", MadamSpec())
        if self.grid_spec is None:
            object.__setattr__(self, "grid_spec", GridSpec())
        super().__post_init__()

    @property
    def spec(self) -> Any:
        """The :class:`~neurosim.rules.spec.GridMadamSpec` this rule renders."""
        return GridMadamSpec(self.madam, self.grid_spec)


#: The name the rule has had since it was first written.
LogGridMadamSTDP = MadamLogGridSTDP


@dataclass(frozen=True)
class MadamFloatSTDP(IntervalSTDP):
    """``madam_float``: Madam on float sizes in ``[w_max / ratio, w_max]`` (``madam_loggrid`` without rounding)."""

    RULE = "madam_float"
    MULTIPLICATIVE = True

    @classmethod
    def build(cls, lr: float = MadamSpec.lr, ratio: float = GridSpec.ratio, interval: Any = None,
              beta: float = MadamSpec.beta, g_bound: float = MadamSpec.g_bound, alpha: float = _E.alpha,
              lmbda: float = _E.lmbda, w_max: Any = None, tau_plus: Any = None, tau_minus: Any = None,
              null: str = "none", null_rate: Any = None) -> MadamFloatSTDP:
        """The rule from flat parameters (see :class:`MadamLogGridSTDP` for their meaning)."""
        return cls._make(lr=lr, beta=beta, g_bound=g_bound, levels=None, ratio=ratio, rounding=None,
                         interval=interval, alpha=alpha, lmbda=lmbda, w_max=w_max, tau_plus=tau_plus,
                         tau_minus=tau_minus, consolidation_bits=0, null=null, null_rate=null_rate)

    def __post_init__(self) -> None:
        if self.madam is None:
            object.__setattr__(self, "madam", MadamSpec())
        super().__post_init__()


@dataclass(frozen=True)
class AdditiveLogGridSTDP(IntervalSTDP):
    """``additive_loggrid``: the additive STDP change, applied every ``interval`` and rounded onto the log grid."""

    RULE = "additive_loggrid"
    GRIDDED = True

    @classmethod
    def build(cls, levels: int = GridSpec.levels, ratio: float = GridSpec.ratio, rounding: str = GridSpec.rounding,
              interval: Any = None, consolidation_bits: int = 0, alpha: float = _E.alpha, lmbda: float = _E.lmbda,
              w_max: Any = None, tau_plus: Any = None, tau_minus: Any = None, null: str = "none",
              null_rate: Any = None) -> AdditiveLogGridSTDP:
        """The rule from flat parameters (see :class:`MadamLogGridSTDP` for their meaning)."""
        return cls._make(lr=None, beta=None, g_bound=None, levels=levels, ratio=ratio, rounding=rounding,
                         interval=interval, alpha=alpha, lmbda=lmbda, w_max=w_max, tau_plus=tau_plus,
                         tau_minus=tau_minus, consolidation_bits=consolidation_bits, null=null,
                         null_rate=null_rate)

    def __post_init__(self) -> None:
        if self.grid_spec is None:
            object.__setattr__(self, "grid_spec", GridSpec())
        super().__post_init__()


@dataclass(frozen=True)
class AdditiveFloatSTDP(IntervalSTDP):
    """``additive_float``: the additive STDP change applied every ``interval``, Song's bounds ``[0, w_max]``."""

    RULE = "additive_float"

    @classmethod
    def build(cls, interval: Any = None, alpha: float = _E.alpha, lmbda: float = _E.lmbda, w_max: Any = None,
              tau_plus: Any = None, tau_minus: Any = None, null: str = "none",
              null_rate: Any = None) -> AdditiveFloatSTDP:
        """The rule from flat parameters (see :class:`MadamLogGridSTDP` for their meaning)."""
        return cls._make(lr=None, beta=None, g_bound=None, levels=None, ratio=GridSpec.ratio, rounding=None,
                         interval=interval, alpha=alpha, lmbda=lmbda, w_max=w_max, tau_plus=tau_plus,
                         tau_minus=tau_minus, consolidation_bits=0, null=null, null_rate=null_rate)

