"""Streaming predict (issue 33): the test points in chunks sized from memory, shared
between worker processes, the patch memo's hash stores and its memory bound. Every
output is held to the unchunked, one-process predict and to Gaussian elimination with
==; the memory logic is checked on what predict actually builds."""

import numpy as np
import pytest
import torch

from turing_rcnn import GaussianElimination, ParityTask, RCNNLearner, changes, threads
from turing_rcnn import algorithm1 as a1

GE = GaussianElimination(fit_intercept=False)


@pytest.fixture(autouse=True)
def one_thread():
    """Small-op work on one thread, as the package's policy runs it (conftest sets 2)."""
    with threads.using(1):
        yield


def _fitted(d: int, m: int, n_test: int, seed: int, **kw):
    data = ParityTask(d, noise=0.1 if seed % 2 else 0.0).make(m, n_test=n_test, seed=seed)
    model = RCNNLearner("gauss", **kw).fit(data.X_train, data.y_train)
    assert model.memorisation_exact_
    return model, data


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_chunked_predict_equals_unchunked_and_gaussian_elimination(seed):
    """Chunks of 1, 3 and 7 points (7 does not divide 40), one chunk of all, and the
    default (from memory): the same outputs, == GE on every point."""
    d = 6 + 2 * seed
    model, data = _fitted(d, d + 3, 40, seed, n_jobs=1)
    want = GE.fit(data.X_train, data.y_train).predict(data.X_test)
    whole = model.set_params(batch_size=40).decision_function(data.X_test)
    for size, points in ((1, 9), (3, 40), (7, 40), (None, 40)):
        model.set_params(batch_size=size)
        T = data.X_test[:points]
        assert np.array_equal(model.decision_function(T), whole[:points])
        assert np.array_equal(model.predict(T), want[:points])
    assert model.net_.predict_report["chunk_points"] == a1.chunk_points(
        (d + 6) * (d + 5), per_cell=a1.GRID_BYTES
    )


def test_chunk_size_comes_from_the_memory_budget(monkeypatch):
    """With a small CHUNK_BYTES, predict builds grids of at most chunk_points points,
    whose bytes fit the budget; the chunk count follows."""
    made = []
    held = changes.Grid.held

    def recording(var, rows, cols):
        made.append(var.shape[1])
        return held(var, rows, cols)

    monkeypatch.setattr(changes.Grid, "held", staticmethod(recording))
    model, data = _fitted(6, 8, 100, 3, n_jobs=1)
    padded = (8 + 3) * (6 + 4)  # (m + 1 + 2) x (d + 1 + work column + 2)
    budget = 20 * a1.GRID_BYTES * padded + 5  # room for 20 points, not 21
    monkeypatch.setattr(a1, "CHUNK_BYTES", budget)
    assert a1.chunk_points(padded, budget) == 20
    made.clear()
    pred = model.predict(data.X_test)
    assert made == [20] * 5 and model.net_.predict_report["chunks"] == 5
    assert max(made) * a1.GRID_BYTES * padded <= budget
    assert np.array_equal(pred, GE.fit(data.X_train, data.y_train).predict(data.X_test))


def test_chunk_points_bounds():
    assert a1.chunk_points(100, budget=1e9) == a1.MOST_POINTS
    assert a1.chunk_points(10**9, budget=1.0) == 1  # never below one point
    assert a1.chunk_points(1000, budget=6000 * 7 + 1, per_cell=6) == 7
    for bad in [(0, 1.0, 1.0), (10, 0.0, 1.0), (10, 1.0, float("nan"))]:
        with pytest.raises(ValueError, match="must be positive"):
            a1.chunk_points(*bad)


def test_two_processes_equal_one(monkeypatch):
    """n_jobs=2: the first chunk here, the rest shared with a forked worker (the load
    watch told the machine is idle): the same outputs as one process, every chunk done
    once, the worker's report without error."""
    monkeypatch.setattr(threads.LoadWatch, "others", lambda self: 0.0)
    model, data = _fitted(10, 13, 120, 4, n_jobs=1, batch_size=10)
    one = model.decision_function(data.X_test)
    model.set_params(n_jobs=2)
    two = model.decision_function(data.X_test)
    report = model.net_.predict_report
    assert np.array_equal(one, two)
    assert report["processes"] == 2 and report["chunks"] == 12
    (worker,) = report["workers"]
    assert "error" not in worker and worker["peak_mb"] > 0
    assert report["chunks_here"] + worker["chunks"] == 12
    ge = GE.fit(data.X_train, data.y_train).predict(data.X_test)
    assert np.array_equal(model.predict(data.X_test), ge)
    assert len(model.net_.memo(0).stores) == 1  # merged again after the workers


def test_a_worker_gives_way_when_the_machine_is_busy(monkeypatch):
    """A worker that sees another process using its core gives its chunk back and waits:
    this process does every chunk, the outputs unchanged."""
    monkeypatch.setattr(threads.LoadWatch, "others", lambda self: 1.0)
    monkeypatch.setattr(a1, "CHECK_EVERY", 0.0)  # look at the load after every layer
    model, data = _fitted(8, 10, 60, 5, n_jobs=1, batch_size=10)
    one = model.decision_function(data.X_test)
    model.set_params(n_jobs=2)
    assert np.array_equal(model.decision_function(data.X_test), one)
    report = model.net_.predict_report
    (worker,) = report["workers"]
    assert worker["chunks"] == 0 and report["chunks_here"] == 6


def test_a_worker_error_is_raised(monkeypatch):
    model, data = _fitted(6, 8, 40, 6, n_jobs=2, batch_size=5)
    monkeypatch.setattr(threads.LoadWatch, "others", lambda self: 0.0)

    def broken(self, w):
        raise OSError("worker broke")

    monkeypatch.setattr(a1._Pool, "_worker", broken)
    with pytest.raises(RuntimeError, match="(?s)worker process failed.*worker broke"):
        model.predict(data.X_test)


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "2", np.float64(2.0)])
def test_bad_n_jobs_is_refused_before_work(bad):
    X, y = np.ones((3, 4), dtype=int), np.array([1, -1, 1])
    with pytest.raises(ValueError, match="n_jobs must be None"):
        RCNNLearner("gauss", n_jobs=bad).fit(X, y)


def test_n_jobs_needs_fork_on_the_cpu(monkeypatch):
    monkeypatch.setattr(a1, "_CAN_FORK", False)
    X, y = np.ones((3, 4), dtype=int), np.array([1, -1, 1])
    with pytest.raises(ValueError, match="worker processes run on the CPU"):
        RCNNLearner("gauss", n_jobs=2).fit(X, y)
    RCNNLearner("gauss", n_jobs=1).fit(X, y)  # one process is always possible


def test_the_process_policy(monkeypatch):
    monkeypatch.setattr(threads, "available_cores", lambda: 4)
    monkeypatch.setattr(threads, "idle_cores", lambda interval=0.1: 3)
    monkeypatch.setattr(threads, "_EXPLICIT", [None])
    assert threads.processes(None, threads.PROCESS_WORK - 1) == 1  # small work: one
    assert threads.processes(None, threads.PROCESS_WORK) == 3  # large: the idle cores
    assert threads.processes(2, 0) == 2 and threads.processes(9, 0) == 4
    assert threads.processes(-1, 0) == 4
    threads.choose(2)  # an explicit --threads 2 caps the processes
    assert threads.processes(None, threads.PROCESS_WORK) == 2
    threads.choose(0)
    assert threads.processes(None, threads.PROCESS_WORK) == 3


def test_load_watch_reads_nothing_without_proc(monkeypatch):
    watch = threads.LoadWatch([])
    assert watch.others() >= 0.0

    def no_proc():
        raise OSError("no /proc here")

    monkeypatch.setattr(threads, "_cpu_times", no_proc)
    watch = threads.LoadWatch([])
    assert watch.others() == 0.0


def test_memo_bounded_by_max_bytes_stays_exact(monkeypatch):
    """A memo allowed a few KB keeps what fits and evaluates the rest each time it is
    met: the outputs are unchanged and its stores stay within the bound."""
    model, data = _fitted(10, 12, 64, 7, n_jobs=1)
    want = model.decision_function(data.X_test)
    model.net_.__dict__.pop("_memos")  # a fresh memo
    monkeypatch.setattr(a1, "MEMO_FLOOR", 40_000)
    monkeypatch.setattr(a1.guard, "allowed_bytes", lambda: 0.0)
    assert np.array_equal(model.decision_function(data.X_test), want)
    memo = model.net_.memo(0)
    assert memo.max_bytes == 40_000 and memo.nbytes <= 40_000 and memo.unstored > 0


def test_hash_store_with_colliding_homes(monkeypatch):
    """Keys whose homes collide (4 home slots, near the end of the store): every key
    placed is found with its value, absent keys are not, those whose run reached the end
    are returned; the memo then grows its store until every key has a place."""
    rng = np.random.default_rng(0)
    keys = torch.as_tensor(rng.choice(2**40, size=300, replace=False))
    values = torch.as_tensor(rng.integers(0, 128, size=300), dtype=torch.uint8)
    monkeypatch.setattr(changes, "_slots", lambda keys, homes: homes - 1 - keys % 4)
    store = changes._Hashed(1024, "cpu")
    left = store.insert(keys[:200], values[:200])
    assert len(left) and store.count + len(left) == 200  # runs ran past the end
    placed = torch.ones(200, dtype=torch.bool)
    placed[left] = False
    out, found = store.find(keys)
    assert torch.equal(found[:200], placed) and not found[200:].any()
    assert torch.equal(out[:200][placed], values[:200][placed])
    monkeypatch.setattr(changes, "_slots", lambda keys, homes: (keys % 4) * (homes // 4))
    memo = changes.Memo([], changes.ValueTable(0.0, torch.float32, "cpu"))
    memo._keep(keys, values)
    assert len(memo) == 300 and memo.unstored == 0
    out, found = memo.stores[0].find(keys)
    assert found.all() and torch.equal(out, values)


def test_freeze_and_merge_keep_every_entry():
    memo = changes.Memo([], changes.ValueTable(0.0, torch.float32, "cpu"))
    keys = torch.arange(5000, dtype=torch.int64) * 7919
    values = (keys % 101).to(torch.uint8)
    memo._keep(keys[:3000], values[:3000])
    memo.freeze()
    memo._keep(keys[3000:], values[3000:])
    assert len(memo.stores) == 2 and memo.stores[0].count == 3000
    memo.merge()
    assert len(memo.stores) == 1 and len(memo) == 5000
    got_keys, got_values = memo.entries()
    order = torch.argsort(got_keys)
    assert torch.equal(got_keys[order], keys) and torch.equal(got_values[order], values)


def test_progress_moves_within_a_chunk(monkeypatch):
    """With progress, the predict bar counts points as the layers of a chunk run: many
    small steps within one chunk, adding up to the points."""
    steps = []

    class Line:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def update(self, n):
            steps.append(n)

    model, data = _fitted(6, 8, 30, 8, n_jobs=1, batch_size=30, progress=True)
    monkeypatch.setattr(a1, "bar", lambda *args, **kw: Line())
    model.predict(data.X_test)
    assert sum(steps) == 30 and len(steps) >= 10 and all(n >= 0 for n in steps)
