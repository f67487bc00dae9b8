"""Why the flood-fill tables do not close: 3x3 neighbourhoods that a trained
finite-state filter meets on fresh grids but that the table read at extraction never
saw (seeds 1 and 2 of bench_rules.py, the ones that trained). The same inputs as
bench_rules drew for extraction (sizes 5, 10, 16, 32, 64 and every 3 x 3 grid), then
fresh grids at 64 x 64 and 128 x 128. Writes flood_unseen.json.

    python bench/bench_flood_unseen.py [--no-progress]
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from _common import TRACKED, Progress, bench_parser, write_json

SEEDS = (1, 2)
FRESH = ((64, 200), (128, 20))  # (size, grids)


def parse_args(argv=None) -> argparse.Namespace:
    parser = bench_parser(__doc__)
    parser.epilog = (
        "No options but --no-progress: it reads the flood-fill filters of\n"
        "bench/results/rules/ and takes about 5 minutes on 2 CPU cores."
    )
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()
    with Progress("bench_flood_unseen", len(SEEDS) * len(FRESH), not args.no_progress) as bar:
        bar.stage("importing torch")
        run(bar)


def run(bar) -> None:
    import torch

    from turing_rcnn import AlgorithmLearner
    from turing_rcnn.trainable.extract import input_vectors, neighbourhood_keys
    from turing_rcnn.trainable.verify import exhaustive

    torch.set_num_threads(1)
    rows = []
    for seed in SEEDS:
        bar.stage(f"seed {seed}: the neighbourhoods met at extraction")
        model = AlgorithmLearner.load(str(TRACKED / "rules" / f"flood-fill-{seed}-k2.pt"))
        model.progress = False
        rng = np.random.default_rng(1000 + seed)  # as bench_rules drew them
        model.task_.sample(200, 10, rng)
        xs = [model.task_.sample(200, s, rng)[0] for s in (5, 10, 16, 32, 64)]
        xs += [model.task_.check_inputs(b[1])[0] for b in exhaustive(model.task_)]
        inputs = input_vectors(xs)
        seen = neighbourhood_keys(model, xs, inputs)
        fresh = np.random.default_rng(7)
        for size, count in FRESH:
            bar.stage(f"seed {seed}: {count} fresh {size} x {size} grids")
            met = neighbourhood_keys(model, [model.task_.sample(count, size, fresh)[0]], inputs)
            rows.append(
                {
                    "seed": seed,
                    "size": size,
                    "grids": count,
                    "seen_at_extraction": int(len(seen)),
                    "met": int(len(met)),
                    "unseen": int(len(np.setdiff1d(met, seen))),
                }
            )
            print(json.dumps(rows[-1]), flush=True)
            bar.advance()
    write_json("flood_unseen.json", {"rows": rows})


if __name__ == "__main__":
    main()
