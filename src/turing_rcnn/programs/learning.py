"""Learning algorithms written as programs on the DECODED layout, with plain references.

The learner contract (frame.py builds the rest of Theorem 1 around it):

* Layout, rows 0..m-1 = the training examples in order, row m = the test example x:
      row a < m:  'D0'/'D1' (bit of x_a[b]) at columns b < d, 'L0'/'L1' (bit of y_a) at column d
      row m:      'T0'/'T1' (bit of x[b])  at columns b < d, '?' (the answer cell) at column d
      columns d+1 .. d+l: '_' (work space); beyond the grid: the border '#'.
  Bit 1 <-> value -1, as everywhere in this package.
* Cells settle into this layout in a wave from the bottom-right corner: the cell at
  Manhattan distance t from the answer cell settles one layer after distance t-1.
  The top-left cell settles last, as `start[bit]` (a Turing machine's head appears
  there in state A), so a learner that starts from the top-left sees the whole layout.
* The learner writes '+' (label +1) or '-' (label -1) into the answer cell within
  `time(m, d)` steps after the start and never changes it again. The head reads
  `answers` (symbol -> +-1) and 0 everywhere else.

A Turing machine learner must never move off the grid. Nothing here imports torch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from ..checks import check_dataset, check_pm1_matrix
from .cellular import CellularProgram, Guard, Shift
from .turing import HALT, Transition, TuringMachine

LAYOUT = ["_", "D0", "D1", "L0", "L1", "T0", "T1", "?", "+", "-"]


@dataclass
class LearnerProgram:
    """A learning algorithm as a program on the decoded layout (see the module docstring)."""

    name: str
    program: CellularProgram
    start: dict[int, str]
    answers: dict[str, int]
    time: Callable[[int, int], int]
    reference: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
    description: str = ""
    work_columns: int = 1
    machine: TuringMachine | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        missing = [s for s in LAYOUT if s not in self.program.index]
        if missing:
            raise ValueError(f"learner {self.name!r} lacks layout symbols {missing}")
        for s in list(self.start.values()) + list(self.answers):
            self.program.check_symbol(s, f"learner {self.name!r}")


def turing_learner(name: str, machine: TuringMachine, extra: list[str], **kw) -> LearnerProgram:
    """Wrap a machine over the tape symbols LAYOUT + extra (blank '_')."""
    names = LAYOUT + extra
    program = machine.to_cellular(names)
    program.readout = {}
    slots = machine.head_codes()
    answers = {
        machine.symbol(names.index(s), h, names): v for s, v in (("+", 1), ("-", -1)) for h in slots
    }
    start = {b: machine.symbol(names.index(f"D{b}"), "A", names) for b in (0, 1)}
    return LearnerProgram(name, program, start, answers, machine=machine, **kw)


def _machine(rows: list[dict[str, tuple[str, str, str]]], names: list[str]) -> TuringMachine:
    """A machine from {read: (write, move, next)} rows over named tape symbols."""
    table = []
    for row in rows:
        trans: list[Transition | None] = [None] * len(names)
        for read, (write, move, nxt) in row.items():
            trans[names.index(read)] = Transition(names.index(write), move, nxt)
        table.append(trans)
    return TuringMachine(table)


# ---- references (plain Python: A(S)(x) for each test x) ------------------------------
def first_label_reference(X, y, X_test) -> np.ndarray:
    return np.full(len(X_test), y[0], dtype=np.int8)


def last_label_reference(X, y, X_test) -> np.ndarray:
    return np.full(len(X_test), y[-1], dtype=np.int8)


def majority_reference(X, y, X_test) -> np.ndarray:
    return np.full(len(X_test), 1 if np.sum(y == -1) <= np.sum(y == 1) else -1, dtype=np.int8)


# ---- the shipped learners ----------------------------------------------------------------
def first_label() -> LearnerProgram:
    """Turing machine: walk right along row 0 to its label, carry it down to '?'."""
    n = LAYOUT
    walk = {"D0": ("D0", "R", "A"), "D1": ("D1", "R", "A")}
    rows = [
        walk | {"L0": ("L0", "D", "B"), "L1": ("L1", "D", "C")},  # A: find the first label
        {"L0": ("L0", "D", "B"), "L1": ("L1", "D", "B"), "?": ("+", "L", HALT)},  # B: carry +1
        {"L0": ("L0", "D", "C"), "L1": ("L1", "D", "C"), "?": ("-", "L", HALT)},  # C: carry -1
    ]
    return turing_learner(
        "first-label",
        _machine(rows, n),
        [],
        time=lambda m, d: d + m + 1,
        reference=first_label_reference,
        description="label of the first training example (a 3-state Turing machine)",
    )


def majority() -> LearnerProgram:
    """Turing machine: cancel labels in +1/-1 pairs; what is left wins (ties -> +1).

    A crosses the top label (QX) and carries it down; G1/G0 look below for an opposite
    label to cross (finding none at '?' answers the carried label); UP climbs back to
    QX; F finds the next uncrossed label (none left at '?' is a tie: +1).
    """
    n = LAYOUT + ["X", "QX"]
    walk = {"D0": ("D0", "R", "A"), "D1": ("D1", "R", "A")}
    down = {s: (s, "D", "B") for s in ("L0", "X")}
    down0 = {s: (s, "D", "C") for s in ("L1", "X")}
    rows = [
        walk | {"L0": ("QX", "D", "B"), "L1": ("QX", "D", "C")},  # A
        down | {"L1": ("X", "U", "D"), "?": ("+", "L", HALT)},  # B = G1: carry +1, seek L1
        down0 | {"L0": ("X", "U", "D"), "?": ("-", "L", HALT)},  # C = G0: carry -1, seek L0
        {s: (s, "U", "D") for s in ("L0", "L1", "X")} | {"QX": ("QX", "D", "E")},  # D = UP
        {
            "X": ("X", "D", "E"),
            "L0": ("X", "D", "B"),
            "L1": ("X", "D", "C"),
            "?": ("+", "L", HALT),
        },  # E = F: next uncrossed label
    ]
    return turing_learner(
        "majority",
        _machine(rows, n),
        ["X", "QX"],
        time=lambda m, d: d + 3 * (m + 1) * (m // 2 + 2),
        reference=majority_reference,
        description="majority label, ties -> +1 (a 5-state Turing machine)",
    )


def majority_wave() -> LearnerProgram:
    """Cellular rule, O(m) layers (the Turing machine above takes O(m^2)): the -1 labels
    step into the work column ('Wm'), both columns fall towards the test row like
    traffic (a token moves into an empty cell below it), and a row holding a +1 token
    ('L0', or 'Lp' once it has fallen) beside a 'Wm' empties both. Tokens vanish only
    in +1/-1 pairs, so at the fixed point only the majority's tokens are left, packed
    at the bottom: the answer cell reads '-' when the work cell above-right of it holds
    'Wm', else '+' (ties leave nothing: +1). Used as the hint for meta-training
    (trainable/meta/); 10 guards, settles within 2 m + 6 layers of the first decoded
    cell on every input tested.
    """
    plus, not_plus, label = ["L0", "Lp"], ["L1", "o"], ["L0", "Lp", "o"]
    rules = [
        Guard({"C": "L1"}, "o"),  # a -1 label leaves its column ...
        Guard({"C": "_", "W": "L1"}, "Wm"),  # ... for the work cell beside it
        Guard({"C": plus, "E": "Wm"}, "o"),  # a +1 and a -1 in one row cancel
        Guard({"C": "Wm", "W": plus}, "_"),
        Guard({"C": plus, "S": "o", "E": "_"}, "o"),  # +1 tokens fall ...
        Guard({"C": "o", "N": plus, "NE": "_"}, "Lp"),
        Guard({"C": "Wm", "S": "_", "W": not_plus, "SW": label}, "_"),  # ... and -1 tokens
        Guard({"C": "_", "N": "Wm", "NW": not_plus, "W": label}, "Wm"),  # (not into row m)
        Guard({"C": ["?", "+"], "NE": "Wm"}, "-"),
        Guard({"C": ["?", "-"], "NE": "_"}, "+"),
    ]
    program = CellularProgram(LAYOUT + ["o", "Lp", "Wm", "#"], "#", rules, name="majority wave")
    return LearnerProgram(
        "majority-wave",
        program,
        {0: "D0", 1: "D1"},
        {"+": 1, "-": -1},
        time=lambda m, d: 3 * m + 4,
        reference=majority_reference,
        description="majority label, ties -> +1 (a 10-guard cellular program, O(m) layers)",
    )


def last_label() -> LearnerProgram:
    """Cellular rule: the answer cell copies the label just above it."""
    program = CellularProgram(
        LAYOUT,
        "_",
        [Guard({"C": "?", "N": "L0"}, then="+"), Guard({"C": "?", "N": "L1"}, then="-")],
        name="last-label",
    )
    return LearnerProgram(
        "last-label",
        program,
        {0: "D0", 1: "D1"},
        {"+": 1, "-": -1},
        time=lambda m, d: 2,
        reference=last_label_reference,
        description="label of the last training example (a 2-rule cellular program)",
    )


def gauss_reference(X_train, y_train, X_test) -> np.ndarray:
    """Plain unpacked incremental GF(2) elimination, literally as ../shared/design.md says.

    Each training example (bits + label bit), in order, is reduced by the current
    pivot rows, sweeping pivot columns left to right; a non-zero remainder becomes a
    pivot row at its first 1 bit, a zero remainder is ignored (inconsistent or not).
    A test x is reduced the same way; its label bit is the XOR of the labels of the
    pivot rows used (free variables 0). Slow on purpose: it is the semantics the
    network and the bit-packed baselines.GaussianElimination are held to.
    """
    X, y = check_dataset(X_train, y_train)
    T = check_pm1_matrix(X_test, "X_test", d=X.shape[1])
    d = X.shape[1]
    rows = np.zeros((d, d), dtype=bool)
    labels = np.zeros(d, dtype=bool)
    has = np.zeros(d, dtype=bool)

    def reduce(bits: np.ndarray, label: bool) -> tuple[np.ndarray, bool]:
        r = bits.copy()
        for c in np.flatnonzero(has):
            if r[c]:
                r ^= rows[c]
                label ^= labels[c]
        return r, label

    for bits, label in zip(X == -1, y == -1, strict=True):
        r, lab = reduce(bits, bool(label))
        if r.any():
            c = int(np.argmax(r))
            rows[c], labels[c], has[c] = r, lab, True
    out = [reduce(bits, False)[1] for bits in T == -1]
    return np.where(out, -1, 1).astype(np.int8)


# Gaussian elimination as a systolic cellular program. Cell (a, j) handles "slot" c
# (the pivot of column c) at step a + j + c after the start. Each cell holds its bit
# b and two registers that move on every step: sigma, the slot's pivot bit travelling
# DOWN column j ('n': no pivot for this column yet), and delta, row a's decision for
# the slot travelling RIGHT along row a ('e' none, 'N' no-op, 'X' xor, 'S' store),
# tagged with its age (0: made here this step, 1: one step old, '': older).
# At its diagonal step (slot c = j, i.e. step a + 2j) a training cell decides: bit 1
# and no pivot -> STORE (the row becomes the pivot of column j: every cell it passes
# writes its bit into sigma and clears it, so the row is absorbed); bit 1 and a pivot
# -> XOR; else no-op. A test cell never stores (free variables are 0). The diagonal
# step is announced by a decision of age 1 in the cell itself (the left neighbour's
# diagonal was one step ago) or, in column 0, by the upper neighbour's age-0 decision;
# the top-left cell starts as if announced. The label column is column d; the answer
# cell finishes when its age-1 mark arrives (step m + 2d) and writes '+' or '-'.
# Any pivot representation in echelon form gives the same remainders and
# predictions, so this equals the reference semantics (gauss_reference).
_DELTAS = ["e", "N1", "N0", "X0", "X1", "X", "S0", "S1", "S"]  # order: classes are runs


class Cell(NamedTuple):
    """A state of the systolic eliminator. kind: 'D' data bit, 'L' label, 'T' test
    bit, 'Q' answer cell; bit; sigma: the pivot bit passing down ('n', '0', '1');
    delta: the decision passing right (one of _DELTAS; 'H' marks the answer cell)."""

    kind: str
    bit: int
    sigma: str = "n"
    delta: str = "e"

    @property
    def name(self) -> str:
        if self.kind == "Q":
            return {(0, "e"): "?", (1, "e"): "Q1"}.get(
                (self.bit, self.delta), f"Q{self.bit}|{self.delta}"
            )
        tail = ("" if self.sigma == "n" else self.sigma) + ("" if self.delta == "e" else self.delta)
        return f"{self.kind}{self.bit}" + (f"|{tail}" if tail else "")

    @property
    def announced(self) -> bool:
        """An age-1 decision (or the answer cell's mark): this cell's diagonal step."""
        return self.delta in ("N1", "X1", "S1", "H")


class Decision(NamedTuple):
    """What arrives from the left neighbour: act 'e' (none), 'N', 'X', 'S'; age 0 or 1
    (None: older or none)."""

    act: str
    age: int | None


def _gauss_states() -> dict[str, Cell]:
    """Training-row states in three equal blocks by sigma (so passing sigma down is a
    constant shift of the code), then the test row and the answer cell."""
    cells = []
    for sigma in ("n", "0", "1"):
        cells += [Cell("D", b, sigma, delta) for delta in _DELTAS for b in (0, 1)]
        cells += [Cell("L", b, sigma) for b in (0, 1)]
    cells += [Cell("T", b, "n", delta) for delta in _DELTAS for b in (0, 1) if delta[0] != "S"]
    cells += [Cell("Q", b, "n", delta) for b in (0, 1) for delta in ("e", "H")]
    return {cell.name: cell for cell in cells}


def _gauss_next(cell: Cell, col0_go: bool, sigma_in: str, dec: Decision) -> str:
    """The name of a cell's next state (see the comment above)."""
    kind, b = cell.kind, cell.bit
    x = sigma_in == "1"
    aged = {0: "1", 1: "", None: ""}[dec.age]
    if kind == "Q":
        if cell.announced:
            return "+" if b == 0 else "-"
        mark = "H" if dec.age == 0 else "e"
        return Cell("Q", b ^ x if dec.act == "X" else b, "n", mark).name
    if kind == "L":
        if dec.act == "X":
            return Cell("L", b ^ x, sigma_in).name
        if dec.act == "S":
            return Cell("L", 0, str(b)).name
        return Cell("L", b, sigma_in).name
    go = cell.announced or col0_go
    if kind == "T":
        if go:
            return Cell("T", 0, "n", "X0").name if b and x else Cell("T", b, "n", "N0").name
        if dec.act == "X":
            return Cell("T", b ^ x, "n", "X" + aged).name
        return Cell("T", b, "n", ("N" + aged) if dec.act == "N" and dec.age == 0 else "e").name
    if go:
        if b and sigma_in == "n":
            return Cell("D", 0, "1", "S0").name
        if b and x:
            return Cell("D", 0, "1", "X0").name
        return Cell("D", b, sigma_in, "N0").name
    if dec.act == "X":
        return Cell("D", b ^ x, sigma_in, "X" + aged).name
    if dec.act == "S":
        return Cell("D", 0, str(b), "S" + aged).name
    return Cell("D", b, sigma_in, "N1" if dec.act == "N" and dec.age == 0 else "e").name


def _decisions(states: dict[str, Cell], symbols: list[str]) -> dict[Decision, list[str]]:
    """The west-neighbour symbols that carry each decision into a cell."""

    def where(kinds: str, deltas: tuple[str, ...]) -> list[str]:
        return [s for s, c in states.items() if c.kind in kinds and c.delta in deltas]

    decisions = {
        Decision("X", 0): where("DT", ("X0",)),
        Decision("X", 1): where("DT", ("X1", "X")),
        Decision("S", 0): where("D", ("S0",)),
        Decision("S", 1): where("D", ("S1", "S")),
        Decision("N", 0): where("DT", ("N0",)),
    }
    carried = {s for v in decisions.values() for s in v}
    decisions[Decision("e", None)] = [s for s in symbols if s not in carried and s != "#"]
    return decisions


def _gauss_guards(
    states: dict[str, Cell],
    symbols: list[str],
    offset: dict[str, int],
    sigma_of: dict[str, list[str]],
) -> list:
    """One Guard per (north set, west set, target) group of centre symbols. Training
    cells pass sigma down by the two Shifts, so their guard targets are written as if
    sigma arrived as 'n' (the shift then adds the block offset). sigma_of: the north
    symbols that carry each sigma."""
    hop0 = {s for s, c in states.items() if c.kind == "D" and c.delta in ("N0", "X0", "S0")}
    index = {s: i for i, s in enumerate(symbols)}
    decisions = _decisions(states, symbols)
    groups: dict[tuple, list[str]] = {}  # (N set, W set, target) -> centre symbols
    for name, cell in states.items():
        cases = [(dec, tuple(ws), None) for dec, ws in decisions.items()]
        if cell.kind in "DT":  # column 0: W is the border; the upper cell may announce
            cases += [(Decision("e", None), ("#",), True), (Decision("e", None), ("#",), False)]
        for dec, w_set, col0 in cases:
            targets = {}
            for sigma_in in ("n", "0", "1"):
                target = _gauss_next(cell, bool(col0), sigma_in, dec)
                if cell.kind in "DL" and target in states and states[target].kind in "DL":
                    target = symbols[index[target] - offset[sigma_in]]
                targets[sigma_in] = target
            if len(set(targets.values())) == 1:  # sigma does not matter here
                n_sets = {targets["n"]: symbols}
            else:
                n_sets = {}
                for sigma_in, target in targets.items():
                    n_sets[target] = n_sets.get(target, []) + sigma_of[sigma_in]
            for target, n_set in n_sets.items():
                if col0 is not None:
                    n_set = [s for s in n_set if (s in hop0) == col0]
                if n_set:
                    groups.setdefault((tuple(sorted(n_set)), w_set, target), []).append(name)
    guards = []
    for (n_set, w_set, target), centre in groups.items():
        when = {"C": centre, "W": list(w_set)}
        if len(n_set) < len(symbols):
            when["N"] = list(n_set)
        guards.append(Guard(when, then=target))
    return guards


def gauss() -> LearnerProgram:
    """Incremental GF(2) elimination as a systolic cellular program (O(m + d) steps)."""
    states = _gauss_states()
    symbols = ["_"] + list(states) + ["+", "-", "#"]
    rows = [s for s, c in states.items() if c.kind in "DL"]
    block = sum(1 for s in rows if states[s].sigma == "n")
    offset = {"n": 0, "0": block, "1": 2 * block}
    sigma_of = {v: [s for s in rows if states[s].sigma == v] for v in "01"}
    rules: list = [Shift({"C": rows, "N": sigma_of[v]}, by=offset[v]) for v in "01"]
    sigma_of["n"] = [s for s in symbols if s not in sigma_of["0"] + sigma_of["1"]]
    rules += _gauss_guards(states, symbols, offset, sigma_of)
    program = CellularProgram(symbols, "#", rules, name="gauss")
    return LearnerProgram(
        "gauss",
        program,
        start={b: Cell("D", b, "n", "N1").name for b in (0, 1)},
        answers={"+": 1, "-": -1},
        time=lambda m, d: m + 2 * d + 2,
        reference=gauss_reference,
        description="incremental GF(2) Gaussian elimination (systolic cellular program)",
    )


LEARNERS: dict[str, Callable[[], LearnerProgram]] = {
    "gauss": gauss,
    "first-label": first_label,
    "last-label": last_label,
    "majority": majority,
}


def get_learner(name: str) -> LearnerProgram:
    if name not in LEARNERS:
        raise ValueError(f"unknown learner {name!r}; choose one of {sorted(LEARNERS)}")
    return LEARNERS[name]()
