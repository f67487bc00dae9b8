"""The learner families a filter is meta-trained to be, and the random problems drawn
from them: each family's reference A(S)(x), the layers t(m, d) it is granted after the
frame has decoded the layout, and whether its answer depends on the data bits.

The families: last-label, first-label, majority (ties -> +1), nearest-neighbour
(Hamming, first in order on ties), gauss (GF(2) elimination, the moonshot).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ...programs.learning import (
    LearnerProgram,
    first_label_reference,
    gauss,
    gauss_reference,
    last_label_reference,
    majority_reference,
    majority_wave,
)

LARGE = ((16, 4), (32, 8), (64, 16))  # random problems at these (m, d): verify's (b)


def nearest_neighbour_reference(X, y, X_test) -> np.ndarray:
    """The label of the training example nearest in Hamming distance (first on ties)."""
    dist = (np.asarray(X_test)[:, None, :] != np.asarray(X)[None, :, :]).sum(-1)
    return np.asarray(y)[dist.argmin(1)].astype(np.int8)


@dataclass(frozen=True)
class Family:
    """A learner family: its reference A(S)(x), the layers t(m, d) it is granted, and
    whether its answer depends on the data bits. A family whose answer depends only on
    the labels trains with the data and test cells read-only (a prior we give SGD: its
    rule may write only in the label column, the answer cell and the work space).
    `hint`: a hand-written cellular learner whose trace may supervise every cell
    (MetaConfig.hints), or None."""

    name: str
    reference: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
    time: Callable[[int, int], int]
    description: str
    reads_data: bool = False
    hint: Callable[[], LearnerProgram] | None = None


FAMILIES = {
    f.name: f
    for f in (
        Family("last-label", last_label_reference, lambda m, d: 4, "label of the last example"),
        Family("first-label", first_label_reference, lambda m, d: m + 4, "label of the first"),
        Family(
            "majority",
            majority_reference,
            lambda m, d: 3 * m + 4,
            "majority, ties -> +1",
            hint=majority_wave,
        ),
        Family(
            "nearest-neighbour",
            nearest_neighbour_reference,
            lambda m, d: 2 * (m + d) + 4,
            "label of the nearest example in Hamming distance (first on ties)",
            reads_data=True,
        ),
        Family(
            "gauss",
            gauss_reference,
            lambda m, d: m + 2 * d + 4,
            "GF(2) elimination",
            reads_data=True,
            hint=gauss,
        ),
    )
}


def get_family(name: str) -> Family:
    if name not in FAMILIES:
        raise ValueError(f"unknown learner family {name!r}; choose one of {sorted(FAMILIES)}")
    return FAMILIES[name]


def sample(
    family: Family, count: int, m: int, d: int, rng: np.random.Generator, balanced: float = 0.0
):
    """`count` random problems of size (m, d): data, labels (each problem its own share
    of -1 labels, so majorities of every margin occur), test points, and the family's
    answers (count,) +-1. `balanced`: the share of problems whose labels are as even as
    m allows instead (floor(m/2) or ceil(m/2) -1s: margin 0 or 1, 1 or 2 after a swap
    of one label), where only counting tells the majority."""
    X = rng.choice(np.array([-1, 1], dtype=np.int8), (count, m, d))
    y = np.where(rng.random((count, m)) < rng.random((count, 1)), -1, 1).astype(np.int8)
    if balanced:
        even = np.flatnonzero(rng.random(count) < balanced)
        for i in even:
            minus = m // 2 + int(rng.integers(0, 2)) * (m % 2)
            y[i] = 1
            y[i, rng.permutation(m)[:minus]] = -1
    x = rng.choice(np.array([-1, 1], dtype=np.int8), (count, d))
    answers = np.array([family.reference(X[i], y[i], x[i : i + 1])[0] for i in range(count)])
    return X, y, x, answers.astype(np.int8)


def every_label_pattern(m: int, d: int, rng: np.random.Generator):
    """All 2^m label patterns of m examples, with random data and test points."""
    y = np.array(np.meshgrid(*[[1, -1]] * m, indexing="ij")).reshape(m, -1).T.astype(np.int8)
    X = rng.choice(np.array([-1, 1], dtype=np.int8), (len(y), m, d))
    x = rng.choice(np.array([-1, 1], dtype=np.int8), (len(y), d))
    return X, y, x
