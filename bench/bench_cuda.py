"""The same code on a GPU: exactness first, then the timings (run where CUDA exists).

1. Exactness on CUDA (fp32, TF32 off): RCNN(gauss) fitted by Algorithm 1 on the GPU
   has W == the CPU fit's W, and predictions on every one of the 2^d points == the
   CPU's == GaussianElimination's (d = 8, 10, 12; consistent and noisy data); the
   change-driven evaluation == the dense convolution on the GPU (outputs and W).
2. Timings: bench_scale's end-to-end run (fit + 1 000 predictions) on the GPU and,
   in the same process tree, on the host's CPU (one thread), for the d given.
Writes cuda.json.

    python bench/bench_cuda.py [--d 64 128 256] [--budget 400]
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from _common import Progress, bench_parser, write_json

HERE = Path(__file__).resolve().parent
EXACT_DS = (8, 10, 12)  # exactness: d, each consistent and noisy


def exactness(ds=EXACT_DS, device: str = "cuda", bar=None) -> list[dict]:
    import torch

    from turing_rcnn import GaussianElimination, ParityTask, RCNNLearner

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    rows = []
    for d, noise in itertools.product(ds, (0.0, 0.1)):
        if bar:
            bar.stage(f"exactness d = {d}, noise {noise}")
        data = ParityTask(d, noise=noise).make(d + 10, n_test=4, seed=d)
        points = np.array(list(itertools.product([-1.0, 1.0], repeat=d)))
        cpu = RCNNLearner("gauss").fit(data.X_train, data.y_train)
        start = time.perf_counter()
        gpu = RCNNLearner("gauss", device=device).fit(data.X_train, data.y_train)
        fit = time.perf_counter() - start
        start = time.perf_counter()
        gpu_out = gpu.decision_function(points)
        predict = time.perf_counter() - start
        linear_ge = GaussianElimination(fit_intercept=False)  # the RCNN's program
        ge = linear_ge.fit(data.X_train, data.y_train).predict(points)
        dense = RCNNLearner("gauss", device=device, evaluation="dense")
        dense.fit(data.X_train, data.y_train)
        few = points[:: max(1, len(points) // 64)]
        rows.append(
            {
                "d": d,
                "noise": noise,
                "W_equal_cpu": bool(torch.equal(gpu.net_.memory.cpu(), cpu.net_.memory)),
                "W_equal_dense_on_gpu": bool(torch.equal(gpu.net_.memory, dense.net_.memory)),
                "outputs_equal_cpu": bool(np.array_equal(gpu_out, cpu.decision_function(points))),
                "dense_outputs_equal": bool(
                    np.array_equal(dense.decision_function(few), gpu.decision_function(few))
                ),
                "predictions_equal_ge": bool(np.array_equal(gpu.predict(points), ge)),
                "points": len(points),
                "gpu_fit_seconds": round(fit, 2),
                "gpu_predict_seconds": round(predict, 2),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
        if bar:
            bar.advance()
    return rows


def timing(d: int, device: str, threads: int, limit: float) -> dict:
    argv = [sys.executable, str(HERE / "bench_scale.py"), "--one", "--d", str(d)]
    argv += ["--points", "1000", "--device", device, "--threads", str(threads)]
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=limit, check=True)
    except subprocess.TimeoutExpired:
        return {"d": d, "device": device, "timed_out_after_seconds": limit}
    return json.loads(out.stdout.strip().splitlines()[-1])


def parse_args(argv=None) -> argparse.Namespace:
    parser = bench_parser(__doc__)
    parser.add_argument("--d", type=int, nargs="+", default=[64, 128, 256])
    parser.add_argument("--budget", type=float, default=400, help="seconds for the timings")
    parser.add_argument("--cpu-up-to", type=int, default=64, help="CPU baseline for d <= this")
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()
    runs = [
        (d, dev) for d in args.d for dev in ("cuda", "cpu") if dev == "cuda" or d <= args.cpu_up_to
    ]
    with Progress("bench_cuda", 2 * len(EXACT_DS) + len(runs), not args.no_progress) as bar:
        bar.stage("importing torch")
        import torch

        if not torch.cuda.is_available():
            raise SystemExit("bench_cuda: no CUDA device here")
        out = {"gpu": torch.cuda.get_device_name(), "exactness": exactness(bar=bar), "timing": []}
        write_json("cuda.json", out)
        end = time.perf_counter() + args.budget
        for d, device in runs:
            bar.stage(f"timing d = {d} on {device} (bench_scale --one)")
            left = end - time.perf_counter()
            if left < 10:
                out["timing"].append({"d": d, "device": device, "skipped": "budget spent"})
                bar.advance()
                continue
            out["timing"].append(timing(d, device, 1, left))
            print(json.dumps(out["timing"][-1]), flush=True)
            write_json("cuda.json", out)
            bar.advance()


if __name__ == "__main__":
    main()
