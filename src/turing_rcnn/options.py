"""Config fields that carry their own command-line help and range.

Configs are dataclasses; the CLI builds every option from them (app/cli.py), so a
default is written once, beside the help text that explains it and the range a value
must lie in (checked by `check_ranges` before any work, with the flag's name)."""

from __future__ import annotations

import math
from dataclasses import MISSING, Field, field, fields, is_dataclass
from typing import Any


def option(
    default: Any = MISSING,
    help: str = "",
    choices: tuple | None = None,
    positional: bool = False,
    low: float | None = None,
    high: float | None = None,
) -> Any:
    """A dataclass field with a default (none: required) and what the CLI shows: `help`,
    optional `choices`, whether it is positional, and the allowed range [low, high]."""
    meta = {"help": help, "choices": choices, "positional": positional, "low": low, "high": high}
    return field(default=default, metadata=meta)


def check_value(f: Field, value: Any, name: str) -> None:
    """A ValueError naming `name` when a field's value is not finite or out of range."""
    low, high = f.metadata.get("low"), f.metadata.get("high")
    choices = f.metadata.get("choices")
    whole = str(f.type).replace("tuple[", "").startswith("int")  # int, int | None, tuple[int]
    for v in value if isinstance(value, (tuple, list)) else (value,):
        if choices and v not in choices:
            raise ValueError(f"{name} must be one of {list(choices)}, got {v!r}")
        if whole and v is not None and (isinstance(v, bool) or not isinstance(v, int)):
            raise ValueError(f"{name} must be a whole number, got {v!r}")
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            continue
        if isinstance(v, float) and not math.isfinite(v):
            raise ValueError(f"{name} must be a finite number, got {v}")
        if low is not None and v < low:
            raise ValueError(f"{name} must be >= {low}, got {v}")
        if high is not None and v > high:
            raise ValueError(f"{name} must be <= {high}, got {v}")


def check_ranges(config: Any) -> None:
    """Every field of a config (and its nested configs) in its range; for __post_init__."""
    for f in fields(config):
        value = getattr(config, f.name)
        if is_dataclass(value):
            check_ranges(value)
        else:
            check_value(f, value, f"{type(config).__name__}.{f.name}")
