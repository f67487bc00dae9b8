"""`evaluate`: any trained filter or verified rule on a folder in the peer's layout
(DeepThinking's inputs.npy / solutions.npy: mazes, or prefix sums), scored as the peer
scores it.

Everything follows the loaded model: its task says which folders it takes (a maze or
maze-cycles model: maze folders; a prefix-parity model: prefix-sum folders), and its
task's budget for the folder's size caps the iterations. A filter runs dense with
test-time halting (`AlgorithmLearner.run_until_settled`: each input stops when its state
is a fixed point, or has moved by at most --tol for --patience iterations) in batches;
a rule runs compiled in the RCNN, change-driven, each input alone to its fixed point
(`CompiledProgram.settle`), so its layers and seconds are its own. The peer's accuracy:
an answer counts when the whole image equals the solution after wall pixels are zeroed
(prefix sums: the whole string); for mazes the report also counts answers that are a
shortest path (with cycles, any shortest path is right).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .. import guard, pretrained
from ..options import option
from ..progress import bar, heartbeat

KIND_NAMES = ("auto", "filter", "rule")
BATCH = 64  # inputs a filter runs at once
FOLDER_OF_TASK = {"maze": "maze", "maze-cycles": "maze", "prefix-parity": "prefix-sums"}


@dataclass
class EvaluateConfig:
    model: str = option(
        help="a trained filter (model.pt or a shipped name) or a verified rule (rule.json or "
        "a shipped name)",
        positional=True,
    )
    data: str = option(
        help="a folder in the peer's layout (inputs.npy, solutions.npy): mazes or prefix "
        "sums, e.g. written by the data command"
    )
    kind: str = option(
        "auto",
        "what MODEL is (default: auto: a .json file is a rule, a .pt file a filter; a shipped "
        "name that is both runs as its verified rule)",
        choices=KIND_NAMES,
    )
    iterations: int | None = option(
        None,
        "the most iterations (layers) an input may run (default: the model's task budget for "
        "the folder's size)",
        low=1,
        high=10**8,
    )
    count: int | None = option(
        None, "evaluate the first COUNT inputs only (default: all)", low=1, high=10**9
    )
    predictions: str | None = option(
        None,
        "a new folder for predictions.npy (the solutions' layout and dtype), iterations.npy "
        "and seconds.npy (one value per input)",
    )
    tol: float = option(
        0.0,
        "a filter halts once no cell's state has moved by more than TOL for --patience "
        "iterations in a row (default 0: at a fixed point, bit for bit)",
        low=0.0,
        high=1e6,
    )
    patience: int = option(
        1, "the iterations in a row a filter's state must stay within --tol", low=1, high=10**8
    )
    force: bool = option(False, "write into an existing --predictions folder's files")


def resolve_model(name: str, kind: str = "auto") -> tuple[str, str]:
    """(kind, path) of a model: a shipped name (its rule when it has both) or a file."""
    if kind == "auto":
        shipped = [k for k in ("rule", "filter") if name in pretrained.names(k)]
        if shipped:
            kind = shipped[0]
        elif name.endswith(".json"):
            kind = "rule"
        elif name.endswith(".pt"):
            kind = "filter"
        else:
            raise ValueError(
                f"{name}: not a shipped name, and neither a .json rule nor a .pt filter; "
                "give --kind filter or --kind rule"
            )
    return kind, pretrained.resolve(name, kind)


def _load(kind: str, path: str, progress: bool):
    """(the loaded model, its task's name)."""
    if kind == "rule":
        from ..trainable.extract import Rule

        rule = Rule.load(path)
        return rule, rule.task
    from ..trainable import AlgorithmLearner

    learner = AlgorithmLearner.load(path, progress)
    return learner, learner.config_.task


class Folder(NamedTuple):
    """A checked folder: the task's tensors x, y and what scoring and writing need."""

    x: object  # (N, 3, H, W) float32 tensor: entry grids, or 1 x L strips
    y: object  # (N, 1, H, W) float32 tensor: the targets on the same grids
    size: int  # the maze size, or the string length
    images: np.ndarray | None  # the peer's (N, 3, P, P) pixels (mazes)
    solutions: np.ndarray  # the peer's (N, P, P) masks or (N, L) strings, as 0/1
    dtype: np.dtype  # solutions.npy's dtype: predictions are written in it
    notes: list[str]  # conversions the reader made, said in the report


def read_folder(
    folder: str,
    task_name: str,
    flag: str,
    cell_bytes: float = 0.0,
    at_once: int | None = None,
    progress: bool = False,
    check_size=None,
) -> Folder:
    """A folder in the peer's layout for a model of `task_name`: refused (one line naming
    `flag`) unless it holds what the task takes (maze and maze-cycles: mazes;
    prefix-parity: prefix sums); its arrays and a run's `cell_bytes` per cell of
    `at_once` inputs (None: all) through the memory guard, from the headers, before
    anything is read; `check_size(size)` (the maze size or string length, from the
    headers) too; then read and checked (peer.read_peer, peer_sums.read_prefix_sums)."""
    import torch

    from ..trainable import Maze, folders, peer, peer_sums
    from ..trainable.tasks import PrefixParity

    want = FOLDER_OF_TASK.get(task_name)
    if want is None:
        raise ValueError(
            f"{flag} holds the peer's mazes or prefix sums; a {task_name} model takes neither "
            "(maze, maze-cycles and prefix-parity models do)"
        )
    if not folder:
        raise ValueError(f"{flag} is an empty string; give a folder")
    try:
        headers = peer.peer_headers(folder) if want == "maze" else peer_sums.sums_headers(folder)
    except ValueError as err:
        try:  # the other kind? say so
            held = folders.folder_kind(folder)
        except ValueError:
            held = want
        if held == want:
            raise err from None
        raise ValueError(
            f"{err} ({flag} {folder} looks like a {held} folder; a {task_name} model takes "
            f"{want} folders)"
        ) from None
    n, side = headers[0].shape[0], headers[0].shape[-1]
    cells = (side // 2 - 1) ** 2 if want == "maze" else side
    nbytes = peer.peer_bytes(headers) + cell_bytes * cells * min(n, at_once or n)
    guard.check_memory(5e8 + nbytes, f"the {n} inputs of {flag} {folder} ({side} a side)")
    if check_size is not None:
        check_size((side - 6) // 2 if want == "maze" else side)  # P = 2 size + 6
    solutions_dtype = headers[1].dtype
    if want == "maze":
        data = peer.read_peer(folder, progress)
        x, y = (torch.as_tensor(a) for a in Maze.from_pixels(data.images, data.targets))
        notes = [f"{path}: 0/255 uint8 pixels read as 0/1" for path in data.converted]
        return Folder(x, y, x.shape[2] - 2, data.images, data.targets[:, 0], solutions_dtype, notes)
    bits, targets = peer_sums.read_prefix_sums(folder)
    x, y = PrefixParity.from_bits(np.asarray(bits, dtype=np.int64))
    return Folder(x, y, bits.shape[1], None, np.asarray(targets), solutions_dtype, [])


def _run_rule(rule, x, budget: int, progress: bool):
    """Each input alone, compiled, change-driven, to its fixed point: (answers (B, 1, H,
    W), layers that changed a cell per input, seconds per input)."""
    from ..compile import compile_program

    compiled = compile_program(rule.program)
    initial = rule.initial(x)
    answers, layers, seconds = [], [], []
    with bar(f"evaluate: {rule.program.name}", len(x), progress, unit="input") as line:
        for grid in initial:
            start = time.perf_counter()
            final, used = compiled.settle(grid[None], budget, one_grid=True)
            seconds.append(time.perf_counter() - start)
            answers.append(rule.answers(final))
            layers.append(used)
            line.update(1)
    return np.concatenate(answers), np.array(layers), np.array(seconds)


def _run_filter(learner, x, budget: int, tol: float, patience: int):
    """Dense, test-time halting, in batches: (answers, iterations per input: the last
    that moved a cell by more than tol, or the budget; seconds per input: its batch's
    time shared)."""
    answers, used, seconds = [], [], []
    for i in range(0, len(x), BATCH):
        start = time.perf_counter()
        pred, ran = learner.run_until_settled(x[i : i + BATCH], budget, BATCH, tol, patience)
        share = (time.perf_counter() - start) / len(pred)
        answers.append(pred)
        used.append(np.where(ran < budget, ran - patience, budget))  # the calm ones excluded
        seconds += [share] * len(pred)
    return np.concatenate(answers), np.concatenate(used), np.array(seconds)


PREDICTIONS = ("predictions.npy", "iterations.npy", "seconds.npy")  # what --predictions holds


def _score_mazes(images: np.ndarray, answers: np.ndarray, solutions: np.ndarray):
    """The answers as the peer's (N, P, P) masks with wall pixels zeroed, and per maze
    (the peer's verdict: that mask equals the solution; any shortest path: the mask is
    a shortest path from start to end, mazes.valid_shortest_paths)."""
    from ..trainable import Maze, mazes

    walls = images.max(1) == 0  # black: wall and border pixels
    masks = ((Maze.to_pixels(answers)[:, 0] > 0) & ~walls).astype(np.float32)
    peer_right = (masks == (solutions > 0)).reshape(len(masks), -1).all(1)
    return masks, peer_right, mazes.valid_shortest_paths(images, masks)


def evaluate(config: EvaluateConfig, progress: bool = True) -> dict:
    """Run MODEL on every input of --data (or the first --count) and report the peer's
    accuracy, the iterations each input ran and the time."""
    from ..trainable import folders, get_algo_task

    if config.predictions is not None:
        folders.check_out_folder(config.predictions, config.force, "--predictions", PREDICTIONS)
    kind, path = resolve_model(config.model, config.kind)
    if kind == "rule" and (config.tol or config.patience != 1):
        raise ValueError("--tol and --patience halt a filter; a rule runs to its fixed point")
    folders.folder_kind(config.data)  # a bad folder is refused before the model loads
    with heartbeat(f"evaluate: loading {config.model}", progress):
        model, task_name = _load(kind, path, progress)
    task = get_algo_task(task_name)
    running = 0.0  # bytes a cell of an input holds while it runs (a rule: a few)
    if kind == "filter":
        from .jobs import channels

        running = 4.0 * 4 * channels(model.config_)
    data = read_folder(config.data, task_name, "--data", running, BATCH, progress)
    want = FOLDER_OF_TASK[task_name]
    if config.count is not None and config.count > len(data.x):
        raise ValueError(f"--count {config.count} is more than the {len(data.x)} inputs of --data")
    n = config.count or len(data.x)
    x = data.x[:n]
    budget = config.iterations or task.iterations(max(x.shape[2], x.shape[3]))  # as predict's
    start = time.perf_counter()
    if kind == "rule":
        answers, used, seconds = _run_rule(model, x, budget, progress)
    else:
        answers, used, seconds = _run_filter(model, x, budget, config.tol, config.patience)
    total = time.perf_counter() - start
    report = {
        "model": config.model,
        "kind": kind,
        "task": task_name,
        "data": config.data,
        "inputs": len(x),
        ("size" if want == "maze" else "length"): data.size,
    }
    if want == "maze":
        written, right, shortest = _score_mazes(data.images[:n], answers, data.solutions[:n])
        report["accuracy"] = float(right.mean())
        report["shortest_paths"] = float(shortest.mean())
    else:
        written = answers[:, 0, 0]
        report["accuracy"] = float((written == data.solutions[:n]).all(1).mean())
    report["iterations"] = {
        "mean": round(float(used.mean()), 1),
        "max": int(used.max()),
        "budget": budget,
        "settled": int((used < budget).sum()),
    }
    report["seconds"] = round(total, 2)
    report["seconds_per_input"] = {
        "mean": round(float(seconds.mean()), 4),
        "max": round(float(seconds.max()), 4),
    }
    if data.notes:
        report["data_converted"] = data.notes
    if config.predictions is not None:
        os.makedirs(config.predictions, exist_ok=True)
        scale = 255 if any("solutions.npy" in note for note in data.notes) else 1  # 0/255 in
        arrays = (written * scale, used, seconds)
        dtypes = (data.dtype, np.int64, np.float64)
        for name, array, dtype in zip(PREDICTIONS, arrays, dtypes, strict=True):
            _save(os.path.join(config.predictions, name), array.astype(dtype))
        report["predictions"] = config.predictions
    return report


def _save(path: str, array: np.ndarray) -> None:
    with guard.atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, array, allow_pickle=False)
