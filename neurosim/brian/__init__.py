"""Brian2 networks with plasticity: the Song (2000) setup and a recurrent E/I network.

Public interface (used by the runner)::

    make_rule(name, **params) -> SpikingRule       # "additive", "gutig", "madam_loggrid", "vogels"
    run_song(rule, *, duration=100*second, n_inputs=1000, seed=0, snapshot_every=10*second,
             mode="runtime" | "standalone", build_dir=None, duplicate=False, progress=True)
    run_ei_network(rule, *, duration, n_e=800, n_i=200, seed=0, snapshot_every, mode,
                   build_dir, progress)
    SpikingResult(snapshots, metrics, raster, rates)
    to_brian(model, X) / predict(model, X)            # a trained SpikingMLP in Brian2

Parameter units for :func:`make_rule` (the runner attaches units to TOML numbers):
times (``tau_plus``, ``tau_minus``, ``interval``, ``tau``) must be Brian2 times;
``rho0`` a Brian2 rate; ``w_max`` / ``eta`` carry the weights' unit (a plain float is
accepted and means dimensionless weights, which is what the Song setup uses; the
E/I network's weights are conductances in siemens, so pass e.g. ``2*nS`` or leave
``w_max=None`` for the network's default); everything else (``mu_plus``,
``mu_minus``, ``alpha``, ``lmbda`` / ``lambda``, ``lr``, ``levels``, ``ratio``,
``rounding``, ``beta``, ``g_bound``) is a plain number or string.
Brian2 is imported lazily (importing this package does not import it).
"""

from __future__ import annotations

from typing import Any

from neurosim.brian.record import SpikingResult
from neurosim.rules.stdp import SpikingRule, make_rule

__all__ = ["SpikingResult", "SpikingRule", "make_rule", "predict", "run_ei_network", "run_song", "to_brian"]


def run_song(rule: SpikingRule, **kwargs: Any) -> SpikingResult:
    """The Song, Miller & Abbott (2000) setup; see :func:`neurosim.brian.song.run_song`."""
    from neurosim.brian.song import run_song as _run

    return _run(rule, **kwargs)


def run_ei_network(rule: SpikingRule, **kwargs: Any) -> SpikingResult:
    """The recurrent E/I network; see :func:`neurosim.brian.ei.run_ei_network`."""
    from neurosim.brian.ei import run_ei_network as _run

    return _run(rule, **kwargs)


def to_brian(*args: Any, **kwargs: Any) -> Any:
    """Build a Brian2 network from a trained SpikingMLP; see :func:`neurosim.brian.export.to_brian`."""
    from neurosim.brian.export import to_brian as _to

    return _to(*args, **kwargs)


def predict(*args: Any, **kwargs: Any) -> Any:
    """Classify with the Brian2 export of a SpikingMLP; see :func:`neurosim.brian.export.predict`."""
    from neurosim.brian.export import predict as _predict

    return _predict(*args, **kwargs)
