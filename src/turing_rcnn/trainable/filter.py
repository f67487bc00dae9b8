"""The trainable filter: ONE small patch net with a few state channels, applied at every
cell and every iteration, the input recalled at every iteration (Bansal et al. 2022).

Same structure as the paper's body (a 3x3 convolution, a ReLU, a 1x1 convolution,
shared across cells and iterations), with `width` state channels instead of one and a
1x1 readout. The state is bounded by tanh and starts at 0.

`reads` says which cells of its 3x3 square a cell reads (READS; the weights of the others
are held at zero): "square", all 9; "cross", itself and its 4 neighbours (the von Neumann
neighbourhood), a prior that suits grid tasks moving along walls and paths, and a
finite-state rule of that shape has a table small enough to read off in full
(extract.py); "north-west", itself and its north and west neighbours, what the systolic
GF(2) eliminator reads (information flows down and right), a prior for learned learners.

`train` is the one Adam loop both learners train a filter with (AlgorithmLearner on a
task, MetaLearner on learning problems); each brings its own loss and validation.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Collection

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..progress import bar

READS = {  # which of the 3x3 positions (row-major) a cell reads
    "square": [[1, 1, 1], [1, 1, 1], [1, 1, 1]],
    "cross": [[0, 1, 0], [1, 1, 1], [0, 1, 0]],
    "north-west": [[0, 1, 0], [1, 1, 0], [0, 0, 0]],
}


class RecurrentFilter(nn.Module):
    """state' = tanh(mix(relu(conv3x3([state; input])))); logits = out(state).

    The 3x3 convolution over [state; input] is kept as two convolutions whose sum it
    is: the input's part is the same at every iteration, so it is computed once per run.
    """

    def __init__(self, in_channels: int, width: int, hidden: int, reads: str = "square"):
        super().__init__()
        if reads not in READS:
            raise ValueError(f"reads must be one of {sorted(READS)}, got {reads!r}")
        self.width, self.reads = width, reads
        mask = torch.tensor(READS[reads], dtype=torch.float32)
        self.register_buffer("mask", mask, persistent=False)
        self.state_conv = nn.Conv2d(width, hidden, 3, padding=1, bias=False)
        self.input_conv = nn.Conv2d(in_channels, hidden, 3, padding=1)
        self.mix = nn.Conv2d(hidden, width, 1)
        self.out = nn.Conv2d(width, 1, 1)
        with torch.no_grad():  # positions never read: stored as 0
            for conv in (self.state_conv, self.input_conv):
                conv.weight.mul_(mask)

    @property
    def cross(self) -> bool:
        return self.reads == "cross"

    @property
    def parameter_count(self) -> int:
        """Shared parameters that act (the weights of positions never read not counted)."""
        tap = self.state_conv.weight[..., 0, 0].numel() + self.input_conv.weight[..., 0, 0].numel()
        return sum(p.numel() for p in self.parameters()) - tap * int((self.mask == 0).sum())

    def initial_state(self, x: torch.Tensor) -> torch.Tensor:
        return x.new_zeros(x.shape[0], self.width, x.shape[2], x.shape[3])

    def _conv(self, z: torch.Tensor, conv: nn.Conv2d) -> torch.Tensor:
        weight = conv.weight * self.mask
        if z.shape[2] == 1:  # a 1-row grid: the zero-padded 3x3 conv only sees its middle row
            out = F.conv1d(z[:, :, 0], weight[:, :, 1], conv.bias, padding=1)
            return out[:, :, None]
        return F.conv2d(z, weight, conv.bias, padding=1)

    def recall(self, x: torch.Tensor) -> torch.Tensor:
        """The input's contribution to the hidden layer (the same at every iteration)."""
        return self._conv(x, self.input_conv)

    def held(self, state: torch.Tensor) -> torch.Tensor:
        """What a run has settled on when it stops changing (test-time halting): the
        state itself here."""
        return state

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


class DiscreteFilter(RecurrentFilter):
    """The same patch net with a FINITE state: each cell holds one of k symbols.

    The state is a one-hot vector over the k symbols (symbol 0 everywhere at the start);
    a step computes k logits from the 3x3 neighbourhood of one-hots and inputs, and
    the next symbol is their argmax. Training passes gradients straight through the
    argmax (the forward value is the hard one-hot, the backward the softmax's gradient).
    So after training the cell update IS a function from the neighbourhood's symbols
    and inputs to a symbol, and the readout a function of the symbol: a finite rule
    that extract.py reads off and compile.py turns into an exact filter.

    `temperature` > 0 (annealed discretisation, set by `train` from the config's
    `anneal`): steps taken with gradient pass softmax(logits / temperature) forward
    instead, a continuous state that hardens as the temperature falls to 0. Steps
    without gradient (validation, predict, read-off) are always hard.
    """

    def __init__(self, in_channels: int, symbols: int, hidden: int, reads: str = "square"):
        super().__init__(in_channels, symbols, hidden, reads)
        self.symbols = symbols
        self.temperature = 0.0

    def initial_state(self, x: torch.Tensor) -> torch.Tensor:
        state = x.new_zeros(x.shape[0], self.width, x.shape[2], x.shape[3])
        state[:, 0] = 1.0
        return state

    def logits(self, state: torch.Tensor, recalled: torch.Tensor) -> torch.Tensor:
        """The k logits of the next symbol at every cell."""
        return self.mix(F.relu(self._conv(state, self.state_conv) + recalled))

    def held(self, state: torch.Tensor) -> torch.Tensor:
        """The symbol each cell holds: a run has settled when these stop changing (the
        float state carries rounding noise of hard + soft - soft, far below any argmax
        margin, which could keep a settled run "changing" in its last bits)."""
        return state.argmax(1)

    def step(self, state: torch.Tensor, recalled: torch.Tensor) -> torch.Tensor:
        logits = self.logits(state, recalled)
        if self.temperature > 0 and torch.is_grad_enabled():
            return torch.softmax(logits / self.temperature, dim=1)
        soft = torch.softmax(logits, dim=1)
        hard = F.one_hot(logits.argmax(1), self.symbols).permute(0, 3, 1, 2).to(soft.dtype)
        return hard + soft - soft.detach()  # value: hard; gradient: the softmax's


# ---- hints: a hand-written rule's trace as targets for a DiscreteFilter ---------------------
def hint_states(program, starts: Collection[str]) -> np.ndarray:
    """The DiscreteFilter state standing for each symbol of a hint program (a rule
    whose trace supervises the filter) when a cell holds it: a cell holding the symbol
    it started from is state 0 (the cell's input says which); every other symbol its
    own state 1, 2, ...: first those no cell starts from, then the start symbols (a cell
    may come to hold another cell's start symbol: a data bit that elimination clears);
    the border, never held, -1. Rules whose cells never hold another's start symbol
    use only the first block."""
    symbols = [s for s in program.symbols if s != program.border]
    extra = [s for s in symbols if s not in starts] + [s for s in symbols if s in starts]
    return np.array([1 + extra.index(s) if s in extra else -1 for s in program.symbols])


def hint_trace(
    program, starts: Collection[str], grid: np.ndarray, steps: int, active=None, answer=False
):
    """A hint program run `steps` steps from grids (B, H, W) of its symbol indices (a
    cell changes only from layer `active` on, if given) -> (steps + 1, B, H, W) filter
    states (hint_states, with state 0 where a cell holds its own start symbol); with
    `answer`, also the program's readout of its last grid (B, H, W) float32, the target
    its trace leads to. `starts`: the symbols cells start from (a grid's layer 0 holds
    only those: else an error, a bug in the caller)."""
    if not np.isin(grid, [program.index[s] for s in starts]).all():
        raise ValueError(f"{program.name}: a cell starts from a symbol not among the starts")
    trace = [grid]
    for layer in range(steps):
        new = program.step_many(grid)
        if active is None and np.array_equal(new, grid):  # a fixed point: it stays
            trace += [grid] * (steps - layer)
            break
        grid = new if active is None else np.where(active <= layer, new, grid)
        trace.append(grid)
    trace = np.array(trace)
    states = np.where(trace == trace[0], 0, hint_states(program, starts)[trace])
    if not answer:
        return states
    return states, program.readout_values()[grid].astype(np.float32)


def hint_loss(logits: torch.Tensor, before: torch.Tensor, after: torch.Tensor):
    """Cross-entropy of a filter's next-symbol logits (N, k, H, W) against a hint's
    next states `after` (N, H, W), given its states `before`: the mean over cells the
    hint changes plus the mean over cells it keeps, so the rare changes (a wave's
    front) weigh as much as the many cells that stay put."""
    ce = F.cross_entropy(logits, after, reduction="none")
    changed = after != before
    parts = [ce[changed], ce[~changed]]
    return sum(p.mean() for p in parts if p.numel())


ANNEAL_UNTIL = 0.6  # annealing: the share of the budget after which the state is hard


def anneal_temperature(spent: float) -> float:
    """The temperature of annealed discretisation when a share `spent` of the training
    budget is used: 1 at the start, falling linearly to 0 (hard, straight-through) at
    ANNEAL_UNTIL, so the last 40% trains the finite-state filter that is read off."""
    return max(0.0, 1.0 - spent / ANNEAL_UNTIL)


def train(
    net: nn.Module,
    cfg,
    loss: Callable[[], torch.Tensor],
    scores: Callable[[], list[float]],
    record: Callable[[int, float, float, list[float]], None],
    save: Callable[[], None] | None,
    desc: str,
    progress: bool,
) -> tuple[int, float]:
    """Adam on loss() with cosine decay over cfg.max_steps and gradients clipped to norm
    1. At every cfg.eval_every-th step and the last, the validation scores() (each in
    [0, 1]): the weights with the best sum are kept (ties: the later), record(step,
    seconds, loss, scores) logs them and save() checkpoints. Stops after cfg.patience
    perfect validations in a row, at cfg.max_steps or after cfg.max_minutes; the kept
    weights are loaded. cfg.anneal: a DiscreteFilter's temperature follows
    anneal_temperature of the larger share spent, of steps or of minutes. Returns
    (steps run, seconds)."""
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    decay = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.max_steps)
    perfect, best, start = 0, (-1.0, None), time.perf_counter()
    with bar(desc, cfg.max_steps, progress, unit="step") as line:
        for step in range(1, cfg.max_steps + 1):
            if cfg.anneal:
                spent = (time.perf_counter() - start) / 60 / cfg.max_minutes
                net.temperature = anneal_temperature(max((step - 1) / cfg.max_steps, spent))
            value = loss()
            opt.zero_grad()
            value.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            decay.step()
            line.update(1)
            minutes = (time.perf_counter() - start) / 60
            last = step == cfg.max_steps or minutes >= cfg.max_minutes
            if step % cfg.eval_every and not last:
                continue
            line.set_postfix_str("validating", refresh=False)
            now = scores()
            perfect = perfect + 1 if min(now) == 1.0 else 0
            if sum(now) >= best[0]:  # ties: the later weights
                best = (sum(now), copy.deepcopy(net.state_dict()))
            record(step, time.perf_counter() - start, value.item(), now)
            line.set_postfix(loss=f"{value.item():.4f}", val="/".join(f"{s:.3f}" for s in now))
            if save:
                save()
            if perfect >= cfg.patience or last:
                break
    net.load_state_dict(best[1])
    if cfg.anneal:
        net.temperature = 0.0
    return step, time.perf_counter() - start
