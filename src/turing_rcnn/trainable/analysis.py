"""What did the trained filter learn? Three checks against exact rules.

- `compare_with_rule`: run the task's exact cellular rule, compiled into an exact
  filter by compile.py, beside the trained network; compare final answers and the
  iteration at which each cell settles on its final answer (the "wave").
- `quantise_weights`: round every trained weight to a multiple of 2^-bits and score.
- `extract_rule`: quantise the trained *state* instead: cluster cell states into k
  symbols, read the transition table (neighbourhood symbols and inputs -> next symbol)
  and the output of each symbol off training-size runs, then run that finite-state
  cellular automaton alone on larger inputs and check whether it is exact.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils.validation import check_is_fitted

from ..compile import compile_program
from ..progress import bar, heartbeat
from .distill import cluster, nearest, symbols_of, trajectory
from .learner import AlgorithmLearner


def settle_times(frames: np.ndarray, target: np.ndarray) -> np.ndarray:
    """frames (T, B, H, W) predictions after 1..T iterations -> per cell, the number of
    iterations after which it is right and stays right to T (T + 1: never settles)."""
    wrong = frames != target[None]
    last_wrong = np.where(wrong.any(0), wrong.shape[0] - np.argmax(wrong[::-1], axis=0), 0)
    return last_wrong + 1


def _trained_frames(
    learner: AlgorithmLearner, x: torch.Tensor, iterations: int, progress: bool = False
) -> np.ndarray:
    net, frames = learner.net_, []
    desc = f"compare: the trained filter ({len(x)} inputs)"
    with torch.no_grad():
        state, recalled = net.initial_state(x), net.recall(x)
        for _ in bar(desc, iterable=range(iterations), enabled=progress, unit="step"):
            state = net.step(state, recalled)
            frames.append((net.out(state) > 0)[:, 0].numpy())
    return np.stack(frames)


def _rule_frames(
    task, compiled, x: torch.Tensor, iterations: int, progress: bool = False
) -> np.ndarray:
    net = compiled.network(layers=1)
    values, frames = compiled.encode(task.to_symbols(x)), []
    desc = f"compare: the compiled exact rule ({len(x)} inputs)"
    with torch.no_grad():
        for _ in bar(desc, iterable=range(iterations), enabled=progress, unit="step"):
            values = net.run_body(values, layers=1)
            frames.append(task.from_symbols(compiled.decode(values[:, 0]))[:, 0] > 0)
    return np.stack(frames)


def _accuracy(task, x, y, final: np.ndarray) -> float:
    """The fraction of inputs the task counts right (on mazes with cycles any shortest
    path, not only the one in y)."""
    return float(np.mean(task.correct(x, y, final[:, None].astype(np.float32))))


def compare_with_rule(
    learner: AlgorithmLearner, x, y, iterations: int | None = None, progress: bool = False
) -> dict:
    """Trained network vs the compiled exact rule on the same inputs, iteration by
    iteration; `progress`: a bar for each on stderr."""
    check_is_fitted(learner)
    x, y = learner.task_.check_inputs(x, y)
    iterations = learner.iterations_for(x) if iterations is None else iterations
    target = y[:, 0].numpy() > 0
    start = time.perf_counter()
    trained = _trained_frames(learner, x, iterations, progress)
    net_seconds = time.perf_counter() - start
    compiled = compile_program(learner.task_.program())
    rule = _rule_frames(learner.task_, compiled, x, iterations, progress)
    rule_seconds = time.perf_counter() - start - net_seconds
    with heartbeat("compare: when each cell settles", progress):
        t_net, t_rule = settle_times(trained, target), settle_times(rule, target)
    settled = (t_net <= iterations) & (t_rule <= iterations)
    return {
        "iterations": iterations,
        "rule_parameters": compiled.parameter_count,
        "rule_accuracy": _accuracy(learner.task_, x, y, rule[-1]),
        "net_accuracy": _accuracy(learner.task_, x, y, trained[-1]),
        "final_agreement": float((trained[-1] == rule[-1]).mean()),
        "same_settle_time": float((t_net == t_rule)[settled].mean()),
        "mean_settle_lag": float((t_net - t_rule)[settled].mean()),
        "max_settle_lag": int((t_net - t_rule)[settled].max()),
        "net_seconds": round(net_seconds, 3),
        "rule_seconds": round(rule_seconds, 3),
    }


def quantise_weights(learner: AlgorithmLearner, bits: int) -> AlgorithmLearner:
    """A copy whose weights are rounded to multiples of 2^-bits."""
    if bits < 0:
        raise ValueError(f"bits must be >= 0, got {bits}")
    out = copy.deepcopy(learner)
    with torch.no_grad():
        for p in out.net_.parameters():
            p.copy_(torch.round(p * 2**bits) / 2**bits)
    return out


@dataclass
class ExtractedRule:
    """A finite-state cellular automaton read off a trained network.

    States are the k centroids; a cell's key is the (state, input code) of each cell of
    its neighbourhood: west-centre-east on a 1-row grid, the von Neumann cross on 2-D
    grids (cells beyond the grid have their own code)."""

    centroids: np.ndarray  # (k, width)
    keys: torch.Tensor  # sorted int64 keys
    next_state: torch.Tensor  # next symbol per key
    output: np.ndarray  # (k,) 0/1 answer per symbol
    conflicts: int  # keys seen with more than one next symbol in the training runs
    one_row: bool

    @property
    def k(self) -> int:
        return len(self.centroids)

    def run(self, x: torch.Tensor, iterations: int) -> tuple[np.ndarray, int]:
        """Answers (B, H, W) after `iterations`, and how many cell updates met an unseen key."""
        codes = _input_codes(x)
        start = nearest(self.centroids, np.zeros((1, self.centroids.shape[1])))[0]
        state = torch.full(codes.shape, int(start))
        unseen = 0
        for _ in range(iterations):
            key = _keys(state, codes, self.k, self.one_row)
            i = torch.searchsorted(self.keys, key).clamp(max=len(self.keys) - 1)
            found = self.keys[i] == key
            unseen += int((~found).sum())
            state = torch.where(found, self.next_state[i], state)
        return self.output[state.numpy()], unseen


def _input_codes(x: torch.Tensor) -> torch.Tensor:
    """Per cell a small integer from the discrete inputs (value sign, marker, ones)."""
    value = torch.sign(x[:, 0]).long() + 1
    return value + 3 * (x[:, 1] > 0).long() + 6 * (x[:, 2] > 0).long()


# Neighbourhood of a key, as (row, col) offsets into the grid padded by one cell: on a
# 1-row grid the cell and its west and east neighbours; on 2-D grids the cell and its
# four neighbours (a 3x3 key over k x 12 codes per cell is too sparse to tabulate: in
# our flood-fill trials 100x more updates met an unseen key).
_ROW_KEY = ((0, 0), (0, 1), (0, 2))
_CROSS_KEY = ((0, 1), (1, 0), (1, 1), (1, 2), (2, 1))


def _keys(state: torch.Tensor, codes: torch.Tensor, k: int, one_row: bool) -> torch.Tensor:
    """Mixed-radix key of each cell's neighbourhood of (symbol, input code) pairs."""
    base = 12 * k + 1
    cell = state * 12 + codes + 1  # 0 is "outside the grid"
    padded = F.pad(cell, (1, 1) if one_row else (1, 1, 1, 1))
    h, w = cell.shape[1], cell.shape[2]
    key = torch.zeros_like(state)
    for r, c in _ROW_KEY if one_row else _CROSS_KEY:
        key = key * base + padded[:, r : r + h, c : c + w]
    return key


def extract_rule(
    learner: AlgorithmLearner, x: torch.Tensor, k: int, seed: int = 0
) -> ExtractedRule:
    """Cluster the states of runs on x into k symbols and tabulate the transitions."""
    if not 2 <= k <= 10:
        raise ValueError(f"k must be in 2..10 (keys must fit int64), got {k}")
    check_is_fitted(learner)
    x, _ = learner.task_.check_inputs(x)
    net, iterations = learner.net_, learner.iterations_for(x)
    stack = trajectory(net, x, iterations)  # (T + 1, B, w, H, W)
    centroids = cluster(stack, k, np.zeros((1, net.width)), seed)
    symbols = torch.as_tensor(symbols_of(centroids, stack))
    one_row = x.shape[2] == 1
    codes = _input_codes(x)
    keys = torch.cat([_keys(symbols[t], codes, k, one_row).flatten() for t in range(iterations)])
    table_keys, inverse = np.unique(keys.numpy(), return_inverse=True)
    counts = np.zeros((len(table_keys), k), dtype=np.int64)
    np.add.at(counts, (inverse, symbols[1:].flatten().numpy()), 1)
    conflicts = int(((counts > 0).sum(1) > 1).sum())
    answers = net.out(torch.as_tensor(centroids, dtype=torch.float32)[:, :, None, None]) > 0
    output = answers.flatten().numpy().astype(np.float32)
    next_state = torch.as_tensor(counts.argmax(1))
    return ExtractedRule(
        centroids, torch.as_tensor(table_keys), next_state, output, conflicts, one_row
    )
