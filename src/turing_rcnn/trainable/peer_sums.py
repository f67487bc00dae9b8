"""Prefix-sum folders in DeepThinking's layout, as its loader hands them to the network:
inputs.npy (N, 1, L) float32 holding bit - 0.5 (values -0.5 and +0.5) and
solutions.npy (N, L) int64, the running parity of the bits (the prefix sum mod 2).

The peer keeps its own prefix-sum data as torch .pth pickles of the 0/1 bits and
targets; this package never writes nor reads a pickle. To convert theirs, once, in a
Python that trusts the file:
`np.save("inputs.npy", (torch.load(f).unsqueeze(1) - 0.5).numpy())` (their loader's
own step) and `np.save("solutions.npy", torch.load(g).long().numpy())`.

write_prefix_sums writes such a folder (`turing-rcnn data prefix-sums`);
read_prefix_sums reads one header first (folders.npy_header: never unpickled, sizes
through the memory guard before anything is read) and checks it, one ValueError naming
the file and the first bad index otherwise."""

from __future__ import annotations

import math
import os
from typing import NamedTuple

import numpy as np

from .. import guard
from ..progress import heartbeat
from . import folders
from .folders import NAMES, Npy
from .mazes import _first


class PrefixSums(NamedTuple):
    bits: np.ndarray  # (N, L) uint8, 0/1: inputs + 0.5
    targets: np.ndarray  # (N, L) uint8, 0/1: the running parity of the bits


def running_parity(bits: np.ndarray) -> np.ndarray:
    """(N, L) uint8: entry k is the sum mod 2 of bits 0..k of its row."""
    return np.bitwise_xor.accumulate(np.asarray(bits, dtype=np.uint8), axis=1)


def sums_bytes(count: int, length: int) -> float:
    """Memory to write `count` strings of `length` bits: the bits and their parity (a
    byte each), float32 inputs and a temporary, int64 solutions."""
    return 18.0 * count * length


def write_prefix_sums(
    folder: str, length: int, count: int, seed: int, progress: bool = False, force: bool = False
) -> dict:
    """Write `count` random strings of `length` bits (np.random.default_rng(seed)) into
    `folder`: inputs.npy (N, 1, L) float32, bit - 0.5, and solutions.npy (N, L) int64,
    their running parity. Refused before any work: a bad folder (folders.check_out_folder),
    sizes beyond memory or disk. {file: {shape, dtype}}."""
    if count < 1 or length < 1:
        raise ValueError(f"count and length must be >= 1, got {count} and {length}")
    folders.check_out_folder(folder, force)
    guard.check_memory(sums_bytes(count, length), f"{count} strings of {length} bits")
    folders.check_disk(folder, 12.0 * count * length)
    with heartbeat(f"drawing {count} strings of {length} bits", progress, leave=False):
        bits = np.random.default_rng(seed).integers(0, 2, (count, length), dtype=np.uint8)
        inputs = (bits[:, None] - np.float32(0.5)).astype(np.float32)
        solutions = running_parity(bits).astype(np.int64)
    return folders.write_arrays(folder, {NAMES[0]: inputs, NAMES[1]: solutions}, force, progress)


def sums_headers(folder: str) -> tuple[Npy, Npy]:
    """The checked headers of a prefix-sum folder's inputs.npy (N, 1, L) and
    solutions.npy (N, L), matching in N and L: the sizes before anything is read."""
    folders.need_peer_folder(folder, "a prefix-sum folder")
    inputs = folders.npy_header(os.path.join(folder, NAMES[0]), 3)
    solutions = folders.npy_header(os.path.join(folder, NAMES[1]), 2)
    n, channels, length = inputs.shape
    if channels != 1:
        raise ValueError(f"{inputs.path}: prefix-sum inputs must be (N, 1, L), got {inputs.shape}")
    if solutions.shape != (n, length):
        raise ValueError(
            f"{solutions.path} must be of shape {(n, length)} to match inputs.npy "
            f"{inputs.shape}, got {solutions.shape}"
        )
    return inputs, solutions


def _finite(a: np.ndarray, name: str) -> None:
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        raise ValueError(f"{name}[{_first(~np.isfinite(a))}] holds NaN or infinite values")


def read_prefix_sums(folder: str) -> PrefixSums:
    """A prefix-sum folder read and checked: headers first (shapes (N, 1, L) and (N, L),
    sizes through the memory guard), inputs finite and exactly -0.5 or +0.5, solutions
    exactly 0 or 1 and the running parity of the bits; one ValueError naming the file
    and the first bad index otherwise. (bits, targets), both (N, L) uint8."""
    headers = sums_headers(folder)
    n, _, length = headers[0].shape
    need = sum(h.nbytes for h in headers) + 8.0 * math.prod(headers[1].shape)  # masks
    guard.check_memory(need, f"reading {folder} ({n} strings of {length} bits)")
    (inputs, solutions), (a, b) = map(folders.npy_data, headers), (h.path for h in headers)
    _finite(inputs, a)
    _finite(solutions, b)
    bad = (inputs != -0.5) & (inputs != 0.5)
    if bad.any():
        i = _first(bad)
        value = inputs[i][bad[i]].flat[0]
        hint = " (0/1 bits? the peer's loader feeds bit - 0.5)" if value in (0, 1) else ""
        raise ValueError(f"{a}[{i}] holds the value {value!s}; inputs must be -0.5 or +0.5{hint}")
    bad = (solutions != 0) & (solutions != 1)
    if bad.any():
        i = _first(bad)
        value = solutions[i][bad[i]].flat[0]
        raise ValueError(f"{b}[{i}] holds the value {value!s}; solutions must be 0 or 1")
    bits, targets = (inputs[:, 0] > 0).astype(np.uint8), solutions.astype(np.uint8)
    bad = running_parity(bits) != targets
    if bad.any():
        i = _first(bad)
        k = int(np.argmax(bad[i]))
        raise ValueError(
            f"{b}[{i}, {k}] is {targets[i, k]}, not the running parity of {a}[{i}] (the "
            f"sum mod 2 of its bits 0..{k} is {1 - targets[i, k]})"
        )
    return PrefixSums(bits, targets)
