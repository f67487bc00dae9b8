"""Gaussian elimination inside the RCNN: predictions == GaussianElimination, exactly."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from turing_rcnn import GaussianElimination, ParityTask
from turing_rcnn.algorithm1 import RCNNLearner, compiled_frame
from turing_rcnn.frame import layers_needed
from turing_rcnn.tasks import from_bits

MODEL = {}


def gauss_rcnn() -> RCNNLearner:
    if not MODEL:
        MODEL["m"] = RCNNLearner("gauss")
    return MODEL["m"]


def all_points(d: int) -> np.ndarray:
    return from_bits(np.array(list(itertools.product([False, True], repeat=d))))


@settings(max_examples=60)
@given(
    d=st.integers(1, 6),
    extra=st.integers(-3, 4),
    noise=st.sampled_from([0.0, 0.0, 0.1, 0.3]),
    seed=st.integers(0, 2**32 - 1),
)
def test_rcnn_equals_gaussian_elimination_on_all_points(d, extra, noise, seed):
    m = max(1, d + extra)
    data = ParityTask(d, noise=noise).make(m, n_test=0, seed=seed)
    model = gauss_rcnn().fit(data.X_train, data.y_train)
    assert model.memorisation_exact_
    T = all_points(d)
    ge = GaussianElimination(fit_intercept=False).fit(data.X_train, data.y_train)
    assert np.array_equal(model.predict(T), ge.predict(T))


@pytest.mark.parametrize("noise", [0.0, 0.2])
def test_d12(noise):
    data = ParityTask(12, noise=noise).make(12, n_test=48, seed=12)
    model = gauss_rcnn().fit(data.X_train, data.y_train)
    assert model.memorisation_exact_
    ge = GaussianElimination(fit_intercept=False).fit(data.X_train, data.y_train)
    assert np.array_equal(model.predict(data.X_test), ge.predict(data.X_test))


def test_inconsistent_and_redundant_rows_follow_the_reference():
    # Rows 2 and 3 repeat row 0 (redundant) and contradict it (inconsistent: ignored).
    X = np.array([[1, -1, 1], [-1, -1, 1], [1, -1, 1], [1, -1, 1], [1, 1, -1]])
    y = np.array([1, -1, 1, -1, -1])
    model = gauss_rcnn().fit(X, y)
    T = all_points(3)
    ge = GaussianElimination(fit_intercept=False).fit(X, y)
    assert ge.n_inconsistent_ == 1
    assert np.array_equal(model.predict(T), ge.predict(T))


def test_layer_budget_is_linear_in_m_plus_d():
    learner = gauss_rcnn().learner_program()
    for m, d in [(1, 1), (10, 4), (42, 32), (74, 64)]:
        assert layers_needed(learner, m, d) <= 4 * (m + d) + 2
        assert layers_needed(learner, m, d) == 2 * m + 3 * d + 5


def test_every_symbol_of_the_gauss_frame_has_a_picture_class():
    from turing_rcnn.app.viz import CLASSES, symbol_class

    symbols = compiled_frame("gauss").program.symbols
    classes = {symbol_class(s) for s in symbols}
    assert classes <= set(range(len(CLASSES))) and len(classes) == len(CLASSES)


def test_turing_machine_learners_show_their_head_and_their_own_legend():
    """A Turing-machine learner's head and crossed-out labels have colours of their own,
    and its picture's legend names them (not the eliminator's pivots and decisions)."""
    import numpy as np

    from turing_rcnn import ParityTask, RCNNLearner
    from turing_rcnn.app.viz import grid_history, legend, symbol_class

    symbols = compiled_frame("majority").program.symbols
    heads = [s for s in symbols if symbol_class(s) == 10]
    assert heads and all(s[-1] in "ABCDEZ" and s[:-1] in symbols for s in heads)
    assert (symbol_class("X"), symbol_class("L1"), symbol_class("L1B")) == (9, 8, 10)
    data = ParityTask(3).make(4, n_test=1, seed=0)
    model = RCNNLearner("majority").fit(data.X_train, data.y_train)
    names = [n for n, _ in legend(model, grid_history(model, data.X_test[0]))]
    assert "Turing machine head" in names and "pivot bit moving down" not in names
    assert np.isin(["answer", "decoding wave"], names).all()
