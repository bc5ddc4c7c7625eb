"""Classification data from arrays or from a user's ``.npz`` file, split by seed.

The split code here is shared by every classification data set in
:mod:`neurosim.tasks` (the bundled digits included), so that one seed gives the
same kind of split whatever the source.

A user file is an ``.npz`` archive (``numpy.savez``) holding two arrays:

- ``X``: 2-D numeric features, shape ``(n_samples, n_features)``, all finite;
- ``y``: 1-D integer labels, length ``n_samples``, with at least two classes.

Labels may be any integers (e.g. ``3`` and ``7``); they are mapped to class
indices ``0 .. n_classes - 1`` in sorted order, and the original values are kept
in :attr:`ClassificationData.classes`.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neurosim import validate as V

__all__ = [
    "SPLIT_PARAMS",
    "ClassificationData",
    "Split",
    "load_npz_classification",
    "read_npz_arrays",
    "split_arrays",
    "stratified_split_indices",
]


@dataclass(frozen=True)
class ClassificationData:
    """A classification data set split into training, validation and test parts.

    Attributes
    ----------
    X_train, X_val, X_test : numpy.ndarray
        ``float32`` features, shape ``(n, n_features)``; a part may have zero rows
        when its fraction is 0.
    y_train, y_val, y_test : numpy.ndarray
        ``int64`` class indices in ``0 .. n_classes - 1``.
    classes : numpy.ndarray
        The original label value of each class index (sorted).
    name : str
        Where the data came from (``"digits"`` or the file's path).
    seed : int
        The seed that fixed the split.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    classes: np.ndarray
    name: str = "arrays"
    seed: int = 0

    @property
    def n_features(self) -> int:
        """Number of input features (columns of ``X``)."""
        return int(self.X_train.shape[1])

    @property
    def n_classes(self) -> int:
        """Number of classes."""
        return int(len(self.classes))

    @property
    def sizes(self) -> dict[str, int]:
        """Number of samples in each part: ``{"train": .., "val": .., "test": ..}``."""
        return {
            "train": int(len(self.y_train)),
            "val": int(len(self.y_val)),
            "test": int(len(self.y_test)),
        }

    def __repr__(self) -> str:
        s = self.sizes
        return (
            f"ClassificationData(name={self.name!r}, n_features={self.n_features}, "
            f"n_classes={self.n_classes}, train={s['train']}, val={s['val']}, "
            f"test={s['test']}, seed={self.seed})"
        )


#: Short alias: what :func:`load_digits_split` and :func:`load_npz_classification` return.
Split = ClassificationData


#: Arguments of the split shared by every classification data set, with their checks.
SPLIT_PARAMS = {
    "val_fraction": V.Param(V.bounded(ge=0.0, lt=1.0), "fraction of each class held out for validation"),
    "test_fraction": V.Param(V.bounded(ge=0.0, lt=1.0), "fraction of each class held out for testing"),
}


def _check_fractions(val_fraction: float, test_fraction: float) -> None:
    v = V.apply(SPLIT_PARAMS, {"val_fraction": val_fraction, "test_fraction": test_fraction})
    if v["val_fraction"] + v["test_fraction"] >= 1.0:
        raise ValueError(
            f"val_fraction + test_fraction: must be < 1 (some data must be left to train), "
            f"got {val_fraction!r} + {test_fraction!r}"
        )


def _check_seed(seed: int) -> int:
    return V.integer("seed", seed, ge=0)


def stratified_split_indices(
    y: np.ndarray, seed: int = 0, val_fraction: float = 0.15, test_fraction: float = 0.15
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices of a stratified train / validation / test split, fixed by ``seed``.

    Each class is shuffled on its own (``numpy.random.default_rng(seed)``) and
    ``round(n_c * test_fraction)`` of its ``n_c`` samples go to the test part,
    ``round(n_c * val_fraction)`` to the validation part, the rest to training;
    a class always keeps at least one training sample (validation gives way
    first, then test). Each part's order is then shuffled.

    Parameters
    ----------
    y : numpy.ndarray
        1-D labels (any comparable values).
    seed : int
        Non-negative seed; the same seed gives the same split.
    val_fraction, test_fraction : float
        Fractions in ``[0, 1)`` with a sum below 1.

    Returns
    -------
    train, val, test : numpy.ndarray
        ``int64`` index arrays into ``y``; disjoint, together all of ``y``.
    """
    seed = _check_seed(seed)
    _check_fractions(val_fraction, test_fraction)
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D, got shape {y.shape}")
    rng = np.random.default_rng(seed)
    parts: tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]] = ([], [], [])
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_c = len(idx)
        n_test = int(round(n_c * float(test_fraction)))
        n_val = int(round(n_c * float(val_fraction)))
        excess = n_test + n_val - (n_c - 1)
        if excess > 0:
            cut = min(excess, n_val)
            n_val -= cut
            n_test -= excess - cut
        parts[2].append(idx[:n_test])
        parts[1].append(idx[n_test : n_test + n_val])
        parts[0].append(idx[n_test + n_val :])
    out = []
    for p in parts:
        cat = np.concatenate(p).astype(np.int64) if p else np.zeros(0, np.int64)
        out.append(rng.permutation(cat))
    return out[0], out[1], out[2]


def split_arrays(
    X: np.ndarray,
    y: np.ndarray,
    seed: int = 0,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    normalize: bool = False,
    name: str = "arrays",
) -> ClassificationData:
    """Split checked arrays into a :class:`ClassificationData` (stratified, by seed).

    Parameters
    ----------
    X : numpy.ndarray
        2-D finite numeric features ``(n_samples, n_features)``.
    y : numpy.ndarray
        1-D integer labels of length ``n_samples`` with at least two classes.
    seed, val_fraction, test_fraction
        See :func:`stratified_split_indices`.
    normalize : bool
        If true, scale each feature to ``[0, 1]`` with the training part's minimum
        and maximum (validation and test values may fall slightly outside);
        a constant feature becomes 0.
    name : str
        Recorded in the result and used in error messages.

    Returns
    -------
    ClassificationData
    """
    X, y = _validate_xy(X, y, name)
    classes, y_idx = np.unique(y, return_inverse=True)
    tr, va, te = stratified_split_indices(y_idx, seed, val_fraction, test_fraction)
    smallest = int(np.bincount(y_idx).min())
    for part, frac, idx in (("validation", val_fraction, va), ("test", test_fraction, te)):
        if float(frac) > 0 and len(idx) == 0:
            key = "val_fraction" if part == "validation" else "test_fraction"
            raise ValueError(
                f"{name}: {key} = {frac:g} leaves no {part} samples ({len(y)} samples, the smallest "
                f"class has {smallest}); give more samples per class, a larger {key}, or {key} = 0")
    Xf = X.astype(np.float32)
    if normalize:
        lo = Xf[tr].min(axis=0)
        span = Xf[tr].max(axis=0) - lo
        safe = np.where(span > 0, span, 1.0).astype(np.float32)
        Xf = ((Xf - lo) / safe).astype(np.float32)
        Xf[:, span <= 0] = 0.0
    y_idx = y_idx.astype(np.int64)
    return ClassificationData(
        X_train=Xf[tr], y_train=y_idx[tr],
        X_val=Xf[va], y_val=y_idx[va],
        X_test=Xf[te], y_test=y_idx[te],
        classes=classes, name=name, seed=int(seed),
    )  # fmt: skip


def _validate_xy(X: object, y: object, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Check the shapes and types of ``X`` and ``y``; one-line ValueError naming ``name``."""
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim != 2:
        raise ValueError(
            f"{name}: array 'X' must be 2-D (n_samples, n_features), got shape {X.shape}"
            + ("; 3-D sequences (T, trials, inputs) are for network.kind = \"rnn\"" if X.ndim == 3 else "")
        )
    if X.dtype.kind not in "biuf":
        raise ValueError(f"{name}: array 'X' must be numeric, got dtype {X.dtype}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{name}: array 'X' is empty (shape {X.shape})")
    if y.ndim != 1:
        raise ValueError(f"{name}: array 'y' must be 1-D (n_samples,), got shape {y.shape}")
    if len(y) != X.shape[0]:
        raise ValueError(
            f"{name}: arrays 'X' and 'y' differ in length: X has {X.shape[0]} rows, "
            f"y has {len(y)} labels"
        )
    if not np.all(np.isfinite(X)):
        n_bad = int(np.size(X) - np.count_nonzero(np.isfinite(X)))
        raise ValueError(f"{name}: array 'X' holds {n_bad} NaN or infinite value(s)")
    if y.dtype.kind in "iu":
        y = y.astype(np.int64)
    elif y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
        y = y.astype(np.int64)  # integral floats (e.g. from MATLAB) are accepted
    else:
        raise ValueError(
            f"{name}: array 'y' must hold integer class labels, got dtype {y.dtype}"
            + (" with non-integer values" if y.dtype.kind == "f" else "")
        )
    n_cls = len(np.unique(y))
    if n_cls < 2:
        raise ValueError(f"{name}: array 'y' must hold at least 2 classes, got {n_cls}")
    return X, y


def load_npz_classification(
    path: str | os.PathLike[str],
    seed: int = 0,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    normalize: bool = False,
) -> ClassificationData:
    """Load a user's ``.npz`` file with arrays ``X`` and ``y`` and split it by seed.

    Parameters
    ----------
    path : str or os.PathLike
        An archive written by ``numpy.savez`` / ``numpy.savez_compressed`` with a
        2-D numeric array ``X`` (``n_samples x n_features``, finite) and a 1-D
        integer array ``y`` (length ``n_samples``, at least two classes). Other
        arrays in the file are ignored.
    seed : int
        Fixes the split (same seed, same split).
    val_fraction, test_fraction : float
        Fractions in ``[0, 1)`` with a sum below 1; stratified by class.
    normalize : bool
        Min-max scale each feature with the training part's range (see
        :func:`split_arrays`). Default off: the user's features are used as given
        (cast to ``float32``).

    Returns
    -------
    ClassificationData

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        One line naming the file and what is wrong: not an npz (zip) archive,
        missing ``X`` or ``y``, ``X`` not 2-D or not numeric, ``y`` not 1-D,
        length mismatch, non-integer labels, NaN/inf in ``X``, fewer than 2 classes.
    """
    arrays = read_npz_arrays(path)
    X, y = arrays["X"], arrays["y"]
    return split_arrays(
        X, y, seed=seed, val_fraction=val_fraction, test_fraction=test_fraction,
        normalize=normalize, name=str(path),
    )  # fmt: skip


def read_npz_arrays(path: str | os.PathLike[str], required: tuple[str, ...] = ("X", "y"), *,
                    every: bool = False) -> dict[str, np.ndarray]:
    """The ``required`` arrays (``every``: all arrays) of a user's ``.npz`` file, pickles refused.

    Raises ``FileNotFoundError`` for a missing file and a one-line ``ValueError``
    naming the file for anything else (a directory, not a zip archive, a
    missing array, a truncated or unreadable member).
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such file")
    if p.is_dir() or not zipfile.is_zipfile(p):
        raise ValueError(f"{p}: not an .npz archive (expected a zip file written by numpy.savez)")
    try:
        with np.load(p, allow_pickle=False) as data:
            missing = [k for k in required if k not in data.files]
            if missing:
                found = ", ".join(sorted(data.files)) or "none"
                raise ValueError(
                    f"{p}: missing array {' and '.join(repr(m) for m in missing)} (found: {found})"
                )
            return {k: data[k] for k in (data.files if every else required)}
    except ValueError as exc:
        msg = str(exc)
        if msg.startswith(str(p)):
            raise
        first = msg.splitlines()[0] if msg else type(exc).__name__
        raise ValueError(f"{p}: cannot read its arrays ({first})") from exc
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ValueError(f"{p}: not a readable .npz archive ({type(exc).__name__})") from exc
