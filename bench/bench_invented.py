"""What the answer-only maze rule invented: its run beside dead-end filling's.

Loads a finite-state maze filter and its rule (default: the shipped `maze-answers`,
trained on the path mask alone), reads the renaming of its states off its rule
(every_size.maze_renaming: which state an open and a filled cell of each input holds), and
runs the filter (hard symbols, as its rule steps) and Maze.hint (walls filled at the
first layer, then dead-end filling) side by side on fresh perfect mazes. For every
layer >= 1 it asks whether the renamed grid IS dead-end filling's, and counts the cells
each changes per layer and the layers to each fixed point. Writes invented.json and
invented.png (one maze: its answer; cells changed per layer, both runs).

    python bench/bench_invented.py --size 59 --count 20   # about 2 min
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from _common import RESULTS, Progress, bench_parser, pyplot, write_json


def parse_args(argv=None) -> argparse.Namespace:
    parser = bench_parser(__doc__)
    parser.add_argument("--name", default="maze-answers", help="a shipped name (filter and rule)")
    parser.add_argument("--size", type=int, default=59, help="maze size")
    parser.add_argument("--count", type=int, default=20, help="mazes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="invented", help="results name (.json, .png)")
    args = parser.parse_args(argv)
    if args.size < 3 or args.size % 2 == 0:
        parser.error(f"--size: a maze size is odd and >= 3, got {args.size}")
    if args.count < 1:
        parser.error(f"--count must be >= 1, got {args.count}")
    return args


def runs(net, hint, x, symbols, layers: int):
    """(filter states, hint symbols) at layers 0..`layers`: (layers + 1, B, H, W) each."""
    import torch

    with torch.no_grad():
        state, recalled = net.initial_state(x), net.recall(x)
        ours, theirs, grid = [state.argmax(1).numpy()], [symbols], symbols
        for _ in range(layers):
            state = net.step(state, recalled)
            grid = hint.step_many(grid)
            ours.append(state.argmax(1).numpy())
            theirs.append(grid)
    return np.array(ours), np.array(theirs)


def fixed_layer(trace: np.ndarray) -> np.ndarray:
    """Per input, the first layer from which the grid never changes again."""
    changed = (trace[1:] != trace[:-1]).reshape(len(trace) - 1, trace.shape[1], -1).any(2)
    last = np.where(changed.any(0), len(changed) - np.argmax(changed[::-1], 0), 0)
    return last


def main() -> None:
    args = parse_args()
    with Progress("bench_invented", 3, not args.no_progress) as bar:
        bar.stage("importing torch")
        import torch

        from turing_rcnn import pretrained
        from turing_rcnn.trainable import AlgorithmLearner, get_algo_task
        from turing_rcnn.trainable.every_size import maze_renaming, maze_stands
        from turing_rcnn.trainable.extract import Rule, input_codes

        torch.set_num_threads(1)
        bar.stage("the renaming, read off the rule")
        try:
            model = AlgorithmLearner.load(pretrained.resolve(args.name, "filter"), progress=False)
            rule = Rule.load(pretrained.resolve(args.name, "rule"))
        except ValueError as err:
            print(f"bench_invented.py: error: {err}", file=sys.stderr)
            raise SystemExit(2) from None
        renaming = maze_renaming(rule)
        if renaming is None:
            raise SystemExit(f"{args.name}: its states are not dead-end filling's renamed")
        task = get_algo_task("maze")
        hint, _ = task.hint()
        by_symbol, index = maze_stands(rule, renaming), rule.program.index
        stands = np.array(  # (state, code) -> the hint symbol it stands for (-1: none)
            [
                [
                    by_symbol[index[rule.symbol(k, c)]] if rule.symbol(k, c) in index else -1
                    for c in range(len(rule.inputs))
                ]
                for k in range(rule.states)
            ]
        )
        bar.advance()
        bar.stage(f"{args.count} mazes of size {args.size}, both runs")
        x, y = task.sample(args.count, args.size, np.random.default_rng(args.seed))
        layers = task.iterations(args.size)
        t0 = time.perf_counter()
        ours, theirs = runs(model.net_, hint, x, task.to_symbols(x), layers)
        seconds = time.perf_counter() - t0
        codes = input_codes(x, rule.inputs)
        renamed = stands[ours[1:], codes[None]]
        same = (renamed == theirs[1:]).reshape(layers, args.count, -1).all(2)
        bar.advance()
        answers = model.predict(x, iterations=layers)
        right = task.correct(x, y, answers)
        ours_fixed, theirs_fixed = fixed_layer(ours), fixed_layer(theirs)
        changed = [(t[1:] != t[:-1]).reshape(layers, args.count, -1).sum(2) for t in (ours, theirs)]
        report = {
            "name": args.name,
            "renaming": {int(c): list(v) for c, v in renaming.items()},
            "size": args.size,
            "mazes": args.count,
            "right": int(right.sum()),
            "same_as_dead_end_filling_every_layer_from_1": int(same.all(0).sum()),
            "layers_to_fixed_point": {
                "rule": {"mean": float(ours_fixed.mean()), "max": int(ours_fixed.max())},
                "dead_end_filling": {
                    "mean": float(theirs_fixed.mean()),
                    "max": int(theirs_fixed.max()),
                },
            },
            "changed_at_layer_1": {
                "rule": int(changed[0][0].sum()),
                "dead_end_filling": int(changed[1][0].sum()),
            },
            "changed_after_layer_1_equal": bool(np.array_equal(changed[0][1:], changed[1][1:])),
            "seconds_both_runs": round(seconds, 1),
            "command": f"python bench/bench_invented.py --size {args.size} --count {args.count}",
        }
        bar.stage("plotting")
        wall = codes[0] == next(c for c, (open_state, _) in renaming.items() if open_state is None)
        filled = stands[ours[-1][0], codes[0]] == hint.index["x"]
        plot(np.where(wall, 0, np.where(filled, 1, 2)), changed, report, args)
        write_json(f"{args.out}.json", report)
        bar.advance()
    print(RESULTS / f"{args.out}.json")


def plot(picture, changed, report, args) -> None:
    plt = pyplot()
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4.4))
    a.imshow(picture, cmap="gray", interpolation="nearest", vmin=0, vmax=2)
    a.set(xticks=[], yticks=[])
    a.set_title(
        f"{args.name} on a {args.size}-maze at its fixed point:\nwall black, "
        "filled grey, open (the path) white",
        fontsize=9,
    )
    layers = np.arange(1, changed[0].shape[0] + 1)
    b.semilogy(
        layers,
        changed[0][:, 0] + 0.5,
        lw=3,
        alpha=0.5,
        label="answer-only rule (its states renamed)",
    )
    b.semilogy(layers, changed[1][:, 0] + 0.5, "k--", lw=1, label="dead-end filling (Maze.hint)")
    end = report["layers_to_fixed_point"]["dead_end_filling"]["max"]
    b.set(xlabel="layer", ylabel="cells changed (+0.5, log)", xlim=(0, end + 20))
    b.set_title("cells changed per layer, the same maze", fontsize=9)
    b.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(RESULTS / f"{args.out}.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
