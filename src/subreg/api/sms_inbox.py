"""The gateways' callbacks reach the SMS use cases through this: MO group-committed, receipts applied,
refusals audited.

One per process, built on first use (a process that never hears from a gateway starts no writer thread).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from subreg.bootstrap import Container
from subreg.services.sms.batching import MoBatcher
from subreg.services.sms.gateways import record_refusal
from subreg.services.sms.inbound import Answer
from subreg.services.sms.outbox import record_receipts
from subreg.services.sms.ports import InboundMessage, Receipt

__all__ = ["ContainerSmsInbox"]

# A receipt can overtake the commit of the submit it reports (the gateway answers the submit, then the
# handset's report arrives before the dispatcher recorded the id): it is offered again a few times.
_RECEIPT_TRIES = 5
_RECEIPT_PAUSE_S = 0.2


def _now() -> datetime:
    return datetime.now(UTC)


class ContainerSmsInbox:
    def __init__(self, container: Container) -> None:
        self._container = container
        self._batcher: MoBatcher | None = None
        self._lock = threading.Lock()

    def _mo_batcher(self) -> MoBatcher:
        with self._lock:
            if self._batcher is None:
                self._batcher = MoBatcher(self._container.uow, self._container.sms_context(), _now)
            return self._batcher

    def receive(self, messages: Sequence[InboundMessage]) -> list[Answer]:
        """Store and answer each MO (with whatever other requests queued meanwhile); after the commit."""
        batcher = self._mo_batcher()
        return [batcher.answer(m) for m in messages]

    async def areceive(self, messages: Sequence[InboundMessage]) -> list[Answer]:
        """`receive` for the event loop: no thread is held while the batch commits, so every request in
        flight (not just one per pool thread) can join the same batch."""
        batcher = self._mo_batcher()
        return [await asyncio.wrap_future(batcher.submit(m)) for m in messages]

    def record_receipts(self, receipts: Sequence[Receipt]) -> list[Receipt]:
        """Apply receipts; those still unknown after a second are returned (the caller logs them)."""
        pending = list(receipts)
        for attempt in range(_RECEIPT_TRIES):
            pending = record_receipts(pending, uow=self._container.uow())
            if not pending or attempt == _RECEIPT_TRIES - 1:
                break
            time.sleep(_RECEIPT_PAUSE_S)
        return pending

    def refused(self, *, gateway: str, reason: str, ip: str | None, path: str, at: datetime) -> None:
        """A refused callback, audited (the path names only the gateway and the endpoint)."""
        record_refusal(gateway, reason, ip, uow=self._container.uow(), now=at)

    def close(self) -> None:
        if self._batcher is not None:
            self._batcher.close()
