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
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from . import changes
from .progress import bar as progress_bar

EVALUATIONS = ("dense", "changes")


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

    def run_body(
        self,
        grid: torch.Tensor,
        layers: int | None = None,
        evaluation: str = "dense",
        check: int = 0,
    ) -> torch.Tensor:
        """Apply the shared patch net `layers` times (default L) to a (B, G, H, W) grid.

        evaluation: 'dense' (every cell, every layer: the reference) or 'changes'
        (changes.py: only cells whose patch changed, shared across the batch, each
        distinct patch through the patch net once; == on compiled programs; gives
        gradients to the grid, not to the filter, one input per pass). check: with
        'changes', recompute this many random layers densely and compare with ==."""
        self.check_grid(grid)
        layers = self.config.layers if layers is None else layers
        if layers < 0:
            raise ValueError(f"layers must be >= 0, got {layers}")
        if evaluation == "changes":
            if torch.is_grad_enabled() and any(
                p.requires_grad for p in self.patch_net.parameters()
            ):
                raise RuntimeError("'changes' gives no gradients to the filter; freeze it first")
            parts = [
                _ChangesBody.apply(grid[:, g], self, g, layers, check) for g in range(grid.shape[1])
            ]
            return torch.stack(parts, dim=1)
        if evaluation != "dense":
            raise ValueError(f"evaluation must be one of {EVALUATIONS}, got {evaluation!r}")
        block = self.config.checkpoint_every
        if block and torch.is_grad_enabled():
            done = 0
            while done < layers:
                n = min(block, layers - done)
                grid = checkpoint(self._steps, grid, n, use_reentrant=False)
                done += n
            return grid
        return self._steps(grid, layers)

    def check_grid(self, grid: torch.Tensor) -> None:
        """A ValueError unless grid is (batch, candidates, rows, cols)."""
        if grid.dim() != 4 or grid.shape[1] != self.config.candidates:
            raise ValueError(
                f"run_body expects a (batch, candidates = {self.config.candidates}, rows, "
                f"cols) grid, got {tuple(grid.shape)}"
            )

    def _steps(self, grid: torch.Tensor, n: int) -> torch.Tensor:
        for _ in range(n):
            grid = self.step(grid)
        return grid

    def readout(self, grid: torch.Tensor) -> torch.Tensor:
        """The pixel-wise head summed over the grid: (B, G, H, W) -> (B, G)."""
        B, G, H, W = grid.shape
        cells = grid.transpose(0, 1).reshape(G, 1, B * H * W)
        return self.head(cells).reshape(G, B, H * W).sum(dim=2).T

    def forward(self, z: torch.Tensor, evaluation: str = "dense", check: int = 0) -> torch.Tensor:
        """z = [x; 1] of shape (B, d+1) -> outputs of shape (B, G) (see run_body)."""
        if evaluation == "changes" and not torch.is_grad_enabled():
            return self.outputs_by_changes(z, check)
        grid = self.grid(z)
        return self.readout(self.run_body(grid, evaluation=evaluation, check=check))

    # ---- change-driven evaluation (changes.py) ---------------------------------------
    def memo(self, g: int = 0) -> changes.Memo:
        """Candidate g's patch memo (kept across calls while its weights are unchanged)."""
        stamp = [(p.data_ptr(), p._version) for p in self.patch_net.parameters()]
        stamp.append((self.config.padding, str(self.memory.dtype), str(self.memory.device)))
        memos = self.__dict__.setdefault("_memos", {})
        if g not in memos or memos[g][0] != stamp:
            table = changes.ValueTable(self.config.padding, self.memory.dtype, self.memory.device)
            memos[g] = (stamp, changes.Memo(self.patch_net.layers(g), table))
        return memos[g][1]

    def advance(
        self, g: int, state: changes.Grid, layers: int, check: int, log=None, tick=None
    ) -> None:
        """Run candidate g's change-driven body on `state`, recomputing `check` random
        layers with the dense convolution (== or RuntimeError); tick() after each layer
        (changes.run)."""
        memo, done = self.memo(g), 0
        picks = np.random.default_rng(0).choice(layers, size=min(check, layers), replace=False)
        for layer in sorted(picks.tolist()):
            changes.run(memo, state, layer - done, log, tick)
            before = memo.table.values[state.dense()]
            changes.run(memo, state, 1, log, tick)
            after = memo.table.values[state.dense()]
            shape = (-1, state.rows + 2, state.cols + 2)
            dense = changes.dense_convolution(
                self.patch_net.layers(g), before.view(shape), self.config.padding
            )
            if not torch.equal(dense, after.view(shape)[:, 1:-1, 1:-1]):
                raise RuntimeError(
                    f"layer {layer + 1}: change-driven evaluation != dense convolution"
                )
            done = layer + 1
        changes.run(memo, state, layers - done, log, tick)

    @torch.no_grad()
    def outputs_by_changes(self, z: torch.Tensor, check: int = 0, tick=None) -> torch.Tensor:
        """forward() without gradients, change-driven: each candidate's grids W diag(z)
        (built a few inputs at a time, at most 16 and about 4 M cells, so only their cell
        indices, a byte per cell, are held), its body by changes, and the head's value
        per cell value (the head is pixel-wise) summed over each grid; tick() after each
        layer."""
        self._check_input(z)
        G, (H, W) = self.config.candidates, self.config.grid_shape
        block = max(1, min(16, (1 << 22) // ((H + 2) * (W + 2))))
        codes = [changes.Grid.empty(len(z), H, W, z.device) for _ in range(G)]
        for i in range(0, len(z), block):
            grid = self.grid(z[i : i + block])
            for g in range(G):
                table = self.memo(g).table
                changes.Grid.index_into(codes[g], i, grid[:, g], table, self.config.padding)
        outs = []
        for g in range(G):
            memo = self.memo(g)
            state = changes.Grid.held(codes[g], H, W)
            codes[g] = None
            self.advance(g, state, self.config.layers, check, tick=tick)
            (w1, b1), (w2, b2) = self.head.layers(g)
            values = memo.table.values[:, None]
            head = (torch.relu(values @ w1.T + b1) @ w2.T + b2)[:, 0]  # the head at each value
            outs.append(state.readout(head))
        return torch.stack(outs, dim=1)

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


class _ChangesBody(torch.autograd.Function):
    """Candidate g's body, change-driven (changes.py); backward one input at a time."""

    @staticmethod
    def forward(ctx, grid: torch.Tensor, net: RCNN, g: int, layers: int, check: int):
        memo = net.memo(g)
        state = changes.Grid.of(grid, memo.table, net.config.padding)
        log = None
        if ctx.needs_input_grad[0]:
            if grid.shape[0] != 1:
                raise ValueError("change-driven backward takes one input per pass (Algorithm 1)")
            log = []
        net.advance(g, state, layers, check, log)
        ctx.memo, ctx.state, ctx.log = memo, state, log
        values = memo.table.values[state.dense()]
        return values.view(-1, state.rows + 2, state.cols + 2)[:, 1:-1, 1:-1].clone()

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):
        state = ctx.state
        grad = F.pad(grad_out[0], (1, 1, 1, 1)).flatten()
        grad = changes.backward(ctx.memo, state, ctx.log, grad)
        grad = grad.view(state.rows + 2, state.cols + 2)[1:-1, 1:-1]
        return grad[None], None, None, None, None


def augment(x: torch.Tensor) -> torch.Tensor:
    """[x; 1]: append the constant-1 feature to a (B, d) batch."""
    return torch.cat([x, x.new_ones(x.shape[0], 1)], dim=1)


@torch.no_grad()
def run_layers(
    net: RCNN,
    grid: torch.Tensor,
    layers: int,
    progress: bool = False,
    block: int = 256,
    desc: str = "layers",
) -> tuple[torch.Tensor, int]:
    """run_body with the change-driven evaluation, in blocks of `block` layers (with a
    progress bar on stderr when asked, named `desc`: a Turing machine, a rule on 10^4
    bits, a maze of size 801). One change-driven run goes on across the blocks, so a block costs the
    cells that change in it. Returns the grid after `layers` layers and how many layers
    changed some cell: fewer than `layers` means the next one changed nothing, so the
    grid was a fixed point there and the layers left were not run (each would give
    that grid again)."""
    net.check_grid(grid)
    if layers < 0 or block < 1:
        raise ValueError(f"layers must be >= 0 and block >= 1, got {layers} and {block}")
    with progress_bar(desc, layers, progress, unit="layer", leave=False) as bar:
        parts, moved = [], 0
        for g in range(grid.shape[1]):
            memo = net.memo(g)
            state = changes.Grid.of(grid[:, g], memo.table, net.config.padding)
            left = layers
            while left and not state.quiet:
                n = min(block, left)
                net.advance(g, state, n, check=0)
                left -= n
                bar.update(n if g == 0 else 0)
            if g == 0:
                bar.update(left)
            moved = max(moved, state.moved)
            values = memo.table.values[state.dense()]
            parts.append(values.view(-1, state.rows + 2, state.cols + 2)[:, 1:-1, 1:-1])
    return torch.stack(parts, dim=1), moved


class OneGridRun:
    """Candidate g's body on ONE grid by changes.OneGrid: plain Python, each cell's new
    value the patch net's output on its patch (a dict memo the patch net fills), only
    where a patch changed; for runs of millions of layers that change a few cells each
    (a Turing machine). `check_layer` runs a layer and recomputes it with the dense
    body (run_body, evaluation='dense': the full network layer on the whole grid),
    comparing with ==.

    grid: (H, W) cell values. grow_rows, grow_cols: let the grid grow at its edges
    (changes.OneGrid); refused unless the patch net maps the all-padding patch to the
    padding. on_grow(cells) is called before it grows (guard.check_memory).
    `layers`: layers run so far (start: where a saved run stopped); `moved`: those run
    here that changed some cell; `checked`: layers compared with the dense body."""

    def __init__(
        self,
        net: RCNN,
        grid: torch.Tensor,
        g: int = 0,
        grow_rows: bool = False,
        grow_cols: bool = False,
        on_grow=None,
        start: int = 0,
    ):
        if grid.dim() != 2 or 0 in grid.shape:
            raise ValueError(f"OneGridRun takes one (rows, cols) grid, got {tuple(grid.shape)}")
        self.net, self.g = net, g
        self.memo = net.memo(g)
        codes = self.memo.table.index(grid.reshape(-1)).view(grid.shape)
        if (grow_rows or grow_cols) and self.memo.cell_output((0,) * 9) != 0:
            raise ValueError(
                "the patch net changes a patch of padding alone, so cells beyond the grid "
                "would change too: this grid cannot grow"
            )
        self.grid = changes.OneGrid(codes.tolist(), grow_rows, grow_cols, on_grow)
        self.layers, self.checked = start, 0

    @property
    def moved(self) -> int:
        return self.grid.moved

    @property
    def quiet(self) -> bool:
        return self.grid.quiet

    def advance(self, layers: int) -> None:
        """Run `layers` layers (those after a fixed point give it again: not run)."""
        self.grid.run(self.memo, layers)
        self.layers += layers

    def values(self) -> torch.Tensor:
        """The grid's cell values now, (rows, cols)."""
        codes = torch.tensor(
            self.grid.codes(), dtype=torch.long, device=self.memo.table.values.device
        )
        return self.memo.table.values[codes]

    @torch.no_grad()
    def check_layer(self) -> None:
        """One layer, also by the dense body on the whole grid: == or RuntimeError. (A
        layer that grew the grid: its old cells == the dense layer, its new ones the
        padding.)"""
        before = self.values()
        (r0, c0), (H, W) = self.grid.origin, before.shape
        x = before.new_zeros(1, self.net.config.candidates, H, W)
        x[0, self.g] = before
        dense = self.net.run_body(x, 1, evaluation="dense")[0, self.g]
        self.advance(1)
        after = self.values()
        r, c = self.grid.origin[0] - r0, self.grid.origin[1] - c0
        want = torch.full_like(after, self.memo.table.values[0].item())
        want[r : r + H, c : c + W] = dense
        if not torch.equal(after, want):
            raise RuntimeError(
                f"layer {self.layers}: the change-driven layer != the dense convolution "
                "(the full network layer on the whole grid)"
            )
        self.checked += 1

    def run_to(
        self,
        total: int,
        checks=(),
        bar=None,
        save=None,
        every: float = 60.0,
        block: int = 1 << 14,
    ) -> None:
        """Advance until `total` layers have run, with check_layer at each layer index
        in `checks` (k: the layer from k layers to k + 1; those before `layers` are
        skipped). bar: a progress bar counting layers; save(self): called every
        `every` seconds of the run."""
        pending = sorted(k for k in set(checks) if self.layers <= k < total)
        last = time.monotonic()
        while self.layers < total:
            if pending and pending[0] == self.layers:
                pending.pop(0)
                self.check_layer()
                n = 1
            else:
                stop = pending[0] if pending else total
                n = min(block, stop - self.layers)
                self.advance(n)
            if bar is not None:
                bar.update(n)
            if save is not None and time.monotonic() - last >= every:
                save(self)
                last = time.monotonic()
