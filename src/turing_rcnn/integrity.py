"""Files we read: bounded before they are parsed, and sealed by a content hash.

Every JSON file the package reads (rules, learned learners, checkpoint lines) goes
through `read_json` / `parse_json`: the file's size is checked before it is read
(MAX_JSON_BYTES), NaN and Infinity literals, numbers beyond float range and integers
of more than MAX_DIGITS digits are refused, and so is nesting deeper than MAX_DEPTH
(never a RecursionError). Every model (.pt), rule and learned learner (.json) the
package saves carries "sha256": the hash of a canonical serialisation of its content
(weights, table, config), written at save and checked at load (`check_seal`), so a
changed or damaged file is refused instead of answering garbage. A file saved before
hashes existed is refused too, with the way to add one: `python -m
turing_rcnn.integrity FILE` loads it with every other check and saves it sealed.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys

from .guard import check_memory, human, what_is

MAX_JSON_BYTES = 64 * 10**6  # a rule or learned learner file (the largest shipped: 1.2 MB)
MAX_DEPTH = 64  # JSON nesting (a rule needs 4)
MAX_DIGITS = 30  # digits of one JSON integer
HASH_KEY = "sha256"
REHASH = "python -m turing_rcnn.integrity"


def _constant(name: str):
    raise ValueError(f"{name} is not a number we accept (JSON numbers must be finite)")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is beyond float range")
    return value


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        digits = len(text.lstrip("-"))
        raise ValueError(f"an integer of {digits} digits (at most {MAX_DIGITS})")
    return int(text)


def depth(value, most: int = MAX_DEPTH) -> int:
    """How deeply lists and objects nest in a parsed JSON value, level by level (no
    recursion); counting stops past `most`."""
    level, deepest = [value], 0
    while deepest <= most:
        level = [v for v in level if isinstance(v, (list, dict))]
        if not level:
            break
        deepest += 1
        inner: list = []
        for v in level:
            inner.extend(v.values() if isinstance(v, dict) else v)
        level = inner
    return deepest


def parse_json(text: str | bytes):
    """JSON text -> value; a ValueError for NaN/Infinity, out-of-range or overlong
    numbers and nesting deeper than MAX_DEPTH (the parser's recursion never escapes)."""
    try:
        value = json.loads(text, parse_constant=_constant, parse_float=_float, parse_int=_int)
    except RecursionError:
        raise ValueError(f"JSON nested more than {MAX_DEPTH} levels deep") from None
    except json.JSONDecodeError as err:
        raise ValueError(str(err)) from None
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None
    if depth(value) > MAX_DEPTH:
        raise ValueError(f"JSON nested more than {MAX_DEPTH} levels deep")
    return value


def regular_file(path: str, what: str) -> int:
    """The size of `path`, a regular file (or a link to one); a ValueError saying what
    it is otherwise (guard.what_is: a FIFO would block a read, a device never end)."""
    kind = what_is(path)
    if kind == "a folder":
        raise ValueError(f"{path} is a folder, not a {what}")
    if kind:
        raise ValueError(f"{path} is not a regular file ({kind}), so not a {what}")
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        raise ValueError(f"{path}: cannot read a {what}: no such file") from None
    except OSError as err:
        raise ValueError(f"{path}: cannot read a {what} ({err.strerror})") from None


def read_json(path: str, what: str, limit: int = MAX_JSON_BYTES):
    """The JSON value in the file `path` (`what` names it in messages: 'rule'); its size
    is checked against `limit` bytes before a byte is read."""
    size = regular_file(path, what)
    if size > limit:
        raise ValueError(
            f"{path}: cannot read a {what}: {human(size)}, more than the {human(limit)} "
            "such a file may hold (integrity.MAX_JSON_BYTES)"
        )
    # parsed JSON takes up to ~50x its text (a str or float object per few bytes)
    check_memory(50.0 * size, f"reading the {what} {path} ({human(size)})")
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError as err:
        raise ValueError(f"{path}: cannot read a {what} ({err.strerror})") from None
    try:
        return parse_json(data)
    except ValueError as err:
        raise ValueError(f"{path}: cannot read a {what} ({err})") from None
    except MemoryError:
        raise ValueError(f"{path}: cannot read a {what}: out of memory") from None


def content_hash(value) -> str:
    """sha256 of a JSON value's canonical text (sorted keys, no spaces)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def tensors_hash(meta: dict, tensors: dict) -> str:
    """sha256 of a model's JSON-able fields `meta` and its named tensors (name, dtype,
    shape and bytes of each, in name order)."""
    import torch

    digest = hashlib.sha256(content_hash(meta).encode())
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous().reshape(-1)
        digest.update(f"|{name}|{t.dtype}|{tuple(tensors[name].shape)}|".encode())
        digest.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return digest.hexdigest()


def model_hash(blob: dict) -> str:
    """The content hash of a saved model: its "state_dict" tensors and every other
    field but the hash itself (AlgorithmLearner.save, MetaLearner.save)."""
    meta = {k: v for k, v in blob.items() if k not in ("state_dict", HASH_KEY)}
    return tensors_hash(meta, blob["state_dict"])


def check_weights(state) -> None:
    """A ValueError unless `state` maps names to finite real floating-point tensors."""
    import torch

    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise ValueError("its weights are not a dict of tensors")
    for name, v in state.items():
        if not v.is_floating_point():  # complex and integer tensors are not
            raise ValueError(f"its weights must be real floats; {name!r} is {v.dtype}")
        if not torch.isfinite(v).all():
            raise ValueError(f"its weights hold NaN or infinite values ({name!r})")


def _real(v) -> bool:
    return type(v) in (int, float) and math.isfinite(v)


def check_counters(blob: dict, history: dict) -> None:
    """A ValueError unless blob's steps is an integer >= 0, train_seconds a finite time
    >= 0, and the history lists of finite numbers (its steps integers >= 0)."""
    steps, seconds = blob["steps"], blob["train_seconds"]
    if type(steps) is not int or steps < 0:
        raise ValueError(f"its steps must be a whole number >= 0, got {steps!r}")
    if not _real(seconds) or seconds < 0:
        raise ValueError(f"its train_seconds must be a finite time >= 0, got {seconds!r}")
    for name, values in history.items():
        if not isinstance(values, list) or not all(map(_real, values)):
            raise ValueError(f"its history's {name} must be a list of finite numbers")
    if not all(type(v) is int and v >= 0 for v in history.get("step", [])):
        raise ValueError("its history's steps must be whole numbers >= 0")


def check_seal(path: str, seal, expected: str) -> None:
    """A ValueError unless the hash `seal` read from the file is `expected`."""
    if seal is None:
        raise ValueError(
            f"{path} has no content hash (saved before turing-rcnn sealed its files); "
            f"if you trust it, add one with: {REHASH} {path}"
        )
    if seal != expected:
        raise ValueError(
            f"{path}: its content hash does not match: the file was changed or damaged"
        )


def reseal(path: str) -> str:
    """Load a model (.pt), rule or learned learner (.json) with every check but the hash,
    and save it again with its hash; returns the kind of file it was."""
    if path.endswith(".pt"):
        from .trainable.learner import AlgorithmLearner

        AlgorithmLearner.load(path, progress=False, sealed=False).save(path)
        return "model"
    blob = read_json(path, "rule or learned learner")
    if isinstance(blob, dict) and "family" in blob:
        from .trainable.meta import MetaRule

        MetaRule.load(path, sealed=False).save(path)
        return "learned learner"
    from .trainable.extract import Rule

    Rule.load(path, sealed=False).save(path)
    return "rule"


def main(argv: list[str]) -> int:
    """Seal each file named (files saved before hashes existed); exit 2 on a bad one."""
    if not argv or argv[0] in ("-h", "--help"):
        print(f"usage: {REHASH} FILE...  (models .pt, rules and learners .json)")
        return 0 if argv else 2
    for path in argv:
        try:
            print(f"{path}: {reseal(path)} sealed")
        except ValueError as err:
            print(f"{REHASH}: error: {str(err).splitlines()[0]}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
