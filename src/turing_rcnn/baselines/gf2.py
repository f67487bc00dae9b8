"""GF(2) Gaussian elimination: the efficient parity learner, bit-packed (numpy only).

Its reference semantics is programs.learning.gauss_reference (plain and slow); tests
hold this fast version and the RCNN to it prediction for prediction.
"""

from __future__ import annotations

import numpy as np

from ..validation import PM1Classifier

_ONE = np.uint64(1)


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """(n, d) bools -> (n, ceil(d/64)) uint64 words; column j is bit j % 64 of word j // 64."""
    n, d = bits.shape
    words = -(-d // 64)
    padded = np.zeros((n, words * 64), dtype=bool)
    padded[:, :d] = bits
    return np.packbits(padded, axis=1, bitorder="little").view("<u8")


class GaussianElimination(PM1Classifier):
    """Learn a parity by incremental Gaussian elimination over GF(2), bit-packed.

    fit_intercept=True (the default) learns an affine parity, the parity of x on a
    subset S XOR a constant: a constant bit 1 is appended to every example as column
    d, so 0/1 data mapped by `2X - 1` (which turns a parity into its complement when
    |S| is odd) is learned as well as data mapped by `1 - 2X`. fit_intercept=False is
    the linear elimination the RCNN's `gauss` program runs: the same predictions as
    gauss_reference (the reference semantics), computed on uint64 words.

    It keeps the pivot rows in reduced row-echelon form: the remainder of a vector
    after reduction is unique (zero on every pivot column, same row space), so the
    pivot columns, the rows found inconsistent and every prediction are those of the
    left-to-right sweep, while reducing x needs just one XOR of the pivot rows at the
    pivot columns where x has a 1.

    Fitted attributes: pivot_columns_ (feature columns only), solution_ (a subset S
    consistent with the pivot rows, free variables 0), intercept_ (the constant bit:
    True flips every prediction; always False without fit_intercept), n_inconsistent_
    (examples whose remainder was zero with label 1).
    """

    def __init__(self, fit_intercept: bool = True):
        self.fit_intercept = fit_intercept

    def _bits(self, X: np.ndarray) -> np.ndarray:
        bits = X == -1
        if self.fit_intercept:
            bits = np.hstack([bits, np.ones((len(bits), 1), dtype=bool)])
        return bits

    def fit(self, X, y) -> GaussianElimination:
        X, y = self._fit_data(X, y)
        bits = self._bits(X)
        m, d = bits.shape
        words = pack_bits(bits)
        pivots = np.zeros((d, words.shape[1]), dtype=np.uint64)  # row c: pivot of column c
        labels = np.zeros(d, dtype=bool)
        is_pivot = np.zeros(d, dtype=bool)
        inconsistent = 0
        for i in range(m):
            used = bits[i] & is_pivot
            r = words[i] ^ np.bitwise_xor.reduce(pivots[used], axis=0) if used.any() else words[i]
            lab = bool(y[i] == -1) ^ bool(np.count_nonzero(labels[used]) & 1)
            nz = np.flatnonzero(r)
            if len(nz) == 0:
                inconsistent += lab
                continue
            w = int(nz[0])
            v = int(r[w])
            c = 64 * w + (v & -v).bit_length() - 1
            hit = (pivots[:, w] >> np.uint64(c & 63)) & _ONE == _ONE  # rows with a 1 in column c
            pivots[hit] ^= r
            labels[hit] ^= lab
            pivots[c], labels[c], is_pivot[c] = r, lab, True
        # In reduced echelon form the pivot labels are the solution (free variables 0).
        chosen = is_pivot & labels
        n = self.n_features_in_
        self.pivot_columns_ = np.flatnonzero(is_pivot[:n])
        self.solution_ = np.flatnonzero(chosen[:n])
        self.intercept_ = bool(self.fit_intercept and chosen[n])
        self.n_inconsistent_ = inconsistent
        self._mask = pack_bits(chosen[None, :n])[0]
        return self._fitted()

    def predict(self, X) -> np.ndarray:
        """The parity of x on solution_, flipped by intercept_ (label classes_[0] for
        -1, classes_[1] for +1)."""
        X = self._test_data(X)
        ones = np.bitwise_count(pack_bits(X == -1) & self._mask).sum(axis=1)
        return self._to_classes(np.where((ones & 1) ^ self.intercept_, -1, 1))
