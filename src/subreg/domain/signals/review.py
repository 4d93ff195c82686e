"""Signal kinds, review decisions and their reason codes, and which signals are still open.

A signal is a reason to look, not a verdict. A compliance officer works through each kind's list and marks a
signal `reviewed`, `dismissed` or `escalated`, with a reason code from `REASONS` and an optional note. The
decisions are appended (never updated); the newest one per (kind, key) is the signal's state. A signal's key
carries a fingerprint of its facts (the counts that raised it), so a reviewed or dismissed signal leaves the
open list until its facts change, and then it comes back under a new key; an escalated one stays visible
(someone is on it) until it is reviewed or dismissed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from subreg.domain.common.errors import FieldError, InputError

__all__ = [
    "CLOSING",
    "MAX_NOTE",
    "REASONS",
    "Decision",
    "ReviewDecision",
    "SignalKind",
    "is_open",
    "parse_decision",
    "parse_kind",
]

MAX_NOTE = 500  # characters of free text; the note must not hold personal data (the form says so)
MAX_KEY = 96  # signal_reviews.signal_key


class SignalKind(StrEnum):
    """The five lists (the order is the page's)."""

    OVER_LIMIT = "over_limit"  # an ID document with 4+ subscriptions and no contract
    POS_VOLUME = "pos_volume"  # a point of sale registering far more than its own history
    PORTRAIT_REUSE = "portrait_reuse"  # the same portrait under different ID documents
    MULTI_POS_DAY = "multi_pos_day"  # many registrations for one ID at different points the same day
    STAFF_READS = "staff_reads"  # staff reading far more records than their peers (the audit log)


class Decision(StrEnum):
    REVIEWED = "reviewed"  # looked at, nothing (more) to do
    DISMISSED = "dismissed"  # not a problem: a false positive
    ESCALATED = "escalated"  # passed on (fraud team, the point of sale's manager)


# The reason codes staff choose from (the page shows them translated, `web.i18n`).
REASONS: tuple[str, ...] = (
    "legitimate_business",  # an enterprise or a family with many lines, a known busy day
    "contract_on_file",  # the contract exists on paper: data to correct
    "data_corrected",  # the records were corrected
    "staff_warned",  # the point of sale or the staff member was warned
    "false_positive",  # the rule fired on something normal
    "duplicate",  # the same case is handled under another signal
    "test_data",  # training or test records
    "suspected_fraud",  # to investigate
    "suspected_identity_theft",  # someone else's documents or portrait
    "policy_breach",  # a rule of the operator was broken
    "other",  # explained in the note
)

# Decisions that close a signal (it leaves the open list until its facts change).
CLOSING: frozenset[Decision] = frozenset({Decision.REVIEWED, Decision.DISMISSED})


@dataclass(frozen=True, slots=True)
class ReviewDecision:
    """One decision as staff gave it, validated."""

    kind: SignalKind
    key: str
    decision: Decision
    reason: str
    note: str | None


def parse_kind(value: object, *, field: str = "kind") -> SignalKind:
    """The kind named by `value`; InputError `invalid_choice` at `field` otherwise."""
    try:
        return SignalKind(str(value).strip())
    except ValueError:
        raise InputError([FieldError(field, "invalid_choice")]) from None


def parse_decision(values: Mapping[str, object]) -> ReviewDecision:
    """`kind`, `key`, `decision`, `reason` and optional `note`, checked together: InputError names every bad field."""
    errors: list[FieldError] = []

    def text(name: str) -> str:
        value = values.get(name)
        return value.strip() if isinstance(value, str) else ""

    kind: SignalKind | None = None
    try:
        kind = parse_kind(text("kind"))
    except InputError as exc:
        errors += exc.errors
    key = text("key")
    if not key:
        errors.append(FieldError("key", "required"))
    elif len(key) > MAX_KEY:
        errors.append(FieldError("key", "too_long"))
    decision: Decision | None = None
    if not text("decision"):
        errors.append(FieldError("decision", "required"))
    else:
        try:
            decision = Decision(text("decision"))
        except ValueError:
            errors.append(FieldError("decision", "invalid_choice"))
    reason = text("reason")
    if not reason:
        errors.append(FieldError("reason", "required"))
    elif reason not in REASONS:
        errors.append(FieldError("reason", "invalid_choice"))
    note = text("note") or None
    if note is not None and len(note) > MAX_NOTE:
        errors.append(FieldError("note", "too_long"))
    if reason == "other" and note is None:
        errors.append(FieldError("note", "required"))
    if errors or kind is None or decision is None:
        raise InputError(errors)
    return ReviewDecision(kind, key, decision, reason, note)


def is_open(latest: Decision | str | None) -> bool:
    """Whether a signal whose newest decision is `latest` (None: none yet) is still on the open list."""
    return latest is None or Decision(latest) not in CLOSING
