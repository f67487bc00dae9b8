"""Exact at scale: RCNN(gauss) vs GaussianElimination, d = 16 .. 1 024 (CPU).

For each d and seed, in a fresh process (so peak memory is its own): a dense parity
with m = d + 10, Algorithm 1, then predictions on N test points, change-driven
evaluation (changes.py), float32, streamed in chunks sized from memory
(RCNNLearner's batch_size=None), one thread per process; `--jobs 2` shares the
test points with a forked worker process (RCNNLearner(n_jobs=2)). Reported per run:
layers, cells, fit and predict seconds, GaussianElimination's fit + predict in the same
process and the ratio, the cell evaluations done (memo lookups, workers' included)
against cells x layers x inputs (what the dense convolution evaluates), the distinct
patches that went through the patch net, the chunks, peak memory (VmHWM) of the run
and of each worker, memorisation exactness and agreement with GE on every point;
optionally the dense convolution on the first test points of the same fitted network
(== and seconds per point). The summary: log-log slopes of time, work and GE against
d (d >= 32) and the totals they project at d = 512 and 1 024. The child's progress
(Algorithm 1's steps, the predicted points) shows on the bar at least every 4 s.
Writes scale.json and .png (`--out`).

    python bench/bench_scale.py --d 16 32 64 128 256 --points 1000 [--seeds 0 1 2]
    python bench/bench_scale.py --d 16 32 64 128 256 512 --seeds 0 1 2 --jobs 2
    python bench/bench_scale.py --d 1024 --jobs 2 --max-memory 16 --out scale_1024
    python bench/bench_scale.py --d 128 256 --device cuda --out scale_cuda   # on a GPU
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import threading
import time

import numpy as np
from _common import RESULTS, Progress, bench_parser, peak_mb, pyplot, write_json


def one(args: argparse.Namespace) -> dict:
    """One run (args.d[0], args.seeds[0]), in this process."""
    import torch

    from turing_rcnn import GaussianElimination, ParityTask, RCNNLearner, guard

    d, seed, points, device = args.d[0], args.seeds[0], args.points, args.device
    torch.set_num_threads(args.threads)
    torch.backends.cuda.matmul.allow_tf32 = False  # fp32 on a GPU: exact products
    torch.backends.cudnn.allow_tf32 = False
    data = ParityTask(d).make(d + 10, n_test=points, seed=seed)
    model = RCNNLearner("gauss", device=device, n_jobs=args.jobs, progress=args.child_progress)
    with guard.limit(args.max_memory):
        start = time.perf_counter()
        model.fit(data.X_train, data.y_train)
        fit = time.perf_counter() - start
        memo = model.net_.memo(0)
        fit_lookups, fit_patches = memo.lookups, memo.evaluated
        start = time.perf_counter()
        pred = model.predict(data.X_test)
        predict = time.perf_counter() - start
    report = model.net_.predict_report
    workers = report.get("workers", [])
    start = time.perf_counter()
    linear_ge = GaussianElimination(fit_intercept=False)  # the RCNN's program
    ge = linear_ge.fit(data.X_train, data.y_train).predict(data.X_test)
    ge_seconds = time.perf_counter() - start
    cells = int(np.prod(model.net_.config.grid_shape))
    row = {
        "d": d,
        "m": d + 10,
        "seed": seed,
        "points": points,
        "threads": args.threads,
        "jobs": args.jobs,
        "processes": report.get("processes", 1),
        "device": torch.cuda.get_device_name() if device.startswith("cuda") else "cpu",
        "layers": model.layers_,
        "cells": cells,
        "chunk_points": report.get("chunk_points"),
        "chunks": report.get("chunks"),
        "chunks_by_workers": [w.get("chunks", 0) for w in workers],
        "given_back_by_workers": [w.get("given_back", 0) for w in workers],
        "fit_seconds": fit,
        "predict_seconds": predict,
        "ge_seconds": ge_seconds,
        "ratio_to_ge": (fit + predict) / ge_seconds,
        "fit_lookups": fit_lookups,
        "fit_dense_evaluations": cells * model.layers_ * (d + 11),
        "predict_lookups": memo.lookups - fit_lookups + sum(w.get("lookups", 0) for w in workers),
        "predict_dense_evaluations": cells * model.layers_ * points,
        "patches_through_the_patch_net": memo.evaluated,
        "patches_by_workers": sum(w.get("evaluated", 0) for w in workers),
        "patches_during_fit": fit_patches,
        "patches_not_kept": memo.unstored + sum(w.get("unstored", 0) for w in workers),
        "memo_mb": memo.nbytes / 2**20,
        "memo_limit_mb": (memo.max_bytes or 0) / 2**20,
        "peak_rss_mb": peak_mb(),
        "peak_rss_mb_workers": [w.get("peak_mb") for w in workers],
        "peak_gpu_mb": torch.cuda.max_memory_allocated() / 2**20 if device != "cpu" else 0.0,
        "memorisation_exact": model.memorisation_exact_,
        "agreement": float(np.mean(pred == ge)),
        "rcnn_error": float(np.mean(pred != data.y_test)),
    }
    if args.dense_points:
        some = data.X_test[: args.dense_points]
        model.set_params(progress=False, n_jobs=1)
        fast = model.decision_function(some)
        model.evaluation = "dense"
        start = time.perf_counter()
        dense = model.decision_function(some)
        row["dense_seconds_per_point"] = (time.perf_counter() - start) / args.dense_points
        row["dense_equal"] = bool(np.array_equal(dense, fast))
        row["changes_seconds_per_point"] = predict / points
    return row


def slope(rows: list[dict], key) -> float:
    """Least-squares slope of log(key(row)) against log(d) (nan with fewer than 2 d)."""
    if len({r["d"] for r in rows}) < 2:
        return float("nan")
    x = np.log([r["d"] for r in rows])
    return float(np.polyfit(x, np.log([key(r) for r in rows]), 1)[0])


def projected(rows: list[dict], key, d: int) -> float:
    """key at d from the log-log least-squares line through the rows (nan if < 2 d)."""
    if len({r["d"] for r in rows}) < 2:
        return float("nan")
    x = np.log([r["d"] for r in rows])
    b, a = np.polyfit(x, np.log([key(r) for r in rows]), 1)
    return float(np.exp(a + b * np.log(d)))


def total(r: dict) -> float:
    return r["fit_seconds"] + r["predict_seconds"]


def summarise(rows: list[dict]) -> dict:
    big = [r for r in rows if r["d"] >= 32] or rows
    summary = {
        "slope_total_seconds_vs_d": slope(big, total),
        "slope_fit_seconds_vs_d": slope(big, lambda r: r["fit_seconds"]),
        "slope_predict_seconds_vs_d": slope(big, lambda r: r["predict_seconds"]),
        "slope_predict_lookups_vs_d": slope(big, lambda r: r["predict_lookups"]),
        "slope_dense_evaluations_vs_d": slope(big, lambda r: r["predict_dense_evaluations"]),
        "slope_patches_vs_d": slope(big, lambda r: r["patches_through_the_patch_net"]),
        "slope_ge_seconds_vs_d": slope(big, lambda r: r["ge_seconds"]),
        "slope_peak_rss_vs_d": slope(big, lambda r: r["peak_rss_mb"]),
    }
    for d in (512, 1024):
        if d > max(r["d"] for r in rows):
            summary[f"projected_total_seconds_d{d}"] = projected(big, total, d)
            summary[f"projected_patches_d{d}"] = projected(
                big, lambda r: r["patches_through_the_patch_net"], d
            )
    per_d = {}
    for d in sorted({r["d"] for r in rows}):
        these = [r for r in rows if r["d"] == d]
        per_d[str(d)] = {
            "total_seconds": [min(map(total, these)), max(map(total, these))],
            "ratio_to_ge": [
                min(r["ratio_to_ge"] for r in these),
                max(r["ratio_to_ge"] for r in these),
            ],
            "peak_rss_mb": max(r["peak_rss_mb"] for r in these),
            "exact": all(r["memorisation_exact"] and r["agreement"] == 1.0 for r in these),
        }
    summary["per_d"] = per_d
    return summary


def plot(rows: list[dict], path) -> None:
    plt = pyplot()

    ds = sorted({r["d"] for r in rows})

    def mean(key):
        return [np.mean([key(r) for r in rows if r["d"] == d]) for d in ds]

    fig, (a, r, b, c) = plt.subplots(1, 4, figsize=(19, 4))
    a.loglog(ds, mean(lambda r: r["fit_seconds"]), "o-", label="RCNN fit (Algorithm 1)")
    a.loglog(ds, mean(lambda r: r["predict_seconds"]), "s-", label="RCNN predict")
    a.loglog(ds, mean(lambda r: r["ge_seconds"]), "^-", label="GaussianElimination")
    procs = " or ".join(str(p) for p in sorted({row["processes"] for row in rows}))
    a.set(
        xlabel="d (m = d + 10)", ylabel="seconds", title=f"time ({procs} processes, 1 thread each)"
    )
    for seed in sorted({row["seed"] for row in rows}):
        mine = [row for row in rows if row["seed"] == seed]
        r.loglog(
            [x["d"] for x in mine], [x["ratio_to_ge"] for x in mine], "o-", label=f"seed {seed}"
        )
    r.set(xlabel="d", ylabel="RCNN (fit + predict) / GE", title="ratio to GaussianElimination")
    b.loglog(
        ds, mean(lambda r: r["predict_dense_evaluations"]), "o--", label="dense: cells x L x N"
    )
    b.loglog(ds, mean(lambda r: r["predict_lookups"]), "s-", label="change-driven: evaluated")
    b.loglog(ds, mean(lambda r: r["patches_through_the_patch_net"]), "^-", label="distinct patches")
    b.set(xlabel="d", ylabel="cell evaluations (predict)", title="work")
    c.plot(ds, mean(lambda r: r["peak_rss_mb"]), "o-", label="peak resident memory")
    c.plot(ds, mean(lambda r: r["memo_mb"]), "s--", label="patch memo")
    c.set(xlabel="d", ylabel="MB", title="memory", xscale="log")
    for ax in (a, r, b, c):
        ax.grid(True, alpha=0.3)
        ax.set_xticks(ds, [str(d) for d in ds])  # the d run, not 10^k
        ax.set_xticks([], minor=True)
    for ax in (a, r, b, c):
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def parse_args(argv=None) -> argparse.Namespace:
    parser = bench_parser(__doc__)
    parser.add_argument("--d", type=positive, nargs="+", default=[16, 32, 64, 128, 256])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--points", type=positive, default=1000)
    parser.add_argument("--dense-points", type=int, default=0, help="dense baseline points")
    parser.add_argument("--threads", type=positive, default=1, help="torch threads per process")
    parser.add_argument(
        "--jobs",
        type=positive,
        default=1,
        help="processes for predict (RCNNLearner n_jobs; 2: a forked worker on the other core)",
    )
    parser.add_argument(
        "--max-memory", type=float, default=None, help="GB a run may take (default: available)"
    )
    parser.add_argument("--device", default="cpu", help="cpu or cuda (fp32, TF32 off)")
    parser.add_argument("--out", default="scale", help="results name (.json, .png)")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child-progress", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()
    if args.one:  # a child run: its parent shows the progress
        print(json.dumps(one(args)))
        return
    total_runs = len(args.d) * len(args.seeds)
    with Progress("bench_scale", total_runs, not args.no_progress) as bar:
        rows = run_all(args, bar)
        bar.stage("plotting")
        summary = summarise(rows)
        print(json.dumps(summary))
        write_json(f"{args.out}.json", {"rows": rows, "summary": summary, "argv": sys.argv[1:]})
        plot(rows, RESULTS / f"{args.out}.png")


_PROGRESS = re.compile(r"\d+/\d+|: \d+ s$")  # a bar's count, or a heartbeat's seconds


def _relay(stream, stage, lines: list[str]) -> None:
    """Read a child's stderr: each progress line (the package's bars, redrawn every 4 s,
    split on \\r) goes to `stage` without its bar graphics; other lines (an error's
    traceback) are kept in `lines`."""
    text = ""
    while chunk := stream.read1(4096):
        text += chunk.decode(errors="replace")
        *done, text = re.split(r"[\r\n]", text)
        for line in (part.strip() for part in done):
            if _PROGRESS.search(line):
                stage(re.sub(r"\s+", " ", re.sub(r"\|[^|]*\|", " ", line)))
            elif line:
                lines.append(line)


def run_all(args, bar) -> list[dict]:
    """Each d and seed in a fresh process (its own peak memory)."""
    rows = []
    for d in args.d:
        for seed in args.seeds:
            label = f"d = {d}, seed {seed} (fresh process)"
            bar.stage(label)
            argv = [
                sys.executable,
                __file__,
                "--one",
                "--d",
                str(d),
                "--seeds",
                str(seed),
                "--points",
                str(args.points),
                "--threads",
                str(args.threads),
                "--jobs",
                str(args.jobs),
                "--device",
                args.device,
                "--dense-points",
                str(args.dense_points if d <= 64 else 0),
            ]
            if args.max_memory is not None:
                argv += ["--max-memory", str(args.max_memory)]
            if not args.no_progress:
                argv.append("--child-progress")
            start = time.perf_counter()
            child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            other: list[str] = []
            relay = threading.Thread(
                target=_relay,
                args=(child.stderr, lambda text, label=label: bar.stage(f"{label}: {text}"), other),
                daemon=True,
            )
            relay.start()
            out = child.stdout.read().decode()
            child.wait()
            relay.join()
            if child.returncode:
                tail = "\n".join(other[-30:])
                raise SystemExit(f"bench_scale: {label} failed (exit {child.returncode}):\n{tail}")
            rows.append(json.loads(out.strip().splitlines()[-1]))
            rows[-1]["wall_seconds"] = time.perf_counter() - start
            print(json.dumps(rows[-1]), flush=True)
            bar.advance()
    return rows


if __name__ == "__main__":
    main()
