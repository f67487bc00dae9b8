"""Mazes: the generator's speed and the exact dead-end-filling rule at DeepThinking's
sizes (CPU, one thread).

1. Generating 50 000 size-9 mazes (DeepThinking's training set size) with their paths.
2. The task's exact rule (dead-end filling, compiled by compile.py into an exact
   filter) run by model.RCNN with the change-driven evaluation on N mazes of each size,
   until a fixed point: whole-maze accuracy against the BFS paths, the iterations
   used (the longest dead end decides), seconds, and the dense cell updates the same
   run would have cost. Writes mazes.json. With --cycles P: mazes with a fraction P of
   inner walls knocked down and maze-cycles' exact rule (Lee's wave), scored as any
   shortest path (BFS check). With --rule NAME ...: rules read off trained filters (a
   shipped name or a rule.json, e.g. maze-hints) beside or instead of the hand-written
   one ('hand'), all run on the same mazes.

    python bench/bench_mazes.py [--sizes 59 201 801] [--count 20] [--cycles P --out NAME]
    python bench/bench_mazes.py --rule hand maze-hints RULE.json --sizes 59 201 801 \
        --count 1000 100 20 --out mazes_hints
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from _common import write_json

from turing_rcnn import pretrained
from turing_rcnn.compile import compile_program
from turing_rcnn.trainable import Maze, mazes
from turing_rcnn.trainable.extract import Rule


def exact_rule(
    x: np.ndarray,
    y: np.ndarray,
    size: int,
    device: str = "cpu",
    cycles: float = 0.0,
    rule: Rule | None = None,
) -> dict:
    """One rule (the task's hand-written one, or `rule`) on the mazes x with paths y."""
    task = Maze(cycles=cycles)
    compiled = compile_program(rule.program if rule else task.program())
    net = compiled.network(layers=task.iterations(size)).to(device)
    grid = compiled.encode(rule.initial(x) if rule else task.to_symbols(x)).to(device)
    start = time.perf_counter()
    used, settled = 0, False  # run in blocks of 64 until one more block changes nothing
    with torch.no_grad():
        while not settled and used < task.iterations(size):
            step = min(64, task.iterations(size) - used)
            after = net.run_body(grid, step, evaluation="changes")
            settled = torch.equal(after, grid)
            grid, used = after, used + (0 if settled else step)
    seconds = time.perf_counter() - start
    final = compiled.decode(grid[:, 0].cpu())
    answers = rule.answers(final) if rule else task.from_symbols(final)
    right = task.correct(x, y, answers)  # a BFS per maze with cycles: once
    cells = int(np.prod(x.shape[2:]))
    return {
        "rule": rule.program.name if rule else "hand-written",
        "compiled_parameters": compiled.parameter_count,
        "size": size,
        "cycles": cycles,
        "device": torch.cuda.get_device_name() if device != "cpu" else "cpu",
        "pixels": mazes.pixels(size),
        "mazes": len(x),
        "right": int(right.sum()),
        "accuracy": float(right.mean()),
        "settled": settled,
        "iterations_to_fixed_point_at_most": used,
        "budget": task.iterations(size),
        "seconds": seconds,
        "dense_cell_updates": cells * used * len(x),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[59, 201, 801])
    parser.add_argument(
        "--count", type=int, nargs="+", default=[20], help="mazes per size (one, or one per size)"
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--cycles", type=float, default=0.0, help="maze-cycles: Lee's wave")
    parser.add_argument(
        "--rule",
        nargs="+",
        default=["hand"],
        help="rules run on the same mazes: 'hand' (the task's own), a shipped name or a rule.json",
    )
    parser.add_argument("--out", default="mazes", help="results name (.json)")
    args = parser.parse_args()
    counts = args.count * len(args.sizes) if len(args.count) == 1 else args.count
    if len(counts) != len(args.sizes):
        parser.error(f"--count takes one number or one per size ({len(args.sizes)})")
    rules = {
        name: None if name == "hand" else Rule.load(pretrained.resolve(name, "rule"))
        for name in args.rule
    }
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    images, targets = mazes.render(*mazes.generate(50_000, 9, rng))
    out = {
        "generate_50000_size_9_seconds": time.perf_counter() - start,
        "generated_shape": list(images.shape),
    }
    print(out)
    out["exact_rule"] = []
    for size, count in zip(args.sizes, counts, strict=True):
        start = time.perf_counter()
        x, y = Maze(cycles=args.cycles).sample(count, size, rng)
        generate = time.perf_counter() - start
        for name, rule in rules.items():
            row = {"name": name} | exact_rule(x, y, size, args.device, args.cycles, rule)
            out["exact_rule"].append(row | {"generate_seconds": generate})
            print(row, flush=True)
            write_json(f"{args.out}.json", out)


if __name__ == "__main__":
    main()
