"""A maze filter trained by gradient descent, tested at DeepThinking's sizes.

Loads trained filters (train-algo --out DIR: DIR/model.pt) and runs each on fresh
perfect mazes of each size (`run_until_settled`: the task's budget, 2 n^2 iterations for
an n x n entry grid, or until the state is a fixed point), whole-maze accuracy against
the unique path. On a GPU (--device cuda, fp32, TF32 off) the batch runs side by side.
Sizes run in order until --budget seconds are spent. Writes maze_filter.json.
--cycles P tests on mazes with a fraction P of inner walls knocked down (maze-cycles),
scored as any shortest path from start to end (a BFS check). --tol T --patience K halt a
maze once no cell's state has moved by more than T for K iterations in a row (the default,
0 and 1: a fixed point, bit for bit); --against-budget also runs the whole budget on the
same mazes and counts the answers that differ from the halted ones.

    python bench/bench_maze_filter.py runs/maze5-s0 [...] --sizes 59 201 801 --counts 1000 100 20
    python bench/bench_maze_filter.py maze --sizes 59 --counts 20 --cycles 0.1   # shipped filter
    python bench/bench_maze_filter.py maze --sizes 59 --counts 100 --tol 1e-4 --patience 10 \
        --against-budget --out maze_halting
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from _common import RESULTS, Progress, bench_parser, write_json


def parse_args(argv=None) -> argparse.Namespace:
    parser = bench_parser(__doc__)
    parser.add_argument(
        "runs", nargs="+", help="train-algo --out folders (model.pt inside), or shipped names"
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[59])
    parser.add_argument("--counts", type=int, nargs="+", default=[100])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--budget", type=float, default=3600.0, help="seconds for all runs")
    parser.add_argument("--cycles", type=float, default=0.0, help="knocked-down wall fraction")
    parser.add_argument("--tol", type=float, default=0.0, help="halting: the largest move")
    parser.add_argument("--patience", type=int, default=1, help="halting: iterations in a row")
    parser.add_argument(
        "--against-budget", action="store_true", help="also run the whole budget and compare"
    )
    parser.add_argument("--out", default="maze_filter", help="results name (.json)")
    args = parser.parse_args(argv)
    if len(args.counts) != len(args.sizes):
        parser.error(f"--counts takes one number per size ({len(args.sizes)})")
    return args


def main() -> None:
    args = parse_args()
    runs = len(args.sizes) * len(args.runs)
    with Progress("bench_maze_filter", runs, not args.no_progress) as bar:
        bar.stage("importing torch")
        measure(args, bar)


def measure(args, bar) -> None:
    import torch

    from turing_rcnn import AlgorithmLearner, pretrained
    from turing_rcnn.trainable import Maze

    torch.set_num_threads(1)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    path = RESULTS / f"{args.out}.json"
    rows = json.loads(path.read_text())["rows"] if path.exists() else []
    end = time.perf_counter() + args.budget
    for size, count in zip(args.sizes, args.counts, strict=True):
        for run in args.runs:
            bar.stage(f"{run}: {count} mazes of size {size}")
            path = pretrained.resolve(run, "filter") if "/" not in run else f"{run}/model.pt"
            model = AlgorithmLearner.load(path, progress=False)
            task = Maze(cycles=args.cycles) if args.cycles else model.task_
            model.net_.to(args.device)
            if time.perf_counter() > end:
                print(json.dumps({"run": run, "size": size, "skipped": "budget spent"}))
                bar.advance()
                continue
            rng = np.random.default_rng(20_000 + size)
            x, y = task.sample(count, size, rng)
            start = time.perf_counter()
            pred, used = model.run_until_settled(x, None, args.batch, args.tol, args.patience)
            seconds = time.perf_counter() - start
            right = task.correct(x, y, pred)
            row = {
                "run": run,
                "seed": model.config_.seed,
                "parameters": model.net_.parameter_count,
                "train_size": model.config_.train_size,
                "size": size,
                "cycles": args.cycles,
                "mazes": count,
                "right": int(right.sum()),
                "accuracy": float(right.mean()),
                "tol": args.tol,
                "patience": args.patience,
                "iterations_mean": round(float(used.mean()), 1),
                "iterations_max": int(used.max()),
                "halted": int((used < model.iterations_for(x)).sum()),
                "budget": model.iterations_for(x),
                "seconds": round(seconds, 1),
                "device": torch.cuda.get_device_name() if args.device != "cpu" else "cpu",
            }
            if args.against_budget:
                bar.stage(f"{run}: the whole budget on the same {count} mazes")
                full = model.predict(x, batch_size=args.batch)
                row["differs_from_budget"] = int((full != pred).reshape(count, -1).any(1).sum())
                row["accuracy_budget"] = float(task.correct(x, y, full).mean())
            key = (run, size, row["device"], args.cycles, args.tol, args.patience)
            rows = [r for r in rows if _key(r) != key] + [row]
            print(json.dumps(row), flush=True)
            write_json(f"{args.out}.json", {"rows": rows})
            bar.advance()


def _key(row: dict) -> tuple:
    return (
        row["run"],
        row["size"],
        row["device"],
        row.get("cycles", 0.0),
        row.get("tol", 0.0),
        row.get("patience", 1),
    )


if __name__ == "__main__":
    main()
