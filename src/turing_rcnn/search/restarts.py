"""Turing-optimal search: random restarts kept by validation (Corollary 2), growing
size and time (Algorithm 2), and one filter reused across problems (Section 5).

A search draws candidate i from its own generator, seeded by (seed, i), so the
candidates, and hence the chosen filter, do not depend on how the work is split:
in-process, a local process pool, or Ray give the same result (backends.py).
Candidates go through Algorithm 1 and validation together, as the candidate
dimension of ONE RCNN. A checkpoint file (JSON lines: a header, then one line per
finished chunk) lets an interrupted search resume where it stopped.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from .. import journal
from ..algorithm1 import algorithm1, network_outputs
from ..checks import check_dataset
from ..model import RCNN, RCNNConfig
from ..progress import bar as progress_bar
from ..validation import PM1Classifier
from .backends import BACKENDS, one_thread, run_chunks
from .config import SearchConfig
from .priors import FRAME_PADDING, Candidate

Problem = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # X_train, y_train, X_val, y_val


def sign(out: np.ndarray) -> np.ndarray:
    """The classifier a raw output gives: +1 for out >= 0, else -1."""
    return np.where(out >= 0, 1, -1).astype(np.int8)


def candidate_network(candidates: Sequence[Candidate], m: int, d: int) -> RCNN:
    """ONE RCNN with a candidate per draw (narrower filters padded with zero units)."""
    depths = {len(c.weights.body) for c in candidates}
    if len(depths) != 1:
        raise ValueError(f"candidates in one batch need the same body depth, got {depths}")
    hidden = tuple(max(ws) for ws in zip(*(c.weights.hidden for c in candidates), strict=True))
    config = RCNNConfig(
        d=d,
        m=m,
        work_columns=candidates[0].work_columns,
        layers=candidates[0].layers(m, d),
        hidden=hidden,
        head_hidden=max(c.weights.head_hidden for c in candidates),
        padding=FRAME_PADDING,
        candidates=len(candidates),
    )
    return RCNN(config).load_shared([c.weights for c in candidates]).freeze_shared()


def evaluate(config: SearchConfig, indices: Sequence[int], problems: Sequence[Problem]) -> dict:
    """Validation errors (len(indices), len(problems)) of the candidates `indices`,
    each trained by Algorithm 1 on each problem's training set, in one grouped pass."""
    candidates = [config.draw(i) for i in indices]
    errors = np.zeros((len(indices), len(problems)))
    with one_thread():
        for p, (X, y, X_val, y_val) in enumerate(problems):
            net = candidate_network(candidates, *X.shape)
            algorithm1(net, X, y)
            errors[:, p] = (sign(network_outputs(net, X_val)) != y_val[:, None]).mean(0)
    return {
        "indices": list(indices),
        "errors": errors.tolist(),
        "programs": [c.program for c in candidates],
    }


def _fingerprint(config: SearchConfig, problems: Sequence[Problem]) -> str:
    """What a checkpoint's rows depend on: the config except `restarts` (candidate i is
    the same in a longer search) and the data."""
    same = asdict(config) | {"restarts": None}
    return journal.fingerprint(same, [a for arrays in problems for a in arrays])


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


def search(
    config: SearchConfig,
    problems: Sequence[Problem],
    backend: str = "inprocess",
    workers: int = 2,
    address: str | None = None,
    checkpoint: str | None = None,
    progress: bool = True,
) -> SearchResult:
    """Draw config.restarts candidates and validate each on every problem."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {BACKENDS}")
    if not problems:
        raise ValueError("search needs at least one problem")
    problems = [_check_problem(p) for p in problems]
    chunks = [
        list(range(i, min(i + config.batch, config.restarts)))
        for i in range(0, config.restarts, config.batch)
    ]
    done = _load_checkpoint(checkpoint, config, problems, chunks) if checkpoint else {}
    resumed = len(done)
    todo = [c for c in range(len(chunks)) if c not in done]
    start = time.perf_counter()
    with progress_bar(
        f"search ({backend})",
        config.restarts,
        progress,
        initial=sum(len(chunks[c]) for c in done),
    ) as bar:
        jobs = [(config, chunks[c], problems) for c in todo]
        for j, result in run_chunks(evaluate, jobs, backend, workers, address):
            done[todo[j]] = result
            if checkpoint:
                journal.append(checkpoint, {"chunk": todo[j]} | result)
            bar.update(len(result["indices"]))
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


def _load_checkpoint(path: str, config: SearchConfig, problems, chunks) -> dict[int, dict]:
    """The finished chunks a checkpoint holds (journal.py; a new one gets its header).

    Every row is checked (fields, types, its chunk's candidate indices, one error in
    [0, 1] per problem) and a bad one is an error naming its line. Rows of a search
    with the same config and data but fewer or more restarts are reused where their
    chunk is the same."""
    header = {"fingerprint": _fingerprint(config, problems), "config": asdict(config)}
    rows = journal.open_journal(
        path, header, "search", "its config or data differ; only --restarts may change"
    )
    done = {}
    for number, row in rows:
        try:
            row = _check_row(row, chunks, len(problems))
        except ValueError as err:
            raise ValueError(f"checkpoint {path} line {number}: {err}") from None
        if row is not None:
            done[row.pop("chunk")] = row
    return done


def _check_row(row, chunks, problems: int) -> dict | None:
    """A checkpoint row, checked; None for a row of a chunk this search does not have."""
    if isinstance(row, str) or not isinstance(row, dict):
        raise ValueError("a row must be a JSON object")
    if set(row) != {"chunk", "indices", "errors", "programs"}:
        raise ValueError(
            f"a row has the fields chunk, indices, errors, programs; got {sorted(row)}"
        )
    chunk, indices, errors, programs = (row[k] for k in ("chunk", "indices", "errors", "programs"))
    if not isinstance(chunk, int) or isinstance(chunk, bool) or chunk < 0:
        raise ValueError(f"chunk must be a non-negative integer, got {chunk!r}")
    if not isinstance(indices, list) or not all(type(i) is int for i in indices):
        raise ValueError("indices must be a list of integers")
    if chunk >= len(chunks) or indices != chunks[chunk]:
        return None  # another number of restarts: recomputed
    ok = isinstance(errors, list) and len(errors) == len(indices)
    ok = ok and all(
        isinstance(e, list)
        and len(e) == problems
        and all(type(v) in (int, float) and 0 <= v <= 1 for v in e)
        for e in errors
    )
    if not ok:
        raise ValueError(f"errors must be {len(indices)} lists of {problems} numbers in [0, 1]")
    if not isinstance(programs, list) or len(programs) != len(indices):
        raise ValueError(f"programs must be a list of {len(indices)} entries")
    if not all(p is None or isinstance(p, str) for p in programs):
        raise ValueError("programs must be strings or null")
    return row


class TuringOptimalLearner(PM1Classifier):
    """Corollary 2 as an estimator: restarts of Algorithm 1 from random initialisations,
    keeping the network with the lowest error on a validation split.

    config: what to draw (SearchConfig; None: its defaults). fit(X, y) trains on the
    first examples and validates on the last val_fraction; the chosen candidate
    (best_, program_) then predicts through its own RCNN. backend, workers, address,
    checkpoint: where the search runs and where it saves its progress (see search).
    """

    def __init__(
        self,
        config: SearchConfig | None = None,
        val_fraction: float = 0.3,
        backend: str = "inprocess",
        workers: int = 2,
        address: str | None = None,
        checkpoint: str | None = None,
        progress: bool = True,
    ):
        self.config = config
        self.val_fraction = val_fraction
        self.backend = backend
        self.workers = workers
        self.address = address
        self.checkpoint = checkpoint
        self.progress = progress

    def fit(self, X, y) -> TuringOptimalLearner:
        X, y = self._fit_data(X, y)
        problem = split(X, y, self.val_fraction)
        self.config_ = self.config or SearchConfig()
        self.result_ = search(
            self.config_,
            [problem],
            self.backend,
            self.workers,
            self.address,
            self.checkpoint,
            self.progress,
        )
        self.best_ = self.result_.best
        self.val_errors_ = self.result_.mean_errors
        self.val_error_ = float(self.val_errors_[self.best_])
        self.program_ = self.result_.programs[self.best_]
        self.train_ = problem[:2]
        return self._fitted()

    def predict(self, X) -> np.ndarray:
        X = self._test_data(X)
        return self._to_classes(predict_with(self.config_, self.best_, *self.train_, X))


def split(X, y, fraction: float) -> Problem:
    """The first examples to train, the last `fraction` of them to validate."""
    if not 0 < fraction < 1:
        raise ValueError(f"the held-out fraction must be in (0, 1), got {fraction}")
    n_val = max(1, int(round(fraction * len(y))))
    if n_val >= len(y):
        raise ValueError(f"need at least 2 examples to hold some out, got {len(y)}")
    return X[:-n_val], y[:-n_val], X[-n_val:], y[-n_val:]


def predict_with(
    config: SearchConfig, index: int, X_train, y_train, X, progress: bool = False
) -> np.ndarray:
    """Candidate `index` of `config`, trained by Algorithm 1 on (X_train, y_train):
    its +-1 predictions on X (progress: a bar over X's batches)."""
    X_train, y_train = check_dataset(X_train, y_train)
    net = candidate_network([config.draw(index)], *X_train.shape)
    with one_thread():
        algorithm1(net, X_train, y_train)
        return sign(network_outputs(net, X, progress=progress)[:, 0])


@dataclass
class GrowthRecord:
    config: SearchConfig
    val_error: float
    holdout_error: float
    program: str | None
    seconds: float


class Algorithm2(PM1Classifier):
    """Algorithm 2: for growing (size, time) run Corollary 2, choose on held-out data.

    levels: the SearchConfigs to try in order; budget_seconds: stop growing after this.
    fit(X, y) holds out the last holdout_fraction of the examples; each level runs
    Corollary 2 on the rest; the level whose chosen network has the lowest held-out
    error wins (ties: the earlier, smaller level). Fitted: records_, learners_, best_.
    """

    def __init__(
        self,
        levels: Sequence[SearchConfig] = (),
        holdout_fraction: float = 0.25,
        budget_seconds: float = float("inf"),
        progress: bool = True,
    ):
        self.levels = levels
        self.holdout_fraction = holdout_fraction
        self.budget_seconds = budget_seconds
        self.progress = progress

    def fit(self, X, y) -> Algorithm2:
        X, y = self._fit_data(X, y)
        if not self.levels:
            raise ValueError("Algorithm2 needs at least one level (a SearchConfig)")
        X_fit, y_fit, X_hold, y_hold = split(X, y, self.holdout_fraction)
        start = time.perf_counter()
        self.records_, self.learners_ = [], []
        for config in self.levels:
            t0 = time.perf_counter()
            learner = TuringOptimalLearner(config, progress=self.progress).fit(X_fit, y_fit)
            hold = 1 - learner.score(X_hold, y_hold)
            seconds = time.perf_counter() - t0
            record = GrowthRecord(config, learner.val_error_, hold, learner.program_, seconds)
            self.records_.append(record)
            self.learners_.append(learner)
            if time.perf_counter() - start > self.budget_seconds:
                break
        self.best_ = int(np.argmin([r.holdout_error for r in self.records_]))
        return self._fitted()

    def predict(self, X) -> np.ndarray:
        X = self._test_data(X)
        return self._to_classes(self.learners_[self.best_].predict(X))


def reuse(
    config: SearchConfig, family: Sequence[Problem], new: Sequence[Problem], **search_kw
) -> dict:
    """Section 5: choose the candidate with the best mean validation error over problems
    drawn from a family, then apply that filter unchanged (Algorithm 1 on each new
    problem's training set) to new problems from the family."""
    result = search(config, family, **search_kw)
    best = result.best
    new_errors = evaluate(config, [best], [_check_problem(p) for p in new])["errors"][0]
    return {
        "best": best,
        "program": result.programs[best],
        "family_error": float(result.mean_errors[best]),
        "new_errors": new_errors,
        "new_error_mean": float(np.mean(new_errors)),
        "seconds": result.seconds,
    }


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval for a binomial proportion."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))
