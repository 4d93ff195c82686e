"""Worker processes for CPU-bound batches (import preparation, re-checks): `services.registry.ports.WorkerPool`.

`ForkPool` forks its workers once; each gets the function and its context through the pool's
initializer (inherited memory, nothing pickled), then receives batches and returns results, which come
back in submission order with at most `window` batches in flight, so memory stays bounded however
large the input. `InlinePool` runs the same work in this process (one worker, tests).
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

__all__ = ["ForkPool", "InlinePool"]

C = TypeVar("C")
T = TypeVar("T")
R = TypeVar("R")

# Set in each worker process by the pool's initializer: (function, context).
_worker: tuple[Callable[[Any, Any], Any], Any] | None = None


def _install(fn: Callable[[Any, Any], Any], context: Any) -> None:
    global _worker
    _worker = (fn, context)


def _run(item: Any) -> Any:
    assert _worker is not None, "worker process started without its context"
    fn, context = _worker
    return fn(context, item)


class ForkPool:
    """`workers` forked processes; `imap` starts them on first use and `close` stops them."""

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)

    def imap(self, fn: Callable[[C, T], R], context: C, items: Iterable[T], *, window: int = 0) -> Iterator[R]:
        """`fn(context, item)` for every item, in order, with at most `window` items in flight."""
        window = window or 2 * self.workers
        pool = multiprocessing.get_context("fork").Pool(self.workers, initializer=_install, initargs=(fn, context))
        try:
            pending: deque[Any] = deque()
            source = iter(items)
            exhausted = False
            while True:
                while not exhausted and len(pending) < window:
                    item = next(source, _END)
                    if item is _END:
                        exhausted = True
                    else:
                        pending.append(pool.apply_async(_run, (item,)))
                if not pending:
                    return
                yield pending.popleft().get()
        finally:
            pool.terminate()
            pool.join()

    def close(self) -> None:
        """Nothing to release between runs (each `imap` owns its processes)."""


class InlinePool:
    """The same contract in this process."""

    workers = 1

    def imap(self, fn: Callable[[C, T], R], context: C, items: Iterable[T], *, window: int = 0) -> Iterator[R]:
        """`fn(context, item)` for every item, in order."""
        for item in items:
            yield fn(context, item)

    def close(self) -> None:
        """Nothing to release."""


_END = object()
