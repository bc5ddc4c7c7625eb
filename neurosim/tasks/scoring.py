"""Scoring the outputs of a cognitive task: the choice per trial, accuracy and the psychometric curve.

The conventions are those of :mod:`neurosim.tasks.cognitive` (output 0 = fixate, choices
``1 .. n_out - 1``, a decision epoch marked by a non-zero target and a positive mask).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["decision_accuracy", "decision_choices", "psychometric"]


def _to_numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):  # a torch tensor, without importing torch
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def decision_choices(outputs: Any, targets: Any, mask: Any, method: str = "majority") -> np.ndarray:
    """The model's choice in each trial's decision epoch.

    The decision epoch of a trial is the set of steps with a non-zero target and
    a positive mask.

    Parameters
    ----------
    outputs : array-like
        Either ``(T, B)`` integer output classes (an argmax) or ``(T, B, n_out)``
        scores/logits (the argmax over the last axis is taken). A torch tensor
        is accepted.
    targets, mask : array-like
        ``(T, B)`` as returned by a task's ``batch``.
    method : {"majority", "last"}
        ``"majority"`` (default): the output class given on most decision steps
        (a tie goes to the lowest class index, so a tie with fixation counts as
        no choice). ``"last"``: the output class at the last decision step.

    Returns
    -------
    numpy.ndarray
        ``int64 (B,)``; 0 means the model kept fixating (no choice).
    """
    if method not in ("majority", "last"):
        raise ValueError(f"method must be 'majority' or 'last', got {method!r}")
    out = _to_numpy(outputs)
    tgt = _to_numpy(targets)
    msk = _to_numpy(mask)
    if tgt.ndim != 2:
        raise ValueError(f"targets must be 2-D (T, B), got shape {tgt.shape}")
    if out.ndim == 3:
        out = out.argmax(axis=-1)
    if out.shape != tgt.shape or msk.shape != tgt.shape:
        raise ValueError(
            f"outputs (argmax), targets and mask must have the same (T, B) shape, got "
            f"{out.shape}, {tgt.shape}, {msk.shape}"
        )
    out = out.astype(np.int64)
    dec = (tgt != 0) & (msk > 0)
    has = dec.any(axis=0)
    if not has.all():
        raise ValueError(
            f"targets/mask: {int((~has).sum())} trial(s) have no decision step "
            "(non-zero target with positive mask)"
        )
    B = tgt.shape[1]
    if method == "last":
        last = tgt.shape[0] - 1 - np.argmax(dec[::-1], axis=0)
        return out[last, np.arange(B)]
    n_cls = int(max(out.max(initial=0), tgt.max(initial=0))) + 1
    counts = np.zeros((B, n_cls), dtype=np.int64)
    t_idx, b_idx = np.nonzero(dec)
    np.add.at(counts, (b_idx, np.clip(out[t_idx, b_idx], 0, None)), 1)
    return counts.argmax(axis=1).astype(np.int64)


def decision_accuracy(
    outputs: Any,
    targets: Any,
    mask: Any,
    info: dict[str, np.ndarray] | None = None,
    method: str = "majority",
) -> float:
    """Fraction of trials whose decision-epoch choice is the correct choice.

    Parameters
    ----------
    outputs, targets, mask, method
        See :func:`decision_choices` (default: majority over the decision epoch).
    info : dict, optional
        The trial info of the batch; its ``choice`` is the correct answer. Without
        it the target at the last decision step is used.

    Returns
    -------
    float
        Accuracy in ``[0, 1]``; a trial without a choice (fixation) is wrong.
    """
    chosen = decision_choices(outputs, targets, mask, method=method)
    if info is not None and "choice" in info:
        correct = np.asarray(info["choice"], dtype=np.int64)
    else:
        correct = decision_choices(targets, targets, mask, method="last")
    if correct.shape != chosen.shape:
        raise ValueError(f"info['choice'] has shape {correct.shape}, expected ({chosen.shape[0]},)")
    return float(np.mean(chosen == correct))


def psychometric(
    choices: Any, info: dict[str, np.ndarray], option: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fraction of trials choosing ``option`` at each signed coherence.

    Parameters
    ----------
    choices : array-like
        ``(B,)`` chosen option per trial (e.g. from :func:`decision_choices`;
        0 = no choice, which counts as not choosing ``option``).
    info : dict
        Trial info holding ``signed_coherence`` (%, positive favours choice 1), as
        returned by :class:`PerceptualDecisionMaking` or
        :class:`ContextDependentIntegration` (the cued stream).
    option : int
        The option counted (default 1).

    Returns
    -------
    signed_coherence : numpy.ndarray
        Sorted distinct signed coherences (%).
    p_option : numpy.ndarray
        Fraction of trials at that coherence that chose ``option``.
    n_trials : numpy.ndarray
        Number of trials at that coherence.
    """
    if "signed_coherence" not in info:
        raise ValueError(f"info must hold 'signed_coherence', got keys {sorted(info)}")
    ch = _to_numpy(choices).ravel()
    sc = np.asarray(info["signed_coherence"], dtype=np.float64).ravel()
    if ch.shape != sc.shape:
        raise ValueError(f"choices has {ch.size} trials but info['signed_coherence'] has {sc.size}")
    levels, inv = np.unique(sc, return_inverse=True)
    n = np.bincount(inv, minlength=len(levels))
    k = np.bincount(inv, weights=(ch == option).astype(np.float64), minlength=len(levels))
    return levels, k / n, n
