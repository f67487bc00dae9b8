"""Config fields that carry their own command-line help.

Configs are dataclasses; the CLI builds every option from them (app/cli.py), so a
default is written once, beside the help text that explains it."""

from __future__ import annotations

from dataclasses import MISSING, field
from typing import Any


def option(
    default: Any = MISSING, help: str = "", choices: tuple | None = None, positional: bool = False
) -> Any:
    """A dataclass field with a default (none: required) and what the CLI shows: `help`,
    optional `choices`, and whether it is a positional argument."""
    meta = {"help": help, "choices": choices, "positional": positional}
    return field(default=default, metadata=meta)
