"""Turing machines inside the network: layers per second against the reference.

The network runs one layer per machine step on one thread with the one-grid fast path
(model.OneGridRun: each cell whose patch changed gets the compiled patch net's output
on that patch, from a dict the patch net fills), its grid starting at the initial tape
with a margin of one cell and growing as the head walks off it. The reference is the
numpy-package simulator (programs/turing.py: a bytearray tape, a flat table). Busy
beavers BB(2), BB(3), BB(4) to their halts, then BB(5) (47 176 870 steps to its halt)
measured at checkpoints of one run up to --bb5-steps; each final grid == the
reference's. --tensor-steps: the first layers of BB(5) by the tensor change-driven
path (model.run_layers, what run-tm used before), for comparison. A compiled C
simulator runs about 1.7 x 10^8 steps a second (the anchor; a constant here). Writes
tm.json and tm.png (per second against steps, log axes).

    python bench/bench_tm.py [--bb5-steps 5000000] [--tensor-steps 20000]
"""

from __future__ import annotations

import argparse
import sys
import time

from _common import RESULTS, Progress, bench_parser, best_of, pyplot, write_json

MACHINES = {
    "BB(2)": "1RB1LB_1LA1RZ",
    "BB(3)": "1RB1RZ_1LB0RC_1LC1LA",
    "BB(4)": "1RB1LB_1LA0LC_1RZ1LD_1RD0RA",
}
BB5 = "1RB1LC_1RC1RB_1RD0LE_1LA1LD_1RZ0LA"
C_SIMULATOR = 1.7e8  # steps per second of a compiled C simulator (the anchor)


def parse_args(argv=None) -> argparse.Namespace:
    parser = bench_parser(__doc__)
    parser.add_argument(
        "--bb5-steps", type=int, default=5_000_000, help="BB(5) layers (47176870: to its halt)"
    )
    parser.add_argument(
        "--tensor-steps", type=int, default=20_000, help="BB(5) layers by run_layers (0: none)"
    )
    parser.add_argument("--repeats", type=int, default=3, help="best of, for the small machines")
    args = parser.parse_args(argv)
    if not 1 <= args.bb5_steps <= 47_176_870 or args.tensor_steps < 0 or args.repeats < 1:
        parser.error("--bb5-steps must be in 1..47176870, --tensor-steps >= 0, --repeats >= 1")
    return args


def main() -> None:
    args = parse_args()
    with Progress("bench_tm", len(MACHINES) + 2, not args.no_progress) as bar:
        bar.stage("importing torch")
        run(args, bar)
    print(f"wrote {RESULTS / 'tm.json'} and {RESULTS / 'tm.png'}")


def _start(machine, compiled):
    """A fresh network (its memo empty) and the first grid: the tape with a margin."""
    net = compiled.network()
    x = compiled.encode(machine.encode(machine.run(steps=0), (0, 0, -1, 1)))[0, 0]
    return net, x


def _box(run) -> tuple[int, int, int, int]:
    """The grid's box in tape positions (the first grid held columns -1..1)."""
    c0 = -1 - run.grid.origin[1]
    return 0, 0, c0, c0 + run.grid.cols - 1


def run(args, bar) -> None:
    import numpy as np
    import torch

    from turing_rcnn.compile import compile_program
    from turing_rcnn.model import OneGridRun, run_layers
    from turing_rcnn.programs import TuringMachine

    torch.set_num_threads(1)
    rows = []
    for name, text in MACHINES.items():
        bar.stage(name)
        machine = TuringMachine.parse(text)
        compiled = compile_program(machine.to_cellular())
        ref_seconds, ref = best_of(args.repeats, lambda m=machine: m.run(max_steps=10**6))

        def network(m=machine, c=compiled, n=ref.steps):
            one = OneGridRun(*_start(m, c), grow_cols=True)  # a fresh memo each time
            one.run_to(n)
            return one

        seconds, one = best_of(args.repeats, network)
        same = np.array_equal(compiled.decode(one.values()), machine.encode(ref, _box(one)))
        rows.append(_row(name, ref.steps, ref.halted, seconds, ref_seconds, one, same))
        print(rows[-1], flush=True)
        bar.advance()

    bar.stage(f"BB(5): {args.bb5_steps} layers")
    machine = TuringMachine.parse(BB5)
    compiled = compile_program(machine.to_cellular())
    marks = sorted({n for n in (10**3, 10**4, 10**5, 10**6, 10**7) if n < args.bb5_steps})
    marks.append(args.bb5_steps)
    one = OneGridRun(*_start(machine, compiled), grow_cols=True)
    seconds, done = 0.0, 0  # the network's time only (the reference's runs between)
    for n in marks:
        begun = time.perf_counter()
        one.run_to(n)
        seconds += time.perf_counter() - begun
        start = time.perf_counter()
        ref = machine.run(steps=n)
        ref_seconds = time.perf_counter() - start
        same = np.array_equal(compiled.decode(one.values()), machine.encode(ref, _box(one)))
        rows.append(_row("BB(5)", n, ref.halted, seconds, ref_seconds, one, same))
        print(rows[-1], flush=True)
        bar.bar.set_postfix_str(f"{n} layers, {n / seconds:.3g}/s")
        done = n
    bar.advance()

    tensor = None
    if args.tensor_steps:
        bar.stage(f"BB(5): {args.tensor_steps} layers by run_layers (tensors)")
        net, x = _start(machine, compiled)
        width = 2 * args.tensor_steps + 3  # the grid run_layers needs: no growth
        big = torch.zeros(1, 1, 1, width, dtype=x.dtype)
        big[0, 0, 0, args.tensor_steps : args.tensor_steps + 3] = x[0]
        start = time.perf_counter()
        run_layers(net, big, args.tensor_steps, block=10**4)
        seconds = time.perf_counter() - start
        tensor = {
            "steps": args.tensor_steps,
            "seconds": round(seconds, 3),
            "layers_per_second": round(args.tensor_steps / seconds),
        }
        print({"tensor_path": tensor}, flush=True)
    bar.advance()

    assert all(r["network_matches_reference"] for r in rows), rows
    write_json(
        "tm.json",
        {
            "threads": 1,
            "c_simulator_steps_per_second": C_SIMULATOR,
            "c_simulator_source": "the anchor issue 33 cites (not measured here)",
            "bb5_steps": done,
            "command": "python bench/bench_tm.py " + " ".join(sys.argv[1:]),
            "rows": rows,
            "tensor_path": tensor,
        },
    )
    _plot(rows, tensor, pyplot())


def _row(name, steps, halted, seconds, ref_seconds, one, same) -> dict:
    return {
        "machine": name,
        "steps": steps,
        "halted": bool(halted),
        "seconds": round(seconds, 4),
        "layers_per_second": round(steps / seconds) if steps else None,
        "reference_seconds": round(ref_seconds, 5),
        "reference_steps_per_second": round(steps / ref_seconds) if steps else None,
        "grid_cells": one.grid.rows * one.grid.cols,
        "patches_evaluated": one.memo.evaluated,
        "network_matches_reference": bool(same),
    }


def _plot(rows, tensor, plt) -> None:
    fig, ax = plt.subplots(figsize=(7, 4.5))
    bb5 = [r for r in rows if r["machine"] == "BB(5)"]
    small = [r for r in rows if r["machine"] != "BB(5)"]
    for key, label, colour in (
        ("layers_per_second", "network (one-grid path), layers/s", "C0"),
        ("reference_steps_per_second", "reference simulator, steps/s", "C1"),
    ):
        ax.plot([r["steps"] for r in bb5], [r[key] for r in bb5], "o-", color=colour, label=label)
        ax.plot([r["steps"] for r in small], [r[key] for r in small], "s", color=colour)
        for r in small:
            ax.annotate(r["machine"], (r["steps"], r[key]), fontsize=7, xytext=(3, 3),
                        textcoords="offset points")  # fmt: skip
    if tensor:
        ax.plot([tensor["steps"]], [tensor["layers_per_second"]], "^", color="C3",
                label="network, tensor path (run_layers), layers/s")  # fmt: skip
    ax.axhline(C_SIMULATOR, color="grey", ls="--", lw=1, label="compiled C simulator (anchor)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("steps (= layers); squares: BB(2..4) to their halts, line: BB(5)")
    ax.set_ylabel("per second, one thread")
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title("Turing machines inside the RCNN vs the reference", fontsize=10)
    fig.tight_layout()
    fig.savefig(RESULTS / "tm.png", dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
