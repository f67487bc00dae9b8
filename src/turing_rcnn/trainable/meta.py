"""SGD learns the LEARNER: a finite-state filter meta-trained over many learning problems,
its rule read off, verified, and run inside the Theorem 1 frame by Algorithm 1.

A problem (X, y, x) is laid out exactly as the frame hands it to a learner program
(programs/learning.py): rows of 'D0'/'D1' data bits with the label 'L0'/'L1' in column
d, the test row 'T0'/'T1' with the answer cell '?', work columns '_'. The frame does
not show the layout at once: it decodes it in a wave from the answer cell, so the cell
(a, j) holds its layout symbol from layer `reveal[a, j]` on (read off the frame's own
reference simulator, `reveal_layers`), and a learner rule can fire at a cell only
when all 9 cells of its neighbourhood hold learner symbols (before that a neighbour
holds a frame symbol that no learner rule names). Meta-training runs the filter with
exactly that schedule (`active_layers`: a cell updates from layer max(reveal over its
neighbourhood) on), for exactly the frame's L = 3 + m + d + time(m, d) layers, and
the loss is the answer cell's readout against the family's reference learner (and
the same at a later layer, so the answer stays put). So the extracted table, wrapped
as a LearnerProgram (`MetaRule.learner`), runs in the frame as it ran in training.

Smaller rules: families whose answer depends only on the labels train with the data
and test cells read-only (a prior, said in the docs); after training, `freeze` keeps
further input codes read-only where the validation answers stay perfect. `read_rule`
tabulates the network on every neighbourhood met (completed over the bits of read-only
cells) and `merge`s the table exactly into guards with symbol sets. `verify` checks
the rule against the reference (exhaustive small problems, every label pattern, random
large ones, the answer staying put) and then inside the compiled frame by Algorithm 1.

The families, with their time bounds t(m, d) (the layers granted after the layout is
decoded): last-label, first-label, majority (ties -> +1), nearest-neighbour (Hamming,
first in order on ties), gauss (GF(2) elimination, the moonshot).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from .. import guard, integrity
from ..frame import build_frame, frame_layers
from ..programs.cellular import CellularProgram, Guard
from ..programs.learning import (
    LAYOUT,
    LearnerProgram,
    first_label_reference,
    gauss,
    gauss_reference,
    last_label_reference,
    majority_reference,
    majority_wave,
)
from ..progress import bar, heartbeat
from .config import MAX_SYMBOLS, MetaConfig
from .extract import (
    BORDER,
    Rule,
    _neighbourhoods,
    _next_symbol,
    _program,
    load_json,
    merge,
    sealed_json,
)
from .filter import DiscreteFilter, train
from .filter import hint_trace as filter_hint_trace

INPUTS = LAYOUT[:8]  # the layout symbols a learner starts from: '_' D0 D1 L0 L1 T0 T1 '?'
ANSWER = INPUTS.index("?")
LARGE = ((16, 4), (32, 8), (64, 16))  # verify's (b): random problems at these (m, d)


def nearest_neighbour_reference(X, y, X_test) -> np.ndarray:
    """The label of the training example nearest in Hamming distance (first on ties)."""
    dist = (np.asarray(X_test)[:, None, :] != np.asarray(X)[None, :, :]).sum(-1)
    return np.asarray(y)[dist.argmin(1)].astype(np.int8)


@dataclass(frozen=True)
class Family:
    """A learner family: its reference A(S)(x), the layers t(m, d) it is granted, and
    whether its answer depends on the data bits. A family whose answer depends only on
    the labels trains with the data and test cells read-only (a prior we give SGD: its
    rule may write only in the label column, the answer cell and the work space).
    `hint`: a hand-written cellular learner whose trace may supervise every cell
    (MetaConfig.hints), or None."""

    name: str
    reference: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
    time: Callable[[int, int], int]
    description: str
    reads_data: bool = False
    hint: Callable[[], LearnerProgram] | None = None


FAMILIES = {
    f.name: f
    for f in (
        Family("last-label", last_label_reference, lambda m, d: 4, "label of the last example"),
        Family("first-label", first_label_reference, lambda m, d: m + 4, "label of the first"),
        Family(
            "majority",
            majority_reference,
            lambda m, d: 3 * m + 4,
            "majority, ties -> +1",
            hint=majority_wave,
        ),
        Family(
            "nearest-neighbour",
            nearest_neighbour_reference,
            lambda m, d: 2 * (m + d) + 4,
            "label of the nearest example in Hamming distance (first on ties)",
            reads_data=True,
        ),
        Family(
            "gauss",
            gauss_reference,
            lambda m, d: m + 2 * d + 4,
            "GF(2) elimination",
            reads_data=True,
            hint=gauss,
        ),
    )
}


def get_family(name: str) -> Family:
    if name not in FAMILIES:
        raise ValueError(f"unknown learner family {name!r}; choose one of {sorted(FAMILIES)}")
    return FAMILIES[name]


# ---- the layout and the frame's schedule ----------------------------------------------
def layout_codes(X: np.ndarray, y: np.ndarray, x: np.ndarray, work: int = 1) -> np.ndarray:
    """Problems (B, m, d) +-1 data, (B, m) labels, (B, d) test points -> (B, m+1, d+1+work)
    indices into INPUTS of the decoded layout (bit 1 <-> value -1)."""
    B, m, d = X.shape
    codes = np.zeros((B, m + 1, d + 1 + work), dtype=np.int64)  # '_' everywhere first
    codes[:, :m, :d] = np.where(X == -1, 2, 1)
    codes[:, :m, d] = np.where(y == -1, 4, 3)
    codes[:, m, :d] = np.where(x == -1, 6, 5)
    codes[:, m, d] = ANSWER
    return codes


def raw_symbols(X: np.ndarray, y: np.ndarray, x: np.ndarray, work: int = 1) -> list[list[str]]:
    """The frame's layer-0 grid for one problem after Algorithm 1: row a holds the signs of
    (1/3) y_a (x_a * x, 1), the dummy row those of (x, 1), work columns 'ONE'."""
    m, d = X.shape
    rows = np.concatenate([X * y[:, None] * x[None, :], y[:, None]], 1)
    rows = np.concatenate([rows, np.append(x, 1)[None]], 0)
    return [["P" if v > 0 else "N" for v in row] + ["ONE"] * work for row in rows]


def _bare_learner(work: int) -> LearnerProgram:
    """A learner with no rules: the frame around it only decodes the layout."""
    return LearnerProgram(
        "bare",
        CellularProgram(LAYOUT, "_", []),
        {0: "D0", 1: "D1"},
        {"+": 1, "-": -1},
        time=lambda m, d: 0,
        reference=last_label_reference,
        work_columns=work,
    )


@lru_cache(maxsize=256)
def reveal_layers(m: int, d: int, work: int = 1) -> np.ndarray:
    """(m+1, d+1+work): the first layer at which each cell holds its layout symbol, read
    off the frame's reference simulator (the wave does not depend on the data; a test
    holds it to that)."""
    frame = build_frame(_bare_learner(work))
    rng = np.random.default_rng(0)
    X, y, x = rng.choice([-1, 1], (m, d)), rng.choice([-1, 1], m), rng.choice([-1, 1], d)
    grid = frame.encode(raw_symbols(X, y, x, work))
    layout = np.isin(np.arange(len(frame.symbols)), [frame.index[s] for s in LAYOUT])
    reveal = np.full(grid.shape, -1)
    for layer in range(frame_layers(m, d, 0) + 1):
        reveal[(reveal < 0) & layout[grid]] = layer
        grid = frame.step(grid)
    if (reveal < 0).any():
        raise RuntimeError("the frame did not decode every cell")  # a bug, not a user error
    return reveal


@lru_cache(maxsize=256)
def active_layers(m: int, d: int, work: int = 1) -> np.ndarray:
    """The first layer at which a learner rule can fire at each cell: every cell of its
    3x3 neighbourhood holds a layout (or learner) symbol; beyond the grid is the border."""
    padded = np.pad(reveal_layers(m, d, work), 1)
    H, W = padded.shape[0] - 2, padded.shape[1] - 2
    windows = [padded[r : r + H, c : c + W] for r in range(3) for c in range(3)]
    return np.max(windows, axis=0)


def layers_for(family: Family, m: int, d: int) -> int:
    """L: the frame's layer budget with the family's time bound (frame.frame_layers)."""
    return frame_layers(m, d, family.time(m, d))


def _step(net: DiscreteFilter, state: torch.Tensor, recalled: torch.Tensor) -> torch.Tensor:
    """One step of the filter; without gradient, exact one-hots (the straight-through
    value hard + soft - soft can be off by a rounding, which extraction must not see)."""
    new = net.step(state, recalled)
    if torch.is_grad_enabled():
        return new
    return F.one_hot(new.argmax(1), net.symbols).permute(0, 3, 1, 2).to(new.dtype)


# ---- problems ------------------------------------------------------------------------------
def sample(family: Family, count: int, m: int, d: int, rng: np.random.Generator):
    """`count` random problems of size (m, d): data, labels (each problem its own share
    of -1 labels, so majorities of every margin occur), test points, and the family's
    answers (count,) +-1."""
    X = rng.choice(np.array([-1, 1], dtype=np.int8), (count, m, d))
    y = np.where(rng.random((count, m)) < rng.random((count, 1)), -1, 1).astype(np.int8)
    x = rng.choice(np.array([-1, 1], dtype=np.int8), (count, d))
    answers = np.array([family.reference(X[i], y[i], x[i : i + 1])[0] for i in range(count)])
    return X, y, x, answers.astype(np.int8)


def run_filter(
    net: DiscreteFilter, codes: np.ndarray, layers: list[int], frozen=(), work: int = 1
) -> list[torch.Tensor]:
    """Run the filter on laid-out problems (B, m+1, d+1+work) with the frame's schedule;
    the answer cell's logit (B,) at each of `layers` (increasing). Cells whose input code
    is in `frozen` never change."""
    B, H, W = codes.shape
    m, d = H - 1, W - 1 - work
    x = F.one_hot(torch.as_tensor(codes), len(INPUTS)).permute(0, 3, 1, 2).float()
    active = schedule(codes, frozen, work)[:, None]
    state, recalled, out = net.initial_state(x), net.recall(x), []
    for layer in range(max(layers) + 1):
        if layer in layers:
            out.append(net.out(state)[:, 0, m, d])
        if layer < max(layers):
            state = torch.where(active <= layer, _step(net, state, recalled), state)
    return out


def schedule(codes: np.ndarray, frozen=(), work: int = 1) -> torch.Tensor:
    """(B, H, W): the first layer at which each cell may change (active_layers), or
    never (a huge layer) for cells whose input code is frozen."""
    m, d = codes.shape[1] - 1, codes.shape[2] - 1 - work
    active = np.where(np.isin(codes, list(frozen)), 2**40, active_layers(m, d, work))
    return torch.as_tensor(active)


@lru_cache(maxsize=8)
def _hint(family: Family) -> LearnerProgram:
    """The family's hint, built once (GF(2) elimination's takes tens of ms)."""
    return family.hint()


def hint_start(hint: LearnerProgram, codes: np.ndarray) -> np.ndarray:
    """The hint program's layer-0 grids (B, H, W) for laid-out problems: each cell its
    layout symbol, the top-left cell the hint's own start for its bit (the learner
    contract: GF(2) elimination starts there announced); a filter state 0 everywhere."""
    program = hint.program
    grid = np.array([program.index[s] for s in INPUTS])[codes]
    top = {INPUTS.index(f"D{b}"): program.index[s] for b, s in hint.start.items()}
    grid[:, 0, 0] = [top.get(c, g) for c, g in zip(codes[:, 0, 0], grid[:, 0, 0], strict=True)]
    return grid


def hint_trace(family: Family, codes: np.ndarray, layers: int, frozen=()) -> np.ndarray:
    """The family's hand-written rule run on laid-out problems (B, H, W) with the
    frame's schedule, as run_filter runs the filter: (layers + 1, B, H, W) filter
    states (filter.hint_states: a cell holding its own start symbol is state 0)."""
    hint = _hint(family)
    starts = INPUTS + list(hint.start.values())
    active = schedule(codes, frozen).numpy()
    return filter_hint_trace(hint.program, starts, hint_start(hint, codes), layers, active)


@dataclass
class MetaHistory:
    step: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)  # at m <= max_m
    val_accuracy_long: list[float] = field(default_factory=list)  # at 2 max_m


class MetaLearner(BaseEstimator):
    """Meta-train a DiscreteFilter to answer as a learner family does, on problems laid
    out and revealed as the Theorem 1 frame does (see the module docstring).

    config: MetaConfig (None: its defaults); progress: show a progress bar.
    Fitted attributes: config_, family_, net_, frozen_ (input codes whose cells the
    learned learner never changes), val_accuracy_ (the worst validation set's accuracy
    of the weights kept), history_, steps_, train_seconds_."""

    def __init__(self, config: MetaConfig | None = None, progress: bool = True):
        self.config = config
        self.progress = progress

    def fit(self, checkpoint: str | None = None) -> MetaLearner:
        """Adam on the answer cell's loss at layer L and at a random later layer (the
        answer must stay put), sizes m in 1..max_m, d in 1..max_d drawn per step; keeps
        the weights that validated best; stops after `patience` perfect validations.
        Then `freeze`: a smaller rule, if the filter validated perfectly."""
        self._done = False
        cfg = self.config_ = self.config or MetaConfig()
        self.family_ = get_family(cfg.learner)
        rng = np.random.default_rng(cfg.seed)
        with torch.random.fork_rng():
            torch.manual_seed(cfg.seed)
            self.net_ = DiscreteFilter(len(INPUTS), cfg.symbols, cfg.hidden)
        sizes = [(cfg.max_m, cfg.max_d), (max(1, cfg.max_m // 2), 1), (2 * cfg.max_m, cfg.max_d)]
        val = [(m, d, *sample(self.family_, cfg.val_size, m, d, rng)) for m, d in sizes]
        self.history_, self.steps_, self.train_seconds_ = MetaHistory(), 0, 0.0
        read_only = [] if self.family_.reads_data else ["D0", "D1", "T0", "T1"]
        self.frozen_ = [INPUTS.index(s) for s in read_only]
        self._train(cfg, rng, val, checkpoint)
        self.freeze(val)
        if checkpoint:
            self.save(checkpoint)
        self._done = True
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return getattr(self, "_done", False)

    def _loss(self, cfg: MetaConfig, rng: np.random.Generator) -> torch.Tensor:
        m, d = int(rng.integers(1, cfg.max_m + 1)), int(rng.integers(1, cfg.max_d + 1))
        X, y, x, answers = sample(self.family_, cfg.batch_size, m, d, rng)
        layers = layers_for(self.family_, m, d)
        target = torch.as_tensor(answers == 1, dtype=torch.float32)
        codes = layout_codes(X, y, x)
        if cfg.hints:
            return self._hint_loss(codes, layers, target)
        later = layers + int(rng.integers(1, layers + 1))
        logits = run_filter(self.net_, codes, [layers, later], self.frozen_)
        return sum(F.binary_cross_entropy_with_logits(z, target) for z in logits)

    def _hint_loss(self, codes: np.ndarray, layers: int, target: torch.Tensor) -> torch.Tensor:
        """Hints, with teacher forcing: at every layer < L every cell that may change is
        asked for the hand-written rule's next symbol given the rule's own grid
        (cross-entropy, the mean over those cells: the labels' fall is not rare, unlike
        a maze's dead-end fronts, for which train-algo weighs changes and keeps equally,
        filter.hint_loss), and the readout of the answer cell's symbol at layer L for the
        answer. The filter never runs on its own here; validation runs it."""
        net, (H, W) = self.net_, codes.shape[1:]
        trace = torch.as_tensor(hint_trace(self.family_, codes, layers, self.frozen_))
        x = F.one_hot(torch.as_tensor(codes), len(INPUTS)).permute(0, 3, 1, 2).float()
        state = F.one_hot(trace, net.symbols).permute(0, 1, 4, 2, 3).float()
        logits = net.logits(state[:-1].flatten(0, 1), net.recall(x).repeat(layers, 1, 1, 1))
        ce = F.cross_entropy(logits, trace[1:].flatten(0, 1), reduction="none")
        changes = schedule(codes, self.frozen_)[None] <= torch.arange(layers)[:, None, None, None]
        m, d = H - 1, W - 2  # one work column
        answer = net.out(state[-1])[:, 0, m, d]
        return ce[changes.flatten(0, 1)].mean() + F.binary_cross_entropy_with_logits(answer, target)

    def _train(self, cfg: MetaConfig, rng, val, checkpoint) -> None:
        def record(step: int, seconds: float, loss: float, scores: list[float]) -> None:
            h = self.history_
            h.step.append(step)
            h.seconds.append(seconds)
            h.loss.append(loss)
            h.val_accuracy.append(min(scores[:2]))
            h.val_accuracy_long.append(scores[2])

        self.steps_, self.train_seconds_ = train(
            self.net_,
            cfg,
            lambda: self._loss(cfg, rng),
            lambda: [self._accuracy(*v) for v in val],
            record,
            (lambda: self.save(checkpoint)) if checkpoint else None,
            f"meta-train {cfg.learner}",
            self.progress,
        )

    def freeze(self, val) -> list[str]:
        """Prune the learned learner: for each input code in turn (data and test bits
        first, then the work space, the labels, the answer cell), freeze its cells (they
        keep their first symbol) if the answers on every validation set stay perfect.
        The rule then has no entries for frozen cells, so fewer neighbourhoods to read
        off and a smaller table. Nothing is frozen for a filter that is not perfect."""
        with heartbeat("meta-train: validating the weights kept", self.progress):
            self.val_accuracy_ = min(self._accuracy(*v) for v in val)  # of the kept weights
        if self.val_accuracy_ < 1.0:
            return self.frozen_
        codes = [INPUTS.index(s) for s in ("D0", "D1", "T0", "T1", "_", "L0", "L1", "?")]
        for code in bar(
            "meta-train: freezing input codes", iterable=codes, enabled=self.progress, unit="code"
        ):
            if code in self.frozen_:
                continue
            self.frozen_.append(code)
            if min(self._accuracy(*v) for v in val) < 1.0:
                self.frozen_.pop()
        return self.frozen_

    @torch.no_grad()
    def answers(self, X, y, x) -> np.ndarray:
        """The network's answers (B,) +-1 on problems of one size, read at layer L."""
        check_is_fitted(self, "net_")
        m, d = X.shape[1:]
        logit = run_filter(
            self.net_, layout_codes(X, y, x), [layers_for(self.family_, m, d)], self.frozen_
        )
        return np.where(logit[0].numpy() > 0, 1, -1).astype(np.int8)

    def size_accuracy(
        self, sizes=LARGE, count: int = 100, seed: int = 0, progress: bool = False
    ) -> dict[str, float]:
        """The filter's own accuracy on `count` random problems per (m, d), keyed "m x d"
        (by default verify's large sizes: a filter wrong there gives a rule that is too,
        so reading one off is not worth its minutes); `progress`: a bar on stderr."""
        rng, out = np.random.default_rng(seed), {}
        desc = "meta-train: the filter at larger sizes"
        for m, d in bar(desc, iterable=sizes, enabled=progress, unit="size"):
            X, y, x, want = sample(self.family_, count, m, d, rng)
            out[f"{m}x{d}"] = float((self.answers(X, y, x) == want).mean())
        return out

    def _accuracy(self, m, d, X, y, x, answers) -> float:
        return float((self.answers(X, y, x) == answers).mean())

    def summary(self) -> dict:
        check_is_fitted(self, "net_")
        cfg = self.config_
        return {
            "learner": cfg.learner,
            "parameters": self.net_.parameter_count,
            "symbols": cfg.symbols,
            "steps": self.steps_,
            "train_seconds": round(self.train_seconds_, 1),
            "val_accuracy": round(self.val_accuracy_, 6),
            "frozen": [INPUTS[c] for c in sorted(self.frozen_)],
        }

    def plot(self, path: str) -> str:
        """Loss and validation accuracy against training steps, as a PNG."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        h, cfg = self.history_, self.config_
        fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.2))
        a.semilogy(h.step, h.loss)
        a.set(xlabel="step", ylabel="training loss")
        b.plot(h.step, h.val_accuracy, label=f"m <= {cfg.max_m}")
        b.plot(h.step, h.val_accuracy_long, label=f"m = {2 * cfg.max_m}")
        b.set(xlabel="step", ylabel="answers right", ylim=(-0.02, 1.02))
        b.legend()
        fig.suptitle(f"meta-training {cfg.learner}: {self.net_.parameter_count} shared parameters")
        fig.tight_layout()
        with guard.atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=120, format="png")
        plt.close(fig)
        return path

    def save(self, path: str) -> None:
        blob = {
            "config": asdict(self.config_),
            "state_dict": self.net_.state_dict(),
            "frozen": list(self.frozen_),
            "history": asdict(self.history_),
            "steps": self.steps_,
            "train_seconds": self.train_seconds_,
        }
        blob[integrity.HASH_KEY] = integrity.model_hash(blob)  # sealed, as a filter's
        with guard.atomic_path(path) as tmp:
            torch.save(blob, tmp)


# ---- the rule: read off, wrapped as a learner, run as a table ------------------------------
def _distinct(rows: np.ndarray) -> np.ndarray:
    """The distinct rows of (n, w) small integers (states < 128, codes, -1), sorted
    as bytes (one key per row: a fast unique)."""
    rows = np.ascontiguousarray(rows, dtype=np.int8)
    keys = np.unique(rows.view(np.dtype((np.void, rows.shape[1]))).reshape(-1))
    return keys.view(np.int8).reshape(-1, rows.shape[1])


def _neighbourhood_rows(
    learner: MetaLearner, problems: list, work: int = 1, progress: bool = False
) -> np.ndarray:
    """Every (states, input codes) neighbourhood, (n, 18), at which a rule fires in runs of
    the filter on `problems` (batches (X, y, x) of one size each) for 2 L layers: cells
    whose neighbourhood the frame has decoded (-1: beyond the grid)."""
    net, c = learner.net_, len(INPUTS)
    rows = np.zeros((0, 18), dtype=np.int8)
    desc = "read off: neighbourhoods met"
    for X, y, x in bar(desc, iterable=problems, enabled=progress, unit="batch"):
        m, d = X.shape[1:]
        codes = layout_codes(X, y, x, work)
        near_codes = _neighbourhoods(codes)
        active = schedule(codes, learner.frozen_, work)
        fires = active.reshape(-1).numpy()  # per cell, the first layer its rule may fire
        grid, met = torch.as_tensor(codes), []
        onehot = F.one_hot(grid, c).permute(0, 3, 1, 2).float()
        state, recalled = net.initial_state(onehot), net.recall(onehot)
        with torch.no_grad():
            for layer in range(2 * layers_for(learner.family_, m, d)):
                near = _neighbourhoods(state.argmax(1).numpy())
                met.append(_distinct(np.concatenate([near, near_codes], 1)[fires <= layer]))
                step = _step(net, state, recalled)
                state = torch.where(active[:, None] <= layer, step, state)
        rows = _distinct(np.concatenate([rows, *met]))
    return rows.astype(np.int64)


def read_rule(
    learner: MetaLearner, seed: int = 0, count: int = 64, progress: bool = False
) -> MetaRule:
    """The rule of a meta-trained filter: its table on every neighbourhood met in runs on
    `count` random problems of every size m <= 2 max_m, d <= max_d, plus every label
    pattern for m <= 6 (m <= 12, as many as verify's check (a), for a filter trained
    with hints, whose states meet more neighbourhoods), completed
    over the bits of frozen data cells (_every_bit); the positive symbols of its
    readout are the answer. `progress`: a bar and a heartbeat on stderr."""
    check_is_fitted(learner, "net_")
    cfg, rng = learner.config_, np.random.default_rng(seed)
    problems = [
        sample(learner.family_, count, m, d, rng)[:3]
        for m in range(1, 2 * cfg.max_m + 1)
        for d in range(1, cfg.max_d + 1)
    ]
    patterns = 12 if cfg.hints else 6
    problems += [every_label_pattern(m, 1 + m % cfg.max_d, rng) for m in range(1, patterns + 1)]
    rows = _neighbourhood_rows(learner, problems, progress=progress)
    with heartbeat("read off: the table, merged into guards", progress):
        rows = _every_bit(rows, learner.frozen_)
        inputs = np.eye(len(INPUTS), dtype=np.float32)
        nxt = _next_symbol(learner.net_, rows[:, :9], rows[:, 9:], inputs)
        rule = _program(learner.net_, rows, nxt, inputs, task="learner", every_position=True)
        program = rule.program
        rule.program = CellularProgram(
            program.symbols,
            program.border,
            [Guard(when, then) for when, then in merge(program.guards)],
            program.readout,
            name=f"{cfg.learner} (learned by SGD)",
        )
    return MetaRule(rule, cfg.learner)


def _every_bit(rows: np.ndarray, frozen) -> np.ndarray:
    """Neighbourhood rows (n, 18) completed over the bits of frozen data and test cells:
    such a cell always holds its first symbol, so every row met with a D0 there is also
    asked with D1 (and T0 with T1, and back): the table covers every data bit around the
    state patterns met, not only the bit patterns the sample held (other data may still
    lead to states never met: verify finds out)."""
    pairs = [(a, b) for a, b in ((1, 2), (5, 6)) if a in frozen and b in frozen]
    for j in range(9):
        for a, b in pairs:
            flip = rows[(rows[:, j] == 0) & np.isin(rows[:, 9 + j], (a, b))].copy()
            flip[:, 9 + j] = a + b - flip[:, 9 + j]
            rows = np.unique(np.concatenate([rows, flip]), axis=0)
    return rows


def every_label_pattern(m: int, d: int, rng: np.random.Generator):
    """All 2^m label patterns of m examples, with random data and test points."""
    y = np.array(np.meshgrid(*[[1, -1]] * m, indexing="ij")).reshape(m, -1).T.astype(np.int8)
    X = rng.choice(np.array([-1, 1], dtype=np.int8), (len(y), m, d))
    x = rng.choice(np.array([-1, 1], dtype=np.int8), (len(y), d))
    return X, y, x


def _rename(symbol: str) -> str:
    """Rule symbols to learner symbols: s0i<c> is the layout symbol INPUTS[c] itself
    (a cell starts there), s<k>i<c> is '<layout symbol>.<k>'; the border stays '#'."""
    if symbol == BORDER:
        return symbol
    state, code = (int(v) for v in symbol[1:].split("i"))
    return INPUTS[code] if state == 0 else f"{INPUTS[code]}.{state}"


@dataclass
class MetaRule:
    """A learned learner: the extracted rule (extract.Rule, task 'learner') and its family."""

    rule: Rule
    family: str

    def learner(self) -> LearnerProgram:
        """The rule as a learner program for build_frame (programs/learning.py's
        contract): it starts from the layout symbols, answers at '?' (every state of the
        answer cell reads +1 or -1 by the learned readout) within the family's time."""
        program, family = self.rule.program, get_family(self.family)
        own = [_rename(s) for s in program.symbols if s != BORDER]
        symbols = LAYOUT + [s for s in own if s not in LAYOUT] + [BORDER]
        guards = [
            Guard({p: [_rename(s) for s in v] for p, v in when.items()}, _rename(then))
            for when, then in merge(program.guards)
        ]
        answers = {
            _rename(self.rule.symbol(k, ANSWER)): 1 if program.readout.get(s, 0) > 0 else -1
            for k in range(self.rule.states)
            for s in [self.rule.symbol(k, ANSWER)]
            if s in program.index
        }
        return LearnerProgram(
            f"{self.family} (learned)",
            CellularProgram(symbols, BORDER, guards, name=program.name),
            {0: "D0", 1: "D1"},
            answers,
            time=family.time,
            reference=family.reference,
            description=f"{family.description}, a rule learned by SGD ({len(guards)} entries)",
        )

    def to_json(self) -> dict:
        return {"family": self.family, "rule": self.rule.to_json()}

    @classmethod
    def from_json(cls, blob: dict) -> MetaRule:
        if not isinstance(blob, dict) or set(blob) != {"family", "rule"}:
            raise ValueError("a learned learner file holds exactly 'family' and 'rule'")
        if not isinstance(blob["family"], str):
            raise ValueError("its family must be a name")
        get_family(blob["family"])
        rule = Rule.from_json(blob["rule"])
        if rule.inputs.shape != (len(INPUTS), len(INPUTS)):
            raise ValueError(f"its inputs must be the {len(INPUTS)} layout symbols")
        if not 2 <= rule.states <= MAX_SYMBOLS:
            raise ValueError(f"its states must be 2..{MAX_SYMBOLS}, got {rule.states}")
        if any(len(g.when) != 9 for g in rule.program.guards):
            raise ValueError("every guard must name all 9 positions (inside the frame)")
        return cls(rule, blob["family"])

    def save(self, path: str) -> None:
        """The learned learner as JSON, sealed by its content hash (integrity.py)."""
        guard.write_text(path, sealed_json(self.to_json()))

    @classmethod
    def load(cls, path: str, sealed: bool = True) -> MetaRule:
        """A learned learner saved by save() (`sealed`: its content hash checked)."""
        return load_json(path, cls.from_json, "learned learner", "not a learned learner", sealed)


class Table:
    """A rule whose guards all name the same positions, as a lookup table over symbol
    indices (each guard's symbol sets expanded into their product: its entries): a fast
    simulator of exactly its CellularProgram.step (a test holds them equal). A
    neighbourhood in two entries with different targets would be two guards firing at
    once, which CellularProgram already refuses."""

    def __init__(self, program: CellularProgram):
        positions = {frozenset(g.when) for g in program.guards}
        if len(positions) > 1:
            raise ValueError("not a table: guards name different positions")
        self.positions = sorted(positions.pop()) if positions else []
        self.border = program.index[program.border]
        rows, targets = [], []
        for g in program.guards:
            sets = [sorted(program.index[s] for s in g.when[p]) for p in self.positions]
            combos = list(itertools.product(*sets))
            rows += combos
            targets += [program.index[g.then]] * len(combos)
        rows = np.array(rows, dtype=np.int64).reshape(-1, max(1, len(self.positions)))
        keys = self._key(rows)
        order = np.argsort(keys)
        self.keys, self.targets = keys[order], np.array(targets, dtype=np.int64)[order]
        self.rows = rows[order]  # each entry's symbol indices at `positions`

    def _key(self, rows: np.ndarray) -> np.ndarray:
        """Rows (n, positions) of symbol indices -> (n,) exact byte keys that sort (any
        alphabet: a learned learner has hundreds of symbols, 9 positions overflow an
        int64)."""
        rows = np.ascontiguousarray(rows, dtype=">i4")
        return rows.view(np.dtype((np.void, 4 * rows.shape[1]))).reshape(-1)

    def step(self, grid: np.ndarray) -> np.ndarray:
        """One synchronous step of (B, H, W) grids of symbol indices."""
        if not self.positions:
            return grid.copy()
        H, W = grid.shape[1:]
        padded = np.pad(grid, ((0, 0), (1, 1), (1, 1)), constant_values=self.border)
        views = [padded[:, 1 + r : 1 + r + H, 1 + c : 1 + c + W] for r, c in self.positions]
        key = self._key(np.stack(views, -1).reshape(-1, len(views)))
        at = np.clip(np.searchsorted(self.keys, key), 0, len(self.keys) - 1)
        hit = self.keys[at] == key
        return np.where(hit, self.targets[at], grid.reshape(-1)).reshape(grid.shape)


def run_rule(meta: MetaRule, X, y, x, layers: list[int], table: Table | None = None):
    """The rule's answers (len(layers), B) +-1 on problems of one size, run with the
    frame's schedule (a cell fires once the frame has decoded its neighbourhood)."""
    rule, (m, d) = meta.rule, X.shape[1:]
    table = table or Table(rule.program)
    start = np.array([rule.program.index[rule.symbol(0, c)] for c in range(len(INPUTS))])
    grid = start[layout_codes(X, y, x)]
    active = active_layers(m, d)
    sign = np.array([1 if rule.program.readout.get(s, 0) > 0 else -1 for s in rule.program.symbols])
    out = []
    for layer in range(max(layers) + 1):
        if layer in layers:
            out.append(sign[grid[:, m, d]])
        if layer < max(layers):
            grid = np.where(active <= layer, table.step(grid), grid)
    return np.array(out, dtype=np.int8)


# ---- verification ----------------------------------------------------------------------------
SMALL = [(m, d) for d in range(1, 6) for m in range(1, 12) if m * (d + 1) + d <= 12]


def _every_problem(m: int, d: int):
    """Every problem of size (m, d): all data, labels and test points (2^(m(d+1)+d))."""
    bits = m * (d + 1) + d
    grid = (np.arange(2**bits)[:, None] >> np.arange(bits)) & 1
    values = np.where(grid == 1, -1, 1).astype(np.int8)
    X = values[:, : m * d].reshape(-1, m, d)
    return X, values[:, m * d : m * d + m], values[:, m * d + m :]


def _check(meta: MetaRule, table: Table, problems: list, desc: str, progress: bool) -> dict:
    """Run the rule on batches of problems; right at layer L, and the same answer at every
    layer from L to 2 L (it stays put). `desc`: the bar's name (`progress`)."""
    family = get_family(meta.family)
    count = right = stable = 0
    for X, y, x in bar(desc, iterable=problems, enabled=progress, unit="batch"):
        m, d = X.shape[1:]
        L = layers_for(family, m, d)
        out = run_rule(meta, X, y, x, list(range(L, 2 * L + 1)), table)
        want = np.array([family.reference(X[i], y[i], x[i : i + 1])[0] for i in range(len(X))])
        count += len(X)
        right += int((out[0] == want).sum())
        stable += int((out == out[0]).all(0).sum())
    return {"problems": count, "right": right, "stable": stable}


def verify(
    meta: MetaRule,
    seed: int = 0,
    max_m: int = 12,
    large=LARGE,
    count: int = 100,
    frame=((4, 2), (8, 4), (12, 4)),
    datasets: int = 3,
    progress: bool = False,
) -> dict:
    """Check a learned learner against its family's reference, as the frame runs it:
    (a) every problem with m (d + 1) + d <= 12 bits, and every label pattern for each
    m <= max_m (random data and test point, d = 1..4 in turn); (b) `count` random
    problems at each `large` size; (c) on all of those, the answer at layer L stays the
    same at every layer up to 2 L; then, if those passed, (frame) the rule compiled
    inside the Theorem 1 frame, fitted by Algorithm 1 on `datasets` random datasets per
    `frame` size and asked every test point: memorisation exact and predictions ==
    the reference (and the rule simulator). `exact` is true only when everything passed,
    the frame check included (no frame sizes or datasets: not exact). `progress`: a bar
    per stage on stderr."""
    from ..algorithm1 import RCNNLearner
    from ..tasks import from_bits

    start, rng = time.perf_counter(), np.random.default_rng(seed)
    with heartbeat(f"verify {meta.family}: the rule as a table", progress):
        table = Table(meta.rule.program)
    report = {"learner": meta.family, "entries": len(table.keys)}
    every = [_every_problem(m, d) for m, d in SMALL]
    report["exhaustive"] = _check(meta, table, every, "verify (a) every small problem", progress)
    patterns = [every_label_pattern(m, 1 + (m - 1) % 4, rng) for m in range(1, max_m + 1)]
    desc = "verify (a) every label pattern"
    report["label_patterns"] = _check(meta, table, patterns, desc, progress)
    with heartbeat(f"verify (b): drawing {count} problems at {len(large)} sizes", progress):
        problems = [sample(get_family(meta.family), count, m, d, rng)[:3] for m, d in large]
    report["random"] = _check(meta, table, problems, "verify (b) random large problems", progress)
    passed = all(
        r["right"] == r["stable"] == r["problems"]
        for r in (report["exhaustive"], report["label_patterns"], report["random"])
    )
    report["frame"], runs = None, []
    if passed and frame and datasets:
        learner = meta.learner()
        report["guards"] = len(learner.program.guards)
        runs = []
        desc = "verify in the Theorem 1 frame (Algorithm 1)"
        with bar(desc, len(frame) * datasets, progress, unit="dataset") as line:
            for m, d in frame:
                points = from_bits(np.array(list(itertools.product([False, True], repeat=d))))
                for _ in range(datasets):
                    line.set_postfix_str(f"m = {m}, d = {d}", refresh=False)
                    X, y, x, _ = sample(get_family(meta.family), 1, m, d, rng)
                    model = RCNNLearner(learner).fit(X[0], y[0])
                    predicted = model.predict(points)
                    rule = run_rule(
                        meta,
                        np.repeat(X, len(points), 0),
                        np.repeat(y, len(points), 0),
                        points.astype(np.int8),
                        [layers_for(get_family(meta.family), m, d)],
                    )
                    runs.append(
                        bool(model.memorisation_exact_)
                        and np.array_equal(predicted, model.reference_predict(X[0], y[0], points))
                        and np.array_equal(predicted, rule[0])
                    )
                    line.update(1)
        report["frame"] = {
            "datasets": len(runs),
            "exact": sum(runs),
            "parameters": model.compiled_.parameter_count,
        }
    report["exact"] = bool(runs) and all(runs)  # the frame ran, and agreed
    report["seconds"] = round(time.perf_counter() - start, 1)
    return report
