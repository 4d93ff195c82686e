"""The back-office work queue: lines completed from the ID scans on file, oldest enforcement deadline first.

`fill_queue` queues, set-based, every incomplete valid line whose missing items a scan of the ID card can fill
and that has such a scan stored. Staff ask for `next_item`: the oldest-deadline item nobody holds is leased to
them (`lease_minutes`); two staff asking at once get two different items. `open_item` decrypts the line's
record and reads its scans (QR code, MRZ, printed text in Vietnamese): the form comes pre-filled, each value
with its source and confidence. `save_item` stores what staff confirmed or corrected through the registry's
one writer, fills only values the line lacks (nothing stored is overwritten), writes a `field_provenance` row
per value (method qr | mrz | ocr | typed, the source document, the confidence, the staff member) and asks
enforcement to restore the line when it became complete. The save is refused with `version_changed` when the
line changed since the page was served: the page then shows the line as it is now.

Access: `backoffice:work` for the purpose `backoffice`, and only on the item the caller holds: the role has no
other way to a subscription (no look-up by number or ID number). Every read of personal data (the record, a
scan) and every save is audited with the purpose.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from subreg.domain.access.permissions import Actor, Permission, Purpose, authorize
from subreg.domain.backoffice.reading import (
    FORM_FIELDS,
    READABLE_ITEMS,
    Reading,
    ScanText,
    Source,
    best_readings,
    disagreements,
    readings_of_scan,
)
from subreg.domain.common.errors import (
    ConflictError,
    FieldError,
    InputError,
    NotFoundError,
    PermissionDeniedError,
    ProcessingRestrictedError,
)
from subreg.domain.common.msisdn import msisdn_from_key
from subreg.domain.compliance.missing_mask import bits_of
from subreg.domain.compliance.rules.base import RuleSet
from subreg.domain.compliance.timeline import LOCK_STEPS, Timeline
from subreg.domain.enforcement.machine import EnforcementState
from subreg.domain.privacy.audit_chain import AuditAction
from subreg.services.backoffice.work_ports import (
    BackofficeUnitOfWork,
    DeadlineRule,
    FillPlan,
    QueueCounts,
    ScanReader,
    WorkItem,
)
from subreg.services.common import audit_trail
from subreg.services.registry.ports import SubscriptionRow, SubscriptionWriter

__all__ = [
    "SCAN_KINDS",
    "ItemField",
    "ItemView",
    "SaveItem",
    "Saved",
    "WorkContext",
    "fill_plan",
    "fill_queue",
    "next_item",
    "open_item",
    "queue_counts",
    "read_scan_image",
    "save_item",
    "skip_item",
]

SCAN_KINDS: tuple[str, ...] = ("id_front", "id_back")
PURPOSE = Purpose.BACKOFFICE
_CHANNEL = "backoffice"
_LOCK_STATE = {
    EnforcementState.NOTIFIED: LOCK_STEPS[0],
    EnforcementState.ONE_WAY: LOCK_STEPS[1],
    EnforcementState.TWO_WAY: LOCK_STEPS[2],
}


@dataclass(frozen=True, slots=True)
class WorkContext:
    """The request's moment and what the queue applies (built by `bootstrap.Container.work_context`)."""

    registry: SubscriptionWriter
    rule_set: RuleSet
    timeline: Timeline
    now: datetime
    today: date
    lease_minutes: int = 15
    reader: ScanReader | None = None
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class ItemField:
    """One row of the item's form: the stored value, or what the scans read for a missing one."""

    name: str
    stored: str | None  # the line's value now (shown read-only: never overwritten)
    missing: bool  # one of the line's missing items
    reading: Reading | None = None  # the best reading (pre-fills the input)
    disagree: bool = False  # two sources read different values: look at the scan


@dataclass(frozen=True, slots=True)
class ItemView:
    """What the item page shows."""

    item: WorkItem
    msisdn: str
    version: int  # the line's version the page is served with (the save must find it unchanged)
    changed: bool  # the line changed since it was queued
    complete: bool  # already complete (nothing left to fill)
    missing: tuple[str, ...]
    id_type: str | None
    fields: tuple[ItemField, ...]
    scans: tuple[ScanText, ...]
    readings: tuple[Reading, ...] = ()

    @property
    def unreadable(self) -> tuple[ScanText, ...]:
        """The scans nothing could be read from (the item stays workable by typing)."""
        return tuple(s for s in self.scans if s.unreadable)


@dataclass(frozen=True, slots=True)
class SaveItem:
    """Staff's confirmed or corrected values for an item's missing fields, with where each came from.

    `sources` maps a field to the reading the page offered (method, document id, confidence); a value that
    differs from that reading's value, or has none, is `typed`.
    """

    item_id: int
    version: int
    values: Mapping[str, str]
    offered: Mapping[str, Reading] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Saved:
    """The outcome of a save."""

    item_id: int
    complete: bool
    missing: tuple[str, ...]
    filled: tuple[str, ...]
    restore_requested: bool


# --- access ---------------------------------------------------------------------------------------------


def _require(actor: Actor) -> None:
    decision = authorize(actor, Permission.BACKOFFICE_WORK, purpose=PURPOSE)
    if not decision.allowed:
        raise PermissionDeniedError(decision.reason_code, errors=[FieldError("role", decision.reason_code)])


def _held(uow: BackofficeUnitOfWork, item_id: int, actor: Actor, now: datetime) -> WorkItem:
    """The item, when the caller holds it under an unexpired lease (409 `item_not_held` otherwise)."""
    item = uow.work_queue.get(item_id)
    if item is None:
        raise NotFoundError("item not found", errors=[FieldError("item", "not_found")])
    if (
        item.state != "open"
        or item.claimed_by != actor.staff_id
        or item.claimed_until is None
        or item.claimed_until < now
    ):
        raise ConflictError("item not held", errors=[FieldError("item", "item_not_held")])
    return item


def _line(uow: BackofficeUnitOfWork, item: WorkItem) -> SubscriptionRow:
    sub = uow.subscriptions.get_by_id(item.subscription_id)
    if sub is None:
        raise NotFoundError("subscription not found", errors=[FieldError("item", "not_found")])
    flags = uow.privacy.flags(sub.holder_id)
    if flags and flags.restricted:
        raise ProcessingRestrictedError("processing restricted", errors=[FieldError("holder", "processing_restricted")])
    return sub


def _audit(
    uow: BackofficeUnitOfWork, ctx: WorkContext, actor: Actor, action: str, sub: SubscriptionRow, *,
    fields: Sequence[str] = (), details: Mapping[str, Any] | None = None,
) -> None:  # fmt: skip
    audit_trail.record(
        uow, actor=actor, action=action, subject=audit_trail.subject_for_line(sub.id), fields=tuple(fields),
        purpose=PURPOSE, request_id=ctx.request_id, details=details, now=ctx.now,
    )  # fmt: skip


# --- filling ---------------------------------------------------------------------------------------------


def fill_plan(rule_set: RuleSet, timeline: Timeline, *, today: date) -> FillPlan:
    """Which lines a scan can complete (a bitmask of the missing items it cannot fill) and their deadlines:
    the next lock step of a line in enforcement, else the day its first notice may go."""
    bits = bits_of(tuple(rule_set.missing_items))
    unreadable = 0
    for item, bit in bits.items():
        if item not in READABLE_ITEMS:
            unreadable |= bit
    rules = tuple(
        DeadlineRule(int(state), timeline.rule(step).after_days, timeline.rule(step).on_date)
        for state, step in _LOCK_STATE.items()
    )
    return FillPlan(unreadable, SCAN_KINDS, rules, max(timeline.starts_on, today))


def fill_queue(*, uow: BackofficeUnitOfWork, ctx: WorkContext) -> int:
    """Queue the lines a scan can complete (set-based); how many were queued."""
    plan = fill_plan(ctx.rule_set, ctx.timeline, today=ctx.today)
    with uow:
        uow.lock_for_write()
        added = uow.work_queue.fill(plan, now=ctx.now)
        uow.commit()
    return added


def queue_counts(*, uow: BackofficeUnitOfWork, now: datetime) -> QueueCounts:
    """The queue's figures (nothing personal)."""
    with uow:
        return uow.work_queue.counts(now=now)


# --- claiming --------------------------------------------------------------------------------------------


def next_item(*, uow: BackofficeUnitOfWork, ctx: WorkContext, actor: Actor) -> WorkItem | None:
    """The oldest-deadline item that is free or already the caller's, leased to them now (None: queue empty).

    One statement (the claim `UPDATE`); nothing personal is read: the page opens the item afterwards
    (`open_item`, audited).
    """
    _require(actor)
    until = ctx.now + timedelta(minutes=ctx.lease_minutes)
    with uow:
        # A writer from the start (SQLite: the single writer; a no-op on PostgreSQL, where SKIP LOCKED decides).
        uow.lock_for_write()
        item = uow.work_queue.claim_next(actor.staff_id, now=ctx.now, until=until)
        uow.commit()
    return item


def skip_item(item_id: int, *, uow: BackofficeUnitOfWork, ctx: WorkContext, actor: Actor, reason: str) -> None:
    """Set an item aside (`skipped`, with a reason code); it comes back only once its line changes."""
    _require(actor)
    code = reason if reason in ("unreadable", "wrong_document", "other") else "other"
    with uow:
        uow.lock_for_write()
        _held(uow, item_id, actor, ctx.now)
        uow.work_queue.finish(item_id, staff_id=actor.staff_id, state="skipped", outcome=code, now=ctx.now)
        uow.commit()


# --- the item page ---------------------------------------------------------------------------------------


def _scans(uow: BackofficeUnitOfWork, sub: SubscriptionRow) -> list[tuple[int, str]]:
    """(document id, kind) of the line's latest stored scan of each card side."""
    latest: dict[str, int] = {}
    for doc in uow.documents.list_for(sub.id):
        if doc.kind in SCAN_KINDS and doc.blob_key:
            latest[doc.kind] = doc.id
    return [(latest[k], k) for k in SCAN_KINDS if k in latest]


def open_item(item_id: int, *, uow: BackofficeUnitOfWork, ctx: WorkContext, actor: Actor) -> ItemView:
    """The held item's line now (decrypted), its scans read, the form pre-filled; audited as a read."""
    _require(actor)
    with uow:
        item = _held(uow, item_id, actor, ctx.now)
        sub = _line(uow, item)
        record = ctx.registry.record_of(sub, uow=uow)
        found = record.get("holder")
        holder: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
        id_type = holder.get("id_type") if isinstance(holder.get("id_type"), str) else None
        scans: list[ScanText] = []
        for document_id, kind in _scans(uow, sub):
            _content_type, data = ctx.registry.read_document(document_id, uow=uow)
            if ctx.reader is None:
                scans.append(ScanText(document_id, kind, error="no_reader"))
            else:
                scans.append(ctx.reader.read_scan(data, document_id=document_id, kind=kind))
        shown = [f"holder.{f}" for f in FORM_FIELDS if holder.get(f)] + [f"documents.{s.kind}" for s in scans]
        _audit(uow, ctx, actor, AuditAction.SUBSCRIPTION_READ, sub, fields=shown, details={"item": item.id})
        uow.commit()
    readings = [r for s in scans for r in readings_of_scan(s, id_type=id_type, as_of=ctx.today)]
    if id_type is not None:
        # A reading of another document type (a CCCD's QR on a line registered with its CMND) still fills
        # the other fields, but never changes the line's document type.
        readings = [r for r in readings if r.field != "id_type" or r.value == id_type]
    best = best_readings(readings)
    differ = disagreements(readings)
    missing = {p.removeprefix("holder.") for p in sub.missing if p.startswith("holder.")}
    rows = []
    for name in FORM_FIELDS:
        stored = holder.get(name)
        value = str(stored) if stored not in (None, "") else None
        rows.append(ItemField(name, value, name in missing, best.get(name) if value is None else None,
                              name in differ and value is None))  # fmt: skip
    return ItemView(
        item=item, msisdn=msisdn_from_key(sub.msisdn), version=sub.version, changed=sub.version != item.version_seen,
        complete=sub.complete, missing=sub.missing, id_type=id_type, fields=tuple(rows), scans=tuple(scans),
        readings=tuple(readings),
    )  # fmt: skip


def read_scan_image(
    item_id: int, document_id: int, *, uow: BackofficeUnitOfWork, ctx: WorkContext, actor: Actor
) -> tuple[str, bytes]:
    """A scan of the held item's line (content type, bytes); audited as `document:image_viewed`."""
    _require(actor)
    with uow:
        uow.lock_for_write()
        item = _held(uow, item_id, actor, ctx.now)
        sub = _line(uow, item)
        kinds = dict(_scans(uow, sub))
        if document_id not in kinds:
            raise NotFoundError("document not found", errors=[FieldError("document_id", "not_found")])
        content_type, data = ctx.registry.read_document(document_id, uow=uow)
        _audit(uow, ctx, actor, AuditAction.DOCUMENT_IMAGE_VIEWED, sub, fields=(f"documents.{kinds[document_id]}",),
               details={"document_id": document_id, "item": item.id})  # fmt: skip
        uow.commit()
    return content_type, data


# --- saving ----------------------------------------------------------------------------------------------


def _method(name: str, value: str, offered: Mapping[str, Reading]) -> Reading:
    """The provenance of a saved value: the offered reading when staff kept it, else `typed`."""
    reading = offered.get(name)
    if reading is not None and reading.value == value and reading.source is not Source.TYPED:
        return reading
    return Reading(name, value, Source.TYPED, 1.0, None)


def save_item(cmd: SaveItem, *, uow: BackofficeUnitOfWork, ctx: WorkContext, actor: Actor) -> Saved:
    """Fill the line's absent holder fields with staff's values, through the registry's writer.

    Refused (nothing written): `item_not_held` (409) when the lease is gone, `version_changed` (409) when the
    line changed since the page was served, field errors (422) when a value breaks a rule.
    """
    _require(actor)
    values = {k: " ".join(str(v).split()) for k, v in cmd.values.items() if k in FORM_FIELDS and str(v).strip()}
    with uow:
        uow.lock_for_write()
        item = _held(uow, cmd.item_id, actor, ctx.now)
        sub = _line(uow, item)
        if sub.version != cmd.version:
            raise ConflictError("line changed", errors=[FieldError("version", "version_changed")])
        record = ctx.registry.record_of(sub, uow=uow)
        holder = dict(record.get("holder") or {})
        # Nothing stored is overwritten: only absent values are filled.
        filled = {k: v for k, v in values.items() if holder.get(k) in (None, "")}
        holder.update(filled)
        record = {**record, "holder": holder}
        result = ctx.registry.store(record, uow=uow, as_of=ctx.today, actor=actor.staff_id, channel=_CHANNEL,
                                    stored=sub)  # fmt: skip
        refused = [e for e in result.errors if e.code != "contract_required"]
        if refused:
            uow.rollback()
            raise InputError(refused)
        scans = {doc_id for doc_id, _ in _scans(uow, sub)}
        rows = []
        for name, value in sorted(filled.items()):
            how = _method(name, value, cmd.offered)
            source = f"document:{how.document_id}" if how.document_id in scans else None
            rows.append({"subscription_id": sub.id, "path": f"holder.{name}", "method": str(how.source),
                         "rule": None, "source": source, "confidence": how.confidence, "staff_id": actor.staff_id,
                         "at": ctx.now})  # fmt: skip
        uow.work_queue.add_provenance(rows)
        restore = bool(result.complete and sub.status != "terminated")
        if restore:
            # Enforcement restores the line within seconds (state cleared, unlock order, SMS).
            uow.counter.request_restore(sub.id, channel=_CHANNEL, now=ctx.now)
        outcome = "complete" if result.complete else "still_incomplete"
        uow.work_queue.finish(item.id, staff_id=actor.staff_id, state="done", outcome=outcome, now=ctx.now)
        _audit(uow, ctx, actor, AuditAction.SUBSCRIPTION_UPDATED, sub, fields=[f"holder.{k}" for k in sorted(filled)],
               details={"item": item.id, "complete": result.complete,
                        "methods": sorted({str(r["method"]) for r in rows})})  # fmt: skip
        uow.commit()
    return Saved(item.id, result.complete, tuple(result.missing), tuple(sorted(filled)), restore)
