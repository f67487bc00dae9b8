"""A trainable RCNN learns an algorithm and extrapolates: train small, test large.

Per task and seed: train a RecurrentFilter on the training size (Adam, progressive
loss, early stop after `patience` perfect validations at the training size, or the
time budget), then whole-grid accuracy on fresh inputs at each test size (running
task.iterations(size) steps), and against the task's compiled exact rule (same run):
final agreement, settle-time lag, and the rule's own accuracy and time (on 10 inputs
of the second-largest test size). Then the
quantisation checks on the first seed: weights rounded to 2^-bits, and a finite-state
rule extracted by clustering states (k symbols). CPU, float32, 2 threads.
Writes algo_<task>.json and .png.

    python bench/bench_algo.py [--tasks prefix-parity flood-fill] [--seeds 0 1 2] [--quick]
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

import numpy as np
from _common import RESULTS, Progress, bench_parser, best_of, pyplot, write_json

if TYPE_CHECKING:  # torch, matplotlib and turing_rcnn load after the arguments
    from turing_rcnn.trainable import AlgorithmLearner

SETUP = {  # training size, test sizes (count), config overrides
    "prefix-parity": (32, {32: 500, 128: 200, 512: 100, 4096: 100}, {}),
    "flood-fill": (8, {8: 500, 32: 100, 64: 100}, {"lr": 3e-3, "max_steps": 4000}),
}
QUICK = {
    "prefix-parity": (16, {16: 100, 64: 50, 128: 20}, {"max_steps": 600}),
    "flood-fill": (6, {6: 100, 16: 50, 24: 20}, {"lr": 3e-3, "max_steps": 300}),
}


def run_seed(task: str, seed: int, setup, minutes: float) -> tuple[AlgorithmLearner, dict]:
    from turing_rcnn.trainable import AlgoConfig, AlgorithmLearner, compare_with_rule

    train_size, tests, overrides = setup
    cfg = AlgoConfig(task=task, train_size=train_size, seed=seed, max_minutes=minutes, **overrides)
    learner = AlgorithmLearner(cfg, progress=False)
    learner.fit()
    row = learner.summary() | {"seed": seed, "accuracy": {}, "test_seconds": {}}
    rng = np.random.default_rng(10_000 + seed)
    for size, count in tests.items():
        x, y = learner.task_.sample(count, size, rng)
        seconds, acc = best_of(1, lambda x=x, y=y: learner.score(x, y))
        row["accuracy"][size], row["test_seconds"][size] = acc, round(seconds, 2)
        row.setdefault("iterations", {})[size] = learner.iterations_for(x)
    x, y = learner.task_.sample(10, sorted(tests)[-2], rng)
    row["compiled_rule"] = compare_with_rule(learner, x, y)
    print(
        f"{task} seed {seed}: {row['parameters']} params, {row['steps']} steps, "
        f"{row['train_seconds']} s, accuracy {row['accuracy']}",
        flush=True,
    )
    return learner, row


def quantisation(learner: AlgorithmLearner, tests: dict) -> dict:
    from turing_rcnn.trainable import extract_rule, quantise_weights

    rng = np.random.default_rng(77)
    size = sorted(tests)[1]
    x, y = learner.task_.sample(100, size, rng)
    weights = {bits: quantise_weights(learner, bits).score(x, y) for bits in range(1, 11)}
    x_train, _ = learner.task_.sample(200, learner.config.train_size, rng)
    x_big, y_big = learner.task_.sample(50, size, rng)
    rules = {}
    for k in range(2, 11):
        rule = extract_rule(learner, x_train, k=k)
        answers, unseen = rule.run(x_big, learner.iterations_for(x_big))
        right = (answers == y_big.numpy()).reshape(len(x_big), -1).all(1)
        rules[k] = {
            "table_entries": len(rule.keys),
            "conflicts": rule.conflicts,
            "unseen_keys": unseen,
            "accuracy": float(right.mean()),
        }
    return {"test_size": size, "weight_bits_accuracy": weights, "extracted_rules": rules}


def plot(results: dict, path) -> None:
    plt = pyplot()

    tasks = list(results)
    fig, axes = plt.subplots(1, 2 * len(tasks), figsize=(5 * len(tasks) * 2, 3.4))
    for i, task in enumerate(tasks):
        rows = results[task]["runs"]
        sizes = sorted({int(s) for r in rows for s in r["accuracy"]})
        acc = np.array([[r["accuracy"][s] for s in sizes] for r in rows])
        ax = axes[2 * i]
        ax.errorbar(
            range(len(sizes)),
            acc.mean(0),
            yerr=[acc.mean(0) - acc.min(0), acc.max(0) - acc.mean(0)],
            marker="o",
            capsize=4,
        )
        ax.set(
            xticks=range(len(sizes)),
            xticklabels=sizes,
            ylim=(-0.02, 1.02),
            xlabel="test size (train size first)",
            ylabel="whole-grid accuracy",
            title=f"{task}: {rows[0]['parameters']} params",
        )
        ax = axes[2 * i + 1]
        for r in rows:
            ax.plot(
                r["history"]["seconds"], r["history"]["val_accuracy"], label=f"seed {r['seed']}"
            )
        ax.set(xlabel="training seconds", ylabel="validation accuracy", title=task)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def parse_args(argv=None) -> argparse.Namespace:
    parser = bench_parser(__doc__)
    parser.add_argument("--tasks", nargs="+", default=list(SETUP), choices=list(SETUP))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--minutes", type=float, default=15.0, help="training budget per run")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, a smoke run")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-steps", type=int, help="override the training step budget")
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()
    total = len(args.tasks) * (len(args.seeds) + 1)  # the runs, and each task's checks
    with Progress("bench_algo", total, not args.no_progress) as bar:
        bar.stage("importing torch")
        run(args, bar)


def run(args, bar) -> None:
    import torch

    torch.set_num_threads(args.threads)
    setups = QUICK if args.quick else SETUP
    results = {}
    for task in args.tasks:
        runs, first = [], None
        for seed in args.seeds:
            bar.stage(f"{task} seed {seed}: training and testing")
            train_size, tests, overrides = setups[task]
            if args.max_steps:
                overrides = overrides | {"max_steps": args.max_steps}
            learner, row = run_seed(task, seed, (train_size, tests, overrides), args.minutes)
            row["history"] = vars(learner.history_)
            runs.append(row)
            first = first or learner
            bar.advance()
        bar.stage(f"{task}: quantisation checks on the first seed")
        acc = {s: [r["accuracy"][s] for r in runs] for s in setups[task][1]}
        results[task] = {
            "runs": runs,
            "accuracy_mean": {s: float(np.mean(v)) for s, v in acc.items()},
            "accuracy_min": {s: float(np.min(v)) for s, v in acc.items()},
            "accuracy_max": {s: float(np.max(v)) for s, v in acc.items()},
            "train_seconds_mean": float(np.mean([r["train_seconds"] for r in runs])),
            "quantisation_seed0": quantisation(first, setups[task][1]),
        }
        name = f"algo_{task}" + ("_quick" if args.quick else "")
        anchor = {
            "deepthinking_prefix_sums": {
                "accuracy_512": 0.9712,
                "parameters": 3.1e6,
                "training": "about 2 GPU-hours (Bansal et al. 2022)",
            }
        }
        path = write_json(
            f"{name}.json",
            {"anchor": anchor, "threads": args.threads, "tasks": {task: results[task]}},
        )
        plot({task: results[task]}, RESULTS / f"{name}.png")
        print(f"wrote {path}", flush=True)
        bar.advance()


if __name__ == "__main__":
    main()
