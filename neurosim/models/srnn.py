"""SpikingRNN: a recurrent E/I network of leaky integrate-and-fire units for cognitive tasks.

Discrete-time dynamics, written to be reproduced step for step by Brian2 (see
:mod:`neurosim.brian.srnn_export`). With ``beta = exp(-dt / tau_mem)``,
``alpha = exp(-dt / tau_syn)``, ``rho = exp(-dt / tau_adapt)``, threshold
``theta``, adaptation strength ``b_a`` (> 0 on the adaptive units, 0 on the
others), input spikes ``x[t]`` and the state after step ``t - 1``
(``v``, ``I``, ``a``, all 0 before the first step), step ``t`` is::

    v <- beta v + (1 - beta) (I + b)        membrane: leak towards the synaptic current and bias
    I <- alpha I                            synaptic current decays
    a <- rho a                              threshold adaptation decays
    B  = theta + b_a a                      the (adaptive) threshold
    s  = H(v - B)                           spikes of step t
    I <- I + W_in x[t] + W_rec s            synaptic input of step t (felt by v from step t + 1)
    v <- v - B s                            reset by subtraction
    a <- a + (1 - rho) s                    spike-triggered adaptation (Bellec et al. 2018)
    y <- kappa y + W_out s_E + b_out        readout: leaky integrators of the E spikes

with ``kappa = exp(-dt / tau_out)``; the outputs (logits) at step ``t`` are
``y``. This is Brian2's schedule within a time step (state update, thresholds,
synapses, resets), so a spike reaches its targets' membranes one step later.

* **E/I.** 80 % excitatory, 20 % inhibitory units (E first); every recurrent
  synapse is its presynaptic unit's sign times a size
  (:class:`neurosim.dale.DaleLinear`). The input channels are excitatory; the
  readout sees the E units only, through non-negative weights, as in
  :class:`~neurosim.models.DaleRNN` (Song, Yang & Wang 2016). ``dale=False`` is
  the matched spiking network with signed weights everywhere.
* **Slow variables.** A fraction ``adaptive_fraction`` of the E units (the
  first ones) has a spike-triggered adaptive threshold with time constant
  ``tau_adapt`` (Bellec, Salaj, Subramoney, Legenstein & Maass 2018, NeurIPS,
  "Long short-term memory and learning-to-learn in networks of spiking
  neurons": ``tau_a`` of about 1 s and ``beta = 1.8`` for working memory).
* **Inputs as spikes.** A signed task input ``u`` becomes two Poisson
  channels, *on* with probability ``clip(u, 0, 1) * max_rate * dt`` per step
  and *off* with ``clip(-u, 0, 1) * max_rate * dt`` (a rectified on/off code,
  as retinal on and off cells carry a contrast). Spikes come from the model's
  own generator (saved and restored by the runner), from
  ``forward(..., generator=g)``, or are given as ``input_spikes``.
* **Feedforward inhibition** (``feedforward_inhibition=True``): every input
  channel also drives an inhibitory relay interneuron of its own, which
  projects to the units through learned inhibitory sizes (as in
  :class:`~neurosim.models.DaleRNN`; the simplest DANN, Cornford et al. 2021).
  A relay fires exactly when its channel does, so its drive adds to the
  channel's: Brian2 is given the net weight of each channel.
* **Surrogate gradients** through time, as :class:`~neurosim.models.SpikingMLP`
  (the triangle by default, the reset detached), dampened by ``surrogate_scale``
  (0.3, Bellec et al. 2018's dampening factor): with the undampened surrogate,
  gradients through a few hundred recurrent steps explode (measured on
  perceptual decision making, 5 ms steps: gradient norms of 4e3-4e4 after 50 Adam
  steps, up to 3e8 after 150, and no learning; 1-8 with 0.3, and learning).

Initialisation: input and recurrent sizes as in :class:`~neurosim.models.DaleRNN`
(half-normal, inhibitory columns scaled by ``n_E / n_I`` so each unit's
expected E and I input cancel), the recurrent matrix scaled to the spectral
radius ``rec_radius``, the input sizes scaled by ``input_gain``; both gains
are set so the untrained network fires at a moderate rate (see the class
notes for the measured rates).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from neurosim import validate as V
from neurosim.models import _common as C
from neurosim.models.snn import SURROGATES, _Spike

__all__ = ["SpikingRNN", "on_off_spikes"]


def on_off_spikes(u: torch.Tensor, p_scale: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """On/off Poisson spikes ``(T, B, 2 n_in)`` of signed inputs ``u`` ``(T, B, n_in)``.

    Channel ``i`` (on) fires with probability ``clip(u_i, 0, 1) * p_scale`` per
    step, channel ``n_in + i`` (off) with ``clip(-u_i, 0, 1) * p_scale``;
    ``p_scale = max_rate * dt`` in ``(0, 1]``. Non-finite inputs are refused.
    """
    V.real("p_scale", p_scale, gt=0.0, le=1.0)
    if u.numel() and not bool(torch.isfinite(u).all()):
        raise ValueError("u: inputs must be finite to be encoded as spikes")
    p = torch.cat([u.clamp(0.0, 1.0), (-u).clamp(0.0, 1.0)], dim=-1) * p_scale
    r = torch.rand(p.shape, generator=generator, device=u.device, dtype=u.dtype)
    return (r < p).to(u.dtype)


class SpikingRNN(C.OwnNoise, nn.Module):
    """Recurrent LIF network with E/I units, adaptive thresholds and a leaky readout.

    Parameters
    ----------
    n_in, n_rec, n_out:
        Task inputs (each becomes an on and an off spike channel), recurrent
        units (E and I together; default 128) and outputs (default 3).
    dale, inhibitory_fraction:
        Sign-constrained synapses (``True``) or the matched signed network;
        fraction of inhibitory units (default 0.2).
    dt:
        Time step (s, > 0). Default 5 ms.
    tau_mem, tau_syn:
        Membrane and synaptic time constants (s, >= dt). Defaults 20 ms and 10 ms.
    tau_out:
        Readout time constant (s, >= dt). Default 50 ms.
    adaptive_fraction:
        Fraction of the E units with an adaptive threshold, in ``[0, 1]``. Default 0.4.
    tau_adapt, adapt_strength:
        Adaptation time constant (s; default 1 s) and ``b_a`` (threshold units; default 1.8).
    threshold:
        Firing threshold ``theta`` (membrane units, > 0). Default 1.
    max_rate:
        Rate (Hz) of an input channel at ``|u| = 1``; ``max_rate * dt <= 1``. Default 100 Hz.
    surrogate, surrogate_scale:
        ``"triangle"`` (default), ``"fast_sigmoid"`` or ``"arctan"``; the factor
        (> 0, default 0.3) on its derivative.
    rec_radius, input_gain:
        Spectral radius of the initial recurrent matrix (> 0; default 1.0) and
        scale of the initial input sizes (> 0; default 1.0).
    feedforward_inhibition:
        Give every input channel an inhibitory relay (see the module docstring). Default ``False``.
    generator, device:
        CPU ``torch.Generator`` for the initial weights and the seed of the
        model's input-spike generator; where the model lives (CUDA works).

    Examples
    --------
    >>> net = SpikingRNN(3, 40, 3, generator=torch.Generator().manual_seed(0))
    >>> net(torch.rand(50, 4, 3)).shape
    torch.Size([50, 4, 3])
    """

    PARAMS = {"n_rec": V.Param(V.integral(ge=2), "recurrent units (E and I)"), "dale": C.DALE,
              "inhibitory_fraction": C.INHIBITORY_FRACTION,
              "dt": V.Param(V.bounded(gt=0.0), "time step (s)"),
              "tau_mem": V.Param(V.bounded(gt=0.0), "membrane time constant (s)"),
              "tau_syn": V.Param(V.bounded(gt=0.0), "synaptic time constant (s)"),
              "tau_out": V.Param(V.bounded(gt=0.0), "readout time constant (s)"),
              "adaptive_fraction": V.Param(V.bounded(ge=0.0, le=1.0), "fraction of E units with an adaptive "
                                                                      "threshold"),
              "tau_adapt": V.Param(V.bounded(gt=0.0), "threshold adaptation time constant (s)"),
              "adapt_strength": V.Param(V.bounded(ge=0.0), "threshold increase per unit of adaptation "
                                                           "(membrane units)"),
              "threshold": V.Param(V.bounded(gt=0.0), "firing threshold (membrane units)"),
              "max_rate": V.Param(V.bounded(gt=0.0), "rate (Hz) of an input channel at |u| = 1"),
              "surrogate": V.Param(V.one_of(*SURROGATES), "surrogate derivative of the spike"),
              "surrogate_scale": V.Param(V.bounded(gt=0.0), "factor on the surrogate derivative "
                                                             "(dampening through time)"),
              "rec_radius": V.Param(V.bounded(gt=0.0), "spectral radius of the initial recurrent matrix"),
              "input_gain": V.Param(V.bounded(gt=0.0), "scale of the initial input sizes"),
              "feedforward_inhibition": C.FEEDFORWARD_INHIBITION}

    def __init__(self, n_in: int, n_rec: int = 128, n_out: int = 3, *, dale: bool = True,
                 inhibitory_fraction: float = 0.2, dt: float = 0.005, tau_mem: float = 0.02,
                 tau_syn: float = 0.01, tau_out: float = 0.05, adaptive_fraction: float = 0.4,
                 tau_adapt: float = 1.0, adapt_strength: float = 1.8, threshold: float = 1.0,
                 max_rate: float = 100.0, surrogate: str = "triangle", surrogate_scale: float = 0.3,
                 rec_radius: float = 1.0, input_gain: float = 1.0, feedforward_inhibition: bool = False,
                 generator: torch.Generator | None = None, device: Any = None) -> None:
        super().__init__()
        n_in = V.integer("n_in", n_in, ge=1)
        n_out = V.integer("n_out", n_out, ge=1)
        v = C.checked(self.PARAMS, n_rec=n_rec, dale=dale, inhibitory_fraction=inhibitory_fraction, dt=dt,
                      tau_mem=tau_mem, tau_syn=tau_syn, tau_out=tau_out, adaptive_fraction=adaptive_fraction,
                      tau_adapt=tau_adapt, adapt_strength=adapt_strength, threshold=threshold,
                      max_rate=max_rate, surrogate=surrogate, surrogate_scale=surrogate_scale,
                      rec_radius=rec_radius, input_gain=input_gain,
                      feedforward_inhibition=feedforward_inhibition)
        for key in ("tau_mem", "tau_syn", "tau_out", "tau_adapt"):
            if v[key] < v["dt"]:
                raise ValueError(f"{key}: must be >= dt ({v['dt']:g} s), got {v[key]!r}")
        if v["max_rate"] * v["dt"] > 1.0:
            raise ValueError(f"max_rate: must be <= 1 / dt = {1.0 / v['dt']:g} Hz (one spike per step), "
                             f"got {max_rate!r}")
        generator = C.check_generator(generator)
        dev = C.resolve_device(device)
        self.n_in, self.n_rec, self.n_out = n_in, v["n_rec"], n_out
        self.dale, self.inhibitory_fraction = v["dale"], v["inhibitory_fraction"]
        self.dt, self.tau_mem, self.tau_syn, self.tau_out = v["dt"], v["tau_mem"], v["tau_syn"], v["tau_out"]
        self.adaptive_fraction, self.tau_adapt = v["adaptive_fraction"], v["tau_adapt"]
        self.adapt_strength, self.threshold = v["adapt_strength"], v["threshold"]
        self.max_rate, self.surrogate, self.surrogate_scale = v["max_rate"], v["surrogate"], v["surrogate_scale"]
        self.rec_radius, self.input_gain = v["rec_radius"], v["input_gain"]
        self.feedforward_inhibition = v["feedforward_inhibition"]
        #: per-step decay factors of the membrane, synaptic current, adaptation and readout
        self.beta = math.exp(-self.dt / self.tau_mem)
        self.alpha = math.exp(-self.dt / self.tau_syn)
        self.rho = math.exp(-self.dt / self.tau_adapt)
        self.kappa = math.exp(-self.dt / self.tau_out)

        ei = C.unit_signs(self.n_rec, self.inhibitory_fraction, "n_rec")
        self.n_exc = int((ei > 0).sum())
        self.n_adaptive = int(round(self.adaptive_fraction * self.n_exc))
        self.register_buffer("unit_sign", ei)  # the E/I identity (also of the matched network's units)
        self.register_buffer("rec_sign", ei if self.dale else torch.ones(self.n_rec))
        b_a = torch.zeros(self.n_rec)
        b_a[: self.n_adaptive] = self.adapt_strength
        self.register_buffer("adapt", b_a)
        self.input, self.recurrent, self.readout = C.recurrent_ei_layers(
            2 * n_in, ei, n_out, dale=self.dale, feedforward_inhibition=self.feedforward_inhibition,
            radius=self.rec_radius, input_gain=self.input_gain, generator=generator)
        self._init_noise(generator)
        self.to(dev)

    # ------------------------------------------------------------------ inputs
    @property
    def p_scale(self) -> float:
        """Spike probability per step of an input channel at ``|u| = 1`` (``max_rate * dt``)."""
        return self.max_rate * self.dt

    def encode(self, u: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """On/off input spikes ``(T, B, 2 n_in)`` for task inputs ``u`` ``(T, B, n_in)``
        (:func:`on_off_spikes`; default generator: the model's own)."""
        self._check_inputs(u)
        if generator is None:
            generator = self.noise_generator(u.device)
        return on_off_spikes(u, self.p_scale, generator)

    def _check_inputs(self, u: torch.Tensor) -> None:
        if u.dim() != 3 or u.shape[2] != self.n_in:
            raise ValueError(f"u: must have shape (T, batch, {self.n_in}), got {tuple(u.shape)}")

    @property
    def input_weight(self) -> torch.Tensor:
        """The signed weights ``(n_rec, 2 n_in)`` from the on/off channels to the units; with
        feedforward inhibition, each channel's direct weight plus its relay's (negative) one."""
        w = self.input.weight
        if self.feedforward_inhibition:
            half = w.shape[1] // 2
            w = w[:, :half] + w[:, half:]
        return w

    def input_drive(self, x: torch.Tensor) -> torch.Tensor:
        """``W_in x`` for on/off spikes ``x`` ``(..., 2 n_in)`` (a relay spikes with its channel)."""
        return x @ self.input_weight.t()

    # ------------------------------------------------------------------ forward
    @property
    def W_rec(self) -> torch.Tensor:
        """The signed recurrent matrix ``(n_rec, n_rec)`` (row: post, column: pre)."""
        return self.recurrent.weight

    def forward(self, u: torch.Tensor, *, generator: torch.Generator | None = None,
                input_spikes: torch.Tensor | None = None, return_spikes: bool = False
                ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Outputs ``(T, B, n_out)`` (the readout at every step) for task inputs ``u`` ``(T, B, n_in)``.

        ``input_spikes`` ``(T, B, 2 n_in)``: run these on/off trains instead of
        drawing them; ``generator``: draws them instead of the model's own
        generator; ``return_spikes`` also returns the recurrent spikes ``(T, B, n_rec)``.
        """
        self._check_inputs(u)
        T, B, _ = u.shape
        if input_spikes is not None:
            if tuple(input_spikes.shape) != (T, B, 2 * self.n_in):
                raise ValueError(f"input_spikes: must have shape ({T}, {B}, {2 * self.n_in}), "
                                 f"got {tuple(input_spikes.shape)}")
            x = input_spikes.to(u)
        else:
            x = self.encode(u, generator)
        drive = self.input_drive(x)  # (T, B, n_rec): W_in x[t], all steps at once
        W_rec, W_out = self.recurrent.weight, self.readout.weight
        bias, b_out = self.input.bias, self.readout.bias
        beta, alpha, rho, kappa, theta = self.beta, self.alpha, self.rho, self.kappa, self.threshold
        b_a = self.adapt.to(u)
        zeros = u.new_zeros(B, self.n_rec)
        v, cur, a = zeros, zeros, zeros
        y = u.new_zeros(B, self.n_out)
        outs, spikes = [], []
        for t in range(T):
            v = beta * v + (1.0 - beta) * (cur + bias)
            a = rho * a
            thr = theta + b_a * a
            s = _Spike.apply(v - thr, self.surrogate, self.surrogate_scale)
            cur = alpha * cur + drive[t] + s @ W_rec.t()
            v = v - (thr * s).detach()
            a = a + (1.0 - rho) * s
            y = kappa * y + s[:, : self.n_exc] @ W_out.t() + b_out
            outs.append(y)
            if return_spikes:
                spikes.append(s)
        out = torch.stack(outs)
        return (out, torch.stack(spikes)) if return_spikes else out

    @property
    def populations(self) -> dict[str, slice]:
        """Unit index ranges: ``E_adaptive``, ``E`` (all excitatory) and ``I``."""
        return {"E_adaptive": slice(0, self.n_adaptive), "E": slice(0, self.n_exc),
                "I": slice(self.n_exc, self.n_rec)}

    @property
    def n_synapses(self) -> int:
        """Number of weights (input, recurrent, readout), biases excluded."""
        return C.count_synapses(self)

    def extra_repr(self) -> str:
        return (f"n_exc={self.n_exc}, n_adaptive={self.n_adaptive}, dale={self.dale}, dt={self.dt}, "
                f"tau_mem={self.tau_mem}, tau_syn={self.tau_syn}, tau_out={self.tau_out}, "
                f"tau_adapt={self.tau_adapt}, max_rate={self.max_rate}")
