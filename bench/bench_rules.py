"""From trained finite-state filters to verified rules, 3 seeds per task (CPU).

For each task and seed: train a DiscreteFilter (k symbols per cell) with the usual
progressive training, read its rule off (extract.py), compile it, and verify it
(verify.py: exhaustive small inputs, random inputs at the largest sizes, fixed
point, and the every-size argument for 1-row rules and for flood-fill rules on the
cross). One CPU thread. Per seed:
k, training steps and seconds, accuracy of the network, table entries, compiled
parameters, each check's inputs and result, seconds. The trained filter and the rule
of each seed go to rules/ beside rules.json; with BENCH_REFRESH=1 the first verified
seed of each task is what the package ships (pretrained/).

    python bench/bench_rules.py [--tasks prefix-parity addition flood-fill] [--seeds 0 1 2]
        [--symbols K] [--neighbourhood square|cross]
        [--reuse: extract and verify the filters trained before]
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import numpy as np
from _common import REFRESH, RESULTS, Progress, bench_parser, write_json

# torch and turing_rcnn load after the arguments

# The training of each task: the finite-state settings of `turing-rcnn sweep` (one
# source; k symbols, size, steps, learning rate); maze is trained on dead-end
# filling's trace (AlgoConfig.hints) and ships as maze-hints.
SWEEP_SETTINGS = ("prefix-parity-k3", "addition-k3", "flood-fill-cross-k2", "maze-hints")


def _setups() -> dict:
    from turing_rcnn.sweep.config import SETTINGS  # no torch: the arguments come first

    fixed = ("task", "eval_every", "max_minutes")  # run() sets these
    return {
        SETTINGS[n].train["task"]: {k: v for k, v in SETTINGS[n].train.items() if k not in fixed}
        for n in SWEEP_SETTINGS
    }


SETUP = _setups()
SHIPPED = Path(__file__).resolve().parents[1] / "src" / "turing_rcnn" / "pretrained"


def run(
    task: str, seed: int, setup: dict, minutes: float, reuse: dict | None, large=None, bar=None
) -> dict:
    from turing_rcnn.trainable import AlgoConfig, AlgorithmLearner
    from turing_rcnn.trainable.extract import extract
    from turing_rcnn.trainable.verify import verify

    def stage(what: str) -> None:
        if bar:
            bar.stage(f"{task} seed {seed}: {what}")

    cfg = AlgoConfig(task=task, seed=seed, max_minutes=minutes, eval_every=100, **setup)
    folder = RESULTS / "rules"
    stem = _stem((task, seed, cfg.symbols, cfg.neighbourhood))
    if reuse and (folder / f"{stem}.pt").exists():  # the filter this row trained before
        learner = AlgorithmLearner.load(str(folder / f"{stem}.pt"), progress=False)
        row = {k: reuse[k] for k in ("task", "seed", "symbols", "hidden", "parameters")}
        row["neighbourhood"], row["hints"] = cfg.neighbourhood, cfg.hints
        row |= {k: reuse[k] for k in ("steps", "train_seconds")}
    else:
        stage("training")
        learner = AlgorithmLearner(cfg, progress=False)
        start = time.perf_counter()
        learner.fit()
        row = {
            "task": task,
            "seed": seed,
            "symbols": cfg.symbols,
            "neighbourhood": cfg.neighbourhood,
            "hints": cfg.hints,
            "hidden": cfg.hidden,
            "parameters": learner.net_.parameter_count,
            "steps": learner.steps_,
            "train_seconds": round(time.perf_counter() - start, 1),
        }
    stage("scoring the network at twice the training size")
    rng = np.random.default_rng(1000 + seed)
    x, y = learner.task_.sample(200, learner.task_.larger(cfg.train_size), rng)
    row["network_accuracy_2x"] = learner.score(x, y)
    folder.mkdir(parents=True, exist_ok=True)
    learner.save(str(folder / f"{stem}.pt"))
    stage("reading the rule off")
    start = time.perf_counter()
    sizes = (cfg.train_size, learner.task_.larger(cfg.train_size))
    xs = [learner.task_.sample(200, s, rng)[0] for s in sizes]  # a cross rule: only its codes
    rule = extract(learner, xs)
    row["extract_seconds"] = round(time.perf_counter() - start, 1)
    rule.save(str(folder / f"{stem}.json"))
    stage("verifying the rule")
    report = verify(rule, seed=seed, large=tuple(large) if large else None)
    row |= {
        "table_entries": report["table_entries"],
        "guards": report["guards"],
        "rule_symbols": report["symbols"],
        "compiled_parameters": report["parameters"],
        "exact": report["exact"],
        "verify_seconds": report["seconds"],
    }
    row["checks"] = report["checks"]
    for key in ("fixed_points", "dead_end_filling", "proved_every_length"):
        if key in report:
            row[key] = report[key]
    return row


def _key(row: dict) -> tuple:
    """(task, seed, k, neighbourhood) of a row (rows before the cross: the square)."""
    return row["task"], row["seed"], row["symbols"], row.get("neighbourhood", "square")


def _stem(key: tuple) -> str:
    """The file name of a row's filter and rule in rules/, without the ending."""
    task, seed, k, neighbourhood = key
    return f"{task}-{seed}-k{k}" + ("-cross" if neighbourhood == "cross" else "")


def parse_args(argv=None) -> argparse.Namespace:
    parser = bench_parser(__doc__)
    parser.add_argument("--tasks", nargs="+", default=list(SETUP), choices=list(SETUP))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--minutes", type=float, default=15.0, help="training budget per seed")
    parser.add_argument("--symbols", type=int, help="k for every task (default: SETUP's)")
    parser.add_argument("--neighbourhood", choices=("square", "cross"), help="(default: SETUP's)")
    parser.add_argument(
        "--reuse", action="store_true", help="extract and verify the filters saved before"
    )
    parser.add_argument(
        "--large", type=int, nargs=2, metavar=("COUNT", "SIZE"), help="verify (b) instead"
    )
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()
    total = len(args.tasks) * len(args.seeds)
    with Progress("bench_rules", total, not args.no_progress) as bar:
        bar.stage("importing torch")
        import torch

        torch.set_num_threads(1)
        train_all(args, bar)


def train_all(args, bar) -> None:
    path = RESULTS / "rules.json"
    rows = json.loads(path.read_text())["rows"] if path.exists() else []
    for task in args.tasks:
        for seed in args.seeds:
            setup = SETUP[task] | ({"symbols": args.symbols} if args.symbols else {})
            if args.neighbourhood:
                setup["neighbourhood"] = args.neighbourhood
            key = (task, seed, setup["symbols"], setup.get("neighbourhood", "square"))
            old = next((r for r in rows if _key(r) == key), None)
            rows = [r for r in rows if _key(r) != key]
            reuse = old if args.reuse else None
            rows.append(run(task, seed, setup, args.minutes, reuse, args.large, bar))
            print(json.dumps({k: v for k, v in rows[-1].items() if k != "checks"}), flush=True)
            write_json("rules.json", {"rows": rows, "setup": SETUP})
            bar.advance()
        shape = (SETUP[task]["symbols"], SETUP[task].get("neighbourhood", "square"))
        verified = [r for r in rows if r["task"] == task and _key(r)[2:] == shape and r["exact"]]
        if verified and REFRESH:  # ship the first verified seed's filter and rule
            best = min(verified, key=lambda r: r["seed"])
            for kind, ending in (("filters", ".pt"), ("rules", ".json")):
                (SHIPPED / kind).mkdir(parents=True, exist_ok=True)
                shutil.copy(
                    RESULTS / "rules" / f"{_stem(_key(best))}{ending}",
                    SHIPPED / kind / f"{task}{'-hints' * SETUP[task].get('hints', False)}{ending}",
                )


if __name__ == "__main__":
    main()
