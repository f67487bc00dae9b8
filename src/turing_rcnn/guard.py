"""What the package refuses before any long work, and how it writes files.

Memory: every job that allocates in proportion to its sizes (the RCNN's grids and
memo, candidate batches, the trainable filter's grids, a Turing machine's tape)
estimates its peak memory from those sizes first and raises a ValueError with the
estimate when it is over the limit: by default the memory available now
(MemAvailable in /proc/meminfo), or what `limit()` / the CLI's --max-memory set.

Files: an output that exists is refused unless forced; a file is written to a
temporary name in the same folder and renamed onto the path given, so an interrupted
write never leaves a half file under the real name, and the path written is exactly
the path given.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager

_LIMIT: list[float | None] = [None]  # bytes; None: the memory available now


def available_bytes() -> float:
    """Memory available to a new allocation now (MemAvailable), in bytes."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024.0
    except OSError:
        pass
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return float("inf")


def human(n: float) -> str:
    """Bytes as a short human figure: 1.5 GB, 24 TB."""
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1000 or unit == "PB":
            return f"{n:.3g} {unit}"
        n /= 1000
    return f"{n:.3g} PB"


@contextmanager
def limit(gigabytes: float | None):
    """Inside the block, refuse work estimated above `gigabytes` (None: available memory)."""
    if gigabytes is not None and not (gigabytes > 0 and gigabytes != float("inf")):
        raise ValueError(f"max-memory must be a positive number of GB, got {gigabytes}")
    before = _LIMIT[0]
    _LIMIT[0] = None if gigabytes is None else gigabytes * 1e9
    try:
        yield
    finally:
        _LIMIT[0] = before


def check_memory(estimate: float, what: str) -> None:
    """A ValueError naming the estimate when `what` would need more than the limit."""
    allowed = _LIMIT[0] if _LIMIT[0] is not None else available_bytes()
    if estimate > allowed:
        source = "--max-memory" if _LIMIT[0] is not None else "memory available now"
        raise ValueError(
            f"{what} needs about {human(estimate)}, more than the {human(allowed)} allowed "
            f"({source}); use smaller sizes, or raise --max-memory (GB) if you are sure"
        )


def rcnn_bytes(cells: int, layers: int, batch: int, hidden: tuple[int, ...] = (), dense=False):
    """Peak memory of an RCNN run: a fixed 0.5 GB (torch, the program), 24 bytes per cell
    and layer (the change-driven history and memo), 16 per cell of a batch; the dense
    evaluation also holds every hidden activation of a batch (fitted to bench_scale's
    peaks at d = 64..256 within 20%)."""
    total = 5e8 + 24.0 * cells * layers + 16.0 * cells * batch
    if dense:
        total += 4.0 * 3 * cells * batch * (sum(hidden) + 1)
    return total


def check_device(device: str) -> None:
    """A ValueError unless `device` is 'cpu' or a CUDA device that exists here."""
    import re

    import torch

    if device == "cpu":
        return
    if not isinstance(device, str) or not re.fullmatch(r"cuda(:\d+)?", device):
        raise ValueError(f"device must be 'cpu' or 'cuda[:N]', got {device!r}")
    if not torch.cuda.is_available():
        raise ValueError(f"device {device!r}: no CUDA device on this machine")
    index = int(device.partition(":")[2] or 0)
    if index >= torch.cuda.device_count():
        raise ValueError(f"device {device!r}: this machine has {torch.cuda.device_count()} GPUs")


def refuse_existing(*paths: str | None, force: bool = False) -> None:
    """A user error if an output exists (a folder is never replaced); --force overwrites files."""
    for path in paths:
        if not path:
            continue
        if os.path.isdir(path):
            raise ValueError(f"{path} is a folder; give a file path")
        if os.path.exists(path) and not force:
            raise ValueError(
                f"{path} exists; choose another path or pass --force (nothing written)"
            )


def need_folder(path: str | None) -> None:
    """A user error unless the folder an output goes into exists and is writable
    (runs/..., the default place for outputs, is made when the file is written)."""
    if path is None:
        return
    folder = os.path.dirname(path) or "."
    if not os.path.isdir(folder):
        if _under_runs(folder) and not os.path.exists(folder):
            return
        raise ValueError(f"{path}: no such folder {folder}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"{path}: folder {folder} is not writable")


def _under_runs(folder: str) -> bool:
    return os.path.normpath(folder).split(os.sep)[0] == "runs"


_UMASK = os.umask(0o022)  # read once: the permissions a plain open() gives
os.umask(_UMASK)


@contextmanager
def atomic_path(path: str):
    """A temporary path beside `path`; flushed to disk and renamed onto `path` when the
    block succeeds, removed when it fails."""
    folder = os.path.dirname(path) or "."
    if _under_runs(folder):
        os.makedirs(folder, exist_ok=True)
    ending = os.path.splitext(path)[1]
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=ending, dir=folder)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)  # not mkstemp's 0600
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_text(path: str, text: str) -> None:
    """Write text atomically."""
    with atomic_path(path) as tmp, open(tmp, "w") as f:
        f.write(text)
