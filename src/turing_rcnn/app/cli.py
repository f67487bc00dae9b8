"""Command-line interface: `turing-rcnn COMMAND --help` for each command.

Every command is a config dataclass and a job (jobs.py): the options, their defaults
and their help are read off the dataclass fields (a nested config, such as the
trainable filter's AlgoConfig, contributes its fields too), so each default is written
once. Every command also takes --json, --no-progress and --threads (torch's thread
count; 0, the default, lets threads.py choose: 1 for this package's small-op work, so
a job never fights another process for the cores). A user error ends with one line on
stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import typing
from collections.abc import Callable
from dataclasses import MISSING, dataclass, fields, is_dataclass

from .. import threads
from . import jobs


@dataclass(frozen=True)
class Command:
    config: type
    job: Callable
    help: str
    text: Callable | None = None  # the report as text (default: `key: value` lines)


COMMANDS = {
    "demo": Command(
        jobs.DemoConfig,
        jobs.demo,
        "learn parities: the RCNN, Gaussian elimination and an SGD-trained MLP",
        jobs.format_table,
    ),
    "run-tm": Command(
        jobs.RunTMConfig, jobs.run_machine, "run a Turing machine inside the compiled RCNN"
    ),
    "info": Command(jobs.InfoConfig, jobs.info, "sizes of the filter compiled from a machine"),
    "learn": Command(
        jobs.LearnConfig, jobs.learn, "Algorithm 1: the RCNN learns a parity with a learner program"
    ),
    "animate": Command(
        jobs.AnimateConfig, jobs.animate, "picture the grid inside the RCNN, layer by layer"
    ),
    "train-algo": Command(
        jobs.TrainAlgoConfig,
        jobs.train_algo,
        "train a small recurrent filter on a task; test it on larger inputs",
    ),
    "extract": Command(
        jobs.ExtractConfig, jobs.extract_rule, "read the rule off a trained finite-state filter"
    ),
    "verify": Command(
        jobs.VerifyConfig, jobs.verify_rule, "verify a rule: exhaustive, random, fixed point"
    ),
    "search": Command(
        jobs.SearchJobConfig,
        jobs.run_search,
        "Corollary 2: random restarts of Algorithm 1, kept by validation",
    ),
}


def _kind(annotation) -> tuple[type, bool]:
    """(base type, is a variable-length tuple) of a field's annotation; Optional[X] -> X."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) is tuple:
        return args[0], True
    return (args[0] if args else annotation), False


def add_options(parser: argparse.ArgumentParser, config: type) -> None:
    """One option per field of the config dataclass (recursing into nested configs)."""
    hints = typing.get_type_hints(config)
    for f in fields(config):
        if is_dataclass(hints[f.name]):
            add_options(parser, hints[f.name])
            continue
        base, many = _kind(hints[f.name])
        meta = f.metadata
        kw: dict = {"help": meta.get("help", "")}
        if meta.get("choices"):
            kw["choices"] = meta["choices"]
        required = f.default is MISSING and f.default_factory is MISSING
        if not required:
            kw["default"] = f.default
            kw["help"] += f" (default: {' '.join(map(str, f.default)) if many else f.default})"
        if base is bool:
            kw["action"] = "store_false" if f.default else "store_true"
        else:
            kw |= {"type": base, "nargs": "+"} if many else {"type": base}
        if meta.get("positional"):
            parser.add_argument(f.name, **kw)
            continue
        name = f.name.replace("_", "-")
        flag = f"--no-{name}" if base is bool and f.default else f"--{name}"
        parser.add_argument(flag, dest=f.name, required=required, **kw)


def build_config(config: type, args: argparse.Namespace):
    """The config dataclass (and its nested configs) from parsed options."""
    hints = typing.get_type_hints(config)
    values = {}
    for f in fields(config):
        if is_dataclass(hints[f.name]):
            values[f.name] = build_config(hints[f.name], args)
        else:
            value = getattr(args, f.name)
            values[f.name] = tuple(value) if isinstance(value, list) else value
    return config(**values)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="turing-rcnn",
        description="Recurrent convolutional networks that learn succinct learning algorithms.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, command in COMMANDS.items():
        p = sub.add_parser(name, help=command.help, description=command.help)
        add_options(p, command.config)
        p.add_argument("--json", action="store_true", help="print the report as JSON")
        p.add_argument("--no-progress", action="store_true", help="hide progress bars")
        p.add_argument("--threads", type=int, default=0, help="torch threads (0: choose)")
    return parser


def lines(report: dict) -> str:
    """A report as aligned `key: value` lines."""
    width = max(map(len, report))
    return "\n".join(f"{key:>{width}}: {value}" for key, value in report.items())


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command = COMMANDS[args.command]
    try:
        config = build_config(command.config, args)
        n = threads.choose(args.threads, jobs.flops_per_op(config))
        with threads.using(n):
            report = command.job(config, progress=not (args.no_progress or args.json))
    except ValueError as err:
        print(f"turing-rcnn: error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2) if args.json else (command.text or lines)(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
