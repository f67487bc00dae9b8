"""GF(2) Gaussian elimination: the efficient parity learner, bit-packed, and its
plain reference. numpy only (learner programs use it as their reference)."""

from __future__ import annotations

import numpy as np

from .validation import check_dataset, check_labels, check_pm1_matrix

_ONE = np.uint64(1)


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """(n, d) bools -> (n, ceil(d/64)) uint64 words; column j is bit j % 64 of word j // 64."""
    n, d = bits.shape
    words = -(-d // 64)
    padded = np.zeros((n, words * 64), dtype=bool)
    padded[:, :d] = bits
    return np.packbits(padded, axis=1, bitorder="little").view("<u8")


def gauss_reference(X_train, y_train, X_test) -> np.ndarray:
    """Plain unpacked incremental GF(2) elimination, literally as ../shared/design.md says.

    Each training example (bits + label bit), in order, is reduced by the current
    pivot rows, sweeping pivot columns left to right; a non-zero remainder becomes a
    pivot row at its first 1 bit, a zero remainder is ignored (inconsistent or not).
    A test x is reduced the same way; its label bit is the XOR of the labels of the
    pivot rows used. Slow on purpose: it is the semantics the fast versions are held to.
    """
    X, y = check_dataset(X_train, y_train)
    T = check_pm1_matrix(X_test, "X_test", d=X.shape[1])
    d = X.shape[1]
    rows = np.zeros((d, d), dtype=bool)
    labels = np.zeros(d, dtype=bool)
    has = np.zeros(d, dtype=bool)

    def reduce(bits: np.ndarray, label: bool) -> tuple[np.ndarray, bool]:
        r = bits.copy()
        for c in np.flatnonzero(has):
            if r[c]:
                r ^= rows[c]
                label ^= labels[c]
        return r, label

    for bits, label in zip(X == -1, y == -1, strict=True):
        r, lab = reduce(bits, bool(label))
        if r.any():
            c = int(np.argmax(r))
            rows[c], labels[c], has[c] = r, lab, True
    out = [reduce(bits, False)[1] for bits in T == -1]
    return np.where(out, -1, 1).astype(np.int8)


class GaussianElimination:
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
        X, y = check_dataset(X, y)
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
        self.d_ = d
        self.pivot_columns_ = np.flatnonzero(is_pivot)
        # In reduced echelon form the pivot labels are the solution (free variables 0).
        self.solution_ = np.flatnonzero(is_pivot & labels)
        self.n_inconsistent_ = inconsistent
        self._mask = pack_bits((is_pivot & labels)[None, :])[0]
        return self

    def predict(self, X) -> np.ndarray:
        """+-1 predictions: the parity of x on solution_."""
        if not hasattr(self, "d_"):
            raise RuntimeError("GaussianElimination is not fitted; call fit(X, y) first")
        X = check_pm1_matrix(X, d=self.d_)
        ones = np.bitwise_count(pack_bits(X == -1) & self._mask).sum(axis=1)
        return np.where(ones & 1, -1, 1).astype(np.int8)

    def score(self, X, y) -> float:
        """Accuracy on (X, y)."""
        pred = self.predict(X)
        return float(np.mean(pred == check_labels(y, len(pred))))
