"""Where a search's chunks run: in this process, a local process pool, or Ray.

Every backend runs the same function on the same argument tuples; the candidates
are seeded by their index, so the results do not depend on the backend."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial

from .. import threads
from .config import BACKENDS


def one_thread():
    """Candidate batches are many small products: one thread is faster than several,
    and far faster than threads fighting other processes for the cores."""
    return threads.using(1)


def run_chunks(
    fn: Callable, jobs: list, backend: str, workers: int, address: str | None
) -> Iterator[tuple[int, dict]]:
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
            try:
                for future in as_completed(futures):
                    j = futures[future]
                    yield j, _worker_result(future.result, j, len(jobs))
            except BaseException:  # stopped (a signal, an error): the queue is not run
                pool.shutdown(wait=False, cancel_futures=True)
                for process in list((pool._processes or {}).values()):
                    process.terminate()
                raise
    elif backend == "ray":
        try:
            import ray
        except ImportError as err:
            raise ValueError("the ray backend needs Ray: pip install 'turing-rcnn[ray]'") from err
        if not ray.is_initialized():
            if address:
                reachable(address)
            kw = {"address": address} if address else {"num_cpus": workers}
            ray.init(include_dashboard=False, log_to_driver=False, **kw)
        remote = ray.remote(fn)
        pending = {remote.remote(*args): j for j, args in enumerate(jobs)}
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                j = pending.pop(done[0])
                yield j, _worker_result(partial(ray.get, done[0]), j, len(jobs))
        except BaseException:  # stopped: cancel what has not run
            for ref in pending:
                ray.cancel(ref, force=True)
            raise
    else:
        raise ValueError(f"unknown backend {backend!r}; choose one of {BACKENDS}")


def _worker_result(get: Callable, j: int, n: int):
    """A job's result; a worker's own failure (a crash, an error that is not the user's)
    as one ValueError naming the job, not a traceback."""
    try:
        return get()
    except (ValueError, KeyboardInterrupt):
        raise
    except Exception as err:
        text = str(err).strip().split("\n")[0]
        raise ValueError(
            f"a worker failed on job {j + 1} of {n}: {type(err).__name__}: {text}"
        ) from None


def reachable(address: str, seconds: float = 5.0) -> None:
    """A ValueError unless a Ray head answers at host:port within `seconds` (ray.init
    itself would wait minutes)."""
    import socket

    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"--address must be host:port, got {address!r}")
    try:
        socket.create_connection((host, int(port)), timeout=seconds).close()
    except OSError as err:
        raise ValueError(
            f"no Ray cluster answers at {address} within {seconds:g} s ({err})"
        ) from None
