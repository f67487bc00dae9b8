"""Helpers shared by the benchmark scripts: timing and where results go.

Results go to runs/bench/ (ignored by git), so a casual run never rewrites the figures
the README cites; BENCH_REFRESH=1 (`make bench-refresh`) writes them to the tracked
bench/results/ instead."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

import torch

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
    return {
        "machine": platform.machine(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }


def write_json(name: str, payload: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / name
    path.write_text(json.dumps({"meta": meta()} | payload, indent=2) + "\n")
    return path


def peak_mb() -> float:
    """Peak resident memory of this process image (VmHWM), in MB. Unlike ru_maxrss it
    is not inherited from a parent process."""
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")
