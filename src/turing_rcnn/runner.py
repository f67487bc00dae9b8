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


def learn(
    learner: str,
    d: int,
    m: int,
    task: str = "parity",
    k: int | None = None,
    noise: float = 0.0,
    seed: int = 0,
    n_test: int = 1000,
    dtype: torch.dtype = torch.float32,
    progress: bool = True,
    save_run: str | None = None,
) -> dict:
    """Algorithm 1 on a task: the RCNN's test error beside its learner's reference."""
    from .tasks import ParityTask
    from .train import RCNNLearner

    if task != "parity":
        raise ValueError(f"unknown task {task!r}; available: parity")
    data = ParityTask(d, k=k, noise=noise).make(m, n_test=n_test, seed=seed)
    start = time.perf_counter()
    model = RCNNLearner(learner, dtype=dtype, progress=progress).fit(data.X_train, data.y_train)
    fit_seconds = time.perf_counter() - start
    pred = model.predict(data.X_test)
    seconds = time.perf_counter() - start
    ref = model.reference_predict(data.X_train, data.y_train, data.X_test)
    t = model.learner.time(m, d)
    if save_run:
        np.savez(save_run, X_train=data.X_train, y_train=data.y_train, X_test=data.X_test,
                 y_pred_rcnn=pred, y_pred_reference=ref)  # fmt: skip
    compiled = model.compiled
    return {
        "task": task, "d": d, "m": m, "k": k, "noise": noise, "seed": seed,
        "learner": model.learner.name,
        "layers": model.layers_,
        "c1": model.layers_ / (t + m + d),
        "grid": list(model.net_.config.grid_shape),
        "parameters": compiled.parameter_count,
        "weight_values": len(compiled.weight_values),
        "flops_per_cell": compiled.flops_per_cell,
        "memorisation_exact": model.memorisation_exact_,
        "rcnn_error": float(np.mean(pred != data.y_test)),
        "reference_error": float(np.mean(ref != data.y_test)),
        "agreement": float(np.mean(pred == ref)),
        "fit_seconds": round(fit_seconds, 4),
        "seconds": round(seconds, 4),
    }  # fmt: skip
