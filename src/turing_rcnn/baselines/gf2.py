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

    Same predictions as gauss_reference (the reference semantics), computed on
    uint64 words. It keeps the pivot rows in reduced row-echelon form: the remainder
    of a vector after reduction is unique (zero on every pivot column, same row
    space), so the pivot columns, the rows found inconsistent and every prediction
    are those of the left-to-right sweep, while reducing x needs just one XOR of the
    pivot rows at the pivot columns where x has a 1.

    Fitted attributes: pivot_columns_, solution_ (a subset S consistent with the
    pivot rows, free variables 0), n_inconsistent_ (examples whose remainder was zero
    with label 1).
    """

    def fit(self, X, y) -> GaussianElimination:
        X, y = self._fit_data(X, y)
        m, d = X.shape
        bits = X == -1
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
        self.pivot_columns_ = np.flatnonzero(is_pivot)
        # In reduced echelon form the pivot labels are the solution (free variables 0).
        self.solution_ = np.flatnonzero(is_pivot & labels)
        self.n_inconsistent_ = inconsistent
        self._mask = pack_bits((is_pivot & labels)[None, :])[0]
        return self._fitted()

    def predict(self, X) -> np.ndarray:
        """The parity of x on solution_ (label classes_[0] for -1, classes_[1] for +1)."""
        X = self._test_data(X)
        ones = np.bitwise_count(pack_bits(X == -1) & self._mask).sum(axis=1)
        return self._to_classes(np.where(ones & 1, -1, 1))
