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


def gauss_reference_predict(X, y, X_test) -> np.ndarray:
    from ..gf2 import GaussianElimination

    return GaussianElimination().fit(X, y).predict(X_test)


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
# predictions, so this equals the reference semantics (see gf2.GaussianElimination).
_DELTAS = ["e", "N1", "N0", "X0", "X1", "X", "S0", "S1", "S"]  # order: classes are runs


def _name(kind: str, b: int, sigma: str = "n", delta: str = "e") -> str:
    if kind == "Q":
        return {(0, "e"): "?", (1, "e"): "Q1"}.get((b, delta), f"Q{b}|{delta}")
    tail = ("" if sigma == "n" else sigma) + ("" if delta == "e" else delta)
    return f"{kind}{b}" + (f"|{tail}" if tail else "")


def _gauss_states() -> dict[str, tuple]:
    """Training-row states in three equal blocks by sigma (so passing sigma down is a
    constant shift of the code), then the test row and the answer cell."""
    states: dict[str, tuple] = {}
    for sigma in ("n", "0", "1"):
        for delta in _DELTAS:
            for b in (0, 1):
                states[_name("D", b, sigma, delta)] = ("D", b, sigma, delta)
        for b in (0, 1):
            states[_name("L", b, sigma)] = ("L", b, sigma, "e")
    for delta in _DELTAS:
        for b in (0, 1):
            if delta[0] != "S":
                states[_name("T", b, "n", delta)] = ("T", b, "n", delta)
    for b in (0, 1):
        for delta in ("e", "H"):
            states[_name("Q", b, "n", delta)] = ("Q", b, "n", delta)
    return states


def _gauss_next(kind, b, own_go, col0_go, sigma_in, dec):
    """The next state of a cell (see the comment above); dec = (kind, age) from the left."""
    x = sigma_in == "1"
    act, age = dec
    aged = {0: "1", 1: "", None: ""}[age]
    if kind == "Q":
        if own_go:
            return "+" if b == 0 else "-"
        mark = "H" if age == 0 else "e"
        return _name("Q", b ^ x if act == "X" else b, "n", mark)
    if kind == "L":
        if act == "X":
            return _name("L", b ^ x, sigma_in)
        if act == "S":
            return _name("L", 0, str(b))
        return _name("L", b, sigma_in)
    go = own_go or col0_go
    if kind == "T":
        if go:
            return _name("T", 0, "n", "X0") if b and x else _name("T", b, "n", "N0")
        if act == "X":
            return _name("T", b ^ x, "n", "X" + aged)
        return _name("T", b, "n", ("N" + aged) if act == "N" and age == 0 else "e")
    if go:
        if b and sigma_in == "n":
            return _name("D", 0, "1", "S0")
        if b and x:
            return _name("D", 0, "1", "X0")
        return _name("D", b, sigma_in, "N0")
    if act == "X":
        return _name("D", b ^ x, sigma_in, "X" + aged)
    if act == "S":
        return _name("D", 0, str(b), "S" + aged)
    return _name("D", b, sigma_in, "N1" if act == "N" and age == 0 else "e")


def gauss() -> LearnerProgram:
    """Incremental GF(2) elimination as a systolic cellular program (O(m + d) steps)."""
    states = _gauss_states()
    symbols = ["_"] + list(states) + ["+", "-", "#"]
    for s in LAYOUT:
        assert s in symbols, s

    def where(pred) -> list[str]:
        return [s for s, st in states.items() if pred(st)]

    sig = {v: where(lambda st, v=v: st[0] in "DL" and st[2] == v) for v in "01"}
    sig["n"] = [s for s in symbols if s not in sig["0"] + sig["1"]]
    hop0 = set(where(lambda st: st[0] == "D" and st[3] in ("N0", "X0", "S0")))
    decisions = {  # (act, age) -> the W symbols carrying it
        ("X", 0): where(lambda st: st[0] in "DT" and st[3] == "X0"),
        ("X", 1): where(lambda st: st[0] in "DT" and st[3] in ("X1", "X")),
        ("S", 0): where(lambda st: st[0] == "D" and st[3] == "S0"),
        ("S", 1): where(lambda st: st[0] == "D" and st[3] in ("S1", "S")),
        ("N", 0): where(lambda st: st[0] in "DT" and st[3] == "N0"),
    }
    carried = {s for v in decisions.values() for s in v}
    decisions[("e", None)] = [s for s in symbols if s not in carried and s != "#"]

    def own_go(st) -> bool:
        return st[3] in ("N1", "X1", "S1", "H")

    # Training cells always pass sigma down, except a STORE (which starts from 'n'):
    # guards write sigma = 'n' and two Shifts add the incoming sigma's block offset.
    block = len([s for s, st in states.items() if st[0] in "DL" and st[2] == "n"])
    offset = {"n": 0, "0": block, "1": 2 * block}
    index = {s: i for i, s in enumerate(symbols)}
    rows = [s for s, st in states.items() if st[0] in "DL"]
    rules: list = [Shift({"C": rows, "N": sig[v]}, by=offset[v]) for v in "01"]

    def strip(target: str, sigma_in: str) -> str:
        """The target written by the guard, before the sigma shift is added."""
        if target not in rows:
            return target
        return symbols[index[target] - offset[sigma_in]]

    groups: dict[tuple, list[str]] = {}  # (N set, W set, target) -> centre symbols
    for name, st in states.items():
        kind, b = st[0], st[1]
        cases = [((act, age), tuple(ws), None) for (act, age), ws in decisions.items()]
        if kind in "DT":  # column 0: W is the border; the upper cell may announce
            cases += [(("e", None), ("#",), True), (("e", None), ("#",), False)]
        for dec, w_set, col0 in cases:
            targets = {}
            for sigma_in in ("n", "0", "1"):
                target = _gauss_next(kind, b, own_go(st), bool(col0), sigma_in, dec)
                targets[sigma_in] = strip(target, sigma_in) if kind in "DL" else target
            if len(set(targets.values())) == 1:  # sigma does not matter here
                n_sets = {targets["n"]: symbols}
            else:
                n_sets = {}
                for sigma_in, target in targets.items():
                    n_sets[target] = n_sets.get(target, []) + sig[sigma_in]
            for target, n_set in n_sets.items():
                if col0 is not None:
                    n_set = [s for s in n_set if (s in hop0) == col0]
                if n_set:
                    key = (tuple(sorted(n_set)), w_set, target)
                    groups.setdefault(key, []).append(name)
    for (n_set, w_set, target), centre in groups.items():
        when = {"C": centre, "W": list(w_set)}
        if len(n_set) < len(symbols):
            when["N"] = list(n_set)
        rules.append(Guard(when, then=target))
    program = CellularProgram(symbols, "#", rules, name="gauss")
    return LearnerProgram(
        "gauss", program, start={b: _name("D", b, "n", "N1") for b in (0, 1)},
        answers={"+": 1, "-": -1}, time=lambda m, d: m + 2 * d + 2,
        reference=gauss_reference_predict,
        description="incremental GF(2) Gaussian elimination (systolic cellular program)",
    )  # fmt: skip


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
