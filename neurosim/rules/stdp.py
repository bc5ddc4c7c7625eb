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
    Madam (Bernstein et al. 2020, NeurIPS) on the log grid of
    :class:`neurosim.lns.LogGrid`, mapped as in DESIGN.md: each synapse keeps a
    level ``level``, an eligibility ``e`` (Brian2 variable ``elig``; ``e`` is Brian2's
    constant) and a second moment ``v`` (``v_elig``). ``on_pre`` /
    ``on_post`` add to ``e`` exactly what additive STDP would add to ``w``, in units
    of ``w_max`` (``e`` is dimensionless; the normalisation below is scale-free, so
    this is the same as accumulating ``dw`` itself). Every ``interval`` a
    ``run_regularly`` block does, with ``n`` the number of updates so far::

        e     = e if e is finite else 0
        v     = min(beta * v + (1 - beta) * e**2, largest double)
        gn    = clip(e / sqrt(v / (1 - beta**n)), -g_bound, g_bound)     (0/0 -> 0; never NaN)
        level = clip(floor(level + lr * gn / step + u), 0, L - 1)       (u = rand() or 0.5)
        w     = w_max * exp((level - (L - 1)) * step)
        e     = 0

    This is exactly :class:`neurosim.rules.LogGridMadam` fed the gradient ``-e``
    (the sign of ``w`` is +1; tested in ``tests/test_brian_rules.py``). Weights only
    change at updates, so they are always exactly on the grid. The first update runs
    at ``t = 0`` with ``e = 0``: it moves nothing but counts as update 1 for the
    bias correction (as a torch step with a zero gradient would).
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
allowed. ``w_max=None`` lets the network supply its default bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neurosim.lns import ROUNDINGS, LogGrid

__all__ = [
    "RULES",
    "AdditiveSTDP",
    "LogGridMadamSTDP",
    "RuleCode",
    "SpikingRule",
    "VogelsISTDP",
    "WeightDependentSTDP",
    "make_rule",
    "unit_string",
]


# ------------------------------------------------------------------ validation
def _brian():
    global _DIMLESS
    import brian2
    from brian2.units.fundamentalunits import DIMENSIONLESS

    _DIMLESS = DIMENSIONLESS
    return brian2


_DIMLESS: Any = None


def _fmt(value: Any) -> str:
    return repr(value) if not hasattr(value, "dim") else str(value)


def check_quantity(name: str, value: Any, unit: Any, *, positive: bool = True,
                   example: str = "") -> Any:
    """``value`` as a Brian2 Quantity of ``unit``'s dimension, > 0 unless ``positive=False``."""
    b2 = _brian()
    dim = b2.get_dimensions(unit)
    unit_name = unit_string(dim)
    if isinstance(value, bool) or not isinstance(value, (b2.Quantity, int, float, np.number)):
        raise ValueError(f"{name}: must be a Brian2 quantity in {unit_name}{example}, got {value!r}")
    got = b2.get_dimensions(value)
    if got is not dim:
        if dim is _DIMLESS:
            raise ValueError(f"{name}: must be dimensionless, got {_fmt(value)}")
        shown = f"unitless {value!r}" if got is _DIMLESS else _fmt(value)
        raise ValueError(f"{name}: must be a Brian2 quantity in {unit_name}{example}, got {shown}")
    arr = np.asarray(value)
    if arr.shape != ():
        raise ValueError(f"{name}: must be a scalar, got shape {arr.shape}")
    x = float(arr)
    if not math.isfinite(x):
        raise ValueError(f"{name}: must be finite, got {_fmt(value)}")
    if positive and x <= 0:
        raise ValueError(f"{name}: must be > 0, got {_fmt(value)}")
    if not positive and x < 0:
        raise ValueError(f"{name}: must be >= 0, got {_fmt(value)}")
    return b2.Quantity(x, dim=dim) if dim is not _DIMLESS else x


def check_time(name: str, value: Any) -> Any:
    """A positive Brian2 time (a time constant or an interval)."""
    b2 = _brian()
    return check_quantity(name, value, b2.second, example=" (e.g. 20*ms)")


def check_number(name: str, value: Any, *, gt: float | None = None, ge: float | None = None,
                 lt: float | None = None, le: float | None = None) -> float:
    """A plain finite number (a dimensionless Brian2 quantity is accepted) within bounds."""
    b2 = _brian()
    if isinstance(value, bool) or not isinstance(value, (b2.Quantity, int, float, np.number)):
        raise ValueError(f"{name}: must be a plain number, got {value!r}")
    if b2.get_dimensions(value) is not _DIMLESS:
        raise ValueError(f"{name}: must be dimensionless (a plain number), got {_fmt(value)}")
    x = float(np.asarray(value))
    if not math.isfinite(x):
        raise ValueError(f"{name}: must be finite, got {value!r}")
    for bound, ok, word in ((gt, lambda b: x > b, ">"), (ge, lambda b: x >= b, ">="),
                            (lt, lambda b: x < b, "<"), (le, lambda b: x <= b, "<=")):
        if bound is not None and not ok(bound):
            raise ValueError(f"{name}: must be {word} {bound}, got {x!r}")
    return x


def check_weight(name: str, value: Any, *, positive: bool = True) -> Any:
    """A weight-like scalar: a plain float (dimensionless weights) or a Brian2 Quantity, > 0."""
    b2 = _brian()
    if isinstance(value, bool) or not isinstance(value, (b2.Quantity, int, float, np.number)):
        raise ValueError(f"{name}: must be a number or Brian2 quantity in the weights' unit, got {value!r}")
    return check_quantity(name, value, b2.get_dimensions(value), positive=positive)


def unit_string(dim: Any) -> str:
    """Equation-string unit of a Brian2 dimension: ``"1"`` if dimensionless, else the SI unit."""
    b2 = _brian()
    from brian2.units.fundamentalunits import get_unit

    dim = b2.get_dimensions(dim)
    if dim is _DIMLESS:
        return "1"
    return repr(get_unit(dim))


def _dim(value: Any) -> Any:
    return _brian().get_dimensions(value)


_FINITE: Any = None


def finite_or_zero() -> Any:
    """A Brian2 function ``finite_or_zero(x)``: ``x`` if finite, else 0 (numpy, Cython and C++).

    Brian2 has no ``isfinite``; the gridded rule uses this so that a non-finite
    eligibility moves no synapse (as the torch optimizers skip non-finite gradients)
    and no NaN ever reaches the ``int()`` of the level update. Brian2 compiles with
    ``-fno-finite-math-only``, so the checks survive optimisation.
    """
    global _FINITE
    if _FINITE is None:
        b2 = _brian()

        @b2.implementation("cpp", """
        inline double finite_or_zero(double x) { return std::isfinite(x) ? x : 0.0; }
        """)
        @b2.implementation("cython", """
        cdef double finite_or_zero(double x):
            return 0.0 if (x != x or isinf(x)) else x
        """)
        @b2.check_units(x=1, result=1)
        def finite_or_zero(x):
            x = np.asarray(x, dtype=np.float64)
            return np.where(np.isfinite(x), x, 0.0)

        _FINITE = finite_or_zero
    return _FINITE


# ------------------------------------------------------------------ the rules
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


@dataclass(frozen=True)
class SpikingRule:
    """Base class of the Brian2 plasticity rules (see the module docstring).

    Subclasses define :meth:`_body` (the rule's model lines and statements).
    ``sign`` is the sign of the synapses the rule is meant for (+1 excitatory,
    -1 inhibitory); :meth:`check_sign` refuses a mismatch.
    """

    name: str = field(init=False, default="")
    sign: int = field(init=False, default=1)

    # -- to be provided by subclasses
    def _body(self) -> tuple[list[str], list[str], list[str], str | None, dict[str, Any]]:
        raise NotImplementedError

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
        if default is not None and _dim(w_max) is not _dim(default):
            raise ValueError(
                f"w_max: must be in the network's weight unit ({unit_string(_dim(default))}), "
                f"got {_fmt(w_max)}"
            )
        return w_max

    def code(self, w_max: Any, delivery: str = "") -> RuleCode:
        """The Brian2 code for weights bounded by ``w_max`` (its unit is the weights' unit).

        ``delivery`` is the statement that transmits a spike (e.g. ``"ge_post += w"``);
        it runs first in ``on_pre``, as in Brian2's STDP example.
        """
        w_max = check_weight("w_max", w_max)
        unit = unit_string(_dim(w_max))
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
        b2 = _brian()
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
        Decay times of the pre- and postsynaptic traces (Brian2 times > 0).
    """

    mu_plus: float = 1.0
    mu_minus: float = 1.0
    alpha: float = 1.05
    lmbda: float = 0.01
    w_max: Any = None
    tau_plus: Any = None
    tau_minus: Any = None

    def __post_init__(self) -> None:
        b2 = _brian()
        object.__setattr__(self, "name", self._rule_name())
        for k in ("mu_plus", "mu_minus"):
            object.__setattr__(self, k, check_number(k, getattr(self, k), ge=0.0, le=1.0))
        object.__setattr__(self, "alpha", check_number("alpha", self.alpha, gt=0.0))
        object.__setattr__(self, "lmbda", check_number("lmbda", self.lmbda, gt=0.0, le=1.0))
        if self.w_max is not None:
            object.__setattr__(self, "w_max", check_weight("w_max", self.w_max))
        for k in ("tau_plus", "tau_minus"):
            val = getattr(self, k)
            object.__setattr__(self, k, check_time(k, 20 * b2.ms if val is None else val))

    def _rule_name(self) -> str:
        return "gutig"

    def _traces(self) -> list[str]:
        return ["dKpre/dt = -Kpre / tau_plus : 1 (event-driven)",
                "dKpost/dt = -Kpost / tau_minus : 1 (event-driven)"]

    def _body(self):
        dep = {0.0: "w_max", 1.0: "w"}.get(self.mu_minus, "w_max * (w / w_max)**mu_minus")
        pot = {0.0: "w_max", 1.0: "(w_max - w)"}.get(self.mu_plus, "w_max * (1 - w / w_max)**mu_plus")
        pre = ["Kpre += 1", f"w = clip(w - alpha * lmbda * {dep} * Kpost, 0 * w_max, w_max)"]
        post = ["Kpost += 1", f"w = clip(w + lmbda * {pot} * Kpre, 0 * w_max, w_max)"]
        ns = dict(mu_plus=self.mu_plus, mu_minus=self.mu_minus, alpha=self.alpha, lmbda=self.lmbda,
                  tau_plus=self.tau_plus, tau_minus=self.tau_minus)
        return self._traces(), pre, post, None, ns


@dataclass(frozen=True)
class AdditiveSTDP(WeightDependentSTDP):
    """Additive STDP with hard bounds (Song, Miller & Abbott 2000, Nat. Neurosci. 3:919).

    The Gütig family with ``mu_plus = mu_minus = 0``: potentiation ``lmbda * w_max``
    (Brian2's example: ``dApre = 0.01 * gmax``), depression ``alpha`` times that
    (``1.05``), both times the trace of the other side, clipped to ``0..w_max``.
    """

    mu_plus: float = 0.0
    mu_minus: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.mu_plus != 0.0 or self.mu_minus != 0.0:
            raise ValueError("mu_plus, mu_minus: must be 0 for the additive rule (use 'gutig')")

    def _rule_name(self) -> str:
        return "additive"


@dataclass(frozen=True)
class LogGridMadamSTDP(WeightDependentSTDP):
    """Madam on a log grid driven by an additive-STDP eligibility (DESIGN.md's mapping).

    Parameters
    ----------
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
        Time between updates (a Brian2 time, e.g. ``100*ms``): a run of duration ``T``
        makes ``T / interval`` updates; crossing the 26-level grid takes ~400 at ``|gn| = 1``.
    beta, g_bound:
        Second-moment decay in [0, 1) and clip of the normalised signal (> 0).
    alpha, lmbda, tau_plus, tau_minus:
        Those of the additive STDP whose weight change is the eligibility.
    """

    mu_plus: float = 0.0
    mu_minus: float = 0.0
    lr: float = 0.01
    levels: int = 26
    ratio: float = 60.0
    rounding: str = "stochastic"
    interval: Any = None
    beta: float = 0.999
    g_bound: float = 10.0

    def __post_init__(self) -> None:
        super().__post_init__()
        b2 = _brian()
        if self.mu_plus != 0.0 or self.mu_minus != 0.0:
            raise ValueError("mu_plus, mu_minus: must be 0 (the eligibility is additive STDP's change)")
        if isinstance(self.levels, bool) or not isinstance(self.levels, (int, np.integer)) \
                or self.levels < 2:
            raise ValueError(f"levels: must be an integer >= 2, got {self.levels!r}")
        object.__setattr__(self, "levels", int(self.levels))
        object.__setattr__(self, "ratio", check_number("ratio", self.ratio, gt=1.0))
        object.__setattr__(self, "lr", check_number("lr", self.lr, gt=0.0))
        object.__setattr__(self, "beta", check_number("beta", self.beta, ge=0.0, lt=1.0))
        object.__setattr__(self, "g_bound", check_number("g_bound", self.g_bound, gt=0.0))
        if self.rounding not in ROUNDINGS:
            raise ValueError(f"rounding: must be one of {ROUNDINGS}, got {self.rounding!r}")
        interval = 100 * b2.ms if self.interval is None else self.interval
        object.__setattr__(self, "interval", check_time("interval", interval))

    def _rule_name(self) -> str:
        return "madam_loggrid"

    @property
    def gridded(self) -> bool:
        return True

    @property
    def step(self) -> float:
        """Natural-log step of one level, ``ln(ratio) / (levels - 1)``."""
        return math.log(self.ratio) / (self.levels - 1)

    def grid(self, w_max: Any) -> LogGrid:
        return LogGrid(self.levels, self.ratio, float(np.asarray(w_max)))

    def _body(self):
        pre = ["Kpre += 1", "elig -= alpha * lmbda * Kpost"]
        post = ["Kpost += 1", "elig += lmbda * Kpre"]
        u = "rand()" if self.rounding == "stochastic" else "0.5"
        regular = "\n".join([
            "n_updates += 1",
            "elig = finite_or_zero(elig)",
            "v_elig = clip(beta * v_elig + (1 - beta) * elig**2, 0, v_max)",
            "gn = clip(finite_or_zero(elig / sqrt(v_elig / (1 - beta**n_updates) + int(v_elig == 0))),"
            " -g_bound, g_bound)",
            f"level = int(clip(floor(level + lr_per_step * gn + {u}), 0, grid_levels - 1))",
            "w = w_max * exp((level - (grid_levels - 1)) * grid_step)",
            "elig = 0",
        ])
        model = ["level : integer", "elig : 1", "v_elig : 1", "n_updates : 1"] + self._traces()
        ns = dict(alpha=self.alpha, lmbda=self.lmbda, tau_plus=self.tau_plus,
                  tau_minus=self.tau_minus, beta=self.beta, g_bound=self.g_bound,
                  lr_per_step=self.lr / self.step, grid_levels=self.levels, grid_step=self.step,
                  grid_ratio=self.ratio, v_max=float(np.finfo(np.float64).max),
                  finite_or_zero=finite_or_zero())
        return model, pre, post, regular, ns

    def initialise(self, S: Any, w0: str | Any) -> None:
        """Encode the initial sizes to the nearest level (``floor(x + 0.5)``) and decode."""
        if isinstance(w0, str):
            S.w = w0
            S.level = ("int(clip(floor((grid_levels - 1) + log(w / w_max) / grid_step + 0.5),"
                       " 0, grid_levels - 1))")
        else:
            vals = np.asarray(w0 / S.namespace["w_max"], dtype=np.float64)
            S.level = LogGrid(self.levels, self.ratio, 1.0).encode(np.maximum(vals, 0.0))
        S.w = "w_max * exp((level - (grid_levels - 1)) * grid_step)"


@dataclass(frozen=True)
class VogelsISTDP(SpikingRule):
    """Inhibitory STDP of Vogels et al. (2011), Science 334:1569 (for sign -1 synapses).

    Parameters
    ----------
    eta:
        Weight change per coincident pair, in the weights' unit (> 0).
    rho0:
        Target postsynaptic rate (a Brian2 rate, e.g. ``5*Hz``).
    tau:
        Decay time of both traces (a Brian2 time; 20 ms in the paper).
    w_max:
        Upper bound in the weights' unit (``None``: the network's default).
    """

    eta: Any = None
    rho0: Any = None
    tau: Any = None
    w_max: Any = None

    def __post_init__(self) -> None:
        b2 = _brian()
        object.__setattr__(self, "name", "vogels")
        object.__setattr__(self, "sign", -1)
        if self.eta is None:
            raise ValueError("eta: required, a weight change per pair in the weights' unit (e.g. 0.05*nS)")
        object.__setattr__(self, "eta", check_weight("eta", self.eta))
        rho0 = 5 * b2.Hz if self.rho0 is None else self.rho0
        object.__setattr__(self, "rho0", check_quantity("rho0", rho0, b2.Hz, example=" (e.g. 5*Hz)"))
        object.__setattr__(self, "tau", check_time("tau", 20 * b2.ms if self.tau is None else self.tau))
        if self.w_max is not None:
            object.__setattr__(self, "w_max", check_weight("w_max", self.w_max))
            if _dim(self.w_max) is not _dim(self.eta):
                raise ValueError(f"eta: must be in w_max's unit ({unit_string(_dim(self.w_max))}), "
                                 f"got {_fmt(self.eta)}")

    def code(self, w_max: Any, delivery: str = "") -> RuleCode:
        w_max = check_weight("w_max", w_max)
        if _dim(w_max) is not _dim(self.eta):
            raise ValueError(f"eta: must be in the weights' unit ({unit_string(_dim(w_max))}), "
                             f"got {_fmt(self.eta)}")
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


def make_rule(name: str, **params: Any) -> SpikingRule:
    """Build a rule by name: ``"additive"``, ``"gutig"``, ``"madam_loggrid"`` or ``"vogels"``.

    NEST spellings ``lambda`` / ``Wmax`` (and ``lam``) are accepted for ``lmbda`` /
    ``w_max``. Unknown parameters raise ``ValueError`` naming them and listing the
    allowed ones. See the rule classes for units (times must be Brian2 quantities).
    """
    if name not in RULES:
        raise ValueError(f"rule: must be one of {', '.join(map(repr, RULES))}, got {name!r}")
    cls = RULES[name]
    params = {_ALIASES.get(k, k): v for k, v in params.items()}
    allowed = [f for f in cls.__dataclass_fields__ if cls.__dataclass_fields__[f].init]
    if name in ("additive", "madam_loggrid"):
        allowed = [f for f in allowed if f not in ("mu_plus", "mu_minus")]
    for k in params:
        if k not in allowed:
            raise ValueError(f"{k}: not a parameter of rule {name!r}; allowed: {', '.join(allowed)}")
    return cls(**params)
