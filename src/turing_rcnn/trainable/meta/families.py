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
    answers (count,) +-1. `balanced`: the share of problems whose labels are instead as
    close to a tie as m allows on either side of it (close_margins), where only
    counting tells the majority and the labels near the answer cell tell almost
    nothing."""
    X = rng.choice(np.array([-1, 1], dtype=np.int8), (count, m, d))
    y = np.where(rng.random((count, m)) < rng.random((count, 1)), -1, 1).astype(np.int8)
    if balanced:
        close = close_margins(m)
        for i in np.flatnonzero(rng.random(count) < balanced):
            margin = close[int(rng.integers(0, 2))][int(rng.integers(0, 2))]
            y[i] = -1
            y[i, rng.permutation(m)[: (m + margin) // 2]] = 1
    x = rng.choice(np.array([-1, 1], dtype=np.int8), (count, d))
    answers = np.array([family.reference(X[i], y[i], x[i : i + 1])[0] for i in range(count)])
    return X, y, x, answers.astype(np.int8)


def close_margins(m: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """The two margins #(+1) - #(-1) closest to a tie that answer +1 (ties go to +1),
    and the two that answer -1, for m labels (clipped to +-m): m = 8 gives (0, 2) and
    (-2, -4), m = 7 (1, 3) and (-1, -3). The answer is +1 or -1 alike: a constant does
    no better than chance, a single label only a little (62.5% at m = 8, 56% at 16)."""
    odd = m % 2
    plus, minus = (odd, odd + 2), (odd - 2, odd - 4)
    return tuple(min(m, a) for a in plus), tuple(max(-m, a) for a in minus)


def every_label_pattern(m: int, d: int, rng: np.random.Generator):
    """All 2^m label patterns of m examples, with random data and test points."""
    y = np.array(np.meshgrid(*[[1, -1]] * m, indexing="ij")).reshape(m, -1).T.astype(np.int8)
    X = rng.choice(np.array([-1, 1], dtype=np.int8), (len(y), m, d))
    x = rng.choice(np.array([-1, 1], dtype=np.int8), (len(y), d))
    return X, y, x
