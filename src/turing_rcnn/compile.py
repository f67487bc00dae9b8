"""Compile a cellular program into the RCNN's shared patch net and head, exactly.

Codes. Symbol i of the alphabet is the cell value i (integers; the border symbol's
code is the padding p).

Layer 1 (the 3x3 convolution) decodes with steep clamps. For a position and a
threshold j (between codes j-1 and j) it holds the pair

    ReLU(2 v - 2 j + 3/2),  ReLU(2 v - 2 j + 1/2),

whose difference is step_j(v) = [v >= j]: exactly 0 or 1 on every code and flat
within 1/4 of each code, so no gradient passes through decoding. Only the thresholds
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

The head is the readout as a 1-D step function of the final cell value.

Every weight is a multiple of 1/2 and every code an integer, so every value the
network computes is a multiple of 1/2: arithmetic is exact in a dtype while the
largest magnitude (bounded by interval arithmetic below) stays under 2^(mantissa-1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .model import RCNN, RCNNConfig, SharedWeights
from .programs.cellular import CENTRE, CellularProgram, Guard, Position

MANTISSA_BITS = {torch.float32: 24, torch.float64: 53}

Linear = dict  # {(position, threshold) or "1": coefficient}: a linear form in the steps


@dataclass
class CompiledProgram:
    """A program as RCNN weights, with the sizes the paper cares about."""

    program: CellularProgram
    weights: SharedWeights
    max_magnitude: float

    @property
    def padding(self) -> float:
        return float(self.program.index[self.program.border])

    @property
    def hidden(self) -> tuple[int, ...]:
        return self.weights.hidden

    @property
    def head_hidden(self) -> int:
        return self.weights.head[0][0].shape[0]

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

    def config(self, d: int = 1, m: int = 1, work_columns: int = 0, layers: int = 1,
               checkpoint_every: int = 0) -> RCNNConfig:  # fmt: skip
        return RCNNConfig(d=d, m=m, work_columns=work_columns, layers=layers,
                          hidden=self.hidden, head_hidden=self.head_hidden,
                          padding=self.padding, checkpoint_every=checkpoint_every)  # fmt: skip

    def network(self, layers: int = 1, dtype: torch.dtype = torch.float32, **sizes) -> RCNN:
        """An RCNN running this program (memory layer sizes from `sizes`, default 1 x 2)."""
        if not self.exact_in(dtype):
            raise ValueError(
                f"{self.program.name} needs {self.bits_needed} mantissa bits for exact "
                f"arithmetic; {dtype} has {MANTISSA_BITS.get(dtype, 'unknown')}"
            )
        net = RCNN(self.config(layers=layers, **sizes)).to(dtype)
        return net.load_shared(self.weights).freeze_shared()

    def encode(self, grid: np.ndarray, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Alphabet indices (H, W) or (B, H, W) -> cell values (B, H, W)."""
        grid = np.asarray(grid)
        if grid.min(initial=0) < 0 or grid.max(initial=0) >= len(self.program.symbols):
            raise ValueError("grid holds indices outside the alphabet")
        t = torch.as_tensor(grid, dtype=dtype)
        return t.unsqueeze(0) if t.dim() == 2 else t

    def decode(self, values: torch.Tensor) -> np.ndarray:
        """Cell values -> alphabet indices; raises unless every value is exactly a code."""
        v = values.detach().cpu().double().numpy()
        idx = np.rint(v).astype(np.int64)
        bad = (v != idx) | (idx < 0) | (idx >= len(self.program.symbols))
        if bad.any():
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(f"cell {where} holds {v[where]!r}, which is not a code")
        return idx

    @torch.no_grad()
    def run(self, grid: np.ndarray, layers: int, dtype: torch.dtype = torch.float32) -> np.ndarray:
        """Run the program `layers` steps inside the RCNN body; returns alphabet indices."""
        net = self.network(layers=max(layers, 1), dtype=dtype)
        out = net.run_body(self.encode(grid, dtype), layers=layers)
        return self.decode(out)[0] if np.asarray(grid).ndim == 2 else self.decode(out)


def compile_program(
    program: CellularProgram, dtype: torch.dtype = torch.float32
) -> CompiledProgram:
    """Program -> exact patch-net and head weights (see the module docstring)."""
    k = len(program.symbols)
    index = program.index

    # Effects: (conditions, amount); conditions map positions to sets of indices.
    effects: list[tuple[dict[Position, set[int]], int]] = []
    for rule in program.rules:
        when = {p: {index[s] for s in syms} for p, syms in rule.when.items()}
        if isinstance(rule, Guard):
            for c in sorted(when.get(CENTRE, set(range(k)))):
                if index[rule.then] != c:
                    effects.append((when | {CENTRE: {c}}, index[rule.then] - c))
        else:
            effects.append((when, rule.by))

    def indicator(p: Position, members: set[int]) -> Linear:
        """[cell at p in members] = sum over runs [a, b) of step_a - step_b."""
        form: Linear = {}
        inside = [i in members for i in range(k)]
        for j in range(k + 1):
            before = inside[j - 1] if j > 0 else False
            now = inside[j] if j < k else False
            if now != before:
                sign = 1 if now else -1
                if j == 0:
                    form["1"] = form.get("1", 0) + sign
                elif j < k:
                    form[(p, j)] = form.get((p, j), 0) + sign
        return form

    def add(into: Linear, form: Linear, scale: float) -> None:
        for key, coef in form.items():
            into[key] = into.get(key, 0) + scale * coef

    # G: the decoded centre plus every single-position effect.
    g_form: Linear = {(CENTRE, j): 1 for j in range(1, k)}
    conjunctions: list[tuple[Linear, int]] = []
    for when, amount in effects:
        if len(when) == 1:
            ((p, members),) = when.items()
            add(g_form, indicator(p, members), amount)
        else:
            form: Linear = {"1": -(len(when) - 1)}
            for p, members in when.items():
                add(form, indicator(p, members), 1)
            conjunctions.append((form, amount))

    # Layer 1: a pair of ReLUs per (position, threshold) that any form uses.
    used = sorted({key for f in [g_form] + [f for f, _ in conjunctions] for key in f if key != "1"})
    slot = {key: i for i, key in enumerate(used)}
    w1 = np.zeros((2 * len(used), 9))
    b1 = np.zeros(2 * len(used))
    for (p, j), i in slot.items():
        col = 3 * (p[0] + 1) + (p[1] + 1)
        w1[2 * i, col] = w1[2 * i + 1, col] = 2.0
        b1[2 * i], b1[2 * i + 1] = -2.0 * j + 1.5, -2.0 * j + 0.5

    def row(form: Linear) -> tuple[np.ndarray, float]:
        """A linear form as weights on layer-1 units (+ on the first ReLU, - on the second)."""
        w = np.zeros(2 * len(used))
        for key, coef in form.items():
            if key != "1":
                w[2 * slot[key]] += coef
                w[2 * slot[key] + 1] -= coef
        return w, float(form.get("1", 0))

    if not conjunctions:
        w_out, b_out = row(g_form)
        body = [(w1, b1), (w_out[None, :], np.array([b_out]))]
    else:
        rows = [row(g_form)]
        rows.append((-rows[0][0], -rows[0][1]))
        rows += [row(form) for form, _ in conjunctions]
        w2 = np.stack([w for w, _ in rows])
        b2 = np.array([b for _, b in rows])
        w3 = np.array([[1.0, -1.0] + [float(a) for _, a in conjunctions]])
        body = [(w1, b1), (w2, b2), (w3, np.zeros(1))]

    head = _readout_head(program)
    weights = SharedWeights(body=body, head=head)
    compiled = CompiledProgram(program, weights, _max_magnitude(weights, k - 1))
    if not compiled.exact_in(dtype):
        raise ValueError(
            f"{program.name} is too large for exact {dtype} arithmetic: values reach "
            f"{compiled.max_magnitude:.3g} ({compiled.bits_needed} mantissa bits needed, "
            f"{MANTISSA_BITS.get(dtype, '?')} available)"
        )
    return compiled


def _readout_head(program: CellularProgram) -> list[tuple[np.ndarray, np.ndarray]]:
    """Head: r(v) = r_0 + sum_j (r_j - r_{j-1}) step_j(v), flat around every code."""
    r = [float(program.readout.get(s, 0.0)) for s in program.symbols]
    if any(2 * v != int(2 * v) for v in r):
        raise ValueError("readout values must be multiples of 1/2 for exact arithmetic")
    jumps = [(j, r[j] - r[j - 1]) for j in range(1, len(r)) if r[j] != r[j - 1]]
    if not jumps:  # a constant readout still needs one (silent) hidden unit
        return [(np.zeros((1, 1)), np.zeros(1)), (np.zeros((1, 1)), np.array([r[0]]))]
    w1 = np.full((2 * len(jumps), 1), 2.0)
    b1 = np.array([b for j, _ in jumps for b in (-2.0 * j + 1.5, -2.0 * j + 0.5)])
    w2 = np.array([[s for _, jump in jumps for s in (jump, -jump)]])
    return [(w1, b1), (w2, np.array([r[0]]))]


def _max_magnitude(weights: SharedWeights, max_code: float) -> float:
    """Interval bound on every partial sum in the patch net and head, for codes in [0, max_code]."""
    worst = 0.0
    for layers in (weights.body, weights.head):
        bound = np.full(layers[0][0].shape[1], float(max_code))
        for w, b in layers:
            terms = np.abs(w) @ bound + np.abs(b)
            worst = max(worst, float(terms.max()))
            bound = terms
    return worst
