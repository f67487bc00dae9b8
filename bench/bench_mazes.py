"""Mazes: the generator's speed and the exact dead-end-filling rule at DeepThinking's
sizes (CPU, one thread).

1. Generating 50 000 size-9 mazes (DeepThinking's training set size) with their paths.
2. The task's exact rule (dead-end filling, compiled by compile.py into an exact
   filter) run by model.RCNN with the change-driven evaluation on N mazes of each size
   (CompiledProgram.settle: the mazes as blocks of one grid), until a fixed point:
   whole-maze accuracy against the BFS paths, the layers that changed a cell (the
   longest dead end decides), seconds, and the dense cell updates the same run would
   have cost. Writes NAME.json, NAME.png (accuracy and layers against size, one line
   per rule) and, with size 201, NAME_201.png (its first maze, solved by each rule;
   NAME: --out, default mazes). With --cycles P: mazes with a fraction P of
   inner walls knocked down and maze-cycles' exact rule (Lee's wave), scored as any
   shortest path (BFS check). With --rule NAME ...: rules read off trained filters (a
   shipped name or a rule.json, e.g. maze-hints) beside or instead of the hand-written
   one ('hand'), all run on the same mazes.

    python bench/bench_mazes.py [--sizes 59 201 801] [--count 20] [--cycles P --out NAME]
    python bench/bench_mazes.py --rule hand maze-hints RULE.json --sizes 59 201 801 1025 \
        --count 1000 100 20 20 --out mazes_hints
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from _common import RESULTS, Progress, bench_parser, pyplot, write_json

if TYPE_CHECKING:  # torch, matplotlib and turing_rcnn load after the arguments
    from turing_rcnn.trainable.extract import Rule

PICTURE = 201  # the size whose first maze is drawn, solved by each rule


def exact_rule(
    x: np.ndarray,
    y: np.ndarray,
    size: int,
    device: str = "cpu",
    cycles: float = 0.0,
    rule: Rule | None = None,
) -> tuple[dict, np.ndarray, np.ndarray]:
    """One rule (the task's hand-written one, or `rule`) on the mazes x with paths y:
    the row of results, the answers (B, 1, H, W) and which mazes they solve (B,)."""
    import torch

    from turing_rcnn.compile import compile_program
    from turing_rcnn.trainable import Maze, mazes

    task = Maze(cycles=cycles)
    compiled = compile_program(rule.program if rule else task.program())
    initial = rule.initial(x) if rule else task.to_symbols(x)
    start = time.perf_counter()
    final, used = compiled.settle(initial, task.iterations(size), device=device)
    seconds = time.perf_counter() - start
    settled = used < task.iterations(size)
    answers = rule.answers(final) if rule else task.from_symbols(final)
    right = task.correct(x, y, answers)  # a BFS per maze with cycles: once
    cells = int(np.prod(x.shape[2:]))
    row = {
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
        "iterations_to_fixed_point": used,
        "budget": task.iterations(size),
        "seconds": seconds,
        "dense_cell_updates": cells * used * len(x),
    }
    return row, answers, right


def parse_args(argv=None) -> argparse.Namespace:
    parser = bench_parser(__doc__)
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
    args = parser.parse_args(argv)
    args.counts = args.count * len(args.sizes) if len(args.count) == 1 else args.count
    if len(args.counts) != len(args.sizes):
        parser.error(f"--count takes one number or one per size ({len(args.sizes)})")
    return args


def main() -> None:
    args = parse_args()
    runs = 1 + len(args.sizes) * len(args.rule)  # the generator's timing, then the rules
    with Progress("bench_mazes", runs, not args.no_progress) as bar:
        bar.stage("importing torch")
        run(args, bar)
    print(f"wrote {RESULTS / args.out}.json and .png")


def run(args, bar) -> None:
    import torch

    from turing_rcnn import pretrained
    from turing_rcnn.trainable import Maze, mazes
    from turing_rcnn.trainable.extract import Rule

    counts = args.counts
    bar.stage("loading the rules")
    rules = {
        name: None if name == "hand" else Rule.load(pretrained.resolve(name, "rule"))
        for name in args.rule
    }
    torch.set_num_threads(1)
    task = Maze(cycles=args.cycles)
    rng = np.random.default_rng(0)
    bar.stage("generating 50 000 size-9 mazes")
    start = time.perf_counter()
    images, targets = mazes.render(*mazes.generate(50_000, 9, rng))
    out = {
        "generate_50000_size_9_seconds": time.perf_counter() - start,
        "generated_shape": list(images.shape),
    }
    print(out)
    bar.advance()
    out["exact_rule"] = []
    for size, count in zip(args.sizes, counts, strict=True):
        bar.stage(f"generating {count} mazes of size {size}")
        start = time.perf_counter()
        x, y = task.sample(count, size, rng)
        generate = time.perf_counter() - start
        solved = []
        for name, rule in rules.items():
            bar.stage(f"maze {size}, rule {label(name)}: {count} mazes")
            row, answers, right = exact_rule(x, y, size, args.device, args.cycles, rule)
            row = {"name": name} | row
            out["exact_rule"].append(row | {"generate_seconds": generate})
            print(row, flush=True)
            write_json(f"{args.out}.json", out)
            solved.append((row, answers[0, 0], right[0]))
            bar.advance()
        if size == PICTURE:
            picture(x[0].numpy(), solved, RESULTS / f"{args.out}_{size}.png")
    plot(out["exact_rule"], RESULTS / f"{args.out}.png")


def label(name: str) -> str:
    return "hand-written" if name == "hand" else Path(name).stem


def plot(rows: list[dict], path: Path) -> None:
    """Accuracy and layers to the fixed point against the maze size, one line per rule."""
    plt = pyplot()
    fig, (acc, layers) = plt.subplots(1, 2, figsize=(10, 4))
    for k, name in enumerate(dict.fromkeys(r["name"] for r in rows)):
        mine = [r for r in rows if r["name"] == name]
        sizes = [r["size"] for r in mine]
        style = dict(marker="os^dv"[k % 5], label=label(name), alpha=0.8)
        acc.plot(sizes, [100 * r["accuracy"] for r in mine], **style)
        layers.loglog(sizes, [r["iterations_to_fixed_point"] for r in mine], **style)
    cycles = rows[0]["cycles"]
    acc.set(xscale="log", xlabel="maze size", ylabel="whole-maze accuracy [%]", ylim=(-5, 105))
    acc.set_title("mazes" + (f" with cycles (p = {cycles})" if cycles else ""))
    layers.set(xlabel="maze size", ylabel="layers to the fixed point (slowest maze)")
    layers.set_title("the run stops at its fixed point")
    sizes = sorted({r["size"] for r in rows})
    for ax in (acc, layers):
        ax.grid(alpha=0.3)
        ax.set_xticks(sizes, [str(s) for s in sizes])  # the sizes run, not 10^k
        ax.set_xticks([], minor=True)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def picture(x: np.ndarray, solved: list, path: Path) -> None:
    """The first maze of a size (entry grid: walls black, start green, end red) with each
    rule's answer drawn in blue on it; `solved`: (row, answer, is it right) per rule."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(solved), figsize=(5 * len(solved), 5.8), squeeze=False)
    for ax, (row, answer, right) in zip(axes[0], solved, strict=True):
        image = x.transpose(1, 2, 0).copy()
        on_path = (answer > 0) & (image.sum(2) == 3)  # white entries the answer marks
        image[on_path] = (0.15, 0.35, 1.0)
        ax.imshow(image, interpolation="nearest")
        ax.set_title(
            f"{label(row['name'])}: this maze {'right' if right else 'WRONG'}\n"
            f"all {row['mazes']}: {row['right']} right, fixed point at layer "
            f"{row['iterations_to_fixed_point']}",
            fontsize=9,
        )
        ax.axis("off")
    fig.suptitle(f"a {row['size']} x {row['size']} maze solved inside the RCNN")
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
