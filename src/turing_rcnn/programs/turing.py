"""Turing machines in the bbchallenge text format, a reference simulator, and the
conversion to a cellular program that the compiler turns into an RCNN filter.

Format: one row per state (A, B, C, ...), rows joined by '_'; each row holds one
triple per read symbol: the symbol written (a digit), the move (L, R, and for 2-D
machines U, D) and the next state (a letter; 'Z' halts, and so does 'H' in machines
of fewer than 8 states). '---' leaves a transition undefined: reaching it halts the
machine without a step. Example: the 2-state busy beaver '1RB1LB_1LA1RZ'.

The tape is unbounded and blank (symbol 0) except where given; the head starts at
(0, 0) in state A. A 1-D machine's tape is row 0. A halting transition counts as a step.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field

import numpy as np

from .cellular import CellularProgram, Guard, Shift

MOVES = {"L": (0, -1), "R": (0, 1), "U": (-1, 0), "D": (1, 0)}
HALT = "Z"
_TRIPLE = re.compile(r"^(?:---|[0-9][LRUD][A-Z])$")


@dataclass(frozen=True)
class Transition:
    write: int
    move: str
    next: str  # a state name or HALT


@dataclass
class TMResult:
    """Where a run ended: steps executed, whether it halted, state, head and tape."""

    steps: int
    halted: bool
    state: str
    head: tuple[int, int]
    tape: dict[tuple[int, int], int]
    visited: tuple[int, int, int, int]  # min row, max row, min col, max col touched

    def window(self, box: tuple[int, int, int, int] | None = None) -> np.ndarray:
        """The tape inside a box (default: the visited box) as a 2-D array of symbols."""
        r0, r1, c0, c1 = box or self.visited
        grid = np.zeros((r1 - r0 + 1, c1 - c0 + 1), dtype=np.int64)
        for (r, c), s in self.tape.items():
            if r0 <= r <= r1 and c0 <= c <= c1:
                grid[r - r0, c - c0] = s
        return grid

    @property
    def ones(self) -> int:
        return sum(1 for s in self.tape.values() if s == 1)


@dataclass
class TuringMachine:
    """A machine with states A, B, ... over symbols 0..n_symbols-1."""

    table: list[list[Transition | None]]  # table[state][read symbol]
    states: list[str] = field(init=False)

    def __post_init__(self) -> None:
        if not self.table or not self.table[0]:
            raise ValueError("a Turing machine needs at least one state and one symbol")
        if len(self.table) > 25:
            raise ValueError("at most 25 states (A..Y) are supported")
        self.states = list(string.ascii_uppercase[: len(self.table)])
        q = len(self.table[0])
        for name, row in zip(self.states, self.table, strict=True):
            if len(row) != q:
                raise ValueError(f"state {name} has {len(row)} transitions, state A has {q}")
            for t in row:
                if t is None:
                    continue
                if not 0 <= t.write < q:
                    raise ValueError(f"state {name} writes symbol {t.write}, not in 0..{q - 1}")
                if t.move not in MOVES:
                    raise ValueError(f"state {name}: unknown move {t.move!r}")
                if t.next != HALT and t.next not in self.states:
                    raise ValueError(f"state {name}: next state {t.next!r} does not exist")

    @property
    def n_states(self) -> int:
        return len(self.table)

    @property
    def n_symbols(self) -> int:
        return len(self.table[0])

    @property
    def is_2d(self) -> bool:
        return any(t is not None and t.move in "UD" for row in self.table for t in row)

    # ---- text format ------------------------------------------------------------------
    @classmethod
    def parse(cls, text: str) -> TuringMachine:
        """Parse the bbchallenge format, e.g. '1RB1LB_1LA1RZ'."""
        text = text.strip()
        rows = text.split("_")
        if not text or any(len(r) == 0 or len(r) % 3 for r in rows):
            raise ValueError(
                f"malformed machine {text!r}: expected rows of 3-character triples joined by '_'"
            )
        n = len(rows)
        table = []
        for i, row in enumerate(rows):
            trans: list[Transition | None] = []
            for j in range(0, len(row), 3):
                triple = row[j : j + 3]
                if not _TRIPLE.match(triple):
                    raise ValueError(
                        f"malformed transition {triple!r} (state {chr(65 + i)}, read {j // 3}): "
                        "expected write digit, move L/R/U/D, next state letter, or '---'"
                    )
                if triple == "---":
                    trans.append(None)
                    continue
                nxt = triple[2]
                if nxt == "H" and n < 8:
                    nxt = HALT
                trans.append(Transition(int(triple[0]), triple[1], nxt))
            table.append(trans)
        return cls(table)

    def __str__(self) -> str:
        return "_".join(
            "".join("---" if t is None else f"{t.write}{t.move}{t.next}" for t in row)
            for row in self.table
        )

    # ---- reference simulator -------------------------------------------------------------
    def run(
        self,
        tape: str | dict | None = None,
        steps: int | None = None,
        max_steps: int = 10_000,
        progress: bool = False,
    ) -> TMResult:
        """Run `steps` steps, or until halting (at most max_steps) when steps is None.
        progress: a bar for runs of over 10^5 steps (a second or more).

        A 1-D machine (its tape in row 0) runs on a growing bytearray with the
        transitions as a flat table: a few bytecodes a step, about 10^7 steps a second
        in CPython (the 5-state busy beaver's 47 M steps in about 4 s; a compiled C
        simulator does about 1.7 x 10^8). Others run on a dict of cells."""
        cells = self._initial_tape(tape)
        limit = max_steps if steps is None else steps
        bar = None
        if progress and limit > 10**5:
            from ..progress import bar as progress_bar

            bar = progress_bar("reference", limit, unit="step", unit_scale=True)
        try:
            if not self.is_2d and all(r == 0 for r, _ in cells):
                return self._run_tape(cells, limit, bar)
            return self._run_cells(cells, limit, bar)
        finally:
            if bar is not None:
                bar.close()

    def _run_tape(self, cells: dict, limit: int, bar) -> TMResult:
        """The 1-D run. Tape byte = symbol + 128 once the head has left the cell (the
        visited range is read off the marks at the end, not tracked per step); the
        table is indexed by 256 * state + byte."""
        halting, undefined = -1, -2
        table: list[tuple[int, int, int]] = [(0, 0, undefined)] * (256 * self.n_states)
        for i, row in enumerate(self.table):
            for a, t in enumerate(row):
                if t is None:
                    continue
                nxt = halting if t.next == HALT else 256 * self.states.index(t.next)
                entry = (t.write | 128, MOVES[t.move][1], nxt)
                table[256 * i + a] = table[256 * i + a + 128] = entry
        cols = [0] + [c for _, c in cells]
        first, last = min(cols), max(cols)
        chunk = 1 << 16
        size = 4 * chunk + (last - first + 1)
        buf = bytearray(size)
        off = 2 * chunk - first  # tape column c lives at buf[c + off]
        for (_, c), s in cells.items():
            buf[c + off] = s
        pos, st, done, halted, stopped = off, 0, 0, False, None
        while done < limit and not halted:
            n = min(chunk, limit - done)
            if pos < n or pos + n >= len(buf):  # room for n moves either way
                grow = len(buf) + 2 * n
                buf = bytearray(grow) + buf + bytearray(grow)
                pos, off = pos + grow, off + grow
            ran = n
            for i in range(n):  # the hot loop
                w, d, nxt = table[st + buf[pos]]
                if nxt < 0:
                    ran = i
                    break
                buf[pos] = w
                pos += d
                st = nxt
            done += ran
            if ran < n:  # stopped at a halting or undefined transition
                w, d, nxt = table[st + buf[pos]]
                halted, stopped = True, nxt
                if nxt == halting:  # a halting transition is a step
                    buf[pos] = w
                    pos += d
                    done += 1
            if bar is not None:
                bar.update(done - bar.n)
        state = HALT if stopped == halting else self.states[st // 256]
        raw = np.frombuffer(bytes(buf), dtype=np.uint8)
        left = np.flatnonzero(raw & 128)  # every cell the head left
        tape = raw & 127
        nonzero = np.flatnonzero(tape)
        span = [pos, off + first, off + last] + ([int(left[0]), int(left[-1])] if len(left) else [])
        box = (0, 0, min(span) - off, max(span) - off)
        out = {(0, int(c) - off): int(tape[c]) for c in nonzero}
        return TMResult(done, halted, state, (0, pos - off), out, box)

    def _run_cells(self, cells: dict, limit: int, bar) -> TMResult:
        """The general run: a dict of cells, any moves (2-D machines)."""
        names = {name: i for i, name in enumerate(self.states)}
        table = [
            [None if t is None else (t.write, MOVES[t.move], names.get(t.next, -1)) for t in row]
            for row in self.table
        ]
        st, head, done, halted = 0, (0, 0), 0, False
        rows = [0] + [r for r, _ in cells]
        cols = [0] + [c for _, c in cells]
        r0, r1, c0, c1 = min(rows), max(rows), min(cols), max(cols)
        while not halted and done < limit:
            if bar is not None and done % 10**5 == 0 and done:
                bar.update(done - bar.n)
            t = table[st][cells.get(head, 0)]
            if t is None:
                halted = True
                break
            write, (dr, dc), nxt = t
            cells[head] = write
            head = (head[0] + dr, head[1] + dc)
            done += 1
            r0, r1 = min(r0, head[0]), max(r1, head[0])
            c0, c1 = min(c0, head[1]), max(c1, head[1])
            halted = nxt < 0
            st = nxt
        if bar is not None:
            bar.update(done - bar.n)  # the steps since the last update
        state = HALT if st < 0 else self.states[st]
        cells = {k: v for k, v in cells.items() if v}
        return TMResult(done, halted, state, head, cells, (r0, r1, c0, c1))

    def _initial_tape(self, tape) -> dict[tuple[int, int], int]:
        if tape is None:
            return {}
        if isinstance(tape, str):
            tape = {(0, i): ch for i, ch in enumerate(tape)}
        cells = {}
        for pos, s in tape.items():
            digit = isinstance(s, str) and len(s) == 1 and s in "0123456789"  # ASCII only
            if not (isinstance(s, (int, np.integer)) or digit):
                raise ValueError(f"tape symbol {s!r} at {pos} is not a digit")
            if not 0 <= int(s) < self.n_symbols:
                raise ValueError(f"tape symbol {s!r} at {pos} is not in 0..{self.n_symbols - 1}")
            if int(s):
                cells[tuple(pos)] = int(s)
        return cells

    # ---- as a cellular program -------------------------------------------------------------
    def head_codes(self) -> list[str]:
        """The head slots in alphabet order: none, states A.., then HALT."""
        return [""] + self.states + [HALT]

    def symbol(self, tape_symbol: int, head: str = "", names: list[str] | None = None) -> str:
        """Alphabet name of a cell: the tape symbol (or its name), plus the state if the
        head is there."""
        return f"{names[tape_symbol] if names else tape_symbol}{head}"

    def to_cellular(self, names: list[str] | None = None) -> CellularProgram:
        """A cellular program doing one machine step per update.

        Alphabet index of a cell = symbol + n_symbols * slot (slot 0: no head, 1..s:
        the head in state A.., s+1: halted). The head cell writes its symbol and
        drops the head (a Guard on the centre); the cell the head moves to adds the
        new state's slot (a Shift that looks at the neighbour the head leaves from).
        With one head on the tape the shifts never collide. Halted and undefined
        configurations have no rule, so they are fixed points. The readout counts
        cells whose tape symbol is 1. `names` renames the tape symbols (default digits).
        """
        q = self.n_symbols
        if names is not None and len(names) != q:
            raise ValueError(f"{len(names)} names for {q} tape symbols")

        def sym(a: int, head: str = "") -> str:
            return self.symbol(a, head, names)

        slots = self.head_codes()
        symbols = [sym(a, h) for h in slots for a in range(q)]
        rules: list[Guard | Shift] = []
        arriving: dict[tuple[str, str], set[str]] = {}
        for st, row in zip(self.states, self.table, strict=True):
            for a, t in enumerate(row):
                if t is None:
                    continue
                rules.append(Guard({"C": sym(a, st)}, then=sym(t.write)))
                arriving.setdefault((t.move, t.next), set()).add(sym(a, st))
        for (move, nxt), heads in sorted(arriving.items()):
            dr, dc = MOVES[move]
            rules.append(Shift({(-dr, -dc): heads}, by=q * slots.index(nxt)))
        readout = {sym(1, h): 1.0 for h in slots} if q > 1 else {}
        return CellularProgram(
            symbols, border=sym(0), rules=rules, readout=readout, name=f"TM {self}"
        )

    def encode(self, result_or_tape: TMResult, box: tuple[int, int, int, int]) -> np.ndarray:
        """The alphabet-index grid of a configuration, inside a box of tape positions."""
        grid = result_or_tape.window(box)
        r0, _, c0, _ = box
        hr, hc = result_or_tape.head
        if not (0 <= hr - r0 < grid.shape[0] and 0 <= hc - c0 < grid.shape[1]):
            raise ValueError(f"the head at {result_or_tape.head} is outside the box {box}")
        grid[hr - r0, hc - c0] += self.n_symbols * self.head_codes().index(result_or_tape.state)
        return grid

    def decode(self, grid: np.ndarray, box: tuple[int, int, int, int]) -> TMResult:
        """Read a configuration back from an alphabet-index grid (exactly one head)."""
        q = self.n_symbols
        slot, tape = np.divmod(np.asarray(grid), q)
        heads = np.argwhere(slot > 0)
        if len(heads) != 1:
            raise ValueError(f"expected exactly one head on the grid, found {len(heads)}")
        r, c = heads[0]
        state = self.head_codes()[slot[r, c]]
        cells = {(int(i) + box[0], int(j) + box[2]): int(tape[i, j]) for i, j in np.argwhere(tape)}
        return TMResult(-1, state == HALT, state, (int(r) + box[0], int(c) + box[2]), cells, box)
