"""`turing-rcnn data` (issue 31, items 1 and 4): benchmark folders in DeepThinking's
exact layout. Mazes: inputs.npy (N, 3, P, P) and solutions.npy (N, P, P), float64 as
the peer's generator writes them, P = 2 size + 6, open (1, 1, 1), wall 0, start green,
end red, the solution the path with start and end. Prefix sums: inputs.npy (N, 1, L)
float32 holding bit - 0.5, solutions.npy (N, L) int64, the running parity (what the
peer's loader hands its network). Read back by peer.read_peer and
peer_sums.read_prefix_sums; bad input refused in one line."""

from __future__ import annotations

import hashlib
import pickle
import sys
import time

import numpy as np
import pytest
from helpers import Clock, refused

from turing_rcnn.app import data
from turing_rcnn.app.cli import main
from turing_rcnn.trainable import folders, mazes, peer, peer_sums

OPEN, WALL, START, END = (1, 1, 1), (0, 0, 0), (0, 1, 0), (1, 0, 0)


def _data(*argv: str) -> None:
    assert main(["data", *argv, "--no-progress", "--json"]) == 0


def _load(folder, name: str) -> np.ndarray:
    return np.load(folder / name, allow_pickle=False)


def test_a_maze_folder_reads_back_as_the_same_mazes(tmp_path, capsys):
    """Up to one chunk, the folder holds mazes.generate's mazes for np.random.default_rng(seed)."""
    _data("maze", "--size", "9", "--count", "20", "--seed", "3", "--out", str(tmp_path / "m"))
    report = __import__("json").loads(capsys.readouterr().out)
    assert report["pixels"] == 24 and report["start"] == "random" and report["cycles"] == 0
    assert report["files"]["inputs.npy"] == {"shape": [20, 3, 24, 24], "dtype": "float64"}
    images, targets = mazes.render(*mazes.generate(20, 9, np.random.default_rng(3)))
    got = peer.read_peer(str(tmp_path / "m"))
    assert got.converted == [] and got.images.dtype == np.float32
    assert np.array_equal(got.images, images) and np.array_equal(got.targets[:, 0], targets)
    loaded = peer.load_peer(str(tmp_path / "m"))
    assert np.array_equal(loaded[0], images) and np.array_equal(loaded[1], got.targets)
    assert folders.folder_kind(str(tmp_path / "m")) == "maze"


def _colour(images: np.ndarray) -> np.ndarray:
    """(N, P, P, 3) pixel colours as tuples' arrays."""
    return np.moveaxis(images, 1, -1)


@pytest.mark.parametrize("size, side", [(9, 24), (59, 124)])
def test_maze_files_are_the_peer_s_bytes(size, side, tmp_path):
    folder = tmp_path / "m"
    _data("maze", "--size", str(size), "--count", "4", "--out", str(folder))
    assert side == 2 * size + 6 == mazes.pixels(size)
    for name, shape in (("inputs.npy", (4, 3, side, side)), ("solutions.npy", (4, side, side))):
        raw = (folder / name).read_bytes()
        assert raw[:6] == b"\x93NUMPY" and b"'descr': '<f8'" in raw[:128], raw[:128]
        array = _load(folder, name)
        assert array.dtype == np.float64 and array.shape == shape
    images, solutions = _load(folder, "inputs.npy"), _load(folder, "solutions.npy")
    pixels = _colour(images)
    colours = {tuple(c) for c in pixels.reshape(-1, 3)}
    assert colours == {OPEN, WALL, START, END}
    assert set(np.unique(solutions)) == {0.0, 1.0}
    assert not images[:, :, [0, -1]].any() and not images[:, :, :, [0, -1]].any()  # border
    layouts, starts, ends = mazes.layout_of(images)
    for i in range(4):
        green = np.argwhere((pixels[i] == START).all(-1))
        red = np.argwhere((pixels[i] == END).all(-1))
        assert len(green) == len(red) == 4  # one 2 x 2 block each
        assert (green.min(0) == 1 + 2 * starts[i]).all() and (red.min(0) == 1 + 2 * ends[i]).all()
        path = mazes.shortest_path(layouts[i], tuple(starts[i]), tuple(ends[i]))
        assert path[tuple(starts[i])] and path[tuple(ends[i])]
        block = np.pad(np.repeat(np.repeat(path, 2, 0), 2, 1), 1)
        assert np.array_equal(solutions[i], block)  # the path, start and end included


def test_cycles_give_mazes_with_cycles_and_shortest_paths(tmp_path):
    folder = tmp_path / "c"
    _data("maze", "--size", "9", "--count", "30", "--cycles", "0.3", "--out", str(folder))
    images, solutions = _load(folder, "inputs.npy"), _load(folder, "solutions.npy")
    layouts, _, _ = mazes.layout_of(images)
    cells = layouts[:, 1::2, 1::2].sum((1, 2))
    edges = layouts.sum((1, 2)) - cells  # open entries between cells
    assert (edges > cells - 1).any(), "no maze has a cycle"
    assert mazes.valid_shortest_paths(images, solutions).all()
    peer.read_peer(str(folder))


@pytest.mark.parametrize("cycles", ["0", "0.3"])
def test_dead_end_starts_have_one_open_neighbour(cycles, tmp_path):
    folder = tmp_path / "d"
    argv = ["maze", "--size", "9", "--count", "40", "--start", "dead-end", "--cycles", cycles]
    _data(*argv, "--out", str(folder))
    images = _load(folder, "inputs.npy")
    layouts, starts, ends = mazes.layout_of(images)
    for lay, (r, c) in zip(layouts, starts, strict=True):
        assert sum(int(lay[r + dr, c + dc]) for dr, dc in mazes._STEPS) == 1
    assert (starts != ends).any(1).all()
    peer.read_peer(str(folder))


def test_the_default_start_draws_the_mazes_it_drew_before():
    """start='random' draws exactly as before the option came (figures depend on it): the
    start and end of a fixed seed, and dead-end starts are dead ends."""
    # digests of generate(5, size, default_rng(7), cycles) before start= existed
    pinned = {
        (9, 0.0): "3e930caecf37f640",
        (59, 0.0): "8cb0cdc3abcd164d",
        (9, 0.3): "796c24bee8acc837",
    }
    for (size, cycles), digest in pinned.items():
        drawn = mazes.generate(5, size, np.random.default_rng(7), cycles, "random")
        raw = b"".join(np.ascontiguousarray(a).tobytes() for a in drawn)
        assert hashlib.sha256(raw).hexdigest()[:16] == digest, (size, cycles)
    lay, dead, _, _ = mazes.generate(50, 3, np.random.default_rng(1), 0.5, "dead-end")
    ends = mazes.dead_ends(lay)
    assert all(ends[i, r // 2, c // 2] for i, (r, c) in enumerate(dead))
    with pytest.raises(ValueError, match="no dead end after"):
        mazes.generate(20, 3, np.random.default_rng(1), 0.999, "dead-end")


def test_prefix_sums_round_trip(tmp_path, capsys):
    folder = tmp_path / "p"
    _data("prefix-sums", "--length", "16", "--count", "50", "--seed", "1", "--out", str(folder))
    report = __import__("json").loads(capsys.readouterr().out)
    assert report["length"] == 16 and "size" not in report and "cycles" not in report
    inputs, solutions = _load(folder, "inputs.npy"), _load(folder, "solutions.npy")
    assert inputs.dtype == np.float32 and inputs.shape == (50, 1, 16)
    assert solutions.dtype == np.int64 and solutions.shape == (50, 16)
    assert set(np.unique(inputs)) == {-0.5, 0.5}
    bits = (inputs[:, 0] + 0.5).astype(np.int64)
    assert np.array_equal(solutions, np.cumsum(bits, 1) % 2)
    got = peer_sums.read_prefix_sums(str(folder))
    assert np.array_equal(got.bits, bits) and np.array_equal(got.targets, solutions)
    assert folders.folder_kind(str(folder)) == "prefix-sums"


@pytest.mark.parametrize("kind", [["maze", "--size", "9", "--cycles", "0.2"], ["prefix-sums"]])
def test_the_seed_fixes_the_bytes(kind, tmp_path):
    def files(seed: str, name: str) -> list[bytes]:
        _data(*kind, "--count", "30", "--seed", seed, "--out", str(tmp_path / name))
        return [(tmp_path / name / f).read_bytes() for f in folders.NAMES]

    first = files("5", "a")
    assert files("5", "b") == first
    other = files("6", "c")
    assert all(x != y for x, y in zip(other, first, strict=True))


def test_force_writes_into_a_non_empty_folder(tmp_path, capsys):
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep")
    (folder / "inputs.npy").write_bytes(b"old")
    assert main(["data", "prefix-sums", "--out", str(folder), "--no-progress"]) == 2
    assert "not empty" in capsys.readouterr().err
    _data("prefix-sums", "--count", "5", "--out", str(folder), "--force")
    assert (folder / "notes.txt").read_text() == "keep"
    peer_sums.read_prefix_sums(str(folder))
    empty = tmp_path / "empty"
    empty.mkdir()
    _data("maze", "--count", "2", "--out", str(empty))  # an empty folder is taken


def _tree(tmp):
    (tmp / "full").mkdir()
    (tmp / "full" / "x.txt").write_text("x")
    (tmp / "file").write_text("x")


REFUSED = [
    (["maze", "--out", "{tmp}/full"], "is not empty"),
    (["maze", "--out", "{tmp}/file"], "is a file"),
    (["maze", "--out", "{tmp}/missing/new"], "no such folder"),
    (["prefix-sums", "--cycles", "0.3", "--out", "{tmp}/new"], "--cycles applies to maze"),
    (["maze", "--length", "8", "--out", "{tmp}/new"], "--length applies to prefix-sums"),
    (["maze", "--size", "10", "--out", "{tmp}/new"], "--size must be odd"),
    (["maze", "--count", "0", "--out", "{tmp}/new"], "--count must be >= 1"),
    (["maze", "--cycles", "1.5", "--out", "{tmp}/new"], "--cycles must be <= 1"),
    (["maze", "--start", "dead-end", "--cycles", "1", "--out", "{tmp}/new"], "needs --cycles"),
    (["maze", "--size", "801", "--count", "1000000", "--out", "{tmp}/new"], "needs about"),
    (["prefix-sums", "--length", "10000000", "--count", "10000000", "--out", "{tmp}/new"], "PB"),
]


@pytest.mark.parametrize("argv, fragment", REFUSED, ids=[" ".join(a[:3]) for a, _ in REFUSED])
def test_bad_requests_are_refused_in_one_line(argv, fragment, tmp_path, capsys):
    _tree(tmp_path)
    refused(["data", *argv], fragment, tmp_path, capsys)
    assert not (tmp_path / "new").exists()


class Raw:
    """A file written as it is (not an array made from the good one)."""

    def __init__(self, write):
        self.write = write


def _sums(tmp, inputs=None, solutions=None):
    """A prefix-sum folder of 4 strings of 8 bits, with inputs or solutions replaced."""
    bits = np.random.default_rng(0).integers(0, 2, (4, 8))
    folder = tmp / "bad"
    folder.mkdir(exist_ok=True)
    good = ((bits[:, None] - 0.5).astype(np.float32), np.cumsum(bits, 1) % 2)
    for name, given, array in zip(folders.NAMES, (inputs, solutions), good, strict=True):
        if isinstance(given, Raw):
            given.write(folder / name)
        else:
            np.save(folder / name, array if given is None else given(array))
    return folder


def _flip(a):
    a = a.copy()
    a[2, 5] ^= 1
    return a


def _nan(a):
    a = a.copy()
    a[1, 0, 3] = np.nan
    return a


BAD_SUMS = [
    ("inputs (N, L)", {"inputs": lambda a: a[:, 0]}, "inputs.npy must be a 3-D array"),
    ("inputs (N, 2, L)", {"inputs": lambda a: np.repeat(a, 2, 1)}, "must be (N, 1, L)"),
    ("solutions (N, 1, L)", {"solutions": lambda a: a[:, None]}, "must be a 2-D array"),
    ("0/1 inputs", {"inputs": lambda a: a + 0.5}, "inputs must be -0.5 or +0.5 (0/1 bits?"),
    ("NaN", {"inputs": _nan}, "inputs.npy[1] holds NaN"),
    ("solutions 2", {"solutions": lambda a: a * 2}, "solutions must be 0 or 1"),
    ("wrong parity", {"solutions": _flip}, "solutions.npy[2, 5] is"),
    ("mismatched N", {"solutions": lambda a: a[:3]}, "must be of shape (4, 8) to match"),
    ("mismatched L", {"solutions": lambda a: a[:, :7]}, "must be of shape (4, 8) to match"),
    (
        "pickled .npy",
        {"inputs": Raw(lambda p: np.save(p, np.array([[[0.5]]], dtype=object), allow_pickle=True))},
        "holds Python objects",
    ),
    ("raw pickle", {"solutions": Raw(lambda p: p.write_bytes(pickle.dumps([1, 2])))}, "a pickle"),
]


@pytest.mark.parametrize("files, fragment", [b[1:] for b in BAD_SUMS], ids=[b[0] for b in BAD_SUMS])
def test_bad_prefix_sum_folders_are_refused_in_one_line(files, fragment, tmp_path):
    folder = _sums(tmp_path, files.get("inputs"), files.get("solutions"))
    with pytest.raises(ValueError) as err:
        peer_sums.read_prefix_sums(str(folder))
    message = str(err.value)
    assert fragment in message and "\n" not in message, message
    assert str(folder) in message, message  # names the file


def test_a_folder_s_kind_comes_from_its_headers(tmp_path):
    folder = _sums(tmp_path, inputs=lambda a: a[:, 0])
    with pytest.raises(ValueError, match="is a 2-D array of shape"):
        folders.folder_kind(str(folder))
    with pytest.raises(ValueError, match="no such folder"):
        folders.folder_kind(str(tmp_path / "nothing"))
    with pytest.raises(ValueError, match="a pickle"):
        pickled = Raw(lambda p: p.write_bytes(pickle.dumps(1)))
        folders.folder_kind(str(_sums(tmp_path, inputs=pickled)))
    assert data.KINDS == folders.KINDS and data.STARTS == mazes.STARTS


def test_writing_many_mazes_shows_a_count_at_once(tmp_path, monkeypatch):
    """Mazes are drawn in chunks under a bar: the count shows within 2 s and ends full."""
    clock = Clock()
    monkeypatch.setattr(sys, "stderr", clock)
    start = time.perf_counter()
    peer.write_mazes(str(tmp_path / "m"), 59, 150, 0, progress=True)
    text = clock.getvalue().replace("\r", "\n")
    assert clock.times and clock.times[0] - start < 2, clock.times
    assert "150/150" in text and "drawing 150 mazes of size 59" in text, text
