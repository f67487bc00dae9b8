"""The ordinary SGD-trained network that struggles on parities (the paper's foil)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from ..checks import check_labels, check_pm1_matrix
from ..progress import bar
from ..validation import PM1Classifier


class SGDMLP(PM1Classifier):
    """One-hidden-layer ReLU network trained by minibatch SGD on the hinge loss.

    Defaults follow the sparse-parity literature (e.g. Barak et al. 2022): width
    1000, learning rate 0.1, batch 32, weight decay 0.01, hinge loss. `steps` is the
    budget of SGD steps. fit(X, y) draws minibatches from a fixed training set;
    fit_online(draw, d) takes fresh samples every step. `seed` fixes the
    initialisation and the minibatches (torch's global generator is left alone).
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
        self.hidden = hidden
        self.lr = lr
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.steps = steps
        self.seed = seed
        self.progress = progress

    def fit(self, X, y) -> SGDMLP:
        X, y = self._fit_data(X, y)
        rng = np.random.default_rng(self.seed)

        def draw(n: int, _rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
            idx = rng.integers(0, len(X), size=n)
            return X[idx], y[idx]

        return self._train(X.shape[1], draw)

    def fit_online(
        self, draw: Callable[[int, np.random.Generator], tuple[np.ndarray, np.ndarray]], d: int
    ) -> SGDMLP:
        """Train on fresh samples: draw(n, rng) returns n new (X, y) with +-1 labels."""
        self._fit_data(np.ones((1, d), np.int8), np.ones(1, np.int8))  # forget; classes_ [-1, 1]
        return self._train(d, draw)

    def _train(self, d: int, draw) -> SGDMLP:
        if min(self.hidden, self.batch_size, self.steps) < 1 or self.lr <= 0:
            raise ValueError("hidden, batch_size, steps and lr must be positive")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay}")
        rng = np.random.default_rng(self.seed + 1)
        with torch.random.fork_rng():
            torch.manual_seed(self.seed)
            net = nn.Sequential(nn.Linear(d, self.hidden), nn.ReLU(), nn.Linear(self.hidden, 1))
        opt = torch.optim.SGD(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        self.samples_seen_ = 0
        for _ in bar("SGD-MLP", iterable=range(self.steps), enabled=self.progress, leave=False):
            Xb, yb = draw(self.batch_size, rng)
            Xb = check_pm1_matrix(Xb, d=d)
            yb = check_labels(yb, len(Xb))
            out = net(torch.as_tensor(Xb, dtype=torch.float32)).squeeze(1)
            loss = torch.relu(1 - torch.as_tensor(yb, dtype=torch.float32) * out).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            self.samples_seen_ += len(Xb)
        self.net_ = net
        return self._fitted()

    @torch.no_grad()
    def _raw(self, X) -> np.ndarray:
        X = self._test_data(X)
        return self.net_(torch.as_tensor(X, dtype=torch.float32)).squeeze(1).numpy()

    def decision_function(self, X) -> np.ndarray:
        """The network's output, oriented so that > 0 means classes_[1]."""
        return self._oriented(self._raw(X))

    def predict(self, X) -> np.ndarray:
        """The sign of the output (0 -> +1), as labels in classes_."""
        return self._to_classes(np.where(self._raw(X) < 0, -1, 1))
