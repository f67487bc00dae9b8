"""The Theorem 1 frame: ONE cellular program that memorises, decodes and runs a learner.

Cell values at layer 0 are raw: the memory grid W diag([x; 1]) holds 0 (an empty
row) or +-1/3 (row a holds (1/3) y_a (x_a * x, 1)), the work columns hold 1 and the
border reads p = -1. These are the codes of '#' (-1), 'N' (-1/3), 'Z' (0), 'P'
(1/3), 'ONE' (1); every other symbol has an integer code >= 2. Phases:

1. Memorise (layer 1). N -> 'u1', P -> 'u0' (sign bits), ONE -> '_', Z -> 'empty',
   except a Z whose upper neighbour is filled or the border: the first empty row,
   which becomes 'carry' and keeps its carrier. 'carry' keeps it forever and the
   head has slope 1 there, so d out / d grid is exactly 1 on the first empty row
   and 0 elsewhere, and SGD writes example i into row i. Nothing else is ever
   decoded while the last (dummy) row is empty, so the output is exactly 0.
2. Detect the phase (layer 2). Only a filled dummy row makes the bottom-right
   memory cell 'u0' with the border below and work space (or border) to its right:
   it becomes 'corner', and the decoding wave starts there.
3. Decode (a wave, one Manhattan step per layer). The label cell above a fresh
   label/corner becomes 'fl<y>' (y = its sign bit); a test-row cell left of a fresh
   test cell/corner becomes 'ft<x>'; a data cell whose right neighbour is fresh
   (carrying y_a) and whose lower neighbour is fresh (carrying x[b]) becomes
   'fd<bit><x><y>' with bit = sign xor x xor y. Fresh cells settle into the layout
   of programs/learning.py one layer later ('L', 'T', 'D', '?'); the top-left cell
   settles directly into the learner's start symbol.
4. Run the learner program on the layout; its answer cell ('+'/'-') is what the head
   reads.

The layer budget is L = 3 + m + d + time(m, d): layer 1 maps the raw values, the
corner appears at layer 2, the top-left cell at layer 2 + m + d, then the learner
runs (its first step is the start symbol settling) for its time bound.
"""

from __future__ import annotations

from fractions import Fraction

from . import guard
from .programs.cellular import CellularProgram, Guard, Shift
from .programs.learning import LearnerProgram

RAW = {"#": -1, "N": Fraction(-1, 3), "Z": 0, "P": Fraction(1, 3), "ONE": 1}
FRESH_DATA = [f"fd{b}{x}{y}" for b in (0, 1) for x in (0, 1) for y in (0, 1)]
FRAME = ["carry", "empty", "u0", "u1", "corner", "fl0", "fl1", "ft0", "ft1"] + FRESH_DATA
FILLED = ["N", "P", "#"]


def frame_layers(m: int, d: int, time: int) -> int:
    """L: map raw values, detect, decode the (m+1) x (d+1) layout, then `time` steps."""
    return 3 + m + d + time


def layers_needed(learner: LearnerProgram, m: int, d: int) -> int:
    """L for a learner: frame_layers with its time bound t(m, d)."""
    return frame_layers(m, d, learner.time(m, d))


def check_size(learner: LearnerProgram, m: int, d: int, batch: int, dense: bool, extra=0.0):
    """(cells, layers) of the network for this learner at (m, d), after refusing it
    (guard.check_memory) when it would not fit in memory with `batch` inputs at once
    (plus `extra` bytes, e.g. the data)."""
    layers = layers_needed(learner, m, d)
    cells = (m + 1) * (d + 1 + learner.work_columns)
    guard.check_memory(
        guard.rcnn_bytes(cells, layers, batch, dense=dense) + extra,
        f"an RCNN for d = {d}, m = {m} ({cells} cells x {layers} layers)",
    )
    return cells, layers


def build_frame(learner: LearnerProgram) -> CellularProgram:
    """The frame around a learner as one cellular program (see the module docstring)."""
    own = [s for s in learner.program.symbols if s != "#"]
    clash = set(own) & (set(RAW) | set(FRAME))
    if clash:
        raise ValueError(f"learner {learner.name!r} uses frame symbol names {sorted(clash)}")
    symbols = list(RAW) + FRAME + own
    codes = dict(RAW) | {s: 2 + i for i, s in enumerate(FRAME + own)}
    everything = set(symbols)

    rules: list[Guard | Shift] = [
        # 1. raw values -> integer codes; the first empty row becomes 'carry'
        Guard({"C": "N"}, "u1"),
        Guard({"C": "P"}, "u0"),
        Guard({"C": "ONE"}, "_"),
        Guard({"C": "Z"}, "empty"),
        Shift({"C": "Z", "N": FILLED}, by=codes["carry"] - codes["empty"]),
        # 2. the corner: the answer cell of a filled dummy row
        Guard({"C": "u0", "S": "#", "E": ["_", "#"]}, "corner"),
        Guard({"C": "corner"}, "?"),
    ]
    fresh_y = {y: [f"fl{y}"] + [s for s in FRESH_DATA if s[-1] == str(y)] for y in (0, 1)}
    fresh_x = {x: [f"ft{x}"] + [s for s in FRESH_DATA if s[-2] == str(x)] for x in (0, 1)}
    not_border = sorted(everything - {"#"})
    for s in (0, 1):
        rules.append(Guard({"C": f"u{s}", "S": ["corner", "fl0", "fl1"]}, f"fl{s}"))
        rules.append(Guard({"C": f"u{s}", "S": "#", "E": ["corner", "ft0", "ft1"]}, f"ft{s}"))
        for x in (0, 1):
            for y in (0, 1):
                bit = s ^ x ^ y
                base = {"C": f"u{s}", "E": fresh_y[y], "S": fresh_x[x]}
                fresh = f"fd{bit}{x}{y}"
                rules.append(Guard(base | {"W": not_border}, fresh))
                rules.append(Guard(base | {"W": "#", "N": not_border}, fresh))
                rules.append(Guard(base | {"W": "#", "N": "#"}, learner.start[bit]))
    for v in (0, 1):
        rules.append(Guard({"C": f"fl{v}"}, f"L{v}"))
        rules.append(Guard({"C": f"ft{v}"}, f"T{v}"))
    rules += [Guard({"C": s}, f"D{s[2]}") for s in FRESH_DATA]
    rules += learner.program.rules
    return CellularProgram(
        symbols,
        border="#",
        rules=rules,
        readout={s: float(v) for s, v in learner.answers.items()},
        name=f"Theorem 1 frame around {learner.name}",
        codes={s: float(c) for s, c in codes.items()},
        keep=[{"C": "Z", "N": FILLED}, {"C": "carry"}],
        slope=["carry"],
    )
