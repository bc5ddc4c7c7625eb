"""DaleMLP: a feedforward rate network under Dale's principle, and its matched ANN.

Status: first deliverable of ``neurosim.models`` (feedforward + recurrent rate
networks and the ``build`` factory come first; the spiking network follows).

Architecture (``dale=True``)
----------------------------
Every hidden layer has ``h`` units, ``round(h * (1 - inhibitory_fraction))``
excitatory (E, listed first) and the rest inhibitory (I); every synapse is the
fixed sign of its *presynaptic* unit times a learnable size ``>= 0``
(:class:`neurosim.dale.DaleLinear`). Inputs are excitatory by default
(``input_sign="excitatory"``: pixels and firing rates are non-negative drives);
``input_sign="ei"`` splits them E/I with the same fraction.

Feedforward inhibition is carried by the inhibitory units: the I units of hidden
layer ``l`` receive the same excitatory drive as its E units and inhibit layer
``l + 1`` (and the readout), the disynaptic E -> I -> E motif that DANNs build in
(Cornford et al. 2021, ICLR, "Learning to live with Dale's principle: ANNs with
separate excitatory and inhibitory units"). This is their "column-constrained"
layout, one sign per presynaptic column; inhibitory columns start ``n_E / n_I``
times larger so that E and I inputs balance on average (Song, Yang & Wang 2016).
The first layer's inputs are all excitatory, so its centring is done by the bias
(an additive, non-synapse parameter: see :func:`neurosim.rules.param_groups`).

Matched ANN (``dale=False``)
----------------------------
The same layers, units and number of weights as ordinary signed FP32
``nn.Linear`` weights, ``N(0, 1/n_in)``: the same rms as the Dale sizes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from neurosim import validate as V
from neurosim.models import _common as C

__all__ = ["DaleMLP"]


class DaleMLP(nn.Module):
    """Multilayer perceptron ``n_in -> hidden[0] -> ... -> n_out`` with ReLU units.

    Parameters
    ----------
    n_in, n_out:
        Number of inputs and of outputs (logits), each >= 1.
    hidden:
        Sizes of the hidden layers (an int is one layer); each >= 1. A hidden size
        counts all units of the layer, E and I together.
    dale:
        ``True``: sign-constrained Dale layers (size parameters, sign buffers).
        ``False``: the matched ANN baseline (signed ``nn.Linear`` weights).
    inhibitory_fraction:
        Fraction of inhibitory units in each hidden layer, in ``[0, 1)`` (0.2:
        the cortical 80:20 ratio). Ignored when ``dale=False``.
    input_sign:
        ``"excitatory"`` (default): all inputs excite; ``"ei"``: the inputs are
        split E/I by ``inhibitory_fraction`` (E first).
    generator:
        CPU ``torch.Generator`` for the initial weights (``None``: torch's global one).
    device:
        Where the model lives (``"cpu"``, ``"cuda"``, ...; default CPU).

    Attributes
    ----------
    layers:
        ``nn.ModuleList`` of the ``len(hidden) + 1`` linear layers.
    unit_signs:
        Per layer of units (inputs, each hidden layer) the sign tensor, for analysis.

    Examples
    --------
    >>> net = DaleMLP(64, [128], 10, generator=torch.Generator().manual_seed(0))
    >>> net(torch.rand(5, 64)).shape
    torch.Size([5, 10])
    """

    PARAMS = {"hidden": C.HIDDEN, "dale": C.DALE, "inhibitory_fraction": C.INHIBITORY_FRACTION,
              "input_sign": C.INPUT_SIGN}

    def __init__(self, n_in: int, hidden: Sequence[int], n_out: int, *, dale: bool = True,
                 inhibitory_fraction: float = 0.2, input_sign: str = "excitatory",
                 generator: torch.Generator | None = None, device: Any = None) -> None:
        super().__init__()
        n_in = V.integer("n_in", n_in, ge=1)
        n_out = V.integer("n_out", n_out, ge=1)
        v = C.checked(self.PARAMS, hidden=(hidden,) if isinstance(hidden, int) else hidden, dale=dale,
                      inhibitory_fraction=inhibitory_fraction, input_sign=input_sign)
        hidden_t, frac = tuple(v["hidden"]), v["inhibitory_fraction"]
        generator = C.check_generator(generator)
        dev = C.resolve_device(device)
        self.n_in, self.hidden, self.n_out = n_in, hidden_t, n_out
        self.dale, self.inhibitory_fraction, self.input_sign = dale, frac, input_sign

        signs = [C.input_signs(n_in, input_sign, frac) if dale else torch.ones(n_in)]
        for i, h in enumerate(hidden_t):
            signs.append(C.unit_signs(h, frac, f"hidden[{i}]") if dale else torch.ones(h))
        sizes = [*hidden_t, n_out]
        self.layers = nn.ModuleList(
            C.matched_linear(signs[i], sizes[i], dale=dale, generator=generator) for i in range(len(sizes))
        )
        self.unit_signs = signs
        self.to(dev)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, n_out)`` of inputs ``x`` ``(B, n_in)``."""
        if x.dim() != 2 or x.shape[1] != self.n_in:
            raise ValueError(f"x: must have shape (batch, {self.n_in}), got {tuple(x.shape)}")
        h = x
        for layer in self.layers[:-1]:
            h = torch.relu(layer(h))
        return self.layers[-1](h)

    @property
    def n_units(self) -> int:
        """Number of hidden units (E and I together)."""
        return sum(self.hidden)

    @property
    def n_synapses(self) -> int:
        """Number of weights (synapses), biases excluded."""
        return C.count_synapses(self)

    def extra_repr(self) -> str:
        return (f"dale={self.dale}, inhibitory_fraction={self.inhibitory_fraction}, "
                f"input_sign={self.input_sign!r}")
