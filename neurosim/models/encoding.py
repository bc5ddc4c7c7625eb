"""Input codes of the spiking networks: a constant current, or spikes (rate or latency).

Every code maps an input ``x`` ``(B, n_in)`` with entries in ``[0, 1]`` to what
the first layer receives at each of ``steps`` time steps, ``(steps, B, n_in)``:

* ``"current"``: ``x`` itself at every step, a deterministic current (no
  spikes; the code :class:`~neurosim.models.SpikingMLP` had before spike inputs).
* ``"poisson"``: a Bernoulli spike at each step with probability
  ``x * max_rate * dt``, independently per input, step and sample: the
  discrete-time Poisson (rate) code. With the default ``max_rate = 1 / dt``
  (1000 Hz at 1 ms) the probability is ``x``, so the expected input equals the
  current code's (the convention of snnTorch's ``spikegen.rate``).
* ``"latency"``: one spike per input at step ``round((1 - x) (steps - 1))``
  (brighter inputs fire earlier; ``x = 0`` never fires), the linear
  time-to-first-spike code (Thorpe, Delorme & Van Rullen 2001, Neural Netw
  14:715). It is deterministic.

Spike codes are drawn from a ``torch.Generator``, so a seed fixes the spike
trains; :func:`neurosim.brian.export.predict` replays the very same trains in
Brian2.
"""

from __future__ import annotations

import torch

from neurosim import validate as V

__all__ = ["ENCODINGS", "encode", "latency_spikes", "poisson_spikes"]

#: Input codes of :class:`~neurosim.models.SpikingMLP`.
ENCODINGS: tuple[str, ...] = ("current", "poisson", "latency")


def _check_unit_interval(x: torch.Tensor) -> None:
    if x.numel() and (not bool(torch.isfinite(x).all()) or float(x.min()) < 0.0 or float(x.max()) > 1.0):
        raise ValueError("x: spike encodings need inputs in [0, 1] (scale the features first), got values in "
                         f"[{float(x.min()):g}, {float(x.max()):g}]")


def poisson_spikes(x: torch.Tensor, steps: int, p_scale: float = 1.0,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """Bernoulli spikes ``(steps, B, n_in)`` with per-step probability ``p_scale * x``.

    ``p_scale`` is ``max_rate * dt`` (dimensionless, in ``(0, 1]``).
    """
    _check_unit_interval(x)
    p = (x * p_scale).expand(steps, *x.shape)
    u = torch.rand(p.shape, generator=generator, device=x.device, dtype=x.dtype)
    return (u < p).to(x.dtype)


def latency_spikes(x: torch.Tensor, steps: int) -> torch.Tensor:
    """One spike per input with ``x > 0`` at step ``round((1 - x) (steps - 1))``; ``(steps, B, n_in)``."""
    _check_unit_interval(x)
    t_fire = torch.floor((1.0 - x) * (steps - 1) + 0.5).long()
    t = torch.arange(steps, device=x.device).view(steps, *([1] * x.dim()))
    return ((t == t_fire.unsqueeze(0)) & (x > 0).unsqueeze(0)).to(x.dtype)


def encode(x: torch.Tensor, encoding: str, steps: int, *, p_scale: float = 1.0,
           generator: torch.Generator | None = None) -> torch.Tensor:
    """The input of every step, ``(steps, B, n_in)``, under ``encoding`` (see the module docstring).

    ``p_scale`` is the Poisson code's spike probability per step at ``x = 1``,
    ``max_rate * dt`` (default 1: probability ``x``).
    """
    V.choice("encoding", encoding, ENCODINGS)
    V.real("p_scale", p_scale, gt=0.0, le=1.0)
    if encoding == "current":
        return x.expand(steps, *x.shape)
    if encoding == "poisson":
        return poisson_spikes(x, steps, p_scale, generator)
    return latency_spikes(x, steps)
