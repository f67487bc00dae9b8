"""Random initialisations of the shared filter and head (Algorithm 1's starting point).

Two initialisers, each drawing a `Candidate`: an RCNN filter + head that Algorithm 1
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

`log10_paper` and `log10_program` give the exact log10-probability that a draw
is (equivalent to) a shipped learner; see their docstrings for what counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .compile import compile_program
from .frame import build_frame
from .model import SharedWeights
from .programs.cellular import CENTRE, COMPASS, CellularProgram, Guard
from .programs.learning import LAYOUT, LearnerProgram, get_learner, turing_learner
from .programs.turing import HALT, Transition, TuringMachine

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
        return 3 + m + d + self.time


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
        body = [(rng.choice(values, size=(o, i)), rng.choice(values, size=o))
                for i, o in zip(widths[:-1], widths[1:], strict=True)]  # fmt: skip
        h = self.head_hidden
        head = [(rng.choice(values, size=(h, 1)), rng.choice(values, size=h)),
                (rng.choice(values, size=(1, h)), rng.choice(values, size=1))]  # fmt: skip
        return Candidate(SharedWeights(body, head), self.time)

    def describe(self) -> str:
        return f"paper init: U_{self.s} ({len(paper_values(self.s))} values), hidden {self.hidden}"


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
        table = [[Transition(int(rng.integers(len(LAYOUT))), "UDLR"[rng.integers(4)],
                             names[rng.integers(len(names))])
                  for _ in LAYOUT] for _ in range(self.states)]  # fmt: skip
        return TuringMachine(table)

    def draw(self, rng: np.random.Generator) -> Candidate:
        machine = self.machine(rng)
        learner = turing_learner("random", machine, [], time=lambda m, d: self.time,
                                 reference=lambda *a: None)  # fmt: skip
        return _compiled_candidate(learner, self.time, str(machine))

    def describe(self) -> str:
        return f"Turing prior: {self.states} states over {len(LAYOUT)} symbols"


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
        return LearnerProgram("answer rule", program, {0: "D0", 1: "D1"}, {"+": 1, "-": -1},
                              time=lambda m, d: self.time, reference=lambda *a: None)  # fmt: skip

    def draw_rule(self, rng: np.random.Generator) -> tuple[str, dict[str, str | None]]:
        position = NEIGHBOURS[rng.integers(len(NEIGHBOURS))]
        return position, {s: self.outcomes[rng.integers(3)] for s in LAYOUT}

    def draw(self, rng: np.random.Generator) -> Candidate:
        position, mapping = self.draw_rule(rng)
        text = show_answer_rule(position, mapping)
        return _compiled_candidate(self.learner(position, mapping), self.time, text)

    def describe(self) -> str:
        return f"answer-rule prior: 8 positions x 3^{len(LAYOUT)} maps"

    # ---- exhaustive counting ---------------------------------------------------------
    def sightings(self, X, y, X_val) -> dict[str, list[list[str]]]:
        """Per position, per validation input: the layout symbols that neighbour of the
        answer cell holds, in order, on the layers where the answer cell holds '?' and a
        rule could still answer by the last layer. Read off a rule-free learner in the
        frame (the frame's cells never look at the answer cell's answer)."""
        import torch

        from .model import augment
        from .train import lemma1_memory

        m, d = np.shape(X)
        compiled = compile_program(build_frame(self.learner("N", {})))
        net = compiled.network(layers=1, d=d, m=m, work_columns=1)
        with torch.no_grad():
            net.memory.copy_(lemma1_memory(X, y, m + 1, torch.float32))
            grid = net.grid(augment(torch.as_tensor(np.asarray(X_val), dtype=torch.float32)))
            frames = [compiled.decode(grid)]
            for _ in range(3 + m + d + self.time - 1):
                grid = net.run_body(grid, layers=1)
                frames.append(compiled.decode(grid))
        names = compiled.program.symbols
        r, c = m, d  # the answer cell
        seen: dict[str, list[list[str]]] = {p: [[] for _ in range(len(X_val))] for p in NEIGHBOURS}
        for f in frames:
            for i in np.flatnonzero(f[:, r, c] == names.index("?")):
                for p in NEIGHBOURS:
                    dr, dc = COMPASS[p]
                    inside = 0 <= r + dr < f.shape[1] and 0 <= c + dc < f.shape[2]
                    sym = names[f[i, r + dr, c + dc]] if inside else "#"
                    if sym in LAYOUT:
                        seen[p][i].append(sym)
        return seen

    @staticmethod
    def answers(mapping: dict[str, str | None], sightings: list[list[str]]) -> np.ndarray:
        """+-1 per input (0: never answered) of a rule, given its position's sightings."""
        out = np.zeros(len(sightings), dtype=np.int8)
        for i, seq in enumerate(sightings):
            hit = next((mapping[s] for s in seq if mapping.get(s)), None)
            out[i] = {"+": 1, "-": -1, None: 0}[hit]
        return out

    def exact_fraction(self, X, y, X_val, y_val, max_error: float = 0.0) -> float:
        """The exact fraction of the family whose validation error is <= max_error.

        A rule's answers depend only on its position and on the map's values at the
        symbols that ever show there, so each position contributes 1/8 times the share
        of the 3^k maps on those k symbols that succeed (enumerated one by one). An
        input the rule never answers gives output 0, read as +1 (batched.sign), as the
        network's output is read."""
        import itertools

        seen, y_val, total = self.sightings(X, y, X_val), np.asarray(y_val), 0.0
        for p in NEIGHBOURS:
            symbols = sorted({s for seq in seen[p] for s in seq})
            good = 0
            for values in itertools.product(self.outcomes, repeat=len(symbols)):
                pred = self.answers(dict(zip(symbols, values, strict=True)), seen[p])
                good += np.mean(np.where(pred == 0, 1, pred) != y_val) <= max_error
            total += int(good) / 3 ** len(symbols) / len(NEIGHBOURS)
        return float(total)


def show_answer_rule(position: str, mapping: dict[str, str | None]) -> str:
    parts = [f"{s}->{t}" for s, t in mapping.items() if t]
    return f"'?' reads {position}: " + (", ".join(parts) if parts else "never answers")


# ---- exact probabilities of drawing the shipped learners -------------------------------
def frame_size(learner: LearnerProgram) -> int:
    """s for U_s: the number of symbols of the frame program around the learner."""
    return len(build_frame(learner).symbols)


def log10_paper(name: str) -> dict:
    """(a): the exact log10-probability that every one of the P shared weights of the
    learner's compiled filter (in its own architecture) is drawn right from U_s:
    -P log10 |U_s|. Drawing an *equivalent* filter (e.g. permuted hidden units) is
    likelier by at most the number of such symmetries, which this leaves out."""
    learner = get_learner(name)
    s = frame_size(learner)
    compiled = compile_program(build_frame(learner))
    values = compiled.weight_values
    if not np.isin(values, paper_values(s)).all():
        raise AssertionError(f"{name}: a compiled weight is not in U_{s}")
    P = compiled.parameter_count
    return {"s": s, "U_s": len(paper_values(s)), "parameters": P,
            "log10_p": -P * math.log10(len(paper_values(s)))}  # fmt: skip


def log10_program(name: str) -> dict:
    """(b): the exact log10-probability of drawing a program equivalent to the learner.

    Turing learners under TuringPrior(s): every defined transition drawn right, any
    renaming of the s - 1 non-start states, any move on a halting transition (the
    head never moves after halting), undefined entries arbitrary (the shipped
    machines never reach them on a valid layout; tests check this for every label
    pattern up to m = 8): (s-1)! 4^halts / choices^defined.
    last-label under AnswerRulePrior: position N and the two symbols that occur
    there (L0, L1) drawn right, the other 8 symbols arbitrary: 1/8 * 1/3^2.
    Other cellular learners (gauss) under the generic guard family: R guards, each
    drawing for each of the 9 positions a subset of the k-symbol alphabet and a
    target: R! / (2^(9k) k)^R, the probability of drawing exactly its rule set.
    """
    learner = get_learner(name)
    if learner.machine is not None:
        machine = learner.machine
        s = machine.n_states
        defined = [t for row in machine.table for t in row if t is not None]
        halts = sum(t.next == HALT for t in defined)
        choices = machine.n_symbols * 4 * (s + 1)
        log10_p = (math.lgamma(s) / math.log(10) + halts * math.log10(4)
                   - len(defined) * math.log10(choices))  # fmt: skip
        family = f"Turing machines, {s} states over {machine.n_symbols} symbols"
        return {"family": family, "defined_transitions": len(defined), "log10_p": log10_p}
    rules = learner.program.rules
    answer_rule = all(set(r.when) <= {CENTRE, COMPASS["N"]} and r.when.get(CENTRE) == {"?"}
                      for r in rules)  # fmt: skip
    if answer_rule:
        return {"family": "answer rules", "rules": len(rules),
                "log10_p": -math.log10(8) - len(rules) * math.log10(3)}  # fmt: skip
    k, R = len(learner.program.symbols), len(rules)
    log10_p = (math.lgamma(R + 1) / math.log(10)
               - R * (9 * k * math.log10(2) + math.log10(k)))  # fmt: skip
    return {"family": f"guard programs over {k} symbols", "rules": R, "log10_p": log10_p}
