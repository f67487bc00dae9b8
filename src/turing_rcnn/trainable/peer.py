"""The peer's saved maze folders (DeepThinking's inputs.npy / solutions.npy): written
by write_mazes (the peer's float64, as `turing-rcnn data maze` does) or save_peer;
told from a prefix-sum folder (peer_sums.py) by folders.folder_kind; read by read_peer /
load_peer header first (sizes through the memory guard before anything is allocated,
never unpickled) and checked as the peer's own
generator makes them: 0/1 pixels (or 0/255 uint8, converted and said), one start and
one end on cells, a path between them, each solution exactly that path (with cycles: a
shortest one); the first bad file and index are named."""

from __future__ import annotations

import math
import os
from typing import NamedTuple

import numpy as np

from .. import guard
from ..progress import bar
from .folders import (
    NAMES,
    Npy,
    check_disk,
    check_out_folder,
    need_peer_folder,
    npy_data,
    npy_header,
    write_arrays,
)
from .mazes import _first, check_start, distances, generate, layout_of, pixels, render


def save_peer(folder: str, images: np.ndarray, targets: np.ndarray) -> None:
    """Write inputs.npy (N, 3, P, P) and solutions.npy (N, P, P), the peer's layout."""
    os.makedirs(folder, exist_ok=True)
    np.save(os.path.join(folder, "inputs.npy"), np.asarray(images, dtype=np.float32))
    np.save(
        os.path.join(folder, "solutions.npy"),
        np.asarray(targets).reshape(len(targets), *images.shape[2:]),
    )


def peer_headers(folder: str) -> tuple[Npy, Npy]:
    """The checked headers of a peer folder's inputs.npy (N, 3, P, P) and solutions.npy
    (N, P, P), matching in N and P: the sizes before anything is read."""
    need_peer_folder(folder, "a maze folder")
    images = npy_header(os.path.join(folder, "inputs.npy"), 4)
    targets = npy_header(os.path.join(folder, "solutions.npy"), 3)
    n, channels, side, side2 = images.shape
    if channels != 3 or side != side2:
        raise ValueError(f"{images.path}: maze images must be (N, 3, P, P), got {images.shape}")
    if targets.shape != (n, side, side):
        raise ValueError(
            f"{targets.path} must be of shape {(n, side, side)} to match inputs.npy "
            f"{images.shape}, got {targets.shape}"
        )
    return images, targets


def peer_bytes(headers: tuple[Npy, Npy]) -> float:
    """Memory to read and check a peer folder: the raw arrays, float32 copies and the
    checks' masks (a byte per value)."""
    values = sum(math.prod(h.shape) for h in headers)
    return sum(h.nbytes for h in headers) + 7.0 * values  # float32 + 3 masks


def _binary(a: np.ndarray, name: str) -> tuple[np.ndarray, bool]:
    """An array of exactly 0 and 1 as float32 (and whether it was converted from the
    0/255 of a uint8 image); a ValueError naming the first bad index otherwise."""
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        raise ValueError(f"{name}[{_first(~np.isfinite(a))}] holds NaN or infinite values")
    if a.dtype == np.uint8 and (a == 255).any() and np.isin(a, (0, 255)).all():
        return (a == 255).astype(np.float32), True
    bad = (a != 0) & (a != 1)
    if bad.any():
        i = _first(bad)
        value = a[i][bad[i]].flat[0]
        hint = ""
        if value == 255:
            hint = " (0/255 is read as 0/1 only from uint8 arrays of 0 and 255 alone)"
        raise ValueError(f"{name}[{i}] holds the value {value!s}; pixels must be 0 or 1{hint}")
    return a.astype(np.float32), False


_CROSS = np.zeros((3, 3, 3), dtype=bool)  # 4-neighbours within one maze, never across mazes
_CROSS[1] = [[0, 1, 0], [1, 1, 1], [0, 1, 0]]


def _path_problem(lay: np.ndarray, s, e, path: np.ndarray, label, tree: bool) -> str | None:
    """Why the entry mask `path` is not the path from s to e of the layout `lay`
    (None: it is; in a maze with cycles, any shortest path is)."""
    if (path & (lay == 0)).any():
        return "it marks a wall"
    if not (path[s] and path[e]):
        return "it leaves out the start or the end"
    padded = np.pad(path, 1).astype(np.int8)
    degree = padded[:-2, 1:-1] + padded[2:, 1:-1] + padded[1:-1, :-2] + padded[1:-1, 2:]
    want = np.full(lay.shape, 2)
    want[s] = want[e] = 1
    if (path & (degree != want)).any() or (path & (label != label[s])).any():
        return "it is not one unbroken line from the start to the end"
    shortest = int(distances(lay, s)[e]) + 1 if not tree else path.sum()
    if path.sum() != shortest:
        return f"{path.sum()} entries, a shortest path has {shortest}"
    return None


def check_paths(layouts, starts, ends, paths, inputs: str, solutions: str, progress=False):
    """Every maze has a path from start to end, and each mask in `paths` (entry grids)
    is exactly it (with cycles: a shortest path); a ValueError naming the first bad index.
    progress: a bar over the mazes."""
    from scipy import ndimage

    rows = np.arange(len(layouts))
    maze, _ = ndimage.label(layouts, structure=_CROSS)
    at_start = maze[rows, starts[:, 0], starts[:, 1]]
    cut = at_start != maze[rows, ends[:, 0], ends[:, 1]]
    if cut.any():
        raise ValueError(f"{inputs}[{_first(cut)}] has no path from its start to its end")
    mine = maze == at_start[:, None, None]  # the start's component: a tree in a perfect maze
    down = (mine[:, 1:] & mine[:, :-1]).sum((1, 2))
    right = (mine[:, :, 1:] & mine[:, :, :-1]).sum((1, 2))
    trees = down + right == mine.sum((1, 2)) - 1  # as many edges as nodes - 1
    line, _ = ndimage.label(paths, structure=_CROSS)
    name = os.path.basename(inputs)
    desc = f"checking the paths of {solutions}"
    with bar(desc, len(paths), progress, unit="maze", leave=False) as shown:
        for i, (lay, s, e, path) in enumerate(zip(layouts, starts, ends, paths, strict=True)):
            problem = _path_problem(lay, tuple(s), tuple(e), path, line[i], trees[i])
            if problem:
                raise ValueError(f"{solutions}[{i}] is not the path of {name}[{i}] ({problem})")
            shown.update(1)


def _solution_cells(targets: np.ndarray, name: str, maze: str) -> np.ndarray:
    """The entry masks (N, H, W) of 0/1 solution images (N, P, P): whole 2 x 2 blocks
    inside a 0 border, or a ValueError naming the first that is not."""
    cells = targets[:, 1:-1:2, 1:-1:2] > 0
    again = np.pad(np.repeat(np.repeat(cells, 2, 1), 2, 2), ((0, 0), (1, 1), (1, 1)))
    blocks = again != (targets > 0)
    if blocks.any():
        i = _first(blocks)
        raise ValueError(f"{name}[{i}] is not the path of {maze}[{i}] (not whole 2 x 2 blocks)")
    return cells


class Peer(NamedTuple):
    images: np.ndarray  # (N, 3, P, P) float32
    targets: np.ndarray  # (N, 1, P, P) float32
    converted: list[str]  # the files whose 0/255 uint8 pixels were read as 0/1


def read_peer(folder: str, progress: bool = False) -> Peer:
    """A peer folder read and checked as the peer's generator makes it: headers first
    (sizes through the memory guard), pixels exactly 0 or 1 (0/255 uint8 converted, and
    said), finite, one start and one end on cells, a path between them, and every
    solution exactly its maze's path; one ValueError naming the file otherwise."""
    headers = peer_headers(folder)
    n, _, side, _ = headers[0].shape
    guard.check_memory(peer_bytes(headers), f"reading {folder} ({n} mazes, {side} x {side} px)")
    (images, a), (targets, b) = (_binary(npy_data(h), h.path) for h in headers)
    inputs, solutions = (h.path for h in headers)
    layouts, starts, ends = layout_of(images, inputs)
    cells = _solution_cells(targets, solutions, os.path.basename(inputs))
    check_paths(layouts, starts, ends, cells, inputs, solutions, progress)
    converted = [h.path for h, c in zip(headers, (a, b), strict=True) if c]
    return Peer(images, targets[:, None], converted)


def load_peer(folder: str) -> tuple[np.ndarray, np.ndarray]:
    """(inputs (N, 3, P, P) float32, solutions (N, 1, P, P) float32) from a folder
    holding the peer's inputs.npy and solutions.npy, checked (read_peer)."""
    peer = read_peer(folder)
    return peer.images, peer.targets


# ---- writing a folder in the peer's layout (turing-rcnn data) --------------------------

CHUNK_PIXELS = 2**21  # mazes are drawn this many image pixels at a time (seeded per chunk)


def maze_bytes(count: int, size: int) -> float:
    """Memory to write `count` mazes: float64 images (N, 3, P, P) and solutions (N, P, P),
    and one chunk's drawing and rendering (about 100 bytes a pixel)."""
    return 32.0 * count * pixels(size) ** 2 + 100.0 * max(CHUNK_PIXELS, pixels(size) ** 2)


def write_mazes(
    folder: str,
    size: int,
    count: int,
    seed: int,
    cycles: float = 0.0,
    start: str = "random",
    progress: bool = False,
    force: bool = False,
) -> dict:
    """Write `count` mazes of `size` into `folder` in the peer's layout and dtypes:
    inputs.npy (N, 3, P, P) float64 and solutions.npy (N, P, P) float64 (their generator
    writes float64; their loader casts to float32 and int64). Drawn by mazes.generate in
    chunks of CHUNK_PIXELS // P^2 mazes from np.random.default_rng(seed): the same seed,
    size, count, cycles and start give the same bytes, and up to one chunk (136 mazes of
    size 59, 3 640 of size 9) the mazes of mazes.generate(count, size, rng, ...). Refused
    before any work: a bad folder (check_out_folder), sizes beyond memory or disk.
    {file: {shape, dtype}}."""
    P, rng = pixels(size), np.random.default_rng(seed)
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    if not 0 <= cycles <= 1:
        raise ValueError(f"cycles must be between 0 and 1, got {cycles}")
    check_start(start, cycles)
    check_out_folder(folder, force)
    guard.check_memory(maze_bytes(count, size), f"{count} mazes of size {size} ({P} x {P} px)")
    check_disk(folder, 32.0 * count * P * P)
    images = np.empty((count, 3, P, P), dtype=np.float64)
    solutions = np.empty((count, P, P), dtype=np.float64)
    chunk = max(1, CHUNK_PIXELS // (P * P))
    with bar(f"drawing {count} mazes of size {size}", count, progress, unit="maze") as shown:
        for a in range(0, count, chunk):
            b = min(count, a + chunk)
            images[a:b], solutions[a:b] = render(*generate(b - a, size, rng, cycles, start))
            shown.update(b - a)
    return write_arrays(folder, {NAMES[0]: images, NAMES[1]: solutions}, force, progress)
