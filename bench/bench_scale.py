"""Exact at scale: RCNN(gauss) vs GaussianElimination, d = 16 .. 256 (CPU).

For each d and seed, in a fresh process (so peak memory is its own): a dense parity
with m = d + 10, Algorithm 1, then predictions on N test points, change-driven
evaluation (changes.py), float32, one thread by default. Reported: layers, cells, fit and
predict seconds, GaussianElimination's fit + predict in the same process (and the ratio),
the cell evaluations done (memo lookups) against cells x layers x inputs (what the dense
convolution evaluates), the distinct patches that went through the patch net, peak
memory (VmHWM), memorisation exactness and agreement with GE; optionally the dense
convolution on the first test points of the same fitted network (== and seconds per
point). The log-log slope of time against d. Writes scale.json and .png.

    python bench/bench_scale.py --d 16 32 64 128 256 --points 1000 [--seeds 0 1 2]
    python bench/bench_scale.py --d 128 256 --device cuda --out scale_cuda   # on a GPU
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np
from _common import RESULTS, Progress, bench_parser, peak_mb, pyplot, write_json


def one(d: int, seed: int, points: int, dense_points: int, threads: int, device: str) -> dict:
    """One run, in this process."""
    import torch

    from turing_rcnn import GaussianElimination, ParityTask, RCNNLearner

    torch.set_num_threads(threads)
    torch.backends.cuda.matmul.allow_tf32 = False  # fp32 on a GPU: exact products
    torch.backends.cudnn.allow_tf32 = False
    data = ParityTask(d).make(d + 10, n_test=points, seed=seed)
    model = RCNNLearner("gauss", device=device)
    start = time.perf_counter()
    model.fit(data.X_train, data.y_train)
    fit = time.perf_counter() - start
    memo = model.net_.memo(0)
    fit_lookups, fit_patches = memo.lookups, memo.evaluated
    start = time.perf_counter()
    pred = model.predict(data.X_test)
    predict = time.perf_counter() - start
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
        "threads": threads,
        "device": torch.cuda.get_device_name() if device.startswith("cuda") else "cpu",
        "layers": model.layers_,
        "cells": cells,
        "fit_seconds": fit,
        "predict_seconds": predict,
        "ge_seconds": ge_seconds,
        "ratio_to_ge": (fit + predict) / ge_seconds,
        "fit_lookups": fit_lookups,
        "fit_dense_evaluations": cells * model.layers_ * (d + 11),
        "predict_lookups": memo.lookups - fit_lookups,
        "predict_dense_evaluations": cells * model.layers_ * points,
        "patches_through_the_patch_net": memo.evaluated,
        "patches_during_fit": fit_patches,
        "peak_rss_mb": peak_mb(),
        "peak_gpu_mb": torch.cuda.max_memory_allocated() / 2**20 if device != "cpu" else 0.0,
        "memorisation_exact": model.memorisation_exact_,
        "agreement": float(np.mean(pred == ge)),
        "rcnn_error": float(np.mean(pred != data.y_test)),
    }
    if dense_points:
        some = data.X_test[:dense_points]
        fast = model.decision_function(some)
        model.evaluation = "dense"
        start = time.perf_counter()
        dense = model.decision_function(some)
        row["dense_seconds_per_point"] = (time.perf_counter() - start) / dense_points
        row["dense_equal"] = bool(np.array_equal(dense, fast))
        row["changes_seconds_per_point"] = predict / points
    return row


def slope(rows: list[dict], key) -> float:
    """Least-squares slope of log(key(row)) against log(d)."""
    x = np.log([r["d"] for r in rows])
    return float(np.polyfit(x, np.log([key(r) for r in rows]), 1)[0])


def plot(rows: list[dict], path) -> None:
    plt = pyplot()

    ds = sorted({r["d"] for r in rows})

    def mean(key):
        return [np.mean([key(r) for r in rows if r["d"] == d]) for d in ds]

    fig, (a, b, c) = plt.subplots(1, 3, figsize=(15, 4))
    a.loglog(ds, mean(lambda r: r["fit_seconds"]), "o-", label="RCNN fit (Algorithm 1)")
    a.loglog(ds, mean(lambda r: r["predict_seconds"]), "s-", label="RCNN predict")
    a.loglog(ds, mean(lambda r: r["ge_seconds"]), "^-", label="GaussianElimination")
    a.set(xlabel="d (m = d + 10)", ylabel="seconds", title="time (1 CPU thread)")
    b.loglog(
        ds, mean(lambda r: r["predict_dense_evaluations"]), "o--", label="dense: cells x L x N"
    )
    b.loglog(ds, mean(lambda r: r["predict_lookups"]), "s-", label="change-driven: evaluated")
    b.loglog(ds, mean(lambda r: r["patches_through_the_patch_net"]), "^-", label="distinct patches")
    b.set(xlabel="d", ylabel="cell evaluations (predict)", title="work")
    c.plot(ds, mean(lambda r: r["peak_rss_mb"]), "o-")
    c.set(xlabel="d", ylabel="peak resident memory [MB]", title="memory")
    for ax in (a, b, c):
        ax.grid(True, alpha=0.3)
        ax.set_xticks(ds, [str(d) for d in ds])  # the d run, not 10^k
        ax.set_xticks([], minor=True)
    a.legend(fontsize=7)
    b.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def parse_args(argv=None) -> argparse.Namespace:
    parser = bench_parser(__doc__)
    parser.add_argument("--d", type=int, nargs="+", default=[16, 32, 64, 128, 256])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--dense-points", type=int, default=0, help="dense baseline points")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu", help="cpu or cuda (fp32, TF32 off)")
    parser.add_argument("--out", default="scale", help="results name (.json, .png)")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()
    if args.one:  # a child run: its parent shows the progress
        row = one(
            args.d[0], args.seeds[0], args.points, args.dense_points, args.threads, args.device
        )
        print(json.dumps(row))
        return
    total = len(args.d) * len(args.seeds)
    with Progress("bench_scale", total, not args.no_progress) as bar:
        rows = run_all(args, bar)
        bar.stage("plotting")
        big = [r for r in rows if r["d"] >= 32] or rows
        summary = {
            "slope_total_seconds_vs_d": slope(
                big, lambda r: r["fit_seconds"] + r["predict_seconds"]
            ),
            "slope_predict_lookups_vs_d": slope(big, lambda r: r["predict_lookups"]),
            "slope_dense_evaluations_vs_d": slope(big, lambda r: r["predict_dense_evaluations"]),
            "slope_ge_seconds_vs_d": slope(big, lambda r: r["ge_seconds"]),
        }
        print(summary)
        write_json(f"{args.out}.json", {"rows": rows, "summary": summary})
        plot(rows, RESULTS / f"{args.out}.png")


def run_all(args, bar) -> list[dict]:
    """Each d and seed in a fresh process (its own peak memory)."""
    rows = []
    for d in args.d:
        for seed in args.seeds:
            bar.stage(f"d = {d}, seed {seed} (fresh process)")
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
                "--device",
                args.device,
                "--dense-points",
                str(args.dense_points if d <= 64 else 0),
            ]
            out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
            rows.append(json.loads(out.strip().splitlines()[-1]))
            print(json.dumps(rows[-1]))
            bar.advance()
    return rows


if __name__ == "__main__":
    main()
