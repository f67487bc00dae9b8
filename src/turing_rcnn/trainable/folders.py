"""The peer's folders on disk (DeepThinking's inputs.npy and solutions.npy), at the
level of files: each .npy read header first (a regular file, a numeric dtype, the size
its header claims, through the memory guard before anything is allocated; never
unpickled); which kind a folder holds (mazes or prefix sums); a folder checked before
it is written and its two arrays written atomically. peer.py checks and writes maze
folders, peer_sums.py prefix-sum folders."""

from __future__ import annotations

import math
import os
import stat
import warnings
from typing import NamedTuple

import numpy as np

from .. import guard
from ..progress import heartbeat

NAMES = ("inputs.npy", "solutions.npy")


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


def npy_header(path: str, rank: int | None) -> Npy:
    """Read only the header of a .npy file and refuse, before anything is allocated, what
    no np.save of a `rank`-dimensional (None: any rank >= 1) numeric array writes: a zip
    (an .npz), a pickle, an object, structured or non-numeric dtype, an empty shape, a
    header claiming more (or less) data than the file holds."""
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
    if rank is not None and len(shape) != rank:
        raise ValueError(f"{path} must be a {rank}-D array, got shape {shape}")
    if not shape:
        raise ValueError(f"{path} holds a single value (a 0-D array); an array was expected")
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


def need_peer_folder(folder: str, what: str) -> None:
    if not os.path.isdir(folder):
        said = "not a folder" if os.path.exists(folder) else "no such folder"
        raise ValueError(f"{folder}: {said} ({what} holds inputs.npy and solutions.npy)")


KINDS = ("maze", "prefix-sums")  # what a peer folder holds, told by folder_kind


def folder_kind(folder: str) -> str:
    """What a peer folder holds: "maze" (inputs.npy 4-D: (N, 3, P, P)) or "prefix-sums"
    (3-D: (N, 1, L)), from the header of inputs.npy alone (checked as npy_header checks
    it); a ValueError naming the file otherwise. read_peer / peer_sums.read_prefix_sums
    then check the folder."""
    need_peer_folder(folder, "a peer folder")
    inputs = npy_header(os.path.join(folder, "inputs.npy"), None)
    rank = len(inputs.shape)
    if rank in (3, 4):
        return KINDS[4 - rank]
    raise ValueError(
        f"{inputs.path} is a {rank}-D array of shape {inputs.shape}; a maze folder's "
        "inputs.npy is (N, 3, P, P), a prefix-sum folder's (N, 1, L)"
    )


def check_out_folder(folder: str, force: bool, name: str = "folder", files=NAMES) -> None:
    """Refuse, before any work, a folder to write into (called `name` in messages) that
    is empty as a path, a file or special file, under a missing or unwritable parent, or
    a folder that is not empty (unless force: then its `files` are replaced, never a
    folder or special file under those names)."""
    if not folder:
        raise ValueError(f"{name} is empty; give a folder")
    kind = guard.what_is(folder)
    if os.path.lexists(folder) and not (kind or "").endswith("a folder"):
        raise ValueError(f"{name} {folder} is {kind or 'a file'}; give a new or empty folder")
    if not os.path.isdir(folder):
        guard.need_folder(folder)  # the parent exists and is writable (or runs/...)
        return
    guard.need_folder(os.path.join(folder, files[0]))
    held = os.listdir(folder)
    if held and not force:
        raise ValueError(
            f"{name} {folder} is not empty ({len(held)} entries); choose a new or empty "
            "folder or pass --force (nothing written)"
        )
    guard.refuse_existing(*(os.path.join(folder, n) for n in files), force=True)


def check_disk(folder: str, nbytes: float) -> None:
    """A ValueError when the disk that will hold `folder` has less than `nbytes` free."""
    place = folder
    while place and not os.path.isdir(place):
        place = os.path.dirname(place)
    st = os.statvfs(place or ".")
    if nbytes > st.f_bavail * st.f_frsize:
        raise ValueError(
            f"{folder}: the files need about {guard.human(nbytes)}, the disk has "
            f"{guard.human(st.f_bavail * st.f_frsize)} free (nothing written)"
        )


def write_arrays(folder: str, arrays: dict, force: bool = False, progress=False) -> dict:
    """Save each array as folder/NAME atomically (temporary names, both published only
    when both are written; an existing file replaced only with force); the folder made
    if missing (and removed again if the writing fails). {name: {shape, dtype}}."""
    made = not os.path.isdir(folder)
    os.makedirs(folder, exist_ok=True)
    try:
        with heartbeat(f"writing {folder}", progress, leave=False):
            paths = [os.path.join(folder, n) for n in arrays]
            with guard.atomic_path(paths[0], force) as a, guard.atomic_path(paths[1], force) as b:
                for tmp, array in zip((a, b), arrays.values(), strict=True):
                    np.save(tmp, array, allow_pickle=False)
    except BaseException:
        if made and not os.listdir(folder):
            os.rmdir(folder)
        raise
    return {n: {"shape": list(a.shape), "dtype": str(a.dtype)} for n, a in arrays.items()}
