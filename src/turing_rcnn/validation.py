"""Input checks and the estimator conventions every learner shares.

Clear ValueErrors instead of silent wrong answers: features must be +-1 (bit 1 <->
-1, the paper's domain {-1,1}^d). Labels may be any two values (scikit-learn's
`classes_`, sorted). Labels that are a subset of {-1, +1} keep their sign. Any other
two labels are read as bits, like the features: classes_[0] is bit 0 (+1) and
classes_[1] is bit 1 (-1), so 0/1 or False/True labels mean what the bit convention
says (a parity learner must not see a parity's complement). decision_function, as in
scikit-learn, is > 0 for classes_[1].
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from .checks import check_pm1_matrix


class PM1Classifier(ClassifierMixin, BaseEstimator):
    """Base of the binary classifiers here (scikit-learn conventions: __init__ stores
    parameters, fit sets trailing-underscore attributes, score is accuracy).

    Subclasses call `_fit_data(X, y)` first in fit, which forgets any earlier fit,
    checks the data, sets classes_, signs_ (the +-1 value of each class),
    feature_bits_ (the features were 0/1 bits: 1 <-> -1, as for labels; a matrix of
    1s alone reads as +-1) and n_features_in_ and returns (X int8 +-1, y int8 +-1),
    and end fit with `return self._fitted()`; predict calls `_test_data(X)` and
    `_to_classes(+-1 predictions)`.
    A fit that raises, at any point, leaves the estimator unfitted.
    """

    def _fit_data(self, X, y) -> tuple[np.ndarray, np.ndarray]:
        for name in [k for k in vars(self) if k.endswith("_") and not k.startswith("__")]:
            delattr(self, name)
        self._done = False
        X, y = validate_data(self, X, y, dtype=None)
        check_classification_targets(y)
        kind = type_of_target(y, input_name="y")
        if kind not in ("binary", "unary"):
            raise ValueError(
                f"Only binary classification is supported. The type of the target is {kind}."
            )
        values = np.unique(y)
        if np.isin(values, (-1, 1)).all():
            self.classes_ = np.array([-1, 1], dtype=values.dtype)
            self.signs_ = np.array([-1, 1], dtype=np.int8)
        elif len(values) == 2:
            self.classes_ = values
            self.signs_ = np.array([1, -1], dtype=np.int8)  # bit 0, bit 1
        else:
            raise ValueError(
                "Classifier can't train when only one class is present, unless the labels "
                f"are +-1 (the one label then keeps its sign); got {values[0]!r}"
            )
        signs = np.where(y == self.classes_[1], self.signs_[1], self.signs_[0])
        values = np.unique(np.asarray(X))
        bits = not np.isin(values, (-1, 1)).all() and np.isin(values, (0, 1)).all()
        self.feature_bits_ = bool(bits)
        return self._pm1(X), signs.astype(np.int8)

    def _pm1(self, X) -> np.ndarray:
        """X as +-1 (int8): 0/1 features, if the fit saw them, read as bits like the
        labels (bit 1 <-> -1, bit 0 <-> +1); anything else refused."""
        X = np.asarray(X)  # 2-D: validate_data checked it
        if self.feature_bits_:
            if not np.isin(X, (0, 1)).all():
                raise ValueError("X must contain only 0 and 1: the model was fitted on 0/1 bits")
            X = 1 - 2 * X.astype(np.int8)
        elif not np.isin(X, (-1, 1)).all():
            raise ValueError(
                "X must contain only -1 and +1, or only 0 and 1 at fit (bits: 1 <-> -1, "
                "0 <-> +1), the encoding kept for predict"
            )
        return check_pm1_matrix(X)

    def _fitted(self):
        self._done = True
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return getattr(self, "_done", False)

    def _test_data(self, X) -> np.ndarray:
        check_is_fitted(self)
        return self._pm1(validate_data(self, X, dtype=None, reset=False))

    def _to_classes(self, signs: np.ndarray) -> np.ndarray:
        """+-1 predictions -> labels in classes_."""
        return self.classes_[(np.asarray(signs) == self.signs_[1]).astype(np.int64)]

    def _oriented(self, raw: np.ndarray) -> np.ndarray:
        """A +-1-scale score as decision_function: > 0 means classes_[1]."""
        return raw * self.signs_[1]

    def decision_function(self, X) -> np.ndarray:
        """+1.0 where the prediction is classes_[1], -1.0 elsewhere (scikit-learn's
        sign convention); learners with a real-valued output return that instead."""
        return np.where(self.predict(X) == self.classes_[1], 1.0, -1.0)

    def score(self, X, y, sample_weight=None) -> float:
        """Accuracy on (X, y); labels outside classes_ are an error, not a miss."""
        unknown = np.setdiff1d(np.asarray(y), self.classes_) if hasattr(self, "classes_") else []
        if len(unknown):
            raise ValueError(
                f"labels {unknown.tolist()} are not among classes_ {self.classes_.tolist()}"
            )
        return super().score(X, y, sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags
