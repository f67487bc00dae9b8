"""Checks the test files share (import as `from helpers import ...`: pytest puts tests/
on the path). A CLI refusal (test_bad_input*.py) is exit code 2, one line naming the
problem, no traceback, nothing under its folder changed, within 10 s; snapshot() never
opens a FIFO or socket nor reads a large (sparse) file; Clock notes when stderr is
written to; kill_when_lines stops a run part-way through its journal."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import subprocess
import time
from pathlib import Path

from turing_rcnn.app.cli import main

LARGE = 10**7  # bytes: a file above this is compared by size and time, not read


def snapshot(tmp: Path) -> dict:
    """Every entry under `tmp`: its type, and a regular file's hash (size and time when
    large) or a link's target."""
    seen = {}
    for root, dirs, files in os.walk(tmp):
        for name in dirs + files:
            path = os.path.join(root, name)
            info = os.lstat(path)
            if stat.S_ISREG(info.st_mode) and info.st_size > LARGE:
                what = (info.st_size, info.st_mtime_ns)
            elif stat.S_ISREG(info.st_mode):
                what = hashlib.sha256(Path(path).read_bytes()).hexdigest()
            else:
                what = os.readlink(path) if stat.S_ISLNK(info.st_mode) else ""
            seen[os.path.relpath(path, tmp)] = (stat.S_IFMT(info.st_mode), what)
    return seen


def refused(argv: list[str], fragment: str, folder: Path, capsys, raw=()) -> None:
    """main(argv) ({tmp} -> folder): exit code 2, ONE stderr line holding `fragment`, no
    traceback, none of the `raw` characters printed, nothing under `folder` changed, no
    payload run, within 10 s."""
    before = snapshot(folder)
    start = time.perf_counter()
    code = main([a.replace("{tmp}", str(folder)) for a in argv] + ["--no-progress"])
    seconds = time.perf_counter() - start
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert fragment in err, err
    assert not any(c in out + err for c in raw), repr(err)
    assert snapshot(folder) == before, "an existing file changed"
    assert not (folder / "PWNED").exists()
    assert seconds < 10, f"refused only after {seconds:.1f} s"


class Clock(io.StringIO):
    """A stream (stderr) that notes when each non-blank write came."""

    def __init__(self):
        super().__init__()
        self.times: list[float] = []

    def write(self, text: str) -> int:
        if text.strip():
            self.times.append(time.perf_counter())
        return super().write(text)


def kill_when_lines(proc: subprocess.Popen, journal: Path, lines: int) -> list[str]:
    """Kill `proc` (SIGKILL) once its journal holds `lines` lines (or after 120 s);
    the journal's lines then."""
    deadline = time.time() + 120
    while time.time() < deadline:
        if journal.exists() and len(journal.read_text().splitlines()) >= lines:
            break
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    return journal.read_text().splitlines()
