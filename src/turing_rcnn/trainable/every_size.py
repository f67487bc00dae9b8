"""The every-size arguments, check (d) of verify.py: why a verified rule is right on
inputs of EVERY size, not only on those tested.

- 1-row rules (prefix parity, addition): every fixed point a run can meet reads the
  task's answer, walked in the finite graph of adjacent symbol triples
  (fixed_points_are_right, one_row_closure);
- flood fill on the cross: four conditions on every cross neighbourhood make every
  fixed point mark exactly the source's component (flood_fixed_points);
- perfect mazes on the cross: the rule steps as dead-end filling, up to a renaming of
  its states, on every neighbourhood a run can meet (maze_dead_end_filling,
  maze_renaming, maze_neighbourhoods).
"""

from __future__ import annotations

import itertools

import numpy as np
import torch

from .extract import Rule, reachable_triples
from .tasks import AlgoTask, PrefixParity, get_algo_task

CROSS = ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1))  # C N S W E: what a cross rule reads


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


def maze_dead_end_filling(rule: Rule, seed: int = 0) -> dict:
    """(d) for perfect-maze rules that read the cross: the rule's runs ARE those of
    Maze.hint (every wall fills at the first layer, then dead-end filling), on a maze of
    any size, up to a renaming of its states (maze_renaming: which state an open and a
    filled cell of each input holds from layer 1 on; a rule trained on the hint's trace
    uses the hint's own, 0 and 1; one that invented the algorithm may use others).
    Checked on every cross neighbourhood the hint's runs can meet, and more:
    at layer 0 every cell holds its start state; from layer 1 on every wall is filled,
    the start and end open, other cells open or filled; and always: one start and one
    end at most, not side by side (both are cells, at odd coordinates, with a wall or a
    passage between any two), only walls touch the border (a maze's outer ring is wall),
    an open cell has an open neighbour (the open cells are a connected set holding the
    start and the end: dead-end filling only trims leaves that are neither), a filled
    cell that is no wall has at most one open neighbour (it had when it filled, and no
    cell opens again). Where the rule's next state stands for the hint's next symbol on
    all of them (a state that stands for none, e.g. the start state after layer 0, is
    wrong), by induction over layers the two runs are the same up to the renaming.
    Dead-end filling leaves exactly the path of a perfect maze: a cell off the path lies
    in a subtree hanging from it, whose leaves (one open neighbour) fill until none is
    left; a path cell keeps its two path neighbours open (the start and end keep one,
    and never fill). Each layer before the fixed point fills a cell, so it comes within
    the budget; and the readout calls every open state path and every filled state not:
    the answer is right on every size."""
    hint, _ = get_algo_task(rule.task).hint()
    renaming = maze_renaming(rule, seed)
    if renaming is None:
        return {
            "renaming": None,
            "reason": "its states are not dead-end filling's symbols renamed one for one",
            "passed": False,
        }
    program, border = rule.program, rule.program.index[rule.program.border]
    hoods = maze_neighbourhoods(rule, renaming)
    _, rule_code = _start_symbols(rule)
    stands = maze_stands(rule, renaming)
    after = _cross_step(program, hoods[:, :, 0], border)
    nxt = _cross_step(hint, hoods[:, :, 1], hint.index["#"])
    wrong = stands[after] != nxt
    wrong |= rule_code[after] != rule_code[hoods[:, 0, 0]]  # a cell keeps its input
    path = program.readout_values() > 0
    said = np.flatnonzero(stands >= 0)
    misread = path[said] != (stands[said] != hint.index["x"])
    return {
        "renaming": {int(c): [o, f] for c, (o, f) in renaming.items()},
        "neighbourhoods": len(hoods),
        "wrong": int(wrong.sum()),
        "readout_wrong": int(misread.sum()),
        "passed": not wrong.any() and not misread.any(),
    }


def maze_renaming(rule: Rule, seed: int = 0) -> dict[int, tuple[int | None, int | None]] | None:
    """Which state stands for an open and for a filled cell of each input code from
    layer 1 on: {code: (open state, filled state)} (None where the hint never puts a
    cell of that code there), read off the rule's runs beside Maze.hint's on 32 random
    perfect mazes of sizes 3 and 5. None when the pairing is not one-to-one (the rule
    is not dead-end filling renamed). Where it came from does not matter to (d): the
    check of maze_dead_end_filling on every neighbourhood is what proves it."""
    task = get_algo_task(rule.task)
    hint, _ = task.hint()
    rng, pairs = np.random.default_rng(seed), set()
    for size in (3, 5):
        x, _ = task.sample(16, size, rng)
        grid, ref = rule.initial(x), task.to_symbols(x)
        for _ in range(task.iterations(size)):
            grid, ref = rule.program.step_many(grid), hint.step_many(ref)
            pairs |= set(zip(grid.ravel().tolist(), ref.ravel().tolist(), strict=True))
    start, _ = _start_symbols(rule)
    found: dict[tuple[int, int], set[int]] = {}  # (code, hint symbol) -> rule states
    for symbol in {g for g, _ in pairs}:
        if len({h for g, h in pairs if g == symbol}) > 1:
            return None  # one state of the rule stands for two of the hint's symbols
    for g, h in pairs:
        state, code = rule.state_code(rule.program.symbols[g])
        found.setdefault((code, h), set()).add(state)
    if any(len(v) > 1 for v in found.values()):
        return None  # two states for one of the hint's symbols
    filled = hint.index["x"]
    return {
        c: (
            next(iter(found.get((c, int(start[c])), {None}))),
            next(iter(found.get((c, filled), {None}))),
        )
        for c in range(len(start))
    }


def maze_stands(rule: Rule, renaming: dict) -> np.ndarray:
    """Under a renaming (maze_renaming), the hint symbol each rule symbol stands for from
    layer 1 on (-1: none, e.g. the start state of a rule that leaves it at layer 1)."""
    hint, _ = get_algo_task(rule.task).hint()
    program, (start, _) = rule.program, _start_symbols(rule)
    stands = np.full(len(program.symbols), -1)
    for c, (open_state, filled_state) in renaming.items():
        for k, h in ((open_state, start[c]), (filled_state, hint.index["x"])):
            if k is not None and rule.symbol(k, c) in program.index:
                stands[program.index[rule.symbol(k, c)]] = h
    return stands


def _start_symbols(rule: Rule) -> tuple[np.ndarray, np.ndarray]:
    """Each input code's start symbol in the task's hint, and each rule symbol's input
    code."""
    x = torch.as_tensor(rule.inputs, dtype=torch.float32)[:, :, None, None]
    start = get_algo_task(rule.task).to_symbols(x)[:, 0, 0]
    return start, np.array([rule.state_code(n)[1] for n in rule.program.symbols])


def maze_neighbourhoods(rule: Rule, renaming: dict | None = None) -> np.ndarray:
    """The cross neighbourhoods (C, N, S, W, E) maze_dead_end_filling checks, each
    position as (the rule's symbol, the hint's symbol): (n, 5, 2). `renaming`: the
    states of open and filled cells from layer 1 on (maze_renaming; default the hint's
    own: 0 and 1)."""
    task = get_algo_task(rule.task)
    hint, _ = task.hint()
    program, border = rule.program, rule.program.index[rule.program.border]
    start, rule_code = _start_symbols(rule)
    wall, filled = hint.index["#"], hint.index["x"]
    renaming = renaming or {c: (0, 1) for c in range(len(start))}

    def cell(k: int | None, c: int, h: int) -> tuple[int, int] | None:
        name = rule.symbol(k, c) if k is not None else None  # (rule symbol, hint symbol)
        return (program.index[name], h) if name in program.index else None

    opened = [hint.index[s] for s in (".", "S", "E")]
    first = [cell(0, c, start[c]) for c in range(len(start))]
    later = [cell(renaming[c][0], c, start[c]) for c in range(len(start)) if start[c] != wall]
    later += [
        cell(renaming[c][1], c, filled) for c in range(len(start)) if start[c] in (wall, opened[0])
    ]
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
