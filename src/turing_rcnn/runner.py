"""Run a Turing machine inside the compiled RCNN and beside its reference simulator."""

from __future__ import annotations

import time

import numpy as np
import torch

from .compile import compile_program
from .programs import TuringMachine


def run_machine(
    text: str,
    tape: str = "",
    steps: int | None = None,
    max_steps: int = 2000,
    dtype: torch.dtype = torch.float32,
) -> dict:
    """Run `steps` steps (or until halting, at most max_steps) in the network and the reference.

    The grid covers every cell the reference visits plus a margin of one; the network
    runs one layer per step. Everything reported about the final configuration
    (state, head, tape, ones) is read off the network's grid and head.
    """
    if steps is not None and steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    if max_steps < 0:
        raise ValueError(f"max_steps must be >= 0, got {max_steps}")
    machine = TuringMachine.parse(text)
    ref = machine.run(tape, steps=steps, max_steps=max_steps)
    r0, r1, c0, c1 = ref.visited
    margin = 1 if machine.is_2d else 0
    box = (r0 - margin, r1 + margin, c0 - 1, c1 + 1)
    compiled = compile_program(machine.to_cellular(), dtype=dtype)
    layers = ref.steps if steps is None else steps

    start = time.perf_counter()
    net = compiled.network(layers=max(layers, 1), dtype=dtype)
    with torch.no_grad():
        grid = compiled.encode(machine.encode(machine.run(tape, steps=0), box), dtype)
        out = net.run_body(grid, layers=layers)
        ones = net.readout(out).item()
    seconds = time.perf_counter() - start
    final_grid = compiled.decode(out)[0]
    final = machine.decode(final_grid, box)
    window = final.window(ref.visited)
    tape_text = "/".join("".join(str(int(v)) for v in row) for row in window)
    head = list(final.head) if machine.is_2d else final.head[1]
    return {
        "machine": str(machine),
        "steps": ref.steps,
        "halted": final.halted,
        "state": final.state,
        "head": head,
        "tape": tape_text,
        "ones": int(ones),
        "layers": layers,
        "grid": list(final_grid.shape),
        "parameters": compiled.parameter_count,
        "weight_values": len(compiled.weight_values),
        "network_matches_reference": bool(
            np.array_equal(final_grid, machine.encode(ref, box)) and ones == ref.ones
        ),
        "seconds": round(seconds, 4),
    }
