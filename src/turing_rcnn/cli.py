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


def _print(report: dict, as_json: bool) -> None:
    """A report as JSON or as aligned `key: value` lines."""
    if as_json:
        print(json.dumps(report, indent=2))
        return
    width = max(map(len, report))
    for key, value in report.items():
        print(f"{key:>{width}}: {value}")


def _run_tm(args: argparse.Namespace) -> None:
    from .runner import run_machine

    report = run_machine(
        args.machine, tape=args.tape, steps=args.steps, max_steps=args.max_steps,
        dtype=_DTYPES[args.dtype],
    )  # fmt: skip
    _print(report=report, as_json=args.json)


def _info(args: argparse.Namespace) -> None:
    from .compile import compile_program
    from .programs import TuringMachine

    machine = TuringMachine.parse(args.machine)
    info = {"machine": str(machine), "states": machine.n_states, "symbols": machine.n_symbols,
            "two_d": machine.is_2d} | compile_program(machine.to_cellular()).summary()  # fmt: skip
    _print(report=info, as_json=args.json)


_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def _learn(args: argparse.Namespace) -> None:
    from .runner import learn

    report = learn(
        args.learner, d=args.d, m=args.m, task=args.task, k=args.k, noise=args.noise,
        seed=args.seed, n_test=args.test, dtype=_DTYPES[args.dtype],
        progress=not args.no_progress and not args.json, save_run=args.save_run,
    )  # fmt: skip
    _print(report=report, as_json=args.json)


def _animate(args: argparse.Namespace) -> None:
    from .tasks import ParityTask
    from .train import RCNNLearner
    from .viz import save_gif, save_strip

    data = ParityTask(args.d, k=args.k).make(args.m, n_test=1, seed=args.seed)
    model = RCNNLearner(args.learner).fit(data.X_train, data.y_train)
    path = (save_gif if args.out.endswith(".gif") else save_strip)(model, data.X_test[0], args.out)
    print(f"wrote {path}: {model.layers_ + 1} layers of a {model.net_.config.grid_shape} grid")


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

    tm = sub.add_parser("run-tm", help="run a Turing machine inside the compiled RCNN")
    tm.add_argument("machine", help="bbchallenge format, e.g. 1RB1LB_1LA1RZ")
    tm.add_argument("--tape", default="", help="initial tape symbols from the head rightwards")
    tm.add_argument("--steps", type=int, help="layers to run (default: until the machine halts)")
    tm.add_argument("--max-steps", type=int, default=2000, help="cap when --steps is absent")
    tm.add_argument("--dtype", choices=sorted(_DTYPES), default="float32")
    tm.add_argument("--json", action="store_true")
    tm.set_defaults(func=_run_tm)

    from .programs.learning import LEARNERS

    lrn = sub.add_parser("learn", help="Algorithm 1: the RCNN learns a task with a learner program")
    lrn.add_argument("--task", default="parity", choices=["parity"])
    lrn.add_argument("--d", type=int, required=True, help="input bits")
    lrn.add_argument("--m", type=int, required=True, help="training examples")
    lrn.add_argument("--learner", default="first-label", choices=sorted(LEARNERS))
    lrn.add_argument("--k", type=int, help="sparse parity of k bits (default: dense)")
    lrn.add_argument("--noise", type=float, default=0.0, help="training label noise rate")
    lrn.add_argument("--seed", type=int, default=0)
    lrn.add_argument("--test", type=int, default=1000, help="test points")
    lrn.add_argument("--dtype", choices=sorted(_DTYPES), default="float32")
    lrn.add_argument("--save-run", metavar="PATH.npz", help="save data and predictions")
    lrn.add_argument("--json", action="store_true")
    lrn.add_argument("--no-progress", action="store_true")
    lrn.set_defaults(func=_learn)

    ani = sub.add_parser("animate", help="picture the grid inside the RCNN, layer by layer")
    ani.add_argument("--d", type=int, default=5)
    ani.add_argument("--m", type=int, default=7)
    ani.add_argument("--k", type=int, help="sparse parity of k bits (default: dense)")
    ani.add_argument("--learner", default="gauss", choices=sorted(LEARNERS))
    ani.add_argument("--seed", type=int, default=0)
    ani.add_argument("--out", default="rcnn.png", help="a .png strip or a .gif animation")
    ani.set_defaults(func=_animate)

    info = sub.add_parser("info", help="sizes of the filter compiled from a Turing machine")
    info.add_argument("machine")
    info.add_argument("--json", action="store_true")
    info.set_defaults(func=_info)
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
