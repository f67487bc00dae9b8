"""Random initialisations of the shared filter and head (Algorithm 1's starting point).

Three initialisers, each drawing a `Candidate`: an RCNN filter + head that Algorithm 1
then trains as usual (only W moves), and the time bound its layer count allows.

(a) `PaperInit`: every shared weight uniform from the finite set U_s (the paper's
    initialisation). Our compiler writes every weight of a frame program with s
    symbols as a multiple of 1/4 in [-3s, 3s] (checked for all shipped learners), so
    U_s = {j/4 : |j| <= 12 s}, |U_s| = 24 s + 1 = O(s).
(b) Program priors: draw a random program of size s, wrap it in the Theorem 1 frame
    and compile it. `TuringPrior`: a Turing machine with s states over the layout
    alphabet, every transition uniform over (write, move U/D/L/R, next state or
    halt). `AnswerRulePrior`: the answer cell '?' looks at ONE neighbour (uniform of
    8) and maps each layout symbol there to '+', '-' or nothing (uniform of 3 each);
    it contains last-label and, small as it is, can be counted exhaustively.

counting.py gives the exact probabilities of drawing each shipped learner and counts
the answer-rule family exhaustively.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..compile import compile_program
from ..frame import build_frame, frame_layers
from ..model import SharedWeights
from ..programs.cellular import COMPASS, CellularProgram, Guard
from ..programs.learning import LAYOUT, LearnerProgram, turing_learner
from ..programs.turing import HALT, Transition, TuringMachine

NEIGHBOURS = [p for p in COMPASS if p != "C"]
FRAME_PADDING = -1.0  # the border code the frame is compiled for


@dataclass
class Candidate:
    """A drawn filter and head, ready for Algorithm 1.

    time: the learner's time bound t(m, d); the network gets L = 3 + m + d + t layers
    (the frame's budget, Theorem 1). work_columns: l. program: the readable program
    (None for weights drawn from U_s)."""

    weights: SharedWeights
    time: int
    work_columns: int = 1
    program: str | None = None

    def layers(self, m: int, d: int) -> int:
        return frame_layers(m, d, self.time)


def paper_values(s: int) -> np.ndarray:
    """U_s = {j/4 : |j| <= 12 s} (sorted)."""
    if s < 1:
        raise ValueError(f"s must be >= 1, got {s}")
    return np.arange(-12 * s, 12 * s + 1) / 4.0


@dataclass
class PaperInit:
    """(a) Every weight of a patch net with these widths, and of the head, from U_s."""

    s: int
    hidden: tuple[int, ...] = (16, 16)
    head_hidden: int = 4
    time: int = 8

    def draw(self, rng: np.random.Generator) -> Candidate:
        values = paper_values(self.s)
        widths = (9, *self.hidden, 1)
        body = [
            (rng.choice(values, size=(o, i)), rng.choice(values, size=o))
            for i, o in zip(widths[:-1], widths[1:], strict=True)
        ]
        h = self.head_hidden
        head = [
            (rng.choice(values, size=(h, 1)), rng.choice(values, size=h)),
            (rng.choice(values, size=(1, h)), rng.choice(values, size=1)),
        ]
        return Candidate(SharedWeights(body, head), self.time)


def _compiled_candidate(learner: LearnerProgram, time: int, text: str) -> Candidate:
    compiled = compile_program(build_frame(learner))
    return Candidate(compiled.weights, time, learner.work_columns, text)


@dataclass
class TuringPrior:
    """(b) A uniformly random Turing machine with `states` states over LAYOUT."""

    states: int
    time: int = 8

    @property
    def choices(self) -> int:
        """Values one transition can take: write x move x (next state or halt)."""
        return len(LAYOUT) * 4 * (self.states + 1)

    def machine(self, rng: np.random.Generator) -> TuringMachine:
        names = [chr(ord("A") + i) for i in range(self.states)] + [HALT]
        table = [
            [
                Transition(
                    int(rng.integers(len(LAYOUT))),
                    "UDLR"[rng.integers(4)],
                    names[rng.integers(len(names))],
                )
                for _ in LAYOUT
            ]
            for _ in range(self.states)
        ]
        return TuringMachine(table)

    def draw(self, rng: np.random.Generator) -> Candidate:
        machine = self.machine(rng)
        learner = turing_learner(
            "random", machine, [], time=lambda m, d: self.time, reference=lambda *a: None
        )
        return _compiled_candidate(learner, self.time, str(machine))


@dataclass
class AnswerRulePrior:
    """(b) '?' becomes map[symbol at one neighbour]; the map sends each layout symbol
    to '+', '-' or nothing (then '?' waits)."""

    time: int = 4
    outcomes = ("+", "-", None)

    def rules(self, position: str, mapping: dict[str, str | None]) -> list[Guard]:
        return [Guard({"C": "?", position: s}, then=t) for s, t in mapping.items() if t]

    def learner(self, position: str, mapping: dict[str, str | None]) -> LearnerProgram:
        program = CellularProgram(LAYOUT, "_", self.rules(position, mapping), name="answer rule")
        return LearnerProgram(
            "answer rule",
            program,
            {0: "D0", 1: "D1"},
            {"+": 1, "-": -1},
            time=lambda m, d: self.time,
            reference=lambda *a: None,
        )

    def draw_rule(self, rng: np.random.Generator) -> tuple[str, dict[str, str | None]]:
        position = NEIGHBOURS[rng.integers(len(NEIGHBOURS))]
        return position, {s: self.outcomes[rng.integers(3)] for s in LAYOUT}

    def draw(self, rng: np.random.Generator) -> Candidate:
        position, mapping = self.draw_rule(rng)
        text = show_answer_rule(position, mapping)
        return _compiled_candidate(self.learner(position, mapping), self.time, text)


def show_answer_rule(position: str, mapping: dict[str, str | None]) -> str:
    parts = [f"{s}->{t}" for s, t in mapping.items() if t]
    return f"'?' reads {position}: " + (", ".join(parts) if parts else "never answers")
