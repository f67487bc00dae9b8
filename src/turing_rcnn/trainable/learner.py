"""Training the recurrent filter to run an algorithm (beyond the paper).

The filter is trained by Adam (cosine learning-rate decay over max_steps) on the progressive loss
of Bansal et al.: run n iterations without gradient (n uniform below the task's
budget), then k more with gradient, mixed with the loss after the full budget with
gradient throughout. The part without gradient makes the rule work from any state it
reaches itself, so it keeps improving, then stays put, however long it runs: it can
run more iterations on longer inputs than any seen in training. k is uniform in
1..budget-n when the task allows stopping early (prefix parity: a cell the running
parity has not reached yet must say "don't know", which is what makes the wave), and
k = budget - n otherwise (flood fill: a run stopped before the front arrives has no
right answer for far cells, and those targets slowed learning in our trials).

`AlgorithmLearner` is the estimator: fit() draws its own data from the task (or
samples given grids); predict / score take inputs of any size and run
task.iterations(size) steps by default (training runs task.train_iterations(size),
which may be tighter). The filter itself is filter.RecurrentFilter.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from .. import guard, integrity
from ..progress import bar as progress_bar
from ..progress import say
from .config import AlgoConfig
from .filter import DiscreteFilter, RecurrentFilter, hint_loss, hint_trace, train
from .tasks import get_algo_task


def make_filter(cfg: AlgoConfig) -> RecurrentFilter:
    """The network a config asks for: our filter, continuous (width channels) or k
    symbols, or the peer's DeepThinking-style net (baselines/deepthinking.py)."""
    channels = get_algo_task(cfg.task).in_channels
    if cfg.net == "deepthinking":
        from ..baselines.deepthinking import DeepThinking

        return DeepThinking(channels, cfg.width)
    if cfg.symbols:
        return DiscreteFilter(channels, cfg.symbols, cfg.hidden, cfg.neighbourhood)
    return RecurrentFilter(channels, cfg.width, cfg.hidden, cfg.neighbourhood)


def _drawer(task, cfg: AlgoConfig, rng: np.random.Generator):
    """draw() -> (inputs, targets, iteration budget) of a fresh batch from the task's
    generator: of the training size, or with cfg.curriculum of a size drawn from the
    task's sizes up to it, the largest allowed growing from the smallest over the first
    half of cfg.max_steps."""
    sizes = [cfg.train_size]
    if cfg.curriculum:
        sizes = [s for s in range(task.min_size, cfg.train_size + 1) if _valid(task, s)]
    drawn = 0

    def draw():
        nonlocal drawn
        drawn += 1
        top = min(len(sizes), 1 + 2 * (len(sizes) - 1) * (drawn - 1) // cfg.max_steps)
        size = sizes[int(rng.integers(0, top))] if cfg.curriculum else sizes[0]
        return (*task.sample(cfg.batch_size, size, rng), task.train_iterations(size))

    return draw


def _valid(task, size: int) -> bool:
    try:
        task.check_size(size)
    except ValueError:
        return False
    return True


@dataclass
class History:
    step: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)  # at the training size
    val_accuracy_long: list[float] = field(default_factory=list)  # at 2x (generated data only)


MAX_MODEL_BYTES = 1 << 30  # a model file (the largest shipped: 30 KB; hidden 4096: ~100 MB)


def _read_model(path: str):
    """torch.load of a model file, its size checked first (MAX_MODEL_BYTES and the
    memory guard); a ValueError in our words for a file torch cannot read."""
    size = integrity.regular_file(path, "model file")
    if size > MAX_MODEL_BYTES:
        raise ValueError(
            f"{path}: {guard.human(size)}, more than the {guard.human(MAX_MODEL_BYTES)} a "
            "model file may hold (learner.MAX_MODEL_BYTES)"
        )
    guard.check_memory(5e8 + 3.0 * size, f"loading {path} ({guard.human(size)})")
    try:
        return torch.load(path, weights_only=True, map_location="cpu")
    except Exception as err:  # torch raises many kinds for a file it cannot read
        first = str(err).strip().splitlines()[0][:120] if str(err).strip() else type(err).__name__
        raise ValueError(f"{path}: not a model file saved by turing-rcnn ({first})") from None


class AlgorithmLearner(BaseEstimator):
    """Train a RecurrentFilter on a task; predict on inputs of any size.

    config: AlgoConfig (None: its defaults); progress: show a progress bar.
    Fitted attributes: config_ (the config used), task_, net_, history_, steps_,
    train_seconds_.
    """

    def __init__(self, config: AlgoConfig | None = None, progress: bool = True):
        self.config = config
        self.progress = progress

    def fit(self, X=None, y=None, checkpoint: str | None = None) -> AlgorithmLearner:
        """Adam on the progressive loss, from a fresh filter seeded by config.seed.

        Data: the task's generator (X, y None; validation on val_size fresh inputs of
        the training size and val_size/5 of twice that size), or minibatches of given
        grids X (N, C, H, W), y (N, 1, H, W) (validation on the last tenth of them).
        Stops after `patience` perfect validations in a row, or the step or time
        budget; keeps the weights that did best on validation (training can fall off a
        good solution at a high learning rate). `checkpoint`: a path saved at every
        validation. A fit that raises leaves the learner unfitted."""
        for name in [k for k in vars(self) if k.endswith("_") and not k.startswith("__")]:
            delattr(self, name)
        self._done = False
        cfg = self.config_ = self.config or AlgoConfig()
        if cfg.restarts > 1:
            return self._fit_restarts(cfg, X, y, checkpoint)
        task = get_algo_task(cfg.task)
        rng = np.random.default_rng(cfg.seed)
        if (X is None) != (y is None):
            raise ValueError("fit(X, y) takes both inputs X and targets y, or neither")
        if X is None:
            size = cfg.train_size
            val = [
                task.sample(cfg.val_size, size, rng),
                task.sample(cfg.val_size // 5, task.larger(size), rng),
            ]
            draw = _drawer(task, cfg, rng)
        else:
            if cfg.curriculum:
                raise ValueError(
                    "curriculum draws its sizes from the task's generator; fit(X, y) trains "
                    "on the grids given"
                )
            X, y = task.check_inputs(X, y)
            if len(X) < 2:
                raise ValueError(f"fit(X, y) needs at least 2 grids, got {len(X)}")
            n_val = max(1, len(X) // 10)
            val, X, y = [(X[-n_val:], y[-n_val:])], X[:-n_val], y[:-n_val]
            size = max(X.shape[2], X.shape[3])
            budget = task.train_iterations(size)

            def draw():
                idx = torch.as_tensor(rng.integers(0, len(X), size=cfg.batch_size))
                return X[idx], y[idx], budget

        self.net_ = self.initial_filter()
        self.task_, self.history_, self.steps_, self.train_seconds_ = task, History(), 0, 0.0
        self.teacher_ = None
        if cfg.teacher is not None:
            from .distill import Teacher, load_teacher

            if X is None:  # the centroids: k-means on the teacher's runs at the training size
                sample, steps = (
                    task.sample(cfg.batch_size, size, rng)[0],
                    task.train_iterations(size),
                )
            else:
                sample, _, steps = draw()
            teacher = load_teacher(cfg.teacher, cfg.task)
            self.teacher_ = Teacher(teacher, cfg.symbols, sample, steps, cfg.seed)
        self._train(cfg, draw, val, rng, checkpoint)
        self._done = True
        return self

    def _fit_restarts(self, cfg: AlgoConfig, X, y, checkpoint) -> AlgorithmLearner:
        """Corollary 2's random restarts for SGD: fit up to R filters from seeds
        seed*R + r (disjoint for distinct seeds), each with 1/R of the budgets, and keep
        the first that validates perfectly, or else the one whose best validation (the
        mean over the sizes validated) is highest. The kept learner's config_, steps_ and
        train_seconds_ are its own run's (restarts 1, its seed and budgets: a model file
        says how it was trained); restarts_ lists every restart tried."""
        best, tried = None, []
        for r in range(cfg.restarts):
            one = replace(
                cfg,
                seed=cfg.seed * cfg.restarts + r,
                restarts=1,
                max_steps=max(1, cfg.max_steps // cfg.restarts),
                max_minutes=cfg.max_minutes / cfg.restarts,
            )
            say(f"restart {r + 1} of {cfg.restarts}: seed {one.seed}", self.progress)
            run = AlgorithmLearner(one, self.progress).fit(X, y, checkpoint)
            h = run.history_
            long = h.val_accuracy_long or h.val_accuracy  # fit(X, y) validates one size
            top = max((a + b) / 2 for a, b in zip(h.val_accuracy, long, strict=True))
            tried.append(
                {
                    "seed": one.seed,
                    "steps": run.steps_,
                    "seconds": round(run.train_seconds_, 1),
                    "best_validation": round(top, 4),
                }
            )
            if best is None or top > best[0]:
                best = (top, run)
            if top == 1.0:
                break
        for name, value in vars(best[1]).items():
            if name.endswith("_"):
                setattr(self, name, value)
        self.restarts_ = tried
        if checkpoint:
            best[1].save(checkpoint)
        self._done = True
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return getattr(self, "_done", False)

    def initial_filter(self) -> RecurrentFilter:
        """The filter fit() starts from: seeded by config.seed (torch's global
        generator is left as it was)."""
        cfg = self.config or AlgoConfig()
        with torch.random.fork_rng():
            torch.manual_seed(cfg.seed)
            return make_filter(cfg)

    def _train(self, cfg: AlgoConfig, draw, val, rng, checkpoint) -> None:
        net, task = self.net_, self.task_

        def loss() -> torch.Tensor:  # the progressive loss (or hints) on a fresh batch
            x, y, budget = draw()
            if cfg.hints or cfg.teacher is not None:
                return self._hint_loss(x, y, budget)
            n = int(rng.integers(0, budget))
            k = int(rng.integers(1, budget - n + 1)) if task.stop_early else budget - n
            with torch.no_grad():
                state = net.run(x, n)
            progressive = net.out(net.run(x, k, state))
            full = net(x, budget)
            value = cfg.alpha * F.binary_cross_entropy_with_logits(progressive, y)
            return value + (1 - cfg.alpha) * F.binary_cross_entropy_with_logits(full, y)

        steps, seconds = train(
            net,
            cfg,
            loss,
            lambda: [self._accuracy(xv, yv) for xv, yv in val],
            self._record,
            (lambda: self.save(checkpoint)) if checkpoint else None,
            f"train {cfg.task}",
            self.progress,
        )
        self.steps_ += steps
        self.train_seconds_ += seconds
        if checkpoint:
            self.save(checkpoint)

    def _hint_loss(self, x: torch.Tensor, y: torch.Tensor, budget: int) -> torch.Tensor:
        """Teacher forcing on a trace: at every iteration every cell is asked
        (cross-entropy) for the trace's next symbol given the trace's own grid, and the
        readout of the trace's last grid for the answer. The trace: the task's
        hand-written hint rule's (--hints), whose answer is the rule's (on perfect
        mazes the target; with cycles one of the shortest paths, maybe not y's); or the
        answer-only teacher's clustered states (--teacher), with the target y. The
        filter never runs on its own here; validation runs it."""
        net = self.net_
        if self.teacher_ is not None:
            trace, answer = self.teacher_.trace(x, budget), y
        else:
            program, starts = self.task_.hint()
            symbols = self.task_.to_symbols(x)
            trace, answer = hint_trace(program, starts, symbols, budget, answer=True)
            answer = torch.as_tensor(answer)[:, None]
        trace = torch.as_tensor(trace)
        state = F.one_hot(trace, net.symbols).permute(0, 1, 4, 2, 3).float()
        logits = net.logits(state[:-1].flatten(0, 1), net.recall(x).repeat(budget, 1, 1, 1))
        readout = F.binary_cross_entropy_with_logits(net.out(state[-1]), answer)
        return hint_loss(logits, trace[:-1].flatten(0, 1), trace[1:].flatten(0, 1)) + readout

    def _record(self, step: int, seconds: float, loss: float, scores: list[float]) -> None:
        h = self.history_
        h.step.append(self.steps_ + step)
        h.seconds.append(self.train_seconds_ + seconds)
        h.loss.append(loss)
        h.val_accuracy.append(scores[0])
        if len(scores) > 1:
            h.val_accuracy_long.append(scores[1])

    def iterations_for(self, x) -> int:
        """The task's iteration budget for inputs of this size."""
        check_is_fitted(self)
        return self.task_.iterations(max(x.shape[2], x.shape[3]))

    def predict(self, X, iterations: int | None = None, batch_size: int = 256) -> np.ndarray:
        """{0, 1} predictions (B, 1, H, W), float32, after `iterations` (default: the
        task's budget for this size)."""
        check_is_fitted(self)
        return self._predict(X, iterations, batch_size)

    @torch.no_grad()
    def _predict(self, X, iterations: int | None, batch_size: int = 256) -> np.ndarray:
        X, _ = self.task_.check_inputs(X)
        if iterations is None:
            iterations = self.task_.iterations(max(X.shape[2], X.shape[3]))
        parts = [
            (self.net_(X[i : i + batch_size], iterations) > 0).float().numpy()
            for i in range(0, X.shape[0], batch_size)
        ]
        return np.concatenate(parts) if parts else np.zeros((0, 1, *X.shape[2:]), np.float32)

    @torch.no_grad()
    def run_until_settled(
        self,
        X,
        max_iterations: int | None = None,
        batch_size: int = 64,
        tol: float = 0.0,
        patience: int = 1,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Test-time halting: iterate each input until it halts or the budget (default:
        the task's for this size) runs out. An input halts after `patience` iterations
        in a row in which no cell's state moved by more than `tol` (a finite-state
        filter: no cell changed its symbol). The default, tol 0 and patience 1, halts
        at a fixed point, bit for bit: from then on nothing would change. A continuous
        state may instead drift in its last bits forever; tol > 0 reads the answer once
        it has stopped moving by more than that. Returns the {0, 1} predictions
        (B, 1, H, W) and the iterations each input ran (a halted input stops early)."""
        check_is_fitted(self)
        if tol < 0 or patience < 1:
            raise ValueError(f"tol must be >= 0 and patience >= 1, got {tol} and {patience}")
        X, _ = self.task_.check_inputs(X)
        if max_iterations is None:
            max_iterations = self.task_.iterations(max(X.shape[2], X.shape[3]))
        net, preds, used = self.net_, [], []
        batches = range(0, X.shape[0], batch_size)
        with progress_bar(
            f"test ({X.shape[0]} inputs, {X.shape[2]} x {X.shape[3]})",
            len(batches) * max_iterations,
            self.progress,
            unit="step",
            leave=False,
        ) as bar:
            device = next(net.parameters()).device  # where the filter is (net_.to(...))
            for i in batches:
                x = X[i : i + batch_size].to(device)
                state, recalled = net.initial_state(x), net.recall(x)
                ran = torch.full((len(x),), max_iterations, device=device)
                calm = torch.zeros(len(x), dtype=torch.long, device=device)
                active = torch.arange(len(x), device=device)
                for t in range(1, max_iterations + 1):
                    new = net.step(state[active], recalled[active])
                    moved = (net.held(new) - net.held(state[active])).flatten(1)
                    if moved.is_floating_point():  # a continuous state: by how much
                        still = moved.abs().amax(1) > tol
                    else:  # symbols (a finite-state filter): whether any changed
                        still = (moved != 0).any(1)
                    state[active] = new
                    calm[active] = torch.where(still, 0, calm[active] + 1)
                    halted = calm[active] >= patience
                    ran[active[halted]] = t
                    active = active[~halted]
                    bar.update(1)
                    if len(active) == 0:
                        bar.update(max_iterations - t)
                        break
                preds.append((net.out(state) > 0).float().cpu().numpy())
                used.append(ran.cpu().numpy())
        return np.concatenate(preds), np.concatenate(used)

    def score(self, X, y, iterations: int | None = None) -> float:
        """Accuracy: the fraction of inputs the task counts right (every cell right;
        for mazes with cycles, any shortest path)."""
        check_is_fitted(self)
        return self._accuracy(X, y, iterations)

    def _accuracy(self, X, y, iterations: int | None = None) -> float:
        X, y = self.task_.check_inputs(X, y)
        return float(self.task_.correct(X, y, self._predict(X, iterations)).mean())

    def save(self, path: str) -> None:
        """config, weights, history and counters, sealed by their content hash."""
        blob = {
            "config": asdict(self.config_),
            "state_dict": self.net_.state_dict(),
            "history": asdict(self.history_),
            "steps": self.steps_,
            "train_seconds": self.train_seconds_,
        }
        blob[integrity.HASH_KEY] = integrity.model_hash(blob)
        with guard.atomic_path(path) as tmp:
            torch.save(blob, tmp)

    @classmethod
    def load(cls, path: str, progress: bool = True, sealed: bool = True) -> AlgorithmLearner:
        """A fitted learner from a file written by save(); a ValueError saying what is
        wrong with any other file (never unpickles code: weights_only). `sealed`: its
        content hash must be there and match (False: integrity.reseal)."""
        blob = _read_model(path)
        keys = {"config", "state_dict", "history", "steps", "train_seconds"}
        if not isinstance(blob, dict) or not keys <= set(blob):
            raise ValueError(
                f"{path}: not a model file saved by turing-rcnn (needs {sorted(keys)})"
            )
        names = {f.name for f in fields(AlgoConfig)}
        if not isinstance(blob["config"], dict) or not set(blob["config"]) <= names:
            raise ValueError(f"{path}: its config has unknown keys")
        try:
            cfg = AlgoConfig(**blob["config"])
            history = History(**blob["history"])
        except (TypeError, ValueError) as err:
            raise ValueError(f"{path}: its config is not valid ({err})") from None
        try:
            integrity.check_weights(blob["state_dict"])
            integrity.check_counters(blob, asdict(history))
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from None
        learner = cls(cfg, progress=progress)
        learner.config_, learner.task_ = cfg, get_algo_task(cfg.task)
        try:
            learner.net_ = make_filter(cfg)
            learner.net_.load_state_dict(blob["state_dict"])
        except (RuntimeError, TypeError, ValueError) as err:
            detail = str(err).strip().splitlines()[-1].strip()[:160]
            raise ValueError(f"{path}: its weights do not fit its config ({detail})") from None
        if sealed:
            integrity.check_seal(path, blob.get(integrity.HASH_KEY), integrity.model_hash(blob))
        learner.steps_, learner.train_seconds_ = blob["steps"], float(blob["train_seconds"])
        learner.history_ = history
        learner._done = True
        return learner

    def plot(self, path: str) -> str:
        """Loss and validation accuracy against training steps, as a PNG."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        check_is_fitted(self)
        h, cfg = self.history_, self.config_
        fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.2))
        a.semilogy(h.step, h.loss)
        a.set(xlabel="step", ylabel="training loss")
        b.plot(h.step, h.val_accuracy)
        b.set(
            xlabel="step", ylabel=f"whole-grid accuracy, size {cfg.train_size}", ylim=(-0.02, 1.02)
        )
        fig.suptitle(f"{cfg.task}: {self.net_.parameter_count} shared parameters")
        fig.tight_layout()
        with guard.atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=120, format="png")
        plt.close(fig)
        return path

    def summary(self) -> dict:
        check_is_fitted(self)
        cfg = self.config_
        return {
            "task": cfg.task,
            "parameters": self.net_.parameter_count,
            "train_size": cfg.train_size,
            "steps": self.steps_,
            "train_seconds": round(self.train_seconds_, 1),
            "train_iterations": self.task_.train_iterations(cfg.train_size),
            **({"teacher": cfg.teacher} if cfg.teacher is not None else {}),
            **({"hints": True} if cfg.hints else {}),
            **({"anneal": True} if cfg.anneal else {}),
            **({"curriculum": True} if cfg.curriculum else {}),
            **({"restarts": self.restarts_} if getattr(self, "restarts_", None) else {}),
        }
