"""Algorithm 1 (SGD on the RCNN, updating only W) and RCNNLearner, the paper's learner.

Algorithm 1: append the dummy example (all ones, +1); start from W = 0; take one
plain SGD step per example, in order, on (y - f(z))^2 / 2 with torch autograd
through all L layers, the filter and head frozen. With the compiled Theorem 1 frame
and learning rate 1/3, Lemma 1 says that after step i row a of W is
(1/3) y_a [x_a, 1] for a <= i and 0 below, that the output is 0 throughout, and that
afterwards f([x; 1]) = A(S)(x). algorithm1() checks the first two with `==` after
every step; RCNNLearner.predict relies on the third (tests hold it to A's reference).

An RCNN with G candidates runs Algorithm 1 for all of them at once: the loss is the
sum of the G squared losses, so each candidate's W gets exactly its own gradient.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from . import guard
from .checks import check_dataset, check_pm1_matrix
from .compile import CompiledProgram, compile_program
from .frame import build_frame, check_size
from .model import EVALUATIONS, RCNN, augment
from .programs.learning import LearnerProgram, get_learner
from .progress import bar
from .validation import PM1Classifier

LEARNING_RATE = 1.0 / 3.0
DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclass
class MemorisationReport:
    """What Algorithm 1 did, per SGD step and candidate: the output (steps, G) and
    whether W matched Lemma 1 (steps, G)."""

    outputs: np.ndarray
    formula_held: np.ndarray

    @property
    def exact(self) -> bool:
        """W matched (1/3) y_a [x_a, 1] (rows <= i) and 0 (rows > i) after every step,
        with every output exactly 0, for every candidate."""
        return bool(self.formula_held.all() and (self.outputs == 0).all())


def with_dummy(X, y, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """([x; 1] for each example and the dummy (all ones), labels with the dummy's +1)."""
    X = np.concatenate([np.asarray(X), np.ones((1, np.shape(X)[1]))])
    y = np.concatenate([np.asarray(y), [1]])
    return augment(torch.as_tensor(X, dtype=dtype)), torch.as_tensor(y, dtype=dtype)


def lemma1_memory(X: np.ndarray, y: np.ndarray, steps: int, dtype: torch.dtype) -> torch.Tensor:
    """Lemma 1.1: W (m+1, d+1) after `steps` SGD steps (dummy example included as row m)."""
    return _lemma1_rows(*with_dummy(X, y, dtype), steps)


def _lemma1_rows(z: torch.Tensor, labels: torch.Tensor, steps: int) -> torch.Tensor:
    rows = torch.zeros_like(z)
    third = torch.tensor(LEARNING_RATE, dtype=z.dtype)
    rows[:steps] = third * labels[:steps, None] * z[:steps]
    return rows


def algorithm1(
    net: RCNN,
    X: np.ndarray,
    y: np.ndarray,
    lr: float = LEARNING_RATE,
    progress: bool = False,
    evaluation: str = "dense",
    check: int = 0,
) -> MemorisationReport:
    """Run Algorithm 1 on a network whose filter and head are frozen; W starts at 0
    (evaluation, check: how the body is evaluated, see RCNN.run_body)."""
    dtype = net.memory.dtype
    if any(p.requires_grad for p in net.shared_parameters()):
        raise ValueError("freeze the shared filter and head first (RCNN.freeze_shared)")
    z, labels = with_dummy(X, y, dtype)
    z, labels = z.to(net.memory.device), labels.to(net.memory.device)
    with torch.no_grad():
        net.memory.zero_()
    optimiser = torch.optim.SGD([net.memory], lr=lr)
    final = _lemma1_rows(z, labels, len(z))  # rows after the last step; row i is due at step i
    outputs, held = [], []
    steps = bar("Algorithm 1 (SGD steps)", iterable=range(len(z)), enabled=progress, leave=False)
    for i in steps:
        optimiser.zero_grad()
        out = net(z[i : i + 1], evaluation=evaluation, check=check)[0]  # (G,)
        loss = (0.5 * (labels[i] - out) ** 2).sum()
        loss.backward()
        optimiser.step()
        memory = net.memory.detach()
        written = (memory[:, : i + 1] == final[: i + 1]).flatten(1).all(1)
        outputs.append(out.detach())
        held.append(written & ~memory[:, i + 1 :].flatten(1).any(1))
    return MemorisationReport(torch.stack(outputs).cpu().numpy(), torch.stack(held).cpu().numpy())


@torch.no_grad()
def network_outputs(
    net: RCNN,
    X,
    batch_size: int = 256,
    evaluation: str = "dense",
    check: int = 0,
    progress: bool = False,
) -> np.ndarray:
    """The raw outputs f([x; 1]) of every candidate, (N, G), in batches of inputs."""
    X = np.asarray(X)
    dtype = torch.empty(0, dtype=net.memory.dtype).numpy().dtype
    parts = [np.zeros((0, net.config.candidates), dtype)]
    batches = range(0, len(X), batch_size)
    for i in bar("predict", iterable=batches, enabled=progress, unit="batch", leave=False):
        z = augment(torch.as_tensor(X[i : i + batch_size], dtype=net.memory.dtype))
        z = z.to(net.memory.device)
        parts.append(net(z, evaluation=evaluation, check=check).cpu().numpy())
    return np.concatenate(parts)


@lru_cache(maxsize=16)
def compiled_frame(learner: str, dtype: str = "float32") -> CompiledProgram:
    """The Theorem 1 frame around a shipped learner, compiled (cached: it is pure)."""
    return compile_program(build_frame(get_learner(learner)), DTYPES[dtype])


class RCNNLearner(PM1Classifier):
    """The paper's learner: an RCNN whose filter runs a learner program inside the
    Theorem 1 frame, trained by Algorithm 1.

    learner: a name from programs.learning.LEARNERS or a LearnerProgram; the default,
        gauss (GF(2) elimination), is the one that learns parities.
    d, m: optional; if given, fit() insists on them.
    dtype: 'float32' or 'float64' (both exact for the shipped learners).
    evaluation: 'changes' (default: only the cells whose patch changed, shared across
        the test points, each distinct patch through the filter once; changes.py) or
        'dense' (every cell at every layer, the reference); equal (==) on compiled
        programs, forward and backward (tests).
    check: with 'changes', recompute this many random layers of every pass with the
        dense convolution and compare with == (a RuntimeError if they differ).
    checkpoint_every: for 'dense', recompute activations in blocks of this many layers
        during Algorithm 1's backward passes; None picks ceil(sqrt(L)) for deep networks
        (L > 64), so stored activations grow like sqrt(L) instead of L.
    batch_size: test points per forward pass in predict (None: 1024 for 'changes', whose
        cost per batch is mostly shared work, and 64 for 'dense').
    device: where the network runs ('cpu', 'cuda', ...); the arithmetic is the same.

    Fitted attributes: compiled_ (the filter and head), layers_ (L), net_ (the RCNN),
    memorisation_ (Algorithm 1's report), memorisation_exact_, classes_, n_features_in_.
    """

    def __init__(
        self,
        learner: str | LearnerProgram = "gauss",
        d: int | None = None,
        m: int | None = None,
        dtype: str = "float32",
        evaluation: str = "changes",
        check: int = 0,
        checkpoint_every: int | None = None,
        batch_size: int | None = None,
        device: str = "cpu",
        progress: bool = False,
    ):
        self.learner = learner
        self.d = d
        self.m = m
        self.dtype = dtype
        self.evaluation = evaluation
        self.check = check
        self.checkpoint_every = checkpoint_every
        self.batch_size = batch_size
        self.device = device
        self.progress = progress

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # It learns what its learner program learns (a parity, a label rule), not any
        # classification problem: scikit-learn's training-score check does not apply.
        tags.classifier_tags.poor_score = True
        return tags

    def learner_program(self) -> LearnerProgram:
        """The learner program (resolved from its name)."""
        return get_learner(self.learner) if isinstance(self.learner, str) else self.learner

    def fit(self, X, y) -> RCNNLearner:
        X, y = self._fit_data(X, y)
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {sorted(DTYPES)}, got {self.dtype!r}")
        if self.evaluation not in EVALUATIONS:
            raise ValueError(f"evaluation must be one of {EVALUATIONS}, got {self.evaluation!r}")
        guard.check_device(self.device)
        m, d = X.shape
        for name, want, got in (("d", self.d, d), ("m", self.m, m)):
            if want is not None and want != got:
                raise ValueError(f"this RCNNLearner was built for {name} = {want}, got {got}")
        learner = self.learner_program()
        _, layers = check_size(learner, m, d, self._batch(), self.evaluation == "dense")
        if isinstance(self.learner, str):
            self.compiled_ = compiled_frame(self.learner, self.dtype)
        else:
            self.compiled_ = compile_program(build_frame(learner), DTYPES[self.dtype])
        self.layers_ = layers
        every = self.checkpoint_every
        if every is None:
            every = 0 if self.layers_ <= 64 else int(np.ceil(np.sqrt(self.layers_)))
        self.net_ = self.compiled_.network(
            layers=self.layers_,
            dtype=DTYPES[self.dtype],
            d=d,
            m=m,
            work_columns=learner.work_columns,
            checkpoint_every=every,
        ).to(self.device)
        self.memorisation_ = algorithm1(
            self.net_, X, y, progress=self.progress, evaluation=self.evaluation, check=self.check
        )
        self.memorisation_exact_ = self.memorisation_.exact
        return self._fitted()

    def _batch(self) -> int:
        if self.batch_size is None:
            return 1024 if self.evaluation == "changes" else 64
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, (int, np.integer)):
            raise ValueError(
                f"batch_size must be a positive integer or None, got {self.batch_size!r}"
            )
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        return int(self.batch_size)

    def _raw(self, X) -> np.ndarray:
        X = self._test_data(X)
        outputs = network_outputs(
            self.net_, X, self._batch(), self.evaluation, self.check, self.progress
        )
        return outputs[:, 0]

    def decision_function(self, X) -> np.ndarray:
        """The network's outputs f([x; 1]) (exactly +-1 when the learner answered),
        oriented so that > 0 means classes_[1] (the raw outputs for +-1 labels)."""
        return self._oriented(self._raw(X))

    def predict(self, X) -> np.ndarray:
        """The learner's answers as labels in classes_; raises if the network did not
        answer exactly +-1."""
        out = self._raw(X)
        answered = np.isin(out, (-1.0, 1.0))
        if not answered.all():
            raise RuntimeError(
                f"the network output {out[~answered][0]!r} instead of +-1: the learner did "
                f"not answer within {self.layers_} layers"
            )
        return self._to_classes(out)

    def reference_predict(self, X_train, y_train, X_test) -> np.ndarray:
        """What the learner program's plain reference says, A(S)(x), on +-1 data."""
        X_train, y_train = check_dataset(X_train, y_train)
        X_test = check_pm1_matrix(X_test, "X_test", d=X_train.shape[1])
        reference = self.learner_program().reference
        step = max(1000, -(-len(X_test) // 100))  # at most 100 chunks: a bar with an ETA
        parts = [np.zeros(0, dtype=np.int8)]
        with bar("reference", len(X_test), self.progress, unit="point", leave=False) as line:
            for i in range(0, len(X_test), step):  # A(S)(x) is one x at a time
                parts.append(reference(X_train, y_train, X_test[i : i + step]))
                line.update(len(parts[-1]))
        return np.concatenate(parts)
