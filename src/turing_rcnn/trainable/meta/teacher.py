"""A column program found from the answers alone, as a teacher (MetaConfig.teacher).

The program is short: a cell of the label column (or the answer cell below it) reads
its north, itself and its south, each as one of the symbols below, and takes the new
state of the first guard that matches (each guard followed by its sign mirror: labels'
signs swapped, states 1<->2, 3<->4); no guard matching keeps the state. The answer is
`readout[state]` of the answer cell. Such programs are found by a SAT solver asked only
for the answers (bench/bench_majority_invent.py); `teacher_trace` runs one on laid-out
problems with the frame's schedule, in the filter's states, so that SGD fits it as it
fits a hand-written hint (hints.py) - but nobody wrote this one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..extract import _whole, load_json, sealed_json
from .layout import INPUTS, layer_states, schedule

# A cell's symbol: 0 beyond the column, 1/2/3 a +1 label / -1 label / the answer cell
# that has not changed, then (state s, label cell) and (state s, answer cell), s >= 1.
UNCHANGED = np.zeros(len(INPUTS), dtype=np.int64)
UNCHANGED[[INPUTS.index("L0"), INPUTS.index("L1"), INPUTS.index("?")]] = 1, 2, 3


def symbols(states: int) -> int:
    return 4 + 2 * (states - 1)


def cell_symbols(state, unchanged, answer):
    """The symbols of cells in `state` (arrays alike): `unchanged` (1, 2, 3: the symbol a
    cell shows while its state is 0), `answer` (1 for the answer cell, else 0)."""
    return np.where(state == 0, unchanged, 4 + 2 * (np.asarray(state) - 1) + answer)


def _flip_state(states: int) -> np.ndarray:
    flip = np.arange(states)
    for a in range(1, states - 1, 2):
        flip[a], flip[a + 1] = a + 1, a
    return flip


def flip_symbols(states: int) -> np.ndarray:
    """Each symbol with the labels' signs swapped (a guard's mirror reads these)."""
    fs = _flip_state(states)
    tail = [4 + 2 * (fs[s] - 1) + t for s in range(1, states) for t in (0, 1)]
    return np.array([0, 2, 1, 3, *tail])


@dataclass
class ColumnProgram:
    """guards: [(north set, centre set, south set, new state)], each followed by its sign
    mirror, first match wins; readout: +-1 per state of the answer cell."""

    states: int
    guards: list[tuple[list[int], list[int], list[int], int]]
    readout: list[int]
    found_by: str = ""

    def step(self, north: np.ndarray, centre: np.ndarray, south: np.ndarray, keep):
        """The new states of cells reading these symbols (arrays alike); `keep`: their
        states now."""
        fs, flip = _flip_state(self.states), flip_symbols(self.states)
        new, done = np.array(keep, copy=True), np.zeros(np.shape(keep), dtype=bool)
        for n, c, s, out in self.guards:
            for view, value in (
                ((north, centre, south), out),
                ((flip[north], flip[centre], flip[south]), fs[out]),
            ):
                hit = ~done & np.isin(view[0], n) & np.isin(view[1], c) & np.isin(view[2], s)
                new[hit], done = value, done | hit
        return new

    def to_json(self) -> dict:
        return {
            "kind": "column program",
            "states": self.states,
            "guards": [[list(n), list(c), list(s), out] for n, c, s, out in self.guards],
            "readout": list(self.readout),
            "found_by": self.found_by,
        }

    @classmethod
    def from_json(cls, blob) -> ColumnProgram:
        if not isinstance(blob, dict) or blob.get("kind") != "column program":
            raise ValueError("no 'kind': 'column program'")
        states = _whole(blob.get("states"), "states", 2, 16)
        top, guards, raw = symbols(states) - 1, [], blob.get("guards")
        if not isinstance(raw, list) or not 1 <= len(raw) <= 64:
            raise ValueError("guards must be a list of 1..64 guards")
        for g in raw:
            if not (
                isinstance(g, list) and len(g) == 4 and all(isinstance(x, list) for x in g[:3])
            ):
                raise ValueError("a guard is [north set, centre set, south set, new state]")
            if any(len(part) > top + 1 for part in g[:3]):
                raise ValueError(f"a guard's set holds at most {top + 1} symbols")
            sets = [[_whole(x, "a guard's symbol", 0, top) for x in part] for part in g[:3]]
            guards.append((*sets, _whole(g[3], "a guard's new state", 0, states - 1)))
        readout = blob.get("readout")
        if not (isinstance(readout, list) and len(readout) == states) or any(
            type(r) is not int or r not in (-1, 1) for r in readout
        ):
            raise ValueError(f"readout must be {states} whole numbers, each 1 or -1")
        return cls(states, guards, readout, str(blob.get("found_by", "")))

    def save(self, path: str) -> None:
        from ... import guard

        guard.write_text(path, sealed_json(self.to_json()))

    @classmethod
    def load(cls, path: str) -> ColumnProgram:
        return load_json(path, cls.from_json, "column program", "not a column program")


def teacher_trace(program: ColumnProgram, codes: np.ndarray, layers: int, frozen=()) -> np.ndarray:
    """The program run on laid-out problems (B, m+1, d+2) with the frame's schedule, as
    filter states (layers + 1, B, H, W): the label column and the answer cell follow it,
    every other cell keeps state 0."""
    B, H, W = codes.shape
    d = W - 2  # one work column
    unchanged, answer = UNCHANGED[codes[:, :, d]], np.arange(H) == H - 1

    def step(state: np.ndarray) -> np.ndarray:
        sym = cell_symbols(state, unchanged, answer)
        padded = np.pad(sym, ((0, 0), (1, 1)))  # symbol 0 beyond the column
        return program.step(padded[:, :-2], sym, padded[:, 2:], state)

    active = schedule(codes, frozen).numpy()[:, :, d]
    out = np.zeros((layers + 1, B, H, W), dtype=np.int64)
    for layer, state in layer_states(step, np.zeros((B, H), dtype=np.int64), active, layers):
        out[layer, :, :, d] = state
    return out
