"""Shared pieces of the torch networks: argument checks and matched Dale / ANN layers.

A *Dale* layer is :class:`neurosim.dale.DaleLinear` (parameter ``size >= 0``, buffer
``sign`` per presynaptic unit, ``weight = sign * size``). Its *matched ANN* layer
is an ordinary ``torch.nn.Linear`` with the same shape, whose signed FP32 weights
are drawn at the same scale: ``N(0, (gain / sqrt(n_in))**2)``, the same rms as the
Dale layer's excitatory columns (half-normal sizes of std ``gain / sqrt(n_in)``).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from neurosim import validate as V
from neurosim.dale import DaleLinear, ei_signs

INPUT_SIGNS: tuple[str, ...] = ("excitatory", "ei")


# ------------------------------------------------------------------ checks
def check_hidden(name: str, hidden: Any) -> list[int]:
    """Hidden layer sizes: a non-empty list or tuple of integers >= 1 (as a list)."""
    return V.int_list(name, hidden)


#: Keyword arguments shared by the models, with their checks (defaults live in the signatures).
DALE = V.Param(V.flag, "sign-constrained (Dale) layers; false = the matched ANN")
INHIBITORY_FRACTION = V.Param(V.bounded(ge=0.0, lt=1.0), "fraction of inhibitory units")
HIDDEN = V.Param(check_hidden, "hidden layer sizes")
INPUT_SIGN = V.Param(V.one_of(*INPUT_SIGNS), "inputs all excitatory, or split E/I")
FEEDFORWARD_INHIBITION = V.Param(V.flag, "every input also inhibits, through an inhibitory relay unit of its own")


def checked(params: dict[str, V.Param], **values: Any) -> dict[str, Any]:
    """The model's keyword arguments, each checked by its entry in ``params``."""
    return V.apply(params, values)


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
    V.choice("input_sign", input_sign, INPUT_SIGNS)
    if input_sign == "excitatory":
        return torch.ones(n_in)
    return unit_signs(n_in, inhibitory_fraction, "input_sign='ei'")


# ------------------------------------------------------------------ layers
def spectral_radius(W: torch.Tensor) -> float:
    """Largest eigenvalue modulus of a square matrix (computed in float64 on the CPU)."""
    W = torch.as_tensor(W).detach().to("cpu", torch.float64)
    if W.dim() != 2 or W.shape[0] != W.shape[1]:
        raise ValueError(f"W: must be a square matrix, got shape {tuple(W.shape)}")
    return float(torch.linalg.eigvals(W).abs().max())


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


#: Initial E/I balance of a recurrent layer's input (``balance`` of the recurrent models).
BALANCES: tuple[str, ...] = ("mean", "rows")


def _balance(size: torch.Tensor, unit_sign: torch.Tensor, balance: str, inhibitory_gain: float) -> None:
    """Set, in place, the inhibitory columns of recurrent sizes ``size`` (post x pre).

    ``balance="mean"`` keeps :class:`~neurosim.dale.DaleLinear`'s balance on
    average (inhibitory columns ``n_E / n_I`` times larger); ``"rows"`` rescales
    each row's inhibitory sizes so that its summed inhibition equals its summed
    excitation exactly (zero row sums: the balanced condition of Rajan & Abbott
    2006, PRL 97:188104, which removes the fluctuations of the row sums). Then
    every inhibitory size is multiplied by ``inhibitory_gain``.
    """
    inh = unit_sign < 0
    if not bool(inh.any()):
        return
    if balance == "rows":
        exc_sum = size[:, ~inh].sum(1, keepdim=True)
        inh_sum = size[:, inh].sum(1, keepdim=True).clamp_min(torch.finfo(size.dtype).tiny)
        size[:, inh] *= exc_sum / inh_sum
    size[:, inh] *= inhibitory_gain


def recurrent_ei_layers(n_channels: int, unit_sign: torch.Tensor, n_out: int, *, dale: bool,
                        feedforward_inhibition: bool, radius: float, input_gain: float = 1.0,
                        balance: str = "mean", inhibitory_gain: float = 1.0,
                        generator: torch.Generator | None = None) -> tuple[nn.Module, nn.Module, nn.Module]:
    """The input, recurrent and readout layers of a recurrent E/I network (rate or spiking).

    * input: ``n_channels`` excitatory channels (drawn at scale ``input_gain``); with
      ``feedforward_inhibition``, ``2 n_channels`` columns, the second half the
      inhibitory relays of the first (the caller feeds each channel to both);
    * recurrent: presynaptic signs ``unit_sign`` (all +1 for the matched ANN),
      balanced as ``balance`` says with ``inhibitory_gain`` (Dale only), then
      scaled to spectral radius ``radius``;
    * readout: from the excitatory units only (the first ``n_E``), with a bias.

    Drawn in that order from ``generator``. The input and recurrent layers get a
    ``post_sign`` attribute, the E/I identity of their target units, which
    :func:`neurosim.snapshot.from_module` records.
    """
    n_rec = int(unit_sign.numel())
    n_exc = int((unit_sign > 0).sum())
    in_sign = torch.ones(n_channels)
    if feedforward_inhibition:  # the relays: an inhibitory copy of every input channel
        in_sign = torch.cat([in_sign, -in_sign]) if dale else torch.ones(2 * n_channels)
    rec_sign = unit_sign if dale else torch.ones(n_rec)
    layer_in = matched_linear(in_sign, n_rec, dale=dale, bias=True, gain=input_gain, generator=generator)
    layer_rec = matched_linear(rec_sign, n_rec, dale=dale, bias=False, generator=generator)
    layer_out = matched_linear(torch.ones(n_exc), n_out, dale=dale, bias=True, generator=generator)
    for layer in (layer_in, layer_rec):
        layer.post_sign = unit_sign.clone()
    with torch.no_grad():
        if dale:
            _balance(layer_rec.size, unit_sign, balance, inhibitory_gain)
        param = layer_rec.size if dale else layer_rec.weight
        param.mul_(radius / spectral_radius(layer_rec.weight))
    return layer_in, layer_rec, layer_out


def count_synapses(model: nn.Module) -> int:
    """Number of synapses (entries of Dale sizes and of weight matrices) in ``model``."""
    total = 0
    for name, p in model.named_parameters():
        if name.rsplit(".", 1)[-1] == "size" or p.dim() >= 2:
            total += p.numel()
    return total


# ------------------------------------------------------------------ noise
class OwnNoise:
    """A model's own noise generator, seeded from its construction generator.

    The runner saves and restores every ``torch.Generator`` a model holds, so a
    resumed run draws the same noise (recurrent noise, Poisson input spikes) as
    an uninterrupted one. ``forward(..., generator=g)`` may use ``g`` instead.
    """

    _noise_seed: int
    _noise_gen: torch.Generator | None

    def _init_noise(self, generator: torch.Generator | None) -> None:
        self._noise_seed = int(torch.randint(0, 2**62, (1,), generator=generator))
        self._noise_gen = None

    def seed_noise(self, seed: int) -> None:
        """Reseed the model's noise generator (the next forward starts the sequence anew)."""
        self._noise_seed = V.integer("seed", seed, ge=0)
        self._noise_gen = None

    def noise_generator(self, device: torch.device | str = "cpu") -> torch.Generator:
        """The model's noise generator on ``device``, made (from the seed) on first use there.

        A runner that saves generator states calls this once before restoring
        them, so the generator exists to receive its saved state.
        """
        device = torch.device(device)
        if self._noise_gen is None or self._noise_gen.device != device:
            self._noise_gen = torch.Generator(device=device).manual_seed(self._noise_seed)
        return self._noise_gen
