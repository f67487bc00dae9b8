"""A resumable run's journal: a JSON-lines file, a header line, then one line per
finished piece of work (search chunks, sweep runs), appended and synced as each ends.

open_journal reads what a journal holds, or starts one; append adds a row. A journal
whose header fingerprint differs belongs to other work and is refused; a last line
cut short by a kill is dropped and cut off, so the next row starts on its own line.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager

from . import guard, integrity


def open_journal(path: str, header: dict, kind: str, differs: str) -> list[tuple[int, object]]:
    """(line number, parsed JSON) of every row of the journal at `path`, after checking
    its header's "fingerprint" against header["fingerprint"]; a new or empty file gets
    `header` as its first line. `kind` names the work in messages ('search', 'sweep');
    `differs` says what may change between runs sharing a journal. Rows are the
    caller's to check (a bad one: an error naming its line)."""
    special = guard.what_is(path)  # a folder, FIFO, device...: never read nor replaced
    if special:
        raise ValueError(f"checkpoint {path} is {special}, not a regular file")
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        # whole or not at all; a new file exclusively (of two runs starting together,
        # one stops), an empty one replaced
        guard.write_text(path, json.dumps(header) + "\n", replace=os.path.exists(path))
        return []
    if not os.access(path, os.R_OK | os.W_OK):
        raise ValueError(f"checkpoint {path} is not readable and writable")
    size = os.path.getsize(path)  # parsed rows take about 10x the text: the memory guard
    guard.check_memory(10.0 * size, f"reading checkpoint {path} ({guard.human(size)})")
    with open(path, "rb") as f:
        data = f.read()
    try:
        text = data.decode()
    except UnicodeDecodeError:
        raise ValueError(f"checkpoint {path} is not a text file written by a {kind}") from None
    lines = text.split("\n")
    torn = lines.pop()  # "" unless the last line lacks its newline: cut short
    not_header = f"checkpoint {path} line 1: not a {kind} checkpoint header"
    if not lines:
        raise ValueError(not_header)
    try:
        first = integrity.parse_json(lines[0])
    except ValueError:
        first = None
    if not isinstance(first, dict) or not isinstance(first.get("fingerprint"), str):
        raise ValueError(not_header)
    if first["fingerprint"] != header["fingerprint"]:
        raise ValueError(f"checkpoint {path} belongs to a different {kind} ({differs})")
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        try:
            rows.append((number, integrity.parse_json(line)))  # bounded: no NaN, no depth
        except ValueError as err:
            raise ValueError(f"checkpoint {path} line {number}: {err}") from None
    if torn:  # cut it off, so that the next row starts on a line of its own
        with open(path, "r+b") as f:
            f.truncate(len(data) - len(torn.encode()))
    return rows


def fingerprint(fields: dict, arrays=()) -> str:
    """What a journal's rows depend on, in 16 hex digits: the JSON of `fields` (keys
    sorted) and the bytes of any arrays (a search's data)."""
    import hashlib

    import numpy as np

    h = hashlib.sha256(json.dumps(fields, sort_keys=True).encode())
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


def append(path: str, row: dict) -> None:
    """Add one row and sync it: a kill after this call loses nothing of it."""
    with open(path, "a") as f:
        f.write(json.dumps(row) + "\n")
        f.flush()
        os.fsync(f.fileno())


@contextmanager
def locked(path: str, kind: str):
    """Hold an exclusive lock on the journal at `path` for the block: a second run on the
    same journal stops at once (one line) instead of redoing the same work beside it."""
    import fcntl

    with open(path, "a") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise ValueError(
                f"another {kind} is writing {path}; wait for it or use another"
            ) from None
        yield
