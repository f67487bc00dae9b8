"""A rule as a lookup table keyed by exact bytes (a fast simulator of its CellularProgram),
and a learned learner run as one on the frame's schedule: the answers that verification
checks against the family's reference."""

from __future__ import annotations

import itertools

import numpy as np

from ...programs.cellular import CellularProgram
from ..extract import free_positions
from .layout import INPUTS, active_layers, layer_states, layout_codes
from .rule import MetaRule


class Table:
    """A rule whose guards all name the same positions, as a lookup table over symbol
    indices (each guard's symbol sets expanded into their product: its entries; a
    position where every guard names every symbol is no part of the key): a fast
    simulator of exactly its CellularProgram.step (a test holds them equal). A
    neighbourhood in two entries with different targets would be two guards firing at
    once, which CellularProgram already refuses."""

    def __init__(self, program: CellularProgram):
        positions = {frozenset(g.when) for g in program.guards}
        if len(positions) > 1:
            raise ValueError("not a table: guards name different positions")
        named = positions.pop() if positions else frozenset()
        kept = named - free_positions(program)  # every guard names every symbol: not a key
        self.positions = sorted(kept or list(named)[:1])  # one kept if all are free
        self.border = program.index[program.border]
        rows, targets = [], []
        for g in program.guards:
            sets = [sorted(program.index[s] for s in g.when[p]) for p in self.positions]
            combos = list(itertools.product(*sets))
            rows += combos
            targets += [program.index[g.then]] * len(combos)
        rows = np.array(rows, dtype=np.int64).reshape(-1, max(1, len(self.positions)))
        keys = self._key(rows)
        order = np.argsort(keys)
        self.keys, self.targets = keys[order], np.array(targets, dtype=np.int64)[order]
        self.rows = rows[order]  # each entry's symbol indices at `positions`

    def _key(self, rows: np.ndarray) -> np.ndarray:
        """Rows (n, positions) of symbol indices -> (n,) exact byte keys that sort (any
        alphabet: a learned learner has hundreds of symbols, 9 positions overflow an
        int64)."""
        rows = np.ascontiguousarray(rows, dtype=">i4")
        return rows.view(np.dtype((np.void, 4 * rows.shape[1]))).reshape(-1)

    def step(self, grid: np.ndarray) -> np.ndarray:
        """One synchronous step of (B, H, W) grids of symbol indices."""
        if not self.positions:
            return grid.copy()
        H, W = grid.shape[1:]
        padded = np.pad(grid, ((0, 0), (1, 1), (1, 1)), constant_values=self.border)
        views = [padded[:, 1 + r : 1 + r + H, 1 + c : 1 + c + W] for r, c in self.positions]
        key = self._key(np.stack(views, -1).reshape(-1, len(views)))
        at = np.clip(np.searchsorted(self.keys, key), 0, len(self.keys) - 1)
        hit = self.keys[at] == key
        return np.where(hit, self.targets[at], grid.reshape(-1)).reshape(grid.shape)


def run_meta_rule(meta: MetaRule, X, y, x, layers: list[int], table: Table | None = None):
    """The learned learner's answers (len(layers), B) +-1 on problems of one size, its
    rule run as a `table` with the frame's schedule (a cell fires once the frame has
    decoded its neighbourhood)."""
    rule, (m, d) = meta.rule, X.shape[1:]
    table = table or Table(rule.program)
    start = np.array([rule.program.index[rule.symbol(0, c)] for c in range(len(INPUTS))])
    sign = np.array([1 if rule.program.readout.get(s, 0) > 0 else -1 for s in rule.program.symbols])
    grids = layer_states(table.step, start[layout_codes(X, y, x)], active_layers(m, d), max(layers))
    return np.array([sign[g[:, m, d]] for layer, g in grids if layer in layers], dtype=np.int8)
