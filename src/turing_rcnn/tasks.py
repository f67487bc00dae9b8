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
    a uniformly random S of exactly k indices; secret fixes S. noise flips each training and
    validation label independently with that probability.
    """

    d: int
    k: int | None = None
    noise: float = 0.0
    secret: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.d < 1:
            raise ValueError(f"d must be >= 1, got {self.d}")
        if self.k is not None and not 0 <= self.k <= self.d:
            raise ValueError(f"k must be in [0, d] = [0, {self.d}], got {self.k}")
        if self.secret is not None and not all(0 <= i < self.d for i in self.secret):
            raise ValueError(f"secret indices must be in [0, d) = [0, {self.d}), got {self.secret}")
        if not 0.0 <= self.noise < 0.5:
            raise ValueError(f"noise must be in [0, 0.5), got {self.noise}")

    def draw_secret(self, rng: np.random.Generator) -> np.ndarray:
        if self.secret is not None:
            return np.array(sorted(set(self.secret)), dtype=np.int64)
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


def search_problem(task: str, d: int, m: int, n_val: int, n_test: int, seed: int = 0):
    """One problem for the Turing-optimal search: (X_train, y_train, X_val, y_val,
    X_test, y_test). task: 'parity' (dense), 'last-bit' (y = x[d-1], a 1-sparse
    parity) or 'constant' (every label the same sign, drawn from the seed)."""
    if task == "constant":
        data = ParityTask(d, k=0).make(m, n_val, n_test, seed)
        c = np.int8(1 if np.random.default_rng([seed, 1]).random() < 0.5 else -1)
        data.y_train, data.y_val, data.y_test = c * data.y_train, c * data.y_val, c * data.y_test
    elif task in ("parity", "last-bit"):
        secret = (d - 1,) if task == "last-bit" else None
        data = ParityTask(d, secret=secret).make(m, n_val, n_test, seed)
    else:
        raise ValueError(f"unknown search task {task!r}; choose parity, last-bit or constant")
    return data.X_train, data.y_train, data.X_val, data.y_val, data.X_test, data.y_test


def spanning_probability(d: int, m: int) -> float:
    """P(m uniform vectors span GF(2)^d) = prod_{i<d} (1 - 2^(i-m)); GE is exact then."""
    return float(np.prod([1.0 - 2.0 ** (i - m) for i in range(d)])) if m >= d else 0.0
