"""Cellular programs: a finite alphabet and a local rule over 3x3 neighbourhoods.

A cell holds one symbol. Each step every cell looks at its 3x3 neighbourhood (cells
beyond the grid read as the border symbol) and updates by

    new = target of the Guard that fires, if one does, else the centre symbol;
    code(new) += sum of `by` over the Shifts that fire.

Each symbol has a code, the real value a cell holding it has inside the network
(default: its index in the alphabet; codes must increase along the alphabet). Guards
must be pairwise exclusive (no neighbourhood fires two of them). Shifts may overlap
and add up; they express updates that are sums of local contributions, such as a
Turing machine's head arriving from a neighbour. A result that is not a code is an
error. Programs never import torch; compile.py turns them into RCNN weights.

Two fields serve Algorithm 1's memorisation (see frame.py): `keep` lists exclusive
conditions (each fixing the centre symbol) under which a cell keeps its *carrier*, a
value that is exactly 0 but carries a derivative; everywhere else the carrier is
dropped. `slope` lists symbols on which the compiled head has slope 1, so a kept
carrier reaches the output with derivative exactly 1.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

Position = tuple[int, int]  # (row offset, column offset), each in {-1, 0, 1}

# The 3x3 neighbourhood laid out as it looks.
COMPASS: dict[str, Position] = {
    "NW": (-1, -1), "N": (-1, 0), "NE": (-1, 1),
    "W": (0, -1), "C": (0, 0), "E": (0, 1),
    "SW": (1, -1), "S": (1, 0), "SE": (1, 1),
}  # fmt: skip
CENTRE: Position = (0, 0)


def _position(p) -> Position:
    if isinstance(p, str):
        if p not in COMPASS:
            raise ValueError(f"unknown position {p!r}; use one of {sorted(COMPASS)} or (dr, dc)")
        return COMPASS[p]
    dr, dc = p
    if dr not in (-1, 0, 1) or dc not in (-1, 0, 1):
        raise ValueError(f"position {p!r} is outside the 3x3 neighbourhood")
    return int(dr), int(dc)


def _conditions(when: Mapping) -> dict[Position, frozenset[str]]:
    out: dict[Position, frozenset[str]] = {}
    for p, symbols in when.items():
        pos = _position(p)
        if pos in out:
            raise ValueError(f"position {pos} is named twice in one condition")
        out[pos] = frozenset([symbols] if isinstance(symbols, str) else symbols)
        if not out[pos]:
            raise ValueError(f"position {pos} allows no symbol, so the rule never fires")
    return out


@dataclass(frozen=True)
class Guard:
    """Set the cell to `then` when every position in `when` holds one of its symbols."""

    when: Mapping
    then: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "when", _conditions(self.when))


@dataclass(frozen=True)
class Shift:
    """Add `by` to the cell's code when every condition in `when` holds."""

    when: Mapping
    by: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "when", _conditions(self.when))
        if not self.when:
            raise ValueError("a Shift needs at least one condition")


@dataclass
class CellularProgram:
    """An alphabet (in code order), the border symbol, and the rules.

    readout gives each symbol a number; the compiled head sums it over the grid
    (default 0 for symbols not listed). codes, keep, slope: see the module docstring.
    """

    symbols: list[str]
    border: str
    rules: list[Guard | Shift] = field(default_factory=list)
    readout: dict[str, float] = field(default_factory=dict)
    name: str = "cellular program"
    codes: dict[str, float] | None = None
    keep: list[Mapping] = field(default_factory=list)
    slope: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.symbols = list(self.symbols)
        if len(set(self.symbols)) != len(self.symbols):
            raise ValueError("the alphabet names a symbol twice")
        if not self.symbols:
            raise ValueError("the alphabet is empty")
        self.index = {s: i for i, s in enumerate(self.symbols)}
        self.check_symbol(self.border, "border")
        for rule in self.rules:  # (the message, with the rule's repr, only for an error)
            for s in set().union(*rule.when.values()) - self.index.keys():
                self.check_symbol(s, f"condition of {rule}")
            if isinstance(rule, Guard) and rule.then not in self.index:
                self.check_symbol(rule.then, f"target of {rule}")
        for s in list(self.readout) + list(self.slope):
            self.check_symbol(s, "readout")
        codes = self.codes or {}
        for s in codes:
            self.check_symbol(s, "codes")
        self.code = np.array([float(codes.get(s, i)) for i, s in enumerate(self.symbols)])
        if np.any(np.diff(self.code) <= 0):
            raise ValueError("codes must increase strictly along the alphabet")
        self.keep = [_conditions(k) for k in self.keep]
        for k in self.keep:
            if len(k.get(CENTRE, ())) != 1:
                raise ValueError(f"a keep condition must fix the centre symbol, got {k}")
            for symbols in k.values():
                for s in symbols:
                    self.check_symbol(s, "keep condition")
        self._check_exclusive(self.guards, "guards")
        self._check_exclusive([Guard(k, self.border) for k in self.keep], "keep conditions")

    @property
    def guards(self) -> list[Guard]:
        return [r for r in self.rules if isinstance(r, Guard)]

    @property
    def shifts(self) -> list[Shift]:
        return [r for r in self.rules if isinstance(r, Shift)]

    def keeps_border(self) -> bool:
        """No rule can change a cell that holds the border symbol (checked on the rules'
        centre conditions, so a conservative yes): border cells inside a grid then act
        as the padding does, and grids may be laid side by side, border between."""
        for rule in self.rules:
            centre = rule.when.get(CENTRE)
            changes = isinstance(rule, Shift) or rule.then != self.border
            if changes and (centre is None or self.border in centre):
                return False
        return True

    def check_symbol(self, s: str, where: str) -> None:
        if s not in self.index:
            raise ValueError(f"unknown symbol {s!r} in {where}; alphabet is {self.symbols}")

    @staticmethod
    def _check_exclusive(guards: list[Guard], what: str) -> None:
        # A table (one symbol at the same positions in every guard) is exclusive exactly
        # when no two rows are equal: a linear check, for extracted rules of many rows.
        if len({frozenset(g.when) for g in guards}) == 1:
            if all(len(s) == 1 for g in guards for s in g.when.values()):
                rows = [tuple(sorted((p, *s) for p, s in g.when.items())) for g in guards]
                if len(set(rows)) == len(rows):
                    return
        many = len(guards) > PAIRWISE and (
            _cost(_telling(guards)) <= MAX_CHECKED or len(guards) > 4 * PAIRWISE
        )
        pairs = _clash(guards, what) if many else _clash_pairwise(guards)
        if pairs:
            a, b = pairs
            raise ValueError(
                f"overlapping {what}: {_show(a)} and {_show(b)} both fire on some "
                "neighbourhood; make their conditions exclusive"
            )

    # ---- reference simulator -------------------------------------------------------
    def encode(self, rows: Iterable[Iterable[str]]) -> np.ndarray:
        """A grid of symbol names -> a grid of alphabet indices."""
        try:
            return np.array([[self.index[s] for s in row] for row in rows], dtype=np.int64)
        except KeyError as err:
            raise ValueError(
                f"unknown symbol {err.args[0]!r}; alphabet is {self.symbols}"
            ) from None

    def _allowed(self, symbols: frozenset[str]) -> np.ndarray:
        """A condition's symbol set as a mask over alphabet indices (memoised by set)."""
        cache = self.__dict__.setdefault("_masks", {})
        if symbols not in cache:
            cache[symbols] = np.isin(self.symbols, list(symbols))
        return cache[symbols]

    def step(self, grid: np.ndarray) -> np.ndarray:
        """One synchronous update of a grid of alphabet indices (the reference semantics)."""
        grid = np.asarray(grid)
        if grid.ndim != 2:
            raise ValueError(f"a grid must be 2-D, got shape {grid.shape}")
        if grid.size and (grid.min() < 0 or grid.max() >= len(self.symbols)):
            raise ValueError(
                f"grid values must be alphabet indices 0..{len(self.symbols) - 1}, "
                f"got {grid.min()}..{grid.max()}"
            )
        h, w = grid.shape
        padded = np.pad(grid, 1, constant_values=self.index[self.border])

        def holds(when: dict[Position, frozenset[str]]) -> np.ndarray:
            mask = np.ones((h, w), dtype=bool)
            for (dr, dc), symbols in when.items():
                view = padded[1 + dr : 1 + dr + h, 1 + dc : 1 + dc + w]
                mask &= self._allowed(symbols)[view]
            return mask

        new = grid.copy()
        for g in self.guards:
            new[holds(g.when)] = self.index[g.then]
        if not self.shifts:
            return new
        value = self.code[new]
        for s in self.shifts:
            value = value + s.by * holds(s.when)
        out = np.clip(np.searchsorted(self.code, value), 0, len(self.code) - 1)
        if not np.array_equal(self.code[out], value):
            r, c = np.argwhere(self.code[out] != value)[0]
            raise ValueError(f"{self.name}: cell ({r}, {c}) was shifted outside the alphabet")
        return out

    def step_many(self, grids: np.ndarray) -> np.ndarray:
        """One step of each grid of a batch (B, H, W): the grids side by side in one
        wide grid with a border column between them, so each cell sees what `step`
        shows it (a program whose Shifts might fire on the border column, where they
        could leave the alphabet, steps one grid at a time: keeps_border)."""
        grids = np.asarray(grids)
        if self.shifts and not self.keeps_border():
            return np.stack([self.step(g) for g in grids])
        B, H, W = grids.shape
        wide = np.pad(grids, ((0, 0), (0, 0), (0, 1)), constant_values=self.index[self.border])
        new = self.step(wide.transpose(1, 0, 2).reshape(H, B * (W + 1)))
        return new.reshape(H, B, W + 1).transpose(1, 0, 2)[:, :, :W]

    def run(self, grid: np.ndarray, steps: int) -> np.ndarray:
        for _ in range(steps):
            grid = self.step(grid)
        return grid

    def readout_values(self) -> np.ndarray:
        """Each symbol's readout, by alphabet index (0 for symbols without one)."""
        return np.array([self.readout.get(s, 0.0) for s in self.symbols])

    def read(self, grid: np.ndarray) -> float:
        """The readout summed over a grid of indices (what the compiled head computes)."""
        return float(self.readout_values()[np.asarray(grid)].sum())


PAIRWISE = 256  # guards whose exclusivity is checked pair by pair (quadratic), and up to
# 4 x PAIRWISE when their entries are too many to expand
MAX_CHECKED = 4_000_000  # entries the check of more guards may expand (linear in them)


def _telling(guards: list[Guard]) -> list[dict]:
    """Each guard's conditions without the positions at which every guard names the
    same non-empty set (a rule's unread positions): those cannot tell two guards apart."""
    shared = set.intersection(*(set(g.when) for g in guards)) if guards else set()
    same = {p for p in shared if len({g.when[p] for g in guards}) == 1 and guards[0].when[p]}
    return [{p: v for p, v in g.when.items() if p not in same} for g in guards]


def _cost(whens: list[dict]) -> int:
    """What _clash expands at most: (sets of positions named) x (the guards' entries)."""
    entries = sum(math.prod(len(s) for s in when.values()) for when in whens)
    return len({frozenset(when) for when in whens}) * entries


def _clash_pairwise(guards: list[Guard]) -> tuple[Guard, Guard] | None:
    """Two guards that both fire on some neighbourhood, pair by pair; None if none do."""
    for i, a in enumerate(guards):
        for b in guards[i + 1 :]:
            if all(a.when[p] & b.when[p] for p in set(a.when) & set(b.when)):
                return a, b
    return None


def _clash(guards: list[Guard], what: str) -> tuple[Guard, Guard] | None:
    """_clash_pairwise in time linear in the guards' entries: guards are grouped by the
    positions they name (less those every guard names alike, _telling); two guards
    clash exactly when their symbol sets at the positions both name share a
    combination, so each group pair's guards are expanded there into combinations,
    looked up in a dict. A ValueError, before expanding, when (groups x entries) is
    over MAX_CHECKED."""
    whens = _telling(guards)
    groups: dict[frozenset, list[int]] = {}
    for i, when in enumerate(whens):
        groups.setdefault(frozenset(when), []).append(i)
    if _cost(whens) > MAX_CHECKED:
        raise ValueError(
            f"{len(guards):,} {what} naming {len(groups)} sets of positions: their symbol "
            f"sets hold too many entries to check that they are exclusive (at most "
            f"{MAX_CHECKED:,} sets x entries, cellular.MAX_CHECKED)"
        )

    def combos(i: int, shared: list) -> itertools.product:
        return itertools.product(*(sorted(whens[i][p]) for p in shared))

    keys = list(groups)
    for n, a in enumerate(keys):
        for b in keys[n:]:
            shared = sorted(a & b)
            seen: dict = {}
            for i in groups[a]:  # within a group, two guards meeting on a combination clash
                for combo in combos(i, shared):
                    if seen.setdefault(combo, i) != i and b == a:
                        return guards[seen[combo]], guards[i]
            if b == a:
                continue
            for i in groups[b]:  # across groups, a guard meeting any of the other group
                hit = next((seen[c] for c in combos(i, shared) if c in seen), None)
                if hit is not None:
                    return guards[hit], guards[i]
    return None


def _show(rule: Guard | Shift) -> str:
    cond = ", ".join(f"{p}: {sorted(s)}" for p, s in rule.when.items())
    effect = f"-> {rule.then!r}" if isinstance(rule, Guard) else f"shift {rule.by:+d}"
    return f"[{cond} {effect}]"
