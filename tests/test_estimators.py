"""The estimators follow scikit-learn's conventions: clone, get/set_params, and
scikit-learn's own estimator checks.

The learners' domain is {-1,+1}^d (the paper's inputs), and they refuse anything
else with a clear error. scikit-learn's checks draw real-valued features, so on the
bare estimators the checks that fit on such data are expected to fail, each listed
with its reason (DOMAIN). To run those checks inside the domain, OnSigns feeds the
sign of each feature to the estimator (x < 0 -> -1, else +1): every check then fits
and predicts through the real estimator, and every one passes (no listed failure).
"""

import json
import pickle

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn.utils.validation import check_is_fitted, validate_data

from turing_rcnn import (
    SGDMLP,
    AlgoConfig,
    Algorithm2,
    AlgorithmLearner,
    GaussianElimination,
    ParityTask,
    RCNNLearner,
    SearchConfig,
    TuringOptimalLearner,
)

REAL_FEATURES = "the check fits on real-valued features; the domain is {-1,+1}^d (refused)"
DOMAIN = {
    name: REAL_FEATURES
    for name in [
        "check_classifier_data_not_an_array",
        "check_classifiers_classes",
        "check_classifiers_one_label",
        "check_classifiers_train",
        "check_dict_unchanged",
        "check_dont_overwrite_parameters",
        "check_dtype_object",
        "check_estimators_dtypes",
        "check_estimators_fit_returns_self",
        "check_estimators_nan_inf",
        "check_estimators_overwrite_params",
        "check_estimators_pickle",
        "check_f_contiguous_array_estimator",
        "check_fit2d_1feature",
        "check_fit2d_1sample",
        "check_fit2d_predict1d",
        "check_fit_check_is_fitted",
        "check_fit_idempotent",
        "check_fit_score_takes_y",
        "check_methods_sample_order_invariance",
        "check_methods_subset_invariance",
        "check_n_features_in",
        "check_n_features_in_after_fitting",
        "check_pipeline_consistency",
        "check_positive_only_tag_during_fit",
        "check_readonly_memmap_input",
        "check_supervised_y_2d",
    ]
}


def small_mlp() -> SGDMLP:
    return SGDMLP(hidden=8, steps=20)


@parametrize_with_checks(
    [GaussianElimination(), small_mlp(), RCNNLearner("last-label")],
    expected_failed_checks=lambda estimator: DOMAIN,
    xfail_strict=True,
)
def test_scikit_learn_checks_on_the_bare_estimators(estimator, check):
    check(estimator)


class OnSigns(ClassifierMixin, BaseEstimator):
    """A +-1 estimator fed sign(X): scikit-learn's checks inside the domain."""

    def __init__(self, estimator=None):
        self.estimator = estimator

    def fit(self, X, y):
        X, y = validate_data(self, X, y)
        self.estimator_ = clone(self.estimator).fit(np.where(X < 0, -1, 1), y)
        self.classes_ = self.estimator_.classes_
        return self

    def predict(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        return self.estimator_.predict(np.where(X < 0, -1, 1))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        inner = self.estimator.__sklearn_tags__().classifier_tags
        tags.classifier_tags.poor_score = inner.poor_score  # RCNNLearner("last-label")
        return tags


@parametrize_with_checks(
    [OnSigns(GaussianElimination()), OnSigns(small_mlp())],
    xfail_strict=True,
)
def test_scikit_learn_checks_inside_the_domain(estimator, check):
    check(estimator)


@pytest.mark.slow
@parametrize_with_checks([OnSigns(RCNNLearner("last-label"))], xfail_strict=True)
def test_scikit_learn_checks_inside_the_domain_rcnn(estimator, check):
    """Slow: the checks fit up to 300 examples (Algorithm 1 with 301 SGD steps through
    ~300 layers each); the fast tests below check the same conventions on small data."""
    check(estimator)


def _data(seed=0, d=4, m=10):
    data = ParityTask(d).make(m, n_test=30, seed=seed)
    return data.X_train, data.y_train, data.X_test


ESTIMATORS = [
    GaussianElimination(),
    small_mlp(),
    RCNNLearner("last-label"),
    RCNNLearner("gauss", dtype="float64", evaluation="dense"),
]


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: repr(e))
def test_conventions_on_pm1_data(estimator):
    """The conventions scikit-learn's checks test, on +-1 data: clone, params, fit
    returns self, idempotent refit, pickle, subset and order invariance, any two labels
    via classes_ (bits as the features' convention), decision_function's sign, one
    +-1 label, predict leaves the state alone, wrong d refused, failed fits unfitted."""
    X, y, T = _data()
    assert clone(estimator).get_params() == estimator.get_params()
    with pytest.raises(NotFittedError):
        clone(estimator).predict(T)
    est = clone(estimator)
    assert est.fit(X, y) is est and est.n_features_in_ == 4
    first = est.predict(T)
    assert np.array_equal(est.fit(X, y).predict(T), first)  # idempotent
    again = pickle.loads(pickle.dumps(est))
    assert np.array_equal(again.predict(T), first)
    assert np.array_equal(est.predict(T[5:9]), first[5:9])  # subset invariance
    order = np.random.default_rng(0).permutation(len(T))
    assert np.array_equal(est.predict(T[order]), first[order])
    # Labels that are not +-1 are bits: classes_[0] is bit 0 (+1), classes_[1] bit 1 (-1).
    bits = clone(estimator).fit(X, (y == -1).astype(int))
    assert bits.classes_.tolist() == [0, 1]
    assert np.array_equal(bits.predict(T), (first == -1).astype(int))
    named = clone(estimator).fit(X, np.where(y == 1, "no", "yes"))
    assert named.classes_.tolist() == ["no", "yes"]
    assert np.array_equal(named.predict(T), np.where(first == 1, "no", "yes"))
    for fitted in (est, bits, named):  # > 0 means classes_[1], as in scikit-learn
        positive = fitted.decision_function(T) > 0
        assert np.array_equal(fitted.predict(T), fitted.classes_[positive.astype(int)])
    # One +-1 label keeps its sign (a parity learner must not flip it).
    ones = -np.ones_like(y)
    assert clone(estimator).fit(X, ones).classes_.tolist() == [-1, 1]
    assert est.score(T, first) == 1.0
    params, state = est.get_params(), dict(vars(est))
    est.predict(T)
    assert est.get_params() == params and vars(est).keys() == state.keys()  # predict: no state
    with pytest.raises(ValueError, match="expecting 4 features"):
        est.predict(T[:, :3])
    with pytest.raises(ValueError):  # a failed refit leaves the estimator unfitted
        est.fit(X * 2, y)
    with pytest.raises(NotFittedError):
        est.predict(T)
    if isinstance(est, RCNNLearner):  # so does one that fails on a parameter
        est.fit(X, y)
        with pytest.raises(ValueError, match="dtype must be one of"):
            est.set_params(dtype="float16").fit(X, y)
        with pytest.raises(NotFittedError):
            est.predict(T)


def test_grid_search_chooses_the_learner_program():
    """Labels +1 then eleven -1: with 2 folds in order, first-label scores (5/6 + 0)/2
    and last-label (5/6 + 1)/2, so the search picks last-label."""
    X, _, _ = _data(d=3, m=12)
    y = np.array([1] + [-1] * 11)
    grid = GridSearchCV(RCNNLearner(), {"learner": ["first-label", "last-label"]}, cv=KFold(2))
    grid.fit(X, y)
    means = grid.cv_results_["mean_test_score"]
    assert means.tolist() == pytest.approx([(5 / 6 + 0) / 2, (5 / 6 + 1) / 2])
    assert grid.best_params_ == {"learner": "last-label"}
    assert grid.best_estimator_.memorisation_exact_


@pytest.mark.parametrize(
    "estimator",
    [
        TuringOptimalLearner(SearchConfig(restarts=8, batch=8), progress=False),
        Algorithm2([SearchConfig(restarts=8, batch=8)], progress=False),
        AlgorithmLearner(AlgoConfig(train_size=4, max_steps=2), progress=False),
    ],
    ids=["TuringOptimalLearner", "Algorithm2", "AlgorithmLearner"],
)
def test_the_other_estimators_clone_and_store_only_their_parameters(estimator):
    copy = clone(estimator)
    assert copy.get_params() == estimator.get_params()
    assert not [k for k in vars(copy) if k.endswith("_")]  # nothing fitted in __init__
    copy.set_params(progress=False)
    grid = np.ones((2, 3, 1, 4)) if isinstance(copy, AlgorithmLearner) else np.ones((2, 3))
    with pytest.raises(NotFittedError):
        copy.predict(grid)


def test_the_defaults_learn_parity(capsys):
    """RCNNLearner() and `turing-rcnn learn` run Gaussian elimination unless told
    otherwise: a default that learns the task the package is about."""
    from turing_rcnn.app.cli import main

    assert RCNNLearner().learner == "gauss"
    assert main(["learn", "--d", "6", "--m", "16", "--test", "50", "--json", "--no-progress"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["learner"] == "gauss" and report["agreement"] == 1.0


@pytest.mark.parametrize("estimator", [GaussianElimination(), RCNNLearner("gauss")], ids=repr)
def test_zero_one_features_are_bits(estimator):
    """0/1 features are read as bits, like 0/1 labels (bit 1 <-> -1): the same answers
    as on the +-1 data, and the fitted encoding holds for predict."""
    data = ParityTask(6).make(16, n_test=40, seed=1)
    X, T, y = ((a == -1).astype(int) for a in (data.X_train, data.X_test, data.y_train))
    bits = clone(estimator).fit(X, y)
    pm1 = clone(estimator).fit(data.X_train, data.y_train)
    assert bits.feature_bits_ and not pm1.feature_bits_
    assert np.array_equal(bits.predict(T), (pm1.predict(data.X_test) == -1).astype(int))
    with pytest.raises(ValueError, match="fitted on 0/1 bits"):
        bits.predict(data.X_test)
    with pytest.raises(ValueError, match="-1 and \\+1, or only 0 and 1"):
        clone(estimator).fit(X * 2, y)


def _as_bits(X):  # module-level functions: the pipelines stay picklable
    return X


def _one_minus_2x(X):
    return 1 - 2 * X


def _2x_minus_1(X):
    return 2 * X - 1


ENCODINGS = {"bits": _as_bits, "1 - 2x": _one_minus_2x, "2x - 1": _2x_minus_1}


def _odd_parity_bits(d, m, seed):
    """0/1 data as a scikit-learn user brings it: the parity of 3 of the d bits (an odd
    count: the case where `2x - 1` turns the parity into its complement), 0/1 labels."""
    data = ParityTask(d, secret=(0, 2, d - 1)).make(m, n_test=0, seed=seed)
    return (data.X_train == -1).astype(int), (data.y_train == -1).astype(int)


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize(
    "estimator, learns_affine",
    [
        (GaussianElimination(), True),
        (GaussianElimination(fit_intercept=False), False),
        (RCNNLearner(), False),
    ],
    ids=["GaussianElimination", "GaussianElimination-linear", "RCNNLearner"],
)
def test_zero_one_parity_data_through_a_pipeline_and_cross_validation(
    encoding, estimator, learns_affine
):
    """Each sign convention of 0/1 data, through make_pipeline and cross_val_score:
    GaussianElimination (constant term on by default) learns the parity in every
    encoding; linear elimination (fit_intercept=False, the program RCNNLearner runs)
    learns it from the bits and from 1 - 2x and, behind 2x - 1 (where the labels are an
    affine parity, which no linear parity fits), scores near chance, as documented."""
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    X, y = _odd_parity_bits(8, 60, seed=2)
    pipe = make_pipeline(FunctionTransformer(ENCODINGS[encoding]), clone(estimator))
    scores = cross_val_score(pipe, X, y, cv=KFold(3))
    if learns_affine or encoding != "2x - 1":
        assert scores.tolist() == [1.0, 1.0, 1.0]
    else:
        assert scores.max() < 0.75  # no linear parity fits: near chance


def test_sgd_mlp_is_indifferent_to_the_encoding():
    """The MLP has biases, so `2x - 1` is an affine change of its input: trained from
    the same seed on a 2-bit parity of 0/1 data, it reaches the same accuracy through
    either encoding and on the bits as they are."""
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    data = ParityTask(4, secret=(1, 3)).make(240, n_test=0, seed=0)
    X, y = (data.X_train == -1).astype(int), (data.y_train == -1).astype(int)
    for encode in ENCODINGS.values():
        pipe = make_pipeline(FunctionTransformer(encode), SGDMLP(hidden=64, steps=1500))
        assert cross_val_score(pipe, X, y, cv=KFold(3)).min() == 1.0


@pytest.mark.parametrize("flip", [False, True])
def test_gaussian_elimination_learns_affine_parities(flip):
    """Labels = parity XOR a constant: the constant term finds both exactly (on +-1
    features), and every fit is consistent with its training data."""
    data = ParityTask(12).make(30, n_test=500, seed=7)
    y, y_test = (-data.y_train, -data.y_test) if flip else (data.y_train, data.y_test)
    ge = GaussianElimination().fit(data.X_train, y)
    assert ge.intercept_ == flip and np.array_equal(ge.solution_, data.secret)
    assert ge.score(data.X_test, y_test) == 1.0 and ge.n_inconsistent_ == 0
    assert not GaussianElimination(fit_intercept=False).fit(data.X_train, y).intercept_
