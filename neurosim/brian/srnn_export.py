"""Export a trained torch :class:`~neurosim.models.SpikingRNN` into Brian2, and run it on trials.

The Brian2 network repeats the torch model's discrete-time update exactly (see
:mod:`neurosim.models.srnn`); every object runs on one ``Clock`` with the model's ``dt``
(``brian2.defaultclock`` is left as it is):

* the recurrent units are one ``NeuronGroup`` with variables ``v``, ``isyn``
  (the synaptic current) and ``a`` (threshold adaptation), whose update of a
  step is ``run_regularly`` code in the ``groups`` slot::

      v = beta * v + (1 - beta) * (isyn + b);  isyn = alpha * isyn;  a = rho * a

  with ``threshold='v > theta + b_a * a'`` and
  ``reset='v -= theta + b_a * a; a += 1 - rho'``;
* the readout is a ``NeuronGroup`` of leaky integrators, ``y = kappa * y + b_o``
  each step, recorded at the end of every step (``StateMonitor(when='end')``);
* the input is a ``SpikeGeneratorGroup`` replaying the on/off spike trains the
  torch model ran (spike at step ``t`` -> time ``t * dt``);
* input -> recurrent (the model's ``input_weight``: with feedforward inhibition,
  a channel's weight plus its relay's, since the relay fires with it) and
  recurrent -> recurrent ``Synapses`` have
  ``on_pre='isyn_post += w'`` and E -> readout ``on_pre='y_post += w'``, with the
  signed weights ``w = sign(pre) * size``.

Brian2's schedule within a step (groups, thresholds, synapses, resets) is the
order of the torch update, so given the same input trains the two agree spike
for spike up to floating-point rounding (Brian2 computes in float64). Trials run
as independent copies of the network (block-diagonal synapses). Runtime mode
(``"numpy"``, ``"cython"``) runs ``batch_size`` trials per network;
``"cpp_standalone"`` builds and runs one C++ program for all trials given.

This module imports only brian2 and numpy (and torch to draw trains it is not given).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from neurosim.brian.export import _array, _block_pairs, _numpy, check_model, check_trains

__all__ = ["BrianSRNN", "CODEGEN_TARGETS", "input_trains", "run_trials", "to_brian"]

CODEGEN_TARGETS = ("numpy", "cython", "cpp_standalone")
_REQUIRED = ("input", "input_weight", "recurrent", "readout", "adapt", "n_in", "n_rec", "n_exc", "n_out", "dt",
             "beta", "alpha", "rho", "kappa", "threshold", "encode")


@dataclass
class BrianSRNN:
    """A Brian2 copy of a spiking RNN for ``n_trials`` trials at once.

    ``network`` holds the groups ``inputs``, ``units``, ``readout``, the three
    ``synapses``, the readout ``monitor`` and the units' ``spike_monitor``;
    trial ``k`` owns units ``k * n_rec .. (k + 1) * n_rec - 1`` (and likewise
    for the inputs and readout).
    """

    network: Any
    units: Any
    readout: Any
    synapses: list[Any]
    monitor: Any
    spike_monitor: Any
    n_trials: int
    steps: int
    n_rec: int
    n_out: int
    dt: Any  # the clock's time step (a Brian2 quantity)

    def run(self) -> tuple[np.ndarray, np.ndarray]:
        """Run every step (runtime device); return :meth:`results`."""
        self.network.run(self.steps * self.dt)
        return self.results()

    def results(self) -> tuple[np.ndarray, np.ndarray]:
        """The outputs ``(steps, n_trials, n_out)`` and the spike counts per trial and unit
        ``(n_trials, n_rec)`` of a finished run."""
        y = np.asarray(self.monitor.y)  # (n_trials * n_out, steps)
        out = y.reshape(self.n_trials, self.n_out, self.steps).transpose(2, 0, 1)
        counts = np.asarray(self.spike_monitor.count, dtype=np.int64).reshape(self.n_trials, self.n_rec)
        return out, counts


def _check_model(model: Any) -> None:
    check_model(model, _REQUIRED, "SpikingRNN")


def _check_inputs(model: Any, U: Any) -> np.ndarray:
    U = _array(U)
    if U.ndim != 3 or U.shape[2] != model.n_in or U.shape[0] < 1 or U.shape[1] < 1:
        raise ValueError(f"U: must have shape (T, n_trials, {model.n_in}) with T, n_trials >= 1, got {U.shape}")
    return U


def input_trains(model: Any, U: Any, seed: int = 0) -> np.ndarray:
    """The on/off input trains ``(T, n_trials, 2 n_in)`` that ``model`` draws for ``U`` from ``seed``.

    The same as ``model.encode(U, generator=torch.Generator().manual_seed(seed))``;
    pass them to the torch model (``input_spikes=``) and to :func:`run_trials`.
    """
    import torch

    _check_model(model)
    U = _check_inputs(model, U)
    u = torch.as_tensor(U, dtype=torch.float32)
    gen = torch.Generator().manual_seed(int(seed))
    return model.encode(u, generator=gen).cpu().numpy().astype(np.float64)


def _check_spikes(model: Any, spikes: Any, shape: tuple[int, int]) -> np.ndarray:
    """On/off trains ``(T, n_trials, 2 n_in)`` for trials of ``shape`` ``(T, n_trials)``."""
    return check_trains(spikes, (shape[0], shape[1], 2 * int(model.n_in)))


def to_brian(model: Any, U: Any, *, input_spikes: Any = None, seed: int = 0,
             codegen_target: str = "numpy") -> BrianSRNN:
    """Build the Brian2 copy of ``model`` for task inputs ``U`` ``(T, n_trials, n_in)``.

    ``input_spikes`` ``(T, n_trials, 2 n_in)`` are the trains to replay
    (default: :func:`input_trains` of ``U`` and ``seed``). Sets, for ``"numpy"``
    / ``"cython"``, ``prefs.codegen.target``; for ``"cpp_standalone"`` the caller
    sets the device (:func:`run_trials` does).
    """
    import brian2 as b2

    _check_model(model)
    if codegen_target not in CODEGEN_TARGETS:
        raise ValueError(f"codegen_target: must be one of {CODEGEN_TARGETS}, got {codegen_target!r}")
    U = _check_inputs(model, U)
    T, n, _ = U.shape
    spikes = _check_spikes(model, input_spikes if input_spikes is not None else input_trains(model, U, seed),
                           (T, n))
    if codegen_target != "cpp_standalone":
        b2.prefs.codegen.target = codegen_target
    dt = float(model.dt) * b2.second
    clock = b2.Clock(dt=dt, name="srnn_clock")
    N, n_exc, n_out, n_ch = int(model.n_rec), int(model.n_exc), int(model.n_out), 2 * int(model.n_in)
    ns = {"beta": float(model.beta), "alpha": float(model.alpha), "rho": float(model.rho),
          "kappa": float(model.kappa), "theta": float(model.threshold)}

    t_idx, k, c = np.nonzero(spikes)  # step, trial, channel
    inputs = b2.SpikeGeneratorGroup(n * n_ch, k * n_ch + c, t_idx * dt, clock=clock, name="srnn_inputs")
    units = b2.NeuronGroup(n * N, "v : 1\nisyn : 1\na : 1\nb : 1 (constant)\nb_a : 1 (constant)",
                           threshold="v > theta + b_a * a", reset="v -= theta + b_a * a\na += 1 - rho",
                           namespace=ns, clock=clock, name="srnn_units")
    units.run_regularly("v = beta * v + (1 - beta) * (isyn + b)\nisyn = alpha * isyn\na = rho * a",
                        when="groups", clock=clock, name="srnn_update")
    units.b = np.tile(_numpy(model.input.bias), n)
    units.b_a = np.tile(_numpy(model.adapt), n)
    readout = b2.NeuronGroup(n * n_out, "y : 1\nb_o : 1 (constant)", namespace=ns, clock=clock,
                             name="srnn_readout")
    readout.run_regularly("y = kappa * y + b_o", when="groups", clock=clock, name="srnn_readout_update")
    readout.b_o = np.tile(_numpy(model.readout.bias), n)

    synapses = []
    for name, pre, post, W, n_pre, n_post, target, keep_pre in (
            ("srnn_input", inputs, units, _numpy(model.input_weight), n_ch, N, "isyn",
             spikes.any(axis=0).ravel()),
            ("srnn_recurrent", units, units, _numpy(model.recurrent.weight), N, N, "isyn", None),
            ("srnn_to_readout", units, readout, _numpy(model.readout.weight), n_exc, n_out, "y", None)):
        i, j, entry = _block_pairs(n, n_pre, n_post)
        w = W.ravel()[entry]
        if name == "srnn_to_readout":  # E units only: unit index within the trial's block of N
            i = (i // n_exc) * N + i % n_exc
        keep = w != 0.0
        if keep_pre is not None:
            keep &= keep_pre[i]  # inputs that never spike need no synapses
        S = b2.Synapses(pre, post, "w : 1 (constant)", on_pre=f"{target}_post += w", clock=clock, name=name)
        S.connect(i=i[keep], j=j[keep])
        S.w = w[keep]
        synapses.append(S)
    monitor = b2.StateMonitor(readout, "y", record=True, when="end", clock=clock, name="srnn_readout_y")
    spike_monitor = b2.SpikeMonitor(units, name="srnn_spikes")
    net = b2.Network(inputs, units, readout, *synapses, monitor, spike_monitor)
    return BrianSRNN(net, units, readout, synapses, monitor, spike_monitor, n, T, N, n_out, dt)


def run_trials(model: Any, U: Any, *, input_spikes: Any = None, seed: int = 0, batch_size: int = 64,
               codegen_target: str = "numpy", directory: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Run ``model``'s Brian2 copy on the trials ``U`` ``(T, n_trials, n_in)``.

    Returns the readout ``(T, n_trials, n_out)`` (the torch model's outputs) and
    the spike counts ``(n_trials, n_rec)``. Runtime targets run ``batch_size``
    trials per network; ``"cpp_standalone"`` builds one program for all trials
    in ``directory`` (default: a new temporary directory) and restores the
    runtime device afterwards (:func:`neurosim.brian.record.brian_device`). The
    input trains are ``input_spikes`` or, when not given, :func:`input_trains` of
    ``U`` and ``seed`` (drawn for all trials at once, so batching does not change them).
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size: must be an integer >= 1, got {batch_size!r}")
    _check_model(model)
    U = _check_inputs(model, U)
    spikes = _check_spikes(model, input_spikes if input_spikes is not None else input_trains(model, U, seed),
                           U.shape[:2])
    if codegen_target == "cpp_standalone":
        return _run_standalone(model, U, spikes, directory)
    outs, counts = [], []
    for s in range(0, U.shape[1], batch_size):
        o, c = to_brian(model, U[:, s:s + batch_size], input_spikes=spikes[:, s:s + batch_size],
                        codegen_target=codegen_target).run()
        outs.append(o)
        counts.append(c)
    return np.concatenate(outs, axis=1), np.concatenate(counts)


def _run_standalone(model: Any, U: np.ndarray, spikes: np.ndarray, directory: str | None
                    ) -> tuple[np.ndarray, np.ndarray]:
    from neurosim.brian.record import brian_device, build_and_run

    with brian_device("standalone", directory) as build_dir:
        net = to_brian(model, U, input_spikes=spikes, codegen_target="cpp_standalone")
        net.network.run(net.steps * net.dt)
        build_and_run(build_dir, with_output=False)
        return net.results()
