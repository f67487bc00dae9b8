"""Side by side with the peer: a DeepThinking-style recurrent net (baselines/deepthinking.py)
and our filter, trained by the same trainer on the same 9-mazes for the same wall-clock
budget on one CPU thread, then evaluated with `turing-rcnn evaluate` (the same code) on
folders written by `turing-rcnn data`, beside our verified rule.

1. Seconds per training step of the peer's net at each --widths (one step each, batch
   --batch): which width the budget fits (--width is the one trained).
2. Training: ours (continuous filter, --ours-width, --ours-hidden) and the peer's (width
   --width), each for --minutes on 9-mazes, seed --seed: the same batches (one data
   stream from the seed), stopped by the time budget (the steps planned are 1.3x what
   the speed of step 1 allows, so time, not steps, ends both), Adam with cosine decay
   over the planned steps, progressive loss alpha --alpha, batch --batch.
3. Evaluation: every model on every folder (perfect mazes at --sizes; mazes with cycles
   p = 0.1 and 0.3 and starts at dead ends at --shift-sizes): the peer's accuracy, the
   answers that are a shortest path, iterations to halt (or the budget), seconds per
   maze. The dense (continuous) nets run only at --dense-sizes (they do not settle and
   run their whole budget: 2 n^2 iterations, hours at 201 on one core; the report gives
   the estimate). Extra --also models (shipped names or files) are evaluated too.

Writes peer.json and peer.png (accuracy against maze size; accuracy on the shifted
sets; validation accuracy against training minutes).

    python bench/bench_peer.py --minutes 10        # about 40 min on one core
    python bench/bench_peer.py --minutes 0.5 --sizes 9 --shift-sizes 9 --counts 20 --widths 8
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from _common import RESULTS, Progress, bench_parser, pyplot, write_json

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "runs" / "bench"  # the test folders: never tracked

SHIFTS = {"perfect": {}, "cycles 0.1": {"cycles": 0.1}, "cycles 0.3": {"cycles": 0.3}}
SHIFTS["dead-end starts"] = {"start": "dead-end"}
LABELS = {  # the --also models' names, as the picture says them
    "maze": "ours, shipped maze filter (5-mazes, 25 min)",
    "maze-hints": "ours, verified rule maze-hints (trained with hints)",
}
PLAN = 1.3  # steps planned over what the budget allows at the measured speed
STEPS = 3  # training steps timed per net and width (after one warm-up step)


def parse_args(argv=None) -> argparse.Namespace:
    parser = bench_parser(__doc__)
    parser.add_argument("--minutes", type=float, default=10.0, help="training budget per net")
    parser.add_argument("--width", type=int, default=16, help="the peer's width trained")
    parser.add_argument("--widths", type=int, nargs="+", default=[8, 16, 32, 64, 128])
    parser.add_argument("--ours-width", type=int, default=16)
    parser.add_argument("--ours-hidden", type=int, default=32)
    parser.add_argument("--alpha", type=float, default=0.5, help="progressive loss weight")
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sizes", type=int, nargs="+", default=[9, 13, 59, 201])
    parser.add_argument("--counts", type=int, nargs="+", default=[200, 100, 16, 20])
    parser.add_argument("--shift-sizes", type=int, nargs="+", default=[59, 201])
    parser.add_argument("--dense-sizes", type=int, nargs="+", default=[9, 13, 59])
    parser.add_argument("--also", nargs="*", default=["maze", "maze-hints"], help="more models")
    parser.add_argument("--out", default="peer", help="results name (.json, .png)")
    parser.add_argument("--plot-only", action="store_true", help="redraw NAME.png from NAME.json")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="skip step 2: the two nets the last run trained (their model files in "
        "bench/results/NAME/ or runs/bench/NAME/), the speeds measured again",
    )
    args = parser.parse_args(argv)
    if len(args.counts) == 1:
        args.counts = args.counts * len(args.sizes)
    if len(args.counts) != len(args.sizes):
        parser.error(f"--counts takes one number, or one per size ({len(args.sizes)})")
    for size in args.sizes + args.shift_sizes:
        if size < 3 or size % 2 == 0:
            parser.error(f"maze sizes are odd and >= 3, got {size}")
    return args


def main() -> None:
    args = parse_args()
    if args.plot_only:
        plot(json.loads((RESULTS / f"{args.out}.json").read_text()), RESULTS / f"{args.out}.png")
        return
    with Progress("bench_peer", None, not args.no_progress) as bar:
        bar.stage("importing torch")
        measure(args, bar)


def _config(args, net: str, minutes: float, steps: int):
    from turing_rcnn.trainable.config import AlgoConfig

    width = args.width if net == "deepthinking" else args.ours_width
    return AlgoConfig(
        task="maze",
        net=net,
        train_size=9,
        width=width,
        hidden=args.ours_hidden,
        batch_size=args.batch,
        lr=args.lr,
        alpha=args.alpha,
        max_steps=max(steps, 1),
        max_minutes=minutes,
        eval_every=max(1, steps // 20),
        val_size=200,
        seed=args.seed,
    )


def step_seconds(args, net: str, width: int) -> float:
    """Seconds per training step (STEPS steps after a warm-up step; validation only at
    the end, on 5 mazes)."""
    from dataclasses import replace

    from turing_rcnn.trainable import AlgorithmLearner

    cfg = replace(_config(args, net, 60.0, 1), eval_every=10**6, val_size=5)
    if net == "deepthinking":
        cfg = replace(cfg, width=width)
    AlgorithmLearner(cfg, progress=False).fit()  # warm-up: one step
    learner = AlgorithmLearner(replace(cfg, max_steps=STEPS), progress=False)
    start = time.perf_counter()
    learner.fit()
    return (time.perf_counter() - start) / STEPS


def train(args, net: str, seconds_per_step: float, folder: Path, bar) -> dict:
    """Train one net for the budget; its model.pt in `folder`; the training row."""
    from turing_rcnn.trainable import AlgorithmLearner

    # 1.3x the steps the measured speed allows: the time cap, equal for both nets, is
    # what stops training (the cosine decay then ends about three quarters through)
    steps = int(PLAN * args.minutes * 60 / seconds_per_step)
    cfg = _config(args, net, args.minutes, steps)
    bar.stage(f"training {net} ({steps} steps planned, {args.minutes} min)")
    learner = AlgorithmLearner(cfg, progress=not args.no_progress)
    learner.fit()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{net}.pt"
    learner.save(str(path))
    return _row(net, learner, path)


def _row(net: str, learner, path: Path) -> dict:
    cfg, h = learner.config_, learner.history_
    return {
        "net": net,
        "width": cfg.width,
        "hidden": cfg.hidden if net == "filter" else None,
        "parameters": learner.net_.parameter_count,
        "steps": learner.steps_,
        "steps_planned": cfg.max_steps,
        "train_minutes": round(learner.train_seconds_ / 60, 2),
        "stopped_by": "time" if learner.steps_ < cfg.max_steps else "steps",
        "model": str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path),
        "history": {"minutes": [s / 60 for s in h.seconds], "val_accuracy": h.val_accuracy},
    }


def write_folders(args, root: Path, bar) -> dict[tuple[str, int], str]:
    """Every test folder, written by the data command's writer: (set, size) -> folder."""
    from turing_rcnn.trainable import peer

    folders, seed = {}, 1000 + args.seed
    wanted = [("perfect", s, c) for s, c in zip(args.sizes, args.counts, strict=True)]
    counts = dict(zip(args.sizes, args.counts, strict=True))
    for name in list(SHIFTS)[1:]:
        wanted += [(name, s, counts.get(s, 20)) for s in args.shift_sizes]
    for name, size, count in wanted:
        folder = root / f"{name.replace(' ', '-')}-{size}"
        bar.stage(f"writing {count} mazes of size {size} ({name})")
        if not (folder / "solutions.npy").exists():
            peer.write_mazes(str(folder), size, count, seed, **SHIFTS[name])
        folders[name, size] = str(folder)
        seed += 1
    return folders


def evaluate_all(args, models: dict[str, str], folders: dict, bar) -> list[dict]:
    """`evaluate` of every model on every folder it runs on; a row each."""
    from turing_rcnn.app.evaluate import EvaluateConfig, evaluate, resolve_model

    rows = []
    for label, model in models.items():
        dense = resolve_model(model)[0] == "filter"
        for (name, size), folder in folders.items():
            if dense and size not in args.dense_sizes:
                rows.append({"model": label, "set": name, "size": size, "skipped": True})
                continue
            bar.stage(f"{label} on {name} {size}")
            report = evaluate(EvaluateConfig(model, folder), progress=not args.no_progress)
            rows.append(report | {"model": label, "path": model, "set": name, "size": size})
    _estimate_skipped(rows)
    return rows


def _estimate_skipped(rows: list[dict]) -> None:
    """A skipped dense run's estimated seconds per maze: its largest measured size's
    seconds per iteration, scaled by cells and by the budget (it does not settle)."""
    from turing_rcnn.trainable import Maze, mazes

    task = Maze()
    for row in rows:
        if not row.get("skipped"):
            continue
        done = [r for r in rows if r["model"] == row["model"] and not r.get("skipped")]
        if not done:
            continue
        big = max(done, key=lambda r: r["size"])
        per_iteration = big["seconds_per_input"]["mean"] / max(big["iterations"]["mean"], 1)
        cells = (mazes.cells_per_side(row["size"]) / mazes.cells_per_side(big["size"])) ** 2
        row["estimated_seconds_per_maze"] = round(
            per_iteration * cells * task.iterations(row["size"]), 1
        )


def measure_speeds(args, bar) -> dict:
    """Step 1: seconds per training step, the peer's net at each width and ours."""
    speeds = {}
    for width in sorted({*args.widths, args.width}):
        bar.stage(f"seconds per step, peer width {width}")
        speeds[str(width)] = round(step_seconds(args, "deepthinking", width), 3)
    bar.stage("seconds per step, our filter")
    return {"peer": speeds, "ours": round(step_seconds(args, "filter", args.ours_width), 3)}


def train_both(args, models: Path, bar) -> tuple[dict, list[dict]]:
    """Steps 1 and 2: the speeds, then both nets trained for the budget."""
    speeds = measure_speeds(args, bar)
    pairs = (("filter", speeds["ours"]), ("deepthinking", speeds["peer"][str(args.width)]))
    return speeds, [train(args, net, speed, models, bar) for net, speed in pairs]


def trained(net: str, models: Path) -> dict:
    """--reuse: the training row of a net an earlier run trained (its model file)."""
    from turing_rcnn.trainable import AlgorithmLearner

    learner = AlgorithmLearner.load(str(models / f"{net}.pt"), progress=False)
    return _row(net, learner, models / f"{net}.pt")


def measure(args, bar) -> None:
    import torch

    # everything the run uses, loaded now (a file edited during a long run cannot
    # reach it half way)
    import turing_rcnn.app.evaluate
    import turing_rcnn.app.jobs
    import turing_rcnn.baselines.deepthinking
    import turing_rcnn.compile
    import turing_rcnn.trainable.extract
    import turing_rcnn.trainable.folders
    import turing_rcnn.trainable.mazes
    import turing_rcnn.trainable.peer
    import turing_rcnn.trainable.peer_sums  # noqa: F401

    torch.set_num_threads(1)
    models, data = RESULTS / args.out, RUNS / f"{args.out}-data"
    if args.reuse:
        speeds = measure_speeds(args, bar)
        training = [trained(net, models) for net in ("filter", "deepthinking")]
    else:
        speeds, training = train_both(args, models, bar)
    folders = write_folders(args, data, bar)
    models = {
        f"ours, continuous filter (width {args.ours_width})": str(ROOT / training[0]["model"]),
        f"peer, DeepThinking-style (width {args.width})": str(ROOT / training[1]["model"]),
    }
    models |= {name: name for name in args.also}
    start = time.perf_counter()
    rows = evaluate_all(args, models, folders, bar)
    payload = {
        "budget_minutes": args.minutes,
        "seconds_per_step": speeds,
        "training": training,
        "evaluation": rows,
        "evaluation_seconds": round(time.perf_counter() - start, 1),
        "command": "python bench/bench_peer.py " + " ".join(sys.argv[1:]),
    }
    path = write_json(f"{args.out}.json", payload)
    plot(payload, RESULTS / f"{args.out}.png")
    print(path)


def plot(payload: dict, path: Path) -> None:
    """Accuracy against size (perfect mazes), on the shifted sets at the largest size
    every model ran, and validation accuracy against training minutes."""
    plt = pyplot()
    rows = [r for r in payload["evaluation"] if not r.get("skipped")]
    models = list(dict.fromkeys(r["model"] for r in payload["evaluation"]))
    styles = ["o-", "s--", "^-.", "D:", "v-"]
    fig, (a, b, c) = plt.subplots(1, 3, figsize=(16, 4.4))
    for i, model in enumerate(models):
        mine = sorted(
            (r["size"], r["accuracy"])
            for r in rows
            if r["model"] == model and r["set"] == "perfect"
        )
        if mine:
            label = LABELS.get(model, model)
            a.plot(*zip(*mine, strict=True), styles[i % 5], label=label, alpha=0.8, ms=8 - i)
    a.set(xscale="log", xlabel="maze size (perfect mazes)", ylabel="accuracy (the peer's)")
    a.set_ylim(-0.05, 1.05)
    a.legend(fontsize=7)
    sets = list(dict.fromkeys(r["set"] for r in rows))
    sizes = [{r["size"] for r in rows if r["model"] == m and r["set"] != "perfect"} for m in models]
    size = max(set.intersection(*sizes), default=None) if sizes else None
    width = 0.8 / max(len(models), 1)
    for i, model in enumerate(models):
        acc = {r["set"]: _right(r) for r in rows if r["model"] == model and r["size"] == size}
        xs = [j + i * width for j, s in enumerate(sets) if s in acc]
        values = [acc[s] for s in sets if s in acc]
        b.bar(xs, [max(v, 0.01) for v in values], width, label=LABELS.get(model, model))
        for x, v in zip(xs, values, strict=True):
            b.text(x, max(v, 0.01) + 0.01, f"{v:.0%}", ha="center", fontsize=6)
    b.set_xticks([j + 0.4 - width / 2 for j in range(len(sets))], sets, fontsize=8)
    b.set(ylabel=f"accuracy at size {size} (cycles: any shortest path)")
    b.set_ylim(0, 1.15)
    b.legend(fontsize=6, loc="upper center")
    for t in payload["training"]:
        h = t["history"]
        c.plot(
            h["minutes"], h["val_accuracy"], "o-", ms=3, label=f"{t['net']} ({t['steps']} steps)"
        )
    c.set(xlabel="training minutes (one thread)", ylabel="validation accuracy, 9-mazes")
    c.set_ylim(-0.05, 1.05)
    c.legend(fontsize=8)
    fig.suptitle(
        f"Side by side: two nets trained {payload['budget_minutes']:g} min on 9-mazes, a "
        "shipped filter and a verified rule"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _right(row: dict) -> float:
    """The fraction right: with cycles any shortest path counts, else the peer's."""
    return row["shortest_paths"] if row["set"].startswith("cycles") else row["accuracy"]


if __name__ == "__main__":
    main()
