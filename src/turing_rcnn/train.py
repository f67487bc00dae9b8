"""Algorithm 1 (SGD on the RCNN, updating only W) and the RCNNLearner estimator.

Algorithm 1: append the dummy example (all ones, +1); start from W = 0; take one
plain SGD step per example, in order, on (y - f(z))^2 / 2 with torch autograd
through all L layers, the filter and head frozen. With the compiled Theorem 1 frame
and learning rate 1/3, Lemma 1 says that after step i row a of W is
(1/3) y_a [x_a, 1] for a <= i and 0 below, that the output is 0 throughout, and that
afterwards f([x; 1]) = A(S)(x). algorithm1() checks the first two with `==` after
every step; RCNNLearner.predict relies on the third (tests hold it to A's reference).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from .compile import CompiledProgram, compile_program
from .frame import build_frame, layers_needed
from .model import RCNN, augment
from .programs.learning import LearnerProgram, get_learner
from .validation import check_dataset, check_labels, check_pm1_matrix

LEARNING_RATE = 1.0 / 3.0


@dataclass
class MemorisationReport:
    """What Algorithm 1 did: per step, the output and whether W matched Lemma 1."""

    outputs: list[float]
    formula_held: list[bool]

    @property
    def exact(self) -> bool:
        """W matched (1/3) y_a [x_a, 1] (rows <= i) and 0 (rows > i) after every step,
        with every output exactly 0."""
        return all(self.formula_held) and all(o == 0.0 for o in self.outputs)


def lemma1_memory(X: np.ndarray, y: np.ndarray, steps: int, dtype: torch.dtype) -> torch.Tensor:
    """Lemma 1.1: W after `steps` SGD steps (dummy example included as row m)."""
    z, labels = _with_dummy(X, y, dtype)
    rows = torch.zeros_like(z)
    third = torch.tensor(LEARNING_RATE, dtype=dtype)
    rows[:steps] = third * labels[:steps, None] * z[:steps]
    return rows


def algorithm1(net: RCNN, X: np.ndarray, y: np.ndarray, lr: float = LEARNING_RATE,
               progress: bool = False, distinct: bool = False) -> MemorisationReport:  # fmt: skip
    """Run Algorithm 1 on a network whose filter and head are frozen; W starts at 0
    (`distinct`: evaluate the filter once per distinct patch, RCNN.step_distinct)."""
    dtype = net.memory.dtype
    if any(p.requires_grad for p in net.shared_parameters()):
        raise ValueError("freeze the shared filter and head first (RCNN.freeze_shared)")
    z, labels = _with_dummy(X, y, dtype)
    with torch.no_grad():
        net.memory.zero_()
    optimiser = torch.optim.SGD([net.memory], lr=lr)
    report = MemorisationReport([], [])
    final = lemma1_memory(X, y, len(z), dtype)  # rows after the last step; row i is due at step i
    for i in tqdm(range(len(z)), desc="Algorithm 1 (SGD steps)", disable=not progress,
                  leave=False):  # fmt: skip
        optimiser.zero_grad()
        out = net(z[i : i + 1], distinct=distinct)[0]
        loss = 0.5 * (labels[i] - out) ** 2
        loss.backward()
        optimiser.step()
        report.outputs.append(out.item())
        memory = net.memory.detach()
        held = torch.equal(memory[: i + 1], final[: i + 1]) and not memory[i + 1 :].any()
        report.formula_held.append(bool(held))
    return report


def _with_dummy(X, y, dtype) -> tuple[torch.Tensor, torch.Tensor]:
    X = np.concatenate([np.asarray(X), np.ones((1, np.shape(X)[1]))])
    y = np.concatenate([np.asarray(y), [1]])
    return augment(torch.as_tensor(X, dtype=dtype)), torch.as_tensor(y, dtype=dtype)


class RCNNLearner:
    """The paper's learner: an RCNN whose filter runs a learner program inside the
    Theorem 1 frame, trained by Algorithm 1.

    learner: a name from programs.learning.LEARNERS or a LearnerProgram.
    d, m: optional; if given, fit() insists on them.
    distinct: evaluate the filter once per distinct 3x3 patch (RCNN.step_distinct),
        forward and backward; equal (==) to the dense convolution on compiled programs
        (tests), and many times faster because their grids repeat a few codes.
    checkpoint_every: for the dense convolution (distinct=False), recompute
        activations in blocks of this many layers during Algorithm 1's backward
        passes; None picks ceil(sqrt(L)) for deep networks (L > 64), so stored
        activations grow like sqrt(L) instead of L.
    """

    def __init__(self, learner: str | LearnerProgram = "first-label", d: int | None = None,
                 m: int | None = None, dtype: torch.dtype = torch.float32,
                 distinct: bool = True, checkpoint_every: int | None = None,
                 batch_size: int = 256, progress: bool = False):  # fmt: skip
        self.learner = get_learner(learner) if isinstance(learner, str) else learner
        self.d, self.m, self.dtype, self.distinct = d, m, dtype, distinct
        self.checkpoint_every, self.batch_size, self.progress = (
            checkpoint_every,
            batch_size,
            progress,
        )
        self.compiled: CompiledProgram = compile_program(build_frame(self.learner), dtype)

    def fit(self, X, y) -> RCNNLearner:
        X, y = check_dataset(X, y)
        m, d = X.shape
        for name, want, got in (("d", self.d, d), ("m", self.m, m)):
            if want is not None and want != got:
                raise ValueError(f"this RCNNLearner was built for {name} = {want}, got {got}")
        self.layers_ = layers_needed(self.learner, m, d)
        every = self.checkpoint_every
        if every is None:
            every = 0 if self.layers_ <= 64 else int(np.ceil(np.sqrt(self.layers_)))
        self.net_ = self.compiled.network(
            layers=self.layers_, dtype=self.dtype, d=d, m=m,
            work_columns=self.learner.work_columns, checkpoint_every=every,
        )  # fmt: skip
        start = time.perf_counter()
        self.memorisation_ = algorithm1(
            self.net_, X, y, progress=self.progress, distinct=self.distinct
        )
        self.fit_seconds_ = time.perf_counter() - start
        self.d_, self.m_ = d, m
        return self

    @property
    def memorisation_exact_(self) -> bool:
        return self.memorisation_.exact

    @torch.no_grad()
    def decision_function(self, X) -> np.ndarray:
        """The network's raw outputs f([x; 1]) (exactly +-1 when the learner answered)."""
        if not hasattr(self, "net_"):
            raise RuntimeError("RCNNLearner is not fitted; call fit(X, y) first")
        X = check_pm1_matrix(X, d=self.d_)
        outs = []
        for i in tqdm(range(0, len(X), self.batch_size), desc="predict", leave=False,
                      disable=not self.progress):  # fmt: skip
            z = augment(torch.as_tensor(X[i : i + self.batch_size], dtype=self.dtype))
            outs.append(self.net_(z, distinct=self.distinct).cpu().numpy())
        return np.concatenate(outs) if outs else np.zeros(0)

    def predict(self, X) -> np.ndarray:
        """+-1 predictions; raises if the network did not answer exactly +-1."""
        out = self.decision_function(X)
        if not np.isin(out, (-1.0, 1.0)).all():
            bad = out[~np.isin(out, (-1.0, 1.0))][0]
            raise RuntimeError(
                f"the network output {bad!r} instead of +-1: the learner did not answer "
                f"within {self.layers_} layers"
            )
        return out.astype(np.int8)

    def score(self, X, y) -> float:
        """Accuracy on (X, y)."""
        pred = self.predict(X)
        return float(np.mean(pred == check_labels(y, len(pred))))

    def reference_predict(self, X_train, y_train, X_test) -> np.ndarray:
        """What the learner program's plain reference says: A(S)(x)."""
        return self.learner.reference(np.asarray(X_train), np.asarray(y_train), np.asarray(X_test))
