"""Train a finite-state filter, read its rule off, verify the rule; then the shipped one.

1. Train: `AlgorithmLearner` on prefix parity (each cell of a 1 x n strip answers the
   parity of the bits up to it) with k = 3 symbols per cell, on 16-bit strings (Adam,
   stopping after 5 perfect validations in a row). The runs on docs/results/rules.md: seeds 0-2
   trained in 22-32 s.
2. Extract: the filter's cell update IS a table from (west, centre, east) symbols and
   input codes to a symbol; `extract` reads it and writes it as a CellularProgram (a
   `Rule`).
3. Verify: `verify` compiles the rule into an exact RCNN filter and runs it against the
   task's reference: (a) every 2..16-bit string, (b) random long strings, (c) a fixed
   point at the end of every run, and (d) the every-length argument. A seed that did
   not train gives a rule that fails, and the report says so.
4. The shipped verified rule, loaded by name (`turing_rcnn.pretrained`), and spot-
   checked on random long strings (its full verification: `turing-rcnn verify prefix-parity`).

    python examples/train_extract_verify.py           # about 29 s on 2 CPU cores
    python examples/train_extract_verify.py --quick   # 40 training steps (does not
                                                      # train: "not exact"), about 7 s
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from turing_rcnn import pretrained
from turing_rcnn.compile import compile_program
from turing_rcnn.trainable import AlgoConfig, AlgorithmLearner, get_algo_task
from turing_rcnn.trainable.extract import Rule, extract
from turing_rcnn.trainable.verify import run_compiled_rule, verify


def show(report: dict) -> None:
    """Print a verify report: (a) summed over its input sizes, each (b), then the verdict."""
    print(
        f"  rule: {report['states']} states, {report['table_entries']} table entries, "
        f"{report['guards']} guards, compiled into {report['parameters']} parameters"
    )
    a = [c for c in report["checks"] if c["check"] == "a"]
    print(
        f"    (a) exhaustive, {a[0]['inputs']} to {a[-1]['inputs']}: "
        f"{sum(c['right'] for c in a)}/{sum(c['count'] for c in a)} right, "
        f"fixed points: {all(c['fixed_point'] for c in a)} ({sum(c['seconds'] for c in a):.1f} s)"
    )
    for c in report["checks"]:
        if c["check"] == "b":
            print(
                f"    (b) {c['inputs']}: {c['right']}/{c['count']} right, "
                f"fixed point: {c['fixed_point']} ({c['seconds']} s)"
            )
    if not any(c["check"] == "b" for c in report["checks"]):
        print("    (b) not run: (a) failed")
    d = report.get("fixed_points")
    if d is not None:
        wrong = len(d["wrong_examples"])
        print(f"    (d) {d['inputs']}: {'passed' if d['passed'] else f'{wrong} wrong'}")
    print(
        f"  exact (a)-(c): {report['exact']}; proved for every length (d): "
        f"{report.get('proved_every_length')} ({report['seconds']} s)"
    )


def table(rule: Rule) -> set[str]:
    """A rule's guards as a set of JSON strings (to compare two rules' tables)."""
    return {json.dumps(g, sort_keys=True) for g in rule.to_json()["guards"]}


def spot_check(rule: Rule, count: int, size: int, seed: int) -> dict:
    """A quick look instead of the full verify: the rule compiled into the RCNN on
    `count` random strings of `size` bits, each answer read at a fixed point
    (verify.run_compiled_rule) and compared with the task's reference."""
    task = get_algo_task(rule.task)
    x, y = task.sample(count, size, np.random.default_rng(seed))
    answers, fixed = run_compiled_rule(
        compile_program(rule.program), rule, x, task.iterations(size)
    )
    right = int(task.correct(x, y, answers).sum())
    print(f"    {right}/{count} random {size}-bit strings right, at a fixed point: {fixed}")
    return {"count": count, "size": size, "right": right, "fixed_point": bool(fixed)}


def main(quick: bool = False, seed: int = 0) -> dict:
    torch.set_num_threads(1)  # the filter is small: one thread (the package's own policy)
    start = time.perf_counter()

    # 1. Train. max_minutes is a safety net; the runs on docs/results/rules.md stopped
    # at 600-700 steps.
    config = AlgoConfig(
        task="prefix-parity",
        symbols=3,  # finite state: 3 symbols per cell, so a rule can be read off
        train_size=16,
        lr=3e-3,
        max_steps=40 if quick else 1500,
        eval_every=20 if quick else 100,
        val_size=20 if quick else 500,
        max_minutes=1.0,
        seed=seed,
    )
    print(f"training prefix parity, k = {config.symbols}, {config.train_size} bits, seed {seed}")
    learner = AlgorithmLearner(config, progress=False).fit()
    history = learner.history_
    # Validation: whole strings right at the training size and at twice it.
    val, val_long = history.val_accuracy[-1], history.val_accuracy_long[-1]
    trained = max(val, val_long) == 1.0 and min(val, val_long) == 1.0
    print(
        f"  {learner.steps_} steps, {learner.train_seconds_:.1f} s; last validation: "
        f"{val:.3f} at 16 bits, {val_long:.3f} at 32 bits"
    )
    if not trained:
        print("  this run did NOT train (it is not perfect on validation): the rule read off")
        print("  below is what the filter computes, and verify will say it is not exact")

    # 2. Extract: read the table on runs at the training size and at twice it (as
    # `turing-rcnn extract` does); on a 1-row task it is completed to every triple.
    rng = np.random.default_rng(seed)
    xs = [learner.task_.sample(200, size, rng)[0] for size in (16, 32)]
    rule = extract(learner, xs)
    print(f"extracted: {len(rule.program.guards)} guards over {len(rule.program.symbols)} symbols")

    # 3. Verify. quick=True shortens (b); `large` sets it: 10 random strings of 1 000 bits
    # here (the full check, `turing-rcnn verify`, uses 10^4: about 2 minutes), 2 of 64
    # bits in the test mode. (a) is always every 2..16-bit string (131 068).
    print("verifying the trained rule (compiled into the RCNN, change-driven evaluation)")
    report = verify(rule, seed=seed, quick=True, large=(2, 64) if quick else (10, 1000))
    show(report)

    # 4. The shipped verified rule (seed 0 of the table on docs/results/rules.md), loaded
    # by name; its full verification is `turing-rcnn verify prefix-parity` (or verify(shipped)).
    path = pretrained.resolve("prefix-parity", "rule")
    shipped = Rule.load(path)
    print(
        f"the shipped rule 'prefix-parity' (shipped rules: {', '.join(pretrained.names('rule'))})"
    )
    same = table(shipped) == table(rule)
    print(f"  the same table as the rule trained above: {same}")
    # A spot check (verify's (a) alone takes about 10 s): random strings, longer than
    # any in training, each answer read at a fixed point.
    shipped_report = spot_check(shipped, count=16, size=64 if quick else 1000, seed=seed)

    seconds = round(time.perf_counter() - start, 1)
    print(f"done in {seconds} s")
    return {
        "trained": trained,
        "same_as_shipped": same,
        "steps": learner.steps_,
        "validation": (val, val_long),
        "rule": rule,
        "report": report,
        "shipped_report": shipped_report,
        "seconds": seconds,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="40 steps, tiny checks (the test)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    main(quick=args.quick, seed=args.seed)
