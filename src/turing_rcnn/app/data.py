"""`turing-rcnn data`: write a benchmark folder in DeepThinking's layout (inputs.npy,
solutions.npy), mazes (trainable/peer.py: write_mazes) or prefix sums
(trainable/peer_sums.py: write_prefix_sums), into a new or empty folder. Everything is
refused before any work: options that do not apply to the kind, a bad --out, sizes
beyond memory or disk; nothing existing is replaced without --force."""

from __future__ import annotations

import time
from dataclasses import dataclass

from ..options import option

KINDS = ("maze", "prefix-sums")  # folders.KINDS (a test ties them)
STARTS = ("random", "dead-end")  # mazes.STARTS
DEFAULTS = {"size": 9, "length": 32, "cycles": 0.0, "start": "random"}
APPLIES = {"size": "maze", "cycles": "maze", "start": "maze", "length": "prefix-sums"}


@dataclass
class DataConfig:
    kind: str = option(help="what to write", choices=KINDS, positional=True)
    out: str = option(help="a new or empty folder for inputs.npy and solutions.npy")
    size: int | None = option(
        None, "maze only: maze size, odd; P = 2 size + 6 pixels a side (default: 9)", low=3
    )
    length: int | None = option(None, "prefix-sums only: bits a string (default: 32)", low=1)
    count: int = option(
        1000, "mazes or strings (DeepThinking's test sets hold 10 000)", low=1, high=10**9
    )
    seed: int = option(0, "seeds the data", low=0, high=2**63 - 1)
    cycles: float | None = option(
        None,
        "maze only: each inner wall left standing is knocked down with this probability "
        "(default: 0, perfect mazes)",
        low=0,
        high=1,
    )
    start: str | None = option(
        None,
        "maze only: where the start goes; dead-end: a cell with one open neighbour "
        "(default: random)",
        choices=STARTS,
    )
    force: bool = option(False, "write into a non-empty --out, replacing its two files")


def _setting(config: DataConfig) -> dict:
    """The kind's settings, each option not given taking the kind's default; a
    ValueError for an option given that does not apply to the kind."""
    wrong = [
        k for k, kind in APPLIES.items() if kind != config.kind and getattr(config, k) is not None
    ]
    if wrong:
        flags = ", ".join(f"--{k}" for k in wrong)
        other = "prefix-sums" if config.kind == "maze" else "maze"
        verb = "applies" if len(wrong) == 1 else "apply"
        raise ValueError(f"{flags} {verb} to {other}, not {config.kind}; drop it")
    return {
        k: DEFAULTS[k] if getattr(config, k) is None else getattr(config, k)
        for k, kind in APPLIES.items()
        if kind == config.kind
    }


def make_data(config: DataConfig, progress: bool = True) -> dict:
    """Write the folder; the report: what was written, where, its files' shapes and
    dtypes, and the time taken."""
    from ..trainable import folders, mazes, peer, peer_sums

    begin = time.perf_counter()
    setting = _setting(config)
    if config.kind == "maze":  # said with the flags' names (the writers check again)
        if setting["size"] % 2 == 0:
            raise ValueError(
                f"--size must be odd (a maze of size S has (S + 1) / 2 cells a side), "
                f"got {setting['size']}"
            )
        if setting["start"] == "dead-end" and setting["cycles"] >= 1:
            raise ValueError(
                "--start dead-end needs --cycles below 1 (with every inner wall knocked "
                "down no cell is a dead end)"
            )
    folders.check_out_folder(config.out, config.force, "--out")
    if config.kind == "maze":
        files = peer.write_mazes(
            config.out, setting["size"], config.count, config.seed, setting["cycles"],
            setting["start"], progress, config.force,
        )  # fmt: skip
        setting = {
            "size": setting["size"],
            "pixels": mazes.pixels(setting["size"]),
            "cycles": setting["cycles"],
            "start": setting["start"],
        }
    else:
        files = peer_sums.write_prefix_sums(
            config.out, setting["length"], config.count, config.seed, progress, config.force
        )
    return {
        "kind": config.kind,
        "folder": config.out,
        "count": config.count,
        **setting,
        "seed": config.seed,
        "files": files,
        "seconds": round(time.perf_counter() - begin, 2),
    }
