"""Export a trained torch :class:`~neurosim.models.SpikingMLP` into Brian2, and run it.

The Brian2 network reproduces the torch model's discrete-time dynamics step for
step. With ``beta = exp(-dt / tau_mem)`` the torch model computes, per layer and
step, ``u = beta m + b``; ``s = H(u - theta)``; ``m = u + W s_pre - theta s``
(see :mod:`neurosim.models.snn`). In Brian2 (every object on one ``Clock`` with the
model's ``dt``; ``brian2.defaultclock`` is left as it is):

* every layer is a ``NeuronGroup`` with ``dv/dt = (b_eff - v) / tau_mem`` and
  ``b_eff = b / (1 - beta)``, integrated with the ``exact`` method, so one state
  update is ``v <- beta v + b`` (the leak and the bias);
* hidden layers have ``threshold='v > theta'`` and ``reset='v -= theta'``; the
  readout layer has neither;
* with the ``"current"`` input code, the input is a group of always-firing
  units (``threshold='True'``) holding the pixel intensities ``x``; their
  ``Synapses`` inject ``v_post += w * x_pre`` at every step: the deterministic
  current injection of the torch model (synapses from pixels with ``x = 0``
  would add 0 and are left out);
* with a spike code (``"poisson"``, ``"latency"``), the input is a
  ``SpikeGeneratorGroup`` that replays the very input spike trains the torch
  model ran (spike at step ``t`` -> time ``t * dt``), with ``on_pre='v_post +=
  w'``; inputs that never spike get no synapses;
* hidden-to-hidden and hidden-to-readout ``Synapses`` have
  ``on_pre='v_post += w'`` with the signed weight ``w = sign(pre) * size``.

Brian2's schedule within a step (state update, thresholds, synapses, resets)
is the order of the torch equations, including their one-step synaptic delay
between layers. The readout membrane is recorded at the end of each step
(``StateMonitor(..., when='end')``) and averaged over the ``steps`` steps:
the torch logits. Samples run in parallel as independent copies of the network
(block-diagonal synapses), ``batch_size`` at a time, in runtime mode
(``codegen_target`` ``"numpy"`` by default, or ``"cython"``).

Brian2 computes in float64; a model trained in float32 can differ from its
Brian2 copy where a membrane lands within rounding error of the threshold,
which is rare (see ``tests/test_snn_export.py`` for the measured agreement).

This module imports only brian2 and numpy; the model is read through its
attributes (``layers``, ``hidden``, ``n_in``, ``n_out``, ``steps``, ``dt``,
``tau_mem``, ``beta``, ``threshold``, and ``encoding``); spike trains that are
not given are drawn by the model's ``encode``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["BrianSNN", "input_trains", "predict", "to_brian"]

_REQUIRED = ("layers", "hidden", "n_in", "n_out", "steps", "dt", "tau_mem", "beta", "threshold")
CODEGEN_TARGETS = ("numpy", "cython")


@dataclass
class BrianSNN:
    """A Brian2 copy of a spiking MLP for ``n_samples`` inputs at once.

    Attributes
    ----------
    network:
        The ``brian2.Network`` (input group, layers, synapses, monitor).
    groups:
        ``[inputs, hidden_1, ..., hidden_L, readout]`` neuron groups; sample ``k``
        owns neurons ``k * n .. (k + 1) * n - 1`` of each.
    synapses:
        One ``Synapses`` object per layer of weights.
    monitor:
        ``StateMonitor`` of the readout's ``v`` at the end of every step.
    spike_monitors:
        One ``SpikeMonitor`` per hidden layer.
    n_samples, steps:
        Number of parallel samples and time steps per run.
    """

    network: Any
    groups: list[Any]
    synapses: list[Any]
    monitor: Any
    spike_monitors: list[Any]
    n_samples: int
    steps: int
    n_out: int
    dt: Any  # the clock's time step (a Brian2 quantity)

    def run(self) -> np.ndarray:
        """Run ``steps`` time steps; return the logits ``(n_samples, n_out)``."""
        self.network.run(self.steps * self.dt)
        v = np.asarray(self.monitor.v)  # (n_samples * n_out, steps)
        return v.mean(axis=1).reshape(self.n_samples, self.n_out)


def check_model(model: Any, required: tuple[str, ...] = _REQUIRED, kind: str = "SpikingMLP") -> None:
    """A model an export can read: one line naming the attributes it lacks."""
    missing = [a for a in required if not hasattr(model, a)]
    if missing:
        raise ValueError(f"model: must be a neurosim.models.{kind}, missing {', '.join(missing)}")


def check_trains(spikes: Any, shape: tuple[int, ...]) -> np.ndarray:
    """Input spike trains of the given ``shape`` holding only 0 and 1, as float64."""
    s = _array(spikes)
    if s.shape != tuple(shape):
        raise ValueError(f"input_spikes: must have shape {tuple(shape)}, got {s.shape}")
    if not np.isin(s, (0.0, 1.0)).all():
        raise ValueError("input_spikes: must hold only 0 and 1")
    return s


def _numpy(t: Any) -> np.ndarray:
    return np.asarray(t.detach().cpu().double().numpy(), dtype=np.float64)


def _block_pairs(n_samples: int, n_pre: int, n_post: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices (pre, post, weight-entry) of all-to-all synapses within each sample's copy."""
    k = np.repeat(np.arange(n_samples), n_pre * n_post)
    a = np.tile(np.repeat(np.arange(n_pre), n_post), n_samples)
    b = np.tile(np.tile(np.arange(n_post), n_pre), n_samples)
    return k * n_pre + a, k * n_post + b, b * n_pre + a


def _array(a: Any) -> np.ndarray:
    return np.asarray(a.detach().cpu().numpy() if hasattr(a, "detach") else a, dtype=np.float64)


def _spiking(model: Any) -> bool:
    return getattr(model, "encoding", "current") != "current"


def input_trains(model: Any, X: Any, seed: int = 0) -> np.ndarray:
    """The input spike trains ``(steps, n_samples, n_in)`` that ``model`` draws for ``X`` from ``seed``.

    The same as ``model.encode(X, generator=torch.Generator().manual_seed(seed))``;
    pass them to the torch model (``input_spikes=``) and to :func:`predict` to run
    both on the very same spikes.
    """
    import torch

    x = torch.as_tensor(_array(X), dtype=torch.float32)
    return model.encode(x, generator=torch.Generator().manual_seed(int(seed))).cpu().numpy().astype(np.float64)


def _trains(model: Any, X: np.ndarray, input_spikes: Any, seed: int) -> np.ndarray | None:
    """The checked input trains of a spike-coded model (``None`` for the current code)."""
    if not _spiking(model):
        return None
    return check_trains(input_spikes if input_spikes is not None else input_trains(model, X, seed),
                        (int(model.steps), X.shape[0], int(model.n_in)))


def to_brian(model: Any, X: Any, *, input_spikes: Any = None, seed: int = 0,
             codegen_target: str = "numpy") -> BrianSNN:
    """Build the Brian2 copy of ``model`` for the inputs ``X`` ``(n_samples, n_in)``.

    For a spike input code, ``input_spikes`` ``(steps, n_samples, n_in)`` are the
    trains to replay (default: :func:`input_trains` of ``X`` and ``seed``). Sets
    ``prefs.codegen.target`` to ``codegen_target`` (runtime mode).
    """
    import brian2 as b2

    check_model(model)
    if codegen_target not in CODEGEN_TARGETS:
        raise ValueError(f"codegen_target: must be one of {CODEGEN_TARGETS}, got {codegen_target!r}")
    X = _array(X)
    if X.ndim != 2 or X.shape[1] != model.n_in or X.shape[0] < 1:
        raise ValueError(f"X: must have shape (n_samples, {model.n_in}), got {X.shape}")
    spikes = _trains(model, X, input_spikes, seed)
    b2.prefs.codegen.target = codegen_target
    dt = float(model.dt) * b2.second
    clock = b2.Clock(dt=dt, name="snn_clock")
    n = X.shape[0]
    beta = float(model.beta)
    namespace = {"tau_mem": float(model.tau_mem) * b2.second, "theta": float(model.threshold)}
    eqs = """
    dv/dt = (b_eff - v) / tau_mem : 1
    b_eff : 1 (constant)
    """
    weights = [_numpy(layer.weight) for layer in model.layers]
    biases = [_numpy(layer.bias) if layer.bias is not None else np.zeros(layer.weight.shape[0])
              for layer in model.layers]

    if spikes is None:
        inputs = b2.NeuronGroup(n * model.n_in, "x : 1 (constant)", threshold="True", reset="",
                               clock=clock, name="snn_inputs")
        inputs.x = X.ravel()
    else:
        t_idx, k, a = np.nonzero(spikes)  # step, sample, input
        inputs = b2.SpikeGeneratorGroup(n * model.n_in, k * model.n_in + a, t_idx * dt, clock=clock,
                                        name="snn_inputs")
    groups = [inputs]
    sizes = [*model.hidden, model.n_out]
    for li, size in enumerate(sizes):
        readout = li == len(sizes) - 1
        g = b2.NeuronGroup(
            n * size, eqs, method="exact", namespace=namespace, clock=clock,
            threshold=None if readout else "v > theta", reset=None if readout else "v -= theta",
            name="snn_readout" if readout else f"snn_hidden_{li}",
        )
        g.b_eff = np.tile(biases[li] / (1.0 - beta), n)
        g.v = 0.0
        groups.append(g)

    synapses = []
    for li in range(len(sizes)):
        pre, post = groups[li], groups[li + 1]
        n_pre = model.n_in if li == 0 else sizes[li - 1]
        i, j, entry = _block_pairs(n, n_pre, sizes[li])
        w = weights[li].ravel()[entry]
        if li == 0:
            active = X.ravel() != 0.0 if spikes is None else spikes.any(axis=0).ravel()
            keep = active[i]
            i, j, w = i[keep], j[keep], w[keep]
            on_pre = "v_post += w * x_pre" if spikes is None else "v_post += w"
        else:
            on_pre = "v_post += w"
        S = b2.Synapses(pre, post, "w : 1 (constant)", on_pre=on_pre, clock=clock, name=f"snn_synapses_{li}")
        S.connect(i=i, j=j)
        S.w = w
        synapses.append(S)

    monitor = b2.StateMonitor(groups[-1], "v", record=True, when="end", clock=clock, name="snn_readout_v")
    spike_monitors = [b2.SpikeMonitor(g, name=f"snn_spikes_{k}") for k, g in enumerate(groups[1:-1])]
    net = b2.Network(*groups, *synapses, monitor, *spike_monitors)
    return BrianSNN(net, groups, synapses, monitor, spike_monitors, n, int(model.steps), int(model.n_out), dt)


def predict(model: Any, X: Any, *, input_spikes: Any = None, seed: int = 0, batch_size: int = 128,
            codegen_target: str = "numpy", return_logits: bool = False
            ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Predicted classes ``(n_samples,)`` of the Brian2 copy of ``model`` on ``X``.

    Runs ``batch_size`` samples at a time (each batch a fresh network);
    ``return_logits`` also returns the time-averaged readout ``(n_samples, n_out)``.
    For a spike input code the trains are ``input_spikes`` ``(steps, n_samples,
    n_in)`` or, when not given, :func:`input_trains` of ``X`` and ``seed`` (drawn
    for all samples at once, so batching does not change them).
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size: must be an integer >= 1, got {batch_size!r}")
    X = _array(X)
    check_model(model)
    if X.ndim != 2 or X.shape[1] != model.n_in:
        raise ValueError(f"X: must have shape (n_samples, {model.n_in}), got {X.shape}")
    spikes = _trains(model, X, input_spikes, seed)
    logits = [to_brian(model, X[s:s + batch_size], codegen_target=codegen_target,
                       input_spikes=None if spikes is None else spikes[:, s:s + batch_size]).run()
              for s in range(0, len(X), batch_size)]
    out = np.concatenate(logits) if logits else np.zeros((0, model.n_out))
    classes = out.argmax(axis=1)
    return (classes, out) if return_logits else classes
