"""Verified 1-row rules on long inputs: 100 random inputs at 1 000 and 10 000 bits.

For each seed whose rule bench_rules.py verified (rules.json, `exact`), the rule from
rules/<task>-<seed>-k<k>.json, compiled by compile.py and run by model.RCNN with the
change-driven evaluation (verify.run_compiled_rule), on `count` random inputs of each size
against the task's reference, reading the answer at a fixed point. A rule read off a
complete 1-row table is the trained filter's own cell update on every neighbourhood a
run meets, so these are the trained filter's answers too. Writes long.json.

    python bench/bench_long.py [--tasks addition prefix-parity] [--sizes 1000 10000] [--count 100]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from _common import RESULTS, TRACKED, Progress, bench_parser, write_json


def parse_args(argv=None) -> argparse.Namespace:
    parser = bench_parser(__doc__)
    parser.add_argument("--tasks", nargs="+", default=["addition", "prefix-parity"])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--count", type=int, default=100)
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()
    verified = json.loads((TRACKED / "rules.json").read_text())["rows"]
    runs = sum(r["task"] in args.tasks and r["exact"] for r in verified) * len(args.sizes)
    with Progress("bench_long", runs, not args.no_progress) as bar:
        bar.stage("importing torch")
        run(args, verified, bar)
    print(f"wrote {RESULTS / 'long.json'}")


def run(args, verified: list[dict], bar) -> None:
    import torch

    from turing_rcnn.compile import compile_program
    from turing_rcnn.trainable import get_algo_task
    from turing_rcnn.trainable.extract import Rule
    from turing_rcnn.trainable.verify import run_compiled_rule

    torch.set_num_threads(1)
    path = RESULTS / "long.json"  # rows of other tasks and sizes stay
    old = json.loads(path.read_text())["rows"] if path.exists() else []
    rows = [r for r in old if r["task"] not in args.tasks or r["size"] not in args.sizes]
    for task_name in args.tasks:
        task = get_algo_task(task_name)
        for r in [r for r in verified if r["task"] == task_name and r["exact"]]:
            stem = f"{task_name}-{r['seed']}-k{r['symbols']}"
            rule = Rule.load(str(TRACKED / "rules" / f"{stem}.json"))
            compiled = compile_program(rule.program)
            rng = np.random.default_rng(10_000 + r["seed"])
            for size in args.sizes:
                bar.stage(f"{stem}: {args.count} inputs of {size} bits")
                x, y = task.sample(args.count, size, rng)
                start = time.perf_counter()
                answers, fixed = run_compiled_rule(compiled, rule, x, task.iterations(size))
                right = task.correct(x, y, answers)
                rows.append(
                    {
                        "task": task_name,
                        "seed": r["seed"],
                        "symbols": r["symbols"],
                        "size": size,
                        "inputs": args.count,
                        "right": int(right.sum()),
                        "fixed_point": fixed,
                        "seconds": round(time.perf_counter() - start, 1),
                    }
                )
                print(json.dumps(rows[-1]), flush=True)
                write_json("long.json", {"rows": rows})
                bar.advance()


if __name__ == "__main__":
    main()
