"""Trained filters and verified rules that ship with the package, loaded by name.

filters/<name>.pt: trained filters (AlgorithmLearner.save); rules/<name>.json: rules
extracted from them and verified (Rule.save); learners/<name>.json: learners learned by
SGD, read off and verified in the Theorem 1 frame (trainable.meta.MetaRule.save).
`turing-rcnn train-algo --load NAME`, `turing-rcnn verify NAME` and
`turing-rcnn meta-train --load NAME` take these names; any other value is read as a path.
MANIFEST.json holds the sha256 of each shipped file's bytes: a shipped file changed on
disk is refused by name (and, like any file, by the content hash inside it).
"""

from __future__ import annotations

import hashlib
import json
import os
from importlib import resources

ROOT = resources.files(__name__)  # the shipped files (a test points it at a copy)
KINDS = {"filter": ("filters", ".pt"), "rule": ("rules", ".json"), "learner": ("learners", ".json")}


def names(kind: str) -> list[str]:
    """The shipped names of a kind ('filter' or 'rule')."""
    folder, ending = KINDS[kind]
    here = ROOT / folder
    if not here.is_dir():
        return []
    return sorted(p.name[: -len(ending)] for p in here.iterdir() if p.name.endswith(ending))


def resolve(value: str, kind: str) -> str:
    """A shipped name's file, or `value` itself as a path; a ValueError if neither."""
    folder, ending = KINDS[kind]
    if value in names(kind):
        path = ROOT / folder / f"{value}{ending}"
        check_shipped(f"{folder}/{value}{ending}", path.read_bytes(), kind)
        return str(path)
    if os.path.isfile(value):
        return value
    if os.path.lexists(value):  # a folder, a FIFO, a device, a broken link: say which
        from ..integrity import regular_file

        regular_file(value, kind)
    shipped = ", ".join(names(kind)) or "none"
    raise ValueError(f"{value}: no such file, and no shipped {kind} of that name ({shipped})")


def manifest() -> dict[str, str]:
    """MANIFEST.json: each shipped file's path (folder/name) -> sha256 of its bytes."""
    return json.loads((ROOT / "MANIFEST.json").read_text())


def check_shipped(name: str, data: bytes, kind: str) -> None:
    """A ValueError unless the shipped file `name` holds the bytes its manifest says."""
    if manifest().get(name) != hashlib.sha256(data).hexdigest():
        raise ValueError(
            f"the shipped {kind} {name} does not match the package's MANIFEST.json: "
            "the file was changed or damaged; reinstall turing-rcnn"
        )


def write_manifest() -> None:
    """Record every shipped file's sha256 in MANIFEST.json (after re-training one)."""
    files = sorted(
        f"{folder}/{p.name}"
        for folder, ending in KINDS.values()
        for p in (ROOT / folder).iterdir()
        if p.name.endswith(ending)
    )
    digest = {f: hashlib.sha256((ROOT / f).read_bytes()).hexdigest() for f in files}
    (ROOT / "MANIFEST.json").write_text(json.dumps(digest, indent=1) + "\n")
