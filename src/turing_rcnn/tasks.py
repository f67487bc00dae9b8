"""Concept classes to learn: parities over {-1,1}^d, dense, k-sparse, noisy.

Convention, stated once: bit 1 <-> value -1, bit 0 <-> value +1. The parity of the
bits in a subset S is then the product of the values, so the label of x is
y = prod_{i in S} x_i in {-1, +1}.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def to_bits(X: np.ndarray) -> np.ndarray:
    """+-1 values -> bools (True = bit 1 = value -1)."""
    return np.asarray(X) == -1


def from_bits(bits: np.ndarray) -> np.ndarray:
    """bools -> +-1 values as int8 (bit 1 -> -1)."""
    return np.where(np.asarray(bits, dtype=bool), -1, 1).astype(np.int8)


def parity_labels(X: np.ndarray, secret: np.ndarray) -> np.ndarray:
    """y = prod_{i in secret} x_i for each row of X (the empty product is +1)."""
    X = np.asarray(X)
    if len(secret) == 0:
        return np.ones(X.shape[0], dtype=np.int8)
    return np.prod(X[:, secret], axis=1, dtype=np.int64).astype(np.int8)


@dataclass
class ParityData:
    """Train / validation / test splits of one parity problem.

    Training and validation labels carry the label noise; test labels are the clean
    parity, so test error measures distance to the target concept.
    """

    secret: np.ndarray  # sorted indices of S
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray

    @property
    def d(self) -> int:
        return self.X_train.shape[1]


@dataclass(frozen=True)
class ParityTask:
    """Parity over {-1,1}^d of a hidden subset S.

    k=None draws a dense S (each index with probability 1/2, never empty); k draws
    a uniformly random S of exactly k indices. noise flips each training and
    validation label independently with that probability.
    """

    d: int
    k: int | None = None
    noise: float = 0.0

    def __post_init__(self) -> None:
        if self.d < 1:
            raise ValueError(f"d must be >= 1, got {self.d}")
        if self.k is not None and not 0 <= self.k <= self.d:
            raise ValueError(f"k must be in [0, d] = [0, {self.d}], got {self.k}")
        if not 0.0 <= self.noise < 0.5:
            raise ValueError(f"noise must be in [0, 0.5), got {self.noise}")

    def draw_secret(self, rng: np.random.Generator) -> np.ndarray:
        if self.k is not None:
            return np.sort(rng.choice(self.d, size=self.k, replace=False))
        while True:
            s = np.flatnonzero(rng.random(self.d) < 0.5)
            if len(s):
                return s

    def sample(
        self, n: int, secret: np.ndarray, rng: np.random.Generator, noisy: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """n uniform examples labelled by `secret` (with label noise if noisy)."""
        X = from_bits(rng.random((n, self.d)) < 0.5)
        y = parity_labels(X, secret)
        if noisy and self.noise > 0:
            y = np.where(rng.random(n) < self.noise, -y, y).astype(np.int8)
        return X, y

    def make(self, m: int, n_val: int = 0, n_test: int = 1000, seed: int = 0) -> ParityData:
        """Draw S and the splits from one seeded generator."""
        if m < 1:
            raise ValueError(f"m (training examples) must be >= 1, got {m}")
        if n_val < 0 or n_test < 0:
            raise ValueError("n_val and n_test must be >= 0")
        rng = np.random.default_rng(seed)
        secret = self.draw_secret(rng)
        X_train, y_train = self.sample(m, secret, rng)
        X_val, y_val = self.sample(n_val, secret, rng)
        X_test, y_test = self.sample(n_test, secret, rng, noisy=False)
        return ParityData(secret, X_train, y_train, X_val, y_val, X_test, y_test)


def spanning_probability(d: int, m: int) -> float:
    """P(m uniform vectors span GF(2)^d) = prod_{i<d} (1 - 2^(i-m)); GE is exact then."""
    return float(np.prod([1.0 - 2.0 ** (i - m) for i in range(d)])) if m >= d else 0.0
