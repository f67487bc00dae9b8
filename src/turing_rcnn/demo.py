"""The main job: learn parities with Gaussian elimination and with an SGD-trained MLP.

Each row is one learner on one task; errors are measured on fresh, clean test data.
GaussianElimination sees m = d + 10 examples; the MLP sees either the same examples
or a stream of fresh ones (32 per step), the regime where SGD is known to learn
sparse parities and to fail on dense ones.
"""

from __future__ import annotations

import time

from .learners import SGDMLP, GaussianElimination
from .tasks import ParityTask

DEMO_TASKS = [  # (name, task, MLP steps on fresh samples)
    ("dense parity", ParityTask(32), 5000),
    ("3-sparse parity", ParityTask(20, k=3), 3000),
]
MLP_STEPS_FIXED_SET = 2000


def run_demo(seed: int = 0, progress: bool = True, n_test: int = 2000) -> list[dict]:
    """Returns one row per (task, learner): examples used, test error, seconds."""
    rows = []
    for task_name, task, fresh_steps in DEMO_TASKS:
        m = task.d + 10
        data = task.make(m, n_test=n_test, seed=seed)

        def draw(n, rng, task=task, secret=data.secret):
            return task.sample(n, secret, rng)

        def mlp(steps: int) -> SGDMLP:
            return SGDMLP(steps=steps, seed=seed, progress=progress)

        runs = [("GaussianElimination", m, lambda d=data: GaussianElimination().fit(*_train(d)))]
        if task.k is None:
            runs.append(
                (
                    f"SGD-MLP, same {m} examples",
                    m,
                    lambda d=data: mlp(MLP_STEPS_FIXED_SET).fit(*_train(d)),
                )
            )
        runs.append(
            (
                "SGD-MLP, fresh samples",
                fresh_steps * 32,
                lambda s=fresh_steps, f=draw, d=task.d: mlp(s).fit_online(f, d),
            )
        )
        for learner, examples, fit in runs:
            start = time.perf_counter()
            model = fit()
            rows.append(
                {
                    "task": task_name,
                    "d": task.d,
                    "k": task.k,
                    "learner": learner,
                    "examples": examples,
                    "test_error": 1.0 - model.score(data.X_test, data.y_test),
                    "seconds": time.perf_counter() - start,
                }
            )
    return rows


def _train(data):
    return data.X_train, data.y_train


def format_table(rows: list[dict]) -> str:
    head = f"{'task':<18}{'d':>4}  {'learner':<30}{'examples':>10}{'test error':>12}{'seconds':>9}"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['task']:<18}{r['d']:>4}  {r['learner']:<30}{r['examples']:>10}"
            f"{r['test_error']:>12.3f}{r['seconds']:>9.2f}"
        )
    return "\n".join(lines)
