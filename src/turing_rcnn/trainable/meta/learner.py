"""Meta-training: a DiscreteFilter trained by Adam to answer as a learner family does, on
problems laid out and revealed as the Theorem 1 frame does (layout.py), its loss the
answer cell's readout against the family's reference (and the same at a later layer,
so the answer stays put), or, with hints, every cell's next state against the
hand-written rule's trace (hints.py). After training, `freeze` keeps further input
codes read-only where the validation answers stay perfect: a smaller rule to read off.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from ... import guard, integrity
from ...progress import bar, heartbeat
from ..config import MetaConfig
from ..filter import DiscreteFilter, train
from .families import LARGE, get_family, sample
from .hints import hint_trace
from .layout import INPUTS, filter_states, layers_for, layout_codes, schedule
from .teacher import ColumnProgram, teacher_trace


def run_filter(
    net: DiscreteFilter, codes: np.ndarray, layers: list[int], frozen=(), work: int = 1
) -> list[torch.Tensor]:
    """Run the filter on laid-out problems (B, m+1, d+1+work) with the frame's schedule;
    the answer cell's logit (B,) at each of `layers` (increasing). Cells whose input code
    is in `frozen` never change."""
    m, d = codes.shape[1] - 1, codes.shape[2] - 1 - work
    states = filter_states(net, codes, max(layers), frozen, work)
    return [net.out(state)[:, 0, m, d] for layer, state in states if layer in layers]


@dataclass
class MetaHistory:
    step: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)  # at m <= max_m
    val_accuracy_long: list[float] = field(default_factory=list)  # at 2 max_m


class MetaLearner(BaseEstimator):
    """Meta-train a DiscreteFilter to answer as a learner family does, on problems laid
    out and revealed as the Theorem 1 frame does (meta/layout.py).

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
        self.teacher_ = ColumnProgram.load(cfg.teacher) if cfg.teacher else None
        rng = np.random.default_rng(cfg.seed)
        with torch.random.fork_rng():
            torch.manual_seed(cfg.seed)
            self.net_ = DiscreteFilter(len(INPUTS), cfg.symbols, cfg.hidden, cfg.neighbourhood)
        sizes = [(cfg.max_m, cfg.max_d), (max(1, cfg.max_m // 2), 1), (2 * cfg.max_m, cfg.max_d)]
        val = [(m, d, *sample(self.family_, cfg.val_size, m, d, rng)) for m, d in sizes]
        self.history_, self.steps_, self.train_seconds_ = MetaHistory(), 0, 0.0
        self._step = 0  # training steps drawn so far (the curriculum's clock)
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
        top = cfg.max_m
        if cfg.curriculum:  # the largest m grows from 2 to max_m over the first half
            self._step += 1
            top = min(cfg.max_m, 2 + (cfg.max_m - 1) * 2 * self._step // cfg.max_steps)
        m, d = int(rng.integers(1, top + 1)), int(rng.integers(1, cfg.max_d + 1))
        X, y, x, answers = sample(self.family_, cfg.batch_size, m, d, rng, cfg.balanced)
        layers = layers_for(self.family_, m, d)
        target = torch.as_tensor(answers == 1, dtype=torch.float32)
        codes = layout_codes(X, y, x)
        if cfg.hints or self.teacher_ is not None:
            return self._hint_loss(codes, layers, target)
        later = layers + int(rng.integers(1, layers + 1))
        logits = run_filter(self.net_, codes, [layers, later], self.frozen_)
        return sum(F.binary_cross_entropy_with_logits(z, target) for z in logits)

    def _hint_loss(self, codes: np.ndarray, layers: int, target: torch.Tensor) -> torch.Tensor:
        """Hints, with teacher forcing: at every layer < L every cell that may change is
        asked for the hand-written rule's (or the --teacher program's) next symbol given its grid
        (cross-entropy, the mean over those cells: the labels' fall is not rare, unlike
        a maze's dead-end fronts, for which train-algo weighs changes and keeps equally,
        filter.hint_loss), and the readout of the answer cell's symbol at layer L for the
        answer. The filter never runs on its own here; validation runs it."""
        net, (H, W) = self.net_, codes.shape[1:]
        if getattr(self, "teacher_", None) is not None:  # invented from the answers alone
            trace = teacher_trace(self.teacher_, codes, layers, self.frozen_)
        else:
            trace = hint_trace(self.family_, codes, layers, self.frozen_)
        trace = torch.as_tensor(trace)
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
            **({"anneal": True} if cfg.anneal else {}),
            **({"hints": True} if cfg.hints else {}),
            **({"teacher": cfg.teacher} if cfg.teacher else {}),
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
