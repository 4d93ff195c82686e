"""The purpose-bound, tamper-evident audit log: entries, their hash chain, and its verification.

Each entry commits to the one before it: `hash = H(prev_hash, canonical_bytes(entry))`, starting from
`GENESIS`. H is SHA-256, or HMAC-SHA256 under a key kept outside the database. Plain SHA-256 catches
accidents and naive edits; only the keyed form stops someone with write access to the table from
editing an entry and recomputing every hash after it. Neither form can notice the *newest* entries
being cut off: for that, record a head (`Checkpoint`) somewhere else and pass it as `head`.

Entries never carry plaintext personal data: `subject` is a key or reference, `fields` are field
paths, and `details` refuses keys that name personal fields.

What `verify_chain` reports, entry by entry in the order given (the order of appending), with
`first_bad_seq` the sequence number at which the log first departs from a valid chain:

- `bad_genesis`: the first entry of a log verified from the start does not link to GENESIS.
- `edited`: an entry's content no longer matches its own hash (the next entry still links to it).
- `deleted_or_inserted`: a sequence number is missing, repeated, or an entry links to something
  other than its predecessor; also a forged entry that the next one does not link to, and a log
  that ends before `head`. `first_bad_seq` is the first missing / repeated / unlinked number.
- `reordered`: a sequence number is missing at its place but turns up later.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

__all__ = [
    "GENESIS",
    "PERSONAL_DATA_ACTIONS",
    "START",
    "AuditAction",
    "AuditDraft",
    "AuditEntry",
    "Checkpoint",
    "VerifyReason",
    "VerifyResult",
    "canonical_bytes",
    "chain_hash",
    "key_fingerprint",
    "seal",
    "utc_timestamp",
    "verify_chain",
]

GENESIS = "0" * 64
# Bumped if the canonical form ever changes, so that old and new hashes can never collide.
_DOMAIN = b"subreg.audit.v1\x00"


class AuditAction(StrEnum):
    """What an audit entry records (`area:event`)."""

    SUBSCRIPTION_READ = "subscription:read"
    SUBSCRIPTION_REGISTERED = "subscription:registered"
    SUBSCRIPTION_UPDATED = "subscription:updated"
    LOOKUP_BY_ID = "lookup:by_id"
    DOCUMENT_IMAGE_VIEWED = "document:image_viewed"
    DOCUMENT_UPLOADED = "document:uploaded"
    PERSONAL_DATA_EXPORTED = "personal_data:exported"
    DSR_RECEIVED = "dsr:received"
    DSR_EXPORT = "dsr:export"
    DSR_ERASURE = "dsr:erasure"
    DSR_RECTIFICATION = "dsr:rectification"
    AUTH_LOGIN = "auth:login"
    AUTH_LOGIN_FAILED = "auth:login_failed"
    AUTH_LOGOUT = "auth:logout"
    ACCESS_DENIED = "access:denied"
    STAFF_CREATED = "staff:created"
    STAFF_UPDATED = "staff:updated"
    STAFF_ROLE_CHANGED = "staff:role_changed"
    SETTINGS_CHANGED = "settings:changed"
    KEYS_ROTATED = "keys:rotated"
    RECORDS_IMPORTED = "records:imported"
    PORTED_NUMBERS_LOADED = "ported_numbers:loaded"
    CAMPAIGN_CREATED = "campaign:created"
    CAMPAIGN_PREVIEWED = "campaign:previewed"  # staff looked at a cohort's size and sample texts
    CAMPAIGN_STARTED = "campaign:started"
    CAMPAIGN_PAUSED = "campaign:paused"
    CAMPAIGN_RESUMED = "campaign:resumed"
    CAMPAIGN_WAVE_STARTED = "campaign:wave_started"  # the worker began a pass over the cohort
    CAMPAIGN_WAVE_FINISHED = "campaign:wave_finished"
    CAMPAIGN_FINISHED = "campaign:finished"  # the last wave went out: done
    ENFORCEMENT_RUN = "enforcement:run"
    NETWORK_ORDER = "network:order"  # an order (lock, unlock, terminate) the network applied or refused
    REPORT_EXPORTED = "report:exported"
    AUDIT_READ = "audit:read"
    AUDIT_VERIFIED = "audit:verified"
    SMS_LOOKUP = "sms:lookup"  # a subscriber's 1414 look-up (TTTB, TTTB <ID>)
    SMS_SENT = "sms:sent"  # staff queued an SMS to a number
    SMS_GATEWAY_REFUSED = "sms:gateway_refused"  # a gateway callback without its secret or from elsewhere
    SMS_PHONE_VIEWED = "sms:phone_viewed"  # staff opened a number's screen in the phone simulator
    SIGNALS_LISTED = "signals:listed"  # staff opened a fraud or quality signal list (masked, counts)
    SIGNAL_DECIDED = "signal:decided"  # a signal marked reviewed, dismissed or escalated
    PORTRAITS_INDEXED = "signals:portraits_indexed"  # stored portraits decrypted to key their hash bands
    # Population-database matching: payloads decrypted for a request (file or HTTP), answers stored (counts only).
    POPULATION_MATCHED = "verification:population"
    RECORDS_DERIVED = "records:derived"  # bulk derivation: candidate payloads decrypted, absent values filled
    REVIEW_QUEUED = "review:queued"  # a save flagged for the supervisor (flags, item id)
    REVIEW_CLAIMED = "review:claimed"  # a supervisor leased an item (the line is read for `review` separately)
    REVIEW_DECIDED = "review:decided"  # approved, rejected or sent back, with the reason code
    BIOMETRIC_VERIFIED = "verification:chip_face"  # chip data and/or a face checked (outcome codes, no data)


# Reads and changes of personal data: these must declare a purpose.
PERSONAL_DATA_ACTIONS: frozenset[str] = frozenset(
    {
        AuditAction.SUBSCRIPTION_READ,
        AuditAction.SUBSCRIPTION_REGISTERED,
        AuditAction.SUBSCRIPTION_UPDATED,
        AuditAction.LOOKUP_BY_ID,
        AuditAction.DOCUMENT_IMAGE_VIEWED,
        AuditAction.DOCUMENT_UPLOADED,
        AuditAction.PERSONAL_DATA_EXPORTED,
        AuditAction.SMS_LOOKUP,
        AuditAction.DSR_EXPORT,
        AuditAction.DSR_ERASURE,
        AuditAction.DSR_RECTIFICATION,
        AuditAction.BIOMETRIC_VERIFIED,
    }
)

# `details` is for ids, counts and codes. A key naming a personal field is refused outright, as a
# guard against someone "just adding the name for context".
_PII_DETAIL_KEYS = frozenset(
    {"full_name", "name", "date_of_birth", "dob", "id_number", "address", "image", "photo", "portrait",
     "password", "msisdn_plain", "phone"}
)  # fmt: skip
_AT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_ACTION = re.compile(r"[a-z_]+(?::[a-z_]+)+")


def utc_timestamp(moment: datetime) -> str:
    """The one textual form of `at`: UTC, microseconds, `Z` (e.g. `2026-05-01T08:30:00.000000Z`)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("audit.at: naive_datetime")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _check_details(value: Any, path: str) -> None:
    # Floats are refused: their text form differs between JSON encoders and databases, which would
    # make a faithful copy of the log fail verification.
    if value is None or isinstance(value, bool | int | str):
        return
    if isinstance(value, list | tuple):
        for item in value:
            _check_details(item, path)
        return
    if isinstance(value, Mapping):
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValueError(f"{path}: key_not_text")
            if k.lower() in _PII_DETAIL_KEYS:
                raise ValueError(f"{path}.{k}: personal_data_key")
            _check_details(v, f"{path}.{k}")
        return
    raise ValueError(f"{path}: not_json_safe")


@dataclass(frozen=True, slots=True)
class AuditDraft:
    """An audit entry before it is sealed into the chain (everything but `prev_hash` and `hash`)."""

    seq: int
    at: str
    actor_staff_id: int | None
    actor_role: str | None
    point_of_sale_id: int | None
    action: str
    subject: str | None = None
    fields: tuple[str, ...] = ()
    purpose: str | None = None
    request_id: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        """Raise ValueError (field path and code only) if this draft may not enter the log."""
        if not isinstance(self.seq, int) or isinstance(self.seq, bool) or self.seq < 1:
            raise ValueError("audit.seq: invalid")
        if not isinstance(self.at, str) or not _AT.fullmatch(self.at):
            raise ValueError("audit.at: invalid_format")
        if not isinstance(self.action, str) or not _ACTION.fullmatch(str(self.action)):
            raise ValueError("audit.action: invalid_format")
        if self.action in PERSONAL_DATA_ACTIONS and not self.purpose:
            raise ValueError("audit.purpose: required")
        if not isinstance(self.details, Mapping):
            raise ValueError("audit.details: invalid_format")
        if not all(isinstance(f, str) for f in self.fields):
            raise ValueError("audit.fields: invalid_format")
        _check_details(self.details, "audit.details")


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One sealed entry of the append-only audit log."""

    seq: int
    at: str
    actor_staff_id: int | None
    actor_role: str | None
    point_of_sale_id: int | None
    action: str
    subject: str | None
    fields: tuple[str, ...]
    purpose: str | None
    request_id: str | None
    details: Mapping[str, Any]
    prev_hash: str
    hash: str

    @property
    def checkpoint(self) -> Checkpoint:
        """This entry as a point to resume verification from, or to append after."""
        return Checkpoint(self.seq, self.hash)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A (seq, hash) pair of a verified entry: where verification resumes and appending continues."""

    seq: int
    hash: str


# Before the first entry: append with seq 1 and prev_hash GENESIS.
START = Checkpoint(0, GENESIS)
_DRAFT_FIELDS = tuple(f.name for f in fields(AuditDraft))


def _content(entry: AuditDraft | AuditEntry | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(entry, Mapping):
        return {k: entry.get(k) for k in _DRAFT_FIELDS}
    return {k: getattr(entry, k) for k in _DRAFT_FIELDS}


def canonical_bytes(entry: AuditDraft | AuditEntry | Mapping[str, Any]) -> bytes:
    """The bytes an entry's hash covers: its content (not `prev_hash`/`hash`) as sorted, compact JSON."""
    content = _content(entry)
    content["fields"] = list(content["fields"] or ())
    content["details"] = dict(content["details"] or {})
    # StrEnum members serialise as their values; ensure_ascii keeps the bytes independent of how a
    # store or a transport encodes non-ASCII text.
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode(
        "ascii"
    )


def chain_hash(prev_hash: str, entry: AuditDraft | AuditEntry | Mapping[str, Any], key: bytes | None = None) -> str:
    """The hex hash committing `entry` to `prev_hash`: SHA-256, or HMAC-SHA256 when a key is given."""
    message = _DOMAIN + prev_hash.encode("ascii") + b"\x00" + canonical_bytes(entry)
    if key is None:
        return hashlib.sha256(message).hexdigest()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def key_fingerprint(key: bytes) -> str:
    """A short public name for a chain key, to store beside checkpoints and detect a wrong key early."""
    return hmac.new(key, b"subreg.audit.key-fingerprint", hashlib.sha256).hexdigest()[:16]


def seal(draft: AuditDraft | Mapping[str, Any], prev_hash: str, key: bytes | None = None) -> AuditEntry:
    """The entry for `draft`, chained after `prev_hash`; ValueError if the draft is not acceptable."""
    if isinstance(draft, Mapping):
        draft = AuditDraft(**{k: draft[k] for k in _DRAFT_FIELDS if k in draft})
    draft.validate()
    if not isinstance(prev_hash, str) or not _HEX64.fullmatch(prev_hash):
        raise ValueError("audit.prev_hash: invalid_format")
    values = {k: getattr(draft, k) for k in _DRAFT_FIELDS}
    values["fields"] = tuple(draft.fields)
    # A private copy: mutating the caller's dict afterwards must not change a sealed entry.
    values["details"] = copy.deepcopy(dict(draft.details))
    return AuditEntry(**values, prev_hash=prev_hash, hash=chain_hash(prev_hash, draft, key))


VerifyReason = Literal["edited", "deleted_or_inserted", "reordered", "bad_genesis"]


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """The outcome of `verify_chain`.

    `checked` counts the entries verified good before the first bad one; `last` is the last good
    entry's checkpoint (store it to resume next time); `first_bad_seq` and `reason` are None when ok.
    """

    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: VerifyReason | None = None
    last: Checkpoint | None = None


def _same(a: str, b: str) -> bool:
    return isinstance(a, str) and isinstance(b, str) and hmac.compare_digest(a.encode(), b.encode())


def _self_consistent(entry: AuditEntry, key: bytes | None) -> bool:
    try:
        return _same(entry.hash, chain_hash(entry.prev_hash, entry, key))
    except (TypeError, ValueError, AttributeError):
        return False  # a value that cannot even be serialised was not written by seal()


def verify_chain(
    entries: Iterable[AuditEntry],
    key: bytes | None = None,
    *,
    checkpoint: Checkpoint | None = None,
    head: Checkpoint | None = None,
) -> VerifyResult:
    """Verify a log in append order, from GENESIS or from a trusted `checkpoint`, in constant memory.

    `entries` must start right after the checkpoint (seq 1 from GENESIS). `head` is an entry known
    from elsewhere to be in the log; a log that stops before it was truncated.
    """
    start = checkpoint or START
    expected_seq = start.seq + 1
    expected_prev = start.hash
    last = checkpoint
    checked = 0
    it: Iterator[AuditEntry] = iter(entries)
    pending: list[AuditEntry] = []  # one-entry lookahead

    def take() -> AuditEntry | None:
        if pending:
            return pending.pop()
        return next(it, None)

    def peek() -> AuditEntry | None:
        if not pending:
            nxt = next(it, None)
            if nxt is None:
                return None
            pending.append(nxt)
        return pending[0]

    def fail(seq: int, reason: VerifyReason) -> VerifyResult:
        return VerifyResult(False, checked, seq, reason, last)

    while (entry := take()) is not None:
        if entry.seq != expected_seq:
            if isinstance(entry.seq, int) and entry.seq > expected_seq:
                # A hole: deleted, unless the missing entry turns up later (moved). Finding out
                # needs the rest of the log but only one number of memory.
                missing = expected_seq
                while (later := take()) is not None:
                    if later.seq == missing:
                        return fail(missing, "reordered")
                return fail(missing, "deleted_or_inserted")
            # A number seen already: a duplicate (copied or inserted) entry.
            return fail(entry.seq if isinstance(entry.seq, int) else expected_seq, "deleted_or_inserted")
        if not _same(entry.prev_hash, expected_prev):
            if checkpoint is None and expected_seq == 1:
                return fail(entry.seq, "bad_genesis")
            return fail(entry.seq, "deleted_or_inserted")
        if not _self_consistent(entry, key):
            # An edited entry still has its successor linked to its stored hash; a forged one
            # slipped in between does not.
            nxt = peek()
            if nxt is not None and not _same(nxt.prev_hash, entry.hash):
                return fail(entry.seq, "deleted_or_inserted")
            return fail(entry.seq, "edited")
        if head is not None and entry.seq == head.seq and not _same(entry.hash, head.hash):
            return fail(entry.seq, "edited")
        checked += 1
        last = entry.checkpoint
        expected_seq += 1
        expected_prev = entry.hash
    if head is not None and expected_seq <= head.seq:
        return fail(expected_seq, "deleted_or_inserted")
    return VerifyResult(True, checked, None, None, last)
