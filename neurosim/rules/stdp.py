"""Spike-timing-dependent plasticity rules for Brian2: one definition, Brian2 code strings out.

Every rule here is a :class:`SpikingRule`. It validates its parameters (Brian2
quantities with units) once, and produces the pieces a Brian2 user writes by hand:
the synapse ``model`` equations, the ``on_pre`` and ``on_post`` statements, an
optional ``run_regularly`` block and the ``namespace`` of constants, bundled in a
:class:`RuleCode`. :meth:`SpikingRule.synapses` builds a ready ``Synapses`` object.

In every rule the variable ``w`` is the synapse's **size** (>= 0, in the unit of
``w_max``); the sign belongs to the presynaptic population (Dale's principle) and
is applied by the statement that delivers the spike (``ge_post += w`` for an
excitatory, ``gi_post += w`` for an inhibitory projection), so no rule can flip it.
Traces are dimensionless and jump by 1 at each spike (NEST's ``Kplus``/``Kminus``)::

    dKpre/dt  = -Kpre / tau_plus       (presynaptic trace, event-driven)
    dKpost/dt = -Kpost / tau_minus     (postsynaptic trace, event-driven)

Rules
-----
``additive`` (:class:`AdditiveSTDP`)
    Song, Miller & Abbott (2000), Nat. Neurosci. 3:919: at a postsynaptic spike
    ``w += lmbda * w_max * Kpre``, at a presynaptic spike
    ``w -= alpha * lmbda * w_max * Kpost``, hard bounds ``0 <= w <= w_max``. The
    defaults (``lmbda = 0.01``, ``alpha = 1.05``, ``tau = 20 ms``) are those of
    Brian2's ``examples/synapses/STDP.py``.
``gutig`` (:class:`WeightDependentSTDP`)
    The weight-dependent family of Gütig, Aharonov, Rotter & Sompolinsky (2003),
    J. Neurosci. 23:3697, with the parameters of NEST's ``stdp_synapse``
    (``mu_plus``, ``mu_minus``, ``alpha``, ``lambda`` (here ``lmbda``), ``Wmax``
    (here ``w_max``)). With ``x = w / w_max``::

        post spike: x += lmbda * (1 - x)**mu_plus * Kpre
        pre spike:  x -= alpha * lmbda * x**mu_minus * Kpost      (then clip to 0..1)

    ``mu_plus = mu_minus = 0`` is additive STDP; ``= 1`` the soft-bound
    "multiplicative" rule of Rubin, Lee & Sompolinsky (2001), Phys. Rev. Lett.
    86:364; ``mu_plus = 0, mu_minus = 1`` the mixed rule of van Rossum, Bi &
    Turrigiano (2000), J. Neurosci. 20:8812. "Multiplicative" here means soft
    bounds, not a step in log size as in Madam.
``madam_loggrid`` (:class:`LogGridMadamSTDP`)
    Madam (Bernstein et al. 2020, NeurIPS) on the log grid, composed of two parts: an
    *eligibility* (an :class:`AdditiveSTDP`, whose ``on_pre`` / ``on_post`` add to
    ``elig`` exactly what additive STDP would add to ``w``, in units of ``w_max``) and
    the *update* of :class:`neurosim.rules.spec.GridMadamSpec`, the same definition
    :class:`neurosim.rules.LogGridMadam` renders in torch. Each synapse keeps a level
    ``level``, the eligibility ``elig`` and a second moment ``v_elig``; every
    ``interval`` a ``run_regularly`` block runs the spec's arithmetic with the signal
    ``g = -elig`` (the gradient's part; written below for ``elig``, whose normalised value
    is ``-gn(g)``, so the spec's ``coef = -lr / step`` appears as ``lr / step``), ``n`` the
    number of updates so far::

        e     = elig if elig is finite else 0
        v     = min(beta * v + (1 - beta) * e**2, largest double)
        gn    = clip(e / max(sqrt(v / (1 - beta**n)), smallest double), -g_bound, g_bound)
        level = clip(floor(level + (lr / step) * gn + u), 0, L - 1)      (u = rand() or 0.5)
        w     = w_max * exp((level - (L - 1)) * step)
        elig  = 0

    This is :class:`neurosim.rules.LogGridMadam` fed the gradient ``-elig`` (the sign of
    ``w`` is +1; tested in ``tests/test_brian_rules.py``). Weights only change at
    updates, so they are always exactly on the grid. The first update runs at
    ``t = 0`` with ``elig = 0``: it moves nothing but counts as update 1 for the bias
    correction (as a torch step with a zero gradient would).
``vogels`` (:class:`VogelsISTDP`)
    The inhibitory rule of Vogels, Sprekeler, Zenke, Clopath & Gerstner (2011),
    Science 334:1569, for inhibitory synapses (sign -1): at a presynaptic spike
    ``w += eta * (Kpost - 2 * rho0 * tau)``, at a postsynaptic spike
    ``w += eta * Kpre``, bounds ``0 <= w <= w_max``; it drives the postsynaptic rate
    towards ``rho0``.

Units and validation
--------------------
Time constants and ``interval`` must be Brian2 times (``20*ms``); ``rho0`` a
rate (``5*Hz``); ``w_max`` and ``eta`` carry the unit of the weights they act on
(a plain float means dimensionless weights, as in the Song setup, where ``w`` is a
conductance relative to the leak). All other parameters are plain numbers. Bad
values raise :class:`ValueError` with one line naming the parameter and what is
allowed (:mod:`neurosim.rules.quantities`). ``w_max=None`` lets the network supply
its default bound. Each rule class lists its times (``TIMES``), rates (``RATES``)
and their defaults in seconds or hertz (``UNIT_DEFAULTS``), so a config in plain
SI numbers can be turned into quantities (:func:`rule_defaults`,
:func:`with_units`).
"""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from neurosim import validate as V
from neurosim.lns import LogGrid
from neurosim.rules.quantities import (
    brian,
    check_number,
    check_quantity,
    check_time,
    check_weight,
    dim,
    finite_or_zero,
    show,
    unit_string,
)
from neurosim.rules.spec import GridMadamSpec, GridSpec, MadamSpec

__all__ = [
    "RULES",
    "AdditiveSTDP",
    "LogGridMadamSTDP",
    "RuleCode",
    "SpikingRule",
    "VogelsISTDP",
    "WeightDependentSTDP",
    "make_rule",
    "rule_defaults",
    "unit_string",
    "with_units",
]

_SMALLEST = float(np.finfo(np.float64).tiny)
_LARGEST = float(np.finfo(np.float64).max)


@dataclass(frozen=True)
class RuleCode:
    """The Brian2 pieces of a rule for one projection.

    ``model``, ``on_pre``, ``on_post`` go to ``Synapses(...)`` (``on_pre`` starts
    with the network's delivery statement); ``regular`` and ``regular_dt`` to
    ``S.run_regularly`` (``None`` if the rule has no periodic update);
    ``namespace`` holds the constants, with units.
    """

    model: str
    on_pre: str
    on_post: str
    regular: str | None
    regular_dt: Any
    namespace: dict[str, Any]


def _unit(name: str) -> Any:
    b2 = brian()
    return {"second": b2.second, "hertz": b2.Hz}[name]


@dataclass(frozen=True)
class SpikingRule:
    """Base class of the Brian2 plasticity rules (see the module docstring).

    Subclasses define :meth:`_body` (the rule's model lines and statements).
    ``sign`` is the sign of the synapses the rule is meant for (+1 excitatory,
    -1 inhibitory); :meth:`check_sign` refuses a mismatch.
    """

    name: str = field(init=False, default="")
    sign: int = field(init=False, default=1)

    #: parameters that are Brian2 times / rates, and their defaults in seconds / hertz
    TIMES: ClassVar[tuple[str, ...]] = ()
    RATES: ClassVar[tuple[str, ...]] = ()
    UNIT_DEFAULTS: ClassVar[dict[str, float]] = {}

    # -- to be provided by subclasses
    def _body(self) -> tuple[list[str], list[str], list[str], str | None, dict[str, Any]]:
        raise NotImplementedError

    @classmethod
    def build(cls, **params: Any) -> SpikingRule:
        """The rule from its parameters (those of :meth:`accepts`); the dataclass constructor by default."""
        return cls(**params)

    @classmethod
    def accepts(cls) -> list[str]:
        """The parameter names :meth:`build` takes, in order (the dataclass fields by default)."""
        return [f.name for f in dataclasses.fields(cls) if f.init]

    @classmethod
    def build_defaults(cls) -> dict[str, Any]:
        """``{parameter: default}`` of :meth:`build` (``None`` for times: see :attr:`UNIT_DEFAULTS`)."""
        defaults = {f.name: f.default for f in dataclasses.fields(cls)}
        return {k: defaults[k] for k in cls.accepts()}

    def _default(self, key: str) -> Any:
        """The default quantity of a time or rate parameter (from :attr:`UNIT_DEFAULTS`)."""
        return self.UNIT_DEFAULTS[key] * _unit("second" if key in self.TIMES else "hertz")

    @property
    def w_max_given(self) -> Any:
        return getattr(self, "w_max", None)

    @property
    def gridded(self) -> bool:
        """Whether the rule keeps sizes on a log grid (a ``level`` variable)."""
        return False

    def grid(self, w_max: Any) -> LogGrid | None:
        """The :class:`~neurosim.lns.LogGrid` of sizes (in ``w_max``'s SI unit), or ``None``."""
        return None

    def params(self) -> dict[str, Any]:
        """Parameters as JSON-able values (quantities as strings)."""
        out: dict[str, Any] = {"rule": self.name}
        for k, v in self.__dict__.items():
            if k in ("name", "sign"):
                continue
            out[k] = v if isinstance(v, (int, float, str, type(None))) else str(v)
        return out

    def check_sign(self, sign: int, where: str = "synapses") -> None:
        """Raise ``ValueError`` if the rule is not meant for synapses of ``sign``."""
        if sign not in (-1, 1):
            raise ValueError(f"sign: must be +1 (excitatory) or -1 (inhibitory), got {sign!r}")
        if sign != self.sign:
            kind = {1: "excitatory", -1: "inhibitory"}
            allowed = "'vogels'" if sign == -1 else "'additive', 'gutig' or 'madam_loggrid'"
            raise ValueError(
                f"rule: {self.name!r} is an {kind[self.sign]} rule but {where} are {kind[sign]} "
                f"(sign {sign:+d}); allowed: {allowed}"
            )

    def resolve_w_max(self, default: Any) -> Any:
        """``w_max`` of the rule, or ``default`` if the rule left it ``None``; checked against it."""
        w_max = self.w_max_given
        if w_max is None:
            return check_weight("w_max", default)
        if default is not None and dim(w_max) is not dim(default):
            raise ValueError(
                f"w_max: must be in the network's weight unit ({unit_string(dim(default))}), "
                f"got {show(w_max)}"
            )
        return w_max

    def code(self, w_max: Any, delivery: str = "") -> RuleCode:
        """The Brian2 code for weights bounded by ``w_max`` (its unit is the weights' unit).

        ``delivery`` is the statement that transmits a spike (e.g. ``"ge_post += w"``);
        it runs first in ``on_pre``, as in Brian2's STDP example.
        """
        w_max = check_weight("w_max", w_max)
        unit = unit_string(dim(w_max))
        model, pre, post, regular, ns = self._body()
        model = [f"w : {unit}"] + model
        pre = ([delivery] if delivery else []) + pre
        ns = {**ns, "w_max": w_max}
        dt = getattr(self, "interval", None) if regular is not None else None
        return RuleCode(model="\n".join(model), on_pre="\n".join(pre), on_post="\n".join(post),
                        regular=regular, regular_dt=dt, namespace=ns)

    def synapses(self, source: Any, target: Any, *, delivery: str, w_max: Any = None, sign: int = 1,
                 name: str | None = None, namespace: dict[str, Any] | None = None,
                 extra_model: str = "", delay: Any = None) -> Any:
        """A Brian2 ``Synapses`` object with this rule (not yet connected).

        Parameters
        ----------
        source, target:
            Brian2 groups.
        delivery:
            Spike transmission statement run first in ``on_pre`` (e.g. ``"ge_post += w"``).
        w_max:
            The network's default bound, used when the rule's own ``w_max`` is ``None``.
        sign:
            Sign of the projection (+1 excitatory, -1 inhibitory); checked with
            :meth:`check_sign`.
        namespace:
            Extra constants used in ``delivery`` or ``extra_model``.

        After ``S.connect(...)`` call :meth:`initialise`; the periodic update of
        gridded rules is added here (``run_regularly``, named ``<name>_update``).
        """
        b2 = brian()
        self.check_sign(sign, where=f"synapses {name or ''}".strip())
        wm = self.resolve_w_max(w_max)
        rc = self.code(wm, delivery)
        model = rc.model + ("\n" + extra_model if extra_model else "")
        ns = {**(namespace or {}), **rc.namespace}
        kw: dict[str, Any] = {}
        if name:
            kw["name"] = name
        if delay is not None:
            kw["delay"] = delay
        S = b2.Synapses(source, target, model=model, on_pre=rc.on_pre, on_post=rc.on_post,
                        namespace=ns, method="exact", **kw)
        if rc.regular is not None:
            S.run_regularly(rc.regular, dt=rc.regular_dt, when="start",
                            name=f"{S.name}_update")
        return S

    def initialise(self, S: Any, w0: str | Any) -> None:
        """Set initial sizes after ``S.connect``: ``w0`` is an expression (``"rand() * w_max"``)
        or values in the weights' unit. Gridded rules encode them to the nearest level."""
        S.w = w0


@dataclass(frozen=True)
class WeightDependentSTDP(SpikingRule):
    """Gütig et al. (2003) weight-dependent STDP with NEST ``stdp_synapse`` parameters.

    Parameters
    ----------
    mu_plus, mu_minus:
        Exponents of the weight dependence of potentiation and depression, in [0, 1]
        (0: additive; 1: soft bound / "multiplicative", Rubin et al. 2001;
        ``mu_plus = 0, mu_minus = 1``: van Rossum et al. 2000).
    alpha:
        Ratio of depression to potentiation amplitude (> 0, dimensionless).
    lmbda:
        Potentiation step as a fraction of ``w_max`` per pair (NEST ``lambda``; > 0).
    w_max:
        Upper bound (NEST ``Wmax``) in the weights' unit; ``None``: the network's default.
    tau_plus, tau_minus:
        Decay times of the pre- and postsynaptic traces (Brian2 times > 0; default 20 ms).
    """

    mu_plus: float = 1.0
    mu_minus: float = 1.0
    alpha: float = 1.05
    lmbda: float = 0.01
    w_max: Any = None
    tau_plus: Any = None
    tau_minus: Any = None

    TIMES = ("tau_plus", "tau_minus")
    UNIT_DEFAULTS = {"tau_plus": 0.020, "tau_minus": 0.020}

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", self._rule_name())
        for k in ("mu_plus", "mu_minus"):
            object.__setattr__(self, k, check_number(k, getattr(self, k), ge=0.0, le=1.0))
        object.__setattr__(self, "alpha", check_number("alpha", self.alpha, gt=0.0))
        object.__setattr__(self, "lmbda", check_number("lmbda", self.lmbda, gt=0.0, le=1.0))
        if self.w_max is not None:
            object.__setattr__(self, "w_max", check_weight("w_max", self.w_max))
        for k in self.TIMES:
            val = getattr(self, k)
            object.__setattr__(self, k, check_time(k, self._default(k) if val is None else val))

    def _rule_name(self) -> str:
        return "gutig"

    def _traces(self) -> list[str]:
        return ["dKpre/dt = -Kpre / tau_plus : 1 (event-driven)",
                "dKpost/dt = -Kpost / tau_minus : 1 (event-driven)"]

    def _trace_namespace(self) -> dict[str, Any]:
        return dict(alpha=self.alpha, lmbda=self.lmbda, tau_plus=self.tau_plus, tau_minus=self.tau_minus)

    def _body(self):
        dep = {0.0: "w_max", 1.0: "w"}.get(self.mu_minus, "w_max * (w / w_max)**mu_minus")
        pot = {0.0: "w_max", 1.0: "(w_max - w)"}.get(self.mu_plus, "w_max * (1 - w / w_max)**mu_plus")
        pre = ["Kpre += 1", f"w = clip(w - alpha * lmbda * {dep} * Kpost, 0 * w_max, w_max)"]
        post = ["Kpost += 1", f"w = clip(w + lmbda * {pot} * Kpre, 0 * w_max, w_max)"]
        ns = dict(mu_plus=self.mu_plus, mu_minus=self.mu_minus, **self._trace_namespace())
        return self._traces(), pre, post, None, ns


@dataclass(frozen=True)
class AdditiveSTDP(WeightDependentSTDP):
    """Additive STDP with hard bounds (Song, Miller & Abbott 2000, Nat. Neurosci. 3:919).

    The Gütig family with ``mu_plus = mu_minus = 0``: potentiation ``lmbda * w_max``
    (Brian2's example: ``dApre = 0.01 * gmax``), depression ``alpha`` times that
    (``1.05``), both times the trace of the other side, clipped to ``0..w_max``.
    :meth:`signal` gives the same changes as statements on another variable, the
    eligibility of :class:`LogGridMadamSTDP`.
    """

    mu_plus: float = 0.0
    mu_minus: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.mu_plus != 0.0 or self.mu_minus != 0.0:
            raise ValueError("mu_plus, mu_minus: must be 0 for the additive rule (use 'gutig')")

    @classmethod
    def accepts(cls) -> list[str]:
        return [k for k in super().accepts() if k not in ("mu_plus", "mu_minus")]

    def _rule_name(self) -> str:
        return "additive"

    def signal(self, target: str) -> tuple[list[str], list[str], list[str], dict[str, Any]]:
        """``(model, on_pre, on_post, namespace)`` adding to ``target`` what this rule adds to ``w``,
        in units of ``w_max`` and without bounds (the traces included)."""
        pre = ["Kpre += 1", f"{target} -= alpha * lmbda * Kpost"]
        post = ["Kpost += 1", f"{target} += lmbda * Kpre"]
        return self._traces(), pre, post, self._trace_namespace()


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


@dataclass(frozen=True)
class VogelsISTDP(SpikingRule):
    """Inhibitory STDP of Vogels et al. (2011), Science 334:1569 (for sign -1 synapses).

    Parameters
    ----------
    eta:
        Weight change per coincident pair, in the weights' unit (> 0).
    rho0:
        Target postsynaptic rate (a Brian2 rate, default 5 Hz).
    tau:
        Decay time of both traces (a Brian2 time; 20 ms in the paper).
    w_max:
        Upper bound in the weights' unit (``None``: the network's default).
    """

    eta: Any = None
    rho0: Any = None
    tau: Any = None
    w_max: Any = None

    TIMES = ("tau",)
    RATES = ("rho0",)
    UNIT_DEFAULTS = {"tau": 0.020, "rho0": 5.0}

    def __post_init__(self) -> None:
        b2 = brian()
        object.__setattr__(self, "name", "vogels")
        object.__setattr__(self, "sign", -1)
        if self.eta is None:
            raise ValueError("eta: required, a weight change per pair in the weights' unit (e.g. 0.05*nS)")
        object.__setattr__(self, "eta", check_weight("eta", self.eta))
        rho0 = self._default("rho0") if self.rho0 is None else self.rho0
        object.__setattr__(self, "rho0", check_quantity("rho0", rho0, b2.Hz, example=" (e.g. 5*Hz)"))
        object.__setattr__(self, "tau", check_time("tau", self._default("tau") if self.tau is None else self.tau))
        if self.w_max is not None:
            object.__setattr__(self, "w_max", check_weight("w_max", self.w_max))
            if dim(self.w_max) is not dim(self.eta):
                raise ValueError(f"eta: must be in w_max's unit ({unit_string(dim(self.w_max))}), "
                                 f"got {show(self.eta)}")

    def code(self, w_max: Any, delivery: str = "") -> RuleCode:
        w_max = check_weight("w_max", w_max)
        if dim(w_max) is not dim(self.eta):
            raise ValueError(f"eta: must be in the weights' unit ({unit_string(dim(w_max))}), "
                             f"got {show(self.eta)}")
        return super().code(w_max, delivery)

    def _body(self):
        model = ["dKpre/dt = -Kpre / tau_istdp : 1 (event-driven)",
                 "dKpost/dt = -Kpost / tau_istdp : 1 (event-driven)"]
        pre = ["Kpre += 1", "w = clip(w + eta_istdp * (Kpost - alpha_istdp), 0 * w_max, w_max)"]
        post = ["Kpost += 1", "w = clip(w + eta_istdp * Kpre, 0 * w_max, w_max)"]
        ns = dict(tau_istdp=self.tau, eta_istdp=self.eta,
                  alpha_istdp=float(2 * self.rho0 * self.tau))
        return model, pre, post, None, ns


RULES: dict[str, type[SpikingRule]] = {
    "additive": AdditiveSTDP,
    "gutig": WeightDependentSTDP,
    "madam_loggrid": LogGridMadamSTDP,
    "vogels": VogelsISTDP,
}

_ALIASES = {"lambda": "lmbda", "lam": "lmbda", "Wmax": "w_max", "wmax": "w_max"}


def _rule_class(name: str) -> type[SpikingRule]:
    if name not in RULES:
        raise ValueError(f"rule: must be one of {', '.join(RULES)}, got {name!r}")
    return RULES[name]


def make_rule(name: str, **params: Any) -> SpikingRule:
    """Build a rule by name: ``"additive"``, ``"gutig"``, ``"madam_loggrid"`` or ``"vogels"``.

    NEST spellings ``lambda`` / ``Wmax`` (and ``lam``) are accepted for ``lmbda`` /
    ``w_max``. Unknown parameters raise ``ValueError`` naming them and listing the
    allowed ones. See the rule classes for units (times must be Brian2 quantities).
    """
    cls = _rule_class(name)
    params = {_ALIASES.get(k, k): v for k, v in params.items()}
    allowed = cls.accepts()
    for k in params:
        if k not in allowed:
            raise ValueError(f"{k}: not a parameter of rule {name!r}; allowed: {', '.join(allowed)}")
    return cls.build(**params)


def rule_defaults(name: str) -> dict[str, Any]:
    """Every parameter of rule ``name`` with its default as a plain number (times in s, rates in Hz).

    ``None`` where the rule has no fixed default (``w_max``: the network's; ``eta``: required).
    The config schema takes its Brian2 rule defaults from here.
    """
    cls = _rule_class(name)
    return {k: cls.UNIT_DEFAULTS.get(k, v) if v is None else v for k, v in cls.build_defaults().items()}


def with_units(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """Plain-number parameters (times in s, rates in Hz) as the Brian2 quantities :func:`make_rule` takes."""
    cls = _rule_class(name)
    out = {}
    for k, v in params.items():
        if v is not None and k in cls.TIMES:
            v = v * _unit("second")
        elif v is not None and k in cls.RATES:
            v = v * _unit("hertz")
        out[k] = v
    return out
