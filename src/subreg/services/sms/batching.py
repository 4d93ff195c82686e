"""Group commit for MO messages: many callers (HTTP requests, SMPP listener threads) share one transaction.

Each caller hands over its MO and blocks until the batch that holds it has committed, so a gateway is still
acknowledged only after its MO is stored and answered. One writer thread takes what has queued (at most
`max_batch`, waiting at most `max_wait` for more once the first arrived) and answers it in one unit of work:
thousands of MO a second cost a few commits, not thousands. A batch that fails is answered again one message
at a time, so one bad message fails alone.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime

import structlog

from subreg.services.sms.context import SmsContext
from subreg.services.sms.inbound import Answer, receive
from subreg.services.sms.ports import InboundMessage, SmsUnitOfWork

__all__ = ["MoBatcher"]

log = structlog.get_logger("subreg.sms")


class MoBatcher:
    def __init__(
        self, uow_factory: Callable[[], SmsUnitOfWork], ctx: SmsContext, now: Callable[[], datetime], *,
        max_batch: int = 256, max_wait: float = 0.002,
    ) -> None:  # fmt: skip
        self._uow_factory, self._ctx, self._now = uow_factory, ctx, now
        self._max_batch, self._max_wait = max_batch, max_wait
        self._queue: queue.Queue[tuple[InboundMessage, Future[Answer]] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="sms-mo-writer", daemon=True)
        self._thread.start()

    def answer(self, message: InboundMessage, timeout: float = 30.0) -> Answer:
        """Store and answer one MO with whatever else is queued; returns after the commit."""
        return self.submit(message).result(timeout)

    def submit(self, message: InboundMessage) -> Future[Answer]:
        """Queue one MO; the future is done once its batch committed (for callers that must not block a
        thread while they wait: an event loop awaits it)."""
        future: Future[Answer] = Future()
        self._queue.put((message, future))
        return future

    def close(self) -> None:
        """Answer what is queued, then stop the writer."""
        self._queue.put(None)
        self._thread.join()

    def _take(self) -> tuple[list[tuple[InboundMessage, Future[Answer]]], bool]:
        first = self._queue.get()
        if first is None:
            return [], True
        batch = [first]
        while len(batch) < self._max_batch:
            try:
                item = self._queue.get(timeout=self._max_wait)
            except queue.Empty:
                break
            if item is None:
                return batch, True
            batch.append(item)
        return batch, False

    def _run(self) -> None:
        stop = False
        while not stop:
            batch, stop = self._take()
            if batch:
                self._answer(batch)

    def _answer(self, batch: list[tuple[InboundMessage, Future[Answer]]]) -> None:
        try:
            answers = receive([m for m, _ in batch], uow=self._uow_factory(), ctx=self._ctx, now=self._now())
        except Exception:  # answered one by one below, so that one bad message fails alone
            log.warning("sms.batch_failed", size=len(batch))
            for message, future in batch:
                try:
                    future.set_result(receive([message], uow=self._uow_factory(), ctx=self._ctx, now=self._now())[0])
                except Exception as exc:  # handed to the caller, who answers its gateway with it
                    future.set_exception(exc)
            return
        for (_, future), answer in zip(batch, answers, strict=True):
            future.set_result(answer)
