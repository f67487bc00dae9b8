"""Turing machines inside the network: `run-tm` (a machine run in the compiled RCNN
beside the reference simulator, layer by layer on one grid that grows as the head
moves; `--check N` recomputes N layers with the dense convolution; `--state FILE`
saves the run so a killed one resumes) and `info` (the sizes of the compiled filter)."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass

import numpy as np

from .. import guard
from ..guard import need_folder
from ..options import option
from ..programs import TuringMachine
from ..progress import bar, heartbeat

DTYPE_NAMES = ("float32", "float64")  # algorithm1.DTYPES (a test ties them)


@dataclass
class RunTMConfig:
    machine: str = option(help="bbchallenge format, e.g. 1RB1LB_1LA1RZ", positional=True)
    tape: str = option("", "initial tape symbols (digits) from the head rightwards")
    steps: int | None = option(
        None, "layers to run (default: until the machine halts)", low=0, high=10**9
    )
    max_steps: int = option(2000, "cap when --steps is absent", low=0, high=10**9)
    dtype: str = option("float32", "network arithmetic (both exact here)", choices=DTYPE_NAMES)
    check: int = option(
        0,
        "recompute this many layers, drawn across the run, with the dense convolution (the "
        "full network layer on the whole grid) and compare with ==",
        low=0,
        high=10**6,
    )
    state: str | None = option(
        None,
        "save the run (grid and layer) to this file every --save-every seconds; a run "
        "started with an existing state file resumes from it",
    )
    save_every: float = option(60.0, "seconds between saves of --state", low=0.1, high=86400)


STATE_FORMAT = "turing-rcnn run-tm state"


def run_machine(config: RunTMConfig, progress: bool = False) -> dict:
    """Run `steps` steps (or until halting, at most max_steps) in the network and the reference.

    The reference simulator runs first (it says how many layers to run). The network
    then runs on its own grid: the initial tape and head with a margin, grown (by
    padding, model.OneGridRun) whenever a layer changes a cell on its edge, one layer
    per step, each cell's value the compiled patch net's output on its patch. Everything
    reported about the final configuration (state, head, tape, ones) is read off the
    network's grid and head, then compared with the reference. --check recomputes
    random layers with the dense convolution; --state makes the run resumable.
    """
    import torch

    from ..algorithm1 import DTYPES
    from ..compile import compile_program
    from ..model import OneGridRun

    steps = config.steps
    dtype = DTYPES[config.dtype]
    machine = TuringMachine.parse(config.machine)
    limit = config.max_steps if steps is None else steps
    reach = len(config.tape) + limit + 3  # the head moves one cell per step at most
    guard.check_memory(5e8 + (150 if machine.is_2d else 3) * reach, f"a run of {limit} steps")
    compiled = compile_program(machine.to_cellular(), dtype=dtype)
    start_tape = machine.run(config.tape, steps=0)
    saved = None
    if config.state is not None:
        kind = guard.what_is(config.state)
        if kind:
            raise ValueError(f"--state {config.state} is {kind}, not a regular file")
        need_folder(config.state)
        if os.path.lexists(config.state):
            saved = _load_tm_state(config.state, machine, config.tape, compiled)

    begun = time.perf_counter()
    ref = machine.run(config.tape, steps=steps, max_steps=config.max_steps, progress=progress)
    ref_seconds = time.perf_counter() - begun
    layers = ref.steps if steps is None else steps
    if saved is not None and saved["layers"] > layers:
        raise ValueError(
            f"--state {config.state} is at layer {saved['layers']}, past the {layers} layers "
            "this run asks for"
        )

    if saved is None:
        r0, r1, c0, c1 = start_tape.visited
        margin = 1 if machine.is_2d else 0
        box = (r0 - margin, r1 + margin, c0 - 1, c1 + 1)
        grid, done, checked, before = machine.encode(start_tape, box), 0, 0, 0.0
    else:
        box, grid = tuple(saved["box"]), np.array(saved["grid"])
        done, checked, before = saved["layers"], saved["checked"], saved["seconds"]

    def room(cells: int) -> None:
        need = guard.rcnn_bytes(cells, 1, 1, compiled.hidden, dense=True)
        guard.check_memory(need, f"the network's grid, grown to {cells} cells")

    room(grid.size)
    net = compiled.network(layers=max(layers, 1), dtype=dtype)
    picks = np.random.default_rng(0).choice(layers, size=min(config.check, layers), replace=False)
    start = time.perf_counter()
    with torch.no_grad():
        run = OneGridRun(
            net,
            compiled.encode(grid, dtype)[0, 0],
            grow_rows=machine.is_2d,
            grow_cols=True,
            on_grow=room,
            start=done,
        )

    def where() -> tuple[int, int, int, int]:  # the grid's box in tape positions now
        (dr, dc), g = run.grid.origin, run.grid
        return box[0] - dr, box[0] - dr + g.rows - 1, box[2] - dc, box[2] - dc + g.cols - 1

    def save(_=None) -> None:
        if config.state is not None:
            seconds = before + time.perf_counter() - start
            _save_tm_state(config, machine, compiled, run, where(), checked + run.checked, seconds)

    shown = progress and layers - done >= 10**4
    with bar("network", layers, shown, unit="layer", unit_scale=True, initial=done) as line:
        try:
            run.run_to(layers, picks.tolist(), line, save, config.save_every)
        except RuntimeError as err:  # a --check layer != the dense convolution: say which
            raise ValueError(f"--check failed: {err}") from None
    seconds = time.perf_counter() - start
    save()
    final_box = where()
    values = run.values()
    compiled.check_readout(values.numel(), dtype)
    with torch.no_grad():
        ones = net.readout(values[None, None]).item()
    final_grid = compiled.decode(values)
    final = machine.decode(final_grid, final_box)
    window = final.window(ref.visited)
    tape_text = "/".join("".join(str(int(v)) for v in row) for row in window)
    if len(tape_text) > 400:  # a long tape: its size, not a wall of digits
        tape_text = (
            f"{window.shape[0]} x {window.shape[1]} cells, {int(np.count_nonzero(window))} non-zero"
        )
    same = _inside(ref, final_box) and np.array_equal(final_grid, machine.encode(ref, final_box))
    same = same and ones == ref.ones
    ran = layers - done
    report = {
        "machine": str(machine),
        "steps": ref.steps,
        "halted": final.halted,
        "state": final.state,
        "head": list(final.head) if machine.is_2d else final.head[1],
        "tape": tape_text,
        "ones": int(ones),
        "layers": layers,
        "grid": list(final_grid.shape),
        "parameters": compiled.parameter_count,
        "weight_values": len(compiled.weight_values),
        "network_matches_reference": bool(same),
        "seconds": round(seconds, 4),
        "layers_per_second": round(ran / seconds) if ran and seconds > 0 else None,
        "reference_seconds": round(ref_seconds, 4),
        "reference_steps_per_second": round(ref.steps / ref_seconds) if ref.steps else None,
        "patches_evaluated": run.memo.evaluated,
    }
    if config.check:
        report["checked_layers"] = checked + run.checked  # each ==: a mismatch stops the run
    if config.state is not None:
        report["state_file"] = config.state
        report["resumed_from_layer"] = done
    return report


def _inside(ref, box: tuple[int, int, int, int]) -> bool:
    """Every cell the reference visited, and its head, lie inside `box`."""
    r0, r1, c0, c1 = ref.visited
    return box[0] <= r0 and r1 <= box[1] and box[2] <= c0 and c1 <= box[3]


def _state_identity(machine: TuringMachine, tape: str) -> dict:
    return {"format": STATE_FORMAT, "version": 1, "machine": str(machine), "tape": tape}


def _save_tm_state(config, machine, compiled, run, box, checked: int, seconds: float) -> None:
    """The run's grid (alphabet indices) and counters, sealed, written atomically."""
    from ..integrity import HASH_KEY, content_hash

    grid = compiled.decode(run.values())
    blob = _state_identity(machine, config.tape) | {
        "layers": run.layers,
        "checked": checked,
        "seconds": round(seconds, 3),
        "box": list(box),
        "grid": grid.tolist(),
    }
    blob[HASH_KEY] = content_hash(blob)
    with guard.atomic_path(config.state, replace=True) as tmp:
        with open(tmp, "w") as f:
            json.dump(blob, f, separators=(",", ":"))


def _load_tm_state(path: str, machine: TuringMachine, tape: str, compiled) -> dict:
    """A state file of this machine and tape, its hash checked; a ValueError otherwise."""
    from ..integrity import HASH_KEY, content_hash, read_json

    blob = read_json(path, "run-tm state")
    if not isinstance(blob, dict) or blob.get("format") != STATE_FORMAT:
        raise ValueError(f"{path} is not a run-tm state file")
    body = {k: v for k, v in blob.items() if k != HASH_KEY}
    if blob.get(HASH_KEY) != content_hash(body):
        raise ValueError(
            f"{path}: its content hash does not match: the file was changed or damaged"
        )
    want = _state_identity(machine, tape)
    for key in ("version", "machine", "tape"):
        if blob.get(key) != want[key]:
            raise ValueError(
                f"--state {path} is the state of {key} {blob.get(key)!r}, not {want[key]!r}; "
                "give another file"
            )
    grid, box = blob.get("grid"), blob.get("box")
    k = len(compiled.program.symbols)
    fine = isinstance(grid, list) and bool(grid) and all(isinstance(r, list) for r in grid)
    fine = fine and isinstance(box, list) and len(box) == 4
    fine = fine and all(type(v) is int for v in box) and len(grid) == box[1] - box[0] + 1
    fine = fine and all(len(r) == box[3] - box[2] + 1 for r in grid)
    fine = fine and all(type(v) is int and 0 <= v < k for r in grid for v in r)
    for key in ("layers", "checked"):
        fine = fine and type(blob.get(key)) is int and blob[key] >= 0
    seconds = blob.get("seconds")
    fine = fine and type(seconds) in (int, float) and seconds >= 0
    if not fine:
        raise ValueError(f"{path}: a run-tm state file with a malformed grid or counters")
    try:
        machine.decode(np.array(grid), tuple(box))  # exactly one head on the grid
    except ValueError as err:
        raise ValueError(
            f"{path}: a run-tm state file whose grid is no configuration ({err})"
        ) from None
    return blob


@dataclass
class InfoConfig:
    machine: str = option(help="bbchallenge format, e.g. 1RB1LB_1LA1RZ", positional=True)


def info(config: InfoConfig, progress: bool = False) -> dict:
    """Sizes of the filter compiled from a Turing machine."""
    from ..compile import compile_program

    machine = TuringMachine.parse(config.machine)
    with heartbeat("info: compiling the machine", progress):
        sizes = compile_program(machine.to_cellular()).summary()
    return {
        "machine": str(machine),
        "states": machine.n_states,
        "symbols": machine.n_symbols,
        "two_d": machine.is_2d,
    } | sizes
