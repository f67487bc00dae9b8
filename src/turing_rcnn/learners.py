"""Reference learners with the estimator API (fit / predict / score).

GaussianElimination is the efficient learner the RCNN must match prediction for
prediction; SGDMLP is the ordinary SGD-trained network that struggles on parities.
Data are +-1 arrays (bit 1 <-> -1); score() is accuracy, as in scikit-learn.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .gf2 import GaussianElimination, gauss_reference, pack_bits  # noqa: F401
from .validation import check_dataset, check_labels, check_pm1_matrix


class SGDMLP:
    """One-hidden-layer ReLU network trained by minibatch SGD on the hinge loss.

    Defaults follow the sparse-parity literature (e.g. Barak et al. 2022): width
    1000, learning rate 0.1, batch 32, weight decay 0.01, hinge loss. `steps` is the
    budget of SGD steps. fit(X, y) draws minibatches from a fixed training set;
    fit_online(draw) takes fresh samples every step.
    """

    def __init__(
        self,
        hidden: int = 1000,
        lr: float = 0.1,
        batch_size: int = 32,
        weight_decay: float = 0.01,
        steps: int = 10_000,
        seed: int = 0,
        progress: bool = False,
    ):
        if min(hidden, batch_size, steps) < 1 or lr <= 0 or weight_decay < 0:
            raise ValueError("hidden, batch_size, steps and lr must be positive")
        self.hidden, self.lr, self.batch_size = hidden, lr, batch_size
        self.weight_decay, self.steps, self.seed, self.progress = (
            weight_decay,
            steps,
            seed,
            progress,
        )

    def fit(self, X, y) -> SGDMLP:
        X, y = check_dataset(X, y)
        rng = np.random.default_rng(self.seed)

        def draw(n: int, _rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
            idx = rng.integers(0, len(X), size=n)
            return X[idx], y[idx]

        return self._train(X.shape[1], draw)

    def fit_online(
        self, draw: Callable[[int, np.random.Generator], tuple[np.ndarray, np.ndarray]], d: int
    ) -> SGDMLP:
        """Train on fresh samples: draw(n, rng) returns n new (X, y) each step."""
        return self._train(d, draw)

    def _train(self, d: int, draw) -> SGDMLP:
        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed + 1)
        self.d_ = d
        self.net_ = nn.Sequential(nn.Linear(d, self.hidden), nn.ReLU(), nn.Linear(self.hidden, 1))
        opt = torch.optim.SGD(self.net_.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        self.samples_seen_ = 0
        for _ in tqdm(range(self.steps), desc="SGD-MLP", disable=not self.progress, leave=False):
            Xb, yb = draw(self.batch_size, rng)
            Xb = check_pm1_matrix(Xb, d=d)
            out = self.net_(torch.as_tensor(Xb, dtype=torch.float32)).squeeze(1)
            loss = torch.relu(1 - torch.as_tensor(yb, dtype=torch.float32) * out).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            self.samples_seen_ += len(Xb)
        return self

    @torch.no_grad()
    def decision_function(self, X) -> np.ndarray:
        if not hasattr(self, "net_"):
            raise RuntimeError("SGDMLP is not fitted; call fit(X, y) first")
        X = check_pm1_matrix(X, d=self.d_)
        return self.net_(torch.as_tensor(X, dtype=torch.float32)).squeeze(1).numpy()

    def predict(self, X) -> np.ndarray:
        """+-1 predictions (sign of the output, 0 -> +1)."""
        return np.where(self.decision_function(X) < 0, -1, 1).astype(np.int8)

    def score(self, X, y) -> float:
        """Accuracy on (X, y)."""
        return _accuracy(self.predict(X), y)


def _accuracy(pred: np.ndarray, y) -> float:
    return float(np.mean(pred == check_labels(y, len(pred))))
