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
(d) for rules on 1-row grids, whether every fixed point is right, whatever the length:
    a fixed point of a radius-1 rule is a path in the finite graph of adjacent symbol
    pairs (a, b) -> (b, c) with rule(a, b, c) = b, from the left border to the right;
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
    the cross: the rule steps as Maze.hint (walls filled, then dead-end filling) on
    every neighbourhood a run can meet, so its runs are dead-end filling's on any size
    (maze_dead_end_filling).
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
from .extract import Rule, reachable_triples, table_entries
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


CROSS = ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1))  # C N S W E: what a cross rule reads
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


def _cross_step(program, hoods: np.ndarray, border: int) -> np.ndarray:
    """The program's next symbol at the centre of each (C, N, S, W, E) neighbourhood:
    the neighbourhoods as 3x3 blocks stacked in one grid (corners: the border; a cross
    rule does not read them, and a centre sees only its own block)."""
    blocks = np.full((len(hoods), 3, 3), border)
    for j, (dr, dc) in enumerate(CROSS):
        blocks[:, 1 + dr, 1 + dc] = hoods[:, j]
    return program.step(blocks.reshape(-1, 3))[1::3, 1]


def flood_fixed_points(rule: Rule) -> dict:
    """(d) for flood-fill rules that read the cross: every fixed point a run can reach,
    on a grid of any size, reads the source's component. "Marked" = a symbol the
    readout calls reached. Checked on EVERY cross neighbourhood (one source at most):
    (1) at layer 0 only the source may be marked; (2) a wall never becomes marked (so a
    marked wall is left out of the neighbourhoods checked);
    (3) sound: an unmarked cell becomes marked only if it is the source or a neighbour
    is marked or is the source; (4) complete: an unmarked free cell that is the source
    or has a marked neighbour does not keep its symbol. By (1)-(3), by induction over
    layers, every marked cell is connected to the source through free cells; at a
    fixed point, (4) makes the marked set hold the source and every free neighbour of
    a marked cell: the whole component. So the answers there are the reference's. (It
    says nothing of how many layers a run takes to get there; check (c) does.) The
    check is conservative: it also asks neighbourhoods no grid of side >= 3 has."""
    program = rule.program
    border = program.index[program.border]
    code = np.array(
        [-1 if u == border else int(n.split("i")[1]) for u, n in enumerate(program.symbols)]
    )
    marked = np.array([program.readout.get(n, 0.0) > 0 for n in program.symbols])
    wall = np.append(rule.inputs[:, 0] < 0, False)[code]  # the border is no wall cell
    source = np.append(rule.inputs[:, 1] > 0, False)[code]  # the marker channel
    # A marked wall never occurs (by (1) and (2), below): left out of every neighbourhood.
    symbols = [u for u in range(len(program.symbols)) if not (wall[u] and marked[u])]
    centres = [u for u in symbols if u != border]
    hoods = np.array(list(itertools.product(centres, *[symbols] * 4)), dtype=np.int64)
    hoods = hoods[(source[hoods].sum(1) <= 1)]
    after = _cross_step(program, hoods, border)
    centre, around = hoods[:, 0], hoods[:, 1:]
    reached_by = source[centre] | (marked[around] | source[around]).any(1)
    first = [program.index[rule.symbol(0, c)] for c in range(len(rule.inputs))]
    wrong = [
        f"{program.symbols[u]} is marked at layer 0" for u in first if marked[u] and not source[u]
    ]
    failures = {
        "a wall becomes marked": wall[centre] & marked[after],
        "marked with no marked or source neighbour": ~marked[centre] & marked[after] & ~reached_by,
        "a reachable free cell stays unmarked": ~marked[centre]
        & ~wall[centre]
        & (source[centre] | marked[around].any(1))
        & (after == centre),
    }
    for why, bad in failures.items():
        wrong += [
            f"{why}: "
            + " ".join(f"{p}={program.symbols[u]}" for p, u in zip("CNSWE", h, strict=True))
            for h in hoods[bad][:2]
        ]
    bad = np.any(list(failures.values()), 0)
    return {
        "check": "d",
        "inputs": "every cross neighbourhood (one source at most): fixed points of any size",
        "count": len(hoods),
        "right": len(hoods) - int(bad.sum()),
        "fixed_point": True,
        "passed": not wrong,
        "wrong_examples": wrong[:5],
    }


def one_row_closure(rule: Rule) -> tuple[dict, set, int]:
    """(step, reached, border) of a 1-row rule over symbol indices: step[(a, b, c)] is
    b's next symbol (what the program does, between border rows), reached the triples a
    run can meet (extract.reachable_triples)."""
    program = rule.program
    border = program.index[program.border]
    n = len(program.symbols)
    triples = [t for t in itertools.product(range(n), repeat=3) if t[1] != border]
    rows = np.full((3 * len(triples), 3), border)
    rows[1::3] = triples  # each triple between two border rows, as on a 1-row grid
    after = program.step(rows)[1::3, 1]
    step = {t: int(v) for t, v in zip(triples, after, strict=True)}
    first = {program.index[rule.symbol(0, c)] for c in range(len(rule.inputs))}
    return step, reachable_triples(step, first, border), border


def fixed_points_are_right(rule: Rule, task: AlgoTask) -> dict:
    """(d) for 1-row rules: every fixed point of the rule, of any length, reads the
    task's answer on every cell (see the module docstring)."""
    program = rule.program
    symbols = program.symbols
    step, reached, border = one_row_closure(rule)
    bit = _input_bits(rule, task)
    readout = np.array([program.readout.get(s, 0.0) > 0 for s in symbols])
    # Product states (left symbol, this symbol, automaton state before this cell); an
    # edge to (b, c, q') where b is fixed between a and c; a path may end at a state
    # whose symbol is fixed with the border on its right.
    start = [(border, b, 0) for b in range(len(symbols)) if b != border]
    edges: dict[tuple, list] = {}
    todo, seen = list(start), set(start)
    while todo:
        a, b, q = here = todo.pop()
        after = _automaton(task, q, bit[b])[0]
        edges[here] = [
            (b, c, after)
            for c in range(len(symbols))
            if c != border and step[a, b, c] == b and (a, b, c) in reached
        ]
        for nxt in edges[here]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    # The states on some whole fixed point: those from which an end is reachable.
    alive = {(a, b, q) for a, b, q in seen if step[a, b, border] == b and (a, b, border) in reached}
    grew = True
    while grew:
        before = len(alive)
        alive |= {st for st in seen if any(n in alive for n in edges[st])}
        grew = len(alive) > before
    wrong = [
        (symbols[a], symbols[b])
        for a, b, q in alive
        if readout[b] != _automaton(task, q, bit[b])[1]
    ]
    return {
        "check": "d",
        "inputs": "every fixed point of every length (product automaton)",
        "count": len(alive),
        "right": len(alive) - len(wrong),
        "fixed_point": True,
        "passed": not wrong,
        "wrong_examples": wrong[:5],
    }


def _input_bits(rule: Rule, task: AlgoTask) -> list:
    """The input bits of each symbol (prefix parity: its bit; addition: (a, b))."""
    bits = []
    for name in rule.program.symbols:
        if name == rule.program.border:
            bits.append(None)
            continue
        vector = rule.inputs[int(name.split("i")[1])]
        if isinstance(task, PrefixParity):
            bits.append(int(vector[0] > 0))
        else:
            bits.append((int(vector[0] > 0), int(vector[1] > 0)))
    return bits


def _automaton(task: AlgoTask, q: int, bits) -> tuple[int, bool]:
    """(state after the cell, the cell's right answer) given the state before it:
    the running parity (prefix parity) or the carry into the cell (addition)."""
    if isinstance(task, PrefixParity):
        after = q ^ bits
        return after, bool(after)
    a, b = bits
    return int(a + b + q >= 2), bool((a + b + q) % 2)


def maze_dead_end_filling(rule: Rule) -> dict:
    """(d) for perfect-maze rules that read the cross: the rule's runs ARE those of
    Maze.hint (every wall fills at the first layer, then dead-end filling), on a maze of
    any size. Checked on every cross neighbourhood the hint's runs can meet, and more:
    at layer 0 every cell holds its start state; from layer 1 on every wall is filled,
    the start and end open, other cells open or filled; and always: one start and one
    end at most, not side by side (both are cells, at odd coordinates, with a wall or a
    passage between any two), only walls touch the border (a maze's outer ring is wall),
    an open cell has an open neighbour (the open cells are a connected set holding the
    start and the end: dead-end filling only trims leaves that are neither), a filled
    cell that is no wall has at most one open neighbour (it had when it filled, and no
    cell opens again). Where the rule's next state is the hint's on all of them, by
    induction over layers the two runs are the same. Dead-end filling leaves exactly the
    path of a perfect maze: a cell off the path lies in a subtree hanging from it, whose
    leaves (one open neighbour) fill until none is left; a path cell keeps its two path
    neighbours open (the start and end keep one, and never fill). Each layer before the
    fixed point fills a cell, so it comes within the budget: the answer is right on
    every size."""
    from .filter import hint_states

    hint, starts = get_algo_task(rule.task).hint()
    program, border = rule.program, rule.program.index[rule.program.border]
    hoods = maze_neighbourhoods(rule)
    state = np.array([rule.state_code(n)[0] for n in program.symbols])
    after = _cross_step(program, hoods[:, :, 0], border)
    nxt = _cross_step(hint, hoods[:, :, 1], hint.index["#"])
    start, rule_code = _start_symbols(rule)
    own = start[rule_code[hoods[:, 0, 0]]]  # the hint symbol the centre cell started from
    want = np.where(nxt == own, 0, hint_states(hint, starts)[nxt])
    wrong = state[after] != want
    return {"neighbourhoods": len(hoods), "wrong": int(wrong.sum()), "passed": not wrong.any()}


def _start_symbols(rule: Rule) -> tuple[np.ndarray, np.ndarray]:
    """Each input code's start symbol in the task's hint, and each rule symbol's input
    code."""
    x = torch.as_tensor(rule.inputs, dtype=torch.float32)[:, :, None, None]
    start = get_algo_task(rule.task).to_symbols(x)[:, 0, 0]
    return start, np.array([rule.state_code(n)[1] for n in rule.program.symbols])


def maze_neighbourhoods(rule: Rule) -> np.ndarray:
    """The cross neighbourhoods (C, N, S, W, E) maze_dead_end_filling checks, each
    position as (the rule's symbol, the hint's symbol): (n, 5, 2)."""
    task = get_algo_task(rule.task)
    hint, _ = task.hint()
    program, border = rule.program, rule.program.index[rule.program.border]
    start, rule_code = _start_symbols(rule)
    wall, filled = hint.index["#"], hint.index["x"]

    def cell(k: int, c: int) -> tuple[int, int] | None:  # (rule symbol, hint symbol)
        name = rule.symbol(k, c)
        return (program.index[name], filled if k else start[c]) if name in program.index else None

    opened = [hint.index[s] for s in (".", "S", "E")]
    first = [cell(0, c) for c in range(len(start))]
    later = [cell(0, c) for c in range(len(start)) if start[c] != wall]
    later += [cell(1, c) for c in range(len(start)) if start[c] in (wall, opened[0])]
    hoods = []
    for cells in (first, later):  # the start and the end never fill
        cells = [p for p in cells if p is not None]
        hoods += list(itertools.product(cells, *[cells + [(border, wall)]] * 4))
    hoods = np.array(hoods, dtype=np.int64)  # (n, 5 positions, rule / hint)
    once = [(hoods[:, :, 1] == hint.index[s]).sum(1) <= 1 for s in ("S", "E")]
    ends = np.isin(hoods[:, :, 1], [hint.index["S"], hint.index["E"]])
    once.append(~(ends[:, 0] & ends[:, 1:].any(1)))  # cells, so never side by side
    isolated = np.isin(hoods[:, 0, 1], opened) & ~np.isin(hoods[:, 1:, 1], opened).any(1)
    edge = (start[rule_code[hoods[:, 0, 0]]] != wall) & (hoods[:, 1:, 0] == border).any(1)
    trimmed = (hoods[:, 0, 1] == filled) & (start[rule_code[hoods[:, 0, 0]]] != wall)
    trimmed &= np.isin(hoods[:, 1:, 1], opened).sum(1) >= 2
    return hoods[once[0] & once[1] & once[2] & ~isolated & ~edge & ~trimmed]
