"""Test scaffolding for the SMS gateway callbacks: an inbox that records and answers, a refusal recorder.

NOT the 1414 use cases (those are `services.sms`): `ScaffoldReplyingInbox` stands in for them so that the
Kannel end-to-end test can see a whole round trip. It records every MO and receipt it is handed and answers
a `TTTB` MO by queueing a reply, which a worker thread submits through the transport (as the outbox
dispatcher will): `TTTB` gets one part, `TTTB DAI` ("long") three concatenated parts, `TTTB VI` one
UCS-2 part.
"""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from subreg.services.sms.ports import InboundMessage, OutboundMessage, Part, Receipt, SmsTransport, SubmitOutcome

SHORT_REPLY = "TTTB test reply: so thue bao da dang ky day du"
LONG_PARTS = (
    "Phan 1/3 " + "a" * 140,
    "Phan 2/3 " + "b" * 140,
    "Phan 3/3 " + "c" * 40,
)
UCS2_REPLY = "Thuê bao của bạn đã đăng ký đầy đủ"


def concat_udh(ref: int, total: int, seq: int) -> bytes:
    """The 8-bit-reference concatenation UDH: 05 00 03 ref total seq."""
    return bytes([5, 0, 3, ref, total, seq])


@dataclass
class ScaffoldReplyingInbox:
    """Records MO and receipts; answers TTTB through `transport` from a worker thread (test scaffolding)."""

    transport: SmsTransport
    messages: list[InboundMessage] = field(default_factory=list)
    receipts: list[Receipt] = field(default_factory=list)
    submitted: list[tuple[OutboundMessage, SubmitOutcome]] = field(default_factory=list)
    answer: bool = True
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))
    _queue: queue.Queue[OutboundMessage | None] = field(default_factory=queue.Queue)
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _worker: threading.Thread | None = None

    def start(self) -> None:
        self._worker = threading.Thread(target=self._drain, daemon=True)
        self._worker.start()

    def stop(self) -> None:
        self._queue.put(None)
        if self._worker is not None:
            self._worker.join(timeout=10)

    def receive(self, messages: Sequence[InboundMessage]) -> list[int]:
        outbox_ids = []
        with self._cond:
            self.messages.extend(messages)
            self._cond.notify_all()
        for m in messages:
            reply = self._reply_to(m) if self.answer else None
            if reply is not None:
                self._queue.put(reply)
                outbox_ids.append(reply.id)
        return outbox_ids

    def record_receipts(self, receipts: Sequence[Receipt]) -> int:
        with self._cond:
            self.receipts.extend(receipts)
            self._cond.notify_all()
        return len(receipts)

    def _reply_to(self, m: InboundMessage) -> OutboundMessage | None:
        words = (m.text or "").upper().split()
        if not words or words[0] != "TTTB":
            return None
        outbox_id = next(self._ids)
        to = m.sender.lstrip("+")
        if words[1:] == ["DAI"]:
            ref = outbox_id % 256
            parts = tuple(Part(concat_udh(ref, 3, n), text) for n, text in enumerate(LONG_PARTS, start=1))
            return OutboundMessage(id=outbox_id, to=to, sender=m.recipient, encoding="gsm7", parts=parts)
        if words[1:] == ["VI"]:
            return OutboundMessage(
                id=outbox_id, to=to, sender=m.recipient, encoding="ucs2", parts=(Part(b"", UCS2_REPLY),)
            )
        return OutboundMessage(
            id=outbox_id, to=to, sender=m.recipient, encoding="gsm7", parts=(Part(b"", SHORT_REPLY),)
        )

    def _drain(self) -> None:
        while (message := self._queue.get()) is not None:
            outcome = self.transport.submit(message)
            with self._cond:
                self.submitted.append((message, outcome))
                self._cond.notify_all()

    def wait_for(self, what: Callable[[], bool], timeout: float = 30.0) -> bool:
        """Wait until `what()` holds (it reads the lists under the lock)."""
        with self._cond:
            return self._cond.wait_for(what, timeout=timeout)


@dataclass
class RecordingRefusals:
    """Stands in for the audit trail of refused gateway callbacks."""

    refused_calls: list[dict[str, object]] = field(default_factory=list)

    def refused(self, *, gateway: str, reason: str, ip: str | None, path: str, at: datetime) -> None:
        self.refused_calls.append({"gateway": gateway, "reason": reason, "ip": ip, "path": path, "at": at})
