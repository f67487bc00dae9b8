"""A trainable RCNN that learns an algorithm by gradient descent (beyond the paper).

Same structure as the paper's body: ONE small patch net (a 3x3 convolution, a ReLU,
a 1x1 convolution) applied at every cell and every iteration, here with a few state
channels instead of one, the input recalled at every iteration (Bansal et al. 2022)
and a 1x1 readout. The state is bounded by tanh and starts at 0. The filter is
trained by Adam (cosine learning-rate decay over max_steps) on the progressive loss
of Bansal et al.: run n iterations without gradient (n uniform below the task's
budget), then k more with gradient, mixed with the loss after the full budget with
gradient throughout. The part without gradient makes the rule work from any state it
reaches itself, so it keeps improving, then stays put, however long it runs: it can
run more iterations on longer inputs than any seen in training. k is uniform in
1..budget-n when the task allows stopping early (prefix parity: a cell the running
parity has not reached yet must say "don't know", which is what makes the wave), and
k = budget - n otherwise (flood fill: a run stopped before the front arrives has no
right answer for far cells, and those targets slowed learning in our trials).

`AlgorithmLearner` is the estimator: fit() draws its own data from the task; predict
/ score take inputs of any size and run task.iterations(size) steps by default
(training runs task.train_iterations(train_size), which may be tighter).
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .algotasks import get_algo_task


class RecurrentFilter(nn.Module):
    """state' = tanh(mix(relu(conv3x3([state; input])))); logits = out(state).

    The 3x3 convolution over [state; input] is kept as two convolutions whose sum it
    is: the input's part is the same at every iteration, so it is computed once per run.
    """

    def __init__(self, in_channels: int, width: int, hidden: int):
        super().__init__()
        self.width = width
        self.state_conv = nn.Conv2d(width, hidden, 3, padding=1, bias=False)
        self.input_conv = nn.Conv2d(in_channels, hidden, 3, padding=1)
        self.mix = nn.Conv2d(hidden, width, 1)
        self.out = nn.Conv2d(width, 1, 1)

    @property
    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def initial_state(self, x: torch.Tensor) -> torch.Tensor:
        return x.new_zeros(x.shape[0], self.width, x.shape[2], x.shape[3])

    @staticmethod
    def _conv(z: torch.Tensor, conv: nn.Conv2d) -> torch.Tensor:
        if z.shape[2] == 1:  # a 1-row grid: the zero-padded 3x3 conv only sees its middle row
            out = F.conv1d(z[:, :, 0], conv.weight[:, :, 1], conv.bias, padding=1)
            return out[:, :, None]
        return conv(z)

    def recall(self, x: torch.Tensor) -> torch.Tensor:
        """The input's contribution to the hidden layer (the same at every iteration)."""
        return self._conv(x, self.input_conv)

    def step(self, state: torch.Tensor, recalled: torch.Tensor) -> torch.Tensor:
        hidden = F.relu(self._conv(state, self.state_conv) + recalled)
        return torch.tanh(self.mix(hidden))

    def run(self, x: torch.Tensor, iterations: int, state: torch.Tensor | None = None):
        """The state after `iterations` steps from `state` (default: zeros)."""
        state = self.initial_state(x) if state is None else state
        recalled = self.recall(x)
        for _ in range(iterations):
            state = self.step(state, recalled)
        return state

    def forward(self, x: torch.Tensor, iterations: int) -> torch.Tensor:
        return self.out(self.run(x, iterations))


@dataclass
class AlgoConfig:
    """What to train and how. Defaults train prefix parity on 32 bits in minutes."""

    task: str = "prefix-parity"
    train_size: int = 32
    width: int = 8  # state channels per cell
    hidden: int = 16  # hidden units of the patch net
    batch_size: int = 64
    lr: float = 1e-3
    alpha: float = 0.5  # weight of the progressive loss (1 - alpha: full-budget loss)
    max_steps: int = 20000
    max_minutes: float = 10.0
    eval_every: int = 200
    patience: int = 5  # stop after this many perfect validation checks in a row
    val_size: int = 500
    seed: int = 0

    def __post_init__(self) -> None:
        get_algo_task(self.task).check_size(self.train_size)
        for name in ("width", "hidden", "batch_size", "max_steps", "eval_every", "patience"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")


@dataclass
class History:
    step: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)  # at the training size
    val_accuracy_long: list[float] = field(default_factory=list)  # at twice the training size


class AlgorithmLearner:
    """Train a RecurrentFilter on a generated task; predict on inputs of any size."""

    def __init__(self, config: AlgoConfig | None = None, progress: bool = True, **overrides):
        self.config = config or AlgoConfig(**overrides)
        if config is not None and overrides:
            raise ValueError("pass either a config or keyword overrides, not both")
        self.task = get_algo_task(self.config.task)
        self.progress = progress
        torch.manual_seed(self.config.seed)
        self.net_ = RecurrentFilter(self.task.in_channels, self.config.width, self.config.hidden)
        self.history_ = History()
        self.steps_ = 0
        self.train_seconds_ = 0.0

    def fit(self, checkpoint: str | None = None) -> AlgorithmLearner:
        """Adam on the progressive loss until `patience` perfect validations in a row
        (whole-grid accuracy on val_size fresh inputs of the training size and val_size/5
        of twice that size), or the step or time budget; keeps the weights that did best
        on validation (training can fall off a good solution at a high learning rate)."""
        cfg, net = self.config, self.net_
        rng = np.random.default_rng(cfg.seed)
        x_val, y_val = self.task.sample(cfg.val_size, cfg.train_size, rng)
        x_long, y_long = self.task.sample(cfg.val_size // 5, 2 * cfg.train_size, rng)
        budget = self.task.train_iterations(cfg.train_size)
        opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
        decay = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.max_steps)
        perfect, best, start = 0, (-1.0, None), time.perf_counter()
        bar = tqdm(total=cfg.max_steps, desc=f"train {cfg.task}", disable=not self.progress)
        for step in range(1, cfg.max_steps + 1):
            x, y = self.task.sample(cfg.batch_size, cfg.train_size, rng)
            n = int(rng.integers(0, budget))
            k = int(rng.integers(1, budget - n + 1)) if self.task.stop_early else budget - n
            with torch.no_grad():
                state = net.run(x, n)
            progressive = F.binary_cross_entropy_with_logits(net.out(net.run(x, k, state)), y)
            full = F.binary_cross_entropy_with_logits(net(x, budget), y)
            loss = cfg.alpha * progressive + (1 - cfg.alpha) * full
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            decay.step()
            bar.update(1)
            minutes = (time.perf_counter() - start) / 60
            last = step == cfg.max_steps or minutes >= cfg.max_minutes
            if step % cfg.eval_every == 0 or last:
                accuracy = self.score(x_val, y_val)
                longer = self.score(x_long, y_long)
                perfect = perfect + 1 if accuracy == longer == 1.0 else 0
                if accuracy + longer >= best[0]:  # ties: the later weights
                    best = (accuracy + longer, copy.deepcopy(net.state_dict()))
                h = self.history_
                h.step.append(self.steps_ + step)
                h.seconds.append(self.train_seconds_ + time.perf_counter() - start)
                h.loss.append(loss.item())
                h.val_accuracy.append(accuracy)
                h.val_accuracy_long.append(longer)
                bar.set_postfix(loss=f"{loss.item():.4f}", val=f"{accuracy:.3f}/{longer:.3f}")
                if checkpoint:
                    self.save(checkpoint)
                if perfect >= cfg.patience or last:
                    break
        bar.close()
        net.load_state_dict(best[1])
        self.steps_ += step
        self.train_seconds_ += time.perf_counter() - start
        if checkpoint:
            self.save(checkpoint)
        return self

    def _check(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        x = torch.as_tensor(x, dtype=torch.float32)
        if x.ndim != 4 or x.shape[1] != self.task.in_channels:
            raise ValueError(
                f"inputs must have shape (B, {self.task.in_channels}, H, W), got {tuple(x.shape)}"
            )
        if y is not None and tuple(y.shape) != (x.shape[0], 1, *x.shape[2:]):
            raise ValueError(f"targets must have shape {(x.shape[0], 1, *x.shape[2:])}, got "
                             f"{tuple(y.shape)}")  # fmt: skip
        return x

    def iterations_for(self, x: torch.Tensor) -> int:
        return self.task.iterations(max(x.shape[2], x.shape[3]))

    @torch.no_grad()
    def predict(self, x, iterations: int | None = None, batch_size: int = 256) -> torch.Tensor:
        """{0, 1} predictions (B, 1, H, W) after `iterations` (default: the task's budget)."""
        x = self._check(x)
        iterations = self.iterations_for(x) if iterations is None else iterations
        parts = [(self.net_(x[i : i + batch_size], iterations) > 0).float()
                 for i in range(0, x.shape[0], batch_size)]  # fmt: skip
        return torch.cat(parts)

    def score(self, x, y, iterations: int | None = None) -> float:
        """Whole-grid accuracy: the fraction of inputs with every cell right."""
        x = self._check(x, y)
        right = (self.predict(x, iterations) == y).flatten(1).all(1)
        return float(right.float().mean())

    def save(self, path: str) -> None:
        torch.save({"config": asdict(self.config), "state_dict": self.net_.state_dict(),
                    "history": asdict(self.history_), "steps": self.steps_,
                    "train_seconds": self.train_seconds_}, path)  # fmt: skip

    @classmethod
    def load(cls, path: str, progress: bool = True) -> AlgorithmLearner:
        blob = torch.load(path, weights_only=True)
        learner = cls(AlgoConfig(**blob["config"]), progress=progress)
        learner.net_.load_state_dict(blob["state_dict"])
        learner.history_ = History(**blob["history"])
        learner.steps_, learner.train_seconds_ = blob["steps"], blob["train_seconds"]
        return learner

    def plot(self, path: str) -> str:
        """Loss and validation accuracy against training time, as a PNG."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        h = self.history_
        fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.2))
        a.semilogy(h.step, h.loss)
        a.set(xlabel="step", ylabel="training loss")
        b.plot(h.step, h.val_accuracy)
        b.set(xlabel="step", ylabel=f"whole-grid accuracy, size {self.config.train_size}",
              ylim=(-0.02, 1.02))  # fmt: skip
        fig.suptitle(f"{self.config.task}: {self.net_.parameter_count} shared parameters")
        fig.tight_layout()
        fig.savefig(path, dpi=120)
        plt.close(fig)
        return path

    def summary(self) -> dict:
        return {"task": self.config.task, "parameters": self.net_.parameter_count,
                "train_size": self.config.train_size, "steps": self.steps_,
                "train_seconds": round(self.train_seconds_, 1),
                "train_iterations": self.task.train_iterations(self.config.train_size)}  # fmt: skip
