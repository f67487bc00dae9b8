"""Grid-to-grid algorithmic tasks for the trainable RCNN (train small, test large).

Each task generates its own data (no downloads), knows its reference algorithm, the
iteration budget a local rule needs on a given size, and the exact cellular rule that
solves it (compiled by compile.py into an exact filter, to compare with what training
finds).

- prefix-parity: a 1 x n strip of bits; the target at position i is the XOR of bits
  0..i (DeepThinking's prefix sums). A local rule needs n iterations: the running
  parity travels one cell per step.
- flood-fill: an n x n grid of walls and free cells with one source cell; the target
  marks the free cells connected to the source (4-neighbourhood). A local rule needs
  (longest shortest path from the source) + 1 iterations.

Inputs are float tensors (B, C, H, W) with C = 3: a value channel (+1/-1), a marker
channel, and a ones channel (the ones channel lets a cell tell the grid from the
zero padding around it). Targets are {0, 1} tensors (B, 1, H, W).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import torch

from ..programs.cellular import CellularProgram, Guard

_NEIGHBOURS = ((-1, 0), (1, 0), (0, -1), (0, 1))


@dataclass(frozen=True)
class AlgoTask:
    """A generated grid-to-grid task. Subclasses define the data, the reference
    algorithm and the exact cellular rule."""

    name = "task"
    in_channels = 3
    min_size = 2
    stop_early = True  # may training stop a run before the budget (see learner.py)?

    def check_size(self, size: int) -> int:
        if not isinstance(size, (int, np.integer)) or size < self.min_size:
            raise ValueError(
                f"{self.name}: size must be an integer >= {self.min_size}, got {size!r}"
            )
        return int(size)

    def check_inputs(self, x, y=None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Inputs (B, in_channels, H, W) and optional targets (B, 1, H, W) as float32
        tensors; a clear error for any other shape."""
        x = torch.as_tensor(x, dtype=torch.float32)
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"inputs must have shape (B, {self.in_channels}, H, W), got {tuple(x.shape)}"
            )
        if y is None:
            return x, None
        y = torch.as_tensor(y, dtype=torch.float32)
        if tuple(y.shape) != (x.shape[0], 1, *x.shape[2:]):
            want = (x.shape[0], 1, *x.shape[2:])
            raise ValueError(f"targets must have shape {want}, got {tuple(y.shape)}")
        return x, y

    def iterations(self, size: int) -> int:
        """A generous iteration budget for this size (what predict and score run)."""
        raise NotImplementedError

    def train_iterations(self, size: int) -> int:
        """The budget training runs (default: the same as `iterations`)."""
        return self.iterations(size)

    def sample(self, batch: int, size: int, rng: np.random.Generator):
        """(inputs (B, 3, H, W) float32 tensor, targets (B, 1, H, W) float32 tensor)."""
        raise NotImplementedError

    def program(self) -> CellularProgram:
        """The exact cellular rule that solves the task."""
        raise NotImplementedError

    def to_symbols(self, x: torch.Tensor) -> np.ndarray:
        """Inputs -> (B, H, W) symbol indices of `program()` at iteration 0."""
        raise NotImplementedError

    def from_symbols(self, grid: np.ndarray) -> np.ndarray:
        """Symbol indices after the rule has run -> (B, 1, H, W) {0, 1} predictions."""
        raise NotImplementedError


@dataclass(frozen=True)
class PrefixParity(AlgoTask):
    """Target at i = XOR of bits 0..i on a 1 x n strip (bit 1 is value +1)."""

    name = "prefix-parity"

    def iterations(self, size: int) -> int:
        # Twice the n steps the exact rule needs: the trained wave moves about 0.9 cells
        # per step away from the borders, so 1.25 n is not always enough on 4096 bits.
        return 2 * self.check_size(size)

    def train_iterations(self, size: int) -> int:
        return self.check_size(size) + self.check_size(size) // 4

    def sample(self, batch: int, size: int, rng: np.random.Generator):
        n = self.check_size(size)
        bits = rng.integers(0, 2, size=(batch, n))
        x = np.stack([2.0 * bits - 1, np.zeros_like(bits), np.ones_like(bits)], axis=1)
        y = np.cumsum(bits, axis=1) % 2
        return _tensors(x[:, :, None, :], y[:, None, None, :])

    def reference(self, bits: np.ndarray) -> np.ndarray:
        return np.cumsum(bits, axis=-1) % 2

    def program(self) -> CellularProgram:
        # 'a'/'b': bit 0/1 not yet known; '0'/'1': prefix parity known. The border
        # reads as a known parity 0 on the left; the rule only looks west.
        rules = [
            Guard({"C": "a", "W": ["#", "0"]}, "0"),
            Guard({"C": "a", "W": "1"}, "1"),
            Guard({"C": "b", "W": ["#", "0"]}, "1"),
            Guard({"C": "b", "W": "1"}, "0"),
        ]
        return CellularProgram(["#", "a", "b", "0", "1"], "#", rules, {"1": 1}, name=self.name)

    def to_symbols(self, x: torch.Tensor) -> np.ndarray:
        return np.where(x[:, 0].numpy() > 0, 2, 1)

    def from_symbols(self, grid: np.ndarray) -> np.ndarray:
        return (grid == 4).astype(np.float32)[:, None]


@dataclass(frozen=True)
class FloodFill(AlgoTask):
    """Cells connected to the source through free cells (value channel -1 = wall)."""

    name = "flood-fill"
    wall_probability: float = 0.3
    min_size = 3
    stop_early = False

    def iterations(self, size: int) -> int:
        return 4 * self.check_size(size)

    def sample(self, batch: int, size: int, rng: np.random.Generator):
        n = self.check_size(size)
        walls = rng.random((batch, n, n)) < self.wall_probability
        source = np.zeros((batch, n, n), dtype=bool)
        rows, cols = rng.integers(0, n, batch), rng.integers(0, n, batch)
        source[np.arange(batch), rows, cols] = True
        walls &= ~source
        x = np.stack([np.where(walls, -1.0, 1.0), source, np.ones_like(walls)], axis=1)
        return _tensors(x, self.reference(walls, source)[:, None])

    @staticmethod
    def distances(walls: np.ndarray, source: np.ndarray) -> np.ndarray:
        """BFS distance from the source per cell (-1: unreachable), one grid (H, W)."""
        dist = np.full(walls.shape, -1)
        start = tuple(np.argwhere(source)[0])
        dist[start] = 0
        queue = deque([start])
        while queue:
            r, c = queue.popleft()
            for dr, dc in _NEIGHBOURS:
                rr, cc = r + dr, c + dc
                inside = 0 <= rr < walls.shape[0] and 0 <= cc < walls.shape[1]
                if inside and not walls[rr, cc] and dist[rr, cc] < 0:
                    dist[rr, cc] = dist[r, c] + 1
                    queue.append((rr, cc))
        return dist

    def reference(self, walls: np.ndarray, source: np.ndarray) -> np.ndarray:
        return np.stack([self.distances(w, s) >= 0 for w, s in zip(walls, source, strict=True)])

    def program(self) -> CellularProgram:
        # '#' border and walls, '.' free, 'S' reached. Exclusive guards: the first
        # reached neighbour in N, W, E, S order fires.
        order, rules = ["N", "W", "E", "S"], []
        for i, p in enumerate(order):
            rules.append(Guard({"C": ".", p: "S"} | {q: ["#", "."] for q in order[:i]}, "S"))
        return CellularProgram(["#", ".", "S"], "#", rules, {"S": 1}, name=self.name)

    def to_symbols(self, x: torch.Tensor) -> np.ndarray:
        free, source = x[:, 0].numpy() > 0, x[:, 1].numpy() > 0
        return np.where(source, 2, np.where(free, 1, 0))

    def from_symbols(self, grid: np.ndarray) -> np.ndarray:
        return (grid == 2).astype(np.float32)[:, None]


def _tensors(x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32)


ALGO_TASKS: dict[str, AlgoTask] = {t.name: t for t in (PrefixParity(), FloodFill())}


def get_algo_task(name: str) -> AlgoTask:
    if name not in ALGO_TASKS:
        raise ValueError(f"unknown task {name!r}; choose one of {sorted(ALGO_TASKS)}")
    return ALGO_TASKS[name]
