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

A batch (Grid) is held cell-major, one byte per cell and input, so a patch's 9 cells
are 9 whole rows for the batch and its keys are packed a row of inputs at a time; the
memo is a vectorised hash store with linear probing (Memo), bounded by max_bytes.

`check` layers (chosen at random) are recomputed by the dense convolution, all cells
of every input, and compared with ==.

OneGrid is the same evaluation for ONE grid in plain Python (a flat list of indices, a
dict from patch to the patch net's output), for runs of millions of layers that each
change a few cells (a Turing machine: about 0.5 M layers a second on one core, where
`run` pays a few dozen torch calls a layer); its grid may grow at its edges.
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F

from . import threads

BASE = 128  # table size limit: 9 digits of 7 bits fit one int64 key
_OFFSETS = [(r, c) for r in (-1, 0, 1) for c in (-1, 0, 1)]  # row-major, as the patch net


class ValueTable:
    """Cell values <-> small integer indices (index 0 is the border's value)."""

    def __init__(self, border: float, dtype: torch.dtype, device):
        self.values = torch.tensor([border], dtype=dtype, device=device)
        self._sorted_for: torch.Tensor | None = None  # the values `_keys` was sorted from

    def _find(self, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(index of the nearest table value, whether it is equal) for each value."""
        if self._sorted_for is not self.values:
            self._order = torch.argsort(self.values)
            self._keys = self.values[self._order]
            self._sorted_for = self.values
        pos = torch.searchsorted(self._keys, values).clamp(max=len(self._keys) - 1)
        return self._order[pos], self._keys[pos] == values

    def index(self, values: torch.Tensor) -> torch.Tensor:
        """Indices (int64) of `values`, adding the new ones to the table."""
        index, known = self._find(values)
        if bool(known.all()):
            return index
        new = torch.unique(values[~known])
        if len(self.values) + len(new) > BASE:
            raise ValueError(
                f"more than {BASE} distinct cell values: change-driven evaluation is for "
                "compiled (exact) programs; use evaluation='dense'"
            )
        self.values = torch.cat([self.values, new])
        return self._find(values)[0]


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


_EMPTY = -1  # an empty slot: no key is negative (9 digits of 7 bits: the low 63 bits)
_LOAD = 0.7  # a store grows when fuller than this (linear probing stays short)
_GROW = 1.6  # by this factor (to load 0.44: 13-20 bytes an entry)


def _slots(keys: torch.Tensor, size: int) -> torch.Tensor:
    """Home slots in [0, size) of keys >= 0: the high half times an odd constant plus
    the low half, then a multiplicative hash mod 2^32 (Knuth's), scaled to the size; no
    product reaches 2^63 (no overflow)."""
    h = ((keys >> 32) * 0x5BD1E995 + (keys & 0xFFFFFFFF)) & 0xFFFFFFFF
    return ((h * 0x2545F491 & 0xFFFFFFFF) * size) >> 32


class _Hashed:
    """int64 keys -> uint8 values: open addressing with linear probing, vectorised (a
    probe step is one gather for all the keys still looking). A key's home slot is one
    of the first `homes` slots; TAIL more slots follow, so probing never wraps (a key
    that would run past the end is not placed: `insert` returns it and the memo grows
    the store). Entries are never removed."""

    WINDOW = 8  # slots a probe step reads after the home slot
    TAIL = 64

    def __init__(self, homes: int, device):
        if not 0 < homes < 2**31:
            raise ValueError(f"a memo store has 1 to 2^31 - 1 home slots, asked for {homes}")
        self.homes = homes
        self.keys = torch.full((homes + self.TAIL,), _EMPTY, dtype=torch.int64, device=device)
        self.values = torch.zeros(homes + self.TAIL, dtype=torch.uint8, device=device)
        self.count = 0

    @property
    def nbytes(self) -> int:
        return 9 * len(self.keys)

    @property
    def full(self) -> int:
        """Entries above which the store should grow."""
        return int(_LOAD * self.homes)

    @staticmethod
    def homes_for(count: int) -> int:
        """Home slots for `count` entries with room to grow (load _LOAD / _GROW)."""
        return max(1024, int(count * _GROW / _LOAD) + 1)

    def _window(self, start: torch.Tensor) -> torch.Tensor:
        """(n, WINDOW) slots from each start on (clamped to the last slot)."""
        window = start[:, None] + torch.arange(self.WINDOW, device=start.device)
        return window.clamp_(max=len(self.keys) - 1)

    def find(self, keys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(value, found) for each key (value arbitrary where not found): its home slot
        first, then, for the few keys not settled there, WINDOW slots a step until
        their key, an empty slot or the end."""
        slot = _slots(keys, self.homes)
        at = self.keys.index_select(0, slot)
        out = self.values.index_select(0, slot)
        found = at == keys
        if bool(found.all()):
            return out, found
        rest = torch.nonzero(~found & (at != _EMPTY)).flatten()
        start, want = slot[rest] + 1, keys[rest]
        end = len(self.keys) - self.WINDOW
        while len(rest):
            window = self._window(start)
            at = self.keys.index_select(0, window.flatten()).view(window.shape)
            hit = at == want[:, None]
            got = hit.any(1)
            where = window[got, hit[got].to(torch.uint8).argmax(1)]
            out[rest[got]] = self.values[where]
            found[rest[got]] = True
            go = ~got & ~(at == _EMPTY).any(1) & (start < end)
            rest, start, want = rest[go], start[go] + self.WINDOW, want[go]
        return out, found

    def insert(self, keys: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        """Add distinct keys that are not in the store, each at the first empty slot from
        its home on (keys that pick the same slot: one takes it, the others go on after
        it). Returns the positions in `keys` of those not placed (they ran to the end)."""
        device = keys.device
        todo = torch.arange(len(keys), device=device)
        start = _slots(keys, self.homes)
        width = 1  # the home slot alone first: most keys take it
        end = len(self.keys) - self.WINDOW
        over = [todo[:0]]
        while len(todo):
            if width > 1:
                past = start > end
                over.append(todo[past])
                todo, start = todo[~past], start[~past]
                window = self._window(start)
                free = self.keys.index_select(0, window.flatten()).view(window.shape) == _EMPTY
                has = free.any(1)
                pick = window.gather(1, free.to(torch.uint8).argmax(1, keepdim=True))[:, 0]
            else:
                pick = start
                has = self.keys.index_select(0, start) == _EMPTY
            mine = torch.nonzero(has).flatten()
            where, who = pick[mine], todo[mine]
            self.keys[where] = keys[who]
            won = self.keys[where] == keys[who]
            self.values[where[won]] = values[who[won]]
            self.count += int(won.sum())
            left = torch.ones(len(todo), dtype=torch.bool, device=device)
            left[mine[won]] = False
            start = torch.where(has, pick + 1, start + width)[left]
            todo = todo[left]
            width = self.WINDOW
        return torch.cat(over)

    def entries(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(keys, values) of every entry."""
        used = self.keys != _EMPTY
        return self.keys[used], self.values[used]

    def grown(self, homes: int, block: int = 1 << 22) -> _Hashed | None:
        """A store with `homes` home slots holding these entries, moved a block of slots
        at a time (little memory beyond the two stores); None if a run reached its end."""
        new = _Hashed(homes, self.keys.device)
        for i in range(0, len(self.keys), block):
            keys, values = self.keys[i : i + block], self.values[i : i + block]
            used = keys != _EMPTY
            if len(new.insert(keys[used], values[used])):
                return None
        return new


class Memo:
    """Patch key -> the patch net's output index (and, on demand, its 9 partial
    derivatives). Every entry was computed by the patch net on that very patch.

    The outputs live in hash stores (`stores`): new patches go into the last; the
    earlier ones are frozen (`freeze`: before worker processes start, so that they
    share those pages instead of copying them as they insert). `max_bytes` (None: no
    limit) bounds the stores: once a store could not grow within it, new patches are
    still evaluated by the patch net each time they are met, but no longer kept
    (`unstored` counts them), so memory stays bounded and every value is still the
    patch net's."""

    PATCH_BLOCK = 1 << 14  # patches per patch-net call (bounds its hidden activations)
    WIDE = 1024  # new patches from which `threads` threads evaluate them (>= 10^8 flops)

    def __init__(self, layers, table: ValueTable, max_bytes: float | None = None):
        self.layers, self.table = layers, table
        device = table.values.device
        empty = torch.zeros(0, dtype=torch.int64, device=device)
        self.stores = [_Hashed(1024, device)]
        self.max_bytes = max_bytes
        self.jac = _Sorted(empty, torch.zeros(0, 9, dtype=table.values.dtype, device=device))
        self.evaluated = 0  # patches the patch net has evaluated (each once per memo)
        self.lookups = 0  # cell evaluations answered (from the memo or the patch net)
        self.unstored = 0  # patches evaluated but not kept (the stores at max_bytes)
        self.threads = 1  # torch threads for a large batch of new patches (threads.py)
        self.cells: dict[tuple[int, ...], int] = {}  # OneGrid's: patch indices -> output index

    def __len__(self) -> int:
        return sum(store.count for store in self.stores)

    @property
    def nbytes(self) -> int:
        """Bytes held by the output stores."""
        return sum(store.nbytes for store in self.stores)

    def entries(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(keys, output indices) of every stored patch."""
        parts = [store.entries() for store in self.stores]
        return torch.cat([k for k, _ in parts]), torch.cat([v for _, v in parts])

    def freeze(self, share: int = 1) -> None:
        """New patches go into a new store from now on; the others are only read. With
        `share` processes about to share the frozen stores, each may take 1 / share of
        what max_bytes leaves beyond them."""
        if self.max_bytes is not None:
            self.max_bytes = self.nbytes + max(0.0, self.max_bytes - self.nbytes) / share
        self.stores.append(_Hashed(1024, self.table.values.device))

    def merge(self) -> None:
        """One store again, holding every entry (those beyond max_bytes dropped)."""
        first, *rest = self.stores
        self.stores = [first]
        for store in rest:
            keys, values = store.entries()
            self._keep(keys, values)

    def patches(self, keys: torch.Tensor) -> torch.Tensor:
        """The (n, 9) patch values of keys."""
        digits = [(keys // BASE**k) % BASE for k in range(8, -1, -1)]
        return self.table.values[torch.stack(digits, dim=1)]

    def outputs(self, keys: torch.Tensor) -> torch.Tensor:
        """Output indices (uint8) for keys, evaluating each unseen patch once."""
        out, found = self.stores[0].find(keys)
        for store in self.stores[1:]:
            if bool(found.all()):
                break
            rest = torch.nonzero(~found).flatten()
            value, hit = store.find(keys[rest])
            out[rest[hit]] = value[hit]
            found[rest[hit]] = True
        if bool(found.all()):
            return out
        rest = torch.nonzero(~found).flatten()
        new, where = torch.unique(keys[rest], return_inverse=True)
        wide = self.threads > 1 and len(new) >= self.WIDE
        with threads.using(self.threads) if wide else contextlib.nullcontext():
            codes = torch.cat(
                [
                    self.table.index(
                        patch_net_on_patches(self.layers, self.patches(part), False)[0]
                    )
                    for part in new.split(self.PATCH_BLOCK)
                ]
            ).to(torch.uint8)
        self.evaluated += len(new)
        out[rest] = codes[where]
        self._keep(new, codes)
        return out

    def _keep(self, keys: torch.Tensor, values: torch.Tensor) -> None:
        """Store new entries in the last store, growing it while max_bytes allows (those
        that do not fit are counted in `unstored`)."""
        while len(keys):
            store = self.stores[-1]
            if store.count + len(keys) > store.full and not self._grow(store.count + len(keys)):
                fit = max(0, store.full - store.count)
                self.unstored += len(keys) - fit
                keys, values = keys[:fit], values[:fit]
            left = self.stores[-1].insert(keys, values)
            if len(left) and not self._grow(self.stores[-1].count + len(left), at_least=2):
                self.unstored += len(left)  # a run reached the end and it may not grow
                return
            keys, values = keys[left], values[left]

    def _grow(self, count: int, at_least: float = 1.0) -> bool:
        """Replace the last store by one with room for `count` entries (and at least
        `at_least` times its home slots; twice more while a run reaches its end), if
        max_bytes allows; whether it did."""
        store = self.stores[-1]
        homes = max(_Hashed.homes_for(count), int(at_least * store.homes))
        while self.max_bytes is None or self.nbytes + 9 * (homes + _Hashed.TAIL) <= self.max_bytes:
            bigger = store.grown(homes)
            if bigger is not None:
                self.stores[-1] = bigger
                return True
            homes *= 2
        return False

    def cell_output(self, patch: tuple[int, ...]) -> int:
        """The output index for ONE patch of 9 indices (row-major), by `outputs` (so by
        the patch net the first time the patch is met), kept in `cells` for OneGrid."""
        key = keys_of(torch.tensor([patch], device=self.table.values.device))
        out = self.cells[patch] = int(self.outputs(key)[0])
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
    """A batch of B grids, padded by one border cell, flattened and held cell-major:
    var[c] holds cell c of every input (B indices side by side, so the 9 cells of a
    patch are gathered as 9 whole rows for the batch); `uniform[c]`: cell c is the same
    in every input."""

    BLOCK = 1 << 18  # (cell, input) pairs per block of a layer's varied cells

    def __init__(self, codes: torch.Tensor, rows: int, cols: int):
        self.rows, self.cols = rows, cols
        self.var = codes.to(torch.uint8).T.contiguous()  # indices < BASE = 128
        self.uniform = (self.var == self.var[:, :1]).all(1)
        self._setup(codes.device)

    def _setup(self, device) -> None:
        rows, cols = self.rows, self.cols
        size = (rows + 2) * (cols + 2)
        inside = torch.zeros(rows + 2, cols + 2, dtype=torch.bool, device=device)
        inside[1:-1, 1:-1] = True
        self.inside = inside.flatten()
        self.offsets = torch.tensor([r * (cols + 2) + c for r, c in _OFFSETS], device=device)
        self.size = size
        self.changed = torch.nonzero(self.inside).flatten()  # at the last layer (layer 0: all)
        self.moved = 0  # layers run so far that changed some cell
        self._near: torch.Tensor | None = None  # near_varied(), updated where uniformity flips

    @property
    def batch(self) -> int:
        return self.var.shape[1]

    @property
    def uni(self) -> torch.Tensor:
        """The first input's cells: every input's where `uniform`."""
        return self.var[:, 0]

    @property
    def quiet(self) -> bool:
        """The last layer changed no cell: the grid is a fixed point (every later layer
        sees the same patches, so gives the same values)."""
        return len(self.changed) == 0

    @classmethod
    def of(cls, grid: torch.Tensor, table: ValueTable, padding: float, block: int = 16) -> Grid:
        """The state of (B, H, W) grids of values (their values join the table),
        indexed `block` inputs at a time (so the index pass needs little memory)."""
        B, H, W = grid.shape
        var = cls.empty(B, H, W, grid.device)
        for i in range(0, B, block):
            cls.index_into(var, i, grid[i : i + block], table, padding)
        return cls.held(var, H, W)

    @staticmethod
    def empty(batch: int, rows: int, cols: int, device) -> torch.Tensor:
        """Room for the cell-major indices of `batch` padded grids."""
        return torch.empty((rows + 2) * (cols + 2), batch, dtype=torch.uint8, device=device)

    @staticmethod
    def index_into(var, at: int, grid: torch.Tensor, table: ValueTable, padding: float) -> None:
        """Write the indices of (b, H, W) grids of values, padded, as inputs at..at+b of
        `var` (Grid.empty)."""
        padded = F.pad(grid, (1, 1, 1, 1), mode="constant", value=padding)
        var[:, at : at + len(grid)] = table.index(padded.reshape(len(grid), -1)).T

    @classmethod
    def held(cls, var: torch.Tensor, rows: int, cols: int) -> Grid:
        """The state holding `var` (padded cells, B) indices, cell-major (not copied)."""
        state = cls.__new__(cls)
        state.rows, state.cols, state.var = rows, cols, var
        state.uniform = (var == var[:, :1]).all(1)
        state._setup(var.device)
        return state

    def dense(self) -> torch.Tensor:
        """(B, padded cells) indices (int64)."""
        return self.var.T.contiguous().long()

    def readout(self, head: torch.Tensor, block: int = 1 << 20) -> torch.Tensor:
        """(B,) sums over the inside cells of `head` (a value per index), a block of
        (cell, input) pairs at a time."""
        cells = torch.nonzero(self.inside).flatten()
        total = head.new_zeros(self.batch)
        step = max(1, block // self.batch)
        for i in range(0, len(cells), step):
            total += head[self.var[cells[i : i + step]].long()].sum(0)
        return total

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

    def _flipped(self, cells: torch.Tensor) -> None:
        """Uniformity changed at `cells`: update near_varied() around them."""
        around = self.dilate(cells)
        self._near[around] = (~self.uniform[self.neighbours(around)]).any(1)

    def varied_outputs(self, memo: Memo, cells: torch.Tensor) -> torch.Tensor:
        """(n, B) output indices of the patch net at `cells` for every input, from the
        grid as it is, a block of cells at a time."""
        B, outs = self.batch, []
        for part in cells.split(max(1, self.BLOCK // B)):
            rows = self.var.index_select(0, self.neighbours(part).flatten())
            keys = keys_of(rows.view(len(part), 9, B), dim=1)  # (n, B)
            outs.append(memo.outputs(keys.flatten()).view(len(part), B))
        return torch.cat(outs) if len(outs) != 1 else outs[0]


class OneGrid:
    """ONE grid advanced layer by layer in plain Python, for long runs in which a layer
    changes a handful of cells (a Turing machine changes two or three a step): a layer
    then costs a few dict look-ups instead of a few dozen torch calls (about 40x faster
    than `run` on the 5-state busy beaver).

    Cells hold table indices in a flat list, the grid framed by one cell of padding
    (index 0) on each side. A layer evaluates only the cells whose 3x3 patch holds a
    cell that changed at the last layer, all from the grid as it was (a synchronous
    layer), and each new index is `memo.cells[patch]`: the patch net's own output on
    that very patch, computed by the patch net (Memo.cell_output) the first time the
    patch is met. Nothing here knows the program.

    Growth (grow_rows, grow_cols): when a layer changes a cell on the grid's first or
    last row (column), rows (columns) of padding are added on that side before the
    next layer, so the grid runs as an unbounded one: cells beyond it hold the
    padding, and since the patch net maps the all-padding patch to the padding (checked
    by the caller, through the memo), a cell next to the grid keeps it while the edge
    cells hold it. So a run that grew equals the run of its final-size grid (the first
    grid at `origin` in it, padding around) from the start, on the dense path too. A
    grid that grows only columns keeps its rows (the padding rows above and below are
    its border, as on any fixed grid).
    """

    def __init__(
        self, codes: list[list[int]], grow_rows: bool = False, grow_cols: bool = False, on_grow=None
    ):
        self.rows, self.cols = len(codes), len(codes[0])
        self.grow_rows, self.grow_cols = grow_rows, grow_cols
        self.on_grow = on_grow  # called with the cell count before a grid grows
        self.origin = (0, 0)  # where the first grid's top-left cell is now
        S = self.cols + 2
        self.g = [0] * ((self.rows + 2) * S)
        for r, row in enumerate(codes):
            self.g[(r + 1) * S + 1 : (r + 1) * S + 1 + self.cols] = row
        self._frame()
        self.changed = [i for i in range(len(self.g)) if self.zone[i]]  # layer 0: all
        self.moved = 0  # layers run that changed some cell
        edge = [i for i in range(len(self.g)) if self.zone[i] == 2 and self.g[i]]
        if edge:  # the edges must hold the padding before the first layer
            self._grow(edge)

    @property
    def quiet(self) -> bool:
        """The last layer changed nothing: the grid is a fixed point."""
        return not self.changed

    def _frame(self) -> None:
        """Stride, zones (0: padding, 1: inside, 2: an inside cell on an edge that
        grows) and the offsets of the cells whose patches a changed cell is in."""
        R, C = self.rows, self.cols
        S = self.stride = C + 2
        zone = bytearray((R + 2) * S)
        for r in range(1, R + 1):
            zone[r * S + 1 : r * S + 1 + C] = b"\x01" * C
            if self.grow_cols:
                zone[r * S + 1] = zone[r * S + C] = 2
        if self.grow_rows:
            zone[S + 1 : S + 1 + C] = b"\x02" * C
            zone[R * S + 1 : R * S + 1 + C] = b"\x02" * C
        self.zone = zone
        dr = (-1, 0, 1) if R > 1 else (0,)  # one row: the rows around it are padding
        dc = (-1, 0, 1) if C > 1 else (0,)
        self.near = tuple(r * S + c for r in dr for c in dc)

    def _grow(self, edge: list[int]) -> None:
        """Add padding beyond each edge that a cell in `edge` lies on (doubling the
        size along that axis, at least 16), keeping `changed` pointing at its cells."""
        R, C, S = self.rows, self.cols, self.stride
        spots = [divmod(i, S) for i in edge]
        top = max(R, 16) if any(r == 1 for r, _ in spots) and self.grow_rows else 0
        bottom = max(R, 16) if any(r == R for r, _ in spots) and self.grow_rows else 0
        left = max(C, 16) if any(c == 1 for _, c in spots) and self.grow_cols else 0
        right = max(C, 16) if any(c == C for _, c in spots) and self.grow_cols else 0
        rows, cols = R + top + bottom, C + left + right
        if self.on_grow is not None:
            self.on_grow(rows * cols)
        T = cols + 2
        g = [0] * ((rows + 2) * T)
        for r in range(1, R + 1):
            at = (r + top) * T + 1 + left
            g[at : at + C] = self.g[r * S + 1 : r * S + 1 + C]
        self.g = g
        self.changed = [(i // S + top) * T + i % S + left for i in self.changed]
        self.rows, self.cols = rows, cols
        self.origin = (self.origin[0] + top, self.origin[1] + left)
        self._frame()

    def codes(self) -> list[list[int]]:
        """The grid's indices, row by row (no padding)."""
        S = self.stride
        return [self.g[r * S + 1 : r * S + 1 + self.cols] for r in range(1, self.rows + 1)]

    def run(self, memo: Memo, layers: int) -> int:
        """Advance by up to `layers` layers; returns how many ran: fewer only when a
        layer changed nothing (the grid is a fixed point; every later layer gives it
        again)."""
        done = 0
        while done < layers and self.changed:
            done += self._layers(memo, layers - done)
        return done

    def _layers(self, memo: Memo, layers: int) -> int:
        """Layers until `layers`, a fixed point or a growth (which ends the call)."""
        g, zone, S, near = self.g, self.zone, self.stride, self.near
        get, miss = memo.cells.get, memo.cell_output
        changed, n, moved, edge = self.changed, 0, 0, []
        one_row = self.rows == 1 and not self.grow_rows
        while n < layers and changed:
            cells, values = [], []
            for a in {c + d for c in changed for d in near}:
                if not zone[a]:
                    continue
                if one_row:  # the rows above and below are padding (index 0)
                    key = (0, 0, 0, g[a - 1], g[a], g[a + 1], 0, 0, 0)
                else:
                    key = (
                        g[a - S - 1], g[a - S], g[a - S + 1],
                        g[a - 1], g[a], g[a + 1],
                        g[a + S - 1], g[a + S], g[a + S + 1],
                    )  # fmt: skip
                v = get(key)
                if v is None:
                    v = miss(key)
                if v != g[a]:
                    cells.append(a)
                    values.append(v)
            for a, v in zip(cells, values, strict=True):
                g[a] = v
                if zone[a] == 2:
                    edge.append(a)
            changed = cells
            n += 1
            if cells:
                moved += 1
            if edge:
                break
        self.changed, self.moved = changed, self.moved + moved
        if edge:
            self._grow(edge)
        return n


def dense_convolution(layers, grid: torch.Tensor, padding: float) -> torch.Tensor:
    """The reference: one candidate's patch net by torch's conv2d on (B, H+2, W+2)
    padded grids (the border cells are overwritten with `padding`) -> (B, H, W)."""
    x = F.pad(grid[:, None, 1:-1, 1:-1], (1, 1, 1, 1), value=padding)
    for i, (w, b) in enumerate(layers):
        kernel = w.reshape(len(w), 1, 3, 3) if i == 0 else w[:, :, None, None]
        x = F.conv2d(torch.relu(x) if i else x, kernel, b)
    return x[:, 0]


_SMALL = 4096  # keys from which packing goes by int32 rows (fewer passes), not a product
_POWERS: dict = {}  # device -> BASE^(8 - k), k = 0..8


def _powers(device) -> torch.Tensor:
    if device not in _POWERS:
        _POWERS[device] = BASE ** torch.arange(8, -1, -1, device=device)
    return _POWERS[device]


def _pack(digits) -> torch.Tensor:
    """int64 keys sum_k digits[k] * BASE^(8 - k) of 9 tensors of indices < BASE (three
    rows of three, each packed in int32 first)."""
    key = None
    for r in range(3):
        a, b, c = (d.to(torch.int32) for d in digits[3 * r : 3 * r + 3])
        row = ((a << 14) | (b << 7) | c).long()
        key = row if key is None else (key << 21) | row
    return key


def keys_of(codes: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """int64 keys of patches of indices, 9 along `dim`: sum_k codes[k] * BASE^(8 - k)
    (a few keys: one product and sum; many: _pack)."""
    if codes.numel() <= 9 * _SMALL:
        shape = [1] * codes.dim()
        shape[dim] = 9
        return (codes.long() * _powers(codes.device).view(shape)).sum(dim)
    return _pack(codes.unbind(dim))


def run(memo: Memo, grid: Grid, layers: int, log: list | None = None, tick=None) -> None:
    """Advance `grid` by `layers` layers in place, counting the cell evaluations in
    memo.lookups (one per cell with a uniform patch, one per input otherwise). A grid
    carries the cells its last layer changed, so successive calls continue one run;
    once a layer changes nothing the rest are skipped. `log`: if a list, gets (changed
    cells, their old indices) per layer (one input only), None for each layer skipped.
    `tick`: called after each layer run (progress; a worker's check of the load)."""
    if grid._near is None:
        grid._near = grid.near_varied()  # then updated where a cell's uniformity flips
    for done in range(layers):
        if grid.quiet:
            if log is not None:
                log.extend([None] * (layers - done))
            return
        active = grid.dilate(grid.changed)
        varied = grid._near[active]
        a_uni, a_var = active[~varied], active[varied]
        patches = grid.uni[grid.neighbours(a_uni)]  # (n, 9): the same in every input
        out_u = memo.outputs(keys_of(patches))  # uint8 indices
        out_v = grid.varied_outputs(memo, a_var) if len(a_var) else None  # (n, B)
        memo.lookups += len(a_uni) + (out_v.numel() if out_v is not None else 0)
        # every output above came from the grid as it was; now write them (synchronous)
        old_u = patches[:, 4]
        moved_u = out_u != old_u
        if log is not None:
            log.append((a_uni[moved_u], old_u[moved_u]))
        changed = a_uni[moved_u]
        grid.var[changed] = out_u[moved_u, None]
        if out_v is not None:  # a block of cells at a time (little memory beyond out_v)
            parts, step = [changed], max(1, grid.BLOCK // grid.batch)
            for cells, out in zip(a_var.split(step), out_v.split(step), strict=True):
                moved = (out != grid.var.index_select(0, cells)).any(1)
                cells, out = cells[moved], out[moved]
                grid.var[cells] = out
                same = (out == out[:, :1]).all(1)
                flipped = grid.uniform[cells] != same
                if bool(flipped.any()):
                    grid.uniform[cells] = same
                    grid._flipped(cells[flipped])
                parts.append(cells)
            changed = torch.cat(parts)
        grid.changed = changed
        grid.moved += bool(len(changed))
        if tick is not None:
            tick()


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
