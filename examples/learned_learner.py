"""A learner learned by SGD, run by the paper's RCNN: Theorem 1 with a learned program.

The package ships learners that SGD learned (`turing-rcnn meta-train`): a finite-state
filter trained on many small learning problems, its rule read off and verified
(docs/results/meta.md). Here:

1. load one by name (`majority`: trained on the trace of a hand-written majority wave;
   `last-label`; `first-label`) with `MetaRule.load` and turn it into a learner program;
2. put it into the Theorem 1 frame with `RCNNLearner(program)`: the frame and the
   learned rule are compiled into ONE 3x3 filter, and Algorithm 1 (one plain SGD step
   per example, only the memory layer W trained) memorises the training set;
3. check that the memorisation is exact (`memorisation_exact_`: W equals Lemma 1's
   (1/3) y_a [x_a, 1] after every step, the output exactly 0 while memorising);
4. predict, and compare with the reference learner (majority of the labels, ties ->
   +1; the last label; the first label) prediction for prediction with `==`, and with
   the hand-written learner the package compiles (`RCNNLearner("majority")`).

    python examples/learned_learner.py                      # majority, about 9 s on 2 cores
    python examples/learned_learner.py --learner last-label
    python examples/learned_learner.py --quick              # 2 small datasets, about 4 s
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from turing_rcnn import pretrained
from turing_rcnn.algorithm1 import RCNNLearner, lemma1_memory
from turing_rcnn.programs.learning import (
    first_label_reference,
    last_label_reference,
    majority_reference,
)
from turing_rcnn.trainable.meta import MetaRule

# What each shipped learner should compute: A(S)(x) on +-1 data (numpy, no network).
REFERENCES = {
    "majority": majority_reference,  # the majority label, ties -> +1
    "last-label": last_label_reference,
    "first-label": first_label_reference,
}


def datasets(m: int, d: int, count: int, n_test: int, rng: np.random.Generator):
    """`count` training sets of m random +-1 examples of d bits, with labels drawn
    with P(+1) = 0.2, 0.5, 0.8 in turn (the first one a tie: as many -1 as +1 labels,
    which majority sends to +1), each with n_test +-1 test points."""
    for k in range(count):
        X = np.where(rng.random((m, d)) < 0.5, -1, 1)
        if k == 0:
            y = rng.permutation(np.repeat([-1, 1], [m // 2, m - m // 2]))
        else:
            y = np.where(rng.random(m) < (0.2, 0.5, 0.8)[k % 3], 1, -1)
        yield X, y, np.where(rng.random((n_test, d)) < 0.5, -1, 1)


def main(quick: bool = False, learner: str = "majority", seed: int = 0) -> dict:
    torch.set_num_threads(1)  # the package's policy for small work
    start = time.perf_counter()
    meta = MetaRule.load(pretrained.resolve(learner, "learner"))  # a shipped name or a path
    program = meta.learner()  # the rule as a learner program (programs/learning.py contract)
    print(f"{program.name}: {program.description}")
    reference = REFERENCES[meta.family]
    rng = np.random.default_rng(seed)
    sizes = [(8, 4)] if quick else [(8, 4), (12, 4), (16, 8), (32, 8)]
    count = 2 if quick else 4
    runs = []
    for m, d in sizes:
        row = {"m": m, "d": d, "datasets": 0, "answers": {-1: 0, 1: 0}}
        row |= {"memorisation_exact": True, "equals_reference": True, "equals_hand_written": True}
        for X, y, X_test in datasets(m, d, count, 32 if quick else 64, rng):
            # Compile the frame around the learned rule, build the RCNN, run Algorithm 1.
            net = RCNNLearner(program).fit(X, y)
            # Algorithm 1 checked Lemma 1 with == after every step (memorisation_exact_);
            # here the final memory once more, against the formula (dummy example last).
            W = lemma1_memory(X, y, m + 1, net.net_.memory.dtype)
            exact = net.memorisation_exact_ and torch.equal(net.net_.memory.detach()[0], W)
            predicted = net.predict(X_test)
            # The hand-written learner of the same family, compiled by the package.
            hand = RCNNLearner(meta.family).fit(X, y).predict(X_test)
            row["datasets"] += 1
            row["memorisation_exact"] &= bool(exact)
            row["equals_reference"] &= bool((predicted == reference(X, y, X_test)).all())
            row["equals_hand_written"] &= bool((predicted == hand).all())
            for answer in (-1, 1):
                row["answers"][answer] += int((predicted == answer).sum())
        row["layers"] = int(net.layers_)
        runs.append(row)
        print(
            f"  m = {m:2d}, d = {d}: {row['datasets']} datasets, {row['layers']} layers, "
            f"memorisation exact: {row['memorisation_exact']}; answers {row['answers'][1]} x +1, "
            f"{row['answers'][-1]} x -1; == reference: {row['equals_reference']}, "
            f"== hand-written: {row['equals_hand_written']}"
        )
    seconds = round(time.perf_counter() - start, 1)
    print(f"done in {seconds} s")
    return {"learner": learner, "family": meta.family, "runs": runs, "seconds": seconds}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 small datasets (the test)")
    parser.add_argument("--learner", default="majority", help="a shipped learned learner")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    main(quick=args.quick, learner=args.learner, seed=args.seed)
