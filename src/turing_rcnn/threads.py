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

Worker processes (RCNNLearner's predict: the test points split across processes, each
one thread) follow the same rule, `processes`: the requested count if given, else 1
for small work and the idle cores for work of at least PROCESS_WORK cell evaluations;
a `--threads N` given to the command caps them at N. A worker started on an idle core
watches the load (`LoadWatch`: what processes other than the job's own used over the
last half second) and stops taking work while another process needs that core.
"""

from __future__ import annotations

import numbers
import os
import time
from contextlib import contextmanager

LARGE = 10**8  # flops of one operation above which a second thread pays
PROCESS_WORK = 10**9  # cell evaluations (dense count) above which a second process pays
_EXPLICIT: list[int | None] = [None]  # the last explicit --threads N given to choose()


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
    _EXPLICIT[0] = requested or None
    if requested:
        return min(requested, available_cores())
    return idle_cores() if flops_per_op >= LARGE else 1


def check_processes(requested) -> None:
    """A ValueError unless `requested` is None (choose), an integer >= 1 or -1 (every
    core this process may run on)."""
    ok = requested is None or (
        isinstance(requested, numbers.Integral)
        and not isinstance(requested, bool)
        and (requested >= 1 or requested == -1)
    )
    if not ok:
        raise ValueError(
            f"n_jobs must be None (choose), an integer >= 1 or -1 (every core), got {requested!r}"
        )


def processes(requested: int | None = None, work: float = 0.0) -> int:
    """Worker processes for a job of `work` cell evaluations: `requested` if given (-1:
    every core; at most the cores), else 1 for small work and the idle cores for work
    of at least PROCESS_WORK, never more than an explicit --threads N."""
    check_processes(requested)
    cores = available_cores()
    if requested is not None:
        return cores if requested == -1 else min(int(requested), cores)
    if work < PROCESS_WORK:
        return 1
    return max(1, min(idle_cores(), _EXPLICIT[0] or cores))


def _jiffies(pid: int) -> int:
    """CPU time (user + system, clock ticks) of process `pid` so far, 0 if gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
        return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    except (OSError, ValueError, IndexError):
        return 0


class LoadWatch:
    """The cores that processes other than `pids` (the job's own) kept busy since the
    last reading: /proc/stat's busy time of all cores less the job's processes' CPU
    time (/proc/PID/stat), over the time elapsed. `others()` is 0.0 where /proc is not
    there (nothing to watch: the caller decided on the load at start)."""

    def __init__(self, pids: list[int]):
        self.pids = list(pids)
        self._last = self._read()

    def _read(self):
        try:
            busy, total = _cpu_times()
        except (OSError, ValueError, IndexError):
            return None
        return busy, total, sum(_jiffies(pid) for pid in self.pids)

    def others(self) -> float:
        """Cores other processes used since the last call (or since this watch began)."""
        now, last = self._read(), self._last
        self._last = now
        if now is None or last is None or now[1] <= last[1]:
            return 0.0
        cores = os.cpu_count() or 1
        ticks = (now[1] - last[1]) / cores  # clock ticks elapsed (per core)
        return max(0.0, ((now[0] - last[0]) - (now[2] - last[2])) / ticks)


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
