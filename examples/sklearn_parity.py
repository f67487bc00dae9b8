"""scikit-learn with the paper's learner: a Pipeline and a GridSearchCV on 0/1 parity data.

The estimators here (RCNNLearner: the RCNN trained by Algorithm 1; GaussianElimination:
the GF(2) baseline) are ordinary scikit-learn classifiers on +-1 features, with the
package's convention bit 1 <-> value -1; 0/1 features are read as those bits, so 0/1
data can be passed as it is, or mapped by a FunctionTransformer `x -> 1 - 2x` (the
pipelines below). What it shows:

1. GaussianElimination on the bits as they are, and in a Pipeline behind either
   encoding (1 - 2x or 2x - 1; the second turns an odd parity into its complement, an
   affine parity the constant term learns), and without the constant term
   (fit_intercept=False, the linear elimination the RCNN runs) behind 2x - 1, where it
   fails; all scored on held-out points;
2. cross_val_score of the pipeline;
3. GridSearchCV over the learner program the RCNN runs inside the Theorem 1 frame
   ('gauss', 'majority', 'first-label', 'last-label'): the grid picks 'gauss';
4. the best RCNN against linear GaussianElimination, prediction for prediction.

    python examples/sklearn_parity.py            # d = 7, about 6 s on 2 CPU cores
    python examples/sklearn_parity.py --quick    # d = 5, about 5 s (mostly imports)
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from turing_rcnn.algorithm1 import RCNNLearner
from turing_rcnn.baselines import GaussianElimination


# Module-level functions (not lambdas) so that the pipelines can be cloned and pickled.
def bits_to_pm1(X):
    """0/1 bits -> +-1 values in the package's convention: bit 1 -> -1, bit 0 -> +1.

    WHY 1 - 2x and not 2x - 1: with bit 1 <-> -1 the parity of the bits in S is the
    product of the values, a linear function over GF(2). `2x - 1` sends bit 1 to +1, so
    the estimator reads every bit flipped: b' = 1 - b, and the label XOR_S b becomes
    |S| mod 2 XOR (XOR_S b'). For |S| odd that is the parity's complement, an affine
    function with a constant term 1: GaussianElimination's constant term (fit_intercept,
    on by default) learns it; the RCNN's `gauss` program, linear elimination as in the
    paper, does not: `main` prints the scores."""
    return 1 - 2 * np.asarray(X)


def bits_to_pm1_wrong(X):
    """The common encoding 2x - 1 (bit 1 -> +1): an odd parity becomes affine."""
    return 2 * np.asarray(X) - 1


def parity_data(d: int, n: int, secret: np.ndarray, rng: np.random.Generator):
    """n uniform 0/1 points of d bits labelled 0/1 by the parity (XOR) of the bits in
    `secret`: the kind of data a user brings."""
    X = (rng.random((n, d)) < 0.5).astype(np.int64)
    y = X[:, secret].sum(axis=1) % 2
    return X, y


def main(quick: bool = False, seed: int = 0) -> dict:
    torch.set_num_threads(1)  # small work: one thread (the package's own policy)
    start = time.perf_counter()
    d = 5 if quick else 7
    m = d + 10  # examples per fit: Gaussian elimination needs about d
    rng = np.random.default_rng(seed)
    # An odd-size secret (3 of the d bits): the case where the encoding matters.
    secret = np.sort(rng.choice(d, size=3, replace=False))
    X, y = parity_data(d, m, secret, rng)
    X_test, y_test = parity_data(d, 200, secret, rng)
    print(f"parity of bits {secret.tolist()} over {{0,1}}^{d}; {m} training points, 0/1 labels")

    # 1. Gaussian elimination on the bits as they are, then behind each encoding, and
    # linear (no constant term) behind 2x - 1.
    scores = {"bits": GaussianElimination().fit(X, y).score(X_test, y_test)}
    print(f"  GaussianElimination on the 0/1 bits: test accuracy {scores['bits']:.3f}")
    runs = (
        ("1 - 2x", bits_to_pm1, True),
        ("2x - 1", bits_to_pm1_wrong, True),
        ("2x - 1, linear", bits_to_pm1_wrong, False),
    )
    for name, encode, intercept in runs:
        learn = GaussianElimination(fit_intercept=intercept)
        pipe = Pipeline([("encode", FunctionTransformer(encode)), ("learn", learn)])
        pipe.fit(X, y)
        scores[name] = pipe.score(X_test, y_test)
        fitted = pipe.named_steps["learn"]
        print(f"  GaussianElimination, x -> {name}: test accuracy {scores[name]:.3f}", end="")
        print(f" (found S = {fitted.solution_.tolist()}, constant {int(fitted.intercept_)})")

    # 2. cross_val_score: 2-fold on twice the data, so each fit also sees m points.
    X2, y2 = parity_data(d, 2 * m, secret, rng)
    ge = Pipeline([("encode", FunctionTransformer(bits_to_pm1)), ("learn", GaussianElimination())])
    folds = KFold(n_splits=2, shuffle=True, random_state=seed)
    cv = cross_val_score(ge, X2, y2, cv=folds)
    print(f"  cross_val_score(GaussianElimination pipeline): {np.round(cv, 3).tolist()}")

    # 3. GridSearchCV over the program the RCNN runs (every fit: Algorithm 1 on the RCNN).
    rcnn = Pipeline([("encode", FunctionTransformer(bits_to_pm1)), ("learn", RCNNLearner())])
    learners = (
        ["gauss", "last-label"] if quick else ["gauss", "majority", "first-label", "last-label"]
    )
    grid = GridSearchCV(rcnn, {"learn__learner": learners}, cv=folds)
    grid.fit(X2, y2)
    means = dict(zip(learners, grid.cv_results_["mean_test_score"].tolist(), strict=True))
    for name, score in means.items():
        print(f"  GridSearchCV RCNNLearner({name!r}): mean CV accuracy {score:.3f}")
    best = grid.best_params_["learn__learner"]
    print(f"  best: {best!r}, refit on all {len(X2)} points")

    # 4. The refitted best RCNN against linear GaussianElimination on the same data.
    ge.set_params(learn__fit_intercept=False).fit(X2, y2)
    rcnn_pred, ge_pred = grid.predict(X_test), ge.predict(X_test)
    net = grid.best_estimator_.named_steps["learn"]
    result = {
        "d": d,
        "m": m,
        "secret": secret.tolist(),
        "ge_score_bits": scores["bits"],
        "ge_score": scores["1 - 2x"],
        "ge_score_other_encoding": scores["2x - 1"],
        "ge_score_other_encoding_linear": scores["2x - 1, linear"],
        "cv_scores": cv.tolist(),
        "grid_scores": means,
        "best_learner": best,
        "rcnn_score": float(grid.score(X_test, y_test)),
        "rcnn_equals_ge": bool((rcnn_pred == ge_pred).all()),
        "memorisation_exact": bool(net.memorisation_exact_),
        "layers": int(net.layers_),
        "seconds": round(time.perf_counter() - start, 1),
    }
    print(
        f"  RCNN({best!r}): test accuracy {result['rcnn_score']:.3f}, "
        f"== GaussianElimination on all {len(X_test)} test points: {result['rcnn_equals_ge']}, "
        f"memorisation exact: {result['memorisation_exact']}, {result['layers']} layers"
    )
    print(f"done in {result['seconds']} s")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (what the test runs)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    main(quick=args.quick, seed=args.seed)
