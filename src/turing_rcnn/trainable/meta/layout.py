"""A learning problem laid out as the frame hands it to a learner, the frame's schedule
(the layer from which each cell may change), and `layer_states`: the one loop that runs
a filter or a rule's table on that schedule, layer by layer.

A problem (X, y, x) is laid out as programs/learning.py's learner contract says: rows
of 'D0'/'D1' data bits with the label 'L0'/'L1' in column d, the test row 'T0'/'T1'
with the answer cell '?', work columns '_'. The frame does not show the layout at once:
it decodes it in a wave from the answer cell, so the cell (a, j) holds its layout
symbol from layer `reveal[a, j]` on (read off the frame's own reference simulator,
`reveal_layers`), and a learner rule can fire at a cell only when all 9 cells of its
neighbourhood hold learner symbols (before that a neighbour holds a frame symbol that
no learner rule names): `active_layers`. Training, the read-off, verification and
bench_meta's departure analysis all run on this schedule, through `layer_states`, for
the frame's L = 3 + m + d + time(m, d) layers (`layers_for`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

from ...frame import build_frame, frame_layers
from ...programs.cellular import CellularProgram
from ...programs.learning import LAYOUT, LearnerProgram, last_label_reference
from ..filter import DiscreteFilter
from .families import Family

INPUTS = LAYOUT[:8]  # the layout symbols a learner starts from: '_' D0 D1 L0 L1 T0 T1 '?'
ANSWER = INPUTS.index("?")


def layout_codes(X: np.ndarray, y: np.ndarray, x: np.ndarray, work: int = 1) -> np.ndarray:
    """Problems (B, m, d) +-1 data, (B, m) labels, (B, d) test points -> (B, m+1, d+1+work)
    indices into INPUTS of the decoded layout (bit 1 <-> value -1)."""
    B, m, d = X.shape
    codes = np.zeros((B, m + 1, d + 1 + work), dtype=np.int64)  # '_' everywhere first
    codes[:, :m, :d] = np.where(X == -1, 2, 1)
    codes[:, :m, d] = np.where(y == -1, 4, 3)
    codes[:, m, :d] = np.where(x == -1, 6, 5)
    codes[:, m, d] = ANSWER
    return codes


def raw_symbols(X: np.ndarray, y: np.ndarray, x: np.ndarray, work: int = 1) -> list[list[str]]:
    """The frame's layer-0 grid for one problem after Algorithm 1: row a holds the signs of
    (1/3) y_a (x_a * x, 1), the dummy row those of (x, 1), work columns 'ONE'."""
    m, d = X.shape
    rows = np.concatenate([X * y[:, None] * x[None, :], y[:, None]], 1)
    rows = np.concatenate([rows, np.append(x, 1)[None]], 0)
    return [["P" if v > 0 else "N" for v in row] + ["ONE"] * work for row in rows]


def _bare_learner(work: int) -> LearnerProgram:
    """A learner with no rules: the frame around it only decodes the layout."""
    return LearnerProgram(
        "bare",
        CellularProgram(LAYOUT, "_", []),
        {0: "D0", 1: "D1"},
        {"+": 1, "-": -1},
        time=lambda m, d: 0,
        reference=last_label_reference,
        work_columns=work,
    )


@lru_cache(maxsize=256)
def reveal_layers(m: int, d: int, work: int = 1) -> np.ndarray:
    """(m+1, d+1+work): the first layer at which each cell holds its layout symbol, read
    off the frame's reference simulator (the wave does not depend on the data; a test
    holds it to that)."""
    frame = build_frame(_bare_learner(work))
    rng = np.random.default_rng(0)
    X, y, x = rng.choice([-1, 1], (m, d)), rng.choice([-1, 1], m), rng.choice([-1, 1], d)
    grid = frame.encode(raw_symbols(X, y, x, work))
    layout = np.isin(np.arange(len(frame.symbols)), [frame.index[s] for s in LAYOUT])
    reveal = np.full(grid.shape, -1)
    for layer in range(frame_layers(m, d, 0) + 1):
        reveal[(reveal < 0) & layout[grid]] = layer
        grid = frame.step(grid)
    if (reveal < 0).any():
        raise RuntimeError("the frame did not decode every cell")  # a bug, not a user error
    return reveal


@lru_cache(maxsize=256)
def active_layers(m: int, d: int, work: int = 1) -> np.ndarray:
    """The first layer at which a learner rule can fire at each cell: every cell of its
    3x3 neighbourhood holds a layout (or learner) symbol; beyond the grid is the border."""
    padded = np.pad(reveal_layers(m, d, work), 1)
    H, W = padded.shape[0] - 2, padded.shape[1] - 2
    windows = [padded[r : r + H, c : c + W] for r in range(3) for c in range(3)]
    return np.max(windows, axis=0)


def layers_for(family: Family, m: int, d: int) -> int:
    """L: the frame's layer budget with the family's time bound (frame.frame_layers)."""
    return frame_layers(m, d, family.time(m, d))


def schedule(codes: np.ndarray, frozen=(), work: int = 1) -> torch.Tensor:
    """(B, H, W): the first layer at which each cell may change (active_layers), or
    never (a huge layer) for cells whose input code is frozen."""
    m, d = codes.shape[1] - 1, codes.shape[2] - 1 - work
    active = np.where(np.isin(codes, list(frozen)), 2**40, active_layers(m, d, work))
    return torch.as_tensor(active)


def layer_states(step: Callable, state, active, layers: int) -> Iterator[tuple[int, object]]:
    """(layer, state) at layers 0..`layers` of a run on the frame's schedule: a cell
    takes `step`'s new value from layer `active` on (broadcast against the state) and
    keeps its own before. `state` and `active` are both torch tensors (a filter: steps
    keep the gradient where the caller's grad mode does) or both numpy arrays (a rule's
    table); exactly `layers` steps, each taken when the next state is asked for."""
    where = torch.where if isinstance(state, torch.Tensor) else np.where
    for layer in range(layers + 1):
        yield layer, state
        if layer < layers:
            state = where(active <= layer, step(state), state)


def filter_states(
    net: DiscreteFilter, codes: np.ndarray, layers: int, frozen=(), work: int = 1
) -> Iterator[tuple[int, torch.Tensor]]:
    """layer_states of the filter on laid-out problems (B, H, W): its one-hot states
    (B, k, H, W) at layers 0..`layers`. Cells whose input code is in `frozen` never
    change (schedule)."""
    x = F.one_hot(torch.as_tensor(codes), len(INPUTS)).permute(0, 3, 1, 2).float()
    active = schedule(codes, frozen, work)[:, None]
    state, recalled = net.initial_state(x), net.recall(x)
    return layer_states(lambda s: _step(net, s, recalled), state, active, layers)


def _step(net: DiscreteFilter, state: torch.Tensor, recalled: torch.Tensor) -> torch.Tensor:
    """One step of the filter; without gradient, exact one-hots (the straight-through
    value hard + soft - soft can be off by a rounding, which extraction must not see)."""
    new = net.step(state, recalled)
    if torch.is_grad_enabled():
        return new
    return F.one_hot(new.argmax(1), net.symbols).permute(0, 3, 1, 2).to(new.dtype)
