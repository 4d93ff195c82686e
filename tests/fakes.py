"""The services wired on the in-memory adapters, as `bootstrap.Container` wires them on the real ones.

    fakes = Fakes.build()                               # clock at NOW, empty database, real vault and rule set
    store = fakes.actor("store_staff", "STORE-1")       # a staff account at a point of sale (made when missing)
    fakes.seed(record)                                  # a subscription stored as a legacy import would
    card = counter.lookup_by_msisdn(cmd, uow=fakes.uow(), ctx=fakes.counter_context(), actor=store)
    fakes.rows("network_orders")                        # what a test would SELECT from the database

The vault is the real `AesGcmVault`, built from random keys held in memory (crypto is fast and real); the
writer is the real `services.registry.writer.Registry`; the rule set the real Decree 49 one; only the
storage, the blob store, the clock and the image checks are fakes (`subreg.adapters.memory`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from subreg.adapters.clock import OPERATOR_TZ
from subreg.adapters.crypto.vault import AesGcmVault
from subreg.adapters.memory import FakeImageInspector, FixedClock, MemoryBlobStore, MemoryDatabase, MemoryUnitOfWork
from subreg.adapters.sms.templates import JinjaReplyTemplates
from subreg.domain.access.permissions import POS_KIND_BY_ROLE, Actor, Role
from subreg.domain.common.msisdn import msisdn_key, parse_msisdn
from subreg.domain.compliance.rules import get_rule_set
from subreg.domain.compliance.rules.base import RuleSet
from subreg.domain.compliance.timeline import ND49_2017_TIMELINE
from subreg.domain.id_documents.card_codes import parse_cccd_qr
from subreg.services.counter.context import CounterContext
from subreg.services.privacy.consent import Consents
from subreg.services.registry.ports import SubscriptionRow
from subreg.services.registry.writer import Registry, store_subscription
from subreg.services.sms.context import SmsContext
from subreg.services.sms.options import SmsOptions
from tests.fixtures.images import qr_payload

__all__ = ["NOW", "TODAY", "Fakes", "card_fields", "image", "key_of", "memory_vault"]

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
TODAY = date(2026, 11, 28)
KEK_ID = 1


def memory_vault() -> AesGcmVault:
    """The real vault on fresh random keys (a data KEK and the blind-index key), nothing on disk."""
    return AesGcmVault({KEK_ID: os.urandom(32)}, KEK_ID, os.urandom(32))


def card_fields(holder: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What the card's QR code of `holder` reads as (default: the synthetic card holder of the fixtures)."""
    return parse_cccd_qr(qr_payload(dict(holder) if holder else None))


def image(kind: str) -> bytes:
    """A few bytes the blob store and the writer take for a JPEG of `kind` (the fake inspector looks no further)."""
    return b"\xff\xd8\xff\xe0" + kind.encode()


def key_of(number: str) -> int:
    """The integer key of a number as typed (`0901234567` -> 84901234567)."""
    e164 = parse_msisdn(number)
    assert e164 is not None, number
    return msisdn_key(e164)


@dataclass
class Fakes:
    """A container-like bundle: units of work on one in-memory database, the vault, the blob store, the clock."""

    clock: FixedClock
    db: MemoryDatabase
    vault: AesGcmVault
    blobs: MemoryBlobStore
    images: FakeImageInspector
    rule_set: RuleSet = field(default_factory=get_rule_set)
    serving_minutes: int = 30
    phase_reference: date = date(2018, 4, 24)
    consent_version: str = "2026-01"

    @classmethod
    def build(cls, now: datetime = NOW) -> Fakes:
        """Everything empty, the clock at `now`, card photos reading as the fixtures' card holder."""
        clock = FixedClock(now)
        return cls(
            clock=clock,
            db=MemoryDatabase(clock),
            vault=memory_vault(),
            blobs=MemoryBlobStore(clock),
            images=FakeImageInspector(card_fields()),
        )

    def uow(self) -> MemoryUnitOfWork:
        """A new unit of work (with the audit chain's key, as the container's)."""
        return MemoryUnitOfWork(self.db, audit_key=self.vault.audit_key)

    def registry(self) -> Registry:
        """The registry's real writer on the fakes."""
        return Registry(self.vault, self.blobs, self.rule_set, phase_reference=self.phase_reference)

    def counter_context(self, *, now: datetime | None = None, request_id: str | None = None) -> CounterContext:
        """What the counter's use cases need besides the unit of work, at the clock's time (or `now`)."""
        moment = now or self.clock.now()
        return CounterContext(
            vault=self.vault,
            registry=self.registry(),
            consents=Consents(),
            rule_set=self.rule_set,
            now=moment,
            today=self.clock.today() if now is None else moment.astimezone(OPERATOR_TZ).date(),
            serving_minutes=self.serving_minutes,
            phase_reference=self.phase_reference,
            consent_version=self.consent_version,
            images=self.images,
            request_id=request_id,
            timeline=ND49_2017_TIMELINE,
        )

    def sms_context(self, **options: Any) -> SmsContext:
        """What the SMS use cases need: the real reply templates, options as given (else the defaults)."""
        return SmsContext(
            self.vault, JinjaReplyTemplates(None, operator="MobiDemo", update_where="cửa hàng", short_code="1414"),
            SmsOptions(**options), self.rule_set.document_key,
        )  # fmt: skip

    # --- reading the state back, as a test would SELECT it ---------------------------------------------

    def rows(self, table: str) -> list[dict[str, Any]]:
        """The committed rows of `table`, oldest first."""
        return self.db.rows(table)

    def audit_actions(self) -> list[str]:
        """The actions of the audit log, in order."""
        return [r["action"] for r in self.rows("audit_log")]

    def line(self, number: str) -> SubscriptionRow:
        """The current line of a number as typed."""
        with self.uow() as uow:
            sub = uow.subscriptions.get(key_of(number))
        assert sub is not None, number
        return sub

    # --- arranging ------------------------------------------------------------------------------------

    def point_of_sale(self, code: str, kind: str = "store") -> int:
        """The id of the point of sale `code` (created when missing)."""
        with self.uow() as uow:
            found = uow.points_of_sale.get_by_code(code)
            if found is not None:
                return found.id
            pos_id = uow.points_of_sale.add({"code": code, "kind": kind, "name": code, "active": True})
            uow.commit()
        return pos_id

    def actor(self, role: str, code: str | None = None) -> Actor:
        """A staff account of `role` (at the point of sale `code`, of the role's kind) and its `Actor`."""
        kind = POS_KIND_BY_ROLE.get(Role(role))
        pos_id = self.point_of_sale(code, kind or "store") if code else None
        with self.uow() as uow:
            n = len(uow.staff.list_all()) + 1
            staff_id = uow.staff.add(
                {"username": f"{role}-{n}", "display_name": f"{role} {n}", "role": role, "point_of_sale_id": pos_id,
                 "password_hash": "unused", "active": True}
            )  # fmt: skip
            uow.commit()
        return Actor(staff_id=staff_id, role=role, point_of_sale_id=pos_id, pos_kind=kind if pos_id else None)

    def seed(
        self, record: Mapping[str, Any], *, status: str | None = None, images: Mapping[str, bytes] | None = None
    ) -> SubscriptionRow:
        """Store a subscription as a legacy import would (no checks at the counter); its line."""
        if status:
            record = {**record, "status": status}
        with self.uow() as uow:
            store_subscription(
                record, uow=uow, vault=self.vault, blobs=self.blobs, as_of=self.clock.today(), actor=None,
                channel="legacy_import", rule_set=self.rule_set, phase_reference=self.phase_reference, images=images,
            )  # fmt: skip
            uow.commit()
        return self.line(str(record["msisdn"]))
