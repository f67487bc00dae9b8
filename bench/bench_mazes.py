"""Mazes: the generator's speed and the exact dead-end-filling rule at DeepThinking's
sizes (CPU, one thread).

1. Generating 50 000 size-9 mazes (DeepThinking's training set size) with their paths.
2. The task's exact rule (dead-end filling, compiled by compile.py into an exact
   filter) run by model.RCNN with the change-driven evaluation on N mazes of each size,
   until a fixed point: whole-maze accuracy against the BFS paths, the iterations
   used (the longest dead end decides), seconds, and the dense cell updates the same
   run would have cost. Writes mazes.json. With --cycles P: mazes with a fraction P of
   inner walls knocked down and maze-cycles' exact rule (Lee's wave), scored as any
   shortest path (BFS check). With --rule NAME: a rule read off a trained filter
   (a shipped name or a rule.json, e.g. maze-hints) instead of the hand-written one.

    python bench/bench_mazes.py [--sizes 59 201 801] [--count 20] [--cycles P --out NAME]
    python bench/bench_mazes.py --rule maze-hints --sizes 59 --count 1000 --out mazes_hints
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
    size: int, count: int, rng, device: str = "cpu", cycles: float = 0.0, rule: Rule | None = None
) -> dict:
    task = Maze(cycles=cycles)
    start = time.perf_counter()
    x, y = task.sample(count, size, rng)
    generate = time.perf_counter() - start
    compiled = compile_program(rule.program if rule else task.program())
    net = compiled.network(layers=task.iterations(size)).to(device)
    grid = compiled.encode(rule.initial(x) if rule else task.to_symbols(x)).to(device)
    start = time.perf_counter()
    used, step = 0, 64  # run in blocks until one more block changes nothing
    with torch.no_grad():
        while used < task.iterations(size):
            after = net.run_body(grid, step, evaluation="changes")
            if torch.equal(after, grid):
                break
            grid, used = after, used + step
    seconds = time.perf_counter() - start
    final = compiled.decode(grid[:, 0].cpu())
    answers = rule.answers(final) if rule else task.from_symbols(final)
    cells = int(np.prod(x.shape[2:]))
    return {
        "rule": rule.program.name if rule else "hand-written",
        "size": size,
        "cycles": cycles,
        "device": torch.cuda.get_device_name() if device != "cpu" else "cpu",
        "pixels": mazes.pixels(size),
        "mazes": count,
        "accuracy": float(task.correct(x, y, answers).mean()),
        "iterations_to_fixed_point_at_most": used,
        "budget": task.iterations(size),
        "seconds": seconds,
        "generate_seconds": generate,
        "dense_cell_updates": cells * used * count,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[59, 201, 801])
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--cycles", type=float, default=0.0, help="maze-cycles: Lee's wave")
    parser.add_argument("--rule", help="a learned rule (shipped name or path) instead")
    parser.add_argument("--out", default="mazes", help="results name (.json)")
    args = parser.parse_args()
    rule = Rule.load(pretrained.resolve(args.rule, "rule")) if args.rule else None
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
    for size in args.sizes:
        out["exact_rule"].append(exact_rule(size, args.count, rng, args.device, args.cycles, rule))
        print(out["exact_rule"][-1], flush=True)
        write_json(f"{args.out}.json", out)


if __name__ == "__main__":
    main()
