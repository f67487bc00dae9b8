"""RCNN(gauss) vs GaussianElimination on many test points at a larger d (CPU, slow).

For each d and seed: a dense parity with m = d + 10, Algorithm 1, then the network's
prediction on N test points beside GaussianElimination's. Appends one JSON object per
run to bench/results/gauss_rcnn_agreement.jsonl (so an interrupted sweep keeps its
finished runs).

    python bench/bench_gauss_rcnn_agreement.py --d 32 64 --seeds 0 1 2 --points 1000

The network is evaluated once per distinct 3x3 patch (RCNN.step_distinct, equal to the
dense convolution bit for bit, tests); --dense runs the convolution itself.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from _common import RESULTS, best_of, peak_mb

from turing_rcnn import GaussianElimination, ParityTask, RCNNLearner


def dense_baseline(model: RCNNLearner, X: np.ndarray, distinct_per_point: float) -> dict:
    """The dense convolution on the same fitted network and the first points (its cost
    per point hardly depends on the batch; the distinct figure is over all points)."""
    fast = model.decision_function(X)
    model.distinct = False
    try:
        seconds, dense = best_of(1, lambda: model.decision_function(X))
    finally:
        model.distinct = True
    per_point = seconds / len(X)
    return {
        "dense_points": len(X),
        "dense_equal": bool(np.array_equal(dense, fast)),
        "dense_seconds_per_point": per_point,
        "distinct_seconds_per_point": distinct_per_point,
        "speedup": per_point / distinct_per_point,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--d", type=int, nargs="+", default=[32])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--progress", action="store_true")
    parser.add_argument(
        "--dense",
        action="store_true",
        help="the dense convolution instead of per-distinct-patch evaluation",
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--dense-points",
        type=int,
        default=0,
        help="also run the dense convolution on this many test points: "
        "same outputs? seconds per point of each, same run",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    RESULTS.mkdir(parents=True, exist_ok=True)
    for d in args.d:
        for seed in args.seeds:
            data = ParityTask(d).make(d + 10, n_test=args.points, seed=seed)
            model = RCNNLearner("gauss", distinct=not args.dense, progress=args.progress)
            start = time.perf_counter()
            model.fit(data.X_train, data.y_train)
            fit = time.perf_counter() - start
            start = time.perf_counter()
            pred = model.predict(data.X_test)
            predict = time.perf_counter() - start
            ge = GaussianElimination().fit(data.X_train, data.y_train).predict(data.X_test)
            row = {
                "d": d,
                "m": d + 10,
                "seed": seed,
                "points": args.points,
                "layers": model.layers_,
                "cells": int(np.prod(model.net_.config.grid_shape)),
                "memorisation_exact": model.memorisation_exact_,
                "agreement": float(np.mean(pred == ge)),
                "rcnn_error": float(np.mean(pred != data.y_test)),
                "ge_error": float(np.mean(ge != data.y_test)),
                "fit_seconds": fit,
                "predict_seconds": predict,
                "peak_rss_mb": peak_mb(),
                "device": f"cpu ({args.threads} threads)",
                "dtype": "float32",
                "evaluation": "dense" if args.dense else "distinct patches",
            }
            if args.dense_points:
                some = data.X_test[: args.dense_points]
                row |= dense_baseline(model, some, predict / args.points)
            print(json.dumps(row))
            with open(RESULTS / "gauss_rcnn_agreement.jsonl", "a") as f:
                f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
