"""Hostile peer data and big requests (issue 34, items 4 and 6).

Peer folders (DeepThinking's inputs.npy / solutions.npy) are checked as the peer's own
generator makes them: every .npy through its header first (no pickle, no zip, no
structured or object dtype, nothing empty, truncated or beyond the memory guard), then
pixels exactly 0 or 1 (0/255 uint8 read as 0/1 and said in the report), finite, one
start and one end on cells, a path between them, and each solution exactly its maze's
path. Each hostile folder goes through `train-algo --data` and must give exit code 2,
ONE line naming the file (and the first bad index), no traceback, no file changed,
within seconds. Big requests show a bar with a count and an ETA within 2 s."""

from __future__ import annotations

import io
import json
import os
import pickle
import re
import socket
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import Clock, refused, snapshot

from turing_rcnn import guard
from turing_rcnn.app.cli import main
from turing_rcnn.trainable import mazes, peer

N, SIZE = 3, 9  # three mazes of size 9: 24 x 24 pixels
P = mazes.pixels(SIZE)


def _mazes(seed: int = 0, cycles: float = 0.0):
    """(images float32 (N, 3, P, P), solutions float32 (N, P, P), layouts, starts, ends)."""
    layouts, starts, ends, paths = mazes.generate(N, SIZE, np.random.default_rng(seed), cycles)
    images, targets = mazes.render(layouts, starts, ends, paths)
    return images, targets, layouts, starts, ends


IMAGES, SOLUTIONS, LAYOUTS, STARTS, ENDS = _mazes()


def _entry(images: np.ndarray, i: int, r: int, c: int, rgb) -> np.ndarray:
    """A copy of the images with entry (r, c) of maze i painted `rgb` (its 2 x 2 block)."""
    out = images.copy()
    out[i, :, 1 + 2 * r : 3 + 2 * r, 1 + 2 * c : 3 + 2 * c] = np.asarray(rgb)[:, None, None]
    return out


def _solution_entry(i: int, r: int, c: int, value: float) -> np.ndarray:
    out = SOLUTIONS.copy()
    out[i, 1 + 2 * r : 3 + 2 * r, 1 + 2 * c : 3 + 2 * c] = value
    return out


def _open_beside_path(i: int) -> tuple[int, int]:
    """An open entry of maze i next to its path but not on it."""
    path = SOLUTIONS[i, 1:-1:2, 1:-1:2] > 0
    near = np.zeros_like(path)
    for dr, dc in mazes._STEPS:
        near |= np.roll(path, (dr, dc), axis=(0, 1))
    return tuple(np.argwhere(near & (LAYOUTS[i] == 1) & ~path)[0])


def _inner_wall(i: int) -> tuple[int, int]:
    """A wall entry of maze i between two cells (odd row, even column)."""
    lay = LAYOUTS[i]
    return tuple(
        (r, c)
        for r in range(1, lay.shape[0] - 1, 2)
        for c in range(2, lay.shape[1] - 1, 2)
        if lay[r, c] == 0
    )[0]


def _isolated_end(i: int) -> np.ndarray:
    """Maze i with every entry around its end walled off: no path."""
    r, c = ENDS[i]
    out = IMAGES.copy()
    for dr, dc in mazes._STEPS:
        out = _entry(out, i, r + dr, c + dc, (0, 0, 0))
    return out


def _moved_start(i: int) -> np.ndarray:
    """Maze i with its start moved onto an inner wall entry (the old start white)."""
    r, c = STARTS[i]
    out = _entry(IMAGES, i, r, c, (1, 1, 1))
    return _entry(out, i, *_inner_wall(i), (0, 1, 0))


def _second_end(i: int) -> np.ndarray:
    path = np.argwhere(LAYOUTS[i] == 1)
    r, c = next(p for p in path if p[0] % 2 and p[1] % 2 and tuple(p) not in _ends(i))
    return _entry(IMAGES, i, r, c, (1, 0, 0))


def _ends(i: int) -> set:
    return {tuple(STARTS[i]), tuple(ENDS[i])}


def _drop_path_cell(i: int) -> np.ndarray:
    """Maze i's solution with one inner cell of its path left out: a broken line."""
    cells = np.argwhere(SOLUTIONS[i, 1:-1:2, 1:-1:2] > 0)
    r, c = next(tuple(p) for p in cells if tuple(p) not in _ends(i))
    return _solution_entry(i, r, c, 0.0)


def _swap_solutions() -> np.ndarray:
    out = SOLUTIONS.copy()
    out[[1, 2]] = out[[2, 1]]
    return out


def _cycles_longer() -> tuple[np.ndarray, np.ndarray]:
    """A maze with cycles and, as its solution, a path from start to end that is an
    unbroken line but not a shortest one (the shortest with one of its entries blocked)."""
    rng = np.random.default_rng(5)
    for _ in range(100):
        lay, s, e, path = (a[0] for a in mazes.generate(1, SIZE, rng, cycles=0.5))
        s, e = tuple(s), tuple(e)
        for q in (q for q in map(tuple, np.argwhere(path)) if q not in (s, e)):
            detour = lay.copy()
            detour[q] = 0
            try:
                longer = mazes.shortest_path(detour, s, e)
            except ValueError:  # q is on every way from start to end
                continue
            return mazes.render(lay[None], np.array([s]), np.array([e]), longer[None])
    raise AssertionError("no maze with a longer way round")


def _npy_bytes(array: np.ndarray, **kwargs) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, **kwargs)
    return buffer.getvalue()


def _header_only(shape, descr="<f4", version=(1, 0)) -> bytes:
    """A .npy header claiming `shape`, with no data after it."""
    header = {"descr": descr, "fortran_order": False, "shape": shape}
    if version != (1, 0):  # a version this reader does not take: its magic, then a header
        return _raw_header(repr(header), version)
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue()


def _raw_header(text: str, version=(1, 0)) -> bytes:
    """The .npy magic, then `text` as the header, whatever it holds."""
    body = text.encode("latin-1")
    return np.lib.format.magic(*version) + len(body).to_bytes(2, "little") + body


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, inputs=IMAGES)
    assert buffer.getvalue()[:2] == b"PK"
    return buffer.getvalue()


class _Payload:
    """Pickled, it would run a command when unpickled: it must never be."""

    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def _structured() -> np.ndarray:
    return np.zeros((N, 3, P, P), dtype=[("r", "f4"), ("g", "f4")])


def _objects() -> np.ndarray:
    out = np.empty((N, 3, P, P), dtype=object)
    out[...] = 0
    out[0, 0, 0, 0] = _Payload()
    return out


# (name, {file: array | bytes | "fifo" | "dir" | "missing" | ("link", target)}, fragment)
# Files not named are the good ones. Fragments name the file and, for values, the index.
IN, SOL = "inputs.npy", "solutions.npy"
FOLDERS = [
    # the values
    ("0/255 float pixels", {IN: IMAGES * 255}, "inputs.npy[0] holds the value 255.0"),
    (
        "0/255 uint8 with a 1",
        {IN: _entry(IMAGES * 255, 1, 1, 1, (1, 1, 1)).astype(np.uint8)},
        "inputs.npy[0] holds the value 255; pixels must be 0 or 1 (0/255 is read as 0/1 only",
    ),
    ("0/255 float solutions", {SOL: SOLUTIONS * 255}, "solutions.npy[0] holds the value 255.0"),
    (
        "inf pixel",
        {IN: _entry(IMAGES, 2, 1, 1, (np.inf, 1, 1))},
        "inputs.npy[2] holds NaN or infinite",
    ),
    (
        "nan pixel",
        {IN: _entry(IMAGES, 1, 3, 3, (np.nan, 0, 0))},
        "inputs.npy[1] holds NaN or infinite",
    ),
    (
        "-inf in float64",
        {IN: _entry(IMAGES.astype(np.float64), 0, 1, 1, (-np.inf,) * 3)},
        "inputs.npy[0] holds NaN or infinite",
    ),
    (
        "nan solution",
        {SOL: _solution_entry(2, 1, 1, np.nan)},
        "solutions.npy[2] holds NaN or infinite",
    ),
    (
        "3-valued pixels",
        {IN: _entry(IMAGES, 1, 1, 1, (0.5, 0.5, 0.5))},
        "inputs.npy[1] holds the value 0.5",
    ),
    (
        "negative int8 pixels",
        {IN: (IMAGES * 2 - 1).astype(np.int8)},
        "inputs.npy[0] holds the value -1",
    ),
    (
        "solution value 2",
        {SOL: (SOLUTIONS * 2).astype(np.int64)},
        "solutions.npy[0] holds the value 2",
    ),
    ("solution 1e-9", {SOL: SOLUTIONS + 1e-9}, "solutions.npy[0] holds the value 1e-09"),
    # the maze
    (
        "no start",
        {IN: _entry(IMAGES, 1, *STARTS[1], (1, 1, 1))},
        "inputs.npy[1] has 0 green starts",
    ),
    ("two ends", {IN: _second_end(2)}, "inputs.npy[2] has 2 red ends"),
    (
        "start on a wall",
        {IN: _moved_start(1)},
        "inputs.npy[1]: the start and the end must be maze cells",
    ),
    (
        "blue entry",
        {IN: _entry(IMAGES, 0, 1, 1, (0, 0, 1))},
        "inputs.npy[0]: an entry is neither black",
    ),
    (
        "yellow entry",
        {IN: _entry(IMAGES, 2, 3, 3, (1, 1, 0))},
        "inputs.npy[2]: an entry is neither black",
    ),
    (
        "half a block",
        {IN: np.where(np.arange(P) == 3, 1.0, IMAGES).astype(np.float32)},
        "uniform 2 x 2 block",
    ),
    (
        "white border",
        {IN: np.pad(IMAGES[:, :, 1:-1, 1:-1], ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=1)},
        "inputs.npy[0]: the 1-pixel border must be black",
    ),
    (
        "open outer ring",
        {IN: _entry(IMAGES, 1, 0, 3, (1, 1, 1))},
        "inputs.npy[1]: a maze's outer ring must be wall",
    ),
    ("no path", {IN: _isolated_end(2)}, "inputs.npy[2] has no path from its start to its end"),
    (
        "side not 2(2n+1)+2",
        {IN: IMAGES[:, :, :-2, :-2], SOL: SOLUTIONS[:, :-2, :-2]},
        "inputs.npy: a maze image side is 2 (2n + 1) + 2",
    ),
    # the solutions
    ("solution of another maze", {SOL: _swap_solutions()}, "solutions.npy[1] is not the path of"),
    (
        "solution with an extra cell",
        {SOL: _solution_entry(1, *_open_beside_path(1), 1.0)},
        "solutions.npy[1] is not the path of",
    ),
    (
        "solution with a gap",
        {SOL: _drop_path_cell(2)},
        "solutions.npy[2] is not the path of inputs.npy[2] (it is not one unbroken",
    ),
    (
        "solution without its end",
        {SOL: _solution_entry(0, *ENDS[0], 0.0)},
        "solutions.npy[0] is not the path of inputs.npy[0] (it leaves out",
    ),
    (
        "solution through a wall",
        {SOL: _solution_entry(1, *_inner_wall(1), 1.0)},
        "solutions.npy[1] is not the path of inputs.npy[1] (it marks a wall)",
    ),
    ("empty solution", {SOL: np.zeros_like(SOLUTIONS)}, "solutions.npy[0] is not the path"),
    (
        "solution half a block",
        {SOL: np.where(np.arange(P) == 4, 1.0, SOLUTIONS).astype(np.float32)},
        "(not whole 2 x 2 blocks)",
    ),
    (
        "solution on the border",
        {SOL: np.pad(SOLUTIONS[:, 1:, :], ((0, 0), (0, 1), (0, 0)))},
        "solutions.npy[0] is not the path",
    ),
    (
        "longer path with cycles",
        dict(zip((IN, SOL), _cycles_longer(), strict=True)),
        "a shortest path has",
    ),
    # the shapes
    (
        "fewer solutions",
        {SOL: SOLUTIONS[:2]},
        "solutions.npy must be of shape (3, 24, 24) to match inputs.npy (3, 3, 24, 24)",
    ),
    (
        "solutions of another size",
        {SOL: np.zeros((N, 28, 28), np.float32)},
        "solutions.npy must be of shape (3, 24, 24)",
    ),
    ("solutions 4-D", {SOL: SOLUTIONS[:, None]}, "solutions.npy must be a 3-D array"),
    ("inputs 3-D", {IN: IMAGES[:, 0]}, "inputs.npy must be a 4-D array"),
    ("inputs 1 channel", {IN: IMAGES[:, :1]}, "maze images must be (N, 3, P, P)"),
    ("inputs not square", {IN: IMAGES[:, :, :, :-4]}, "maze images must be (N, 3, P, P)"),
    ("empty inputs", {IN: IMAGES[:0], SOL: SOLUTIONS[:0]}, "inputs.npy is empty"),
    ("empty solutions", {SOL: SOLUTIONS[:, :0]}, "solutions.npy is empty"),
    ("a scalar", {IN: np.float32(1)}, "inputs.npy must be a 4-D array, got shape ()"),
    # the dtypes
    ("object dtype", {IN: _npy_bytes(_objects(), allow_pickle=True)}, "holds Python objects"),
    ("structured dtype", {IN: _structured()}, "inputs.npy holds a structured dtype"),
    (
        "sub-array dtype",
        {IN: _header_only((N, 3, P, P), descr=[("x", "<f4", (2,))])},
        "structured dtype",
    ),
    (
        "string dtype",
        {SOL: SOLUTIONS.astype(str)},
        "solutions.npy holds <U32 values; numbers expected",
    ),
    ("complex dtype", {IN: IMAGES.astype(np.complex64)}, "inputs.npy holds complex64 values"),
    (
        "datetime dtype",
        {SOL: SOLUTIONS.astype(np.int64).astype("datetime64[s]")},
        "solutions.npy holds datetime64[s] values",
    ),
    # the files
    ("a zip renamed .npy", {IN: _zip_bytes()}, "inputs.npy is a zip archive"),
    ("truncated", {IN: _npy_bytes(IMAGES)[:-100]}, "inputs.npy is truncated"),
    (
        "10^12 elements claimed",
        {IN: _header_only((10**12 // (3 * P * P), 3, P, P))},
        "inputs.npy is truncated: its header claims shape (578703703, 3, 24, 24)",
    ),
    (
        "trailing bytes",
        {SOL: _npy_bytes(SOLUTIONS) + b"\0" * 64},
        "solutions.npy is longer than its header says",
    ),
    ("a pickle", {IN: pickle.dumps(_Payload())}, "inputs.npy is not a .npy file (a pickle"),
    ("an empty file", {SOL: b""}, "solutions.npy is not a .npy file (an empty file"),
    ("random bytes", {IN: np.random.default_rng(0).bytes(999)}, "inputs.npy is not a .npy file"),
    (
        "header not a dict",
        {IN: _raw_header("[1, 2, 3]\n")},
        "inputs.npy: its .npy header cannot be read",
    ),
    (
        "header version 3",
        {IN: _header_only((N, 3, P, P), version=(3, 0))},
        "inputs.npy: its .npy header is version (3, 0), not 1.0 or 2.0",
    ),
    ("negative shape", {IN: _header_only((N, 3, -P, P))}, "claims a negative size"),
    (
        "header too long",
        {IN: _raw_header(" " * 20000 + "\n")},
        "inputs.npy: its .npy header claims 20001 bytes, over 10000",
    ),
    ("header nested", {IN: _raw_header("(" * 3000 + ")" * 3000 + "\n")}, "header cannot be read"),
    ("a folder", {IN: "dir"}, "inputs.npy is a folder"),
    ("a FIFO", {IN: "fifo"}, "inputs.npy is a FIFO, not a regular file"),
    ("a FIFO solutions", {SOL: "fifo"}, "solutions.npy is a FIFO, not"),
    ("a socket", {SOL: "socket"}, "solutions.npy is a socket, not a regular file"),
    ("a link to a FIFO", {IN: ("link", "fifo")}, "inputs.npy is a symbolic link to a FIFO, not"),
    ("a dangling link", {SOL: ("link", "nowhere")}, "solutions.npy is a broken symbolic link"),
    ("missing solutions", {SOL: "missing"}, "solutions.npy: no such file"),
]
ARGS = ["train-algo", "--task", "maze", "--train-size", "9", "--test-size", "9"]


def _write(folder: Path, files: dict) -> None:
    """A peer folder: the good arrays, replaced by the hostile ones in `files`."""
    folder.mkdir()
    for name, good in ((IN, IMAGES), (SOL, SOLUTIONS)):
        item, path = files.get(name, good), folder / name
        if isinstance(item, np.ndarray | np.generic):
            np.save(path, item)
        elif isinstance(item, bytes):
            path.write_bytes(item)
        elif item == "dir":
            path.mkdir()
        elif item == "fifo":
            os.mkfifo(path)
        elif item == "socket":
            with socket.socket(socket.AF_UNIX) as s:
                here = os.getcwd()
                os.chdir(folder)  # a short name: AF_UNIX paths are limited to 108 bytes
                try:
                    s.bind(name)
                finally:
                    os.chdir(here)
        elif isinstance(item, tuple):
            if item[1] == "fifo":
                os.mkfifo(folder / "fifo")
            path.symlink_to(folder / item[1])


@pytest.mark.parametrize("name, files, fragment", FOLDERS, ids=[f[0] for f in FOLDERS])
def test_hostile_peer_folder_is_refused(name, files, fragment, tmp_path, capsys, monkeypatch):
    folder = tmp_path / "peer"
    _write(folder, files)
    monkeypatch.chdir(tmp_path)
    refused([*ARGS, "--data", str(folder)], fragment, tmp_path, capsys)


def test_the_hostile_folders_are_many_and_distinct():
    assert len(FOLDERS) >= 55 and len({f[0] for f in FOLDERS}) == len(FOLDERS)


def _sparse(folder: Path, count: int) -> None:
    """A peer folder of `count` mazes whose data are holes: GB claimed, nothing written."""
    folder.mkdir()
    for name, shape in ((IN, (count, 3, P, P)), (SOL, (count, P, P))):
        header = _header_only(shape)
        with open(folder / name, "wb") as f:
            f.write(header)
            f.truncate(len(header) + 4 * int(np.prod(shape)))


def test_data_beyond_the_memory_guard_is_refused_before_reading(tmp_path, capsys, monkeypatch):
    """A whole, well-formed header of 10^6 mazes (sparse: nothing written) is sized
    from its header and refused by the memory guard, before any byte of it is read."""
    folder = tmp_path / "huge"
    _sparse(folder, 10**6)
    argv = [*ARGS, "--data", str(folder), "--max-memory", "2"]
    monkeypatch.chdir(tmp_path)
    refused(argv, f"the 1000000 inputs of --data {folder}", tmp_path, capsys)


def test_read_peer_sizes_through_the_memory_guard(tmp_path):
    folder = tmp_path / "peer"
    _write(folder, {})
    with guard.limit(1e-6), pytest.raises(ValueError, match=r"reading .*peer \(3 mazes, 24 x 24"):
        peer.read_peer(str(folder))
    with pytest.raises(ValueError, match="no such folder"):
        peer.read_peer(str(tmp_path / "nope"))
    with pytest.raises(ValueError, match="not a folder"):
        peer.read_peer(str(folder / IN))


def _accepted(folder: Path, capsys) -> dict:
    argv = ["train-algo", "--load", "maze-hints", "--test-size", "9", "--test-count", "1"]
    argv += ["--compare-count", "0", "--data", str(folder), "--json", "--no-progress"]
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_0_255_uint8_pixels_are_converted_and_said(tmp_path, capsys):
    """The one conversion: a uint8 image of 0 and 255 only is read as 0/1, and the
    report says so; the same values as floats are refused (FOLDERS above)."""
    folder = tmp_path / "peer"
    _write(folder, {IN: (IMAGES * 255).astype(np.uint8), SOL: (SOLUTIONS * 255).astype(np.uint8)})
    before = snapshot(tmp_path)
    report = _accepted(folder, capsys)
    assert report["accuracy_data"] == 1.0
    assert report["data_converted"] == [
        f"{folder / IN}: 0/255 uint8 pixels read as 0/1",
        f"{folder / SOL}: 0/255 uint8 pixels read as 0/1",
    ]
    assert snapshot(tmp_path) == before


def test_the_peer_s_own_layouts_are_accepted_unconverted(tmp_path, capsys):
    """What np.save writes for the peer's arrays in any numeric layout loads: int64 or
    bool solutions, Fortran order, big-endian floats; nothing is said converted."""
    folder = tmp_path / "peer"
    _write(folder, {IN: np.asfortranarray(IMAGES.astype(">f8")), SOL: SOLUTIONS.astype(bool)})
    report = _accepted(folder, capsys)
    assert report["accuracy_data"] == 1.0 and "data_converted" not in report
    images, targets = peer.load_peer(str(folder))
    assert np.array_equal(images, IMAGES) and np.array_equal(targets[:, 0], SOLUTIONS)
    assert images.dtype == targets.dtype == np.float32


def test_cycles_accept_any_shortest_path(tmp_path):
    images, targets, *_ = _mazes(seed=3, cycles=0.3)
    folder = tmp_path / "peer"
    _write(folder, {IN: images, SOL: targets})
    assert np.array_equal(peer.load_peer(str(folder))[1][:, 0], targets)


# ---- big requests: a bar with a count, a total equal to the work, and an ETA ----------


def _bar(text: str, desc: str, total: str) -> bool:
    """Does `text` hold a tqdm line of `desc` counting to `total`, with its ETA?"""
    eta = rf"{re.escape(desc)}.*? \d+k?/{total} \[\d\d:\d\d<(\d\d:\d\d|\?)"
    return re.search(eta, text) is not None


def _watch(call, monkeypatch) -> tuple[str, list[float]]:
    """(stderr, the gaps between its writes from the call's start to its end)."""
    clock = Clock()
    monkeypatch.setattr(sys, "stderr", clock)
    start = time.perf_counter()
    call()
    end = time.perf_counter()
    points = [start, *clock.times, end]
    return clock.getvalue().replace("\r", "\n"), [
        b - a for a, b in zip(points, points[1:], strict=False)
    ]


TRAIN_ALGO = ["train-algo", "--load", "prefix-parity", "--test-count", "1500"]
TRAIN_ALGO += ["--test-size", "32", "--compare-count", "0"]
BIG = [  # (command, a stage that was silent, the total its bar counts to: the work)
    (["search", "--restarts", "32", "--test", "3000"], "predict", "3000"),  # a point at a time
    (["learn", "--d", "4", "--m", "6", "--test", "3000"], "reference", "3000"),  # points
    (TRAIN_ALGO, "train-algo: drawing inputs of size 32", "1500"),  # inputs
    (TRAIN_ALGO, "train-algo: scoring the answers (32)", "1500"),
]


@pytest.mark.parametrize("argv, desc, total", BIG, ids=[f"{b[0][0]} {b[1]}" for b in BIG])
def test_big_requests_show_a_count_and_an_eta(argv, desc, total, monkeypatch, capsys):
    """search --test, learn --test and train-algo --test-count (at sizes that take
    seconds, not minutes): the stage that was silent has a bar counting to its work,
    with an ETA; the first progress comes within 2 s and no gap between lines is over 5 s."""
    text, gaps = _watch(lambda: main([*argv, "--json"]), monkeypatch)
    assert "Traceback" not in text and json.loads(capsys.readouterr().out)
    assert _bar(text, desc, total), text[-2000:]
    assert gaps[0] < 2 and max(gaps) < 5, gaps


def test_a_long_reference_run_shows_its_steps(monkeypatch):
    """run-tm's reference simulator: a bar from 10^5 steps on (it was silent up to 10^6,
    a few seconds), ending at the steps run."""
    from turing_rcnn.programs import TuringMachine

    machine = TuringMachine.parse("1RB1LC_1RC1RB_1RD0LE_1LA1LD_1RZ0LA")  # runs 47 M steps
    text, gaps = _watch(lambda: machine.run(steps=250_000, progress=True), monkeypatch)
    assert _bar(text, "reference", "250k") and "250k/250k" in text, text
    assert gaps[0] < 2 and max(gaps) < 5, gaps


def test_checking_a_large_peer_folder_shows_the_mazes(tmp_path, monkeypatch):
    folder = tmp_path / "peer"
    _write(folder, {})
    text, gaps = _watch(lambda: peer.read_peer(str(folder), progress=True), monkeypatch)
    assert _bar(text, f"checking the paths of {folder / SOL}", "3"), text
    assert gaps[0] < 2, gaps


def test_big_draws_and_scores_go_in_chunks_counted_once(monkeypatch):
    """train-algo's drawing and scoring: chunks of about 1 M cells (never under 1000
    inputs, so small requests draw the same data as before), each input counted once."""
    from turing_rcnn.app import jobs

    calls = []

    def work(start, stop):
        calls.append((start, stop))
        return stop - start

    text, _ = _watch(lambda: jobs._in_chunks("stage", 2500, 2**20, work, True), monkeypatch)
    assert calls == [(0, 1000), (1000, 2000), (2000, 2500)]
    assert _bar(text, "stage", "2500") and "2500/2500" in text, text
    calls.clear()
    jobs._in_chunks("stage", 999, 2**20, work, False)
    assert calls == [(0, 999)]
