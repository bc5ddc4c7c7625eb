"""Generated cognitive tasks for rate RNNs, with a neurogym-like interface.

The task designs follow Song, Yang & Wang 2016 (PLoS Comput. Biol. 12:e1004792,
"Training excitatory-inhibitory recurrent neural networks for cognitive tasks"),
who trained Dale-constrained rate RNNs on them; the interface (epochs in ms, a
fixation input, class targets with 0 = fixate) follows neurogym (Molano-Mazon et
al. 2022, "NeuroGym: An open resource for developing and sharing neuroscience
tasks").

Conventions shared by every task
--------------------------------
- Time is discretised in steps of ``dt`` ms (default 20 ms); every epoch
  duration is given in ms, and each epoch boundary (the cumulative time in ms)
  is rounded half up to a whole step. Epoch durations are fixed
  (not drawn per trial), so every trial of a task has the same length ``T``
  steps and a batch is one array.
- Input 0 is the **fixation** cue: 1 before the decision epoch, 0 during it (the
  "go" signal).
- Output 0 means **fixate**; outputs ``1 .. n_out - 1`` are the choices. The
  target is 0 before the decision epoch and the correct choice during it.
- The **mask** weighs the loss per step: 1 in the decision epoch and
  ``fixation_weight`` (default 0.2) before it, so that holding fixation is
  trained but the choice dominates.
- Evidence inputs carry Gaussian noise during their stimulus epochs only. The
  per-step standard deviation is ``sigma / sqrt(dt / 1 ms)``, so the noise of
  evidence integrated over a fixed duration in ms does not depend on ``dt``
  (neurogym's convention).
- ``batch(batch_size, rng)`` returns ``inputs`` ``float32 (T, B, n_in)``,
  ``targets`` ``int64 (T, B)`` and ``mask`` ``float32 (T, B)``; with
  ``return_info=True`` a fourth item, a dict of per-trial arrays of length ``B``
  (always holding ``choice``, the correct choice 1..k).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from neurosim import validate as V

__all__ = [
    "FIXATION_WEIGHT",
    "CognitiveTask",
    "ContextDependentIntegration",
    "ParametricWorkingMemory",
    "PerceptualDecisionMaking",
]

Batch = tuple[np.ndarray, np.ndarray, np.ndarray]

#: Default loss weight of the steps before the decision (every task here and :class:`NeurogymTask`).
FIXATION_WEIGHT = 0.2


# ----------------------------------------------------------------------------- checks
def _check_number(name: str, value: Any, *, low: float = 0.0, allow_low: bool = True) -> float:
    """A finite number ``>= low`` (``> low`` unless ``allow_low``)."""
    return V.real(name, value, ge=low) if allow_low else V.real(name, value, gt=low)


def as_rng(rng: Any) -> np.random.Generator:
    """``rng`` as a numpy Generator: a Generator as it is, a non-negative int as its seed."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) and rng >= 0:
        return np.random.default_rng(int(rng))
    raise ValueError(f"rng: must be a numpy.random.Generator (or a non-negative int seed), got {type(rng).__name__}")


# ----------------------------------------------------------------------------- base class
class CognitiveTask:
    """Base class: epochs of fixed duration, fixation input, class targets, a mask.

    Subclasses set ``name``, ``input_names``, ``output_names`` and implement
    :meth:`_fill`. See the module docstring for the shared conventions.

    Attributes
    ----------
    dt : float
        Time step (ms).
    T : int
        Number of time steps per trial.
    n_in, n_out : int
        Number of inputs and outputs (output 0 = fixate).
    epochs : dict[str, tuple[int, int]]
        Each epoch's ``(start, stop)`` step indices, in trial order; the last is
        ``"decision"``.
    params : dict[str, Any]
        The parameters the task was made with (for recording in a run directory).
    """

    name: ClassVar[str] = ""
    input_names: ClassVar[tuple[str, ...]] = ()
    output_names: ClassVar[tuple[str, ...]] = ()
    #: epochs whose duration may be 0 ms
    _optional_epochs: ClassVar[tuple[str, ...]] = ("delay",)

    def __init__(self, dt: float, durations: dict[str, float], sigma: float, fixation_weight: float,
                 **extra: Any) -> None:
        """Check the shared arguments and lay out the epochs; ``extra`` are the subclass's own
        (already checked) parameters, recorded with the rest in :attr:`params`."""
        params = dict(durations, dt=dt, sigma=sigma, fixation_weight=fixation_weight, **extra)
        self.dt = _check_number("dt", dt, allow_low=False)
        self.sigma = _check_number("sigma", sigma)
        self.fixation_weight = _check_number("fixation_weight", fixation_weight)
        self.durations = {k: _check_number(k, v) for k, v in durations.items()}
        bounds: dict[str, tuple[int, int]] = {}
        t_ms = 0.0
        start = 0
        for ep, dur in self.durations.items():
            t_ms += dur
            stop = int(math.floor(t_ms / self.dt + 0.5 + 1e-9))  # round half up
            if stop == start and ep not in self._optional_epochs:
                raise ValueError(
                    f"{ep}={dur:g} ms is shorter than one time step (dt={self.dt:g} ms); "
                    f"it must last at least dt/2"
                )
            bounds[ep] = (start, stop)
            start = stop
        self.epochs = bounds
        self.T = int(start)
        self.params = dict(params)
        self.n_in = len(self.input_names)
        self.n_out = len(self.output_names)
        self._step_sigma = self.sigma / math.sqrt(self.dt)
        d0, d1 = self.epochs["decision"]
        mask = np.full(self.T, self.fixation_weight, dtype=np.float32)
        mask[d0:d1] = 1.0
        self._mask = mask

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"

    @property
    def decision_epoch(self) -> tuple[int, int]:
        """``(start, stop)`` steps of the decision epoch."""
        return self.epochs["decision"]

    def batch(
        self, batch_size: int, rng: np.random.Generator, return_info: bool = False
    ) -> Batch | tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """Generate a batch of trials.

        Parameters
        ----------
        batch_size : int
            Number of trials ``B``.
        rng : numpy.random.Generator
            Source of all randomness (conditions and noise); the same generator
            state gives the same batch. A non-negative int is taken as a seed.
        return_info : bool
            Also return a dict of per-trial arrays (the trial conditions).

        Returns
        -------
        inputs : numpy.ndarray
            ``float32 (T, B, n_in)``.
        targets : numpy.ndarray
            ``int64 (T, B)``: 0 = fixate, 1..k = choice.
        mask : numpy.ndarray
            ``float32 (T, B)``: 1 in the decision epoch, ``fixation_weight`` before.
        info : dict[str, numpy.ndarray], optional
            Only with ``return_info=True``; always has ``choice`` (correct choice).
        """
        B = V.integer("batch_size", batch_size, ge=1)
        gen = as_rng(rng)
        inputs = np.zeros((self.T, B, self.n_in), dtype=np.float32)
        targets = np.zeros((self.T, B), dtype=np.int64)
        d0, d1 = self.decision_epoch
        inputs[:d0, :, 0] = 1.0
        info = self._fill(inputs, gen)
        targets[d0:d1, :] = info["choice"][None, :]
        mask = np.repeat(self._mask[:, None], B, axis=1)
        if return_info:
            return inputs, targets, mask, info
        return inputs, targets, mask

    def _noise(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        return (self._step_sigma * rng.standard_normal(shape)).astype(np.float32)

    def _fill(self, inputs: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
        raise NotImplementedError


def _draw_signed_coherence(
    rng: np.random.Generator, cohs: tuple[float, ...], B: int
) -> tuple[np.ndarray, np.ndarray]:
    """Unsigned coherence from ``cohs`` and a side (1 or 2), both uniform."""
    coh = rng.choice(np.asarray(cohs), size=B)
    side = rng.integers(1, 3, size=B)
    return coh, side


# ----------------------------------------------------------------------------- tasks
class PerceptualDecisionMaking(CognitiveTask):
    """Random-dots-like perceptual decision making (two-alternative forced choice).

    Design after Song, Yang & Wang 2016 (their perceptual decision-making task,
    after Roitman & Shadlen 2002) in neurogym's form. Each trial: fixation,
    stimulus, optional delay, decision. During the stimulus two evidence inputs
    have means ``(1 + c/100) / 2`` (for the correct side) and ``(1 - c/100) / 2``
    (the other), with coherence ``c`` in % drawn uniformly from ``coherences``,
    plus independent Gaussian noise. At ``c = 0`` both means are equal and the
    correct side is random (drawn uniformly), so no strategy beats chance.

    Parameters
    ----------
    dt : float
        Time step (ms), default 20.
    fixation, stimulus, delay, decision : float
        Epoch durations (ms): 300, 700, 0, 300.
    coherences : sequence of float
        Unsigned coherences (%) in [0, 100], default (0, 3.2, 6.4, 12.8, 25.6, 51.2).
    sigma : float
        Input noise; per-step std ``sigma / sqrt(dt / ms)``. Default 1.0
        (0.224 per step at dt = 20 ms).
    fixation_weight : float
        Mask weight of the steps before the decision epoch (default 0.2).

    Notes
    -----
    Inputs: ``fixation``, ``evidence_1``, ``evidence_2``. Outputs: ``fixate``,
    ``choice_1``, ``choice_2``. Info: ``coherence`` (unsigned %),
    ``signed_coherence`` (% , positive favours choice 1), ``choice`` (1 or 2).
    """

    name = "perceptual_decision_making"
    input_names = ("fixation", "evidence_1", "evidence_2")
    output_names = ("fixate", "choice_1", "choice_2")

    def __init__(
        self,
        dt: float = 20.0,
        fixation: float = 300.0,
        stimulus: float = 700.0,
        delay: float = 0.0,
        decision: float = 300.0,
        coherences: tuple[float, ...] = (0.0, 3.2, 6.4, 12.8, 25.6, 51.2),
        sigma: float = 1.0,
        fixation_weight: float = FIXATION_WEIGHT,
    ) -> None:
        self.coherences = V.reals("coherences", coherences, ge=0.0, le=100.0)
        super().__init__(dt, {"fixation": fixation, "stimulus": stimulus, "delay": delay, "decision": decision},
                         sigma, fixation_weight, coherences=self.coherences)

    def _fill(self, inputs: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
        B = inputs.shape[1]
        coh, choice = _draw_signed_coherence(rng, self.coherences, B)
        s0, s1 = self.epochs["stimulus"]
        signed = np.where(choice == 1, coh, -coh) + 0.0  # + 0.0 turns -0.0 into 0.0
        mean1 = (1.0 + signed / 100.0) / 2.0
        mean2 = (1.0 - signed / 100.0) / 2.0
        inputs[s0:s1, :, 1] = mean1[None, :]
        inputs[s0:s1, :, 2] = mean2[None, :]
        inputs[s0:s1, :, 1:3] += self._noise(rng, (s1 - s0, B, 2))
        return {
            "coherence": coh.astype(np.float64),
            "signed_coherence": signed.astype(np.float64),
            "choice": choice.astype(np.int64),
        }


class ContextDependentIntegration(CognitiveTask):
    """Context-dependent integration of one of two noisy streams (Mante et al. 2013).

    After Mante, Sussillo, Shenoy & Newsome 2013 (Nature 503:78) as trained by
    Song, Yang & Wang 2016 in E/I networks. Two streams, "motion" and "colour",
    each with a signed coherence (sign drawn uniformly, magnitude from
    ``coherences``, drawn independently), are presented together; a context cue,
    on for the whole trial before the decision, says which stream to report. The
    correct choice is the sign of the cued stream (1 for positive, 2 for
    negative; random when its coherence is 0); the other stream is to be ignored.

    Parameters
    ----------
    dt : float
        Time step (ms), default 20.
    fixation, stimulus, delay, decision : float
        Epoch durations (ms): 300, 750, 300, 300.
    coherences : sequence of float
        Unsigned coherences (%) in [0, 100], default (5, 15, 50).
    sigma : float
        Input noise; per-step std ``sigma / sqrt(dt / ms)``. Default 1.0.
    fixation_weight : float
        Mask weight of the steps before the decision epoch (default 0.2).

    Notes
    -----
    Inputs: ``fixation``, ``motion_1``, ``motion_2``, ``colour_1``, ``colour_2``
    (each stream as two channels with means ``(1 +- c/100) / 2``),
    ``context_motion``, ``context_colour``. Outputs: ``fixate``, ``choice_1``,
    ``choice_2``. Info: ``context`` (0 = motion, 1 = colour),
    ``coherence_motion``, ``coherence_colour`` (signed %), ``signed_coherence``
    (the cued stream's), ``congruent`` (both streams point the same way),
    ``choice`` (1 or 2).
    """

    name = "context_dependent_integration"
    input_names = ("fixation", "motion_1", "motion_2", "colour_1", "colour_2",
                   "context_motion", "context_colour")  # fmt: skip
    output_names = ("fixate", "choice_1", "choice_2")

    def __init__(
        self,
        dt: float = 20.0,
        fixation: float = 300.0,
        stimulus: float = 750.0,
        delay: float = 300.0,
        decision: float = 300.0,
        coherences: tuple[float, ...] = (5.0, 15.0, 50.0),
        sigma: float = 1.0,
        fixation_weight: float = FIXATION_WEIGHT,
    ) -> None:
        self.coherences = V.reals("coherences", coherences, ge=0.0, le=100.0)
        super().__init__(dt, {"fixation": fixation, "stimulus": stimulus, "delay": delay, "decision": decision},
                         sigma, fixation_weight, coherences=self.coherences)

    def _fill(self, inputs: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
        B = inputs.shape[1]
        context = rng.integers(0, 2, size=B)
        coh_m, side_m = _draw_signed_coherence(rng, self.coherences, B)
        coh_c, side_c = _draw_signed_coherence(rng, self.coherences, B)
        sm = np.where(side_m == 1, coh_m, -coh_m) + 0.0
        sc = np.where(side_c == 1, coh_c, -coh_c) + 0.0
        s0, s1 = self.epochs["stimulus"]
        for ch, signed in ((1, sm), (3, sc)):
            inputs[s0:s1, :, ch] = ((1.0 + signed / 100.0) / 2.0)[None, :]
            inputs[s0:s1, :, ch + 1] = ((1.0 - signed / 100.0) / 2.0)[None, :]
        inputs[s0:s1, :, 1:5] += self._noise(rng, (s1 - s0, B, 4))
        d0 = self.epochs["decision"][0]
        inputs[:d0, :, 5] = (context == 0)[None, :]
        inputs[:d0, :, 6] = (context == 1)[None, :]
        choice = np.where(context == 0, side_m, side_c)
        return {
            "context": context.astype(np.int64),
            "coherence_motion": sm.astype(np.float64),
            "coherence_colour": sc.astype(np.float64),
            "signed_coherence": np.where(context == 0, sm, sc).astype(np.float64),
            "congruent": (side_m == side_c),
            "choice": choice.astype(np.int64),
        }


class ParametricWorkingMemory(CognitiveTask):
    """Parametric working memory: is the first vibration faster than the second?

    After Romo, Brody, Hernandez & Lemus 1999 (Nature 399:470) as trained by
    Song, Yang & Wang 2016. A base frequency ``f1`` (Hz) is presented, then a
    delay, then ``f2 = f1 +- delta_f`` (side drawn uniformly; when one side
    leaves ``[f_min, f_max]`` the other is used). The correct choice is 1 when
    ``f1 > f2`` and 2 when ``f1 < f2``.

    A frequency is given as a pair of inputs (a positively and a negatively tuned
    one, as in Song et al. 2016): ``u = (f - f_min) / (f_max - f_min)`` and
    ``1 - u``, plus noise, during its stimulus epoch; both are 0 otherwise.

    Parameters
    ----------
    dt : float
        Time step (ms), default 20.
    fixation, f1, delay, f2, decision : float
        Epoch durations (ms): 300, 500, 1000, 500, 300.
    frequencies : sequence of float
        Possible ``f1`` values (Hz), default 10, 14, ..., 34.
    delta_f : float
        ``|f1 - f2|`` (Hz), default 8.
    f_min, f_max : float
        Frequency range (Hz) mapped onto ``[0, 1]``, default 10 and 34.
    sigma : float
        Input noise; per-step std ``sigma / sqrt(dt / ms)``. Default 1.0.
    fixation_weight : float
        Mask weight of the steps before the decision epoch (default 0.2).

    Notes
    -----
    Inputs: ``fixation``, ``f_pos``, ``f_neg``. Outputs: ``fixate``,
    ``f1_greater``, ``f1_smaller``. Info: ``f1``, ``f2`` (Hz), ``choice`` (1 or 2).
    """

    name = "parametric_working_memory"
    input_names = ("fixation", "f_pos", "f_neg")
    output_names = ("fixate", "f1_greater", "f1_smaller")

    def __init__(
        self,
        dt: float = 20.0,
        fixation: float = 300.0,
        f1: float = 500.0,
        delay: float = 1000.0,
        f2: float = 500.0,
        decision: float = 300.0,
        frequencies: tuple[float, ...] = (10.0, 14.0, 18.0, 22.0, 26.0, 30.0, 34.0),
        delta_f: float = 8.0,
        f_min: float = 10.0,
        f_max: float = 34.0,
        sigma: float = 1.0,
        fixation_weight: float = FIXATION_WEIGHT,
    ) -> None:
        self.f_min = _check_number("f_min", f_min)
        self.f_max = _check_number("f_max", f_max)
        if self.f_max <= self.f_min:
            raise ValueError(f"f_max must be > f_min, got f_min={f_min!r}, f_max={f_max!r}")
        self.delta_f = _check_number("delta_f", delta_f, allow_low=False)
        self.frequencies = V.reals("frequencies", frequencies, ge=self.f_min, le=self.f_max)
        for f in self.frequencies:
            if f - self.delta_f < self.f_min and f + self.delta_f > self.f_max:
                raise ValueError(
                    f"delta_f={delta_f!r} Hz is too large: f1={f:g} Hz has no f2 = f1 +- delta_f "
                    f"in [f_min, f_max] = [{self.f_min:g}, {self.f_max:g}]"
                )
        super().__init__(dt, {"fixation": fixation, "f1": f1, "delay": delay, "f2": f2, "decision": decision},
                         sigma, fixation_weight, frequencies=self.frequencies, delta_f=delta_f, f_min=f_min,
                         f_max=f_max)

    def _scale(self, f: np.ndarray) -> np.ndarray:
        return (f - self.f_min) / (self.f_max - self.f_min)

    def _fill(self, inputs: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
        B = inputs.shape[1]
        f1 = rng.choice(np.asarray(self.frequencies), size=B)
        up = rng.integers(0, 2, size=B).astype(bool)
        up = np.where(f1 + self.delta_f > self.f_max, False, up)
        up = np.where(f1 - self.delta_f < self.f_min, True, up)
        f2 = np.where(up, f1 + self.delta_f, f1 - self.delta_f)
        for ep, f in (("f1", f1), ("f2", f2)):
            a, b = self.epochs[ep]
            u = self._scale(f)
            inputs[a:b, :, 1] = u[None, :]
            inputs[a:b, :, 2] = (1.0 - u)[None, :]
            inputs[a:b, :, 1:3] += self._noise(rng, (b - a, B, 2))
        choice = np.where(f1 > f2, 1, 2)
        return {"f1": f1.astype(np.float64), "f2": f2.astype(np.float64),
                "choice": choice.astype(np.int64)}  # fmt: skip
