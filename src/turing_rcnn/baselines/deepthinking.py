"""The peer's recurrent network, DeepThinking-style (Bansal et al. 2022, "End-to-end
algorithm synthesis with recurrent networks"), written from the published description,
to train beside our filter with the same trainer (trainable.learner) on the same data.

A 3x3 projection of the input to `width` channels (then ReLU) is the first state; each
iteration recalls the input (concatenates it to the state) and applies a 3x3
convolution (width + in -> width) and two residual blocks of two 3x3 convolutions each
(a block: ReLU after its first convolution, its input added after its second, then
ReLU), every convolution without bias; the head is three 3x3 convolutions width -> 32
-> 8 -> 2 (the class logits). No normalisation. The peer's maze net has width 128
(about 0.78 M parameters);  here it runs on the task's grids (a maze's entry grid: one cell per
2 x 2 pixel block of the peer's image, the same information four times cheaper), so
its cost per cell is that of a width-w net on pixels.

It exposes the interface the trainer and the test-time loop use (run, step, recall,
initial_state, held, out, parameter_count), so `train-algo --net deepthinking`
trains it exactly as our filter is trained. `out` returns ONE logit, the difference
of the two class logits: the binary cross-entropy of that logit equals the peer's
two-class cross-entropy.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _conv(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, padding=1, bias=False)


class _Block(nn.Module):
    """relu(x + conv(relu(conv(x)))): the peer's basic residual block, no bias, no norm."""

    def __init__(self, width: int):
        super().__init__()
        self.first, self.second = _conv(width, width), _conv(width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.second(F.relu(self.first(x))))


class _Head(nn.Module):
    """width -> 32 -> 8 -> 2 (3x3 convolutions, ReLU between); one logit: class 1 - class 0."""

    def __init__(self, width: int):
        super().__init__()
        self.convs = nn.ModuleList([_conv(width, 32), _conv(32, 8), _conv(8, 2)])

    def forward(self, state: torch.Tensor) -> torch.Tensor:
        z = state
        for i, conv in enumerate(self.convs):
            z = conv(z) if i == 2 else F.relu(conv(z))
        return z[:, 1:2] - z[:, 0:1]


class DeepThinking(nn.Module):
    """state_0 = relu(project(x)); state' = blocks(recall([state; x])); logit = head(state)."""

    def __init__(self, in_channels: int, width: int):
        super().__init__()
        self.width = width
        self.project = _conv(in_channels, width)
        self.recall_conv = _conv(width + in_channels, width)
        self.blocks = nn.Sequential(_Block(width), _Block(width))
        self.out = _Head(width)

    @property
    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def initial_state(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.project(x))

    def recall(self, x: torch.Tensor) -> torch.Tensor:
        """What every iteration reads besides the state: the input itself."""
        return x

    def held(self, state: torch.Tensor) -> torch.Tensor:
        """A run has settled when its state stops changing, bit for bit."""
        return state

    def step(self, state: torch.Tensor, recalled: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.recall_conv(torch.cat([state, recalled], 1)))

    def run(self, x: torch.Tensor, iterations: int, state: torch.Tensor | None = None):
        """The state after `iterations` steps from `state` (default: the projection)."""
        state = self.initial_state(x) if state is None else state
        for _ in range(iterations):
            state = self.step(state, x)
        return state

    def forward(self, x: torch.Tensor, iterations: int) -> torch.Tensor:
        return self.out(self.run(x, iterations))
