"""How many threads torch gets: from the work, the cores, and who else is using them.

The work here is many small tensor operations (change-driven evaluation, candidate
batches, the trainable filter's 3x3 convolutions on small grids): one thread does them
as fast as two, and threads that wait for cores another process holds make them many
times slower (measured: bench/results/threads.json). So the policy is:

    threads = requested                       if --threads N (N >= 1) was given
            = 1                               for small work (the default)
            = min(cores, idle cores)          for work of at least LARGE flops per
                                              operation (dense evaluation of big grids)

where cores are the ones this process may run on and idle cores are those minus the
cores other processes kept busy over the last 0.1 s (/proc/stat; elsewhere the
1-minute load average), never below 1, so a job never asks for cores another process
is using.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager

LARGE = 10**8  # flops of one operation above which a second thread pays


def available_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of all cores, from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return sum(values) - idle, sum(values)


def idle_cores(interval: float = 0.1) -> int:
    """Cores not busy with other processes right now, at least 1."""
    cores = available_cores()
    try:
        busy0, total0 = _cpu_times()
        time.sleep(interval)
        busy1, total1 = _cpu_times()
        busy = round((busy1 - busy0) / max(total1 - total0, 1) * (os.cpu_count() or cores))
    except (OSError, ValueError, IndexError):
        try:
            busy = int(os.getloadavg()[0])
        except OSError:
            busy = 0
    return max(1, min(cores, cores - busy))


def choose(requested: int = 0, flops_per_op: float = 0.0) -> int:
    """The thread count for a job: `requested` if >= 1, else the policy above."""
    if requested < 0:
        raise ValueError(f"threads must be >= 0 (0: choose), got {requested}")
    if requested:
        return min(requested, available_cores())
    return idle_cores() if flops_per_op >= LARGE else 1


@contextmanager
def using(n: int):
    """torch with n threads inside the block (restored after). If torch is not loaded
    yet, it is told through OMP_NUM_THREADS, which it reads when it loads: a job that
    refuses its input early never pays for loading torch."""
    import sys

    if "torch" not in sys.modules:
        before = os.environ.get("OMP_NUM_THREADS")
        os.environ["OMP_NUM_THREADS"] = str(n)
        try:
            yield
        finally:
            if before is None:
                os.environ.pop("OMP_NUM_THREADS", None)
            else:
                os.environ["OMP_NUM_THREADS"] = before
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
