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

import numpy as np

from .cellular import CellularProgram, Guard
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
    answers = {machine.symbol(names.index(s), h, names): v
               for s, v in (("+", 1), ("-", -1)) for h in slots}  # fmt: skip
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
        "first-label", _machine(rows, n), [], time=lambda m, d: d + m + 1,
        reference=first_label_reference,
        description="label of the first training example (a 3-state Turing machine)",
    )  # fmt: skip


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
        },  # E = F: next uncrossed label  # fmt: skip
    ]
    return turing_learner(
        "majority", _machine(rows, n), ["X", "QX"],
        time=lambda m, d: d + 3 * (m + 1) * (m // 2 + 2),
        reference=majority_reference,
        description="majority label, ties -> +1 (a 5-state Turing machine)",
    )  # fmt: skip


def last_label() -> LearnerProgram:
    """Cellular rule: the answer cell copies the label just above it."""
    program = CellularProgram(
        LAYOUT, "_",
        [Guard({"C": "?", "N": "L0"}, then="+"), Guard({"C": "?", "N": "L1"}, then="-")],
        name="last-label",
    )  # fmt: skip
    return LearnerProgram(
        "last-label", program, {0: "D0", 1: "D1"}, {"+": 1, "-": -1}, time=lambda m, d: 2,
        reference=last_label_reference,
        description="label of the last training example (a 2-rule cellular program)",
    )  # fmt: skip


LEARNERS: dict[str, Callable[[], LearnerProgram]] = {
    "first-label": first_label,
    "last-label": last_label,
    "majority": majority,
}


def get_learner(name: str) -> LearnerProgram:
    if name not in LEARNERS:
        raise ValueError(f"unknown learner {name!r}; choose one of {sorted(LEARNERS)}")
    return LEARNERS[name]()
