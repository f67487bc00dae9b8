"""The main job: learn parities with the RCNN (Gaussian elimination compiled into one
3x3 filter, trained by Algorithm 1), with Gaussian elimination itself, and with an
SGD-trained MLP.

Each row is one learner on one task; errors are measured on fresh, clean test data.
The RCNN and GaussianElimination see m = d + 10 examples; the MLP sees the same
examples or a stream of fresh ones (32 per step), the regime where SGD is known to
learn sparse parities and to fail on dense ones. The RCNN runs on the CPU on the
32-bit dense parity (about two minutes, most of it Algorithm 1's 43 SGD steps), where
the MLP fails even on fresh samples.
"""

from __future__ import annotations

import time

import numpy as np

from .learners import SGDMLP, GaussianElimination
from .tasks import ParityTask

# (name, task, test points, MLP steps on fresh samples, include the RCNN)
DEMO_TASKS = [
    ("dense parity", ParityTask(16), 2000, 5000, False),
    ("dense parity", ParityTask(32), 500, 5000, True),
    ("3-sparse parity", ParityTask(20, k=3), 2000, 3000, False),
]
MLP_STEPS_FIXED_SET = 2000


def run_demo(seed: int = 0, progress: bool = True) -> list[dict]:
    """Returns one row per (task, learner): examples used, test error, seconds."""
    from .train import RCNNLearner

    rows = []
    for task_name, task, n_test, fresh_steps, with_rcnn in DEMO_TASKS:
        m = task.d + 10
        data = task.make(m, n_test=n_test, seed=seed)

        def draw(n, rng, task=task, secret=data.secret):
            return task.sample(n, secret, rng)

        def mlp(steps: int) -> SGDMLP:
            return SGDMLP(steps=steps, seed=seed, progress=progress)

        def rcnn(d=data):
            return RCNNLearner("gauss", progress=progress).fit(*_train(d))

        runs = [("RCNN (gauss filter, Alg. 1)", m, rcnn)] if with_rcnn else []
        runs.append(
            ("GaussianElimination", m, lambda d=data: GaussianElimination().fit(*_train(d)))
        )
        if task.k is None:
            runs.append((f"SGD-MLP, same {m} examples", m,
                         lambda d=data: mlp(MLP_STEPS_FIXED_SET).fit(*_train(d))))  # fmt: skip
        runs.append(("SGD-MLP, fresh samples", fresh_steps * 32,
                     lambda s=fresh_steps, f=draw, d=task.d: mlp(s).fit_online(f, d)))  # fmt: skip
        ge_pred = GaussianElimination().fit(*_train(data)).predict(data.X_test)
        for learner, examples, fit in runs:
            start = time.perf_counter()
            model = fit()
            pred = model.predict(data.X_test)
            row = {
                "task": task_name, "d": task.d, "k": task.k, "m": m, "learner": learner,
                "examples": examples, "test_points": n_test,
                "test_error": float(np.mean(pred != data.y_test)),
                "seconds": time.perf_counter() - start,
            }  # fmt: skip
            if isinstance(model, RCNNLearner):
                rows_, cols = model.net_.config.grid_shape
                row |= {
                    "agreement_with_ge": float(np.mean(pred == ge_pred)),
                    "memorisation_exact": model.memorisation_exact_,
                    "cells": rows_ * cols, "layers": model.layers_,
                    "shared_parameters": model.compiled.parameter_count,
                }  # fmt: skip
            rows.append(row)
    return rows


def _train(data):
    return data.X_train, data.y_train


def format_table(rows: list[dict]) -> str:
    head = (f"{'task':<16}{'d':>4}{'m':>4}  {'learner':<29}{'examples':>9}"
            f"{'test error':>12}{'seconds':>9}")  # fmt: skip
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['task']:<16}{r['d']:>4}{r['m']:>4}  {r['learner']:<29}{r['examples']:>9}"
            f"{r['test_error']:>12.3f}{r['seconds']:>9.2f}"
        )
    for r in rows:
        if "agreement_with_ge" in r:
            lines.append(
                f"\nRCNN on d={r['d']}: agreement with Gaussian elimination "
                f"{100 * r['agreement_with_ge']:.1f}% of {r['test_points']} test points, "
                f"memorisation exact: {r['memorisation_exact']}, network {r['cells']} cells "
                f"x {r['layers']} layers with ONE shared filter of "
                f"{r['shared_parameters']} parameters."
            )
    return "\n".join(lines)
