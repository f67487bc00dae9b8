"""Compiled programs: cell updates per second in the RCNN vs the numpy reference (CPU).

For a 2-D Turing machine (one hidden layer) and a random 16-symbol cellular program
with conjunctions (two hidden layers), runs L layers on square grids up to 256 x 256
in the network (float32, no grad) and in the reference simulator (best of 3 each),
checks they agree,
and writes compile.json and compile.png.

    python bench/bench_compile.py [--sizes 16 64 256] [--layers 20]
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

import numpy as np
from _common import RESULTS, Progress, bench_parser, best_of, pyplot, write_json

if TYPE_CHECKING:  # torch, matplotlib and turing_rcnn load after the arguments
    from turing_rcnn.programs import CellularProgram


def random_guards_program(k: int = 16, guards: int = 24, seed: int = 0) -> CellularProgram:
    from turing_rcnn.programs import CellularProgram, Guard

    rng = np.random.default_rng(seed)
    symbols = [f"s{i}" for i in range(k)]
    rules: list = []
    while len(rules) < guards:
        positions = rng.choice(["N", "S", "E", "W", "C"], size=2, replace=False)
        when = {
            p: [symbols[i] for i in rng.choice(k, size=k // 2, replace=False)] for p in positions
        }
        when["C"] = [symbols[int(rng.integers(k))]]
        candidate = Guard(when, then=symbols[int(rng.integers(k))])
        try:
            CellularProgram(symbols, symbols[0], rules + [candidate])
            rules.append(candidate)
        except ValueError:
            pass
    return CellularProgram(symbols, symbols[0], rules, name="random 16-symbol rule")


def parse_args(argv=None) -> argparse.Namespace:
    parser = bench_parser(__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[16, 64, 128, 256])
    parser.add_argument("--layers", type=int, default=20)
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()
    with Progress("bench_compile", 2 * len(args.sizes), not args.no_progress) as bar:
        bar.stage("importing torch")
        run(args, bar)


def run(args, bar) -> None:
    plt = pyplot()
    import torch

    from turing_rcnn.compile import compile_program
    from turing_rcnn.programs import TuringMachine

    torch.set_num_threads(2)

    machine = TuringMachine.parse("1RB1DC_1LC0UA_1DA0RB")  # 3 states, 2 symbols, 2-D moves
    programs = {
        "2-D Turing machine (3 states)": machine.to_cellular(),
        "random 16-symbol guards": random_guards_program(),
    }
    rows = []
    rng = np.random.default_rng(0)
    for name, program in programs.items():
        compiled = compile_program(program)
        net = compiled.network(layers=args.layers)
        for n in args.sizes:
            bar.stage(f"{name}, {n} x {n}")
            if "Turing" in name:  # one head in the middle of a random tape
                grid = rng.integers(0, machine.n_symbols, size=(n, n))
                grid[n // 2, n // 2] += machine.n_symbols
            else:
                grid = rng.integers(0, len(program.symbols), size=(n, n))
            x = compiled.encode(grid)
            with torch.no_grad():
                net.run_body(x, layers=1)  # warm-up
                t_net, out = best_of(3, lambda x=x, net=net: net.run_body(x))
            t_ref, want = best_of(3, lambda g=grid, p=program: p.run(g, args.layers))
            updates = n * n * args.layers
            row = {
                "program": name,
                "grid": n,
                "layers": args.layers,
                "network_cell_updates_per_s": updates / t_net,
                "reference_cell_updates_per_s": updates / t_ref,
                "network_over_reference": t_ref / t_net,
                "exact": bool(np.array_equal(compiled.decode(out[0, 0]), want)),
            } | compiled.summary()
            rows.append(row)
            print(
                f"{name:32s} {n:4d}^2  net {row['network_cell_updates_per_s']:.3g}/s  "
                f"ref {row['reference_cell_updates_per_s']:.3g}/s  "
                f"ratio {row['network_over_reference']:.2f}  flops/cell {row['flops_per_cell']}  "
                f"exact={row['exact']}"
            )
            bar.advance()

    write_json("compile.json", {"dtype": "float32", "rows": rows})
    fig, ax = plt.subplots(figsize=(6, 4))
    for name in programs:
        sel = [r for r in rows if r["program"] == name]
        sizes = [r["grid"] for r in sel]
        ax.loglog(
            sizes, [r["network_cell_updates_per_s"] for r in sel], "o-", label=f"RCNN: {name}"
        )
        ax.loglog(
            sizes,
            [r["reference_cell_updates_per_s"] for r in sel],
            "s--",
            label=f"numpy ref: {name}",
        )
    ax.set_xticks(args.sizes, [str(n) for n in args.sizes])  # the sizes run, not 10^k
    ax.set_xticks([], minor=True)
    ax.set_xlabel("grid side n (n x n cells)")
    ax.set_ylabel("cell updates per second")
    ax.set_title(f"Compiled programs, CPU float32, L = {args.layers}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(RESULTS / "compile.png", dpi=120)
    print(f"wrote {RESULTS / 'compile.json'} and {RESULTS / 'compile.png'}")


if __name__ == "__main__":
    main()
