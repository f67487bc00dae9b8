"""The peer's saved maze folders (DeepThinking's inputs.npy / solutions.npy): written
by save_peer; read by read_peer / load_peer header first (sizes through the memory
guard before anything is allocated, never unpickled) and checked as the peer's own
generator makes them: 0/1 pixels (or 0/255 uint8, converted and said), one start and
one end on cells, a path between them, each solution exactly that path (with cycles: a
shortest one); the first bad file and index are named."""

from __future__ import annotations

import math
import os
import stat
import warnings
from typing import NamedTuple

import numpy as np

from .. import guard
from ..progress import bar
from .mazes import _first, distances, layout_of


def save_peer(folder: str, images: np.ndarray, targets: np.ndarray) -> None:
    """Write inputs.npy (N, 3, P, P) and solutions.npy (N, P, P), the peer's layout."""
    os.makedirs(folder, exist_ok=True)
    np.save(os.path.join(folder, "inputs.npy"), np.asarray(images, dtype=np.float32))
    np.save(
        os.path.join(folder, "solutions.npy"),
        np.asarray(targets).reshape(len(targets), *images.shape[2:]),
    )


_ZIP = b"PK\x03\x04"  # an .npz (a zip archive) under a .npy name


class Npy(NamedTuple):
    """A .npy file's header, checked: what reading its data will allocate."""

    path: str
    shape: tuple[int, ...]
    dtype: np.dtype
    fortran: bool
    offset: int  # where the data starts

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


def _open_regular(path: str):
    """The file at `path` opened for reading; a ValueError saying what it is when it is
    not a regular file (guard.what_is: never blocks on a FIFO)."""
    kind = guard.what_is(path)
    if kind:
        raise ValueError(f"{path} is {kind}, not a regular file; a .npy file was expected")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except OSError as e:
        raise ValueError(f"{path}: cannot read it ({e.strerror})") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):  # replaced since what_is looked
        os.close(fd)
        raise ValueError(f"{path} is not a regular file; a .npy file was expected")
    return os.fdopen(fd, "rb")


MAX_HEADER = 10_000  # bytes: numpy's own limit; np.save writes about 128


def _parse_header(f, path: str) -> tuple[tuple, bool, np.dtype]:
    """(shape, Fortran order, dtype) from an open .npy file, in our words when it is
    not one np.save writes (an .npz, a pickle, an empty file, a long or broken header)."""
    fmt = np.lib.format
    start = f.read(len(fmt.MAGIC_PREFIX))
    if start.startswith(_ZIP):
        raise ValueError(f"{path} is a zip archive (an .npz?), not a .npy array")
    if start != fmt.MAGIC_PREFIX:
        what = "an empty file" if not start else "a pickle" if start[:1] == b"\x80" else "data"
        raise ValueError(f"{path} is not a .npy file ({what}, no .npy header; never unpickled)")
    version = tuple(f.read(2))
    if version not in ((1, 0), (2, 0)):
        raise ValueError(f"{path}: its .npy header is version {version}, not 1.0 or 2.0")
    length = int.from_bytes(f.read(2 if version == (1, 0) else 4), "little")
    if length > MAX_HEADER:
        raise ValueError(f"{path}: its .npy header claims {length} bytes, over {MAX_HEADER}")
    f.seek(len(fmt.MAGIC_PREFIX) + 2)
    read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return read(f, max_header_size=MAX_HEADER)
    except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError, EOFError):
        raise ValueError(
            f"{path}: its .npy header cannot be read (not the dictionary of shape, dtype "
            "and order that np.save writes)"
        ) from None


def npy_header(path: str, rank: int) -> Npy:
    """Read only the header of a .npy file and refuse, before anything is allocated, what
    no np.save of a `rank`-dimensional numeric array writes: a zip (an .npz), a pickle,
    an object, structured or non-numeric dtype, an empty shape, a header claiming more
    (or less) data than the file holds."""
    with _open_regular(path) as f:
        size = os.fstat(f.fileno()).st_size
        shape, fortran, dtype = _parse_header(f, path)
        offset = f.tell()
    if dtype.hasobject:
        raise ValueError(f"{path} holds Python objects (a pickle); refused, never unpickled")
    if dtype.names is not None or dtype.subdtype is not None:
        raise ValueError(f"{path} holds a structured dtype ({dtype.descr}); numbers expected")
    if dtype.kind not in "biuf":
        raise ValueError(f"{path} holds {dtype} values; numbers expected")
    if len(shape) != rank:
        raise ValueError(f"{path} must be a {rank}-D array, got shape {shape}")
    if min(shape) < 0:
        raise ValueError(f"{path}: its .npy header claims a negative size (shape {shape})")
    if min(shape) == 0:
        raise ValueError(f"{path} is empty (shape {shape})")
    npy = Npy(path, tuple(shape), dtype, fortran, offset)
    held = size - offset
    if held != npy.nbytes:
        what = "truncated" if held < npy.nbytes else "longer than its header says"
        raise ValueError(
            f"{path} is {what}: its header claims shape {shape} of {dtype} "
            f"({guard.human(npy.nbytes)}), the file holds {guard.human(held)} of data"
        )
    return npy


def npy_data(npy: Npy) -> np.ndarray:
    """The array of a checked header (the file read again, never unpickled)."""
    with _open_regular(npy.path) as f:
        f.seek(npy.offset)
        count = math.prod(npy.shape)
        flat = np.fromfile(f, dtype=npy.dtype, count=count)
    if flat.size != count:
        raise ValueError(f"{npy.path} changed while it was read (now truncated)")
    if npy.fortran:
        return flat.reshape(npy.shape[::-1]).transpose()
    return flat.reshape(npy.shape)


def peer_headers(folder: str) -> tuple[Npy, Npy]:
    """The checked headers of a peer folder's inputs.npy (N, 3, P, P) and solutions.npy
    (N, P, P), matching in N and P: the sizes before anything is read."""
    if not os.path.isdir(folder):
        what = "not a folder" if os.path.exists(folder) else "no such folder"
        raise ValueError(f"{folder}: {what} (a maze folder holds inputs.npy and solutions.npy)")
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
