"""A family's hand-written learner as a teacher (MetaConfig.hints): its trace on laid-out
problems, run with the frame's schedule, as the filter states that supervise every cell
in training (and that bench_meta's departure analysis compares a free run with)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ...programs.learning import LearnerProgram
from ..filter import hint_trace as filter_hint_trace
from .families import Family
from .layout import INPUTS, schedule


@lru_cache(maxsize=8)
def _hint(family: Family) -> LearnerProgram:
    """The family's hint, built once (GF(2) elimination's takes tens of ms)."""
    return family.hint()


def hint_start(hint: LearnerProgram, codes: np.ndarray) -> np.ndarray:
    """The hint program's layer-0 grids (B, H, W) for laid-out problems: each cell its
    layout symbol, the top-left cell the hint's own start for its bit (the learner
    contract: GF(2) elimination starts there announced); a filter state 0 everywhere."""
    program = hint.program
    grid = np.array([program.index[s] for s in INPUTS])[codes]
    top = {INPUTS.index(f"D{b}"): program.index[s] for b, s in hint.start.items()}
    grid[:, 0, 0] = [top.get(c, g) for c, g in zip(codes[:, 0, 0], grid[:, 0, 0], strict=True)]
    return grid


def hint_trace(family: Family, codes: np.ndarray, layers: int, frozen=()) -> np.ndarray:
    """The family's hand-written rule run on laid-out problems (B, H, W) with the
    frame's schedule, as filter_states runs the filter: (layers + 1, B, H, W) filter
    states (filter.hint_states: a cell holding its own start symbol is state 0)."""
    hint = _hint(family)
    starts = INPUTS + list(hint.start.values())
    active = schedule(codes, frozen).numpy()
    return filter_hint_trace(hint.program, starts, hint_start(hint, codes), layers, active)
