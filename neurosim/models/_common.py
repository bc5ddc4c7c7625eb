"""Shared pieces of the torch networks: argument checks and matched Dale / ANN layers.

A *Dale* layer is :class:`neurosim.dale.DaleLinear` (parameter ``size >= 0``, buffer
``sign`` per presynaptic unit, ``weight = sign * size``). Its *matched ANN* layer
is an ordinary ``torch.nn.Linear`` with the same shape, whose signed FP32 weights
are drawn at the same scale: ``N(0, (gain / sqrt(n_in))**2)``, the same rms as the
Dale layer's excitatory columns (half-normal sizes of std ``gain / sqrt(n_in)``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from neurosim.dale import DaleLinear, ei_signs
from neurosim.rules._common import check_real as check_real  # one validator for rules and models

INPUT_SIGNS: tuple[str, ...] = ("excitatory", "ei")


# ------------------------------------------------------------------ checks
def check_int(name: str, value: Any, *, ge: int = 1) -> int:
    """``value`` as an int ``>= ge``, else a one-line ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < ge:
        raise ValueError(f"{name}: must be an integer >= {ge}, got {value!r}")
    return int(value)


def check_fraction(value: Any) -> float:
    """The inhibitory fraction, in ``[0, 1)``."""
    ok_type = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok_type or not (0.0 <= value < 1.0):
        raise ValueError(f"inhibitory_fraction: must be a number in [0, 1), got {value!r}")
    return float(value)


def check_choice(name: str, value: Any, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise ValueError(f"{name}: must be one of {', '.join(repr(a) for a in allowed)}, got {value!r}")
    return value


def check_hidden(hidden: Any) -> tuple[int, ...]:
    """Hidden layer sizes: an int or a non-empty sequence of ints, each >= 1."""
    if isinstance(hidden, int) and not isinstance(hidden, bool):
        hidden = (hidden,)
    if isinstance(hidden, (str, bytes)) or not isinstance(hidden, Sequence) or len(hidden) == 0:
        raise ValueError(f"hidden: must be a non-empty sequence of integers >= 1, got {hidden!r}")
    for h in hidden:
        if isinstance(h, bool) or not isinstance(h, int) or h < 1:
            raise ValueError(f"hidden: every size must be an integer >= 1, got {hidden!r}")
    return tuple(int(h) for h in hidden)


def check_generator(generator: Any) -> torch.Generator | None:
    if generator is not None and not isinstance(generator, torch.Generator):
        raise ValueError(f"generator: must be a torch.Generator or None, got {type(generator).__name__}")
    if generator is not None and generator.device.type != "cpu":
        raise ValueError("generator: must be a CPU torch.Generator (weights are drawn on the CPU, "
                         "then moved to `device`)")
    return generator


def resolve_device(device: Any) -> torch.device:
    """``torch.device(device)``; ``None`` means CPU. A one-line error for an unknown device."""
    if device is None:
        return torch.device("cpu")
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device: must be a torch device such as 'cpu' or 'cuda', got {device!r}") from exc


def unit_signs(n: int, inhibitory_fraction: float, what: str) -> torch.Tensor:
    """E/I signs of ``n`` units (excitatory first); at least one excitatory unit."""
    signs = ei_signs(n, inhibitory_fraction)
    if not bool((signs > 0).any()):
        raise ValueError(f"{what}: {n} unit(s) with inhibitory_fraction={inhibitory_fraction} leave no "
                         "excitatory unit; use more units or a smaller fraction")
    return signs


def input_signs(n_in: int, input_sign: str, inhibitory_fraction: float) -> torch.Tensor:
    """Signs of the network's inputs: all +1 (``"excitatory"``) or an E/I split (``"ei"``)."""
    check_choice("input_sign", input_sign, INPUT_SIGNS)
    if input_sign == "excitatory":
        return torch.ones(n_in)
    return unit_signs(n_in, inhibitory_fraction, "input_sign='ei'")


# ------------------------------------------------------------------ layers
def matched_linear(pre_sign: torch.Tensor, out_features: int, *, dale: bool, bias: bool = True,
                   gain: float = 1.0, generator: torch.Generator | None = None) -> nn.Module:
    """A Dale layer (``dale=True``) or its matched signed ``nn.Linear`` (``dale=False``).

    Both have ``out_features x len(pre_sign)`` weights and, with ``bias``, a zero bias.
    The ANN weights are ``N(0, (gain / sqrt(n_in))**2)``; the Dale sizes are
    half-normal of the same std, inhibitory columns scaled by ``n_E / n_I``
    (:class:`neurosim.dale.DaleLinear`).
    """
    if dale:
        return DaleLinear(pre_sign, out_features, bias=bias, gain=gain, generator=generator)
    n_in = int(pre_sign.numel())
    layer = nn.Linear(n_in, out_features, bias=bias)
    with torch.no_grad():
        layer.weight.copy_(torch.randn(out_features, n_in, generator=generator) * (gain / math.sqrt(n_in)))
        if bias:
            layer.bias.zero_()
    return layer


def count_synapses(model: nn.Module) -> int:
    """Number of synapses (entries of Dale sizes and of weight matrices) in ``model``."""
    total = 0
    for name, p in model.named_parameters():
        if name.rsplit(".", 1)[-1] == "size" or p.dim() >= 2:
            total += p.numel()
    return total
