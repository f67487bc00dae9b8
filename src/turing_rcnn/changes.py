"""Exact evaluation of the RCNN body whose cost follows what changes, not the cells.

The patch net is a fixed function of its 3x3 patch, so the value it gives a cell can
be reused wherever the same patch occurs again. Three reuses, each of a value the
patch net itself computed for the same patch:

1. in time: a cell none of whose 9 patch cells changed at the last layer keeps its
   value, so a layer evaluates only the cells around those that changed;
2. across a batch: where every input of the batch has the same patch at a cell (all
   9 cells "uniform"), the cell is evaluated once for all of them (the rows of a
   decoded training set are the same for every test point; only the test row and the
   cells it reaches differ);
3. in a memo: each distinct patch goes through the patch net once per network (its
   output, and its gradient when Algorithm 1 asks for one); later occurrences, in any
   layer, batch or call, are looked up.

Cell values are kept as small integers: indices into a table of the values met so far
(a compiled program's codes; at most 128, so a patch is one int64 key of 9 base-128
digits). A value that is not in the table is added; more than 128 distinct values is
an error: this evaluation is for compiled, exact programs (use the dense path for
others). The backward pass (one input per pass, as in Algorithm 1) walks the layers
back, undoing the logged changes, and moves the gradient only where it is non-zero,
with each patch's 9 partial derivatives from the memo; a run of layers where nothing
changed is one linear map, skipped as soon as the gradient is its fixed point.

`check` layers (chosen at random) are recomputed by the dense convolution, all cells
of every input, and compared with ==.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

BASE = 128  # table size limit: 9 digits of 7 bits fit one int64 key
_OFFSETS = [(r, c) for r in (-1, 0, 1) for c in (-1, 0, 1)]  # row-major, as the patch net


class ValueTable:
    """Cell values <-> small integer indices (index 0 is the border's value)."""

    def __init__(self, border: float, dtype: torch.dtype, device):
        self.values = torch.tensor([border], dtype=dtype, device=device)

    def index(self, values: torch.Tensor) -> torch.Tensor:
        """Indices (int64) of `values`, adding the new ones to the table."""
        new = torch.unique(values)
        new = new[~torch.isin(new, self.values)]
        if len(new):
            if len(self.values) + len(new) > BASE:
                raise ValueError(
                    f"more than {BASE} distinct cell values: change-driven evaluation is for "
                    "compiled (exact) programs; use evaluation='dense'"
                )
            self.values = torch.cat([self.values, new])
        order = torch.argsort(self.values)
        pos = torch.searchsorted(self.values[order], values)
        return order[pos]


class _Sorted:
    """Sorted int64 keys with a value row per key; `find` gives positions and hits."""

    def __init__(self, keys: torch.Tensor, values: torch.Tensor):
        order = torch.argsort(keys)
        self.keys, self.values = keys[order], values[order]

    def find(self, keys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if len(self.keys) == 0:
            return torch.zeros_like(keys), torch.zeros_like(keys, dtype=torch.bool)
        pos = torch.searchsorted(self.keys, keys).clamp(max=len(self.keys) - 1)
        return pos, self.keys[pos] == keys

    def __or__(self, other: _Sorted) -> _Sorted:
        return _Sorted(torch.cat([self.keys, other.keys]), torch.cat([self.values, other.values]))


class Memo:
    """Patch key -> the patch net's output index (and, on demand, its 9 partial
    derivatives). Every entry was computed by the patch net on that very patch.

    The outputs live in two sorted stores: a large one and a small one that takes the
    new patches and is merged into the large one when it reaches a quarter of its size,
    so inserting costs about the new entries, not the whole memo."""

    def __init__(self, layers, table: ValueTable):
        self.layers, self.table = layers, table
        device = table.values.device
        empty = torch.zeros(0, dtype=torch.int64, device=device)
        self.big = _Sorted(empty, torch.zeros(0, dtype=torch.uint8, device=device))
        self.small = self.big
        self.jac = _Sorted(empty, torch.zeros(0, 9, dtype=table.values.dtype, device=device))
        self.evaluated = 0  # patches the patch net has evaluated (each once per memo)
        self.lookups = 0  # cell evaluations answered (from the memo or the patch net)

    def __len__(self) -> int:
        return len(self.big.keys) + len(self.small.keys)

    def patches(self, keys: torch.Tensor) -> torch.Tensor:
        """The (n, 9) patch values of keys."""
        digits = [(keys // BASE**k) % BASE for k in range(8, -1, -1)]
        return self.table.values[torch.stack(digits, dim=1)]

    def outputs(self, keys: torch.Tensor) -> torch.Tensor:
        """Output indices (uint8) for keys, evaluating each unseen patch once."""
        out = torch.empty(keys.shape, dtype=torch.uint8, device=keys.device)
        pos, hit = self.big.find(keys)
        out[hit] = self.big.values[pos[hit]]
        rest = torch.nonzero(~hit).flatten()
        if len(rest):
            pos, hit = self.small.find(keys[rest])
            if not hit.all():
                new = torch.unique(keys[rest[~hit]])
                values, _ = patch_net_on_patches(self.layers, self.patches(new), False)
                self.evaluated += len(new)
                self.small = self.small | _Sorted(new, self.table.index(values).to(torch.uint8))
                if len(self.small.keys) * 4 > len(self.big.keys):
                    self.big, self.small = (
                        self.big | self.small,
                        _Sorted(new[:0], self.small.values[:0]),
                    )
                return self.outputs(keys)
            out[rest] = self.small.values[pos]
        return out

    def jacobians(self, keys: torch.Tensor) -> torch.Tensor:
        """(n, 9) partial derivatives of the patch net at each key's patch."""
        pos, hit = self.jac.find(keys)
        if not hit.all():
            new = torch.unique(keys[~hit])
            _, jac = patch_net_on_patches(self.layers, self.patches(new), True)
            self.evaluated += len(new)
            self.jac = self.jac | _Sorted(new, jac)
            pos, hit = self.jac.find(keys)
        return self.jac.values[pos]


def patch_net_on_patches(layers, patches: torch.Tensor, jacobian: bool):
    """One candidate's patch net on (n, 9) flattened patches as matrix products, and
    optionally its gradient with respect to each patch (n, 9), by the chain rule
    through the ReLU masks (derivative 0 at 0, as torch's ReLU)."""
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


class Grid:
    """A batch of grids, padded by one border cell and flattened: cell c of input p
    is uni[c] where `uniform[c]` (the same for every input), else var[p, c]."""

    def __init__(self, codes: torch.Tensor, rows: int, cols: int):
        self.rows, self.cols = rows, cols
        codes = codes.to(torch.uint8)  # indices < BASE = 128
        self.uniform = (codes == codes[:1]).all(0)
        self.uni = codes[0].clone()
        self.var = codes.clone()
        size = (rows + 2) * (cols + 2)
        inside = torch.zeros(rows + 2, cols + 2, dtype=torch.bool, device=codes.device)
        inside[1:-1, 1:-1] = True
        self.inside = inside.flatten()
        self.offsets = torch.tensor([r * (cols + 2) + c for r, c in _OFFSETS], device=codes.device)
        self.size = size
        self.changed = torch.nonzero(self.inside).flatten()  # at the last layer (layer 0: all)
        self.moved = 0  # layers run so far that changed some cell
        self._near: torch.Tensor | None = None  # near_varied(), kept while uniformity holds

    @property
    def quiet(self) -> bool:
        """The last layer changed no cell: the grid is a fixed point (every later layer
        sees the same patches, so gives the same values)."""
        return len(self.changed) == 0

    @classmethod
    def of(cls, grid: torch.Tensor, table: ValueTable, padding: float) -> Grid:
        """The state of (B, H, W) grids of values (their values join the table)."""
        B, H, W = grid.shape
        padded = F.pad(grid, (1, 1, 1, 1), mode="constant", value=padding)
        return cls(table.index(padded.reshape(B, -1)), H, W)

    def dense(self) -> torch.Tensor:
        """(B, padded cells) indices (int64)."""
        return torch.where(self.uniform, self.uni, self.var).long()

    def neighbours(self, cells: torch.Tensor) -> torch.Tensor:
        """(n, 9) padded indices of each cell's patch, row-major."""
        return cells[:, None] + self.offsets[None, :]

    def dilate(self, cells: torch.Tensor) -> torch.Tensor:
        """The sorted inside cells within one step of `cells`: a dense mark when many
        cells changed, a sort of the few neighbours otherwise (cost ~ the changes)."""
        around = self.neighbours(cells).flatten()
        if 64 * len(around) < self.size:
            around = torch.unique(around)
            return around[self.inside[around]]
        mark = torch.zeros(self.size, dtype=torch.bool, device=cells.device)
        mark[around] = True
        return torch.nonzero(mark & self.inside).flatten()

    def near_varied(self) -> torch.Tensor:
        """Dense mask of cells whose patch holds a cell that is not uniform."""
        varied = ~self.uniform
        if not varied.any():
            return varied
        mark = varied.clone()
        for off in self.offsets.tolist():
            if off:
                mark |= torch.roll(varied, -off)
        return mark


def dense_convolution(layers, grid: torch.Tensor, padding: float) -> torch.Tensor:
    """The reference: one candidate's patch net by torch's conv2d on (B, H+2, W+2)
    padded grids (the border cells are overwritten with `padding`) -> (B, H, W)."""
    x = F.pad(grid[:, None, 1:-1, 1:-1], (1, 1, 1, 1), value=padding)
    for i, (w, b) in enumerate(layers):
        kernel = w.reshape(len(w), 1, 3, 3) if i == 0 else w[:, :, None, None]
        x = F.conv2d(torch.relu(x) if i else x, kernel, b)
    return x[:, 0]


def keys_of(codes: torch.Tensor) -> torch.Tensor:
    """int64 keys of patches of indices (..., 9)."""
    key = torch.zeros(codes.shape[:-1], dtype=torch.int64, device=codes.device)
    for k in range(9):
        key = key * BASE + codes[..., k].long()
    return key


def run(memo: Memo, grid: Grid, layers: int, log: list | None = None) -> None:
    """Advance `grid` by `layers` layers in place, counting the cell evaluations in
    memo.lookups (one per cell with a uniform patch, one per input otherwise). A grid
    carries the cells its last layer changed, so successive calls continue one run;
    once a layer changes nothing the rest are skipped. `log`: if a list, gets (changed
    cells, their old indices) per layer (one input only), None for each layer skipped."""
    if grid._near is None:
        grid._near = grid.near_varied()  # recomputed only when a cell's uniformity changes
    for done in range(layers):
        if grid.quiet:
            if log is not None:
                log.extend([None] * (layers - done))
            return
        active = grid.dilate(grid.changed)
        varied = grid._near[active]
        a_uni, a_var = active[~varied], active[varied]
        out_u = memo.outputs(keys_of(grid.uni[grid.neighbours(a_uni)]))  # uint8 indices
        out_v = None
        if len(a_var):
            nb = grid.neighbours(a_var)  # (n, 9)
            vals = torch.where(grid.uniform[nb], grid.uni[nb], grid.var[:, nb])  # (B, n, 9)
            out_v = memo.outputs(keys_of(vals).flatten()).view(vals.shape[:2])
        memo.lookups += len(a_uni) + (out_v.numel() if out_v is not None else 0)
        old_u = grid.uni[a_uni]
        moved_u = out_u != old_u
        if log is not None:
            log.append((a_uni[moved_u], old_u[moved_u]))
        grid.uni[a_uni] = out_u
        changed = a_uni[moved_u]
        if out_v is not None:
            old_v = torch.where(grid.uniform[a_var], grid.uni[a_var], grid.var[:, a_var])
            moved_v = (out_v != old_v).any(0)
            same = (out_v == out_v[:1]).all(0)
            grid.var[:, a_var] = out_v
            grid.uni[a_var] = out_v[0]
            if not torch.equal(grid.uniform[a_var], same):
                grid.uniform[a_var] = same
                grid._near = grid.near_varied()
            changed = torch.cat([changed, a_var[moved_v]])
        grid.changed = changed
        grid.moved += bool(len(changed))


def backward(memo: Memo, grid: Grid, log: list, grad: torch.Tensor) -> torch.Tensor:
    """d(loss)/d(layer-0 grid) of one input from d(loss)/d(final grid), both (padded
    cells,); `grid` holds the final layer and is walked back to layer 0."""
    codes = grid.uni.clone()
    layer = len(log)
    while layer > 0:
        entry = log[layer - 1]
        if entry is not None:
            cells, old = entry
            codes[cells] = old
        nz = torch.nonzero(grad).flatten()
        if len(nz) == 0:
            return grad
        jac = memo.jacobians(keys_of(codes[grid.neighbours(nz)]))
        new = torch.zeros_like(grad)
        new.index_add_(0, grid.neighbours(nz).flatten(), (grad[nz, None] * jac).flatten())
        new[~grid.inside] = 0  # the padding is a constant, not an input
        if entry is None and torch.equal(new, grad):
            # The grid is unchanged across this run of quiet layers, so every layer of
            # the run is this same map, and grad is its fixed point: skip the run.
            while layer > 1 and log[layer - 2] is None:
                layer -= 1
        grad = new
        layer -= 1
    return grad
