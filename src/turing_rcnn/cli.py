"""Command-line interface: `turing-rcnn COMMAND --help` for each command."""

from __future__ import annotations

import argparse
import json
import sys

import torch


def _demo(args: argparse.Namespace) -> None:
    from .demo import format_table, run_demo

    rows = run_demo(seed=args.seed, progress=not args.no_progress and not args.json)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(format_table(rows))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="turing-rcnn",
        description="Recurrent convolutional networks that learn succinct learning algorithms.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="learn parities: Gaussian elimination vs an SGD-trained MLP")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--json", action="store_true", help="print the table as JSON")
    demo.add_argument("--no-progress", action="store_true", help="hide progress bars")
    demo.set_defaults(func=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    try:
        args.func(args)
    except ValueError as err:
        print(f"turing-rcnn: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
