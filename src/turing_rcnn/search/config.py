"""What a search draws and where it runs (no torch here: the CLI reads these first)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..options import check_ranges, option

BACKENDS = ("inprocess", "process", "ray")
INITS = ("paper", "answer-rule", "turing")


@dataclass(frozen=True)
class SearchConfig:
    """What to draw and how many (see priors.py for the initialisers).

    time: the learner's time bound t; every network gets L = 3 + m + d + t layers.
    """

    init: str = option(
        "answer-rule",
        "paper: every weight from U_size; answer-rule or turing: a random program in the frame",
        choices=INITS,
    )
    size: int = option(2, "s: U_s for paper, Turing machine states for turing", low=1, high=25)
    time: int = option(4, "the learner's time bound t", low=0, high=10**5)
    restarts: int = option(256, "candidates drawn", low=1, high=10**8)
    batch: int = option(
        32, "candidates per pass (the RCNN's candidate dimension)", low=1, high=4096
    )
    seed: int = option(
        0, "candidate i is drawn from a generator seeded (seed, i)", low=0, high=2**63 - 1
    )
    hidden: tuple[int, ...] = option(
        (16, 16), "patch net widths for --init paper", low=1, high=4096
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(self.hidden))
        check_ranges(self)  # init among INITS too

    def initialiser(self):
        from .priors import AnswerRulePrior, PaperInit, TuringPrior

        if self.init == "paper":
            return PaperInit(self.size, self.hidden, time=self.time)
        if self.init == "turing":
            return TuringPrior(self.size, time=self.time)
        return AnswerRulePrior(time=self.time)

    def draw(self, index: int):
        """Candidate `index`, from its own generator: the same on every backend."""
        return self.initialiser().draw(np.random.default_rng([self.seed, index]))
