"""Any registered neurogym task as a neurosim task: whole trials, fixed-length batches, a decision mask.

neurogym (Molano-Mazon et al. 2022, "NeuroGym: An open resource for developing
and sharing neuroscience tasks") is the field's task library; it is an optional
extra (``pip install "neurosim[neurogym]"``). :class:`NeurogymTask` wraps one of
its ``TrialEnv`` environments so that the runner, the decision scoring and the
psychometric report treat it as they treat :mod:`neurosim.tasks.cognitive`:

- **dt** is given once, in ms (the runner passes ``network.dt`` converted from
  s), and handed to the environment.
- **Whole trials**: each trial is drawn with the environment's ``new_trial``
  (its observations ``ob`` and ground truth ``gt``); trials of variable length
  are padded with zeros to ``T`` steps (``seq_len``, or the longest of 500
  trials drawn when the task is made); a longer trial is drawn again.
- **Targets and mask**: the target is neurogym's ground truth (0 = fixate,
  ``1 .. n_out - 1`` = choices). The mask is 1 on the steps with a non-zero
  target (the decision period), ``fixation_weight`` on the other steps of the
  trial and 0 on the padding: neurosim's convention (neurogym's ``Dataset``
  weighs every step alike).
- **Per-trial info** (what ``ngym.Dataset`` drops): ``choice`` (the target in
  the decision period) and every numeric scalar of the environment's trial
  dict (e.g. ``coh`` and ``ground_truth``); ``coh`` is also given as
  ``coherence``, and for two-choice tasks ``signed_coherence`` (positive
  favours choice 1), so :func:`~neurosim.tasks.psychometric` works.

Where neurogym's ``PerceptualDecisionMaking-v0`` and neurosim's
:class:`~neurosim.tasks.PerceptualDecisionMaking` agree and differ: the
evidence means ``(1 +- c/100) / 2`` and the per-step noise ``sigma /
sqrt(dt / ms)`` are the same (tested); neurogym's default timing is 100 ms
fixation, 2000 ms stimulus, 100 ms decision (neurosim: 300, 700, 300), its
fixation input is 1 during the fixation period only (neurosim: until the
decision, through the stimulus, as in Song et al. 2016), and its coherences
are 0, 6.4, ..., 51.2 % (neurosim adds 3.2 %).
"""

from __future__ import annotations

import difflib
import warnings
from typing import Any

import numpy as np

from neurosim import validate as V
from neurosim.tasks.cognitive import FIXATION_WEIGHT, as_rng

__all__ = ["EXTRA_HINT", "NeurogymTask"]

#: What to do when neurogym is missing (the runner prefixes the key, ``task.name``).
EXTRA_HINT = 'needs the neurogym extra: pip install "neurosim[neurogym]"'
LENGTH_PROBE_TRIALS = 500
MAX_REDRAWS = 1000


def _import_neurogym() -> Any:
    try:
        import neurogym
    except ImportError as exc:
        raise ValueError(f"NeurogymTask {EXTRA_HINT}") from exc
    return neurogym


class NeurogymTask:
    """A neurogym environment as a batch generator of whole, padded trials.

    Parameters
    ----------
    env : str
        A registered neurogym environment, e.g. ``"PerceptualDecisionMaking-v0"``.
    dt : float
        Time step (ms) given to the environment; default 20.
    seq_len : int, optional
        Steps per batch (trials padded to it); default: the longest of 500 trials.
    fixation_weight : float
        Mask weight of the trial's steps without a decision target (default 0.2).
    kwargs : dict, optional
        Keyword arguments of the environment (e.g. ``{"timing": {"stimulus": 700}}``);
        ``dt`` goes in ``dt``, not here.

    Attributes
    ----------
    T, n_in, n_out, dt, params, name
        As for :class:`~neurosim.tasks.CognitiveTask`.
    """

    def __init__(self, env: str = "PerceptualDecisionMaking-v0", dt: float = 20.0, seq_len: int | None = None,
                 fixation_weight: float = FIXATION_WEIGHT, kwargs: dict[str, Any] | None = None) -> None:
        ngym = _import_neurogym()
        self.env_id = V.string("env", env)
        self.dt = V.real("dt", dt, gt=0.0)
        self.fixation_weight = V.real("fixation_weight", fixation_weight, ge=0.0)
        kwargs = dict(kwargs or {})
        if "dt" in kwargs:
            raise ValueError("kwargs: give the time step as dt (ms), not inside kwargs")
        from neurogym.envs.registration import all_envs

        known = sorted(all_envs())
        if self.env_id not in known:
            close = difflib.get_close_matches(self.env_id, known, n=1, cutoff=0.5)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"env: {self.env_id!r} is not a registered neurogym environment.{hint}")
        try:
            with warnings.catch_warnings():  # gymnasium's note that neurogym lists no render modes
                warnings.simplefilter("ignore", UserWarning)
                self._env = ngym.make(self.env_id, dt=self.dt, **kwargs).unwrapped
        except TypeError as exc:
            raise ValueError(f"kwargs: {exc}") from exc
        self.name = f"neurogym:{self.env_id}"
        self.n_in = int(self._env.observation_space.shape[0])
        self.n_out = int(self._env.action_space.n)
        if seq_len is None:
            self._env.seed(0)
            T = max(self._trial()[0].shape[0] for _ in range(LENGTH_PROBE_TRIALS))
        else:
            T = V.integer("seq_len", seq_len, ge=1)
        self.T = int(T)
        self.params = {"env": self.env_id, "dt": self.dt, "seq_len": seq_len,
                       "fixation_weight": self.fixation_weight, "kwargs": kwargs}

    def __repr__(self) -> str:
        return f"NeurogymTask(env={self.env_id!r}, dt={self.dt:g}, T={self.T})"

    def _trial(self) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        trial = self._env.new_trial()
        ob = np.asarray(self._env.ob, dtype=np.float32)
        gt = np.asarray(self._env.gt, dtype=np.int64).reshape(-1)
        if ob.ndim != 2 or gt.shape[0] != ob.shape[0]:
            raise ValueError(f"env: {self.env_id} gives observations of shape {ob.shape} and ground truth of "
                             f"shape {gt.shape}; neurosim needs (T, n_in) and (T,)")
        return ob, gt, dict(trial or {})

    def batch(self, batch_size: int, rng: np.random.Generator, return_info: bool = False
              ) -> tuple[np.ndarray, ...] | tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """``inputs`` ``(T, B, n_in)``, ``targets`` ``(T, B)``, ``mask`` ``(T, B)`` [, ``info``].

        The environment is reseeded from ``rng``, so the same generator state
        gives the same batch.
        """
        B = V.integer("batch_size", batch_size, ge=1)
        self._env.seed(int(as_rng(rng).integers(0, 2**31 - 1)))
        inputs = np.zeros((self.T, B, self.n_in), dtype=np.float32)
        targets = np.zeros((self.T, B), dtype=np.int64)
        mask = np.zeros((self.T, B), dtype=np.float32)
        rows: list[dict[str, Any]] = []
        for b in range(B):
            for _ in range(MAX_REDRAWS):
                ob, gt, trial = self._trial()
                if ob.shape[0] <= self.T:
                    break
            else:
                raise ValueError(f"seq_len: {MAX_REDRAWS} trials in a row were longer than {self.T} steps")
            if not (gt != 0).any():
                raise ValueError(f"env: {self.env_id} gave a trial with no decision target (ground truth all 0)")
            n = ob.shape[0]
            inputs[:n, b] = ob
            targets[:n, b] = gt
            mask[:n, b] = np.where(gt != 0, 1.0, self.fixation_weight)
            rows.append({"choice": int(gt[gt != 0][0]), **trial})
        if return_info:
            return inputs, targets, mask, self._info(rows)
        return inputs, targets, mask

    def _info(self, rows: list[dict[str, Any]]) -> dict[str, np.ndarray]:
        info: dict[str, np.ndarray] = {"choice": np.array([r["choice"] for r in rows], dtype=np.int64)}
        for key in rows[0]:
            vals = [r.get(key) for r in rows]
            if key == "choice" or not all(isinstance(v, (int, float, np.integer, np.floating))
                                          and not isinstance(v, bool) for v in vals):
                continue
            info[key] = np.asarray(vals, dtype=np.float64)
        if "coh" in info:
            info["coherence"] = info["coh"]
            if self.n_out == 3:
                info["signed_coherence"] = np.where(info["choice"] == 1, info["coh"], -info["coh"]) + 0.0
        return info
