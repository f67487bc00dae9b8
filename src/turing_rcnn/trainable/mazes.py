"""Mazes in DeepThinking's format (Schwarzschild et al. 2021; Bansal et al. 2022):
generator, shortest paths, reading an image back to its layout, and the path checker
(the peer's saved folders: peer.py).

A maze of size S (odd) has n = (S + 1) / 2 cells per side. Its layout is a
(2n+1) x (2n+1) array of entries: 1 = open (cell centres and knocked-down walls),
0 = wall. A perfect maze (one path between any two cells) is carved by randomised
depth-first search (the recursive backtracker) from a random cell; `cycles` = p then
knocks down each remaining inner wall between two cells with probability p. Start and
end are two distinct random cells; with start="dead-end" the start is a random dead
end (a cell with exactly one open neighbouring entry: Knutson et al. 2024 report that
DeepThinking-style networks fail on such starts) and the end another random cell. The
image draws every entry as 2 x 2 pixels inside a 1-pixel black border, P = 2 (2n + 1)
+ 2 pixels a side: open white (1, 1, 1), walls black, the start green (0, 1, 0), the
end red (1, 0, 0). The target is the P x P mask of the shortest path from start to end
(start and end included; in a perfect maze the only path; with cycles the first found
by breadth-first search in the order up, left, right, down). Sizes: 9 -> 24 px, 59 ->
124, 201 -> 408, 801 -> 1608.
"""

from __future__ import annotations

from collections import deque

import numpy as np

_STEPS = ((-1, 0), (0, -1), (0, 1), (1, 0))  # up, left, right, down: the BFS order


def cells_per_side(size: int) -> int:
    if size < 3 or size % 2 == 0:
        raise ValueError(f"maze size must be odd and >= 3, got {size}")
    return (size + 1) // 2


def pixels(size: int) -> int:
    """P, the image side for a maze of this size."""
    return 2 * (2 * cells_per_side(size) + 1) + 2


def carve(batch: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """(batch, 2n+1, 2n+1) layouts of perfect mazes by randomised DFS, all mazes of the
    batch stepping together (every DFS takes exactly 2 (n^2 - 1) steps)."""
    N, rows = n * n, np.arange(batch)
    layout = np.zeros((batch, 2 * n + 1, 2 * n + 1), dtype=np.uint8)
    visited = np.zeros((batch, N), dtype=bool)
    stack = np.zeros((batch, N), dtype=np.int64)
    top = np.zeros(batch, dtype=np.int64)
    stack[:, 0] = rng.integers(0, N, batch)
    visited[rows, stack[:, 0]] = True
    layout[rows, 1 + 2 * (stack[:, 0] // n), 1 + 2 * (stack[:, 0] % n)] = 1
    for _ in range(2 * (N - 1)):
        here = stack[rows, top]
        r, c = here // n, here % n
        nr = r[:, None] + np.array([s[0] for s in _STEPS])
        nc = c[:, None] + np.array([s[1] for s in _STEPS])
        inside = (nr >= 0) & (nr < n) & (nc >= 0) & (nc < n)
        nb = np.where(inside, nr * n + nc, 0)
        free = inside & ~visited[rows[:, None], nb]
        pick = np.argmax(np.where(free, rng.random((batch, 4)), -1.0), axis=1)
        push = free.any(1)
        go = nb[rows, pick]
        b = rows[push]
        visited[b, go[push]] = True
        top[push] += 1
        stack[b, top[push]] = go[push]
        r2, c2 = nr[rows, pick][push], nc[rows, pick][push]
        layout[b, 1 + 2 * r2, 1 + 2 * c2] = 1
        layout[b, 1 + r[push] + r2, 1 + c[push] + c2] = 1  # the wall between
        top[~push] -= 1
    return layout


def knock_walls(layout: np.ndarray, p: float, rng: np.random.Generator) -> np.ndarray:
    """Each inner wall between two cells removed with probability p (makes cycles)."""
    out = layout.copy()
    walls = np.zeros(out.shape, dtype=bool)
    walls[:, 1:-1:2, 2:-1:2] = True  # between horizontal neighbours
    walls[:, 2:-1:2, 1:-1:2] = True  # between vertical neighbours
    out[walls & (out == 0) & (rng.random(out.shape) < p)] = 1
    return out


def shortest_path(layout: np.ndarray, start: tuple, end: tuple) -> np.ndarray:
    """Boolean mask of the entries on the BFS shortest path (fixed tie-break) of one
    layout; raises if end is unreachable."""
    H, W = layout.shape
    parent = np.full((H, W, 2), -1, dtype=np.int64)
    parent[start] = start
    queue = deque([start])
    while queue:
        r, c = queue.popleft()
        if (r, c) == end:
            break
        for dr, dc in _STEPS:
            rr, cc = r + dr, c + dc
            if 0 <= rr < H and 0 <= cc < W and layout[rr, cc] and parent[rr, cc, 0] < 0:
                parent[rr, cc] = (r, c)
                queue.append((rr, cc))
    if parent[end][0] < 0:
        raise ValueError("the end is not reachable from the start")
    mask = np.zeros((H, W), dtype=bool)
    here = end
    while here != start:
        mask[here] = True
        here = tuple(parent[here])
    mask[start] = True
    return mask


def distances(layout: np.ndarray, start: tuple) -> np.ndarray:
    """BFS distance of every entry from start (-1: unreachable or wall)."""
    H, W = layout.shape
    dist = np.full((H, W), -1, dtype=np.int64)
    dist[start] = 0
    queue = deque([start])
    while queue:
        r, c = queue.popleft()
        for dr, dc in _STEPS:
            rr, cc = r + dr, c + dc
            if 0 <= rr < H and 0 <= cc < W and layout[rr, cc] and dist[rr, cc] < 0:
                dist[rr, cc] = dist[r, c] + 1
                queue.append((rr, cc))
    return dist


STARTS = ("random", "dead-end")  # where generate() puts the start
REDRAWS = 100  # rounds of drawing again the mazes with cycles left without a dead end


def dead_ends(layouts: np.ndarray) -> np.ndarray:
    """(B, n, n) bool: the cells with exactly one open neighbouring entry."""
    up, down = layouts[:, 0:-2:2, 1::2], layouts[:, 2::2, 1::2]
    left, right = layouts[:, 1::2, 0:-2:2], layouts[:, 1::2, 2::2]
    return up.astype(np.int8) + down + left + right == 1


def _draw(batch: int, n: int, rng: np.random.Generator, cycles: float) -> np.ndarray:
    layouts = carve(batch, n, rng)
    return knock_walls(layouts, cycles, rng) if cycles else layouts


def check_start(start: str, cycles: float) -> None:
    """A ValueError unless `start` is one of STARTS and can be met with these cycles."""
    if start not in STARTS:
        raise ValueError(f"start must be one of {list(STARTS)}, got {start!r}")
    if start == "dead-end" and cycles >= 1:
        raise ValueError("a dead-end start needs cycles < 1 (with every inner wall knocked "
                         "down no cell is a dead end)")  # fmt: skip


def _dead_end_starts(layouts: np.ndarray, n, rng, cycles: float) -> np.ndarray:
    """A random dead end of each maze (cell indices r n + c). A maze whose knocked-down
    walls left it no dead end is drawn again (in place), up to REDRAWS rounds."""
    for _ in range(REDRAWS):
        lacking = ~dead_ends(layouts).any((1, 2))
        if not lacking.any():
            break
        layouts[lacking] = _draw(int(lacking.sum()), n, rng, cycles)
    else:
        raise ValueError(
            f"{int(lacking.sum())} mazes of {n} x {n} cells with cycles {cycles} still had "
            f"no dead end after {REDRAWS} draws; lower cycles or use start='random'"
        )
    ends = dead_ends(layouts).reshape(len(layouts), -1)
    pick = (rng.random(len(layouts)) * ends.sum(1)).astype(np.int64)  # the pick-th dead end
    return np.argmax(np.cumsum(ends, 1) > pick[:, None], axis=1)


def generate(
    batch: int, size: int, rng: np.random.Generator, cycles: float = 0.0, start: str = "random"
):
    """(layouts, starts, ends, path masks) of `batch` mazes of this size. start: "random"
    (any cell) or "dead-end" (a cell with one open neighbour; with cycles, a maze left
    with none is drawn again); the end is another random cell."""
    check_start(start, cycles)
    n = cells_per_side(size)
    layouts = _draw(batch, n, rng, cycles)
    if start == "dead-end":
        first = _dead_end_starts(layouts, n, rng, cycles)
    else:
        first = rng.integers(0, n * n, batch)
    second = (first + rng.integers(1, n * n, batch)) % (n * n)  # distinct from first
    starts = np.stack([1 + 2 * (first // n), 1 + 2 * (first % n)], 1)
    ends = np.stack([1 + 2 * (second // n), 1 + 2 * (second % n)], 1)
    paths = np.stack(
        [
            shortest_path(lay, tuple(s), tuple(e))
            for lay, s, e in zip(layouts, starts, ends, strict=True)
        ]
    )
    return layouts, starts, ends, paths


def render(layouts: np.ndarray, starts: np.ndarray, ends: np.ndarray, paths: np.ndarray):
    """Images (B, 3, P, P) float32 and targets (B, P, P) float32 in the peer's format."""
    B = len(layouts)
    rows = np.arange(B)
    rgb = np.repeat(layouts[:, None].astype(np.float32), 3, axis=1)
    rgb[rows, 0, starts[:, 0], starts[:, 1]] = 0.0  # start: green (0, 1, 0)
    rgb[rows, 2, starts[:, 0], starts[:, 1]] = 0.0
    rgb[rows, 1, ends[:, 0], ends[:, 1]] = 0.0  # end: red (1, 0, 0)
    rgb[rows, 2, ends[:, 0], ends[:, 1]] = 0.0

    def blow_up(a: np.ndarray) -> np.ndarray:  # every entry -> 2 x 2 pixels, 1-pixel border
        a = np.repeat(np.repeat(a, 2, axis=-1), 2, axis=-2)
        pad = [(0, 0)] * (a.ndim - 2) + [(1, 1), (1, 1)]
        return np.pad(a, pad)

    return blow_up(rgb), blow_up(paths.astype(np.float32))


def _first(bad: np.ndarray) -> int:
    """The index of the first maze flagged in `bad` (one flag per maze, or per pixel)."""
    return int(np.flatnonzero(bad.reshape(len(bad), -1).any(1))[0])


COLOURS = {0: "wall", 7: "open", 2: "start", 4: "end"}  # 4 r + 2 g + b of an entry


def layout_of(
    images: np.ndarray, name: str = "images"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(layouts, starts, ends) read back from images (B, 3, P, P) in the peer's format;
    raises ValueError naming the first maze (`name[i]`) that does not fit the format."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1] != 3 or images.shape[2] != images.shape[3]:
        raise ValueError(f"{name}: maze images must be (N, 3, P, P), got {images.shape}")
    P = images.shape[2]
    if P < 8 or (P - 2) % 4 != 2:
        raise ValueError(f"{name}: a maze image side is 2 (2n + 1) + 2 pixels, got {P}")
    entries = images[:, :, 1:-1:2, 1:-1:2]  # one pixel per entry
    blocks = images[:, :, 1:-1, 1:-1].reshape(len(images), 3, P // 2 - 1, 2, P // 2 - 1, 2)
    split = blocks != entries[:, :, :, None, :, None]
    if split.any():
        raise ValueError(f"{name}[{_first(split)}]: every maze entry must be a uniform 2 x 2 block")
    rows, cols = images[:, :, [0, -1], :], images[:, :, :, [0, -1]]
    border = np.concatenate([rows.reshape(len(images), -1), cols.reshape(len(images), -1)], 1)
    if border.any():
        raise ValueError(f"{name}[{_first(border)}]: the 1-pixel border must be black")
    rgb = entries > 0.5
    colour = 4 * rgb[:, 0] + 2 * rgb[:, 1] + rgb[:, 2]
    odd = ~np.isin(colour, list(COLOURS))
    if odd.any():
        raise ValueError(
            f"{name}[{_first(odd)}]: an entry is neither black (wall), white (open), "
            "green (start) nor red (end)"
        )
    for code, what in ((2, "green start"), (4, "red end")):
        count = (colour == code).sum((1, 2))
        if (count != 1).any():
            i = int(np.flatnonzero(count != 1)[0])
            raise ValueError(
                f"{name}[{i}] has {count[i]} {what}s; every maze needs exactly one green "
                "start and one red end"
            )
    starts = np.argwhere(colour == 2)[:, 1:]
    ends = np.argwhere(colour == 4)[:, 1:]
    off = ((starts % 2 == 0) | (ends % 2 == 0)).any(1)
    if off.any():
        raise ValueError(
            f"{name}[{_first(off)}]: the start and the end must be maze cells (odd entry "
            "coordinates), not on a wall"
        )
    ring = colour != 0
    ring[:, 1:-1, 1:-1] = False
    if ring.any():
        raise ValueError(f"{name}[{_first(ring)}]: a maze's outer ring must be wall")
    return (colour != 0).astype(np.uint8), starts, ends


def valid_shortest_paths(images: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """Per maze: is the predicted P x P mask exactly a shortest path from start to end?
    (whole 2 x 2 blocks, open entries only, start and end on it, connected, and as
    many entries as the BFS distance + 1: a connected set that size holding both ends
    is a shortest path). Accepts every shortest path, whatever its tie-break."""
    layouts, starts, ends = layout_of(images)
    predictions = np.asarray(predictions).reshape(len(layouts), *images.shape[2:]) > 0.5
    ok = np.zeros(len(layouts), dtype=bool)
    for i, (lay, s, e, pred) in enumerate(zip(layouts, starts, ends, predictions, strict=True)):
        cells = pred[1:-1:2, 1:-1:2]
        again = np.pad(np.repeat(np.repeat(cells, 2, 0), 2, 1), 1)
        if not np.array_equal(again, pred) or (cells & (lay == 0)).any():
            continue
        s, e = tuple(s), tuple(e)
        if not (cells[s] and cells[e]):
            continue
        reach = distances(cells.astype(np.uint8), s)
        ok[i] = reach[e] >= 0 and cells.sum() == distances(lay, s)[e] + 1
    return ok
