"""Compile a cellular program into the RCNN's shared patch net and head, exactly.

Codes. Symbol i of the alphabet is the cell value program.code[i] (default i; the
border symbol's code is the padding p).

Layer 1 (the 3x3 convolution) decodes with steep clamps. For a position and a
threshold j (between codes j-1 and j; with integer codes)  it holds the pair

    ReLU(2 v - 2 j + 3/2),  ReLU(2 v - 2 j + 1/2),

whose difference is step_j(v) = [v >= j]: exactly 0 or 1 on every code and flat
within 1/4 of each code, so no gradient passes through decoding. Codes that are not
multiples of 1/2 (Algorithm 1's raw memory values +-1/3) are not exact floats, so
then every step is saturated by a second layer instead (see _StepLayers). Only the thresholds
a rule looks at are built, plus all of them at the centre, which is decoded too
(never passed through), so d(out)/d(grid) is exactly 0.

"Position holds a symbol of set S" is then linear in the steps (one difference of
steps per run of consecutive codes in S). The next code is

    G + sum over conjunctions u of effect_u * ReLU(sum of its indicators - (n_u - 1))

where G = decoded centre + the effects of rules that look at one position only. A
rule's effect is (target - centre) for a Guard (split per centre symbol when the
guard leaves the centre open) or `by` for a Shift. Without multi-position rules the
patch net has ONE hidden layer (G is linear in it); otherwise a second hidden layer
carries ReLU(G), ReLU(-G) and one unit per conjunction.

Carriers (program.keep): a gate pair ReLU(+-(v - code) + 1/4 - M (1 - keep)) passes
the centre value's deviation from its code, exactly 0 but with derivative 1, only
where a keep condition holds (the offset 1/4 keeps both ReLUs off their kinks).

The head is the readout as a 1-D step function of the final cell value, plus a
slope-1 tent around each `slope` code.

Every weight is a multiple of 1/2 and every code an integer, so every value the
network computes is a multiple of 1/2: arithmetic is exact in a dtype while the
largest magnitude (bounded by interval arithmetic below) stays under 2^(mantissa-1).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import torch

from .model import RCNN, OneGridRun, RCNNConfig, SharedWeights, run_layers
from .programs.cellular import CENTRE, CellularProgram, Guard, Position
from .progress import bar as progress_bar

MANTISSA_BITS = {  # significand bits, the implicit leading one included
    torch.bfloat16: 8,
    torch.float16: 11,
    torch.float32: 24,
    torch.float64: 53,
}

Linear = dict  # {(position, threshold) or "1": coefficient}: a linear form in the steps


@dataclass
class CompiledProgram:
    """A program as RCNN weights, with the sizes the paper cares about."""

    program: CellularProgram
    weights: SharedWeights
    max_magnitude: float

    @property
    def padding(self) -> float:
        return float(self.program.code[self.program.index[self.program.border]])

    @property
    def hidden(self) -> tuple[int, ...]:
        return self.weights.hidden

    @property
    def head_hidden(self) -> int:
        return self.weights.head_hidden

    @property
    def parameter_count(self) -> int:
        return self.weights.parameter_count

    @property
    def weight_values(self) -> np.ndarray:
        """The finite set U of distinct weight and bias values."""
        return self.weights.values()

    @property
    def flops_per_cell(self) -> int:
        """Multiply-adds x 2 of one cell update by the dense patch net (as torch runs it)."""
        return 2 * sum(w.size for w, _ in self.weights.body)

    @property
    def bits_needed(self) -> int:
        """Mantissa bits for exact arithmetic: values are multiples of 1/2 up to max_magnitude."""
        return int(np.ceil(np.log2(max(self.max_magnitude, 1.0)))) + 2

    def exact_in(self, dtype: torch.dtype) -> bool:
        return dtype in MANTISSA_BITS and self.bits_needed <= MANTISSA_BITS[dtype]

    def check_readout(self, cells: int, dtype: torch.dtype = torch.float32) -> None:
        """A ValueError when the head's sum over `cells` cells can leave the dtype's exact
        range (|sum| <= cells * max |readout|, in steps of 1/2)."""
        top = max((abs(float(v)) for v in self.program.readout.values()), default=0.0)
        bits = int(np.ceil(np.log2(max(cells * top, 1.0)))) + 2
        if bits > MANTISSA_BITS.get(dtype, 0):
            raise ValueError(
                f"the readout sums {cells} cells of up to {top:g} each: {bits} significand bits "
                f"needed for an exact sum, {dtype} has {MANTISSA_BITS.get(dtype, 0)}; use float64"
            )

    def summary(self) -> dict:
        return {
            "alphabet": len(self.program.symbols),
            "rules": len(self.program.rules),
            "hidden": list(self.hidden),
            "head_hidden": self.head_hidden,
            "parameters": self.parameter_count,
            "weight_values": len(self.weight_values),
            "flops_per_cell": self.flops_per_cell,
            "bits_needed": self.bits_needed,
        }

    def network(
        self,
        layers: int = 1,
        dtype: torch.dtype = torch.float32,
        d: int = 1,
        m: int = 1,
        work_columns: int = 0,
        checkpoint_every: int = 0,
    ) -> RCNN:
        """An RCNN running this program (one candidate; memory layer (m+1) x (d+1))."""
        if not self.exact_in(dtype):
            raise ValueError(
                f"{self.program.name} needs {self.bits_needed} mantissa bits for exact "
                f"arithmetic; {dtype} has {MANTISSA_BITS.get(dtype, 'unknown')}"
            )
        config = RCNNConfig(
            d=d,
            m=m,
            work_columns=work_columns,
            layers=layers,
            hidden=self.hidden,
            head_hidden=self.head_hidden,
            padding=self.padding,
            checkpoint_every=checkpoint_every,
        )
        return RCNN(config).to(dtype).load_shared(self.weights).freeze_shared()

    def encode(self, grid: np.ndarray, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Alphabet indices (H, W) or (B, H, W) -> cell values (B, 1, H, W) (one candidate)."""
        grid = np.asarray(grid)
        if grid.min(initial=0) < 0 or grid.max(initial=0) >= len(self.program.symbols):
            raise ValueError("grid holds indices outside the alphabet")
        t = torch.as_tensor(self.program.code[grid], dtype=dtype)
        return t[None, None] if t.dim() == 2 else t[:, None]

    def decode(self, values: torch.Tensor) -> np.ndarray:
        """Cell values -> alphabet indices of the same shape; raises unless every value is
        exactly a code."""
        codes = torch.as_tensor(self.program.code, dtype=values.dtype).double().numpy()
        v = values.detach().cpu().double().numpy()
        idx = np.clip(np.searchsorted(codes, v), 0, len(codes) - 1)
        bad = codes[idx] != v
        if bad.any():
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(f"cell {where} holds {v[where]!r}, which is not a code")
        return idx

    @torch.no_grad()
    def run(self, grid: np.ndarray, layers: int, dtype: torch.dtype = torch.float32) -> np.ndarray:
        """Run the program `layers` steps inside the RCNN body; returns alphabet indices."""
        net = self.network(layers=max(layers, 1), dtype=dtype)
        out = net.run_body(self.encode(grid, dtype), layers=layers)
        indices = self.decode(out[:, 0])
        return indices[0] if np.asarray(grid).ndim == 2 else indices

    def settle(
        self,
        grid: np.ndarray,
        budget: int,
        dtype: torch.dtype = torch.float32,
        progress: bool = False,
        device: str = "cpu",
        desc: str = "layers",
        one_grid: bool = False,
    ) -> tuple[np.ndarray, int]:
        """Run the program on (B, H, W) grids of alphabet indices until a fixed point, at
        most `budget` layers, in the RCNN with the change-driven evaluation (model.run_layers).
        Returns the final indices and the layers that changed some cell: fewer than
        `budget` means the grids reached a fixed point there. `progress`: a bar of the
        layers on stderr, named `desc`.

        When no rule changes a border cell (program.keeps_border), the B grids run as
        the blocks of ONE grid, each followed by a row of border cells: each sees the
        border around it exactly as alone (the patch net reads one cell each way), and
        a layer then costs the cells that change in any of them, not B times the cells
        near a change in one. Otherwise they run as a batch. `one_grid` (B = 1, CPU): the
        grid runs by model.OneGridRun instead, plain Python per changed cell with a memo of
        patch-net outputs kept across calls: far faster when a layer changes a few cells
        (one maze), slower than the tensor path when it changes many."""
        grid = np.asarray(grid)
        if grid.ndim != 3:
            raise ValueError(f"settle expects (batch, rows, cols) grids, got shape {grid.shape}")
        B, H, W = grid.shape
        if B == 0:
            return grid.copy(), 0
        runs = grid
        if self.program.keeps_border():  # each grid and the border row below it, stacked
            runs = np.full((B, H + 1, W), self.program.index[self.program.border])
            runs[:, :H] = grid
            runs = runs.reshape(1, B * (H + 1), W)
        initial = self.encode(runs, dtype).to(device)
        if one_grid and B == 1 and device == "cpu":  # each layer costs its changed cells alone
            # one network per dtype, kept: its memo (patch -> the patch net's output)
            # fills once for all the grids settled one by one
            nets = self.__dict__.setdefault("_one_grid_nets", {})
            if dtype not in nets:
                nets[dtype] = self.network(layers=1, dtype=dtype)
            out, moved = _settle_one(nets[dtype], initial, budget, progress, desc)
        else:
            net = self.network(layers=max(budget, 1), dtype=dtype).to(device)
            out, moved = run_layers(net, initial, budget, progress, desc=desc)
        return self.decode(out[:, 0]).reshape(B, -1, W)[:, :H], moved


def _settle_one(net: RCNN, grid: torch.Tensor, budget: int, progress: bool, desc: str):
    """run_layers on a (1, 1, H, W) grid by model.OneGridRun (plain Python per changed
    cell, each value the patch net's own, memoised): without a tensor layer's overhead,
    a long run that changes a few cells per layer (a wave on one string, one maze) takes
    microseconds a layer. Stops at the first layer that changes nothing."""
    run = OneGridRun(net, grid[0, 0])
    with progress_bar(desc, budget, progress, unit="layer", leave=False) as bar:
        while run.layers < budget and not run.quiet:
            n = min(1 << 12, budget - run.layers)
            run.advance(n)
            bar.update(n)
    return run.values()[None, None], run.moved


def compile_program(
    program: CellularProgram, dtype: torch.dtype = torch.float32
) -> CompiledProgram:
    """Program -> exact patch-net and head weights (see the module docstring)."""
    codes = [_fraction(c) for c in program.code]
    effects, open_guards = _effects(program, codes)
    g_form, conjunctions, new_code = _update(effects, codes)
    opened = [_open_guard(guard, codes) for guard in open_guards]
    conjunctions += [conjunction for conjunction, _ in opened]
    products = [product for _, product in opened]
    for amount in [c.amount for c in conjunctions] + list(np.diff(new_code)):
        if amount.denominator > 2:
            raise ValueError(
                f"{program.name}: an update moves a cell by {amount}, not a multiple of 1/2; "
                "map every such code to an integer code with a centre-only Guard first"
            )
    gates = [_gate(keep, program, codes) for keep in program.keep]

    forms = [g_form] + products + [c.form for c in conjunctions + gates]
    used = sorted({key for f in forms for key in f if key != "1"})
    robust = any(c.denominator > 2 for c in codes)
    layers = _StepLayers(used, codes, robust, carrier=bool(gates), low=codes[0])
    body = layers.hidden + _output_layers(layers, g_form, conjunctions, products, gates, codes)
    weights = SharedWeights(body=body, head=_readout_head(program, codes))
    compiled = CompiledProgram(program, weights, _max_magnitude(weights, codes))
    if not compiled.exact_in(dtype):
        raise ValueError(
            f"{program.name} is too large for exact {dtype} arithmetic: values reach "
            f"{compiled.max_magnitude:.3g} ({compiled.bits_needed} mantissa bits needed, "
            f"{MANTISSA_BITS.get(dtype, '?')} available)"
        )
    return compiled


Conditions = dict  # {position: set of alphabet indices}


@dataclass
class _Effect:
    """Add `amount` (code units) to the cell where every condition holds."""

    when: Conditions
    amount: Fraction


@dataclass
class _OpenGuard:
    """A multi-position guard that leaves the centre open (more than 2 symbols):
    new = G + g (target - C), with the product C g computed by one unit."""

    when: Conditions
    target: Fraction
    centre: set[int]


@dataclass
class _Conjunction:
    """ReLU(form) is 1 where every indicator in `form` holds, 0 elsewhere; where it
    does, it moves the cell by `amount`."""

    form: Linear
    amount: Fraction


@dataclass
class _Gate:
    """A carrier gate: open where the keep condition's conjunction `form` holds; the
    carrier is the centre value's deviation from the kept centre's `code`."""

    form: Linear
    code: Fraction


def _effects(program: CellularProgram, codes) -> tuple[list[_Effect], list[_OpenGuard]]:
    """Each rule as effects in code units; a Guard is split per centre symbol (its
    effect is target - centre), except an open guard (see _OpenGuard)."""
    k, index = len(codes), program.index
    effects, open_guards = [], []
    for rule in program.rules:
        when = {p: {index[s] for s in syms} for p, syms in rule.when.items()}
        if not isinstance(rule, Guard):
            effects.append(_Effect(when, _fraction(rule.by)))
            continue
        centre_set = when.get(CENTRE, set(range(k)))
        target = codes[index[rule.then]]
        integral = all(codes[c].denominator <= 2 for c in centre_set)
        if len(centre_set) > 2 and set(when) != {CENTRE} and integral:
            open_guards.append(_OpenGuard(when, target, centre_set))
            continue
        for c in sorted(centre_set):
            if index[rule.then] != c:
                effects.append(_Effect(when | {CENTRE: {c}}, target - codes[c]))
    return effects, open_guards


def _indicator(p: Position, members: set[int], k: int) -> Linear:
    """[cell at p in members] = sum over runs [a, b) of step_a - step_b."""
    form: Linear = {}
    inside = [i in members for i in range(k)]
    for j in range(k):
        before = inside[j - 1] if j > 0 else False
        if inside[j] != before:
            key = "1" if j == 0 else (p, j)
            form[key] = form.get(key, 0) + (1 if inside[j] else -1)
    return form


def _add(into: Linear, form: Linear, scale) -> None:
    for key, coef in form.items():
        into[key] = into.get(key, 0) + scale * coef


def _conjunction(when: Conditions, k: int) -> Linear:
    """sum of the indicators of `when` - (n - 1): 1 where all hold, <= 0 elsewhere."""
    form: Linear = {"1": -(len(when) - 1)}
    for p, members in when.items():
        _add(form, _indicator(p, members, k), 1)
    return form


def _update(effects: list[_Effect], codes) -> tuple[Linear, list[_Conjunction], list[Fraction]]:
    """G = F(centre) + the single-position effects elsewhere, where F(code) is the
    centre's code after the centre-only effects (a step function of the centre); every
    multi-position effect becomes a conjunction. Also returns F on every code."""
    k = len(codes)
    new_code = list(codes)
    g_form: Linear = {}
    conjunctions = []
    for effect in effects:
        if set(effect.when) == {CENTRE}:
            for c in effect.when[CENTRE]:
                new_code[c] += effect.amount
        elif len(effect.when) == 1:
            ((p, members),) = effect.when.items()
            _add(g_form, _indicator(p, members, k), effect.amount)
        else:
            conjunctions.append(_Conjunction(_conjunction(effect.when, k), effect.amount))
    _add(g_form, {"1": new_code[0]}, 1)
    for j in range(1, k):
        _add(g_form, {(CENTRE, j): 1}, new_code[j] - new_code[j - 1])
    return g_form, conjunctions, new_code


def _open_guard(guard: _OpenGuard, codes) -> tuple[_Conjunction, Linear]:
    """The guard's conjunction g (moving the cell by target - low) and the form of the
    product (C - low) g = ReLU(h(C) - span (1 - g)), subtracted from the output."""
    k, low = len(codes), codes[0]
    span = codes[-1] - low + 1
    form = _conjunction(guard.when, k)
    h = [codes[c] - low if c in guard.centre else 0 for c in range(k)]
    product: Linear = {"1": h[0] - span}
    for j in range(1, k):
        if h[j] != h[j - 1]:
            _add(product, {(CENTRE, j): 1}, h[j] - h[j - 1])
    _add(product, form, span)
    return _Conjunction(form, guard.target - low), product


def _gate(keep: Conditions, program: CellularProgram, codes) -> _Gate:
    """A carrier gate for one keep condition (see _Gate)."""
    when = {p: {program.index[s] for s in syms} for p, syms in keep.items()}
    (centre,) = keep[CENTRE]
    return _Gate(_conjunction(when, len(codes)), codes[program.index[centre]])


def _output_layers(layers, g_form, conjunctions, products, gates, codes) -> list[tuple]:
    """The layers after decoding. Without conjunctions or gates the next code G is
    linear in the steps: one output row. Otherwise a hidden layer carries ReLU(G),
    ReLU(-G), one unit per conjunction and per open-guard product, and a pair of
    carrier units per gate: ReLU(+-(v - code) + 1/4 - span (1 - conj)), open (with
    derivative 1) only where the keep condition holds, closed by a margin otherwise."""
    if not conjunctions and not gates:  # (open guards are conjunctions too)
        w_out, b_out = layers.row(g_form)
        return [(w_out[None, :], np.array([b_out]))]
    span = codes[-1] - codes[0] + 1
    rows = [layers.row(g_form)]
    rows.append((-rows[0][0], -rows[0][1]))
    rows += [layers.row(c.form) for c in conjunctions]
    rows += [layers.row(form) for form in products]
    out = [1.0, -1.0] + [float(c.amount) for c in conjunctions] + [-1.0] * len(products)
    w_v, b_v = layers.carrier()  # = v exactly, as a row
    for gate in gates:
        w_conj, b_conj = layers.row(gate.form)
        for sign in (1, -1):
            bias = sign * (b_v - gate.code) + Fraction(1, 4) - span + span * _fraction(b_conj)
            rows.append((sign * w_v + float(span) * w_conj, float(bias)))
        out += [0.5, -0.5]
    w2 = np.stack([w for w, _ in rows])
    b2 = np.array([b for _, b in rows])
    return [(w2, b2), (np.array([out]), np.zeros(1))]


def _fraction(x) -> Fraction:
    """A code as an exact fraction (1/3 stored as a float comes back as 1/3)."""
    return Fraction(x).limit_denominator(1 << 16)


class _StepLayers:
    """The hidden layers that decode positions into exact steps [v_p >= code_j].

    Codes that are multiples of 1/2 are exact inputs: one layer of ReLU pairs gives
    each step as a difference. Other codes (the raw memory values +-1/3) reach the
    first layer inexactly in floating point, so each step gets one unit
    u = ReLU(k (v - a)) (0 at code j-1, 3/2 at code j) and a second layer saturates
    it exactly: n = ReLU(1 - u) = 1 - step. The optional carrier unit passes the
    centre value v through unchanged (v - low + 1 >= 1 on every code).
    """

    def __init__(self, used, codes, robust: bool, carrier: bool, low: Fraction):
        self.slot = {key: i for i, key in enumerate(used)}
        self.robust, self.low = robust, low
        per = 1 if robust else 2
        n = per * len(used) + (1 if carrier else 0)
        w1, b1 = np.zeros((n, 9)), np.zeros(n)
        for (p, j), i in self.slot.items():
            delta = codes[j] - codes[j - 1]
            slope, start = 2 / delta, codes[j - 1] + delta / 4
            for unit in range(per):  # pair: ReLU(slope (v - start)) and the same minus 1
                col = 3 * (p[0] + 1) + (p[1] + 1)
                w1[per * i + unit, col] = float(slope)
                b1[per * i + unit] = float(-slope * start - unit)
                if (slope * start).denominator > 2:
                    raise ValueError(f"threshold {start} with slope {slope} is not exact")
        if carrier:
            w1[-1, 4], b1[-1] = 1.0, float(1 - low)
        self.hidden = [(w1, b1)]
        self.width = n
        if robust:  # saturate: n_j = ReLU(1 - u_j); the carrier unit passes through
            w2, b2 = -np.eye(n), np.ones(n)
            if carrier:
                w2[-1, -1], b2[-1] = 1.0, 0.0
            self.hidden.append((w2, b2))

    def row(self, form: Linear) -> tuple[np.ndarray, float]:
        """A linear form in the steps as weights (and bias) on the last hidden layer."""
        w, bias = np.zeros(self.width), float(form.get("1", 0))
        for key, coef in form.items():
            if key == "1":
                continue
            i = self.slot[key]
            if self.robust:  # step = 1 - n
                bias += float(coef)
                w[i] -= float(coef)
            else:  # step = first ReLU - second ReLU
                w[2 * i] += float(coef)
                w[2 * i + 1] -= float(coef)
        return w, bias

    def carrier(self) -> tuple[np.ndarray, Fraction]:
        """The centre value v as (weights, bias) on the last hidden layer."""
        w = np.zeros(self.width)
        w[-1] = 1.0
        return w, self.low - 1


def _readout_head(program: CellularProgram, codes) -> list[tuple[np.ndarray, np.ndarray]]:
    """Head: r(v) = r_0 + sum_j (r_j - r_{j-1}) step_j(v), flat around every code, plus a
    tent of slope 1 around each `slope` code (0 on the code, back to 0 halfway to its
    neighbours) through which a kept carrier reaches the output."""
    r = [float(program.readout.get(s, 0.0)) for s in program.symbols]
    if any(2 * v != int(2 * v) for v in r):
        raise ValueError("readout values must be multiples of 1/2 for exact arithmetic")
    units: list[tuple[float, float, float]] = []  # (slope on v, bias, output weight)
    for j in range(1, len(r)):
        if r[j] != r[j - 1]:
            delta = codes[j] - codes[j - 1]
            slope, start = 2 / delta, codes[j - 1] + delta / 4
            jump = r[j] - r[j - 1]
            units += [
                (float(slope), float(-slope * start), jump),
                (float(slope), float(-slope * start - 1), -jump),
            ]
    for s in program.slope:
        i = program.index[s]
        gaps = [codes[i] - codes[i - 1]] if i > 0 else []
        gaps += [codes[i + 1] - codes[i]] if i + 1 < len(codes) else []
        w = min(gaps, default=Fraction(1)) / 2
        c = codes[i]
        for offset, weight in ((-w, -1.0), (-w / 2, 2.0), (w / 2, -2.0), (w, 1.0)):
            units.append((1.0, float(-(c + offset)), weight))
    if not units:  # a constant readout still needs one (silent) hidden unit
        return [(np.zeros((1, 1)), np.zeros(1)), (np.zeros((1, 1)), np.array([r[0]]))]
    w1 = np.array([[a] for a, _, _ in units])
    b1 = np.array([b for _, b, _ in units])
    w2 = np.array([[c for _, _, c in units]])
    return [(w1, b1), (w2, np.array([r[0]]))]


def _max_magnitude(weights: SharedWeights, codes) -> float:
    """Bound on every value and partial sum the patch net and head compute on codes.

    Units that read one position (decoding layers) are evaluated on every code; a
    unit mixing positions is bounded position by position (its pre-activation is a
    sum of per-position functions); later layers by interval arithmetic.
    """
    values = np.array([float(c) for c in codes])
    worst = float(np.abs(values).max())
    for layers, width in ((weights.body, 9), (weights.head, 1)):
        pos = np.arange(width)  # which input position each unit reads (-1: several)
        h = np.repeat(values[:, None], width, axis=1)  # unit values on a uniform patch
        bound = None
        for w, b in layers:
            if bound is None:
                terms = np.abs(w) * np.abs(h).max(axis=0)
                worst = max(worst, float((terms.sum(axis=1) + np.abs(b)).max()))
                reads = [np.unique(pos[np.flatnonzero(row)]) for row in w]
                if all(len(r) <= 1 and (len(r) == 0 or r[0] >= 0) for r in reads):
                    h = h @ w.T + b  # still one position per unit: evaluate on codes
                    pos = np.array([r[0] if len(r) else 0 for r in reads])
                    worst = max(worst, float(np.abs(h).max()))
                    h = np.maximum(h, 0)
                    continue
                pre = np.full(len(b), 0.0) + b
                for p in np.unique(pos):
                    pre += (h[:, pos == p] @ w[:, pos == p].T).max(axis=0)
                bound = np.maximum(pre, 0)
                worst = max(worst, float(bound.max()))
            else:
                terms = np.abs(w) @ bound + np.abs(b)
                worst = max(worst, float(terms.max()))
                bound = terms
    return worst
