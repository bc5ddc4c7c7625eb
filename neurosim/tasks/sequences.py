"""Sequence data of one's own for the rate RNNs: an ``.npz`` of trials, split by seed.

The file (``numpy.savez``) holds

- ``X``: numeric inputs, shape ``(T, B, n_in)`` (time, trials, inputs), all finite;
- ``y``: integer targets, shape ``(T, B)``, in ``0 .. n_out - 1`` with
  neurosim's decision convention: 0 = fixate (no response), ``1 ..`` = the
  choices; every trial needs at least one step with a non-zero target and a
  positive mask (its decision), so that a choice can be scored;
- ``mask`` (optional): loss weights, shape ``(T, B)``, finite and ``>= 0``
  (default: 1 everywhere);
- any other 1-D array of length ``B``: per-trial information carried into the
  scoring (e.g. ``signed_coherence`` for the psychometric curve; ``choice``,
  the correct choice, defaults to the target on the trial's last decision step).

Trials are split into training, validation and test parts by a seeded
permutation (``val_fraction``, ``test_fraction``); training batches draw
trials of the training part, validation and test use the whole of their part.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neurosim import validate as V
from neurosim.tasks.npz import SPLIT_PARAMS, read_npz_arrays

__all__ = ["SequenceData", "load_npz_sequences"]


def _check(arrays: dict[str, np.ndarray], where: str) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                                  dict[str, np.ndarray]]:
    if "X" not in arrays or "y" not in arrays:
        raise ValueError(f"{where}: must hold arrays 'X' and 'y', found {sorted(arrays) or 'none'}")
    X, y = arrays["X"], arrays["y"]
    if X.ndim != 3:
        raise ValueError(f"{where}: sequence array 'X' must be 3-D (T, trials, inputs), got shape {X.shape}")
    if not np.issubdtype(X.dtype, np.number) or np.iscomplexobj(X) or not np.isfinite(X).all():
        raise ValueError(f"{where}: array 'X' must be real, finite numbers")
    T, B, n_in = X.shape
    if T < 1 or B < 1 or n_in < 1:
        raise ValueError(f"{where}: array 'X' has an empty axis, shape {X.shape}")
    if y.shape != (T, B):
        raise ValueError(f"{where}: array 'y' must have shape (T, trials) = {(T, B)}, got {y.shape}")
    if not np.issubdtype(y.dtype, np.integer) or (y < 0).any():
        raise ValueError(f"{where}: array 'y' must hold non-negative integers (0 = fixate, 1.. = choices)")
    mask = arrays.get("mask")
    if mask is None:
        mask = np.ones((T, B), dtype=np.float32)
    elif mask.shape != (T, B) or not np.issubdtype(mask.dtype, np.number) or not np.isfinite(mask).all() \
            or (mask < 0).any():
        raise ValueError(f"{where}: array 'mask' must be finite numbers >= 0 of shape {(T, B)}, "
                         f"got shape {mask.shape}")
    decision = (y != 0) & (mask > 0)
    if not decision.any(axis=0).all():
        k = int(np.argmin(decision.any(axis=0)))
        raise ValueError(f"{where}: trial {k} has no step with a non-zero target and a positive mask "
                         "(its decision, needed to score a choice)")
    if int(y.max()) < 1:
        raise ValueError(f"{where}: array 'y' has no choice (all 0)")
    info = {}
    for k, v in arrays.items():
        if k in ("X", "y", "mask"):
            continue
        if v.shape != (B,) or not np.issubdtype(v.dtype, np.number) or not np.isfinite(v).all():
            raise ValueError(f"{where}: array {k!r} must be per-trial finite numbers of shape ({B},), "
                             f"got shape {v.shape}")
        info[k] = v
    return X.astype(np.float32), y.astype(np.int64), mask.astype(np.float32), info


class SequenceData:
    """Trials of a sequence ``.npz`` split by seed, served as a task to the rate RNNs.

    Attributes
    ----------
    T, n_in, n_out : int
        Steps per trial, inputs, outputs (``max(y) + 1``).
    sizes : dict[str, int]
        Trials in the ``train``, ``val`` and ``test`` parts.
    params, name
        As for :class:`~neurosim.tasks.CognitiveTask`.
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, mask: np.ndarray, info: dict[str, np.ndarray], *,
                 seed: int = 0, val_fraction: float = 0.15, test_fraction: float = 0.15, name: str = "arrays"
                 ) -> None:
        v = V.apply(SPLIT_PARAMS, {"val_fraction": val_fraction, "test_fraction": test_fraction})
        B = X.shape[1]
        n_val, n_test = round(B * v["val_fraction"]), round(B * v["test_fraction"])
        for key, n in (("val_fraction", n_val), ("test_fraction", n_test)):
            if v[key] > 0 and n == 0:
                raise ValueError(f"{key}: {v[key]:g} of {B} trials leaves no trial in that part; "
                                 "use more trials or a larger fraction")
        if B - n_val - n_test < 1:
            raise ValueError(f"val_fraction + test_fraction: leave no training trial of {B}")
        perm = np.random.default_rng([V.integer("seed", seed, ge=0), 11]).permutation(B)
        self._parts = {"val": perm[:n_val], "test": perm[n_val:n_val + n_test], "train": perm[n_val + n_test:]}
        self._X, self._y, self._mask, self._info = X, y, mask, info
        self.T, self.n_in = int(X.shape[0]), int(X.shape[2])
        self.n_out = max(int(y.max()) + 1, 2)
        self.name, self.dt = name, None
        self.params = {"seed": seed, **v}

    @property
    def sizes(self) -> dict[str, int]:
        """Number of trials in each part."""
        return {k: int(len(v)) for k, v in self._parts.items()}

    def __repr__(self) -> str:
        s = self.sizes
        return (f"SequenceData(name={self.name!r}, T={self.T}, n_in={self.n_in}, n_out={self.n_out}, "
                f"train={s['train']}, val={s['val']}, test={s['test']})")

    def _take(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        info = {k: v[idx] for k, v in self._info.items()}
        return self._X[:, idx], self._y[:, idx], self._mask[:, idx], info

    def batch(self, batch_size: int, rng: np.random.Generator, return_info: bool = False
              ) -> tuple[np.ndarray, ...] | tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """``batch_size`` training trials drawn by ``rng`` (without replacement when there are enough)."""
        B = V.integer("batch_size", batch_size, ge=1)
        train = self._parts["train"]
        idx = train[rng.choice(len(train), size=B, replace=B > len(train))]
        out = self._take(idx)
        return out if return_info else out[:3]

    def eval_batch(self, part: str, n: int, rng: np.random.Generator
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """The whole ``"val"`` or ``"test"`` part (``n`` and ``rng`` are not used: the data are fixed)."""
        V.choice("part", part, ("val", "test"))
        return self._take(self._parts[part])


def load_npz_sequences(path: str | Path, seed: int = 0, val_fraction: float = 0.15,
                       test_fraction: float = 0.15) -> SequenceData:
    """Read and check a sequence ``.npz`` (see the module docstring) and split its trials by ``seed``."""
    arrays = read_npz_arrays(path, every=True)
    X, y, mask, info = _check(arrays, str(path))
    return SequenceData(X, y, mask, info, seed=seed, val_fraction=val_fraction, test_fraction=test_fraction,
                        name=str(path))
