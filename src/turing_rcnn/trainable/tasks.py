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
- addition: two n-bit numbers, least significant bit first, on a 1 x (n + 1) strip
  (the last position holds the final carry); the target is the n + 1 bits of the sum.
  A local rule needs n + 1 iterations: the carry travels one cell per step.
- maze, maze-cycles: DeepThinking's mazes (mazes.py), read at their entry grid: every
  2 x 2 pixel block of the peer's image is one cell (the format makes blocks uniform;
  mazes.py checks it and maps predictions back to pixels). Size = the maze size S.
  The target is the shortest path. Dead-end filling solves perfect mazes in (longest
  dead end) + 1 iterations; with cycles the path is a shortest one (any is accepted),
  and the exact rule Lee's wave (a breadth-first wave of distances mod 3 from the start,
  then a trace back from the end), in at most twice the length of the path.

Inputs are float tensors (B, C, H, W) with C = 3: a value channel (+1/-1), a marker
channel, and a ones channel (the ones channel lets a cell tell the grid from the
zero padding around it); addition has the two bits and the ones channel, mazes the
RGB colour of each cell. Targets are {0, 1} tensors (B, 1, H, W).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..programs.cellular import CellularProgram, Guard
from . import mazes


@dataclass(frozen=True)
class AlgoTask:
    """A generated grid-to-grid task. Subclasses define the data, the reference
    algorithm and the exact cellular rule."""

    name = "task"
    in_channels = 3
    min_size = 2
    stop_early = True  # may training stop a run before the budget (see learner.py)?
    one_row = False  # inputs on a 1 x n strip

    def check_size(self, size: int) -> int:
        if not isinstance(size, (int, np.integer)) or size < self.min_size:
            raise ValueError(
                f"{self.name}: size must be an integer >= {self.min_size}, got {size!r}"
            )
        return int(size)

    def grid_cells(self, size: int) -> int:
        """Cells of the grid an input of this size occupies (for the memory guard)."""
        return size + 1 if self.one_row else size * size

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

    def correct(self, x: torch.Tensor, y: torch.Tensor, pred: np.ndarray) -> np.ndarray:
        """Per input: is the prediction right? (Here: every cell equals the target.)"""
        return (np.asarray(pred) == y.numpy()).reshape(len(pred), -1).all(1)

    def train_iterations(self, size: int) -> int:
        """The budget training runs (default: the same as `iterations`)."""
        return self.iterations(size)

    def larger(self, size: int) -> int:
        """About twice the size (the second validation set during training)."""
        return 2 * size

    def sample(self, batch: int, size: int, rng: np.random.Generator):
        """(inputs (B, 3, H, W) float32 tensor, targets (B, 1, H, W) float32 tensor)."""
        raise NotImplementedError

    def program(self) -> CellularProgram | None:
        """The exact cellular rule that solves the task (None: none written)."""
        return None

    def to_symbols(self, x: torch.Tensor) -> np.ndarray:
        """Inputs -> (B, H, W) symbol indices of `program()` at iteration 0."""
        raise NotImplementedError

    def hint(self) -> tuple[CellularProgram, list[str]] | None:
        """An exact rule over program()'s first symbols (so to_symbols starts it) whose
        trace may supervise a finite-state filter (AlgoConfig.hints), and the symbols
        cells start in; None: no hint."""
        return None

    def from_symbols(self, grid: np.ndarray) -> np.ndarray:
        """Symbol indices after the rule has run -> (B, 1, H, W) {0, 1} predictions."""
        raise NotImplementedError


@dataclass(frozen=True)
class PrefixParity(AlgoTask):
    """Target at i = XOR of bits 0..i on a 1 x n strip (bit 1 is value +1)."""

    name = "prefix-parity"
    one_row = True

    def iterations(self, size: int) -> int:
        # Twice the n steps the exact rule needs: the trained wave moves about 0.9 cells
        # per step away from the borders, so 1.25 n is not always enough on 4096 bits.
        return 2 * self.check_size(size)

    def train_iterations(self, size: int) -> int:
        return self.check_size(size) + self.check_size(size) // 4

    def sample(self, batch: int, size: int, rng: np.random.Generator):
        return self.from_bits(rng.integers(0, 2, size=(batch, self.check_size(size))))

    @staticmethod
    def from_bits(bits: np.ndarray):
        """(inputs, targets) tensors of 0/1 strings (B, n): the peer's prefix sums too."""
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
        return mazes.distances(~np.asarray(walls, dtype=bool), tuple(np.argwhere(source)[0]))

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


@dataclass(frozen=True)
class Addition(AlgoTask):
    """a + b for n-bit numbers, least significant bit first (bit 1 is value +1)."""

    name = "addition"
    one_row = True

    def iterations(self, size: int) -> int:
        return 2 * (self.check_size(size) + 1)

    def train_iterations(self, size: int) -> int:
        n = self.check_size(size) + 1
        return n + n // 4

    def sample(self, batch: int, size: int, rng: np.random.Generator):
        n = self.check_size(size)
        a, b = (np.pad(rng.integers(0, 2, size=(batch, n)), ((0, 0), (0, 1))) for _ in range(2))
        x = np.stack([2.0 * a - 1, 2.0 * b - 1, np.ones_like(a)], axis=1)
        return _tensors(x[:, :, None, :], self.reference(a, b)[:, None, None, :])

    @staticmethod
    def reference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """The bits of a + b (rows of bits, least significant first), by schoolbook carry."""
        out = np.zeros_like(a)
        carry = np.zeros(len(a), dtype=a.dtype)
        for i in range(a.shape[1]):
            total = a[:, i] + b[:, i] + carry
            out[:, i], carry = total % 2, total // 2
        return out

    SYMBOLS = ["#"] + [f"{a}{b}{c}" for c in "?01" for a in "01" for b in "01"]

    def program(self) -> CellularProgram:
        # A cell is its two bits and its carry-in ('?' until known); the border is
        # carry 0. The carry-in arrives from the west: the majority of its bits and
        # its carry-in. The readout is the sum bit a xor b xor c.
        out = {s: int(s[0]) + int(s[1]) + int(s[2]) >= 2 for s in self.SYMBOLS[5:]}
        carry = {c: ["#"] * (c == 0) + [s for s, o in out.items() if o == c] for c in (0, 1)}
        pairs = [f"{a}{b}" for a in "01" for b in "01"]
        rules = [Guard({"C": f"{ab}?", "W": carry[c]}, f"{ab}{c}") for ab in pairs for c in (0, 1)]
        readout = {s: 1.0 for s in self.SYMBOLS[5:] if (int(s[0]) + int(s[1]) + int(s[2])) % 2}
        return CellularProgram(self.SYMBOLS, "#", rules, readout, name=self.name)

    def to_symbols(self, x: torch.Tensor) -> np.ndarray:
        a, b = ((x[:, i].numpy() > 0).astype(int) for i in (0, 1))
        return 1 + 2 * a + b  # the '?' block: "00?", "01?", "10?", "11?"

    def from_symbols(self, grid: np.ndarray) -> np.ndarray:
        readout = self.program().readout
        bits = np.array([readout.get(s, 0.0) for s in self.SYMBOLS], dtype=np.float32)
        return bits[grid][:, None]


@dataclass(frozen=True)
class Maze(AlgoTask):
    """The shortest path through a maze, on its entry grid (see the module docstring).

    cycles: the fraction of inner walls knocked down after carving (0: perfect mazes)."""

    name = "maze"
    min_size = 3
    cycles: float = 0.0
    stop_early = False

    def check_size(self, size: int) -> int:
        size = super().check_size(size)
        mazes.cells_per_side(size)  # odd
        return size

    def larger(self, size: int) -> int:
        return 2 * size + 1  # maze sizes are odd

    def grid_cells(self, size: int) -> int:
        return mazes.cells_per_side(size) ** 2

    def iterations(self, size: int) -> int:
        """Enough for dead-end filling of any perfect maze this size (every open entry,
        fewer than 2 n^2), and with cycles for Lee's wave: its wave and its trace each
        walk a shortest path, no longer than the perfect maze's path (< 2 n^2)."""
        n = mazes.cells_per_side(self.check_size(size))
        return (4 if self.cycles else 2) * n * n

    def sample(self, batch: int, size: int, rng: np.random.Generator):
        layouts, starts, ends, paths = mazes.generate(
            batch, self.check_size(size), rng, self.cycles
        )
        return _tensors(*self.cells(layouts, starts, ends, paths))

    def correct(self, x: torch.Tensor, y: torch.Tensor, pred: np.ndarray) -> np.ndarray:
        """Perfect mazes: the unique path, cell for cell. With cycles: any shortest path
        from start to end (checked by BFS, mazes.valid_shortest_paths)."""
        if not self.cycles:
            return super().correct(x, y, pred)
        return mazes.valid_shortest_paths(self.to_pixels(x.numpy()), self.to_pixels(pred))

    @staticmethod
    def cells(layouts, starts, ends, paths=None):
        """Entry-grid inputs (B, 3, H, W): the RGB colour of each entry; targets."""
        images, targets = mazes.render(
            layouts, starts, ends, np.zeros_like(layouts) if paths is None else paths
        )
        return images[:, :, 1:-1:2, 1:-1:2], targets[:, None, 1:-1:2, 1:-1:2]

    @staticmethod
    def from_pixels(images, targets=None):
        """The peer's (N, 3, P, P) images (and (N, 1, P, P) targets) as entry grids."""
        images = np.asarray(images, dtype=np.float32)
        mazes.layout_of(images)  # uniform 2 x 2 blocks, one start, one end
        x = images[:, :, 1:-1:2, 1:-1:2]
        return x if targets is None else (x, np.asarray(targets)[:, :, 1:-1:2, 1:-1:2])

    @staticmethod
    def to_pixels(cells: np.ndarray) -> np.ndarray:
        """Entry-grid predictions (B, 1, H, W) -> the peer's (B, 1, P, P) masks."""
        blown = np.repeat(np.repeat(np.asarray(cells), 2, axis=-1), 2, axis=-2)
        return np.pad(blown, [(0, 0)] * (blown.ndim - 2) + [(1, 1), (1, 1)])

    def program(self) -> CellularProgram:
        if self.cycles:
            return self._lee()
        return self._dead_end_filling(["#", "x"], name=self.name)

    @staticmethod
    def _dead_end_filling(closed: list[str], extra=(), name: str = "maze") -> CellularProgram:
        """Dead-end filling: an open entry with at most one open neighbour fills ('x');
        start 'S' and end 'E' never fill. What stays open is the path."""
        opened, sides = [".", "S", "E"], ["N", "W", "E", "S"]
        rules = [
            Guard({"C": "."} | {p: opened if i == k else closed for i, p in enumerate(sides)}, "x")
            for k in range(-1, 4)  # no open side, or only side k open
        ]
        readout = {s: 1.0 for s in opened}
        return CellularProgram(["#", ".", "S", "E", "x"], "#", [*rules, *extra], readout, name=name)

    def hint(self) -> tuple[CellularProgram, list[str]] | None:
        """Perfect mazes: the walls fill ('x') at the first step, and dead-end filling
        counts only 'x' as closed, so it starts one step later, once every wall is 'x':
        the answer is then a function of the symbol alone (a DiscreteFilter's readout
        sees only its state), 2 states on the cross, open and filled. With cycles: Lee's
        wave where the start first becomes 'Q' (distance 0 and on the path), so again
        the state alone says the answer: 17 states on the cross."""
        starts = [".", "S", "E", "#"]
        if self.cycles:
            return self._lee(hint=True), starts
        walls = Guard({"C": "#"}, "x")
        return self._dead_end_filling(["x"], [walls], "maze hint"), starts

    SIDES = {"N": "S", "W": "E", "E": "W", "S": "N"}  # each side and its opposite

    def _lee(self, hint: bool = False) -> CellularProgram:
        """Lee's wave, finite-state: a breadth-first wave from the start 'S' labels each
        open entry with its distance mod 3 ('L0'..'L2'; 'S' is 0: neighbours of a cell
        first reached all hold the same label, one less). The end, once reached, and
        then each labelled entry a path entry points at, become path entries 'P<j><d>'
        pointing to their first neighbour (N, W, E, S order) labelled one less: a trace
        back along strictly decreasing distance, so a shortest path (dead-end filling
        keeps whole cycles). Answers: the path entries and the start. hint: the start
        steps to 'Q' at the first layer (Maze.hint)."""
        sides, opposite = list(self.SIDES), self.SIDES
        path = [f"P{j}{d}" for j in range(3) for d in sides]
        start = ["S", "Q"] if hint else ["S"]
        symbols = ["#", ".", "S", "E", "L0", "L1", "L2", *path, *start[1:]]

        def label(j: int) -> list[str]:
            return [f"L{j}"] + [f"P{j}{d}" for d in sides] + start * (j == 0)

        def pointing(side: str) -> list[str]:  # path entries there that point back here
            return [f"P{k}{opposite[side]}" for k in range(3)]

        def without(names: list[str], allowed: list[str]) -> list[str]:
            return [s for s in allowed if s not in names]

        rules = []
        for i, p in enumerate(sides):  # the wave; the end becomes the path's head
            unlabelled = {q: ["#", ".", "E"] for q in sides[:i]}
            for j in range(3):
                rules.append(Guard({"C": ".", p: label(j)} | unlabelled, f"L{(j + 1) % 3}"))
                rules.append(Guard({"C": "E", p: label(j)} | unlabelled, f"P{(j + 1) % 3}{p}"))
        for j in range(3):  # the trace: pointed at from side p, point to the first j - 1
            for i, p in enumerate(sides):
                for i2, q in enumerate(sides):
                    if q == p:
                        continue
                    when = {"C": [f"L{j}"], p: pointing(p), q: label((j - 1) % 3)}
                    for r in sides[:i]:  # no earlier side points here
                        when[r] = without(pointing(r), when.get(r, symbols))
                    for r in sides[:i2]:  # no earlier side is labelled j - 1
                        when[r] = without(label((j - 1) % 3), when.get(r, symbols))
                    if all(when.values()):
                        rules.append(Guard(when, f"P{j}{q}"))
        if hint:
            rules.append(Guard({"C": "S"}, "Q"))
        readout = {s: 1.0 for s in [*start, *path]}
        return CellularProgram(symbols, "#", rules, readout, name=self.name + " hint" * hint)

    def to_symbols(self, x: torch.Tensor) -> np.ndarray:
        r, g, b = (x[:, i].numpy() > 0.5 for i in range(3))
        return np.where(r & g & b, 1, np.where(g & ~r, 2, np.where(r & ~g, 3, 0)))

    def from_symbols(self, grid: np.ndarray) -> np.ndarray:
        path = (2, *range(7, 19)) if self.cycles else (1, 2, 3)  # see program()
        return np.isin(grid, path).astype(np.float32)[:, None]


def _tensors(x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32)


ALGO_TASKS: dict[str, AlgoTask] = {
    "prefix-parity": PrefixParity(),
    "flood-fill": FloodFill(),
    "addition": Addition(),
    "maze": Maze(),
    "maze-cycles": Maze(cycles=0.1),
}


def get_algo_task(name: str) -> AlgoTask:
    if name not in ALGO_TASKS:
        raise ValueError(f"unknown task {name!r}; choose one of {sorted(ALGO_TASKS)}")
    return ALGO_TASKS[name]
