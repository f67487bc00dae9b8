"""Each shipped learned rule beside the task's hand-written rule: size, wave, pictures.

For prefix parity, addition and flood fill: the rule read off the shipped trained filter
(`turing-rcnn verify NAME`) and the task's exact hand-written rule (tasks.py), both
compiled by compile.py: symbols, guards, table entries (neighbourhoods a guard
changes), compiled parameters; run side by side (CellularProgram.step, the reference
semantics the compiled networks equal) on the same random inputs: accuracy at the
budget, the layer at which each cell's answer becomes final (the wave: its speed in
cells per layer), the layer of the fixed point and the cells changed per layer (what
the change-driven evaluation pays). Writes rule_vs_hand.json and rule_vs_hand.png:
the symbols of one input over layers, hand above learned (1-row tasks: layers down,
cells across; flood fill: the layer each cell settles).

    python bench/bench_rule_vs_hand.py [--count 50]
"""

from __future__ import annotations

import argparse

import numpy as np
from _common import RESULTS, Progress, bench_parser, pyplot, write_json

# matplotlib, torch and turing_rcnn load after the arguments

SIZES = {"prefix-parity": 64, "addition": 64, "flood-fill": 32}


def trace(program, grids: np.ndarray, answers, layers: int):
    """Symbols (T+1, B, H, W) and answers (T+1, B, H, W) of a run (`answers`: symbol
    grids (N, H, W) -> (N, 1, H, W)), the grids stacked with
    a border row between each two (each sees its own cells only)."""
    B, H, W = grids.shape
    border = program.index[program.border]
    grid = np.full((B * (H + 1), W), border)
    rows = np.arange(B)[:, None] * (H + 1) + np.arange(H)
    grid[rows.ravel()] = grids.reshape(B * H, W)
    symbols = [grid[rows]]
    for _ in range(layers):
        grid = program.step(grid)
        symbols.append(grid[rows])
    symbols = np.stack(symbols)
    return symbols, answers(symbols.reshape(-1, H, W))[:, 0].reshape(symbols.shape)


def side(name: str, program, symbols, answers, target) -> dict:
    """What one rule costs and how its wave moves."""
    from turing_rcnn.compile import compile_program
    from turing_rcnn.trainable.analysis import settle_times
    from turing_rcnn.trainable.extract import table_entries

    settle = settle_times(answers[1:], target)  # layers until each cell's answer is final
    moved = (symbols[1:] != symbols[:-1]).reshape(len(symbols) - 1, -1).sum(1)
    still = np.flatnonzero(moved == 0)
    return {
        "rule": name,
        "symbols": len(program.symbols),
        "guards": len(program.guards),
        "table_entries": table_entries(program),
        "compiled_parameters": compile_program(program).parameter_count,
        "right": float((answers[-1] == target).reshape(len(target), -1).all(1).mean()),
        "fixed_point_layer": int(still[0]) if len(still) else None,
        "mean_settle_layer": round(float(settle.mean()), 2),
        "cells_changed_per_layer": round(float(moved.mean()) / len(target), 2),
    }


def parse_args(argv=None) -> argparse.Namespace:
    parser = bench_parser(__doc__)
    parser.add_argument("--count", type=int, default=50)
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()
    with Progress("bench_rule_vs_hand", len(SIZES), not args.no_progress) as bar:
        bar.stage("importing torch")
        run(args, bar)
    print(f"wrote {RESULTS / 'rule_vs_hand.json'} and rule_vs_hand.png")


def run(args, bar) -> None:
    plt = pyplot()

    from turing_rcnn import pretrained
    from turing_rcnn.trainable import get_algo_task
    from turing_rcnn.trainable.analysis import settle_times
    from turing_rcnn.trainable.extract import Rule

    rows, rng = [], np.random.default_rng(0)
    fig, axes = plt.subplots(2, len(SIZES), figsize=(4 * len(SIZES), 6.5))
    for column, (name, size) in enumerate(SIZES.items()):
        bar.stage(f"{name}: hand-written and learned rule on {args.count} inputs of {size}")
        task, learned = get_algo_task(name), Rule.load(pretrained.resolve(name, "rule"))
        x, y = task.sample(args.count, size, rng)
        target, layers = y.numpy()[:, 0], task.iterations(size)
        hand = task.program()
        runs = {
            "hand-written": trace(hand, task.to_symbols(x), task.from_symbols, layers),
            "learned": trace(learned.program, learned.initial(x), learned.answers, layers),
        }
        for row, (kind, (symbols, answers)) in enumerate(runs.items()):
            program = hand if kind == "hand-written" else learned.program
            rows.append(
                {"task": name, "size": size, "inputs": args.count}
                | side(kind, program, symbols, answers, target)
            )
            ax = axes[row, column]
            if task.one_row:
                ax.imshow(symbols[:, 0, 0], aspect="auto", cmap="tab20", interpolation="nearest")
                ax.set(xlabel="cell", ylabel="layer")
            else:
                settle = settle_times(answers[1:], target)[0]
                ax.imshow(np.where(x.numpy()[0, 0] < 0, np.nan, settle), cmap="viridis")
                ax.set(xlabel="layer each cell settles (walls blank)")
            r = rows[-1]
            ax.set_title(
                f"{name}, {kind}: {r['symbols']} symbols, {r['guards']} guards", fontsize=9
            )
        print(rows[-2], rows[-1], sep="\n", flush=True)
        bar.advance()
    fig.tight_layout()
    RESULTS.mkdir(parents=True, exist_ok=True)
    fig.savefig(RESULTS / "rule_vs_hand.png", dpi=110)
    write_json("rule_vs_hand.json", {"rows": rows})


if __name__ == "__main__":
    main()
