"""Many candidate RCNNs on the same data in one pass (grouped convolutions).

G candidates with the same body depth become one network: the grid gets a channel
per candidate; the 3x3 convolution (on stacked shifted copies) and every 1x1 layer are
batched matrix products over the G candidates (grouped convolutions in matrix form,
~100x faster than torch's grouped conv at these shapes on CPU); hidden layers are
padded with zero units to the widest candidate (a zero unit is ReLU(0) = 0 with zero
outgoing weights, so it changes nothing). Each candidate keeps its own memory W;
Algorithm 1 sums the G squared losses, so each W gets exactly its own gradient.
With compiled (exact) filters the outputs equal one RCNN per candidate bit for bit;
tests check that with `==`.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .model import SharedWeights, augment
from .train import LEARNING_RATE, _with_dummy


def _stack(mats: list[np.ndarray], rows: int, cols: int) -> torch.Tensor:
    """(G, rows, cols) with each matrix in its top-left corner, zeros elsewhere."""
    out = torch.zeros(len(mats), rows, cols, dtype=torch.float64)
    for g, m in enumerate(mats):
        m = np.asarray(m, dtype=np.float64).reshape(m.shape[0], -1)
        out[g, : m.shape[0], : m.shape[1]] = torch.as_tensor(m)
    return out


class BatchedRCNN:
    """G RCNNs (d, m, l, L and padding p shared) evaluated together."""

    def __init__(self, weights: list[SharedWeights], d: int, m: int, work_columns: int,
                 layers: int, padding: float = -1.0, dtype=torch.float32):  # fmt: skip
        depths = {len(w.body) for w in weights}
        if len(depths) != 1:
            raise ValueError(f"candidates in one batch need the same body depth, got {depths}")
        self.G, self.d, self.m = len(weights), d, m
        self.work_columns, self.layers, self.padding, self.dtype = (
            work_columns,
            layers,
            padding,
            dtype,
        )
        self.body = self._layers([w.body for w in weights])
        self.head = self._layers([w.head for w in weights])
        self.memory = torch.zeros(self.G, m + 1, d + 1, dtype=dtype, requires_grad=True)

    def _layers(self, per_candidate: list[list[tuple]]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        out, fan_in = [], None
        for i in range(len(per_candidate[0])):
            ws = [c[i][0] for c in per_candidate]
            bs = [np.asarray(c[i][1])[:, None] for c in per_candidate]
            rows = max(w.shape[0] for w in ws)
            cols = max(w.shape[1] for w in ws) if fan_in is None else fan_in
            weight = _stack(ws, rows, cols).to(self.dtype)  # (G, rows, cols)
            bias = _stack(bs, rows, 1).to(self.dtype)[:, :, 0]
            out.append((weight, bias))
            fan_in = rows
        return out

    @staticmethod
    def _apply(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """(B, G, cols, N) -> (B, G, rows, N) with each candidate's own matrix."""
        return torch.matmul(weight, x) + bias[:, :, None]

    def grid(self, z: torch.Tensor) -> torch.Tensor:
        """(B, d+1) -> (B, G, m+1, d+1+l)."""
        g = self.memory[None] * z[:, None, None, :]
        ones = g.new_ones(*g.shape[:3], self.work_columns)
        return torch.cat([g, ones], dim=3)

    def step(self, grid: torch.Tensor) -> torch.Tensor:
        B, G, H, W = grid.shape
        padded = F.pad(grid, (1, 1, 1, 1), value=self.padding)
        shifts = [padded[:, :, r : r + H, c : c + W] for r in range(3) for c in range(3)]
        x = torch.stack(shifts, dim=2).reshape(B, G, 9, H * W)  # row-major 3x3 patches
        for i, (w, b) in enumerate(self.body):
            x = self._apply(x if i == 0 else F.relu(x), w, b)
        return x.reshape(B, G, H, W)

    def readout(self, grid: torch.Tensor) -> torch.Tensor:
        (w1, b1), (w2, b2) = self.head
        B, G, H, W = grid.shape
        h = F.relu(self._apply(grid.reshape(B, G, 1, H * W), w1, b1))
        return self._apply(h, w2, b2).sum(dim=(2, 3))  # (B, G)

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        grid = self.grid(z)
        for _ in range(self.layers):
            grid = self.step(grid)
        return self.readout(grid)

    def algorithm1(self, X: np.ndarray, y: np.ndarray, lr: float = LEARNING_RATE) -> torch.Tensor:
        """Algorithm 1 for every candidate at once; returns the (m+1, G) outputs seen."""
        z, labels = _with_dummy(X, y, self.dtype)
        with torch.no_grad():
            self.memory.zero_()
        outs = []
        for i in range(len(z)):
            out = self(z[i : i + 1])[0]
            loss = (0.5 * (labels[i] - out) ** 2).sum()
            (grad,) = torch.autograd.grad(loss, self.memory)
            with torch.no_grad():
                self.memory.add_(grad, alpha=-lr)  # what torch.optim.SGD does
            outs.append(out.detach())
        return torch.stack(outs)

    @torch.no_grad()
    def decision_function(self, X: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """(N, G) raw outputs."""
        parts = []
        for i in range(0, len(X), batch_size):
            z = augment(torch.as_tensor(np.asarray(X[i : i + batch_size]), dtype=self.dtype))
            parts.append(self(z).numpy())
        return np.concatenate(parts)


def sign(out: np.ndarray) -> np.ndarray:
    """The classifier a raw output gives: +1 for out >= 0, else -1."""
    return np.where(out >= 0, 1, -1).astype(np.int8)
