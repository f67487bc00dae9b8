"""Where a search's chunks run: in this process, a local process pool, or Ray.

Every backend runs the same function on the same argument tuples; the candidates
are seeded by their index, so the results do not depend on the backend."""

from __future__ import annotations

from collections.abc import Callable, Iterator

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
            for future in as_completed(futures):
                yield futures[future], future.result()
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
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            yield pending.pop(done[0]), ray.get(done[0])
    else:
        raise ValueError(f"unknown backend {backend!r}; choose one of {BACKENDS}")


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
