"""Turing-optimal search: what random restarts can and cannot find, and how fast.

1. Exact log10-probabilities that each initialiser draws each shipped learner.
2. Exhaustive counting vs measurement: the answer-rule prior on 'last-bit' problems;
   exact fraction of the family with zero validation error vs the measured rate per
   restart (Wilson 95% interval), over several seeds.
3. A demonstration: the search, given only data, picks a program; its test error
   beside both constant predictors; the program printed.
4. Section 5: one filter chosen on a family of constant-label problems, reused
   unchanged on new ones. The Turing prior (2 states) on the same data, for contrast.
5. Throughput: candidates per second vs grid size, batched vs one at a time, and
   in-process vs a process pool vs Ray with 2 workers (same run).
CPU. Writes search.json and search.png.

    python bench/bench_search.py [--restarts 1000] [--quick]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import RESULTS, Progress, bench_parser, pyplot, write_json

# matplotlib, torch and turing_rcnn load after the arguments


def probabilities() -> list[dict]:
    from turing_rcnn.programs.learning import LEARNERS
    from turing_rcnn.search import log10_paper, log10_program

    rows = []
    for name in LEARNERS:
        a, b = log10_paper(name), log10_program(name)
        rows.append(
            {
                "learner": name,
                "paper": a,
                "program": b,
                "restarts_needed_paper": f"10^{-a['log10_p']:.0f}",
                "restarts_needed_program": f"10^{-b['log10_p']:.1f}",
            }
        )
        print(f"{name}: (a) log10 p = {a['log10_p']:.0f}, (b) log10 p = {b['log10_p']:.1f}")
    return rows


def counting(restarts: int, seeds: list[int], bar) -> list[dict]:
    from turing_rcnn.search import (
        AnswerRulePrior,
        SearchConfig,
        exact_fraction,
        predict_with,
        search,
        wilson_interval,
    )
    from turing_rcnn.tasks import search_problem

    rows = []
    for seed in seeds:
        bar.stage(f"2. counting vs measurement, seed {seed}")
        X, y, X_val, y_val, X_test, y_test = search_problem("last-bit", 3, 5, 8, 1000, seed)
        exact = float(exact_fraction(AnswerRulePrior(), X, y, X_val, y_val))
        cfg = SearchConfig(restarts=restarts, seed=seed)
        result = search(cfg, [(X, y, X_val, y_val)], progress=False)
        wins = int((result.errors[:, 0] == 0).sum())
        lo, hi = wilson_interval(wins, restarts)
        pred = predict_with(cfg, result.best, X, y, X_test)
        rows.append(
            {
                "seed": seed,
                "exact_fraction": exact,
                "restarts": restarts,
                "successes": wins,
                "measured_rate": wins / restarts,
                "wilson95": [lo, hi],
                "inside": bool(lo <= exact <= hi),
                "program": result.programs[result.best],
                "test_error": float(np.mean(pred != y_test)),
                "constant_plus_error": float(np.mean(y_test != 1)),
                "constant_minus_error": float(np.mean(y_test != -1)),
                "candidates_per_second": restarts / result.seconds,
            }
        )
        print(
            f"seed {seed}: exact {exact:.4f}, measured {wins}/{restarts} CI [{lo:.4f}, {hi:.4f}]"
            f" -> {rows[-1]['program']} test error {rows[-1]['test_error']}"
        )
        bar.advance()
    return rows


def section5(restarts: int) -> dict:
    from turing_rcnn.search import SearchConfig, reuse, search
    from turing_rcnn.tasks import search_problem

    family = [search_problem("constant", 3, 5, 8, 10, s)[:4] for s in range(6)]
    new = [search_problem("constant", 3, 5, 8, 10, s)[:4] for s in range(100, 120)]
    out = reuse(SearchConfig(restarts=restarts), family, new, progress=False)
    out["new_signs"] = [int(p[1][0]) for p in new]
    out["constant_plus_error_on_new"] = float(np.mean([p[3][0] != 1 for p in new]))
    X, y, X_val, y_val, *_ = search_problem("last-bit", 3, 5, 8, 10, 0)
    turing = search(
        SearchConfig(init="turing", size=2, restarts=restarts // 4, time=8),
        [(X, y, X_val, y_val)],
        progress=False,
    )
    out["turing_prior_last_bit"] = {
        "restarts": restarts // 4,
        "zero_val_error": int((turing.errors[:, 0] == 0).sum()),
        "best_val_error": float(turing.errors.min()),
        "program": turing.programs[turing.best],
    }
    print("section 5:", out["program"], out["new_error_mean"], out["turing_prior_last_bit"])
    return out


def throughput(sizes: list[int], n: int, bar) -> list[dict]:
    from turing_rcnn.search import SearchConfig, evaluate, search
    from turing_rcnn.tasks import search_problem

    rows = []
    for size in sizes:
        bar.stage(f"5. throughput, d = m = {size}")
        X, y, X_val, y_val, *_ = search_problem("last-bit", size, size, 16, 10, 0)
        problem = [(X, y, X_val, y_val)]
        for init in ("answer-rule", "paper"):
            cfg = SearchConfig(init=init, size=4, hidden=(64, 64), restarts=n, batch=32)
            start = time.perf_counter()
            for i in range(n):
                evaluate(cfg, [i], problem)
            single = n / (time.perf_counter() - start)
            row = {"d": size, "m": size, "init": init, "one_at_a_time": single}
            for backend in ("inprocess", "process", "ray"):
                result = search(cfg, problem, backend=backend, workers=2, progress=False)
                row[f"batched_{backend}"] = n / result.seconds
            rows.append(row)
            print(row, flush=True)
        bar.advance()
    import ray

    ray.shutdown()
    return rows


def plot(rows: list[dict], path) -> None:
    plt = pyplot()

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    for ax, init in zip(axes, ("answer-rule", "paper"), strict=True):
        sub = [r for r in rows if r["init"] == init]
        for key in ("one_at_a_time", "batched_inprocess", "batched_process", "batched_ray"):
            ax.plot([r["d"] for r in sub], [r[key] for r in sub], marker="o", label=key)
        ax.set(
            xlabel="d = m (grid (m+1) x (d+2))",
            ylabel="candidates / s",
            yscale="log",
            title=f"{init} candidates",
        )
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def parse_args(argv=None) -> argparse.Namespace:
    parser = bench_parser(__doc__)
    parser.add_argument("--restarts", type=int, default=1000)  # the tables on the search page
    parser.add_argument("--quick", action="store_true")
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()
    restarts = 128 if args.quick else args.restarts
    seeds, sizes = ([0], [3]) if args.quick else ([0, 1, 2], [3, 6, 12])
    total = 2 + len(seeds) + len(sizes)  # 1., 2. per seed, 4., 5. per size
    with Progress("bench_search", total, not args.no_progress) as bar:
        bar.stage("1. probabilities of the shipped learners")
        payload = {"probabilities": probabilities()}
        bar.advance()
        payload["counting"] = counting(restarts, seeds, bar)
        bar.stage("4. section 5: one filter reused")
        payload["section5"] = section5(restarts // 4)
        bar.advance()
        payload["throughput"] = throughput(sizes, 32 if args.quick else 64, bar)
        name = "search_quick" if args.quick else "search"
        path = write_json(f"{name}.json", payload)
        plot(payload["throughput"], RESULTS / f"{name}.png")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
