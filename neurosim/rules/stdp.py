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
``madam_float``, ``additive_loggrid``, ``additive_float`` (:mod:`neurosim.rules.spiking_interval`)
    The other cells of the factorial {additive, Madam} x {float sizes, log grid}: the
    same eligibility applied every ``interval`` by Madam on float sizes (no rounding),
    or added to the size on the log grid (rounded between neighbouring sizes) or on
    float sizes (Song's bounds). ``madam_loggrid`` and ``additive_loggrid`` take
    ``consolidation_bits`` (sub-level steps kept per synapse, 0-3).
``vogels`` (:class:`VogelsISTDP`)
    The inhibitory rule of Vogels, Sprekeler, Zenke, Clopath & Gerstner (2011),
    Science 334:1569, for inhibitory synapses (sign -1): at a presynaptic spike
    ``w += eta * (Kpost - 2 * rho0 * tau)``, at a postsynaptic spike
    ``w += eta * Kpre``, bounds ``0 <= w <= w_max``; it drives the postsynaptic rate
    towards ``rho0``.

Null controls
-------------
Every excitatory rule takes ``null``: ``"none"`` (default), ``"sign"`` (each update's,
or each pairing's, change gets a random sign: the magnitude stays, the timing signal and
the mean go) or ``"independent"`` (the eligibility comes from a ghost Poisson train at
``null_rate``, the network's input rate by default, paired with the real postsynaptic
spikes: the depression bias stays, the causal correlation goes). See
:mod:`neurosim.rules.spiking_interval` for which question each answers.

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

from typing import Any

from neurosim.rules.quantities import unit_string
from neurosim.rules.spiking import NULLS, AdditiveSTDP, RuleCode, SpikingRule, VogelsISTDP, WeightDependentSTDP, unit
from neurosim.rules.spiking_interval import (
    AdditiveFloatSTDP,
    AdditiveLogGridSTDP,
    IntervalSTDP,
    LogGridMadamSTDP,
    MadamFloatSTDP,
)

__all__ = [
    "NULLS",
    "RULES",
    "AdditiveFloatSTDP",
    "AdditiveLogGridSTDP",
    "AdditiveSTDP",
    "IntervalSTDP",
    "LogGridMadamSTDP",
    "MadamFloatSTDP",
    "RuleCode",
    "SpikingRule",
    "VogelsISTDP",
    "WeightDependentSTDP",
    "make_rule",
    "rule_defaults",
    "unit_string",
    "with_units",
]


RULES: dict[str, type[SpikingRule]] = {
    "additive": AdditiveSTDP,
    "gutig": WeightDependentSTDP,
    "additive_float": AdditiveFloatSTDP,
    "additive_loggrid": AdditiveLogGridSTDP,
    "madam_float": MadamFloatSTDP,
    "madam_loggrid": LogGridMadamSTDP,
    "vogels": VogelsISTDP,
}

_ALIASES = {"lambda": "lmbda", "lam": "lmbda", "Wmax": "w_max", "wmax": "w_max"}


def _rule_class(name: str) -> type[SpikingRule]:
    if name not in RULES:
        raise ValueError(f"rule: must be one of {', '.join(RULES)}, got {name!r}")
    return RULES[name]


def make_rule(name: str, **params: Any) -> SpikingRule:
    """Build a rule by name (a key of :data:`RULES`).

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
            v = v * unit("second")
        elif v is not None and k in cls.RATES:
            v = v * unit("hertz")
        out[k] = v
    return out
