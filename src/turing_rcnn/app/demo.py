"""The main job: learn parities with the RCNN (Gaussian elimination compiled into one
3x3 filter, trained by Algorithm 1), with Gaussian elimination itself, and with an
SGD-trained MLP.

Each row is one learner on one task; errors are measured on fresh, clean test data.
The RCNN and GaussianElimination see m = d + 10 examples; the MLP sees the same
examples or a stream of fresh ones (32 per step), the regime where SGD is known to
learn sparse parities and to fail on dense ones. By default the RCNN runs on the CPU
on the 32-bit dense parity (a few seconds: change-driven evaluation, changes.py),
where the MLP fails even on fresh samples.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..options import option
from ..tasks import ParityTask

# (name, task, test points, MLP steps on fresh samples)
DEMO_TASKS = [
    ("dense parity", ParityTask(16), 2000, 5000),
    ("dense parity", ParityTask(32), 500, 5000),
    ("3-sparse parity", ParityTask(20, k=3), 2000, 3000),
]
MLP_STEPS_FIXED_SET = 2000


@dataclass
class DemoConfig:
    seed: int = option(0, "seeds the data and the MLP", low=0, high=2**63 - 1)
    rcnn_d: int = option(
        32, "bits of the dense parity the RCNN learns (32: a few seconds)", low=2, high=256
    )


def run_demo(config: DemoConfig, progress: bool = True) -> list[dict]:
    """One row per (task, learner): examples used, test error, seconds."""
    from ..algorithm1 import RCNNLearner
    from ..baselines import GaussianElimination

    if config.rcnn_d < 1:
        raise ValueError(f"rcnn_d must be >= 1, got {config.rcnn_d}")
    tasks = list(DEMO_TASKS)
    if all(t.k is not None or t.d != config.rcnn_d for _, t, _, _ in tasks):
        tasks.insert(0, ("dense parity", ParityTask(config.rcnn_d), 500, 0))
    rows = []
    for task_name, task, n_test, fresh_steps in tasks:
        data = task.make(task.d + 10, n_test=n_test, seed=config.seed)
        with_rcnn = task.k is None and task.d == config.rcnn_d
        linear = GaussianElimination(fit_intercept=False)  # the RCNN's program, for agreement
        ge_pred = linear.fit(data.X_train, data.y_train).predict(data.X_test)
        for learner, examples, fit in _runs(task, data, fresh_steps, with_rcnn, config, progress):
            start = time.perf_counter()
            model = fit()
            pred = model.predict(data.X_test)
            row = {
                "task": task_name,
                "d": task.d,
                "k": task.k,
                "m": len(data.y_train),
                "learner": learner,
                "examples": examples,
                "test_points": n_test,
                "test_error": float(np.mean(pred != data.y_test)),
                "seconds": time.perf_counter() - start,
            }
            if isinstance(model, RCNNLearner):
                rows_, cols = model.net_.config.grid_shape
                row |= {
                    "agreement_with_ge": float(np.mean(pred == ge_pred)),
                    "memorisation_exact": model.memorisation_exact_,
                    "cells": rows_ * cols,
                    "layers": model.layers_,
                    "shared_parameters": model.compiled_.parameter_count,
                }
            rows.append(row)
    return rows


def _runs(task: ParityTask, data, fresh_steps: int, with_rcnn: bool, config, progress):
    """(learner name, examples seen, fit function) for each learner on one task."""
    from ..algorithm1 import RCNNLearner
    from ..baselines import SGDMLP, GaussianElimination

    m, train = len(data.y_train), (data.X_train, data.y_train)

    def draw(n, rng):
        return task.sample(n, data.secret, rng)

    def mlp(steps: int) -> SGDMLP:
        return SGDMLP(steps=steps, seed=config.seed, progress=progress)

    runs = []
    if with_rcnn:
        runs.append(
            (
                "RCNN (gauss filter, Alg. 1)",
                m,
                lambda: RCNNLearner("gauss", progress=progress).fit(*train),
            )
        )
    runs.append(("GaussianElimination", m, lambda: GaussianElimination().fit(*train)))
    if fresh_steps == 0:  # the RCNN's own task: only the RCNN and GE
        return runs
    if task.k is None:
        runs.append(
            (f"SGD-MLP, same {m} examples", m, lambda: mlp(MLP_STEPS_FIXED_SET).fit(*train))
        )
    runs.append(
        (
            "SGD-MLP, fresh samples",
            fresh_steps * 32,
            lambda: mlp(fresh_steps).fit_online(draw, task.d),
        )
    )
    return runs


def format_table(rows: list[dict]) -> str:
    head = (
        f"{'task':<16}{'d':>4}{'m':>4}  {'learner':<29}{'examples':>9}"
        f"{'test error':>12}{'seconds':>9}"
    )
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
