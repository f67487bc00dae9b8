"""Turing-optimal search: random restarts kept by validation (Corollary 2), growing
size and time (Algorithm 2), and one filter reused across problems (Section 5).

A search draws candidate i from its own generator, seeded by (seed, i), so the
candidates, and hence the chosen filter, do not depend on how the work is split:
in-process, a local process pool, or Ray give the same result. Candidates go through
Algorithm 1 and validation in grouped batches (batched.py). A checkpoint file (JSON
lines: a header, then one line per finished chunk) lets an interrupted search resume
where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

import numpy as np
from tqdm.auto import tqdm

from .batched import BatchedRCNN, sign
from .initialise import FRAME_PADDING, AnswerRulePrior, Candidate, PaperInit, TuringPrior
from .validation import check_dataset

Problem = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # X_train, y_train, X_val, y_val
BACKENDS = ("inprocess", "process", "ray")
INITS = ("paper", "answer-rule", "turing")


@dataclass(frozen=True)
class SearchConfig:
    """What to draw and how many.

    init: 'paper' (weights from U_size, patch net widths `hidden`), 'turing' (a random
        Turing machine with `size` states) or 'answer-rule' (see initialise.py).
    time: the learner's time bound t; every network gets L = 3 + m + d + t layers.
    restarts: candidates drawn; batch: candidates per grouped pass.
    """

    init: str = "answer-rule"
    size: int = 2
    time: int = 4
    restarts: int = 256
    batch: int = 32
    seed: int = 0
    hidden: tuple[int, ...] = (16, 16)

    def __post_init__(self) -> None:
        if self.init not in INITS:
            raise ValueError(f"unknown init {self.init!r}; choose one of {INITS}")
        for name in ("size", "restarts", "batch"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.time < 0:
            raise ValueError(f"time must be >= 0, got {self.time}")
        object.__setattr__(self, "hidden", tuple(self.hidden))

    def initialiser(self):
        if self.init == "paper":
            return PaperInit(self.size, self.hidden, time=self.time)
        if self.init == "turing":
            return TuringPrior(self.size, time=self.time)
        return AnswerRulePrior(time=self.time)

    def draw(self, index: int) -> Candidate:
        """Candidate `index`, from its own generator: the same on every backend."""
        return self.initialiser().draw(np.random.default_rng([self.seed, index]))


@contextmanager
def _one_thread():
    """Candidate batches are many small products: one thread is faster than several,
    and far faster than threads fighting other processes for the cores."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def evaluate(config: SearchConfig, indices: Sequence[int], problems: Sequence[Problem]) -> dict:
    """Validation errors (len(indices), len(problems)) of the candidates `indices`,
    each trained by Algorithm 1 on each problem's training set, in one grouped pass."""
    candidates = [config.draw(i) for i in indices]
    errors = np.zeros((len(indices), len(problems)))
    with _one_thread():
        for p, (X, y, X_val, y_val) in enumerate(problems):
            m, d = X.shape
            net = BatchedRCNN([c.weights for c in candidates], d, m, candidates[0].work_columns,
                              candidates[0].layers(m, d), padding=FRAME_PADDING)  # fmt: skip
            net.algorithm1(X, y)
            errors[:, p] = (sign(net.decision_function(X_val)) != y_val[:, None]).mean(0)
    return {"indices": list(indices), "errors": errors.tolist(),
            "programs": [c.program for c in candidates]}  # fmt: skip


def _run_chunks(fn: Callable, jobs: list, backend: str, workers: int,
                address: str | None) -> Iterator[tuple[int, dict]]:  # fmt: skip
    """(job number, result) as jobs finish; jobs are argument tuples for fn."""
    if backend == "inprocess":
        for j, args in enumerate(jobs):
            yield j, fn(*args)
    elif backend == "process":
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futures = {pool.submit(fn, *args): j for j, args in enumerate(jobs)}
            for future in as_completed(futures):
                yield futures[future], future.result()
    elif backend == "ray":
        try:
            import ray
        except ImportError as err:
            raise ValueError("the ray backend needs Ray: pip install 'turing-rcnn[ray]'") from err
        if not ray.is_initialized():
            kw = {"address": address} if address else {"num_cpus": workers}
            ray.init(include_dashboard=False, log_to_driver=False, **kw)
        remote = ray.remote(fn)
        pending = {remote.remote(*args): j for j, args in enumerate(jobs)}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            yield pending.pop(done[0]), ray.get(done[0])
    else:
        raise ValueError(f"unknown backend {backend!r}; choose one of {BACKENDS}")


def _fingerprint(config: SearchConfig, problems: Sequence[Problem]) -> str:
    h = hashlib.sha256(json.dumps(asdict(config), sort_keys=True).encode())
    for arrays in problems:
        for a in arrays:
            h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


@dataclass
class SearchResult:
    """Every candidate's validation error on every problem, and its readable program."""

    config: SearchConfig
    errors: np.ndarray  # (restarts, problems)
    programs: list[str | None]
    seconds: float = 0.0
    resumed_chunks: int = 0

    @property
    def mean_errors(self) -> np.ndarray:
        return self.errors.mean(1)

    @property
    def best(self) -> int:
        """The candidate with the lowest mean validation error (ties: the first)."""
        return int(np.argmin(self.mean_errors))


def search(config: SearchConfig, problems: Sequence[Problem], backend: str = "inprocess",
           workers: int = 2, address: str | None = None, checkpoint: str | None = None,
           progress: bool = True) -> SearchResult:  # fmt: skip
    """Draw config.restarts candidates and validate each on every problem."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {BACKENDS}")
    if not problems:
        raise ValueError("search needs at least one problem")
    problems = [_check_problem(p) for p in problems]
    chunks = [list(range(i, min(i + config.batch, config.restarts)))
              for i in range(0, config.restarts, config.batch)]  # fmt: skip
    done = _load_checkpoint(checkpoint, config, problems) if checkpoint else {}
    resumed = len(done)
    todo = [c for c in range(len(chunks)) if c not in done]
    start = time.perf_counter()
    bar = tqdm(total=config.restarts, initial=sum(len(chunks[c]) for c in done),
               desc=f"search ({backend})", disable=not progress)  # fmt: skip
    jobs = [(config, chunks[c], problems) for c in todo]
    for j, result in _run_chunks(evaluate, jobs, backend, workers, address):
        done[todo[j]] = result
        if checkpoint:
            with open(checkpoint, "a") as f:
                f.write(json.dumps({"chunk": todo[j]} | result) + "\n")
        bar.update(len(result["indices"]))
    bar.close()
    errors = np.concatenate([np.asarray(done[c]["errors"]) for c in range(len(chunks))])
    programs = [p for c in range(len(chunks)) for p in done[c]["programs"]]
    return SearchResult(config, errors, programs, time.perf_counter() - start, resumed)


def _check_problem(problem: Problem) -> Problem:
    X, y, X_val, y_val = problem
    X, y = check_dataset(X, y)
    X_val, y_val = check_dataset(X_val, y_val)
    if X_val.shape[1] != X.shape[1]:
        raise ValueError(f"validation inputs have d = {X_val.shape[1]}, training d = {X.shape[1]}")
    return X, y, X_val, y_val


def _load_checkpoint(path: str, config: SearchConfig, problems) -> dict[int, dict]:
    header = {"fingerprint": _fingerprint(config, problems), "config": asdict(config)}
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        with open(path, "w") as f:
            f.write(json.dumps(header) + "\n")
        return {}
    done = {}
    with open(path) as f:
        lines = f.read().splitlines()
    if json.loads(lines[0]).get("fingerprint") != header["fingerprint"]:
        raise ValueError(f"checkpoint {path} belongs to a different search (config or data)")
    for line in lines[1:]:
        try:
            row = json.loads(line)
        except json.JSONDecodeError:  # a line cut short by the interruption
            continue
        done[row.pop("chunk")] = row
    return done


class TuringOptimalLearner:
    """Corollary 2 as an estimator: restarts of Algorithm 1 from random initialisations,
    keeping the network with the lowest error on a validation split.

    fit(X, y) trains on the first examples and validates on the last val_fraction;
    the chosen candidate (best_, program_) then predicts through its own RCNN.
    """

    def __init__(self, config: SearchConfig | None = None, val_fraction: float = 0.3,
                 backend: str = "inprocess", workers: int = 2, address: str | None = None,
                 checkpoint: str | None = None, progress: bool = True, **overrides):  # fmt: skip
        if config is not None and overrides:
            raise ValueError("pass either a config or keyword overrides, not both")
        self.config = config or SearchConfig(**overrides)
        if not 0 < val_fraction < 1:
            raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
        self.val_fraction, self.backend, self.workers = val_fraction, backend, workers
        self.address, self.checkpoint, self.progress = address, checkpoint, progress

    def split(self, X, y) -> Problem:
        X, y = check_dataset(X, y)
        n_val = max(1, int(round(self.val_fraction * len(y))))
        if n_val >= len(y):
            raise ValueError(f"need at least 2 examples to split off validation, got {len(y)}")
        return X[:-n_val], y[:-n_val], X[-n_val:], y[-n_val:]

    def fit(self, X, y) -> TuringOptimalLearner:
        problem = self.split(X, y)
        self.result_ = search(self.config, [problem], self.backend, self.workers, self.address,
                              self.checkpoint, self.progress)  # fmt: skip
        self.best_ = self.result_.best
        self.val_error_ = float(self.result_.mean_errors[self.best_])
        self.program_ = self.result_.programs[self.best_]
        self.train_ = problem[:2]
        self.val_errors_ = self.result_.mean_errors
        return self

    def predict(self, X) -> np.ndarray:
        if not hasattr(self, "best_"):
            raise RuntimeError("TuringOptimalLearner is not fitted; call fit(X, y) first")
        return predict_with(self.config, self.best_, *self.train_, X)

    def score(self, X, y) -> float:
        X, y = check_dataset(X, y)
        return float(np.mean(self.predict(X) == y))


def predict_with(config: SearchConfig, index: int, X_train, y_train, X) -> np.ndarray:
    """Candidate `index` of `config`, trained by Algorithm 1 on (X_train, y_train)."""
    X_train, y_train = check_dataset(X_train, y_train)
    candidate = config.draw(index)
    m, d = X_train.shape
    net = BatchedRCNN([candidate.weights], d, m, candidate.work_columns,
                      candidate.layers(m, d), padding=FRAME_PADDING)  # fmt: skip
    with _one_thread():
        net.algorithm1(X_train, y_train)
        return sign(net.decision_function(np.asarray(X))[:, 0])


@dataclass
class GrowthRecord:
    config: SearchConfig
    val_error: float
    holdout_error: float
    program: str | None
    seconds: float


@dataclass
class Algorithm2:
    """Algorithm 2: for growing (size, time) run Corollary 2, choose on held-out data.

    levels: the configs to try in order; budget_seconds: stop growing after this.
    fit(X, y) holds out the last holdout_fraction of the examples; each level runs
    Corollary 2 on the rest; the level whose chosen network has the lowest held-out
    error wins (ties: the earlier, smaller level)."""

    levels: list[SearchConfig]
    holdout_fraction: float = 0.25
    budget_seconds: float = float("inf")
    progress: bool = True
    records_: list[GrowthRecord] = field(default_factory=list, init=False)

    def fit(self, X, y) -> Algorithm2:
        X, y = check_dataset(X, y)
        n_hold = max(1, int(round(self.holdout_fraction * len(y))))
        X_fit, y_fit, X_hold, y_hold = X[:-n_hold], y[:-n_hold], X[-n_hold:], y[-n_hold:]
        start = time.perf_counter()
        self.records_, self.learners_ = [], []
        for config in self.levels:
            t0 = time.perf_counter()
            learner = TuringOptimalLearner(config, progress=self.progress).fit(X_fit, y_fit)
            hold = 1 - learner.score(X_hold, y_hold)
            self.records_.append(GrowthRecord(config, learner.val_error_, hold, learner.program_,
                                              time.perf_counter() - t0))  # fmt: skip
            self.learners_.append(learner)
            if time.perf_counter() - start > self.budget_seconds:
                break
        self.best_ = int(np.argmin([r.holdout_error for r in self.records_]))
        return self

    def predict(self, X) -> np.ndarray:
        return self.learners_[self.best_].predict(X)

    def score(self, X, y) -> float:
        X, y = check_dataset(X, y)
        return float(np.mean(self.predict(X) == y))


def reuse(config: SearchConfig, family: Sequence[Problem], new: Sequence[Problem],
          **search_kw) -> dict:  # fmt: skip
    """Section 5: choose the candidate with the best mean validation error over problems
    drawn from a family, then apply that filter unchanged (Algorithm 1 on each new
    problem's training set) to new problems from the family."""
    result = search(config, family, **search_kw)
    best = result.best
    new_errors = evaluate(config, [best], [_check_problem(p) for p in new])["errors"][0]
    return {"best": best, "program": result.programs[best],
            "family_error": float(result.mean_errors[best]),
            "new_errors": new_errors, "new_error_mean": float(np.mean(new_errors)),
            "seconds": result.seconds}  # fmt: skip


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval for a binomial proportion."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))
