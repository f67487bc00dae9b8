"""The RCNN with a memory layer of Definition 5 (Goel, Kakade, Kalai, Zhang 2022).

    z = [x; 1]                                     (B, d+1)
    grid = W diag(z), then l columns of ones       (B, G, m+1, d+1+l)
    grid <- patch_net(pad_p(grid))   L times       one shared 3x3 filter
    out = sum over the grid of head(grid)          (B, G)

The patch net is a 3x3 convolution from one channel followed by 1x1 convolutions with
ReLU between them; the head is a pixel-wise 1 -> d_head -> 1 ReLU net. The same patch
net is used at every cell and every layer, so its parameter count depends on none of
d, m, l, L. Nothing in forward() is anything but this arithmetic.

G is the candidate dimension: G networks that share d, m, l, L and p, each with its
own filter, head and memory W, run side by side (Corollary 2 trains many random
candidates at once). Every layer is a batched matrix product over the candidates: the
3x3 convolution reads the 9 shifted copies of the padded grid (im2col), each 1x1
convolution is a product with the candidate's own matrix. A single network is G = 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint


@dataclass(frozen=True)
class RCNNConfig:
    """Sizes of an RCNN.

    d: input bits (the memory layer has d_in = d + 1 columns).
    m: training examples (the memory layer has d_mem = m + 1 rows; the last is the
       dummy example of Algorithm 1).
    work_columns: l, the columns of ones appended to the grid as work space.
    layers: L, how many times the shared patch net is applied.
    hidden: widths of the patch net's hidden layers; the first is the 3x3
       convolution's output width, the rest are 1x1 convolutions.
    head_hidden: d_head, the hidden width of the pixel-wise head.
    padding: p, the constant value the convolution sees beyond the border.
    checkpoint_every: recompute activations in blocks of this many layers during
       backward (0 = store everything); bounds memory for deep networks.
    candidates: G, networks evaluated side by side (see the module docstring).
    """

    d: int
    m: int
    work_columns: int = 0
    layers: int = 1
    hidden: tuple[int, ...] = (16, 16)
    head_hidden: int = 100
    padding: float = 0.0
    checkpoint_every: int = 0
    candidates: int = 1

    def __post_init__(self) -> None:
        for name in ("d", "m", "layers", "head_hidden", "candidates"):
            if getattr(self, name) < 1:
                raise ValueError(f"RCNNConfig.{name} must be >= 1, got {getattr(self, name)}")
        for name in ("work_columns", "checkpoint_every"):
            if getattr(self, name) < 0:
                raise ValueError(f"RCNNConfig.{name} must be >= 0, got {getattr(self, name)}")
        if len(self.hidden) < 1 or any(int(h) < 1 for h in self.hidden):
            raise ValueError(f"RCNNConfig.hidden needs >= 1 positive widths, got {self.hidden}")
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))

    @property
    def grid_shape(self) -> tuple[int, int]:
        """(rows, columns) of the grid the body runs on: (m + 1, d + 1 + l)."""
        return self.m + 1, self.d + 1 + self.work_columns


@dataclass
class SharedWeights:
    """The shared filter and head of one network as plain numpy arrays, in matrix form.

    body: [(weight (out, in), bias (out,))] for each layer of the patch net; the
        first layer's inputs are the 3x3 patch flattened row-major (9 inputs: index
        3 * (dr + 1) + (dc + 1) holds the cell at row offset dr, column offset dc).
    head: [(weight (d_head, 1), bias (d_head,)), (weight (1, d_head), bias (1,))].
    """

    body: list[tuple[np.ndarray, np.ndarray]]
    head: list[tuple[np.ndarray, np.ndarray]]

    @property
    def hidden(self) -> tuple[int, ...]:
        return tuple(w.shape[0] for w, _ in self.body[:-1])

    @property
    def head_hidden(self) -> int:
        return self.head[0][0].shape[0]

    @property
    def parameter_count(self) -> int:
        return sum(w.size + b.size for w, b in self.body + self.head)

    def values(self) -> np.ndarray:
        """The sorted distinct values of every weight and bias (the set U)."""
        flat = [a.ravel() for pair in self.body + self.head for a in pair]
        return np.unique(np.concatenate(flat))


class PixelNet(nn.Module):
    """G stacks of dense layers applied at every cell, ReLU between layers.

    x (G, in, N) -> (G, out, N): column n is one cell's input vector (the 9 values
    of its 3x3 patch for the patch net, its own value for the head). Layer i holds
    weight (G, out, in) and bias (G, out): the candidate's own matrices, so this IS
    a 3x3 convolution followed by 1x1 convolutions when fed im2col columns.
    """

    def __init__(self, widths: tuple[int, ...], candidates: int):
        super().__init__()
        pairs = list(zip(widths[:-1], widths[1:], strict=True))
        self.weights = nn.ParameterList(
            nn.Parameter(torch.empty(candidates, o, i)) for i, o in pairs
        )
        self.biases = nn.ParameterList(nn.Parameter(torch.empty(candidates, o)) for _, o in pairs)
        with torch.no_grad():  # torch's default for convolutions: uniform(+-1/sqrt(fan_in))
            for w, b in zip(self.weights, self.biases, strict=True):
                bound = 1 / math.sqrt(w.shape[2])
                w.uniform_(-bound, bound)
                b.uniform_(-bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            if i:
                x = torch.relu(x)
            x = torch.baddbmm(b[:, :, None], w, x)
        return x

    def layers(self, g: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Candidate g's (weight (out, in), bias (out,)) per layer."""
        return [(w[g], b[g]) for w, b in zip(self.weights, self.biases, strict=True)]


_SHIFTS = [(r, c) for r in range(3) for c in range(3)]  # row-major, as SharedWeights.body


class RCNN(nn.Module):
    """Recurrent convolutional network with a memory layer (Definition 5)."""

    def __init__(self, config: RCNNConfig):
        super().__init__()
        self.config = config
        G = config.candidates
        self.memory = nn.Parameter(torch.zeros(G, config.m + 1, config.d + 1))  # W
        self.patch_net = PixelNet((9, *config.hidden, 1), G)
        self.head = PixelNet((1, config.head_hidden, 1), G)

    # ---- the pieces of forward ---------------------------------------------------
    def grid(self, z: torch.Tensor) -> torch.Tensor:
        """W diag(z) with l columns of ones appended: (B, d+1) -> (B, G, m+1, d+1+l)."""
        self._check_input(z)
        g = self.memory[None] * z[:, None, None, :]
        ones = g.new_ones(*g.shape[:3], self.config.work_columns)
        return torch.cat([g, ones], dim=3)

    def step(self, grid: torch.Tensor) -> torch.Tensor:
        """One application of the shared patch net to every cell: (B, G, H, W) -> same."""
        B, G, H, W = grid.shape
        padded = F.pad(grid, (1, 1, 1, 1), mode="constant", value=self.config.padding)
        padded = padded.transpose(0, 1)  # (G, B, H+2, W+2): im2col columns per candidate
        patches = torch.stack([padded[:, :, r : r + H, c : c + W] for r, c in _SHIFTS], dim=1)
        columns = patches.reshape(G, 9, B * H * W)
        return self.patch_net(columns).reshape(G, B, H, W).transpose(0, 1)

    def step_distinct(self, grid: torch.Tensor) -> torch.Tensor:
        """The same step, with the patch net evaluated once per DISTINCT 3x3 patch and
        the answer copied to every cell with that patch.

        A compiled program's cells hold a few code values, so a batch of grids has far
        fewer distinct patches than cells (57x fewer for Gaussian elimination at d = 12
        over 100 test points): a step costs the patches it meets, not the cells. The
        backward pass is exact too: each output depends on its own patch only, so the
        gradient of the patch net at each distinct patch (9 numbers) is all it needs.
        Gradients reach the grid (and so W), not the shared weights."""
        if torch.is_grad_enabled() and any(p.requires_grad for p in self.patch_net.parameters()):
            raise RuntimeError("step_distinct gives no gradients to the filter; freeze it first")
        parts = [_DistinctStep.apply(grid[:, g], self, g) for g in range(grid.shape[1])]
        return torch.stack(parts, dim=1)

    def run_body(
        self, grid: torch.Tensor, layers: int | None = None, distinct: bool = False
    ) -> torch.Tensor:
        """Apply the shared patch net `layers` times (default L) to a (B, G, H, W) grid
        (`distinct`: evaluate it once per distinct patch, see step_distinct)."""
        if grid.dim() != 4 or grid.shape[1] != self.config.candidates:
            raise ValueError(
                f"run_body expects a (batch, candidates = {self.config.candidates}, rows, "
                f"cols) grid, got {tuple(grid.shape)}"
            )
        layers = self.config.layers if layers is None else layers
        if layers < 0:
            raise ValueError(f"layers must be >= 0, got {layers}")
        step = self.step_distinct if distinct else self.step
        block = self.config.checkpoint_every
        if block and not distinct and torch.is_grad_enabled():
            done = 0
            while done < layers:
                n = min(block, layers - done)
                grid = checkpoint(self._steps, grid, n, step, use_reentrant=False)
                done += n
            return grid
        return self._steps(grid, layers, step)

    @staticmethod
    def _steps(grid: torch.Tensor, n: int, step) -> torch.Tensor:
        for _ in range(n):
            grid = step(grid)
        return grid

    def readout(self, grid: torch.Tensor) -> torch.Tensor:
        """The pixel-wise head summed over the grid: (B, G, H, W) -> (B, G)."""
        B, G, H, W = grid.shape
        cells = grid.transpose(0, 1).reshape(G, 1, B * H * W)
        return self.head(cells).reshape(G, B, H * W).sum(dim=2).T

    def forward(self, z: torch.Tensor, distinct: bool = False) -> torch.Tensor:
        """z = [x; 1] of shape (B, d+1) -> outputs of shape (B, G)."""
        return self.readout(self.run_body(self.grid(z), distinct=distinct))

    # ---- the shared weights ---------------------------------------------------------
    def shared_parameters(self) -> list[nn.Parameter]:
        """The patch nets' and heads' parameters (everything except W)."""
        return list(self.patch_net.parameters()) + list(self.head.parameters())

    def shared_parameter_count(self) -> int:
        """Shared parameters of ONE candidate (zero-padded widths included)."""
        return sum(p[0].numel() for p in self.shared_parameters())

    def freeze_shared(self) -> RCNN:
        """Stop gradients to the filter and head, so that only W trains (Algorithm 1)."""
        for p in self.shared_parameters():
            p.requires_grad_(False)
        return self

    def export_shared(self, candidate: int = 0) -> SharedWeights:
        """One candidate's filter and head as numpy arrays in matrix form."""

        def arrays(net: PixelNet) -> list[tuple[np.ndarray, np.ndarray]]:
            return [
                (w.detach().cpu().numpy().copy(), b.detach().cpu().numpy().copy())
                for w, b in net.layers(candidate)
            ]

        return SharedWeights(body=arrays(self.patch_net), head=arrays(self.head))

    @torch.no_grad()
    def load_shared(self, weights: SharedWeights | list[SharedWeights]) -> RCNN:
        """Load each candidate's filter and head (one SharedWeights per candidate).

        A network narrower than this one's config is padded with zero units (ReLU(0)
        = 0 with zero outgoing weights: the same function), so candidates of different
        widths share one RCNN; wider or deeper weights are refused."""
        weights = [weights] if isinstance(weights, SharedWeights) else list(weights)
        if len(weights) != self.config.candidates:
            raise ValueError(
                f"{len(weights)} sets of weights for {self.config.candidates} candidates"
            )
        for one in weights:  # check every candidate before writing any
            self._load_layers(self.patch_net, one.body, None, "body")
            self._load_layers(self.head, one.head, None, "head")
        for g, one in enumerate(weights):
            self._load_layers(self.patch_net, one.body, g, "body")
            self._load_layers(self.head, one.head, g, "head")
        return self

    @staticmethod
    def _load_layers(net: PixelNet, pairs, g: int | None, part: str) -> None:
        """Write candidate g's layers (g None: only check that they fit)."""
        if len(pairs) != len(net.weights):
            raise ValueError(
                f"{part}: network has {len(net.weights)} layers, weights have {len(pairs)}"
            )
        fan_in = net.weights[0].shape[2]
        for i, ((w, b), W, B) in enumerate(zip(pairs, net.weights, net.biases, strict=True)):
            w, b = np.asarray(w), np.asarray(b)
            fits = w.ndim == 2 and w.shape[1] == fan_in and w.shape[0] <= W.shape[1]
            if not fits or b.shape != (w.shape[0],):
                raise ValueError(
                    f"{part} layer {i}: expected weight (<= {W.shape[1]}, {fan_in}) and a bias "
                    f"to match, got {w.shape} and {b.shape}"
                )
            fan_in = w.shape[0]
            if g is None:
                continue
            W[g].zero_()
            B[g].zero_()
            W[g, : w.shape[0], : w.shape[1]] = torch.as_tensor(w, dtype=W.dtype)
            B[g, : w.shape[0]] = torch.as_tensor(b, dtype=B.dtype)

    def _check_input(self, z: torch.Tensor) -> None:
        want = self.config.d + 1
        if z.dim() != 2 or z.shape[1] != want:
            raise ValueError(
                f"input must have shape (batch, d+1) = (batch, {want}) for d = {self.config.d}, "
                f"got {tuple(z.shape)}"
            )
        if z.dtype != self.memory.dtype:
            raise ValueError(
                f"input dtype {z.dtype} differs from the network's {self.memory.dtype}"
            )


def _distinct_patches(padded: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, H+2, W+2) padded grids -> (distinct 3x3 patches (U, 9), inverse (B*H*W,)):
    cell n's patch is distinct[inverse[n]]; each patch is read off one cell that has it."""
    batch, rows, cols = padded.shape[0], padded.shape[1] - 2, padded.shape[2] - 2
    values, codes = torch.unique(padded, return_inverse=True)
    if len(values) ** 9 < 2**63:  # one int64 key per patch
        key = torch.zeros(batch, rows, cols, dtype=torch.int64, device=padded.device)
        for r, c in _SHIFTS:
            key = key * len(values) + codes[:, r : r + rows, c : c + cols]
        found, inverse = torch.unique(key.flatten(), return_inverse=True)
    else:
        patches = torch.stack([padded[:, r : r + rows, c : c + cols] for r, c in _SHIFTS], -1)
        found, inverse = torch.unique(patches.reshape(-1, 9), dim=0, return_inverse=True)
    first = inverse.new_empty(len(found))
    first.scatter_(0, inverse, torch.arange(inverse.numel(), device=inverse.device))
    b, i, j = torch.unravel_index(first, (batch, rows, cols))
    return torch.stack([padded[b, i + r, j + c] for r, c in _SHIFTS], 1), inverse


def _patch_net_on_patches(layers, patches: torch.Tensor, jacobian: bool):
    """One candidate's patch net on (U, 9) flattened patches as matrix products, and
    optionally its gradient with respect to each patch (U, 9), by the chain rule
    through the ReLUs."""
    hidden, masks = patches, []
    for weight, bias in layers[:-1]:
        pre = F.linear(hidden, weight, bias)
        masks.append(pre > 0)
        hidden = torch.relu(pre)
    out = F.linear(hidden, *layers[-1])[:, 0]
    if not jacobian:
        return out, None
    grad = layers[-1][0].expand(len(patches), -1)
    for (weight, _), mask in zip(reversed(layers[:-1]), reversed(masks), strict=True):
        grad = (grad * mask) @ weight
    return out, grad


class _DistinctStep(torch.autograd.Function):
    """RCNN.step of candidate g evaluated per distinct patch; backward from the
    per-patch gradients."""

    @staticmethod
    def forward(ctx, grid: torch.Tensor, net: RCNN, g: int) -> torch.Tensor:
        padded = F.pad(grid, (1, 1, 1, 1), mode="constant", value=net.config.padding)
        distinct, inverse = _distinct_patches(padded)
        layers = net.patch_net.layers(g)
        out, jacobian = _patch_net_on_patches(layers, distinct, ctx.needs_input_grad[0])
        if jacobian is not None:
            ctx.save_for_backward(jacobian, inverse)
        return out[inverse].reshape(grid.shape)

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):
        jacobian, inverse = ctx.saved_tensors
        batch, rows, cols = grad_out.shape
        per_cell = grad_out[..., None] * jacobian[inverse].reshape(batch, rows, cols, 9)
        grad = grad_out.new_zeros(batch, rows + 2, cols + 2)
        for k, (r, c) in enumerate(_SHIFTS):
            grad[:, r : r + rows, c : c + cols] += per_cell[..., k]
        return grad[:, 1:-1, 1:-1], None, None


def augment(x: torch.Tensor) -> torch.Tensor:
    """[x; 1]: append the constant-1 feature to a (B, d) batch."""
    return torch.cat([x, x.new_ones(x.shape[0], 1)], dim=1)
