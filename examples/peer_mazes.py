"""DeepThinking's maze files in, the shipped verified maze rule run inside the RCNN.

1. Write a folder in DeepThinking's layout (Schwarzschild et al. 2021; Bansal et al.
   2022): `inputs.npy`, (N, 3, P, P) float32 RGB images (walls black, open white, start
   green, end red, every maze entry a 2 x 2 pixel block inside a 1-pixel black
   border), and `solutions.npy`, (N, P, P) int64, 1 on the path. Here the package's
   generator makes them (`trainable/mazes.py`); with the peer's own data, point
   `--data` at its folder instead.
2. Load the folder with the package's loader (`peer.load_peer`: it checks the format
   and says what does not fit), and turn the images into entry grids (`Maze.from_pixels`).
3. Run the shipped rule `maze-hints` (read off a 2-state filter trained on dead-end
   filling's trace, proved on every perfect maze: docs/results/rules.md),
   compiled into ONE exact 3x3 filter and run by the RCNN with the
   change-driven evaluation until nothing changes (`CompiledProgram.settle`), and count
   the mazes whose whole path is exactly right, in entries and again in the peer's
   pixels (`mazes.valid_shortest_paths`).

    python examples/peer_mazes.py                 # 20 mazes of size 59, about 3 s on 2 cores
    python examples/peer_mazes.py --quick         # 5 mazes of size 9, about 3 s
    python examples/peer_mazes.py --out DIR       # keep the folder (a new or empty one)
    python examples/peer_mazes.py --data DIR      # the peer's own inputs.npy / solutions.npy
    python examples/peer_mazes.py --count 5 --size 201   # larger mazes (about 5 s)
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np
import torch

from turing_rcnn import pretrained
from turing_rcnn.compile import compile_program
from turing_rcnn.trainable import Maze, mazes, peer
from turing_rcnn.trainable.extract import Rule


def write_peer_folder(folder: str, count: int, size: int, seed: int) -> None:
    """`count` random perfect mazes of this size, saved as the peer saves them."""
    rng = np.random.default_rng(seed)
    images, targets = mazes.render(*mazes.generate(count, size, rng))
    np.save(os.path.join(folder, "inputs.npy"), images.astype(np.float32))
    np.save(os.path.join(folder, "solutions.npy"), targets.astype(np.int64))


def solve(folder: str, rule_name: str = "maze-hints") -> dict:
    """Load a peer folder and run a rule (a shipped name or a rule .json) on every maze."""
    images, targets = peer.load_peer(folder)  # (N, 3, P, P) and (N, 1, P, P) float32
    size = images.shape[-1] // 2 - 3  # P = 2 (2n + 1) + 2 pixels; the maze size is 2n - 1
    print(f"loaded {len(images)} mazes of size {size} ({images.shape[-1]} x {images.shape[-1]} px)")

    task = Maze()
    x, y = task.check_inputs(*Maze.from_pixels(images, targets))  # entry grids, as tensors
    rule = Rule.load(pretrained.resolve(rule_name, "rule"))
    compiled = compile_program(rule.program)
    print(
        f"rule {rule_name!r}: {len(rule.program.guards)} guards over "
        f"{len(rule.program.symbols)} symbols -> ONE filter of {compiled.parameter_count} "
        "parameters"
    )
    start = time.perf_counter()
    # The mazes run as blocks of one grid; `layers` is how many layers changed a cell
    # (below the budget: every maze reached a fixed point).
    budget = task.iterations(size)
    final, layers = compiled.settle(rule.initial(x), budget)
    seconds = time.perf_counter() - start
    answers = rule.answers(final)  # (N, 1, H, W) entry grids, 1 on the path
    right = task.correct(x, y, answers)  # every entry of the maze right
    # The same verdict in the peer's pixels: is each answer exactly a shortest path?
    in_pixels = mazes.valid_shortest_paths(images, Maze.to_pixels(answers))
    print(
        f"  {int(right.sum())}/{len(right)} mazes solved exactly "
        f"(pixel check: {int(in_pixels.sum())}/{len(in_pixels)}), fixed point after "
        f"{layers} layers (budget {budget}), {seconds:.1f} s"
    )
    return {
        "size": size,
        "count": len(images),
        "accuracy": float(right.mean()),
        "pixel_accuracy": float(in_pixels.mean()),
        "layers": layers,
        "settled": layers < budget,
        "answers": Maze.to_pixels(answers)[:, 0],  # (N, P, P), the peer's layout
        "seconds": round(seconds, 2),
    }


def draw(images: np.ndarray, path: np.ndarray) -> str:
    """One small maze as text: '#' wall, 'S' start, 'E' end, 'o' path."""
    layout, (start,), (end,) = mazes.layout_of(images[None])
    cells = np.where(layout[0] == 1, " ", "#").astype(object)
    cells[path[1:-1:2, 1:-1:2] > 0.5] = "o"
    cells[tuple(start)], cells[tuple(end)] = "S", "E"
    return "\n".join("  " + "".join(row) for row in cells)


def main(
    quick: bool = False,
    out: str | None = None,
    data: str | None = None,
    seed: int = 0,
    count: int | None = None,
    size: int | None = None,
) -> dict:
    torch.set_num_threads(1)  # the package's policy for small work
    count = count or (5 if quick else 20)
    size = size or (9 if quick else 59)
    if data is not None:  # the peer's own folder: read only
        return solve(data)
    if out is not None:
        if os.path.exists(out) and (not os.path.isdir(out) or os.listdir(out)):
            raise SystemExit(f"{out} exists and is not an empty folder: choose a new one")
        os.makedirs(out, exist_ok=True)
        folder, cleanup = out, None
    else:
        cleanup = tempfile.TemporaryDirectory(prefix="peer_mazes_")
        folder = cleanup.name
    try:
        write_peer_folder(folder, count, size, seed)
        print(f"wrote {count} mazes of size {size} to {folder} (inputs.npy, solutions.npy)")
        result = solve(folder)
        if quick:
            images, _ = peer.load_peer(folder)
            print("the first maze, solved inside the RCNN:")
            print(draw(images[0], result["answers"][0]))
        return result | {"folder": folder if out else None}
    finally:
        if cleanup is not None:
            cleanup.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 mazes of size 9 (the test)")
    parser.add_argument("--out", help="write the maze folder here (new or empty) and keep it")
    parser.add_argument("--data", help="a folder of the peer's inputs.npy and solutions.npy")
    parser.add_argument("--count", type=int, help="mazes to write (default 20; 5 with --quick)")
    parser.add_argument("--size", type=int, help="maze size, odd (default 59; 9 with --quick)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    main(args.quick, args.out, args.data, args.seed, args.count, args.size)
