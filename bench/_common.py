"""Helpers shared by the benchmark scripts: timing, where results go, and progress.

Results go to runs/bench/ (ignored by git), so a casual run never rewrites the figures
the docs pages cite; BENCH_REFRESH=1 (`make bench-refresh`) writes them to the tracked
bench/results/ instead.

This module imports nothing heavy (torch loads in `meta()`), so a script that parses its
arguments first answers `--help` and argument errors at once."""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

TRACKED = Path(__file__).resolve().parent / "results"
REFRESH = os.environ.get("BENCH_REFRESH") == "1"
RESULTS = TRACKED if REFRESH else Path(__file__).resolve().parents[1] / "runs" / "bench"


def best_of(repeats: int, fn):
    """(best wall time over `repeats` calls, the last result)."""
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def meta() -> dict:
    import torch

    return {
        "machine": platform.machine(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }


def write_json(name: str, payload: dict) -> Path:
    """The results as RESULTS/name, written atomically: never onto a FIFO, a folder or
    another special file (guard: a ValueError, nothing written)."""
    from turing_rcnn import guard

    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / name
    text = json.dumps({"meta": meta()} | payload, indent=2) + "\n"
    guard.write_text(str(path), text, replace=True)
    return path


def peak_mb() -> float:
    """Peak resident memory of this process image (VmHWM), in MB. Unlike ru_maxrss it
    is not inherited from a parent process."""
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class _Parser(argparse.ArgumentParser):
    """Refuses, with exit code 2 before any work, an `--out` results name whose .json or
    .png under RESULTS is a folder, a FIFO or another special file (it would block or
    fail only after the run)."""

    def parse_args(self, args=None, namespace=None):
        from turing_rcnn import guard

        parsed = super().parse_args(args, namespace)
        if getattr(parsed, "out", None):
            for ending in (".json", ".png"):
                try:  # a regular file is fine: results are rewritten
                    guard.refuse_existing(str(RESULTS / f"{parsed.out}{ending}"), force=True)
                except ValueError as err:
                    self.error(f"--out: {err}")
        return parsed


def bench_parser(doc: str) -> argparse.ArgumentParser:
    """A script's parser: its docstring as the help (usage examples kept as written) and
    the `--no-progress` switch every bench script takes."""
    parser = _Parser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress lines on stderr (stdout unchanged)"
    )
    return parser


def pyplot():
    """matplotlib's pyplot on the file-only backend (loaded when a script plots)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


class Progress:
    """A bench script's progress on stderr: the package's bar (`turing_rcnn.progress`:
    tqdm with a count and the time left, redrawn by a thread every `every` seconds so
    that one library call running for minutes still shows its time ticking) with the
    stage in its description, e.g. `bench_mazes: maze 59, hand: 38%|###  | 3/8 [00:12<00:20]`.
    Drawn at once; disabled: silent. Use as a context manager: `stage(text)` names what
    runs now, `advance()` counts a unit done, `iterate(items, label)` does both around
    each item."""

    def __init__(
        self,
        name: str,
        total: int | None = None,
        enabled: bool = True,
        every: float = 4.0,
        stream=None,
    ) -> None:
        from turing_rcnn import progress  # tqdm only: no torch before the arguments

        self.name, self.label = name, "starting"
        extra = {} if stream is None else {"file": stream}
        self.bar = progress.bar(self._desc(), total, enabled, interval=every, **extra)

    def _desc(self) -> str:
        return f"{self.name}: {self.label}"

    @property
    def total(self) -> int | None:
        return self.bar.total

    @total.setter
    def total(self, n: int) -> None:  # known once the script has loaded what it counts
        self.bar.total = n
        self.bar.bar_format = None  # from a heartbeat to a bar with a count and ETA
        self.bar.refresh()

    def stage(self, label: str) -> None:
        """Name what runs now."""
        self.label = label
        self.bar.set_description_str(self._desc())

    def advance(self, n: int = 1) -> None:
        self.bar.update(n)

    def iterate(self, items, label=str):
        """Yield each item with its stage set to label(item), counting it done after."""
        for item in items:
            self.stage(label(item))
            yield item
            self.advance()

    def close(self, label: str = "done") -> None:
        """Write the last line and stop the bar's thread."""
        self.stage(label)
        self.bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        self.close("done" if kind is None else f"stopped at {self.label} ({kind.__name__})")
