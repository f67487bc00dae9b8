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


def _train_algo(args: argparse.Namespace) -> None:
    from .runner import train_algorithm

    config = {"width": args.width, "hidden": args.hidden, "max_minutes": args.minutes,
              "max_steps": args.max_steps, "seed": args.seed, "lr": args.lr}  # fmt: skip
    report = train_algorithm(
        args.task, train_len=args.train_len, test_len=args.test_len, test_count=args.test_count,
        out=args.out, load=args.load, progress=not args.no_progress and not args.json, **config,
    )  # fmt: skip
    _print(report=report, as_json=args.json)


def _search(args: argparse.Namespace) -> None:
    from .runner import run_search

    init = args.init if args.init == "paper" else args.family
    report = run_search(
        args.task, d=args.d, m=args.m, n_val=args.val, n_test=args.test, backend=args.backend,
        workers=args.workers, address=args.address, checkpoint=args.checkpoint,
        progress=not args.no_progress and not args.json, init=init, size=args.size,
        time=args.time, restarts=args.restarts, batch=args.batch, seed=args.seed,
    )  # fmt: skip
    _print(report=report, as_json=args.json)


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

    from .algotasks import ALGO_TASKS

    algo = sub.add_parser(
        "train-algo", help="train a small recurrent filter on a task; test it on larger inputs"
    )
    algo.add_argument("--task", default="prefix-parity", choices=sorted(ALGO_TASKS))
    algo.add_argument("--train-len", type=int, default=32, help="training size (bits or side)")
    algo.add_argument("--test-len", type=int, default=512, help="test size (bits or side)")
    algo.add_argument("--test-count", type=int, default=100, help="test inputs per size")
    algo.add_argument("--minutes", type=float, default=10.0, help="training time budget")
    algo.add_argument("--max-steps", type=int, default=20000, help="training step budget")
    algo.add_argument("--width", type=int, default=8, help="state channels per cell")
    algo.add_argument("--hidden", type=int, default=16, help="hidden units of the patch net")
    algo.add_argument("--lr", type=float, default=1e-3)
    algo.add_argument("--seed", type=int, default=0)
    algo.add_argument("--out", help="folder for model.pt, training.png and report.json")
    algo.add_argument("--load", metavar="MODEL.pt", help="test a saved model instead of training")
    algo.add_argument("--json", action="store_true")
    algo.add_argument("--no-progress", action="store_true")
    algo.set_defaults(func=_train_algo)

    from .search import BACKENDS

    srch = sub.add_parser("search", help="Corollary 2: random restarts of Algorithm 1, kept by "
                          "validation")  # fmt: skip
    srch.add_argument("--task", default="last-bit", choices=["last-bit", "constant", "parity"])
    srch.add_argument("--d", type=int, default=3)
    srch.add_argument("--m", type=int, default=5, help="training examples")
    srch.add_argument("--val", type=int, default=8, help="validation examples")
    srch.add_argument("--test", type=int, default=1000, help="test points")
    srch.add_argument(
        "--init",
        choices=["paper", "program"],
        default="program",
        help="paper: weights from U_s; program: a random program in the frame",
    )
    srch.add_argument("--family", choices=["answer-rule", "turing"], default="answer-rule",
                      help="the program prior for --init program")  # fmt: skip
    srch.add_argument("--size", type=int, default=2, help="s: U_s, or Turing machine states")
    srch.add_argument("--time", type=int, default=4, help="the learner's time bound t")
    srch.add_argument("--restarts", type=int, default=256)
    srch.add_argument("--batch", type=int, default=32, help="candidates per grouped pass")
    srch.add_argument("--backend", choices=BACKENDS, default="inprocess")
    srch.add_argument("--workers", type=int, default=2, help="process pool or local Ray CPUs")
    srch.add_argument("--address", help="join this Ray cluster (default: start a local one)")
    srch.add_argument("--checkpoint", metavar="PATH.jsonl", help="resume from / append to")
    srch.add_argument("--seed", type=int, default=0)
    srch.add_argument("--json", action="store_true")
    srch.add_argument("--no-progress", action="store_true")
    srch.set_defaults(func=_search)

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
