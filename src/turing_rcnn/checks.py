"""Checks of +-1 data (numpy only, so that programs/ and the CLI load without torch or
scikit-learn): clear ValueErrors instead of silent wrong answers."""

from __future__ import annotations

import numpy as np


def check_pm1_matrix(X, name: str = "X", d: int | None = None) -> np.ndarray:
    """A 2-D array of +-1 values (returned as int8); `d` fixes the column count."""
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_examples, d), got shape {X.shape}")
    if d is not None and X.shape[1] != d:
        raise ValueError(f"{name} has {X.shape[1]} features, but the model was built for d = {d}")
    if X.shape[1] == 0:
        raise ValueError(f"{name} has no features (d = 0)")
    if not np.isin(X, (-1, 1)).all():
        raise ValueError(f"{name} must contain only -1 and +1 (bit 1 <-> -1, bit 0 <-> +1)")
    return X.astype(np.int8)


def check_labels(y, n: int, name: str = "y") -> np.ndarray:
    """A 1-D array of n labels in {-1, +1} (returned as int8)."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {y.shape}")
    if y.shape[0] != n:
        raise ValueError(f"{name} has {y.shape[0]} labels but X has {n} examples")
    if not np.isin(y, (-1, 1)).all():
        raise ValueError(f"labels {name} must be -1 or +1")
    return y.astype(np.int8)


def check_dataset(X, y) -> tuple[np.ndarray, np.ndarray]:
    """A training set: X (m, d) of +-1 with m >= 1, y (m,) of +-1."""
    X = check_pm1_matrix(X)
    if X.shape[0] == 0:
        raise ValueError("the training set is empty (m = 0)")
    return X, check_labels(y, X.shape[0])
