"""A learned GF(2) eliminator inside the Theorem 1 frame: verified where it was read off,
then parity learned by Algorithm 1 at d = 8, 16, 32 against Gaussian elimination.

Loads a learned learner (default: the shipped `gauss-north-west`, learned with the
systolic eliminator's trace as hints by a filter that reads C, N and W, and read off at
d <= 8) and (1) verifies it at the sizes it was read off at (meta.verify: every small
problem, every label pattern to m = 12, 100 random problems at (m, d) = (16, 4),
(18, 8), (32, 8), the answer staying put, then `--datasets` random datasets at (8, 4)
and (18, 8) through Algorithm 1 in the compiled frame, every test point), (2) runs the
same random check at (64, 16), beyond the read-off, (3) fits `RCNNLearner` on parity
data (a dense hidden subset, m = d + 10) at each `--d` and compares its predictions on
200 test points with Gaussian elimination's and with the true labels. Writes
meta_gauss_frame.json.

    python bench/bench_gauss_frame.py   # about 2 min
"""

from __future__ import annotations

import argparse
import sys
import time

from _common import Progress, bench_parser, write_json

VERIFIED_AT = ((16, 4), (18, 8), (32, 8))  # random sizes within the read-off (d <= 8)
FRAME_AT = ((8, 4), (18, 8))


def parse_args(argv=None) -> argparse.Namespace:
    parser = bench_parser(__doc__)
    parser.add_argument("--name", default="gauss-north-west", help="a learned learner")
    parser.add_argument("--d", type=int, nargs="+", default=[8, 16, 32], help="parity sizes")
    parser.add_argument("--datasets", type=int, default=3, help="datasets per size")
    parser.add_argument("--out", default="meta_gauss_frame", help="results name (.json)")
    args = parser.parse_args(argv)
    if min(args.d) < 1 or max(args.d) > 64:
        parser.error(f"--d: sizes 1..64, got {args.d}")
    if args.datasets < 1:
        parser.error(f"--datasets must be >= 1, got {args.datasets}")
    return args


def main() -> None:
    args = parse_args()
    with Progress("bench_gauss_frame", 3 + len(args.d), not args.no_progress) as bar:
        bar.stage("importing torch")
        import torch

        from turing_rcnn import GaussianElimination, ParityTask, RCNNLearner, pretrained
        from turing_rcnn.trainable.meta import MetaRule, verify

        torch.set_num_threads(1)
        try:
            meta = MetaRule.load(pretrained.resolve(args.name, "learner"))
        except ValueError as err:
            print(f"bench_gauss_frame.py: error: {err}", file=sys.stderr)
            raise SystemExit(2) from None
        if meta.family != "gauss":
            print(
                f"bench_gauss_frame.py: error: {args.name} learns {meta.family}, not gauss",
                file=sys.stderr,
            )
            raise SystemExit(2)
        out = {"learner": args.name, "guards": len(meta.rule.program.guards)}
        bar.stage("verify at the read-off's sizes, and in the frame")
        out["verify"] = verify(meta, large=VERIFIED_AT, frame=FRAME_AT, datasets=args.datasets)
        bar.advance()
        bar.stage("random problems at (64, 16), beyond the read-off")
        beyond = verify(meta, large=((64, 16),), frame=())
        out["beyond"] = {"size": [64, 16], **beyond["random"]}
        bar.advance()
        learner = meta.learner()
        bar.advance()
        out["parity"] = []
        for d in args.d:
            bar.stage(f"parity in the frame at d = {d}")
            for seed in range(args.datasets):
                data = ParityTask(d=d).make(m=d + 10, n_val=0, n_test=200, seed=seed)
                start = time.perf_counter()
                rcnn = RCNNLearner(learner).fit(data.X_train, data.y_train)
                pred = rcnn.predict(data.X_test)
                seconds = time.perf_counter() - start
                ge = GaussianElimination(fit_intercept=False).fit(data.X_train, data.y_train)
                out["parity"].append(
                    {
                        "d": d,
                        "m": d + 10,
                        "seed": seed,
                        "memorisation_exact": bool(rcnn.memorisation_exact_),
                        "agree_with_ge": int((pred == ge.predict(data.X_test)).sum()),
                        "right": int((pred == data.y_test).sum()),
                        "test_points": len(pred),
                        "seconds": round(seconds, 1),
                    }
                )
            bar.advance()
    write_json(f"{args.out}.json", out)
    for row in out["parity"]:
        print(row)
    print(
        {k: out["verify"][k] for k in ("exhaustive", "label_patterns", "random", "frame", "exact")}
    )
    print("beyond:", out["beyond"])


if __name__ == "__main__":
    main()
