"""Command-level jobs: run a Turing machine in the compiled RCNN, Algorithm 1 on a task,
and train a RecurrentFilter on an algorithmic task. Each returns a JSON-ready report."""

from __future__ import annotations

import json
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


def train_algorithm(
    task: str = "prefix-parity",
    train_len: int = 32,
    test_len: int = 512,
    test_count: int = 100,
    compare_count: int = 10,
    out: str | None = None,
    load: str | None = None,
    progress: bool = True,
    **config,
) -> dict:
    """Train (or load) a RecurrentFilter on a small size; test it on a larger one.

    out: a folder for model.pt (checkpointed during training), training.png and
    report.json. The report compares the network with the task's compiled exact rule
    on `compare_count` test inputs.
    """
    import os

    from .algoanalysis import compare_with_rule
    from .algotrain import AlgoConfig, AlgorithmLearner

    if load:
        model = AlgorithmLearner.load(load, progress=progress)
    else:
        model = AlgorithmLearner(AlgoConfig(task=task, train_size=train_len, **config), progress)
    model.task.check_size(test_len)
    if out:
        os.makedirs(out, exist_ok=True)
    checkpoint = os.path.join(out, "model.pt") if out else None
    if not load:
        model.fit(checkpoint=checkpoint)
    rng = np.random.default_rng(10_000 + model.config.seed)
    report = model.summary()
    for size in sorted({model.config.train_size, test_len}):
        x, y = model.task.sample(test_count, size, rng)
        start = time.perf_counter()
        report[f"accuracy_{size}"] = model.score(x, y)
        report[f"iterations_{size}"] = model.iterations_for(x)
        report[f"test_seconds_{size}"] = round(time.perf_counter() - start, 2)
    x, y = model.task.sample(compare_count, test_len, rng)
    report["compiled_rule"] = compare_with_rule(model, x, y)
    if out:
        report["plot"] = model.plot(os.path.join(out, "training.png"))
        report["checkpoint"] = checkpoint
        with open(os.path.join(out, "report.json"), "w") as f:
            json.dump(report, f, indent=2)
    return report


def run_search(
    task: str = "last-bit",
    d: int = 3,
    m: int = 5,
    n_val: int = 8,
    n_test: int = 1000,
    backend: str = "inprocess",
    workers: int = 2,
    address: str | None = None,
    checkpoint: str | None = None,
    progress: bool = True,
    **config,
) -> dict:
    """Corollary 2 on one problem: restarts, validation, the chosen program and its
    test error beside both constant predictors; for the answer-rule prior also the
    exact fraction of the family that reaches zero validation error."""
    from .initialise import AnswerRulePrior
    from .search import SearchConfig, predict_with, search, wilson_interval
    from .tasks import search_problem

    cfg = SearchConfig(**config)
    X, y, X_val, y_val, X_test, y_test = search_problem(task, d, m, n_val, n_test, cfg.seed)
    result = search(cfg, [(X, y, X_val, y_val)], backend, workers, address, checkpoint, progress)
    best = result.best
    pred = predict_with(cfg, best, X, y, X_test)
    wins = int((result.errors[:, 0] == 0).sum())
    report = {
        "task": task, "d": d, "m": m, "validation": n_val, "init": cfg.init, "size": cfg.size,
        "time": cfg.time, "restarts": cfg.restarts, "backend": backend, "seed": cfg.seed,
        "seconds": round(result.seconds, 2),
        "candidates_per_second": round(cfg.restarts / max(result.seconds, 1e-9), 1),
        "resumed_chunks": result.resumed_chunks,
        "best": best, "program": result.programs[best],
        "val_error": float(result.errors[best, 0]),
        "test_error": float(np.mean(pred != y_test)),
        "constant_plus_error": float(np.mean(y_test != 1)),
        "constant_minus_error": float(np.mean(y_test != -1)),
        "zero_val_error_rate": wins / cfg.restarts,
        "zero_val_error_rate_95ci": wilson_interval(wins, cfg.restarts),
    }  # fmt: skip
    if cfg.init == "answer-rule":
        report["exact_zero_val_error_fraction"] = AnswerRulePrior(cfg.time).exact_fraction(
            X, y, X_val, y_val
        )
    return report
