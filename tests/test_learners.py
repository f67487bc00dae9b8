import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.exceptions import NotFittedError

from turing_rcnn import (
    SGDMLP,
    GaussianElimination,
    ParityTask,
    gauss_reference,
    parity_labels,
    spanning_probability,
)
from turing_rcnn.tasks import from_bits


def all_points(d: int) -> np.ndarray:
    return from_bits(np.array(list(itertools.product([False, True], repeat=d))))


def consistent_subsets(X, y) -> list[np.ndarray]:
    d = X.shape[1]
    found = []
    for mask in itertools.product([False, True], repeat=d):
        s = np.flatnonzero(mask)
        if np.array_equal(parity_labels(X, s), y):
            found.append(s)
    return found


@given(d=st.integers(1, 8), extra=st.integers(-3, 6), seed=st.integers(0, 10**6))
def test_gauss_matches_brute_force_on_consistent_data(d, extra, seed):
    m = max(1, d + extra)
    data = ParityTask(d).make(m, n_test=0, seed=seed)
    ge = GaussianElimination(fit_intercept=False).fit(data.X_train, data.y_train)
    subsets = consistent_subsets(data.X_train, data.y_train)
    rank = len(ge.pivot_columns_)
    # Brute force: the consistent subsets form a coset of size 2^(d - rank) ...
    assert len(subsets) == 2 ** (d - rank)
    # ... GE's solution is one of them: the one that is zero on every free column ...
    free = np.setdiff1d(np.arange(d), ge.pivot_columns_)
    zero_on_free = [s for s in subsets if not np.isin(s, free).any()]
    assert len(zero_on_free) == 1 and np.array_equal(zero_on_free[0], ge.solution_)
    # ... and GE predicts its parity on every point of {-1,1}^d.
    X = all_points(d)
    assert np.array_equal(ge.predict(X), parity_labels(X, ge.solution_))
    assert ge.n_inconsistent_ == 0
    if len(subsets) == 1:
        assert np.array_equal(ge.predict(X), parity_labels(X, data.secret))


def test_gauss_brute_force_d10():
    data = ParityTask(10).make(14, seed=3)
    ge = GaussianElimination(fit_intercept=False).fit(data.X_train, data.y_train)
    subsets = consistent_subsets(data.X_train, data.y_train)
    assert len(subsets) == 2 ** (10 - len(ge.pivot_columns_))
    assert any(np.array_equal(s, ge.solution_) for s in subsets)


@given(
    d=st.integers(1, 200),
    m=st.integers(1, 260),
    noise=st.sampled_from([0.0, 0.05, 0.3, 0.49]),
    seed=st.integers(0, 10**6),
)
def test_gauss_matches_unpacked_reference_on_noisy_data(d, m, noise, seed):
    data = ParityTask(d, noise=noise).make(m, n_test=64, seed=seed)
    ge = GaussianElimination(fit_intercept=False).fit(data.X_train, data.y_train)
    ref = gauss_reference(data.X_train, data.y_train, data.X_test)
    assert np.array_equal(ge.predict(data.X_test), ref)


@given(
    d=st.integers(1, 80),
    m=st.integers(1, 100),
    noise=st.sampled_from([0.0, 0.1, 0.49]),
    flip=st.booleans(),
    seed=st.integers(0, 10**6),
)
def test_the_constant_term_is_a_constant_bit_for_the_reference(d, m, noise, flip, seed):
    """fit_intercept=True is linear elimination with a constant bit 1 (value -1)
    appended to every example: == gauss_reference on that data, and intercept_ is the
    constant's coefficient."""
    data = ParityTask(d, noise=noise).make(m, n_test=64, seed=seed)
    y = -data.y_train if flip else data.y_train
    ge = GaussianElimination().fit(data.X_train, y)

    def with_constant(X):
        return np.hstack([X, -np.ones((len(X), 1), dtype=X.dtype)])

    ref = gauss_reference(with_constant(data.X_train), y, with_constant(data.X_test))
    assert np.array_equal(ge.predict(data.X_test), ref)
    constant = np.zeros((1, d + 1), dtype=np.int8) + 1
    constant[0, d] = -1  # the constant bit alone: its prediction is the coefficient
    assert ge.intercept_ == (gauss_reference(with_constant(data.X_train), y, constant)[0] == -1)


@pytest.mark.parametrize("d", [64, 65, 200])
def test_gauss_learns_dense_parity_across_word_boundaries(d):
    data = ParityTask(d).make(d + 20, n_test=500, seed=d)
    ge = GaussianElimination(fit_intercept=False).fit(data.X_train, data.y_train)
    assert np.array_equal(ge.solution_, data.secret)
    assert ge.score(data.X_test, data.y_test) == 1.0


def test_rank_matches_spanning_probability():
    d, m, trials = 6, 8, 3000
    rng = np.random.default_rng(0)
    full = 0
    for _ in range(trials):
        X = from_bits(rng.random((m, d)) < 0.5)
        full += len(GaussianElimination(fit_intercept=False).fit(X, np.ones(m)).pivot_columns_) == d
    p = spanning_probability(d, m)
    assert abs(full / trials - p) < 4 * np.sqrt(p * (1 - p) / trials)


@pytest.mark.parametrize(
    "encode",
    [lambda y: y, lambda y: (y == -1).astype(int), lambda y: y == -1],
    ids=["pm1", "bits", "bools"],
)
def test_gauss_learns_parities_from_labels_in_any_encoding(encode):
    """0/1 (or False/True) labels are bits, like the features: the same parity."""
    data = ParityTask(8).make(18, n_test=300, seed=4)
    ge = GaussianElimination().fit(data.X_train, encode(data.y_train))
    assert ge.score(data.X_test, encode(data.y_test)) == 1.0
    assert np.array_equal(ge.solution_, data.secret)


def test_sgd_mlp_learns_a_small_sparse_parity_online():
    task = ParityTask(8, k=2)
    data = task.make(1, n_test=500, seed=0)
    mlp = SGDMLP(hidden=256, steps=1500, seed=0)
    mlp.fit_online(lambda n, rng: task.sample(n, data.secret, rng), d=8)
    assert mlp.score(data.X_test, data.y_test) > 0.95
    assert mlp.samples_seen_ == 1500 * 32


def test_sgd_mlp_fits_a_fixed_set():
    data = ParityTask(6, k=1).make(64, n_test=200, seed=1)
    mlp = SGDMLP(hidden=64, steps=300, seed=0).fit(data.X_train, data.y_train)
    assert mlp.score(data.X_train, data.y_train) == 1.0
    assert mlp.score(data.X_test, data.y_test) > 0.9


@pytest.mark.parametrize("learner", [GaussianElimination(), SGDMLP(hidden=4, steps=1)])
def test_bad_input_is_rejected_with_a_clear_error(learner):
    X = np.array([[1, -1], [-1, -1], [1, 1]])
    cases = [
        ((X, np.array([1, 0, 2])), "Only binary classification"),
        ((X, np.array([0.5, 1.0, 1.5])), "Unknown label type"),
        ((X, np.array(["a", "a", "a"])), "only one class"),
        ((np.array([[1, 2], [1, 1]]), np.array([1, 1])), "-1 and \\+1"),
        ((X, np.array([1, 1])), "inconsistent numbers of samples"),
        ((X[0], np.array([1])), "Expected 2D array"),
        ((np.zeros((0, 2)), np.zeros(0)), "0 sample"),
    ]
    for args, match in cases:
        with pytest.raises(ValueError, match=match):
            learner.fit(*args)
        with pytest.raises(NotFittedError):  # a fit that failed leaves nothing fitted
            learner.predict(X)
    learner.fit(X, np.array([1, -1, 1]))
    with pytest.raises(ValueError, match="expecting 2 features"):
        learner.predict(np.ones((3, 5)))
    with pytest.raises(ValueError, match="-1 and \\+1"):
        learner.predict(X * 3)
    with pytest.raises(ValueError, match=r"labels \[2\] are not among classes_"):
        learner.score(X, np.array([2, 1, 1]))


def test_gauss_reference_rejects_mismatched_test_width():  # (the plain reference's own checks)
    with pytest.raises(ValueError, match="X_test"):
        gauss_reference(np.ones((2, 3)), np.ones(2), np.ones((1, 4)))
