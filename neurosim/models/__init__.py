"""Torch networks: Dale rate networks, surrogate-gradient spiking networks, matched ANNs.

Status: ``DaleMLP``, ``DaleRNN``, ``svd_entropy`` and :func:`build` are the first
deliverable (the runner builds models from TOML configs with them);
``SpikingMLP`` and the recurrent ``SpikingRNN`` follow. Every model:

* has ``dale=True`` (sign-constrained :class:`neurosim.dale.DaleLinear` layers:
  ``size`` parameter >= 0, ``sign`` buffer per presynaptic unit) or
  ``dale=False`` (the matched ANN: same units, same number of signed FP32
  weights, initialised at the same scale);
* works with :func:`neurosim.rules.param_groups` (sizes / weight matrices in one
  group, biases additive) and :func:`neurosim.snapshot.from_module`;
* takes ``generator=`` (a CPU ``torch.Generator``: same seed, same weights) and
  ``device=`` (``"cpu"`` default, ``"cuda"`` where available).

References: Song, Yang & Wang 2016 (PLoS Comput Biol 12:e1004792); Cornford et
al. 2021 (ICLR); Yin et al. 2019 (ICLR); Zenke & Vogels 2021 (Neural Comput).
"""

from __future__ import annotations

import inspect
from typing import Any

from torch import nn

from neurosim import validate as V
from neurosim.models._common import OwnNoise
from neurosim.models.encoding import ENCODINGS, encode
from neurosim.models.mlp import DaleMLP
from neurosim.models.rnn import DaleRNN, spectral_radius, svd_entropy
from neurosim.models.snn import SURROGATES, SpikingMLP, spike, surrogate_derivative
from neurosim.models.srnn import SpikingRNN, on_off_spikes

__all__ = [
    "ENCODINGS",
    "KINDS",
    "SURROGATES",
    "DaleMLP",
    "DaleRNN",
    "OwnNoise",
    "SpikingMLP",
    "SpikingRNN",
    "build",
    "encode",
    "on_off_spikes",
    "spectral_radius",
    "spike",
    "surrogate_derivative",
    "svd_entropy",
]

#: Model kind -> class, for :func:`build`.
KINDS: dict[str, type[nn.Module]] = {"mlp": DaleMLP, "rnn": DaleRNN, "snn": SpikingMLP, "srnn": SpikingRNN}

#: Defaults :func:`build` supplies for the hidden sizes, which the feedforward classes require
#: positionally; every other default is in the class's signature (see :func:`defaults`).
BUILD_DEFAULTS: dict[str, dict[str, Any]] = {
    "mlp": {"hidden": [128]},
    "snn": {"hidden": [128]},
}


def defaults(kind: str) -> dict[str, Any]:
    """Every keyword default :func:`build` uses for ``kind`` (the one source the config schema reads)."""
    cls = KINDS[kind]
    sig = {k: v for k, v in V.signature_defaults(cls).items() if k in cls.PARAMS}
    return {**sig, **BUILD_DEFAULTS.get(kind, {})}


def build(kind: str, n_in: int, n_out: int, **kwargs: Any) -> nn.Module:
    """Build a model by kind: ``"mlp"`` (:class:`DaleMLP`), ``"rnn"`` (:class:`DaleRNN`),
    ``"snn"`` (:class:`SpikingMLP`), ``"srnn"`` (:class:`SpikingRNN`).

    ``kwargs`` are the class's keyword arguments (``hidden`` for mlp/snn, default
    ``[128]``; ``n_rec`` for rnn, default 100; ``dale``, ``inhibitory_fraction``,
    ...). A list given for ``hidden`` (as TOML gives) is accepted.

    Raises
    ------
    ValueError
        For an unknown kind, an unknown keyword (naming it and the allowed ones) or
        a bad value (naming the parameter and what is allowed).
    """
    V.choice("kind", kind, KINDS)
    cls = KINDS[kind]
    allowed = [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "n_in", "n_out")]
    for key in kwargs:
        if key not in allowed:
            raise ValueError(f"unknown parameter {key!r} for kind {kind!r}; allowed: {', '.join(allowed)}")
    args = {**BUILD_DEFAULTS.get(kind, {}), **kwargs}
    return cls(n_in=n_in, n_out=n_out, **args)
