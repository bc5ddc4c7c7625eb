"""The 8x8 handwritten digits bundled with scikit-learn, split by seed.

1797 images of 8 x 8 pixels with grey values 0..16 (Alpaydin & Kaynak 1998, UCI
"Optical Recognition of Handwritten Digits"), shipped inside scikit-learn, so
nothing is downloaded. scikit-learn is imported only when the data are loaded.
"""

from __future__ import annotations

import numpy as np

from neurosim.tasks.npz import ClassificationData, split_arrays

__all__ = ["load_digits_split"]

#: Largest grey value in the digits images; features are divided by it.
DIGITS_MAX_VALUE = 16.0


def load_digits_split(
    seed: int = 0,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    normalize: bool = True,
) -> ClassificationData:
    """Load scikit-learn's digits, stratified into train / validation / test by ``seed``.

    Parameters
    ----------
    seed : int
        Non-negative; the same seed gives the identical split, another seed
        another split.
    val_fraction, test_fraction : float
        Fractions in ``[0, 1)`` (sum below 1) of each class held out for
        validation and test (stratified, see
        :func:`neurosim.tasks.npz.stratified_split_indices`).
    normalize : bool
        If true (default), divide the grey values by 16 so features lie in
        ``[0, 1]``; otherwise keep the raw values 0..16 (as ``float32``).

    Returns
    -------
    ClassificationData
        ``n_features = 64``, ``n_classes = 10``; ``float32`` features and
        ``int64`` labels 0..9.
    """
    from sklearn.datasets import load_digits  # lazy: only this loader needs scikit-learn

    bunch = load_digits()
    X = np.asarray(bunch.data, dtype=np.float64)
    if normalize:
        X = X / DIGITS_MAX_VALUE
    y = np.asarray(bunch.target, dtype=np.int64)
    return split_arrays(
        X, y, seed=seed, val_fraction=val_fraction, test_fraction=test_fraction,
        normalize=False, name="digits",
    )  # fmt: skip
