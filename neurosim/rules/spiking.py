"""Spiking plasticity rules for Brian2: the base class and the pair-based STDP rules.

See :mod:`neurosim.rules.stdp` for the rules by name and what each does; this module holds
:class:`SpikingRule` (validation, code generation, ``Synapses`` construction), the
weight-dependent family of Gütig et al. (2003) with additive STDP as its ``mu = 0``
member, and the inhibitory rule of Vogels et al. (2011).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

from neurosim.lns import LogGrid
from neurosim.rules.quantities import (
    brian,
    check_number,
    check_quantity,
    check_time,
    check_weight,
    dim,
    show,
    unit_string,
)

__all__ = ["NULLS", "RANDOM_SIGN", "AdditiveSTDP", "RuleCode", "SpikingRule", "VogelsISTDP", "WeightDependentSTDP",
           "null_check", "unit"]

#: The null controls a timing rule can run as (see :mod:`neurosim.rules.spiking_interval`).
NULLS = ("none", "sign", "independent")
#: A random sign, +1 or -1 with equal probability, as a Brian2 expression.
RANDOM_SIGN = "(2 * int(rand() < 0.5) - 1)"


def null_check(key: str, value: Any) -> str:
    """One of :data:`NULLS`."""
    if value not in NULLS:
        raise ValueError(f"{key}: must be one of {', '.join(NULLS)}, got {value!r}")
    return value


@dataclass(frozen=True)
class RuleCode:
    """The Brian2 pieces of a rule for one projection.

    ``model``, ``on_pre``, ``on_post`` go to ``Synapses(...)`` (``on_pre`` starts
    with the network's delivery statement); ``regular`` and ``regular_dt`` to
    ``S.run_regularly`` (``None`` if the rule has no periodic update);
    ``per_step`` is run every time step (``run_regularly`` at the clock's ``dt``; the
    ghost train of the ``"independent"`` null control), ``None`` if not needed;
    ``namespace`` holds the constants, with units.
    """

    model: str
    on_pre: str
    on_post: str
    regular: str | None
    regular_dt: Any
    namespace: dict[str, Any]
    per_step: str | None = None


def unit(name: str) -> Any:
    """The Brian2 unit ``"second"`` or ``"hertz"``."""
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
    def _body(self, gate: str | None = None) -> tuple[list[str], list[str], list[str], str | None, dict[str, Any]]:
        """``(model, on_pre, on_post, regular, namespace[, per_step])``; ``gate`` (a 0/1 variable of
        ``on_pre``) multiplies every presynaptic event's contribution to plasticity."""
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
        return self.UNIT_DEFAULTS[key] * unit("second" if key in self.TIMES else "hertz")

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
            allowed = "'vogels'" if sign == -1 else "an excitatory rule (additive, gutig, the interval rules)"
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

    def code(self, w_max: Any, delivery: str = "", release_probability: float = 1.0) -> RuleCode:
        """The Brian2 code for weights bounded by ``w_max`` (its unit is the weights' unit).

        ``delivery`` is the statement that transmits a spike (``"<target> += <expression>"``,
        e.g. ``"ge_post += w"``); it runs first in ``on_pre``, as in Brian2's STDP example.
        ``release_probability < 1``: each presynaptic spike releases with that probability
        (``released``, drawn per synapse and spike); a failure delivers nothing and, as for
        NMDA-receptor-dependent STDP, which needs the released glutamate, counts for no pairing.
        """
        w_max = check_weight("w_max", w_max)
        unit = unit_string(dim(w_max))
        p_rel = check_number("release_probability", release_probability, gt=0.0, le=1.0)
        gate = "released" if p_rel < 1.0 else None
        model, pre, post, regular, ns, *rest = self._body(gate)
        per_step = rest[0] if rest else None
        model = [f"w : {unit}"] + model
        if gate:
            delivery = f"{delivery} * released" if delivery else ""
            pre = ["released = int(rand() < p_release)"] + ([delivery] if delivery else []) + pre
            ns = {**ns, "p_release": p_rel}
        else:
            pre = ([delivery] if delivery else []) + pre
        ns = {**ns, "w_max": w_max}
        dt = getattr(self, "interval", None) if regular is not None else None
        return RuleCode(model="\n".join(model), on_pre="\n".join(pre), on_post="\n".join(post),
                        regular=regular, regular_dt=dt, namespace=ns, per_step=per_step)

    def synapses(self, source: Any, target: Any, *, delivery: str, w_max: Any = None, sign: int = 1,
                 name: str | None = None, namespace: dict[str, Any] | None = None,
                 extra_model: str = "", delay: Any = None, input_rate: Any = None,
                 release_probability: float = 1.0) -> Any:
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
        input_rate:
            The presynaptic rate (a Brian2 rate): the ghost train's rate of the
            ``"independent"`` null control when the rule's ``null_rate`` is ``None``.
        release_probability:
            Probability that a presynaptic spike releases (see :meth:`code`).

        After ``S.connect(...)`` call :meth:`initialise`; the periodic update of
        interval rules is added here (``run_regularly``, named ``<name>_update``), and the
        ghost train of the ``"independent"`` null (``<name>_ghost``, every time step).
        """
        b2 = brian()
        self.check_sign(sign, where=f"synapses {name or ''}".strip())
        wm = self.resolve_w_max(w_max)
        rc = self.code(wm, delivery, release_probability)
        model = rc.model + ("\n" + extra_model if extra_model else "")
        ns = {**(namespace or {}), **rc.namespace}
        if rc.per_step is not None:
            rate = getattr(self, "null_rate", None)
            rate = input_rate if rate is None else rate
            if rate is None:
                raise ValueError("null_rate: required for the 'independent' null control in this network "
                                 "(the ghost train's rate, e.g. 15*Hz)")
            ns["ghost_rate"] = check_quantity("null_rate", rate, b2.Hz, example=" (e.g. 15*Hz)")
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
        if rc.per_step is not None:
            S.run_regularly(rc.per_step, when="synapses", name=f"{S.name}_ghost")
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
    null: str = "none"
    null_rate: Any = None

    TIMES = ("tau_plus", "tau_minus")
    RATES = ("null_rate",)
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
        null_check("null", self.null)
        if self.null_rate is not None:
            object.__setattr__(self, "null_rate", check_quantity("null_rate", self.null_rate, brian().Hz,
                                                                 example=" (e.g. 15*Hz)"))

    def _rule_name(self) -> str:
        return "gutig"

    def _trace_namespace(self) -> dict[str, Any]:
        return dict(alpha=self.alpha, lmbda=self.lmbda, tau_plus=self.tau_plus, tau_minus=self.tau_minus)

    def _pairing(self, depress: Any, potentiate: Any, gate: str | None = None
                 ) -> tuple[list[str], list[str], list[str], str | None, dict[str, Any]]:
        """STDP pairing as ``(model, on_pre, on_post, per_step, namespace)``.

        ``depress(k)`` / ``potentiate(k)`` are the statements for one pairing given the
        other side's trace ``k``. With :attr:`null` ``"independent"`` the presynaptic side
        is a ghost Poisson train at ``ghost_rate``, drawn every time step in the synapse
        (clock-driven traces); the real presynaptic spikes only deliver. ``gate`` (``released``)
        multiplies the presynaptic side: a failed release leaves no trace and no depression.
        """
        ns = self._trace_namespace()
        if self.null == "independent":
            model = ["dKghost/dt = -Kghost / tau_plus : 1 (clock-driven)",
                     "dKpost/dt = -Kpost / tau_minus : 1 (clock-driven)"]
            per_step = "\n".join(["ghost_spike = int(rand() < ghost_rate * dt)", "Kghost += ghost_spike",
                                  f"{depress('ghost_spike * Kpost')}"])
            return model, [], ["Kpost += 1", potentiate("Kghost")], per_step, ns
        model = ["dKpre/dt = -Kpre / tau_plus : 1 (event-driven)",
                 "dKpost/dt = -Kpost / tau_minus : 1 (event-driven)"]
        pre = [f"Kpre += {gate}", depress(f"{gate} * Kpost")] if gate else ["Kpre += 1", depress("Kpost")]
        return model, pre, ["Kpost += 1", potentiate("Kpre")], None, ns

    def _body(self, gate: str | None = None):
        dep = {0.0: "w_max", 1.0: "w"}.get(self.mu_minus, "w_max * (w / w_max)**mu_minus")
        pot = {0.0: "w_max", 1.0: "(w_max - w)"}.get(self.mu_plus, "w_max * (1 - w / w_max)**mu_plus")
        s = f"{RANDOM_SIGN} * " if self.null == "sign" else ""
        model, pre, post, per_step, ns = self._pairing(
            lambda k: f"w = clip(w - {s}alpha * lmbda * {dep} * {k}, 0 * w_max, w_max)",
            lambda k: f"w = clip(w + {s}lmbda * {pot} * {k}, 0 * w_max, w_max)", gate)
        ns = dict(ns, mu_plus=self.mu_plus, mu_minus=self.mu_minus)
        return model, pre, post, None, ns, per_step


@dataclass(frozen=True)
class AdditiveSTDP(WeightDependentSTDP):
    """Additive STDP with hard bounds (Song, Miller & Abbott 2000, Nat. Neurosci. 3:919).

    The Gütig family with ``mu_plus = mu_minus = 0``: potentiation ``lmbda * w_max``
    (Brian2's example: ``dApre = 0.01 * gmax``), depression ``alpha`` times that
    (``1.05``), both times the trace of the other side, clipped to ``0..w_max``.
    :meth:`signal` gives the same changes as statements on another variable, the
    eligibility of the interval rules (:mod:`neurosim.rules.spiking_interval`).
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

    def signal(self, target: str, gate: str | None = None
               ) -> tuple[list[str], list[str], list[str], str | None, dict[str, Any]]:
        """``(model, on_pre, on_post, per_step, namespace)`` adding to ``target`` what this rule adds
        to ``w``, in units of ``w_max`` and without bounds (the traces included; the ``"independent"``
        null's ghost train in ``per_step``; the ``"sign"`` null is the caller's, per update)."""
        return self._pairing(lambda k: f"{target} -= alpha * lmbda * {k}",
                             lambda k: f"{target} += lmbda * {k}", gate)


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

    def code(self, w_max: Any, delivery: str = "", release_probability: float = 1.0) -> RuleCode:
        w_max = check_weight("w_max", w_max)
        if dim(w_max) is not dim(self.eta):
            raise ValueError(f"eta: must be in the weights' unit ({unit_string(dim(w_max))}), "
                             f"got {show(self.eta)}")
        return super().code(w_max, delivery, release_probability)

    def _body(self, gate: str | None = None):
        model = ["dKpre/dt = -Kpre / tau_istdp : 1 (event-driven)",
                 "dKpost/dt = -Kpost / tau_istdp : 1 (event-driven)"]
        pre = ["Kpre += 1", "w = clip(w + eta_istdp * (Kpost - alpha_istdp), 0 * w_max, w_max)"]
        post = ["Kpost += 1", "w = clip(w + eta_istdp * Kpre, 0 * w_max, w_max)"]
        ns = dict(tau_istdp=self.tau, eta_istdp=self.eta,
                  alpha_istdp=float(2 * self.rho0 * self.tau))
        return model, pre, post, None, ns
