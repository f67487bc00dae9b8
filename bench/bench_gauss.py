"""Gaussian elimination: bit-packed GaussianElimination vs the unpacked reference.

Times fit + predict (1000 test points) for d in {64, 256, 1024, 4096}, m = d + 10,
both in the same run on the same data, checks they agree prediction for prediction,
and writes gauss.json and gauss.png.

    python bench/bench_gauss.py [--dims 64 256 1024 4096] [--repeats 3]
"""

from __future__ import annotations

import argparse

import numpy as np
from _common import RESULTS, Progress, bench_parser, best_of, pyplot, write_json


def parse_args(argv=None) -> argparse.Namespace:
    parser = bench_parser(__doc__)
    parser.add_argument("--dims", type=int, nargs="+", default=[64, 256, 1024, 4096])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-test", type=int, default=1000)
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()
    with Progress("bench_gauss", len(args.dims), not args.no_progress) as bar:
        bar.stage("importing")
        run(args, bar)


def run(args, bar) -> None:
    plt = pyplot()

    from turing_rcnn import GaussianElimination, ParityTask, gauss_reference

    rows = []
    for d in args.dims:
        bar.stage(f"d = {d}")
        data = ParityTask(d).make(d + 10, n_test=args.n_test, seed=d)

        def packed(data=data):
            ge = GaussianElimination(fit_intercept=False).fit(data.X_train, data.y_train)
            return ge.predict(data.X_test)

        def unpacked(data=data):
            return gauss_reference(data.X_train, data.y_train, data.X_test)

        t_packed, p_packed = best_of(args.repeats, packed)
        t_ref, p_ref = best_of(1 if d >= 1024 else args.repeats, unpacked)
        row = {
            "d": d,
            "m": d + 10,
            "n_test": args.n_test,
            "packed_seconds": t_packed,
            "unpacked_seconds": t_ref,
            "speedup": t_ref / t_packed,
            "agree": bool(np.array_equal(p_packed, p_ref)),
            "test_error": float(np.mean(p_packed != data.y_test)),
        }
        rows.append(row)
        print(
            f"d={d:5d}  packed {t_packed:8.3f}s  unpacked {t_ref:8.3f}s  "
            f"speedup {row['speedup']:6.1f}x  agree={row['agree']}  error={row['test_error']:.3f}"
        )
        bar.advance()

    write_json("gauss.json", {"rows": rows})

    fig, ax = plt.subplots(figsize=(5.5, 4))
    ds = [r["d"] for r in rows]
    ax.loglog(ds, [r["packed_seconds"] for r in rows], "o-", label="bit-packed (uint64)")
    ax.loglog(ds, [r["unpacked_seconds"] for r in rows], "s--", label="unpacked reference")
    ax.set_xlabel("d  (m = d + 10)")
    ax.set_ylabel("fit + predict 1000 points [s]")
    ax.set_title("GF(2) Gaussian elimination on CPU")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(RESULTS / "gauss.png", dpi=120)
    print(f"wrote {RESULTS / 'gauss.json'} and {RESULTS / 'gauss.png'}")


if __name__ == "__main__":
    main()
