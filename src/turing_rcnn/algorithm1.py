"""Algorithm 1 (SGD on the RCNN, updating only W) and RCNNLearner, the paper's learner.

Algorithm 1: append the dummy example (all ones, +1); start from W = 0; take one
plain SGD step per example, in order, on (y - f(z))^2 / 2 with torch autograd
through all L layers, the filter and head frozen. With the compiled Theorem 1 frame
and learning rate 1/3, Lemma 1 says that after step i row a of W is
(1/3) y_a [x_a, 1] for a <= i and 0 below, that the output is 0 throughout, and that
afterwards f([x; 1]) = A(S)(x). algorithm1() checks the first two with `==` after
every step; RCNNLearner.predict relies on the third (tests hold it to A's reference).

An RCNN with G candidates runs Algorithm 1 for all of them at once: the loss is the
sum of the G squared losses, so each candidate's W gets exactly its own gradient.
"""

from __future__ import annotations

import contextlib
import mmap
import multiprocessing as mp
import os
import pickle
import signal
import sys
import time
import traceback
import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from . import guard, threads
from .checks import check_dataset, check_pm1_matrix
from .compile import CompiledProgram, compile_program
from .frame import build_frame, check_size
from .model import EVALUATIONS, RCNN, augment
from .programs.learning import LearnerProgram, get_learner
from .progress import bar
from .validation import PM1Classifier

LEARNING_RATE = 1.0 / 3.0
DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclass
class MemorisationReport:
    """What Algorithm 1 did, per SGD step and candidate: the output (steps, G) and
    whether W matched Lemma 1 (steps, G)."""

    outputs: np.ndarray
    formula_held: np.ndarray

    @property
    def exact(self) -> bool:
        """W matched (1/3) y_a [x_a, 1] (rows <= i) and 0 (rows > i) after every step,
        with every output exactly 0, for every candidate."""
        return bool(self.formula_held.all() and (self.outputs == 0).all())


def with_dummy(X, y, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """([x; 1] for each example and the dummy (all ones), labels with the dummy's +1)."""
    X = np.concatenate([np.asarray(X), np.ones((1, np.shape(X)[1]))])
    y = np.concatenate([np.asarray(y), [1]])
    return augment(torch.as_tensor(X, dtype=dtype)), torch.as_tensor(y, dtype=dtype)


def lemma1_memory(X: np.ndarray, y: np.ndarray, steps: int, dtype: torch.dtype) -> torch.Tensor:
    """Lemma 1.1: W (m+1, d+1) after `steps` SGD steps (dummy example included as row m)."""
    return _lemma1_rows(*with_dummy(X, y, dtype), steps)


def _lemma1_rows(z: torch.Tensor, labels: torch.Tensor, steps: int) -> torch.Tensor:
    rows = torch.zeros_like(z)
    third = torch.tensor(LEARNING_RATE, dtype=z.dtype)
    rows[:steps] = third * labels[:steps, None] * z[:steps]
    return rows


def algorithm1(
    net: RCNN,
    X: np.ndarray,
    y: np.ndarray,
    lr: float = LEARNING_RATE,
    progress: bool = False,
    evaluation: str = "dense",
    check: int = 0,
) -> MemorisationReport:
    """Run Algorithm 1 on a network whose filter and head are frozen; W starts at 0
    (evaluation, check: how the body is evaluated, see RCNN.run_body)."""
    dtype = net.memory.dtype
    if any(p.requires_grad for p in net.shared_parameters()):
        raise ValueError("freeze the shared filter and head first (RCNN.freeze_shared)")
    z, labels = with_dummy(X, y, dtype)
    z, labels = z.to(net.memory.device), labels.to(net.memory.device)
    with torch.no_grad():
        net.memory.zero_()
    optimiser = torch.optim.SGD([net.memory], lr=lr)
    final = _lemma1_rows(z, labels, len(z))  # rows after the last step; row i is due at step i
    outputs, held = [], []
    steps = bar("Algorithm 1 (SGD steps)", iterable=range(len(z)), enabled=progress, leave=False)
    for i in steps:
        optimiser.zero_grad()
        out = net(z[i : i + 1], evaluation=evaluation, check=check)[0]  # (G,)
        loss = (0.5 * (labels[i] - out) ** 2).sum()
        loss.backward()
        optimiser.step()
        memory = net.memory.detach()
        written = (memory[:, : i + 1] == final[: i + 1]).flatten(1).all(1)
        outputs.append(out.detach())
        held.append(written & ~memory[:, i + 1 :].flatten(1).any(1))
    return MemorisationReport(torch.stack(outputs).cpu().numpy(), torch.stack(held).cpu().numpy())


# Streaming test points (predict, 'changes'): a chunk of points holds its grids as one
# byte per padded cell and point (RCNN.outputs_by_changes builds them 16 points at a
# time) and a layer's outputs (the first layers change every cell of every point; the
# rest of a layer's work goes a block of cells at a time): GRID_BYTES per cell and point
# at the peak (measured: 1.4 at d = 128), so a chunk of chunk_points(cells) points takes
# at most CHUNK_BYTES, whatever the number of points. `check` adds the dense
# convolution's activations for the chunk.
CHUNK_BYTES = 512 * 2**20
GRID_BYTES = 2.5
MOST_POINTS = 1024  # more gains nothing: the shared work is paid once per chunk anyway
MEMORY_MARGIN = 256 * 2**20  # kept free beside the memo and the grids (predict)
MEMO_FLOOR = 64 * 2**20  # a patch memo may always grow to this
_CAN_FORK = sys.platform.startswith("linux") and hasattr(os, "fork")


def chunk_points(
    cells: int,
    budget: float | None = None,
    per_cell: float | None = None,
    most: int | None = None,
) -> int:
    """Test points per chunk whose grids (`cells` padded cells a point, `per_cell` bytes
    each at the peak, default GRID_BYTES) fit in `budget` bytes (default CHUNK_BYTES): at
    least 1, at most `most` (default MOST_POINTS)."""
    budget = CHUNK_BYTES if budget is None else budget
    per_cell = GRID_BYTES if per_cell is None else per_cell
    most = MOST_POINTS if most is None else most
    if cells < 1 or not budget > 0 or not per_cell > 0:
        raise ValueError(f"cells, budget, per_cell must be positive: {cells}, {budget}, {per_cell}")
    return int(max(1, min(most, budget // (per_cell * cells))))


@torch.no_grad()
def network_outputs(
    net: RCNN,
    X,
    batch_size: int = 256,
    evaluation: str = "dense",
    check: int = 0,
    progress: bool = False,
    n_jobs: int = 1,
    stats: dict | None = None,
) -> np.ndarray:
    """The raw outputs f([x; 1]) of every candidate, (N, G), a chunk of `batch_size`
    inputs at a time (only one chunk's grids are held at once).

    n_jobs > 1 (CPU, Linux): the first chunk runs here (it fills the patch memo with
    what every point meets), then the memo is frozen and the other chunks are shared
    between this process and n_jobs - 1 forked worker processes, one torch thread each
    (_Pool: a worker gives its chunk back and waits while another process needs its
    core). Each chunk's outputs are the same function of its points wherever it runs.
    stats: a dict filled with how the run went (chunks, processes, workers' reports)."""
    X = np.asarray(X)
    dtype = torch.empty(0, dtype=net.memory.dtype).numpy().dtype
    out = np.zeros((len(X), net.config.candidates), dtype)
    spans = [(i, min(i + batch_size, len(X))) for i in range(0, len(X), batch_size)]
    info = {"points": len(X), "chunk_points": batch_size, "chunks": len(spans), "processes": 1}
    # change-driven work is small operations: one thread (threads.py), whatever torch
    # was set to; only large batches of new patches take Memo.threads
    one = threads.using(1) if evaluation == "changes" else contextlib.nullcontext()
    with bar("predict", len(X), enabled=progress, unit="point", leave=False) as line, one:
        chunks = _Chunks(net, X, spans, evaluation, check, line if progress else None)
        if n_jobs > 1 and len(spans) > 1:
            chunks.shared(out, n_jobs, info)
        else:
            for k in range(len(spans)):
                chunks.run(k, out)
    if stats is not None:
        stats.update(info)
    return out


class _Chunks:
    """The chunks of a network_outputs call: outputs(k) computes chunk k."""

    def __init__(self, net: RCNN, X, spans, evaluation: str, check: int, line):
        self.net, self.X, self.spans = net, X, spans
        self.evaluation, self.check, self.line = evaluation, check, line

    def outputs(self, k: int, tick=None) -> np.ndarray:
        """Chunk k's outputs (points, G); tick() after each layer ('changes' only)."""
        i, j = self.spans[k]
        z = augment(torch.as_tensor(self.X[i:j], dtype=self.net.memory.dtype))
        z = z.to(self.net.memory.device)
        if self.evaluation == "changes":
            return self.net.outputs_by_changes(z, self.check, tick).cpu().numpy()
        return self.net(z, evaluation=self.evaluation, check=self.check).cpu().numpy()

    def run(self, k: int, out: np.ndarray, also=None) -> None:
        """Chunk k here, into out; the bar moves a point at a time within the chunk
        (layers run / layers of the network); also() after each layer."""
        i, j = self.spans[k]
        shown, per = [0, 0.0], (j - i) / (self.net.config.layers * self.net.config.candidates)

        def tick():
            if self.line is not None:
                shown[1] += per
                if int(shown[1]) > shown[0]:
                    self.line.update(int(shown[1]) - shown[0])
                    shown[0] = int(shown[1])
            if also is not None:
                also()

        out[i:j] = self.outputs(k, tick if self.line is not None or also else None)
        if self.line is not None:
            self.line.update(j - i - shown[0])

    def shared(self, out: np.ndarray, n_jobs: int, info: dict) -> None:
        """Chunk 0 here, then the rest shared with n_jobs - 1 forked workers."""
        memos = []
        if self.evaluation == "changes":
            memos = [self.net.memo(g) for g in range(self.net.config.candidates)]
        for memo in memos:  # the other cores are idle (threads.processes): the patch
            memo.threads = n_jobs  # net's large batches may use them while alone
        start = time.perf_counter()
        try:
            self.run(0, out)
        finally:
            for memo in memos:
                memo.threads = 1
        info["first_chunk_seconds"] = time.perf_counter() - start
        for memo in memos:  # the workers share the memo's pages; each adds to its own store
            memo.freeze(share=n_jobs)
        try:
            with threads.using(1):
                pool = _Pool(self, out)
                try:
                    pool.start(n_jobs - 1)
                    pool.work()
                except BaseException:
                    pool.close(info, failing=True)
                    raise
                pool.close(info)
        finally:
            for memo in memos:
                memo.merge()


FREE, DONE = 0, 1  # a chunk's state in _Pool; 2 + w: being computed by process w (0: here)
CHECK_EVERY = 0.5  # seconds between a worker's looks at the load
BUSY = 0.3  # cores other processes may use before a worker gives way


class _Yield(Exception):
    """A worker gives its chunk back (the machine got busy, or the job is over)."""


class _Pool:
    """Chunks 1.. shared between this process (worker 0) and forked workers 1..n.

    Shared memory (an anonymous mmap made before the fork): the outputs, one state byte
    per chunk, a stop byte. A process claims the next free chunk under a lock, computes
    it and marks it done. A worker looks at the load every CHECK_EVERY seconds
    (threads.LoadWatch: CPU used by processes other than the job's own): when others
    need its core it gives the chunk back and waits until they stop (or the job ends),
    so a job never keeps more cores than were idle. It reports (pickled, on a pipe) its
    chunks, counts and peak memory, or its error; a worker that died with no report is
    an error. This process runs chunks too and, when none are free, waits for the
    workers' chunks, taking back those of a worker that stopped."""

    def __init__(self, chunks: _Chunks, out: np.ndarray):
        self.chunks, self.out = chunks, out
        n = len(chunks.spans)
        self.mm = mmap.mmap(-1, out.nbytes + n + 1)  # MAP_SHARED: the workers see it
        self.results = np.frombuffer(self.mm, out.dtype, out.size).reshape(out.shape)
        self.state = np.frombuffer(self.mm, np.int8, n, out.nbytes)
        self.stop = np.frombuffer(self.mm, np.int8, 1, out.nbytes + n)
        i, j = chunks.spans[0]
        self.results[i:j] = out[i:j]
        self.state[0] = DONE
        self.counted = {0}  # chunks the bar has counted
        self.mine = 1  # chunks run here (chunk 0 included)
        self.lock = mp.get_context("fork").Lock()
        self.parent = os.getpid()
        self.cores = threads.available_cores()
        self.workers = 0
        self.children: dict[int, tuple[int, int]] = {}  # pid -> (worker, report pipe)
        self.reports: list[dict] = []

    def start(self, workers: int) -> None:
        """Fork the workers (fewer if the system refuses a fork: this process does the
        rest)."""
        self.workers = workers
        for w in range(1, workers + 1):
            try:
                self._fork(w)
            except OSError as error:  # no memory or processes left for a fork
                self.reports.append({"worker": w, "not_started": str(error)})

    # ---- both sides ---------------------------------------------------------------
    def _claim(self, who: int) -> int | None:
        with self.lock:
            free = np.flatnonzero(self.state == FREE)
            if not len(free):
                return None
            self.state[free[0]] = 2 + who
            return int(free[0])

    def _set(self, k: int, state: int) -> None:
        with self.lock:
            self.state[k] = state

    # ---- a worker -------------------------------------------------------------------
    def _fork(self, w: int) -> None:
        read, write = os.pipe()
        with warnings.catch_warnings():  # Python 3.12+ warns of fork beside threads: the
            warnings.simplefilter("ignore", DeprecationWarning)  # worker starts none
            pid = os.fork()
        if pid:
            os.close(write)
            self.children[pid] = (w, read)
            return
        code = 1  # the worker: never returns, never writes to stdout or stderr
        try:
            os.close(read)
            try:
                report, code = self._worker(w), 0
            except BaseException:
                report = {"worker": w, "error": traceback.format_exc(limit=8)}
            data = pickle.dumps(report)
            while data:
                data = data[os.write(write, data) :]
        finally:
            os._exit(code)

    def _worker(self, w: int) -> dict:
        torch.set_num_threads(1)
        memos = []
        if self.chunks.evaluation == "changes":
            memos = [self.chunks.net.memo(g) for g in range(self.chunks.net.config.candidates)]
        counts = ("lookups", "evaluated", "unstored")
        before = {name: sum(getattr(m, name) for m in memos) for name in counts}
        watch = threads.LoadWatch([self.parent, os.getpid()])
        room = max(0.0, self.cores - 1 - self.workers) + BUSY  # others' cores we leave
        last = [time.monotonic()]

        def gone() -> bool:
            return bool(self.stop[0]) or os.getppid() != self.parent

        def tick() -> None:
            now = time.monotonic()
            if now - last[0] >= CHECK_EVERY:
                last[0] = now
                if gone() or watch.others() > room:
                    raise _Yield

        done = given_back = 0
        while not gone():
            k = self._claim(w)
            if k is None:
                break
            try:
                outputs = self.chunks.outputs(k, tick)
            except _Yield:
                self._set(k, FREE)
                given_back += 1
                watch.others()
                while not gone():  # wait while the core is wanted elsewhere
                    time.sleep(CHECK_EVERY)
                    if watch.others() <= room:
                        break
                continue
            i, j = self.chunks.spans[k]
            self.results[i:j] = outputs
            self._set(k, DONE)
            done += 1
        report = {"worker": w, "chunks": done, "given_back": given_back, "peak_mb": _peak_mb()}
        for name in counts:
            report[name] = sum(getattr(m, name) for m in memos) - before[name]
        return report

    # ---- this process -------------------------------------------------------------
    def work(self) -> None:
        """This process's share; returns when every chunk is done."""
        last = [time.monotonic()]

        def also() -> None:  # now and then: count the workers' chunks, reap the dead
            now = time.monotonic()
            if now - last[0] >= CHECK_EVERY:
                last[0] = now
                self._poll()

        while True:
            k = self._claim(0)
            if k is None:
                if self._poll():
                    return
                time.sleep(0.02)
                continue
            self.chunks.run(k, self.results, also)
            self.counted.add(k)
            self._set(k, DONE)
            self.mine += 1

    def _poll(self) -> bool:
        """Count the workers' finished chunks on the bar; take back the chunks of a
        worker that is gone; whether every chunk is done."""
        for pid, (w, _) in list(self.children.items()):
            ended, status = os.waitpid(pid, os.WNOHANG)
            if ended:
                self._reap(pid, status=status)
                with self.lock:
                    self.state[self.state == 2 + w] = FREE
        done = np.flatnonzero(self.state == DONE)
        new = [int(k) for k in done if int(k) not in self.counted]
        if new and self.chunks.line is not None:
            self.chunks.line.update(sum(j - i for i, j in (self.chunks.spans[k] for k in new)))
        self.counted.update(new)
        return len(done) == len(self.state)

    def _reap(self, pid: int, status: int | None = None, kill: bool = False) -> None:
        """Read worker pid's report and wait for it unless it ended with `status`
        (killing it first if asked)."""
        w, read = self.children.pop(pid)
        if kill:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        data = b""
        while chunk := os.read(read, 1 << 16):
            data += chunk
        os.close(read)
        if status is None:
            status = os.waitpid(pid, 0)[1]
        if data:
            self.reports.append(pickle.loads(data))
        elif not kill:
            how = f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status) else "no report"
            self.reports.append({"worker": w, "error": f"the worker process ended with {how}"})

    def close(self, info: dict, failing: bool = False) -> None:
        """Stop the workers (killed if this process is failing), collect their reports,
        copy the outputs out; a worker's error is raised here."""
        self.stop[0] = 1
        for pid in list(self.children):
            self._reap(pid, kill=failing)
        if not failing:
            self.out[:] = self.results
        info["processes"] = 1 + self.workers
        info["chunks_here"] = self.mine
        info["workers"] = sorted(self.reports, key=lambda r: r["worker"])
        self.results = self.state = self.stop = None
        try:
            self.mm.close()
        except BufferError:  # a failing call's traceback still holds a view: let it go
            pass
        errors = [r["error"] for r in self.reports if "error" in r]
        if errors and not failing:
            raise RuntimeError(f"a predict worker process failed:\n{errors[0]}")


def _peak_mb() -> float:
    """Peak resident memory of this process (VmHWM), in MB (nan off Linux)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


@lru_cache(maxsize=16)
def compiled_frame(learner: str, dtype: str = "float32") -> CompiledProgram:
    """The Theorem 1 frame around a shipped learner, compiled (cached: it is pure)."""
    return compile_program(build_frame(get_learner(learner)), DTYPES[dtype])


class RCNNLearner(PM1Classifier):
    """The paper's learner: an RCNN whose filter runs a learner program inside the
    Theorem 1 frame, trained by Algorithm 1.

    learner: a name from programs.learning.LEARNERS or a LearnerProgram; the default,
        gauss (GF(2) elimination), is the one that learns parities.
    d, m: optional; if given, fit() insists on them.
    dtype: 'float32' or 'float64' (both exact for the shipped learners).
    evaluation: 'changes' (default: only the cells whose patch changed, shared across
        the test points, each distinct patch through the filter once; changes.py) or
        'dense' (every cell at every layer, the reference); equal (==) on compiled
        programs, forward and backward (tests).
    check: with 'changes', recompute this many random layers of every pass with the
        dense convolution and compare with == (a RuntimeError if they differ).
    checkpoint_every: for 'dense', recompute activations in blocks of this many layers
        during Algorithm 1's backward passes; None picks ceil(sqrt(L)) for deep networks
        (L > 64), so stored activations grow like sqrt(L) instead of L.
    batch_size: test points per forward pass in predict, the chunks the test points are
        streamed in (None: for 'changes', as many as fit in CHUNK_BYTES, chunk_points;
        64 for 'dense'), so memory does not grow with the number of test points.
    device: where the network runs ('cpu', 'cuda', ...); the arithmetic is the same.
    n_jobs: processes for predict on the CPU (Linux): None lets threads.processes
        choose (1 for small work; for large work the idle cores, each worker giving way
        while another process needs its core), k >= 1 that many (at most the cores),
        -1 every core. Workers are forked after the first chunk and run one thread
        each; the outputs are the same for any n_jobs.

    Fitted attributes: compiled_ (the filter and head), layers_ (L), net_ (the RCNN),
    memorisation_ (Algorithm 1's report), memorisation_exact_, classes_, n_features_in_.
    """

    def __init__(
        self,
        learner: str | LearnerProgram = "gauss",
        d: int | None = None,
        m: int | None = None,
        dtype: str = "float32",
        evaluation: str = "changes",
        check: int = 0,
        checkpoint_every: int | None = None,
        batch_size: int | None = None,
        device: str = "cpu",
        progress: bool = False,
        n_jobs: int | None = None,
    ):
        self.learner = learner
        self.d = d
        self.m = m
        self.dtype = dtype
        self.evaluation = evaluation
        self.check = check
        self.checkpoint_every = checkpoint_every
        self.batch_size = batch_size
        self.device = device
        self.progress = progress
        self.n_jobs = n_jobs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # It learns what its learner program learns (a parity, a label rule), not any
        # classification problem: scikit-learn's training-score check does not apply.
        tags.classifier_tags.poor_score = True
        return tags

    def learner_program(self) -> LearnerProgram:
        """The learner program (resolved from its name)."""
        return get_learner(self.learner) if isinstance(self.learner, str) else self.learner

    def fit(self, X, y) -> RCNNLearner:
        X, y = self._fit_data(X, y)
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {sorted(DTYPES)}, got {self.dtype!r}")
        if self.evaluation not in EVALUATIONS:
            raise ValueError(f"evaluation must be one of {EVALUATIONS}, got {self.evaluation!r}")
        guard.check_device(self.device)
        m, d = X.shape
        for name, want, got in (("d", self.d, d), ("m", self.m, m)):
            if want is not None and want != got:
                raise ValueError(f"this RCNNLearner was built for {name} = {want}, got {got}")
        self._check_jobs()  # a bad n_jobs is refused before any work
        learner = self.learner_program()
        padded = (m + 3) * (d + 3 + learner.work_columns)
        batch = self._batch(padded)
        _, layers = check_size(learner, m, d, batch, self.evaluation == "dense")
        if isinstance(self.learner, str):
            self.compiled_ = compiled_frame(self.learner, self.dtype)
        else:
            self.compiled_ = compile_program(build_frame(learner), DTYPES[self.dtype])
        self.layers_ = layers
        every = self.checkpoint_every
        if every is None:
            every = 0 if self.layers_ <= 64 else int(np.ceil(np.sqrt(self.layers_)))
        self.net_ = self.compiled_.network(
            layers=self.layers_,
            dtype=DTYPES[self.dtype],
            d=d,
            m=m,
            work_columns=learner.work_columns,
            checkpoint_every=every,
        ).to(self.device)
        self.memorisation_ = algorithm1(
            self.net_, X, y, progress=self.progress, evaluation=self.evaluation, check=self.check
        )
        self.memorisation_exact_ = self.memorisation_.exact
        return self._fitted()

    def _batch(self, padded_cells: int) -> int:
        """Test points per chunk: batch_size, or chosen from the memory a chunk takes."""
        if self.batch_size is None:
            return (
                chunk_points(padded_cells, per_cell=self._cell_bytes())
                if self.evaluation == "changes"
                else 64
            )
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, (int, np.integer)):
            raise ValueError(
                f"batch_size must be a positive integer or None, got {self.batch_size!r}"
            )
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        return int(self.batch_size)

    def _cell_bytes(self) -> float:
        """Bytes per padded cell and test point of a chunk at its peak ('changes'): the
        grids, and with `check` the dense convolution's activations (float, 3 copies)."""
        if not self.check:
            return GRID_BYTES
        compiled = getattr(self, "compiled_", None)
        if compiled is None:
            learner = self.learner_program()
            compiled = (
                compiled_frame(self.learner, self.dtype)
                if isinstance(self.learner, str)
                else compile_program(build_frame(learner), DTYPES[self.dtype])
            )
        return GRID_BYTES + 4.0 * 3 * (sum(compiled.hidden) + 1)

    def _check_jobs(self) -> bool:
        """A ValueError for a bad n_jobs; whether worker processes are possible here."""
        threads.check_processes(self.n_jobs)
        if self.device == "cpu" and _CAN_FORK:
            return True
        if self.n_jobs not in (None, 1):
            raise ValueError(
                f"n_jobs = {self.n_jobs}: worker processes run on the CPU, on Linux (fork); "
                f"this is device {self.device!r} on {sys.platform}"
            )
        return False

    def _processes(self, points: int, cells: int) -> int:
        """Processes for predicting `points` points on a grid of `cells` cells."""
        if not self._check_jobs():
            return 1
        return threads.processes(self.n_jobs, work=float(points) * cells * self.layers_)

    def _raw(self, X) -> np.ndarray:
        X = self._test_data(X)
        rows, cols = self.net_.config.grid_shape
        padded = (rows + 2) * (cols + 2)
        size = self._batch(padded)
        procs = self._processes(len(X), rows * cols)
        if procs > 1:  # the first chunk, then at least two for each process
            size = min(size, max(1, -(-len(X) // (1 + 2 * procs))))
        if self.evaluation == "changes":
            self._memo_budget(size * procs * self._cell_bytes() * padded)
        report: dict = {}
        outputs = network_outputs(
            self.net_, X, size, self.evaluation, self.check, self.progress, procs, report
        )
        self.net_.predict_report = report  # how the last predict ran (chunks, workers)
        return outputs[:, 0]

    def _memo_budget(self, grids: float) -> None:
        """Bound each candidate's patch memo (Memo.max_bytes) so that the memos, the
        chunks' grids (`grids` bytes) and a margin stay within the memory this job may
        take (guard.allowed_bytes: --max-memory or the memory available now); worker
        processes split what is left beyond the frozen stores (Memo.freeze)."""
        memos = [self.net_.memo(g) for g in range(self.net_.config.candidates)]
        spare = guard.allowed_bytes() + sum(m.nbytes for m in memos) - grids - MEMORY_MARGIN
        each = max(MEMO_FLOOR, 0.8 * spare / len(memos))
        for memo in memos:
            memo.max_bytes = each

    def decision_function(self, X) -> np.ndarray:
        """The network's outputs f([x; 1]) (exactly +-1 when the learner answered),
        oriented so that > 0 means classes_[1] (the raw outputs for +-1 labels)."""
        return self._oriented(self._raw(X))

    def predict(self, X) -> np.ndarray:
        """The learner's answers as labels in classes_; raises if the network did not
        answer exactly +-1."""
        out = self._raw(X)
        answered = np.isin(out, (-1.0, 1.0))
        if not answered.all():
            raise RuntimeError(
                f"the network output {out[~answered][0]!r} instead of +-1: the learner did "
                f"not answer within {self.layers_} layers"
            )
        return self._to_classes(out)

    def reference_predict(self, X_train, y_train, X_test) -> np.ndarray:
        """What the learner program's plain reference says, A(S)(x), on +-1 data."""
        X_train, y_train = check_dataset(X_train, y_train)
        X_test = check_pm1_matrix(X_test, "X_test", d=X_train.shape[1])
        reference = self.learner_program().reference
        step = max(1000, -(-len(X_test) // 100))  # at most 100 chunks: a bar with an ETA
        parts = [np.zeros(0, dtype=np.int8)]
        with bar("reference", len(X_test), self.progress, unit="point", leave=False) as line:
            for i in range(0, len(X_test), step):  # A(S)(x) is one x at a time
                parts.append(reference(X_train, y_train, X_test[i : i + step]))
                line.update(len(parts[-1]))
        return np.concatenate(parts)
