"""The built-in SMS centre of the embedded default: `make run` answers 1414 with no gateway at all.

It "delivers" each submitted part by storing it (sealed) in `sms_centre`, keyed by the part's reference
`<outbox id>.<part>`: a part submitted again after a lost answer is stored once (the duplicate is
suppressed), and its receipt says delivered. The phone simulator reads a number's messages back, parts
joined as a handset joins them. A stand-in for the network, never a production transport.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from threading import Lock

import orjson
from sqlalchemy import Engine, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from subreg.adapters.db.tables import sms_centre
from subreg.services.common.ports import Vault
from subreg.services.sms.ports import OutboundMessage, Receipt, SubmitOutcome

__all__ = ["BuiltinCentre", "PhoneMessage"]

_AAD = b"sms:centre"


class PhoneMessage:
    """A message as the phone shows it: sender, time, the parts' texts joined."""

    __slots__ = ("at", "outbox_id", "parts", "sender", "text")

    def __init__(self, outbox_id: int, sender: str, at: datetime, text: str, parts: int) -> None:
        self.outbox_id, self.sender, self.at, self.text, self.parts = outbox_id, sender, at, text, parts


class BuiltinCentre:
    name = "builtin"

    def __init__(self, engine: Engine, vault: Vault) -> None:
        self._engine = engine
        self._vault = vault
        self._receipts: list[Receipt] = []
        self._lock = Lock()

    def submit(self, message: OutboundMessage) -> SubmitOutcome:
        return self.submit_many([message])[0]

    def submit_many(self, messages: Sequence[OutboundMessage]) -> list[SubmitOutcome]:
        """Deliver a batch in one transaction (each part sealed under the batch's data key)."""
        dek, kek_id, wrapped = self._vault.new_data_key()
        rows = [
            {
                "reference": f"{message.id}.{n}",
                "recipient": int(message.to.lstrip("+")),
                "sender": message.sender,
                "udh": part.udh,
                "kek_id": kek_id,
                "wrapped_dek": wrapped,
                "payload": self._vault.seal(dek, orjson.dumps(part.text), _AAD),
            }
            for message in messages
            for n, part in enumerate(message.parts, 1)
        ]
        if rows:
            dialect_insert = pg_insert if self._engine.dialect.name == "postgresql" else sqlite_insert
            with self._engine.begin() as c:
                c.execute(dialect_insert(sms_centre).on_conflict_do_nothing(index_elements=["reference"]), rows)
        now = datetime.now(UTC)
        outcomes = []
        receipts = []
        for message in messages:
            ids = tuple(f"{message.id}.{n}" for n in range(1, len(message.parts) + 1))
            receipts.extend(Receipt(self.name, mid, "delivered", now) for mid in ids)
            outcomes.append(SubmitOutcome("accepted", ids))
        with self._lock:
            self._receipts.extend(receipts)
        return outcomes

    def take_receipts(self) -> list[Receipt]:
        """The receipts of what was delivered since the last call."""
        with self._lock:
            taken, self._receipts = self._receipts, []
        return taken

    def inbox(self, recipient: int, *, limit: int = 50) -> list[PhoneMessage]:
        """The newest messages delivered to one number (integer key), concatenated parts joined, newest first."""
        c = sms_centre.c
        stmt = select(sms_centre).where(c.recipient == recipient).order_by(c.id.desc()).limit(limit * 4)
        with self._engine.connect() as conn:
            rows = list(conn.execute(stmt))
        messages: dict[str, list[tuple[int, str, datetime, str]]] = {}
        for r in reversed(rows):
            m = r._mapping
            dek = self._vault.unwrap(m["kek_id"], m["wrapped_dek"])
            text = orjson.loads(self._vault.open(dek, m["payload"], _AAD))
            outbox_id, part = m["reference"].split(".")
            messages.setdefault(outbox_id, []).append((int(part), text, m["created_at"], m["sender"]))
        shown = []
        for outbox_id, parts in messages.items():
            parts.sort()
            at = parts[0][2] if parts[0][2].tzinfo else parts[0][2].replace(tzinfo=UTC)
            shown.append(PhoneMessage(int(outbox_id), parts[0][3], at, "".join(p[1] for p in parts), len(parts)))
        return list(reversed(shown))[:limit]

    def close(self) -> None:
        """Nothing to release: the engine belongs to the container."""
