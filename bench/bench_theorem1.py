"""Theorem 1 in practice: Algorithm 1 with each shipped learner over a small grid of d, m.

For each learner and (d, m): the layer count L and c1 = L / (t + m + d) (t = the
learner's time bound), the shared parameter count and |U|, the largest magnitude and
smallest spacing of the cell values (the bits of precision they need) and the
compiler's bound on intermediate values, fit (Algorithm 1) and predict seconds, and
whether memorisation was exact and the network agreed with the learner's reference on
every test point. CPU, float32. Writes theorem1.json and theorem1.png.

    python bench/bench_theorem1.py [--sizes 4 8 16] [--test 256]
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np
from _common import RESULTS, Progress, bench_parser, pyplot

# matplotlib, torch and turing_rcnn load after the arguments


def parse_args(argv=None) -> argparse.Namespace:
    parser = bench_parser(__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[4, 8, 16])
    parser.add_argument("--test", type=int, default=256)
    parser.add_argument("--threads", type=int, default=1)
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()
    with Progress("bench_theorem1", None, not args.no_progress) as bar:
        bar.stage("importing torch")
        run(args, bar)
    print(f"wrote {RESULTS / 'theorem1.json'} and {RESULTS / 'theorem1.png'}")


def run(args, bar) -> None:
    plt = pyplot()
    import torch

    from turing_rcnn import RCNNLearner
    from turing_rcnn.algorithm1 import compiled_frame
    from turing_rcnn.programs.learning import LEARNERS
    from turing_rcnn.tasks import ParityTask

    bar.total = len(LEARNERS) * len(args.sizes)
    torch.set_num_threads(args.threads)

    rows = []
    for name in LEARNERS:
        model = RCNNLearner(name)
        codes = compiled_frame(name).program.code
        for n in args.sizes:
            bar.stage(f"{name}, d = m = {n}")
            d = m = n
            data = ParityTask(d).make(m, n_test=args.test, seed=n)
            start = time.perf_counter()
            model.fit(data.X_train, data.y_train)
            fit_s = time.perf_counter() - start
            start = time.perf_counter()
            pred = model.predict(data.X_test)
            predict_s = time.perf_counter() - start
            ref = model.reference_predict(data.X_train, data.y_train, data.X_test)
            t = model.learner_program().time(m, d)
            row = {
                "learner": name,
                "d": d,
                "m": m,
                "layers": model.layers_,
                "time_bound": t,
                "c1": model.layers_ / (t + m + d),
                "cells": int(np.prod(model.net_.config.grid_shape)),
                "parameters": model.compiled_.parameter_count,
                "weight_values": len(model.compiled_.weight_values),
                "largest_cell_value": float(np.abs(codes).max()),
                "smallest_code_spacing": float(np.diff(codes).min()),
                "value_bits": float(np.log2(np.abs(codes).max() / np.diff(codes).min())),
                "compiler_bits_needed": model.compiled_.bits_needed,
                "memorisation_exact": model.memorisation_exact_,
                "agreement": float(np.mean(pred == ref)),
                "fit_seconds": fit_s,
                "predict_seconds": predict_s,
                "predict_points": args.test,
            }
            rows.append(row)
            print(
                f"{name:12s} d=m={n:3d} L={row['layers']:4d} c1={row['c1']:.2f} "
                f"params={row['parameters']} |U|={row['weight_values']} "
                f"bits={row['compiler_bits_needed']} exact={row['memorisation_exact']} "
                f"agree={row['agreement']:.3f} fit={fit_s:.2f}s predict={predict_s:.2f}s"
            )
            bar.advance()

    RESULTS.mkdir(parents=True, exist_ok=True)
    meta = {
        "machine": platform.machine(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "dtype": "float32",
    }
    (RESULTS / "theorem1.json").write_text(
        json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n"
    )
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for name in LEARNERS:
        sel = [r for r in rows if r["learner"] == name]
        n = [r["d"] for r in sel]
        axes[0].plot(n, [r["layers"] for r in sel], "o-", label=name)
        axes[1].loglog(n, [r["fit_seconds"] for r in sel], "o-", label=f"{name}: fit")
        axes[1].loglog(n, [r["predict_seconds"] for r in sel], "s--", label=f"{name}: predict")
    axes[0].set_xlabel("d = m")
    axes[0].set_ylabel("layers L")
    axes[0].set_title("Layer budget of the Theorem 1 frame")
    axes[1].set_xlabel("d = m")
    axes[1].set_ylabel(f"seconds (CPU, predict {args.test} points)")
    axes[1].set_title("Algorithm 1 fit and predict")
    for ax in axes:  # the sizes run, not 10^k or 4.5
        ax.set_xticks(args.sizes, [str(n) for n in args.sizes])
        ax.set_xticks([], minor=True)
    for ax in axes:
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(RESULTS / "theorem1.png", dpi=120)


if __name__ == "__main__":
    main()
