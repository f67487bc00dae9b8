"""Trained filters and verified rules that ship with the package, loaded by name.

filters/<name>.pt: trained filters (AlgorithmLearner.save); rules/<name>.json: rules
extracted from them and verified (Rule.save); learners/<name>.json: learners learned by
SGD, read off and verified in the Theorem 1 frame (trainable.meta.MetaRule.save).
`turing-rcnn train-algo --load NAME`, `turing-rcnn verify NAME` and
`turing-rcnn meta-train --load NAME` take these names; any other value is read as a path.
"""

from __future__ import annotations

import os
from importlib import resources

KINDS = {"filter": ("filters", ".pt"), "rule": ("rules", ".json"), "learner": ("learners", ".json")}


def names(kind: str) -> list[str]:
    """The shipped names of a kind ('filter' or 'rule')."""
    folder, ending = KINDS[kind]
    here = resources.files(__name__) / folder
    if not here.is_dir():
        return []
    return sorted(p.name[: -len(ending)] for p in here.iterdir() if p.name.endswith(ending))


def resolve(value: str, kind: str) -> str:
    """A shipped name's file, or `value` itself as a path; a ValueError if neither."""
    folder, ending = KINDS[kind]
    if value in names(kind):
        return str(resources.files(__name__) / folder / f"{value}{ending}")
    if os.path.isfile(value):
        return value
    shipped = ", ".join(names(kind)) or "none"
    raise ValueError(f"{value}: no such file, and no shipped {kind} of that name ({shipped})")
