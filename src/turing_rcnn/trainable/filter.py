"""The trainable filter: ONE small patch net with a few state channels, applied at every
cell and every iteration, the input recalled at every iteration (Bansal et al. 2022).

Same structure as the paper's body (a 3x3 convolution, a ReLU, a 1x1 convolution,
shared across cells and iterations), with `width` state channels instead of one and a
1x1 readout. The state is bounded by tanh and starts at 0.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


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
