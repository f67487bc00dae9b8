"""Self-distillation: a finite-state filter learns from a teacher that learned from the
answers alone (issue 28's allowed teacher), never from a hand-written rule.

The teacher is a trained filter whose own loss saw only the task's target (a
continuous `RecurrentFilter`, e.g. the shipped `maze`). Its per-cell states, clustered
by k-means into k symbols (the cluster of the all-zero start state is symbol 0, the
symbol every cell of a DiscreteFilter starts in), give a trace: every cell's symbol at
every iteration. A DiscreteFilter then trains on that trace with teacher forcing, as
it would on a hand-written rule's (`AlgoConfig.hints`), and its readout on the task's
target. Nothing here reads a hand-written rule: a teacher trained with hints, or by a
teacher that was, is refused.
"""

from __future__ import annotations

import numpy as np
import torch

TEACHER_SAMPLE = 20_000  # cell states k-means sees (drawn from a trajectory's)


def nearest(centroids: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Index of the nearest centroid (squared distance) of each point (N, w)."""
    return ((points[:, None, :] - centroids[None]) ** 2).sum(-1).argmin(1)


def kmeans(points: np.ndarray, k: int, rng: np.random.Generator, rounds: int = 30) -> np.ndarray:
    """k centroids (k, w) of points (N, w): k-means++ seeding, then Lloyd's rounds."""
    centroids = points[[rng.integers(len(points))]]
    while len(centroids) < k:
        d = ((points[:, None] - centroids[None]) ** 2).sum(-1).min(1)
        centroids = np.vstack([centroids, points[rng.choice(len(points), p=d / d.sum())]])
    for _ in range(rounds):
        label = nearest(centroids, points)
        centroids = np.stack(
            [points[label == j].mean(0) if (label == j).any() else centroids[j] for j in range(k)]
        )
    return centroids


@torch.no_grad()
def trajectory(net, x: torch.Tensor, steps: int) -> torch.Tensor:
    """A filter's states on x at iterations 0..steps: (steps + 1, B, width, H, W)."""
    state, recalled = net.initial_state(x), net.recall(x)
    states = [state]
    for _ in range(steps):
        state = net.step(state, recalled)
        states.append(state)
    return torch.stack(states)


def cell_points(states: torch.Tensor) -> np.ndarray:
    """Every cell's state of a trajectory as a row: (T + 1) B H W rows of width."""
    return states.permute(0, 1, 3, 4, 2).reshape(-1, states.shape[2]).numpy()


def cluster(states: torch.Tensor, k: int, start: np.ndarray, seed: int) -> np.ndarray:
    """k centroids (k, width) of a trajectory's cell states: k-means on up to
    TEACHER_SAMPLE of them drawn at random, and `start` (1, width), the state every cell
    starts from, so that it has a cluster of its own or shares a near one."""
    points = cell_points(states)
    rng = np.random.default_rng(seed)
    sample = points[rng.choice(len(points), size=min(len(points), TEACHER_SAMPLE), replace=False)]
    return kmeans(np.vstack([sample, start]), k, rng)


def symbols_of(centroids: np.ndarray, states: torch.Tensor) -> np.ndarray:
    """(T + 1, B, H, W): each cell's nearest centroid at each iteration."""
    shape = (states.shape[0], states.shape[1], *states.shape[3:])
    return nearest(centroids, cell_points(states)).reshape(shape)


def load_teacher(name: str, task: str):
    """The teacher filter (a shipped name or a model file), checked: same task, and its
    lineage free of hand-written traces (no --hints; its own teacher, if any, was
    checked when it trained)."""
    from .. import pretrained
    from .learner import AlgorithmLearner

    path = pretrained.resolve(name, "filter") if name in pretrained.names("filter") else name
    teacher = AlgorithmLearner.load(path, progress=False)
    cfg = teacher.config_
    if cfg.hints:
        raise ValueError(
            f"--teacher {name} was trained with --hints (a hand-written rule's trace); a "
            "teacher must have learned from the answers alone"
        )
    if cfg.task != task:
        raise ValueError(f"--teacher {name} learned {cfg.task}, not {task}")
    return teacher


class Teacher:
    """A teacher filter and its k symbols: `trace(x, steps)` is its run on x with each
    cell's state replaced by its symbol."""

    def __init__(self, learner, k: int, x: torch.Tensor, steps: int, seed: int):
        """Centroids from the teacher's runs on x (steps iterations), the start
        state's cluster first."""
        self.net = learner.net_
        states = trajectory(self.net, x, steps)
        start = states[0, :1, :, 0, 0].numpy()  # the start state (the same at every cell)
        centroids = cluster(states, k, start, seed)
        first = nearest(centroids, start)[0]
        self.centroids = centroids[[first] + [j for j in range(k) if j != first]]

    def trace(self, x: torch.Tensor, steps: int) -> np.ndarray:
        """(steps + 1, B, H, W) symbols: the teacher's run on x, clustered."""
        return symbols_of(self.centroids, trajectory(self.net, x, steps))
