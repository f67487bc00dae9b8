"""Parity learned by the RCNN exactly as well as Gaussian elimination (CPU experiments).

(a) test error vs m: RCNN(gauss) for d in {8, 16}; GaussianElimination and SGD-MLP (same
    m examples) for d in {8, 16, 32, 64}; the exact curve 1 - prod_{i<d}(1 - 2^(i-m))
    bounds GE's chance of not having a unique solution;
(b) a 3-sparse parity; (c) 5% label noise;
(d) time and peak memory (fresh process, VmHWM) of fit and predict vs d, m = d + 10,
    and the ratio to GaussianElimination, with the dense convolution and with the
    change-driven evaluation (RCNNLearner's default), in the same run.
RCNN and GE are evaluated on the same test points and must agree on every one.
Writes gauss_rcnn.json and gauss_rcnn.png.

    python bench/bench_gauss_rcnn.py [--quick] [--cost-only]
"""

from __future__ import annotations

import argparse
import functools
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from _common import RESULTS, TRACKED, Progress, bench_parser, pyplot

# torch, matplotlib and turing_rcnn load after the arguments


@functools.cache
def rcnn_gauss():
    """The one RCNNLearner("gauss") every evaluation refits."""
    from turing_rcnn import RCNNLearner

    return RCNNLearner("gauss")


def evaluate(task, m: int, n_test: int, seed: int, rcnn: bool) -> dict:
    from turing_rcnn import SGDMLP, GaussianElimination

    model = rcnn_gauss()
    data = task.make(m, n_test=n_test, seed=seed)
    linear_ge = GaussianElimination(fit_intercept=False)  # the RCNN's program
    ge = linear_ge.fit(data.X_train, data.y_train).predict(data.X_test)
    mlp = SGDMLP(steps=2000, seed=seed).fit(data.X_train, data.y_train).predict(data.X_test)
    row = {
        "d": task.d,
        "k": task.k,
        "noise": task.noise,
        "m": m,
        "seed": seed,
        "test_points": n_test,
        "ge_error": float(np.mean(ge != data.y_test)),
        "mlp_error": float(np.mean(mlp != data.y_test)),
    }
    if rcnn:
        start = time.perf_counter()
        pred = model.fit(data.X_train, data.y_train).predict(data.X_test)
        row |= {
            "rcnn_error": float(np.mean(pred != data.y_test)),
            "agreement": float(np.mean(pred == ge)),
            "memorisation_exact": model.memorisation_exact_,
            "rcnn_seconds": time.perf_counter() - start,
        }
    return row


COST = """
import json, time, sys
import numpy as np, torch
torch.set_num_threads(2)
from turing_rcnn import GaussianElimination, ParityTask
from turing_rcnn import RCNNLearner
d, n, evaluation = int(sys.argv[1]), int(sys.argv[2]), sys.argv[4]
sys.path.insert(0, sys.argv[3])
from _common import peak_mb
data = ParityTask(d).make(d + 10, n_test=n, seed=d)
model = RCNNLearner("gauss", evaluation=evaluation)
t = time.perf_counter(); model.fit(data.X_train, data.y_train); fit = time.perf_counter() - t
fit_rss = peak_mb()
t = time.perf_counter(); pred = model.predict(data.X_test); predict = time.perf_counter() - t
t = time.perf_counter()
linear_ge = GaussianElimination(fit_intercept=False)  # the RCNN's program
ge = linear_ge.fit(data.X_train, data.y_train).predict(data.X_test)
ge_s = time.perf_counter() - t
print(json.dumps({"d": d, "m": d + 10, "evaluation": sys.argv[4], "layers": model.layers_,
    "cells": int(np.prod(model.net_.config.grid_shape)), "fit_seconds": fit,
    "predict_seconds": predict, "predict_points": n, "ge_seconds": ge_s,
    "peak_rss_mb_after_fit": fit_rss, "peak_rss_mb": peak_mb(),
    "agreement": float(np.mean(pred == ge)), "memorisation_exact": model.memorisation_exact_}))
"""


def curve_points(seeds: list[int]) -> list[tuple[int, int, int]]:
    """(d, m, seed) of the error-vs-m curve (a)."""
    out = []
    for d in (8, 16, 32, 64):
        for m in sorted({max(1, d // 2), d - 2, d, d + 2, d + 5, d + 10}):
            out += [(d, m, seed) for seed in seeds]
    return out


def error_sweeps(seeds: list[int], bar) -> dict:
    """(a) error vs m for d in {8, 16, 32, 64}, (b) 3-sparse, (c) 5% label noise."""
    from turing_rcnn import ParityTask

    curve = []
    for d, m, seed in curve_points(seeds):
        bar.stage(f"(a) error vs m: d = {d}, m = {m}, seed {seed}")
        rcnn = d <= 16 and (d == 8 or seed == 0)
        curve.append(evaluate(ParityTask(d), m, 100 if d == 16 else 200, seed, rcnn))
        print("a", {k: v for k, v in curve[-1].items() if k != "rcnn_seconds"})
        bar.advance()
    sparse = []
    for m, s in [(m, s) for m in (10, 20) for s in seeds]:
        bar.stage(f"(b) 3-sparse parity: m = {m}, seed {s}")
        sparse.append(evaluate(ParityTask(10, k=3), m, 200, s, True))
        bar.advance()
    print("b", sparse)
    noisy, noise = ParityTask(8, noise=0.05), []
    for m, s in [(m, s) for m in (18, 40) for s in seeds]:
        bar.stage(f"(c) 5% label noise: m = {m}, seed {s}")
        noise.append(evaluate(noisy, m, 200, s, True))
        bar.advance()
    print("c", noise)
    return {"error_vs_m": curve, "sparse": sparse, "noise": noise}


def cost(ds, bar) -> list[dict]:
    """(d) the dense convolution and the change-driven evaluation, each d and mode in a
    fresh process (its own peak memory)."""
    rows = []
    for d in ds:
        for mode in ("dense", "changes"):
            bar.stage(f"(d) cost: d = {d}, {mode} (fresh process)")
            argv = [sys.executable, "-c", COST, str(d), "50", str(Path(__file__).parent), mode]
            res = subprocess.run(argv, capture_output=True, text=True, check=True)
            rows.append(json.loads(res.stdout.strip().splitlines()[-1]))
            print("d", rows[-1])
            bar.advance()
    return rows


def parse_args(argv=None) -> argparse.Namespace:
    parser = bench_parser(__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer points (a smoke run)")
    parser.add_argument("--cost-only", action="store_true", help="redo (d) in the saved JSON")
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()
    seeds = [0] if args.quick else [0, 1, 2]
    ds = (4, 8) if args.quick else (4, 8, 12, 16)
    total = 2 * len(ds) + (0 if args.cost_only else len(curve_points(seeds)) + 4 * len(seeds))
    with Progress("bench_gauss_rcnn", total, not args.no_progress) as bar:
        bar.stage("importing torch")
        import torch

        torch.set_num_threads(2)
        meta = {"machine": platform.machine(), "threads": 2, "torch": torch.__version__}
        out: dict = {"meta": meta | {"dtype": "float32"}}
        if args.cost_only:  # the sweeps of the last full run: here, else the tracked one
            saved = RESULTS / "gauss_rcnn.json"
            saved = saved if saved.exists() else TRACKED / "gauss_rcnn.json"
            out = json.loads(saved.read_text())
        else:
            out |= error_sweeps(seeds, bar)
        out["cost"] = cost(ds, bar)
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "gauss_rcnn.json").write_text(json.dumps(out, indent=2) + "\n")
        bar.stage("plotting")
        plot(out["error_vs_m"], out["cost"])
    print(f"wrote {RESULTS / 'gauss_rcnn.json'} and {RESULTS / 'gauss_rcnn.png'}")


def plot(curve: list[dict], cost_rows: list[dict]) -> None:
    plt = pyplot()

    from turing_rcnn import spanning_probability

    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for d, colour in zip((8, 16, 32, 64), ("C0", "C1", "C2", "C3"), strict=True):
        rows = [r for r in curve if r["d"] == d]
        ms = sorted({r["m"] for r in rows})

        def mean(key, rows=rows, ms=ms):
            return [np.mean([r[key] for r in rows if r["m"] == m and key in r]) for m in ms]

        axes[0].plot(ms, mean("ge_error"), "o-", color=colour, label=f"GE d={d}")
        axes[0].plot(ms, mean("mlp_error"), "x:", color=colour, label=f"SGD-MLP d={d}")
        if any("rcnn_error" in r for r in rows):
            style = dict(color=colour, mfc="none", ms=10, label=f"RCNN d={d}")
            axes[0].plot(ms, mean("rcnn_error"), "s--", **style)
        exact = [0.5 * (1 - spanning_probability(d, m)) for m in ms]
        axes[0].plot(ms, exact, "-", color=colour, alpha=0.3, lw=4)
    axes[0].set(xlabel="m (training examples)", ylabel="test error")
    axes[0].set_title("dense parity (thick: (1 - P[span]) / 2)")
    axes[0].legend(fontsize=6, ncol=2)
    for mode, style in (("dense", "-"), ("changes", "--")):
        rows = [c for c in cost_rows if c["evaluation"] == mode]
        ds = [c["d"] for c in rows]
        fit = [c["fit_seconds"] for c in rows]
        per_point = [c["predict_seconds"] / c["predict_points"] for c in rows]
        axes[1].semilogy(ds, fit, "o" + style, label=f"RCNN fit (Algorithm 1), {mode}")
        axes[1].semilogy(ds, per_point, "s" + style, label=f"RCNN predict, per point, {mode}")
        axes[2].plot(ds, [c["peak_rss_mb"] for c in rows], "o" + style, label=mode)
    axes[1].semilogy(ds, [c["ge_seconds"] for c in rows], "^-", label="GE fit + predict 50")
    axes[1].set(xlabel="d (m = d + 10)", ylabel="seconds (2 CPU cores)", title="time")
    axes[1].legend(fontsize=7)
    axes[2].set(xlabel="d (m = d + 10)", ylabel="peak resident memory [MB]", title="memory")
    axes[2].legend(fontsize=7)
    for ax in axes:
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(RESULTS / "gauss_rcnn.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
