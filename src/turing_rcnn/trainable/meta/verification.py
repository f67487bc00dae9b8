"""Verification of a learned learner against its family's reference, as the frame runs
it: exhaustive small problems, every label pattern, random large ones, the answer
staying put, and then the rule compiled inside the Theorem 1 frame, run by Algorithm 1
(`verify`)."""

from __future__ import annotations

import itertools
import time

import numpy as np

from ...progress import bar, heartbeat
from .families import LARGE, every_label_pattern, get_family, sample
from .layout import layers_for
from .rule import MetaRule
from .table import Table, run_meta_rule

SMALL = [(m, d) for d in range(1, 6) for m in range(1, 12) if m * (d + 1) + d <= 12]


def _every_problem(m: int, d: int):
    """Every problem of size (m, d): all data, labels and test points (2^(m(d+1)+d))."""
    bits = m * (d + 1) + d
    grid = (np.arange(2**bits)[:, None] >> np.arange(bits)) & 1
    values = np.where(grid == 1, -1, 1).astype(np.int8)
    X = values[:, : m * d].reshape(-1, m, d)
    return X, values[:, m * d : m * d + m], values[:, m * d + m :]


def _check(meta: MetaRule, table: Table, problems: list, desc: str, progress: bool) -> dict:
    """Run the rule on batches of problems; right at layer L, and the same answer at every
    layer from L to 2 L (it stays put). `desc`: the bar's name (`progress`)."""
    family = get_family(meta.family)
    count = right = stable = 0
    for X, y, x in bar(desc, iterable=problems, enabled=progress, unit="batch"):
        m, d = X.shape[1:]
        L = layers_for(family, m, d)
        out = run_meta_rule(meta, X, y, x, list(range(L, 2 * L + 1)), table)
        want = np.array([family.reference(X[i], y[i], x[i : i + 1])[0] for i in range(len(X))])
        count += len(X)
        right += int((out[0] == want).sum())
        stable += int((out == out[0]).all(0).sum())
    return {"problems": count, "right": right, "stable": stable}


def verify(
    meta: MetaRule,
    seed: int = 0,
    max_m: int = 12,
    large=LARGE,
    count: int = 100,
    frame=((4, 2), (8, 4), (12, 4)),
    datasets: int = 3,
    progress: bool = False,
) -> dict:
    """Check a learned learner against its family's reference, as the frame runs it:
    (a) every problem with m (d + 1) + d <= 12 bits, and every label pattern for each
    m <= max_m (random data and test point, d = 1..4 in turn); (b) `count` random
    problems at each `large` size; (c) on all of those, the answer at layer L stays the
    same at every layer up to 2 L; then, if those passed, (frame) the rule compiled
    inside the Theorem 1 frame, fitted by Algorithm 1 on `datasets` random datasets per
    `frame` size and asked every test point: memorisation exact and predictions ==
    the reference (and the rule simulator). `exact` is true only when everything passed,
    the frame check included (no frame sizes or datasets: not exact). `progress`: a bar
    per stage on stderr."""
    from ...algorithm1 import RCNNLearner
    from ...tasks import from_bits

    start, rng = time.perf_counter(), np.random.default_rng(seed)
    with heartbeat(f"verify {meta.family}: the rule as a table", progress):
        table = Table(meta.rule.program)
    report = {"learner": meta.family, "entries": len(table.keys)}
    every = [_every_problem(m, d) for m, d in SMALL]
    report["exhaustive"] = _check(meta, table, every, "verify (a) every small problem", progress)
    patterns = [every_label_pattern(m, 1 + (m - 1) % 4, rng) for m in range(1, max_m + 1)]
    desc = "verify (a) every label pattern"
    report["label_patterns"] = _check(meta, table, patterns, desc, progress)
    with heartbeat(f"verify (b): drawing {count} problems at {len(large)} sizes", progress):
        problems = [sample(get_family(meta.family), count, m, d, rng)[:3] for m, d in large]
    report["random"] = _check(meta, table, problems, "verify (b) random large problems", progress)
    passed = all(
        r["right"] == r["stable"] == r["problems"]
        for r in (report["exhaustive"], report["label_patterns"], report["random"])
    )
    report["frame"], runs = None, []
    if passed and frame and datasets:
        learner = meta.learner()
        report["guards"] = len(learner.program.guards)
        runs = []
        desc = "verify in the Theorem 1 frame (Algorithm 1)"
        with bar(desc, len(frame) * datasets, progress, unit="dataset") as line:
            for m, d in frame:
                points = from_bits(np.array(list(itertools.product([False, True], repeat=d))))
                for _ in range(datasets):
                    line.set_postfix_str(f"m = {m}, d = {d}", refresh=False)
                    X, y, x, _ = sample(get_family(meta.family), 1, m, d, rng)
                    model = RCNNLearner(learner).fit(X[0], y[0])
                    predicted = model.predict(points)
                    rule = run_meta_rule(
                        meta,
                        np.repeat(X, len(points), 0),
                        np.repeat(y, len(points), 0),
                        points.astype(np.int8),
                        [layers_for(get_family(meta.family), m, d)],
                    )
                    runs.append(
                        bool(model.memorisation_exact_)
                        and np.array_equal(predicted, model.reference_predict(X[0], y[0], points))
                        and np.array_equal(predicted, rule[0])
                    )
                    line.update(1)
        report["frame"] = {
            "datasets": len(runs),
            "exact": sum(runs),
            "parameters": model.compiled_.parameter_count,
        }
    report["exact"] = bool(runs) and all(runs)  # the frame ran, and agreed
    report["seconds"] = round(time.perf_counter() - start, 1)
    return report
