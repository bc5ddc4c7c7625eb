"""Dale's principle in torch: E/I assignment, sign masks and sign-constrained layers.

Each presynaptic unit is excitatory (+1) or inhibitory (-1); a layer's weight is
``sign(pre) * size`` with the *size* the learnable parameter (>= 0) and the sign a
buffer, so no learning rule can flip a sign (Song, Yang, Wang 2016, PLoS Comput
Biol 12:e1004792, ``W = |W+| D``; Cornford et al. 2021, ICLR).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from neurosim import validate as V

__all__ = ["DaleLinear", "ei_signs"]


def ei_signs(n: int, inhibitory_fraction: float = 0.2, *, excitatory_first: bool = True,
             generator: torch.Generator | None = None) -> torch.Tensor:
    """Signs of ``n`` units: ``round(n * (1 - inhibitory_fraction))`` of them +1, the rest -1.

    With ``excitatory_first`` the excitatory units come first (a block layout, as
    in Song et al. 2016); otherwise the assignment is a random permutation drawn
    from ``generator``. Returns a float tensor of shape ``(n,)``.
    """
    n = V.integer("n", n, ge=1)
    inhibitory_fraction = V.real("inhibitory_fraction", inhibitory_fraction, ge=0.0, le=1.0)
    n_exc = int(round(n * (1.0 - inhibitory_fraction)))
    signs = torch.cat([torch.ones(n_exc), -torch.ones(n - n_exc)])
    if not excitatory_first:
        signs = signs[torch.randperm(n, generator=generator)]
    return signs


class DaleLinear(nn.Module):
    """``y = x @ (sign * size).T + bias`` with one fixed sign per presynaptic unit.

    Parameters
    ----------
    pre_sign:
        Sign (+1 / -1) of each of the ``in_features`` presynaptic units.
    out_features:
        Number of postsynaptic units.
    bias:
        Learn an additive bias (a non-synapse parameter: train it with an
        additive rule, see :func:`neurosim.rules.param_groups`).
    gain:
        Scale of the initial weights (the std of each unit's summed input for
        unit-variance inputs, before balancing).
    generator:
        ``torch.Generator`` for the initial sizes.

    Notes
    -----
    Initial sizes are half-normal with std ``gain / sqrt(in_features)``; the
    sizes of inhibitory columns are multiplied by ``n_E / n_I`` so that, for
    inputs of equal mean, excitation and inhibition balance on average (as in
    Song et al. 2016 and Cornford et al. 2021). A layer whose inputs are all
    excitatory (e.g. pixels) cannot balance; its bias does the centring.
    """

    def __init__(self, pre_sign: torch.Tensor, out_features: int, bias: bool = True,
                 gain: float = 1.0, generator: torch.Generator | None = None) -> None:
        super().__init__()
        pre_sign = torch.as_tensor(pre_sign, dtype=torch.float32).flatten()
        if pre_sign.numel() == 0 or not bool(((pre_sign == 1) | (pre_sign == -1)).all()):
            raise ValueError("pre_sign: must be a non-empty vector of +1 / -1")
        out_features = V.integer("out_features", out_features, ge=1)
        gain = V.real("gain", gain, gt=0.0)
        in_features = pre_sign.numel()
        self.in_features, self.out_features = in_features, out_features
        self.register_buffer("sign", pre_sign.view(1, in_features))
        size = torch.randn(out_features, in_features, generator=generator).abs_()
        size.mul_(gain / math.sqrt(in_features))
        n_exc = int((pre_sign > 0).sum())
        n_inh = in_features - n_exc
        if n_exc and n_inh:
            size[:, pre_sign < 0] *= n_exc / n_inh
        self.size = nn.Parameter(size)
        if bias:
            self.bias = nn.Parameter(torch.zeros(out_features))
        else:
            self.register_parameter("bias", None)

    @property
    def weight(self) -> torch.Tensor:
        """The signed weight matrix ``(out, in)``."""
        return self.sign * self.size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        n_inh = int((self.sign < 0).sum())
        return (f"in_features={self.in_features} ({self.in_features - n_inh} E, {n_inh} I), "
                f"out_features={self.out_features}, bias={self.bias is not None}")
