"""Command-line interface: `turing-rcnn COMMAND --help` for each command.

Every command is a config dataclass and a job (jobs.py): the options, their defaults
and their help are read off the dataclass fields (a nested config, such as the
trainable filter's AlgoConfig, contributes its fields too), so each default is written
once. Every command also takes --json, --no-progress, --threads (torch's thread
count; 0, the default, lets threads.py choose: 1 for this package's small-op work, so
a job never fights another process for the cores) and --max-memory (guard.py: work
estimated above it is refused before it starts; default: the memory available now).
Progress goes to stderr (progress.py: a line at once, then bars or a heartbeat at
least every 5 s), also with --json. A user error (a bad value, path or file,
a size beyond memory) ends with one line on stderr and exit code 2, before any long
work; so does a report that cannot be written (stdout closed or full). Ctrl-C ends a
run with one line and exit code 130, SIGTERM (kill) with exit code 143, both after
removing the temporary file of an output being written. Everything printed has its
control characters escaped (a name read from a file cannot drive the terminal), and
characters the locale cannot encode are written as \\u escapes.
"""

from __future__ import annotations

import argparse
import errno
import json
import math
import os
import re
import signal
import sys
import threading
import typing
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import MISSING, dataclass, fields, is_dataclass

from .. import __version__, guard, progress, threads
from ..options import check_value
from ..sweep.config import SweepConfig
from . import evaluate, jobs, machines
from .data import DataConfig, make_data


@dataclass(frozen=True)
class Command:
    config: type
    job: Callable
    help: str
    text: Callable | None = None  # the report as text (default: `key: value` lines)


def _text(value) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {_text(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "[" + ", ".join(_text(v) for v in value) + "]"
    return str(value)


def lines(report: dict) -> str:
    """A report as aligned `key: value` lines (nested values on one line)."""
    width = max(map(len, report))
    return "\n".join(f"{key:>{width}}: {_text(value)}" for key, value in report.items())


def checks_table(report: dict) -> str:
    """verify's report as text: its sizes and verdicts as `key: value` lines, then one
    row per check (a person reads the checks down a column, not along one line)."""
    rows = [("check", "inputs", "right", "fixed point", "passed", "seconds")]
    for c in report["checks"]:
        right = f"{c['right']}/{c['count']}"
        fixed, passed = "yes" if c["fixed_point"] else "no", "yes" if c["passed"] else "NO"
        rows.append((c["check"], c["inputs"], right, fixed, passed, f"{c['seconds']:.2f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    table = "\n".join(
        "  ".join(x.ljust(w) for x, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )
    return lines({k: v for k, v in report.items() if k != "checks"}) + "\n\n" + table


COMMANDS = {
    "demo": Command(
        jobs.DemoConfig,
        jobs.demo,
        "learn parities: the RCNN, Gaussian elimination and an SGD-trained MLP",
        jobs.format_table,
    ),
    "run-tm": Command(
        machines.RunTMConfig, machines.run_machine, "run a Turing machine inside the compiled RCNN"
    ),
    "info": Command(
        machines.InfoConfig, machines.info, "sizes of the filter compiled from a machine"
    ),
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
        jobs.VerifyConfig,
        jobs.verify_rule,
        "verify a rule: exhaustive, random, fixed point",
        checks_table,
    ),
    "meta-train": Command(
        jobs.MetaTrainConfig,
        jobs.meta_train,
        "SGD learns a learner: meta-train, read off, verify in the Theorem 1 frame",
    ),
    "search": Command(
        jobs.SearchJobConfig,
        jobs.run_search,
        "Corollary 2: random restarts of Algorithm 1, kept by validation",
    ),
    "sweep": Command(
        SweepConfig,
        jobs.run_sweep,
        "train many seeds of named settings; rates of validated, exact and proved runs",
        jobs.sweep_text,
    ),
    "evaluate": Command(
        evaluate.EvaluateConfig,
        evaluate.evaluate,
        "run a trained filter or a verified rule on a folder in the peer's layout; its accuracy",
    ),
    "data": Command(
        DataConfig,
        make_data,
        "write a benchmark folder in DeepThinking's layout (inputs.npy, solutions.npy)",
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
            if "(default:" not in kw["help"]:  # else the help says what the default means
                shown = " ".join(map(str, f.default)) if many else f.default
                kw["help"] += f" (default: {shown})"
        if base is bool:
            kw["action"] = "store_false" if f.default else "store_true"
        else:
            kw |= {"type": base, "nargs": "+"} if many else {"type": base}
        if many and meta.get("choices"):  # a list of names: say them once, in the help
            kw["metavar"] = "NAME"
            kw["help"] += f"; one or more of: {', '.join(meta['choices'])}"
        if meta.get("positional"):
            parser.add_argument(f.name, metavar=f.name.upper(), **kw)
            continue
        name = f.name.replace("_", "-")
        flag = f"--no-{name}" if base is bool and f.default else f"--{name}"
        parser.add_argument(flag, dest=f.name, required=required, **kw)


def build_config(config: type, args: argparse.Namespace):
    """The config dataclass (and its nested configs) from parsed options, each value
    checked against its field's range first (the error names the flag)."""
    hints = typing.get_type_hints(config)
    values = {}
    for f in fields(config):
        if is_dataclass(hints[f.name]):
            values[f.name] = build_config(hints[f.name], args)
        else:
            value = getattr(args, f.name)
            flag = "--" + f.name.replace("_", "-")
            if value == "" and f.default != "" and not f.metadata.get("positional"):
                raise ValueError(f"{flag} is empty; give a value")
            if value is not None:
                check_value(f, value, flag)
            values[f.name] = tuple(value) if isinstance(value, list) else value
    return config(**values)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and exit code 2), printable, and a
    negative number argparse took for a flag (`--seed -1e5`) says how to give it."""

    def parse_known_args(self, args=None, namespace=None):
        self._given = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(args, namespace)

    def error(self, message: str):
        flag = re.fullmatch(r"argument (--[\w-]+): expected (at least )?one argument", message)
        value = flag and _negative_after(getattr(self, "_given", []), flag[1])
        if value:
            message += f" (a negative number: use the {flag[1]}={value} form, or a value >= 0)"
        print(f"{self.prog}: error: {printable(message)} (see --help)", file=sys.stderr)
        raise SystemExit(2)


def _negative_after(given: list[str], flag: str) -> str | None:
    """The negative number that follows `flag` in `given`, if one does."""
    for here, after in zip(given, given[1:], strict=False):
        if here == flag and after.startswith("-"):
            try:
                float(after)
            except ValueError:
                continue
            return after
    return None


def _gigabytes(text: str) -> float:
    """--max-memory's value: a memory size a machine can have, in GB."""
    try:
        value = float(text)
        guard.check_gigabytes(value)
    except ValueError as err:
        said = str(err) if "max-memory" in str(err) else f"not a number of GB: {text!r}"
        raise argparse.ArgumentTypeError(said) from None
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="turing-rcnn",
        description="Recurrent convolutional networks that learn succinct learning algorithms.",
    )
    parser.add_argument("--version", action="version", version=f"turing-rcnn {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, command in COMMANDS.items():
        p = sub.add_parser(name, help=command.help, description=command.help)
        add_options(p, command.config)
        p.add_argument(
            "--json", action="store_true", help="print the report as JSON (default: off)"
        )
        p.add_argument(
            "--no-progress", action="store_true", help="hide progress bars (default: shown)"
        )
        p.add_argument(
            "--threads",
            type=int,
            default=0,
            help="torch threads; 0 lets threads.py choose (default: 0)",
        )
        p.add_argument(
            "--max-memory",
            type=_gigabytes,
            default=None,
            metavar="GB",
            help="refuse work estimated above this (default: the memory available now)",
        )
    return parser


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


COMMON_USAGE = (" [--json]", " [--no-progress]", " [--threads THREADS]", " [--max-memory GB]")


def usage_lines() -> str:
    """One usage line per command, as argparse writes it (the CLI summary on
    docs/reference/index.md)."""
    lines = []
    for p in _subparsers(build_parser()).values():
        text = " ".join(p.format_usage().split())
        for common in (" [-h]", *COMMON_USAGE):
            text = text.replace(common, "")
        lines.append(text.removeprefix("usage: "))
    return "\n".join(lines)


def options_markdown() -> str:
    """Every command's options with default and help, as Markdown (docs/cli.md)."""
    out = ["# Command-line reference", "", "Generated from the parser (a test keeps it so):"]
    out += ["`python -m turing_rcnn.app.cli --reference > docs/cli.md`.", ""]
    for name, p in _subparsers(build_parser()).items():
        out += [f"## turing-rcnn {name}", "", COMMANDS[name].help + ".", ""]
        out += ["| option | default | what |", "| --- | --- | --- |"]
        for a in p._actions:
            if isinstance(a, argparse._HelpAction):
                continue
            flag = ", ".join(a.option_strings) or a.dest
            said = re.search(r"\(default: ([^)]*)\)", a.help or "")
            default = "required" if a.required else a.default
            if isinstance(a, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
                default = "off" if isinstance(a, argparse._StoreTrueAction) else "on"
            elif said and not a.required:  # the help's words: 'dense' rather than None
                default = said.group(1)
            text = a.help.split(" (default:")[0] if a.help else ""
            if a.choices:
                text += f" (one of: {', '.join(map(str, a.choices))})"
            out.append(f"| `{flag}` | {default} | {text} |")
        out.append("")
    return "\n".join(out)


def tidy(value, digits: int = 6):
    """A report value as shown: floats to `digits` significant digits (no float32 noise
    such as 0.41999998688697815; integers stay exact), tuples as lists, nested values too."""
    if isinstance(value, float):
        if not math.isfinite(value) or value == int(value):
            return value
        return float(f"{value:.{digits}g}")
    if isinstance(value, dict):
        return {k: tidy(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [tidy(v, digits) for v in value]
    return value


def printable(text: str, keep: str = "\n") -> str:
    """`text` with every control character (C0, DEL, C1, ESC sequences, bidi and other
    format codes, lone surrogates) but those in `keep` written as repr writes it
    (\\x1b, \\u202e): a name read from a file reaches the terminal as text, never as
    commands."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c in keep else repr(c)[1:-1] for c in text)


class Terminated(KeyboardInterrupt):
    """SIGTERM as an exception in the main thread, so that every `finally` runs (an
    output's temporary file is removed: guard.atomic_path) before exit code 143."""


def _terminate(signum, frame):
    raise Terminated


@contextmanager
def _sigterm_interrupts():
    """Inside the block SIGTERM raises Terminated (only the main thread sets handlers:
    in another thread, such as a test's, nothing changes)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if before is None else before)


def main(argv: list[str] | None = None) -> int:
    if argv is None and sys.argv[1:] == ["--reference"]:  # docs/cli.md
        print(options_markdown())
        return 0
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit:
        return int(exit.code or 0)
    with _sigterm_interrupts():
        try:
            text = _run(args)
        except BrokenPipeError:  # a reader of the progress output went away mid-run
            _quiet_pipe()
            return 141
        except (ValueError, OSError) as err:
            message = str(err).split("\n")[0] or type(err).__name__  # (not at \x85)
            print(f"turing-rcnn: error: {printable(message)}", file=sys.stderr)
            return 2
        except (MemoryError, RecursionError, OverflowError) as err:  # a limit we missed
            what = {MemoryError: "out of memory", RecursionError: "nested too deeply"}
            said = what.get(type(err), "a number too large")
            print(f"turing-rcnn: error: {said} ({type(err).__name__}); use smaller sizes or "
                  "files", file=sys.stderr)  # fmt: skip
            return 2
        except KeyboardInterrupt as err:
            stopped = "terminated" if isinstance(err, Terminated) else "interrupted"
            print(f"turing-rcnn: {stopped}", file=sys.stderr)
            return 143 if isinstance(err, Terminated) else 130
    return _emit(text)


def _run(args: argparse.Namespace) -> str:
    """The command's report as text to print. Warnings (numpy's, torch's) are held and
    shown only when the job succeeds: a refusal is its one line alone."""
    with warnings.catch_warnings(record=True) as caught:
        report = _job(args)
    for w in caught:
        warnings.showwarning(w.message, w.category, w.filename, w.lineno, w.file, w.line)
    command = COMMANDS[args.command]
    if args.json:
        return json.dumps(tidy(report, 6), indent=2)
    return (command.text or lines)(tidy(report, 4))


def _job(args: argparse.Namespace):
    """The job's report: its config built and checked, the job run under the thread
    count, memory limit and output policy (guard.outputs) asked for."""
    command, on = COMMANDS[args.command], not args.no_progress
    # the first line at once (some configs load torch to check their values)
    with progress.start(f"turing-rcnn {args.command}: starting (loading torch)", on):
        config = build_config(command.config, args)
        if args.threads < 0:
            raise ValueError(f"--threads must be >= 0 (0: choose), got {args.threads}")
        n = threads.choose(args.threads, jobs.flops_per_op(config))
        force = getattr(config, "force", None)  # None: the command has no --force
        with threads.using(n), guard.limit(args.max_memory), guard.outputs(force):
            return command.job(config, progress=on)


def _emit(text: str) -> int:
    """Print the report: control characters escaped, characters the stream's encoding
    lacks (a C locale) as \\u escapes; a closed or full stdout is one line, exit 2."""
    try:
        if sys.stdout is None:  # started with stdout closed (>&-)
            raise OSError(errno.EBADF, "stdout is closed")
        encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
        print(printable(text).encode(encoding, "backslashreplace").decode(encoding), flush=True)
    except BrokenPipeError:  # `turing-rcnn ... | head -1`
        return _quiet_pipe()
    except (OSError, ValueError) as err:  # a full disk; a file closed (ValueError)
        reason = getattr(err, "strerror", None) or "stdout is closed"
        print(f"turing-rcnn: error: cannot write the report to stdout: {reason}", file=sys.stderr)
        _quiet_pipe(sys.stdout)  # no second error when Python flushes stdout at exit
        return 2
    return 0


def _quiet_pipe(*streams) -> int:
    """The reader went away (or the disk is full): point `streams` (default: stdout and
    stderr) at the null device, so that Python's flush at exit prints no traceback."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in streams or (sys.stdout, sys.stderr):
        try:
            os.dup2(devnull, stream.fileno())
        except (OSError, ValueError, AttributeError):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
