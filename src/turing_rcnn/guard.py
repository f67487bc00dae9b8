"""What the package refuses before any long work, and how it writes files.

Memory: every job that allocates in proportion to its sizes (the RCNN's grids and
memo, candidate batches, the trainable filter's grids, a Turing machine's tape)
estimates its peak memory from those sizes first and raises a ValueError with the
estimate when it is over the limit: by default the memory available now
(MemAvailable in /proc/meminfo), or what `limit()` / the CLI's --max-memory set.

Files: an output that exists is refused unless forced, and one that is a folder or a
special file (a FIFO, a socket, a device, a link to one) always; a file is written to
a temporary name in the same folder and then published under the path given, so an
interrupted write (Ctrl-C, SIGTERM) never leaves a half file under the real name, and
the path written is exactly the path given. Publishing a new file is exclusive (a hard
link fails if the name was taken meanwhile): of two runs writing the same new output,
one wins and the other stops with a user error.
"""

from __future__ import annotations

import os
import stat
import tempfile
from contextlib import contextmanager
from contextvars import ContextVar

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
    if gigabytes is not None:
        check_gigabytes(gigabytes)
    before = _LIMIT[0]
    _LIMIT[0] = None if gigabytes is None else gigabytes * 1e9
    try:
        yield
    finally:
        _LIMIT[0] = before


MAX_BYTES = 2.0**60  # 1.15 EB: more memory than any machine has


def check_gigabytes(gigabytes: float) -> None:
    """A ValueError unless `gigabytes` is a memory limit a machine can have: positive,
    at most 2^60 bytes (1e308 and inf alike are refused, not taken as 'no limit')."""
    if not gigabytes > 0:
        raise ValueError(f"max-memory must be a positive number of GB, got {gigabytes}")
    if not gigabytes * 1e9 <= MAX_BYTES:
        raise ValueError(
            f"max-memory must be at most {MAX_BYTES / 1e9:.3g} GB (2^60 bytes, more than any "
            f"machine has), got {gigabytes}"
        )


def allowed_bytes() -> float:
    """The memory a job may take now: the limit set (`limit`, --max-memory), else the
    memory available now."""
    return _LIMIT[0] if _LIMIT[0] is not None else available_bytes()


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
    """Peak memory of an RCNN run with `batch` inputs at once: a fixed 0.5 GB (torch, the
    program) and, dense, 24 bytes per cell and layer and 16 per cell of a batch plus
    every hidden activation of a batch (fitted to bench_scale's peaks at d = 64..256
    within 20%); change-driven, the patch memo at 2 bytes per cell and layer (its
    distinct patches are 0.09-0.19 per cell and layer at d = 64..256, about 20 bytes
    each) and 2.5 bytes per cell of a batch (the streamed chunk of test points:
    algorithm1.GRID_BYTES)."""
    if not dense:
        return 5e8 + 2.0 * cells * layers + 2.5 * cells * batch
    total = 5e8 + 24.0 * cells * layers + 16.0 * cells * batch
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


_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def what_is(path: str) -> str | None:
    """What `path` is when it exists and is not a regular file, in words ('a FIFO', 'a
    folder', 'a symbolic link to a socket', 'a broken symbolic link'); None for a
    regular file, a link to one, or nothing. Messages say it, so a special file is
    never taken for a missing one, and nothing is ever renamed onto one."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    except NotADirectoryError:  # a file (or FIFO...) where a folder should be: name it
        parent = os.path.dirname(path)
        while parent and not os.path.lexists(parent):
            parent = os.path.dirname(parent)
        kind = what_is(parent) or "a file"
        raise ValueError(f"{path}: {parent} is {kind}, not a folder") from None
    except OSError as err:  # a name too long, a folder we may not search, ...
        raise ValueError(f"{path}: {err.strerror}") from None
    if stat.S_ISLNK(mode):
        try:
            inner = _kind(os.stat(path).st_mode)
        except OSError:
            return "a broken symbolic link"
        return inner and f"a symbolic link to {inner}"
    return _kind(mode)


def _kind(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    return next((words for test, words in _KINDS if test(mode)), "a special file")


def refuse_existing(*paths: str | None, force: bool = False) -> None:
    """A user error if an output exists (--force overwrites a file), is empty, or is a
    folder or special file (never replaced, even with --force); None: no output."""
    for path in paths:
        if path is None:
            continue
        if not path:
            raise ValueError("an output path is empty; give a file path")
        kind = what_is(path)
        if kind:
            raise ValueError(f"{path} is {kind}, not a regular file; give a file path")
        if os.path.lexists(path) and not force:
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
        if _under_runs(folder) and not os.path.lexists(folder):
            return
        if os.path.lexists(folder):  # a file, a FIFO, a broken link...: say which
            raise ValueError(f"{path}: {folder} is {what_is(folder) or 'a file'}, not a folder")
        raise ValueError(f"{path}: no such folder {folder}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"{path}: folder {folder} is not writable")


def check_output(path: str | None, flag: str, endings=(), force: bool = False) -> None:
    """Every refusal of an output file `path` (given as `flag`; None: none asked for),
    before any work: empty, not ending in one of `endings` or only an ending ('.png'),
    an existing folder or special file, an existing file without --force, a folder
    missing or not writable."""
    if path is None:
        return
    if not path:
        raise ValueError(f"{flag} is empty; give a file path")
    if endings and not path.endswith(tuple(endings)):
        raise ValueError(f"{flag} must end in {' or '.join(endings)}, got {path!r}")
    name = os.path.basename(path)
    if name in endings:
        raise ValueError(f"{flag} {path!r} is only an ending; give a name, e.g. run{name}")
    refuse_existing(path, force=force)
    need_folder(path)


def _under_runs(folder: str) -> bool:
    return os.path.normpath(folder).split(os.sep)[0] == "runs"


_UMASK = os.umask(0o022)  # read once: the permissions a plain open() gives
os.umask(_UMASK)


_JOB: ContextVar[dict | None] = ContextVar("outputs", default=None)


@contextmanager
def outputs(force: bool | None):
    """Inside the block (a CLI job), a file is published under a path that exists only
    with `force`, or when the block itself published it there (a checkpoint saved
    again); else exclusively (two runs: one wins, the other gets a ValueError). None:
    the command has no --force. Outside any such block (the API), an existing regular
    file is replaced."""
    token = _JOB.set({"force": force, "ours": set()})
    try:
        yield
    finally:
        _JOB.reset(token)


@contextmanager
def atomic_path(path: str, replace: bool | None = None):
    """A temporary path beside `path`; flushed to disk and published as `path` when the
    block succeeds, removed when it fails or is interrupted. `replace`: True replaces an
    existing regular file, False never does, None follows outputs()."""
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
        _publish(tmp, path, replace)
    finally:
        if os.path.lexists(tmp):
            os.remove(tmp)


def _publish(tmp: str, path: str, replace: bool | None) -> None:
    """Give the finished `tmp` the name `path` (see atomic_path), never onto a folder or
    special file."""
    kind = what_is(path)
    if kind:
        raise ValueError(f"{path} is {kind}, not a regular file (nothing written)")
    job = _JOB.get()
    if replace is None:
        replace = job is None or bool(job["force"]) or _identity(path) in job["ours"]
    if replace:
        os.replace(tmp, path)
    else:
        _publish_new(tmp, path, forcible=job is not None and job["force"] is not None)
    identity = _identity(path)
    if job is not None and identity:  # (None: it vanished meanwhile; never counts as ours)
        job["ours"].add(identity)


def _publish_new(tmp: str, path: str, forcible: bool) -> None:
    """`tmp` as `path` only if nothing has that name: a hard link, which fails when the
    name is taken (no window, no replacing); where the file system has no hard links,
    the name is claimed by an exclusive create, then the file renamed onto it.
    `forcible`: the message may suggest --force."""
    try:
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise
        except OSError:  # no hard links here (FAT, some network file systems)
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            os.replace(tmp, path)
    except FileExistsError:
        force = " or pass --force" if forcible else ""
        raise ValueError(
            f"{path} exists (written meanwhile by another run); choose another path{force} "
            "(nothing written)"
        ) from None


def _identity(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def write_text(path: str, text: str, replace: bool | None = None) -> None:
    """Write text atomically (`replace`: see atomic_path)."""
    with atomic_path(path, replace) as tmp, open(tmp, "w") as f:
        f.write(text)
