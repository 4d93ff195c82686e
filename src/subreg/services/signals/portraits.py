"""The portrait signal: the same face under different ID documents, found through keyed band digests.

At the counter the registry's writer stores each new portrait's band digests (`PortraitIndexer`, the same
hasher); `index_portraits` does it for portraits stored before, decrypting them in batches (one transaction
and one audit entry per batch). The list takes the pairs of portraits that share a digest and whose lines count
towards different person keys (one query), decrypts just those portraits, and keeps the pairs whose full
perceptual hashes are within `portrait_max_distance` bits: a shared band alone is only a candidate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from subreg.domain.access.masking import mask_msisdn
from subreg.domain.access.permissions import Actor, Permission, require
from subreg.domain.common.errors import CryptoError, FieldError, InputError, NotFoundError
from subreg.domain.common.msisdn import msisdn_from_key
from subreg.domain.privacy.audit_chain import AuditAction
from subreg.domain.signals.keys import portrait_key
from subreg.domain.signals.portraits import close_pairs
from subreg.domain.signals.review import SignalKind
from subreg.services.common import audit_trail
from subreg.services.registry.ports import SubscriptionWriter
from subreg.services.signals.items import LineRef, SignalItem
from subreg.services.signals.options import SignalOptions
from subreg.services.signals.ports import PortraitHasher, SignalUnitOfWork

__all__ = ["IndexReport", "index_portraits", "portrait_signals"]


@dataclass(frozen=True, slots=True)
class IndexReport:
    """What a backfill did: portraits indexed, those that could not be read (shredded, not an image), batches."""

    indexed: int
    unreadable: int
    batches: int

    def as_dict(self) -> dict[str, int]:
        return {"indexed": self.indexed, "unreadable": self.unreadable, "batches": self.batches}


def _image(documents: SubscriptionWriter, document_id: int, uow: SignalUnitOfWork) -> bytes | None:
    """The decrypted portrait, or None when it cannot be read (holder crypto-shredded, blob missing)."""
    try:
        return documents.read_document(document_id, uow=uow)[1]
    except (CryptoError, NotFoundError):
        return None


def portrait_signals(
    uow: SignalUnitOfWork, options: SignalOptions, *, documents: SubscriptionWriter | None,
    hasher: PortraitHasher | None,
) -> tuple[list[SignalItem], dict[str, Any]]:  # fmt: skip
    """The confirmed look-alike pairs (SignalItems, closest first) and the audit details (portraits decrypted)."""
    if documents is None or hasher is None:
        raise InputError([FieldError("kind", "not_configured")])
    candidates = uow.signals.band_candidates(limit=options.limit * 4)
    ids = sorted({d for pair in candidates for d in pair})
    refs = uow.signals.portraits(ids)
    hashes: dict[int, int] = {}
    for document_id in ids:
        image = _image(documents, document_id, uow)
        value = hasher.perceptual_hash(image) if image is not None else None
        if value is not None:
            hashes[document_id] = value
    pairs = close_pairs(hashes, candidates, max_distance=options.portrait_max_distance)
    items = []
    for a, b, distance in sorted(pairs, key=lambda p: (p[2], p[0], p[1])):
        ra, rb = refs.get(a), refs.get(b)
        if ra is None or rb is None or (ra.person_key is not None and ra.person_key == rb.person_key):
            continue
        lines = tuple(LineRef(r.line_id, mask_msisdn(msisdn_from_key(r.number))) for r in (ra, rb))
        facts = {"documents": [a, b], "distance": distance, "bits": hasher.bits,
                 "points_of_sale": [ra.point_code or "", rb.point_code or ""]}  # fmt: skip
        items.append(SignalItem(SignalKind.PORTRAIT_REUSE, portrait_key(a, b), facts, lines))
    return items[: options.limit], {"decrypted": len(ids)}


def index_portraits(
    *, uow: SignalUnitOfWork, documents: SubscriptionWriter, hasher: PortraitHasher, options: SignalOptions,
    actor: Actor | None, now: datetime, limit: int | None = None,
) -> IndexReport:  # fmt: skip
    """Key the bands of every stored portrait that has none yet, `options.portrait_batch` per transaction.

    Each batch decrypts its portraits, stores their digests and one audit entry (`signals:portraits_indexed`)
    in one transaction; a portrait that cannot be read gets no digest (and is counted as unreadable; the next
    run tries it again). `limit`: stop after that many portraits. Staff need `signals:review`.
    """
    if actor is not None:
        require(actor, Permission.SIGNALS_REVIEW)
    indexed = unreadable = batches = 0
    after = 0
    batch = max(1, options.portrait_batch)
    while limit is None or indexed + unreadable < limit:
        size = batch if limit is None else min(batch, limit - indexed - unreadable)
        with uow:
            uow.lock_for_write()
            ids = uow.signals.portraits_to_index(after=after, limit=size)
            if not ids:
                break
            done = failed = 0
            for document_id in ids:
                image = _image(documents, document_id, uow)
                digests = hasher.band_digests(image) if image is not None else None
                if digests is None:
                    failed += 1
                    continue
                uow.signals.add_bands(document_id, digests)
                done += 1
            details = {"indexed": done, "unreadable": failed, "first": ids[0], "last": ids[-1]}
            audit_trail.record(uow, actor=actor, action=AuditAction.PORTRAITS_INDEXED, now=now, details=details)
            uow.commit()
        after = ids[-1]
        indexed, unreadable, batches = indexed + done, unreadable + failed, batches + 1
    return IndexReport(indexed, unreadable, batches)
