"""SpikingMLP: leaky integrate-and-fire layers trained with surrogate gradients.

Discrete-time dynamics (written to be reproduced step for step by Brian2, see
:mod:`neurosim.brian.export`). With ``beta = exp(-dt / tau_mem)``, threshold
``theta``, spikes ``s_l[t]`` of hidden layer ``l = 1..L``, ``s_0[t]`` the input
at step ``t`` (see *Input coding*) and ``m_l[-1] = 0``::

    u_l[t] = beta * m_l[t-1] + b_l                  leak + bias (Brian2: state update)
    s_l[t] = H(u_l[t] - theta)                      spike (Brian2: threshold ``v > theta``)
    m_l[t] = u_l[t] + W_l s_{l-1}[t] - theta s_l[t] synaptic input, reset by subtraction
                                                    (Brian2: ``on_pre: v_post += w``, then reset)

The readout is a non-spiking leaky integrator with the same ``beta`` (no
threshold, no reset): ``m_o[t] = beta m_o[t-1] + b_o + W_o s_L[t]``, and the
logits are its time average ``mean_t m_o[t]``. A spike of layer ``l-1`` at step
``t`` can make layer ``l`` spike at step ``t+1`` (one step of synaptic delay),
which is exactly Brian2's schedule (state update, thresholds, synapses, resets).

Input coding (``encoding``, :mod:`neurosim.models.encoding`):

* ``"current"`` (default): the input ``x`` (pixel intensities in ``[0, 1]``)
  injected as a constant current at every one of ``steps`` steps; no spikes and
  no sampling noise.
* ``"poisson"``: Bernoulli spikes with probability ``x * max_rate * dt`` per
  step (``x`` per step at the default 1000 Hz and 1 ms): the same expected
  drive as the current, with Poisson variability. Drawn from the model's own
  generator in training (saved with the run, so a resumed run draws the same
  spikes) or from ``forward(..., generator=g)``.
* ``"latency"``: one spike per input, earlier for larger ``x``.

``forward(x, input_spikes=s)`` runs given input trains ``s`` ``(steps, B,
n_in)``; :meth:`SpikingMLP.encode` draws them. Torch and Brian2 given the same
trains agree spike for spike up to floating-point rounding.

Backward: the Heaviside step gets a surrogate derivative centred on the
threshold, with peak 1 at ``u = theta`` (``d = u - theta``):

* ``"triangle"`` (default): ``max(0, 1 - |d|)``, the piecewise-linear straight-
  through estimator (Yin et al. 2019, ICLR, "Understanding straight-through
  estimator in training activation quantized neural nets"; Esser et al. 2016,
  PNAS 113:11441 used the same triangle for spiking units);
* ``"fast_sigmoid"``: ``1 / (1 + k|d|)**2`` with ``k = 5`` (the SuperSpike shape,
  Zenke & Ganguli 2018, Neural Comput 30:1514);
* ``"arctan"``: ``1 / (1 + (pi d)**2)``, the derivative of
  ``arctan(pi d) / pi + 1/2`` (Fang et al. 2021, ICCV).

The reset term is detached from the graph (Zenke & Vogels 2021, Neural Comput
33:899, found this helps). Synapses follow Dale's principle as in
:class:`neurosim.models.DaleMLP` (inputs excitatory, hidden layers 80 % E /
20 % I); ``dale=False`` is the matched signed-weight network.

Measured on digits (``benchmarks/model_competence.py snn``, seed 0, 64-128-10,
25 steps, batch 32, one CPU thread): LogGridMadam (26 levels over 60x, lr 0.01)
90.0 % test accuracy after 30 epochs, 92.6 % after 60; Madam 92.2 % and
Adam (lr 1e-3) 94.4 % after 30 epochs. The Brian2 copy
(:mod:`neurosim.brian.export`) predicts the same class on 269 of 269 test digits.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from neurosim import validate as V
from neurosim.models import _common as C
from neurosim.models.encoding import ENCODINGS, encode

__all__ = ["SURROGATES", "SpikingMLP", "spike", "surrogate_derivative"]

FAST_SIGMOID_SLOPE = 5.0


def _triangle(d: torch.Tensor) -> torch.Tensor:
    return (1.0 - d.abs()).clamp_min(0.0)


def _fast_sigmoid(d: torch.Tensor) -> torch.Tensor:
    return 1.0 / (1.0 + FAST_SIGMOID_SLOPE * d.abs()).pow(2)


def _arctan(d: torch.Tensor) -> torch.Tensor:
    return 1.0 / (1.0 + (math.pi * d).pow(2))


#: Surrogate name -> derivative of the spike function with respect to ``u - theta``.
SURROGATES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "triangle": _triangle,
    "fast_sigmoid": _fast_sigmoid,
    "arctan": _arctan,
}


def surrogate_derivative(d: torch.Tensor, surrogate: str = "triangle") -> torch.Tensor:
    """The surrogate ``dS/du`` at ``d = u - theta`` (peak 1 at ``d = 0``)."""
    V.choice("surrogate", surrogate, SURROGATES)
    return SURROGATES[surrogate](d)


class _Spike(torch.autograd.Function):
    """Heaviside forward, surrogate derivative (times ``scale``, default 1) backward."""

    @staticmethod
    def forward(ctx: Any, d: torch.Tensor, surrogate: str, scale: float = 1.0) -> torch.Tensor:
        ctx.save_for_backward(d)
        ctx.surrogate, ctx.scale = surrogate, scale
        return (d > 0).to(d.dtype)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        (d,) = ctx.saved_tensors
        g = SURROGATES[ctx.surrogate](d)
        return grad * (g if ctx.scale == 1.0 else ctx.scale * g), None, None


def spike(u: torch.Tensor, threshold: float = 1.0, surrogate: str = "triangle") -> torch.Tensor:
    """``H(u - threshold)`` (1.0 where ``u > threshold``) with a surrogate gradient."""
    V.choice("surrogate", surrogate, SURROGATES)
    return _Spike.apply(u - threshold, surrogate)


class SpikingMLP(C.OwnNoise, nn.Module):
    """Feedforward LIF network with E/I signs, trained by surrogate gradients.

    Parameters
    ----------
    n_in, hidden, n_out:
        Inputs, spiking hidden layer sizes (E and I together), readout units.
    steps:
        Number of time steps per sample (>= 1); the input is presented at each.
    dale, inhibitory_fraction, input_sign:
        As for :class:`neurosim.models.DaleMLP`.
    tau_mem:
        Membrane time constant (s, > 0). Default 20 ms.
    dt:
        Time step (s, > 0). Default 1 ms, so ``beta = exp(-1/20) = 0.951``.
    threshold:
        Firing threshold ``theta`` (dimensionless membrane units, > 0).
    surrogate:
        ``"triangle"`` (default), ``"fast_sigmoid"`` or ``"arctan"``.
    encoding:
        Input code: ``"current"`` (default, a constant current), ``"poisson"``
        or ``"latency"`` spikes; inputs must then lie in ``[0, 1]``.
    max_rate:
        Poisson code: the rate (Hz) of an input at ``x = 1``; ``max_rate * dt``
        must be <= 1. Default 1000 Hz (probability ``x`` per 1 ms step).
    generator, device:
        CPU ``torch.Generator`` for the initial weights (and the seed of the
        model's own Poisson spike generator); where the model lives.

    Notes
    -----
    Initial weights are those of :class:`DaleMLP` scaled by ``input_gain`` =
    0.25 (first layer; pixels are all excitatory, so a larger scale drives every
    unit to fire at every step, where a triangle surrogate is 0) and by
    ``hidden_gain`` = 2.0 (later layers, whose inputs are sparse spikes).
    ``forward(x, return_spikes=True)`` also returns each hidden layer's spike
    trains ``(steps, B, h)``.
    """

    input_gain = 0.25
    hidden_gain = 2.0
    PARAMS = {"hidden": C.HIDDEN, "dale": C.DALE, "inhibitory_fraction": C.INHIBITORY_FRACTION,
              "input_sign": C.INPUT_SIGN,
              "steps": V.Param(V.integral(ge=1), "time steps per sample"),
              "tau_mem": V.Param(V.bounded(gt=0.0), "membrane time constant (s)"),
              "dt": V.Param(V.bounded(gt=0.0), "time step (s)"),
              "threshold": V.Param(V.bounded(gt=0.0), "firing threshold (membrane units)"),
              "surrogate": V.Param(V.one_of(*SURROGATES), "surrogate derivative of the spike"),
              "encoding": V.Param(V.one_of(*ENCODINGS), "input code: constant current, poisson or latency "
                                                        "spikes"),
              "max_rate": V.Param(V.bounded(gt=0.0), "poisson code: rate (Hz) of an input at x = 1")}

    def __init__(self, n_in: int, hidden: Sequence[int], n_out: int, *, steps: int = 25, dale: bool = True,
                 inhibitory_fraction: float = 0.2, tau_mem: float = 0.02, threshold: float = 1.0,
                 surrogate: str = "triangle", input_sign: str = "excitatory", dt: float = 1e-3,
                 encoding: str = "current", max_rate: float = 1000.0,
                 generator: torch.Generator | None = None, device: Any = None) -> None:
        super().__init__()
        n_in = V.integer("n_in", n_in, ge=1)
        n_out = V.integer("n_out", n_out, ge=1)
        v = C.checked(self.PARAMS, hidden=(hidden,) if isinstance(hidden, int) else hidden, steps=steps,
                      dale=dale, inhibitory_fraction=inhibitory_fraction, tau_mem=tau_mem, dt=dt,
                      threshold=threshold, surrogate=surrogate, input_sign=input_sign, encoding=encoding,
                      max_rate=max_rate)
        hidden_t, frac = tuple(v["hidden"]), v["inhibitory_fraction"]
        self.steps, self.tau_mem, self.dt = v["steps"], v["tau_mem"], v["dt"]
        self.threshold, self.surrogate = v["threshold"], v["surrogate"]
        self.encoding, self.max_rate = v["encoding"], v["max_rate"]
        if self.max_rate * self.dt > 1.0:
            raise ValueError(f"max_rate: must be <= 1 / dt = {1.0 / self.dt:g} Hz (one spike per step), "
                             f"got {max_rate!r}")
        generator = C.check_generator(generator)
        dev = C.resolve_device(device)
        self.n_in, self.hidden, self.n_out = n_in, hidden_t, n_out
        self.dale, self.inhibitory_fraction, self.input_sign = dale, frac, input_sign
        #: membrane decay per step, exp(-dt / tau_mem)
        self.beta = math.exp(-self.dt / self.tau_mem)

        signs = [C.input_signs(n_in, input_sign, frac) if dale else torch.ones(n_in)]
        for i, h in enumerate(hidden_t):
            signs.append(C.unit_signs(h, frac, f"hidden[{i}]") if dale else torch.ones(h))
        sizes = [*hidden_t, n_out]
        gains = [self.input_gain] + [self.hidden_gain] * len(hidden_t)
        self.layers = nn.ModuleList(
            C.matched_linear(signs[i], sizes[i], dale=dale, gain=gains[i], generator=generator)
            for i in range(len(sizes))
        )
        self.unit_signs = signs
        self._init_noise(generator)
        self.to(dev)

    def encode(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """The input of every step ``(steps, B, n_in)`` for ``x`` ``(B, n_in)`` under :attr:`encoding`.

        Poisson spikes come from ``generator`` (default: the model's own).
        """
        if self.encoding == "poisson" and generator is None:
            generator = self.noise_generator(x.device)
        return encode(x, self.encoding, self.steps, p_scale=self.max_rate * self.dt, generator=generator)

    def forward(self, x: torch.Tensor, *, generator: torch.Generator | None = None,
                input_spikes: torch.Tensor | None = None, return_spikes: bool = False
                ) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        """Logits ``(B, n_out)`` (time-averaged readout membrane) for inputs ``x`` ``(B, n_in)``.

        ``input_spikes`` ``(steps, B, n_in)``: run these input trains instead of
        encoding ``x`` (spike encodings only); ``generator``: draws the Poisson
        spikes instead of the model's own generator.
        """
        if x.dim() != 2 or x.shape[1] != self.n_in:
            raise ValueError(f"x: must have shape (batch, {self.n_in}), got {tuple(x.shape)}")
        B = x.shape[0]
        if input_spikes is not None:
            if self.encoding == "current":
                raise ValueError("input_spikes: this network's encoding is 'current' (no input spikes)")
            if tuple(input_spikes.shape) != (self.steps, B, self.n_in):
                raise ValueError(f"input_spikes: must have shape ({self.steps}, {B}, {self.n_in}), "
                                 f"got {tuple(input_spikes.shape)}")
        beta, theta = self.beta, self.threshold
        hidden_layers = self.layers[:-1]
        weights = [layer.weight for layer in self.layers]
        biases = [layer.bias for layer in self.layers]
        if self.encoding == "current":
            drive0 = (x @ weights[0].t()).expand(self.steps, B, -1)  # the constant current W_1 x
        else:
            s0 = input_spikes.to(x) if input_spikes is not None else self.encode(x, generator)
            drive0 = s0 @ weights[0].t()  # (steps, B, h_1)
        m = [x.new_zeros(B, h) for h in self.hidden]
        m_out = x.new_zeros(B, self.n_out)
        total = x.new_zeros(B, self.n_out)
        record: list[list[torch.Tensor]] = [[] for _ in hidden_layers]
        for t in range(self.steps):
            spikes = []
            us = []
            for i in range(len(hidden_layers)):
                u = beta * m[i] + biases[i]
                us.append(u)
                spikes.append(_Spike.apply(u - theta, self.surrogate))
            for i in range(len(hidden_layers)):
                syn = drive0[t] if i == 0 else spikes[i - 1] @ weights[i].t()
                m[i] = us[i] + syn - theta * spikes[i].detach()
                if return_spikes:
                    record[i].append(spikes[i])
            m_out = beta * m_out + biases[-1] + spikes[-1] @ weights[-1].t()
            total = total + m_out
        logits = total / self.steps
        if return_spikes:
            return logits, [torch.stack(r) for r in record]
        return logits

    @property
    def n_synapses(self) -> int:
        """Number of weights (synapses), biases excluded."""
        return C.count_synapses(self)

    def extra_repr(self) -> str:
        return (f"steps={self.steps}, dale={self.dale}, tau_mem={self.tau_mem}, dt={self.dt}, "
                f"beta={self.beta:.4f}, threshold={self.threshold}, surrogate={self.surrogate!r}, "
                f"encoding={self.encoding!r}")
