"""Verify a rule against its task's reference, compiled into an exact RCNN filter.

Every check runs the rule as compile.py compiles it, in model.RCNN with the
change-driven evaluation (== the dense convolution, tests), and compares the answers
with the task's reference:

(a) exhaustive: every input up to a small size (all bit strings of 2..16 bits for
    prefix parity, all pairs of 2..8-bit numbers for addition, every grid of side 3
    for flood fill, every perfect maze of size 3 and 5 with every start and end);
(b) random inputs at the largest sizes (10^4-bit strings, 10^5-bit sums, 256 x 256
    grids, size-801 mazes; a learned prefix-parity rule flips cells ahead of its wave
    at every layer, so its cost grows as n^2: 10^5 bits are 10^10 cell updates, 16-17
    minutes a string, measured by bench_long.py rather than here); (b) runs only when
    (a) passed;
(c) convergence: on every input of (a) and (b), one more layer after the budget
    changes no cell: the answer is read at a fixed point;
(d) (every_size.py) for rules on 1-row grids, whether every fixed point is right,
    whatever the length: a fixed point of a radius-1 rule is a path in the finite
    graph of adjacent symbol pairs (a, b) -> (b, c) with rule(a, b, c) = b, from the
    left border to the right;
    walking that graph in product with the task's automaton (the running parity; the
    carry) checks every such path's answers. If none is wrong, the answer read at a
    fixed point (check (c)) is right for EVERY length: `proved_every_length`. It is a
    sufficient argument, not a necessary one. Only fixed points made of triples a run
    can meet count (extract.reachable_triples: a closure that over-approximates them),
    so wrong fixed points no run reaches do not spoil the argument; a wrong fixed point
    among the reachable-looking ones is reported rather than guessed away.
    For flood-fill rules that read only the cross (cell and 4 neighbours): four
    conditions on EVERY cross neighbourhood make every fixed point, of any size, mark
    exactly the source's component (flood_fixed_points). For perfect-maze rules on
    the cross: the rule steps as Maze.hint (walls filled, then dead-end filling), up to
    a renaming of its states, on every neighbourhood a run can meet, so its runs are
    dead-end filling's on any size (maze_dead_end_filling).
The report's `exact` is true only when every check (a), (b), (c) passed;
`proved_every_length` is (d) (for a 2-D rule: every size).
"""

from __future__ import annotations

import itertools
import time

import numpy as np
import torch

from ..compile import compile_program
from ..progress import bar, heartbeat, say
from . import mazes
from .every_size import (
    CROSS,
    fixed_points_are_right,
    flood_fixed_points,
    maze_dead_end_filling,
)
from .extract import Rule, table_entries
from .tasks import Addition, AlgoTask, FloodFill, Maze, PrefixParity, get_algo_task


def run_compiled_rule(
    compiled, rule: Rule, x: torch.Tensor, layers: int, progress: bool = False, desc: str = "layers"
) -> tuple[np.ndarray, bool]:
    """The rule's answers (B, 1, H, W) after at most `layers` layers in the RCNN
    (CompiledProgram.settle: the inputs as blocks of one grid, change-driven), and
    whether they were read at a fixed point: one more layer, evaluated afresh on every
    cell, leaves every cell as it is. `progress`: a bar on stderr, named `desc`."""
    final, _ = compiled.settle(rule.initial(x), layers, progress=progress, desc=desc)
    with heartbeat(f"{desc}: one more layer (a fixed point?)", progress):
        _, again = compiled.settle(final, 1)
    return rule.answers(final), again == 0


def _bits(n: int) -> np.ndarray:
    return np.array(list(itertools.product([0, 1], repeat=n)), dtype=np.int64)


def exhaustive(task: AlgoTask):
    """(name, inputs, targets) batches of every small input of the task."""
    if isinstance(task, PrefixParity):
        for n in range(2, 17):
            bits = _bits(n)
            x = np.stack([2.0 * bits - 1, np.zeros_like(bits), np.ones_like(bits)], 1)[:, :, None]
            yield f"all {n}-bit strings", x, task.reference(bits)[:, None, None]
    elif isinstance(task, Addition):
        for n in range(2, 9):
            pairs = _bits(2 * n)
            a, b = (np.pad(p, ((0, 0), (0, 1))) for p in (pairs[:, :n], pairs[:, n:]))
            x = np.stack([2.0 * a - 1, 2.0 * b - 1, np.ones_like(a)], 1)[:, :, None]
            yield f"all pairs of {n}-bit numbers", x, task.reference(a, b)[:, None, None]
    elif isinstance(task, FloodFill):
        walls = _bits(9).reshape(-1, 3, 3).astype(bool)
        xs, ys = [], []
        for cell in range(9):
            source = np.zeros((len(walls), 3, 3), dtype=bool)
            source[:, cell // 3, cell % 3] = True
            w = walls & ~source
            xs.append(np.stack([np.where(w, -1.0, 1.0), source, np.ones_like(w)], 1))
            ys.append(task.reference(w, source)[:, None])
        yield "every 3 x 3 grid and source", np.concatenate(xs), np.concatenate(ys)
    elif isinstance(task, Maze) and not task.cycles:
        for size in (3, 5):
            yield f"every perfect maze of size {size}, every start and end", *_all_mazes(size)
    else:
        raise ValueError(f"no exhaustive check for task {task.name!r}")


def _all_mazes(size: int):
    """Every perfect maze of this size (every spanning tree of the cell grid) with
    every ordered pair of distinct start and end cells, as entry-grid tensors."""
    n = mazes.cells_per_side(size)
    edges = [((r, c), (r, c + 1)) for r in range(n) for c in range(n - 1)]
    edges += [((r, c), (r + 1, c)) for r in range(n - 1) for c in range(n)]
    layouts = []
    for chosen in itertools.combinations(edges, n * n - 1):
        lay = np.zeros((2 * n + 1, 2 * n + 1), dtype=np.uint8)
        lay[1::2, 1::2] = 1
        for (r, c), (r2, c2) in chosen:
            lay[1 + r + r2, 1 + c + c2] = 1
        if (mazes.distances(lay, (1, 1)) >= 0).sum() == lay.sum():  # connected: a tree
            layouts.append(lay)
    cells = [(1 + 2 * r, 1 + 2 * c) for r in range(n) for c in range(n)]
    items = [(lay, s, e) for lay in layouts for s in cells for e in cells if s != e]
    lays = np.stack([i[0] for i in items])
    starts, ends = np.array([i[1] for i in items]), np.array([i[2] for i in items])
    paths = np.stack([mazes.shortest_path(lay, s, e) for lay, s, e in items])
    return Maze.cells(lays, starts, ends, paths)


LARGE = {
    "prefix-parity": (10, 10_000),
    "addition": (20, 100_000),
    "flood-fill": (10, 256),
    "maze": (20, 801),
}
QUICK = {
    "prefix-parity": (10, 2_000),
    "addition": (10, 1_000),
    "flood-fill": (10, 32),
    "maze": (10, 59),
}


def random_large(task: AlgoTask, rng: np.random.Generator, sizes):
    """(name, inputs, targets) of random inputs at the largest sizes."""
    for count, size in sizes:
        x, y = task.sample(count, size, rng)
        yield f"{count} random inputs of size {size}", x.numpy(), y.numpy()


def verify(rule: Rule, seed: int = 0, quick: bool = False, large=None, progress=False) -> dict:
    """Run every check (see the module docstring); `quick`: smaller random inputs;
    `large`: (count, size) of the random inputs instead; `progress`: each stage on
    stderr (a bar over (a)'s batches, one over (b)'s layers, a heartbeat for the
    others) and a line per check."""
    task = get_algo_task(rule.task)
    kind = "maze" if isinstance(task, Maze) else task.name
    if kind not in LARGE:
        raise ValueError(f"no checks for task {task.name!r}")
    large = large or (QUICK if quick else LARGE)[kind]
    start = time.perf_counter()
    with heartbeat(f"verify {rule.task}: compiling the rule", progress):
        compiled = compile_program(rule.program)
    report = {
        "rule": rule.program.name,
        "task": rule.task,
        "states": rule.states,
        "symbols": len(rule.program.symbols),
        "table_entries": table_entries(rule.program),
        "guards": len(rule.program.guards),
        "parameters": compiled.parameter_count,
        "checks": [],
    }
    rng = np.random.default_rng(seed)

    def check(kind: str, name: str, x, y) -> bool:
        """Run one batch of inputs to its answers; record and return whether it passed."""
        t0 = time.perf_counter()
        x, y = task.check_inputs(x, y)
        budget = task.iterations(max(x.shape[2], x.shape[3]))
        desc = f"verify (b), (c) {name}"
        answers, fixed = run_compiled_rule(
            compiled, rule, x, budget, progress and kind == "b", desc
        )
        right = task.correct(x, y, answers)
        passed = bool(right.all() and fixed)
        report["checks"].append(
            {
                "check": kind,
                "inputs": name,
                "count": len(x),
                "right": int(right.sum()),
                "fixed_point": fixed,
                "passed": passed,
                "seconds": round(time.perf_counter() - t0, 2),
            }
        )
        say(f"verify ({kind}) {name}: {'passed' if passed else 'FAILED'}", progress)
        return passed

    with heartbeat("verify (a): making every small input", progress):
        small = list(exhaustive(task))
    with bar("verify (a) exhaustive", len(small), progress, unit="batch") as line:
        for name, x, y in small:
            line.set_postfix_str(name, refresh=False)
            check("a", name, x, y)
            line.update(1)
    if all(c["passed"] for c in report["checks"]):  # else a rule that never settles costs n^2
        count, size = large
        with heartbeat(f"verify (b): drawing {count} random inputs of size {size}", progress):
            batches = list(random_large(task, rng, [large]))
        for name, x, y in batches:
            check("b", name, x, y)
    report["exact"] = all(c["passed"] for c in report["checks"])
    cross = {p for g in rule.program.guards for p in g.when} <= set(CROSS)
    with heartbeat("verify (d): every fixed point, any size", progress):
        if isinstance(task, (PrefixParity, Addition)):
            report["fixed_points"] = fixed_points_are_right(rule, task)
            report["proved_every_length"] = report["exact"] and report["fixed_points"]["passed"]
        elif isinstance(task, FloodFill) and cross:
            report["fixed_points"] = flood_fixed_points(rule)
            report["proved_every_length"] = report["exact"] and report["fixed_points"]["passed"]
        elif isinstance(task, Maze) and not task.cycles and cross:
            report["dead_end_filling"] = maze_dead_end_filling(rule)
            report["proved_every_length"] = report["exact"] and report["dead_end_filling"]["passed"]
    report["seconds"] = round(time.perf_counter() - start, 1)
    return report
