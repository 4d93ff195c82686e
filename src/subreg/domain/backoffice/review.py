"""The supervisor review: which saved registrations and updates are flagged, the decisions and their reasons,
who may review whose work, and what a rejected line keeps.

A flag is a reason for a second pair of eyes, not a verdict (MOSIP's supervisor approval, Ballerine's case
review). The counter computes the facts when it saves a line and `flags_for` turns them into flags:

- `card_mismatch`: the chip card's QR or the MRZ gives a value that differs from what staff typed (only
  fields both sides have: an absent field is filled from the card, never flagged);
- `fourth_sim`: the line is the holder's 4th or later active line (`CONTRACT_FROM_ORDINAL`, Decree 49);
- `fraud_signal`: the same ID document was registered at several points of sale on the same day (the
  `multi_pos_day` signal, checked for this one person at save time), or a signal on the person is escalated;
- `narrow_image`: an image check passed, but within the margin above its threshold (sharpness, face size);
- `agent_anomaly`: an agent or an authorized point saved it outside the opening hours (as
  `domain.privacy.anomalies.after_hours_reads` counts reads);
- `resubmitted`: a new save of a line whose last review was `rejected` or `sent_back` (a new photo): a
  rejected line is released only by an approval of this new item.

A supervisor decides `approved`, `rejected` or `sent_back` (take a new photo) with a reason from `REASONS`
and free text (required for `other`). Pure: no clock, no I/O; the caller passes times and facts.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from subreg.domain.common.errors import ConflictError, FieldError, InputError
from subreg.domain.compliance.timeline import Step, Timeline

__all__ = [
    "CARD_COMPARED",
    "DEFAULT_REJECTED_SERVICES",
    "MAX_NOTE",
    "REASONS",
    "Decision",
    "Flag",
    "ItemKind",
    "ParsedDecision",
    "ReviewNotClaimedError",
    "ReviewStaleError",
    "SaveFacts",
    "card_mismatches",
    "flags_for",
    "is_narrow",
    "join_flags",
    "lock_for",
    "may_review",
    "parse_decision",
    "split_flags",
]

MAX_NOTE = 500  # characters of free text; the form says it must not hold personal data
# The holder fields compared between the card and the typed record (an address's wording differs too often
# between the QR and what is typed to be a signal).
CARD_COMPARED: tuple[str, ...] = ("id_number", "full_name", "date_of_birth", "gender", "id_issue_date")
# What a rejected registration may still do by default: the free 1414 look-up and emergency calls (the
# services a two-way lock keeps, `domain.compliance.timeline`).
DEFAULT_REJECTED_SERVICES: frozenset[str] = frozenset({"sms_1414", "emergency_calls"})


class Flag(StrEnum):
    """Why an item waits for a supervisor (stored comma-joined in `review_items.flags`)."""

    CARD_MISMATCH = "card_mismatch"
    FOURTH_SIM = "fourth_sim"
    FRAUD_SIGNAL = "fraud_signal"
    NARROW_IMAGE = "narrow_image"
    AGENT_ANOMALY = "agent_anomaly"
    RESUBMITTED = "resubmitted"


class ItemKind(StrEnum):
    REGISTRATION = "registration"
    UPDATE = "update"


class Decision(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"
    SENT_BACK = "sent_back"  # take a new photo


# Reason codes per decision; `other` needs the free text.
REASONS: Mapping[Decision, tuple[str, ...]] = {
    Decision.APPROVED: ("documents_consistent", "customer_confirmed", "known_customer", "other"),
    Decision.REJECTED: ("document_forged", "person_mismatch", "card_data_mismatch", "over_sim_limit",
                        "fraud_suspected", "other"),
    Decision.SENT_BACK: ("portrait_unclear", "card_unclear", "portrait_not_holder", "document_missing", "other"),
}  # fmt: skip


class ReviewStaleError(ConflictError):
    """The line changed after the page was shown: the decision is refused, the page shows the new state (409)."""

    code = "review_stale"


class ReviewNotClaimedError(ConflictError):
    """The item is not held by this supervisor (lease lost, decided already, or never claimed) (409)."""

    code = "review_not_claimed"


@dataclass(frozen=True, slots=True)
class SaveFacts:
    """What the counter knows when it saves a line, for `flags_for`."""

    card_mismatches: tuple[str, ...] = ()
    person_lines: int = 0  # the holder's active lines under this ID document, this one included
    contract_from: int = 4
    points_today: int = 0  # points of sale that registered this ID document today, this one included
    signal_escalated: bool = False
    narrow_images: tuple[str, ...] = ()
    outside_hours: bool = False  # an agent or authorized point, outside opening hours
    resubmission: bool = False  # the line's last review was rejected or sent back


def _norm(value: Any) -> str:
    text = unicodedata.normalize("NFC", str(value))
    return " ".join(text.split()).casefold()


def card_mismatches(typed: Mapping[str, Any] | None, read: Mapping[str, Any]) -> tuple[str, ...]:
    """The `CARD_COMPARED` fields both sides give whose values differ (case, spacing and Unicode form aside)."""
    if not typed:
        return ()
    out = []
    for name in CARD_COMPARED:
        a, b = typed.get(name), read.get(name)
        if a in (None, "") or b in (None, ""):
            continue
        if _norm(a) != _norm(b):
            out.append(name)
    return tuple(out)


def is_narrow(value: float | None, threshold: float, margin: float) -> bool:
    """Whether a measurement that passed `threshold` is within `margin` (a share of it) above it."""
    if value is None or margin <= 0 or value < threshold:
        return False
    return value < threshold * (1 + margin)


def flags_for(facts: SaveFacts) -> tuple[Flag, ...]:
    """The flags a save raises, in `Flag`'s order (empty: nothing to review)."""
    raised = {
        Flag.CARD_MISMATCH: bool(facts.card_mismatches),
        Flag.FOURTH_SIM: facts.person_lines >= facts.contract_from,
        Flag.FRAUD_SIGNAL: facts.points_today >= 2 or facts.signal_escalated,
        Flag.NARROW_IMAGE: bool(facts.narrow_images),
        Flag.AGENT_ANOMALY: facts.outside_hours,
        Flag.RESUBMITTED: facts.resubmission,
    }
    return tuple(f for f in Flag if raised[f])


def join_flags(flags: Iterable[str]) -> str:
    """The stored form: known flags, deduplicated, in `Flag`'s order, comma-joined."""
    given = set(flags)
    return ",".join(f.value for f in Flag if f.value in given)


def split_flags(stored: str | None) -> tuple[str, ...]:
    """The stored flags as a tuple (unknown codes kept: a later version may add some)."""
    return tuple(f for f in (stored or "").split(",") if f)


@dataclass(frozen=True, slots=True)
class ParsedDecision:
    decision: Decision
    reason: str
    note: str | None


def parse_decision(decision: str | None, reason: str | None, note: str | None) -> ParsedDecision:
    """A decision from a form or a command line; InputError names every bad field (`invalid_choice`,
    `required`, `too_long`)."""
    errors: list[FieldError] = []
    chosen: Decision | None = None
    if not decision:
        errors.append(FieldError("decision", "required"))
    else:
        try:
            chosen = Decision(decision)
        except ValueError:
            errors.append(FieldError("decision", "invalid_choice"))
    text = (note or "").strip() or None
    if not reason:
        errors.append(FieldError("reason", "required"))
    elif (chosen is not None and reason not in REASONS[chosen]) or (
        chosen is None and all(reason not in r for r in REASONS.values())
    ):
        errors.append(FieldError("reason", "invalid_choice"))
    if reason == "other" and text is None:
        errors.append(FieldError("note", "required"))
    if text is not None and len(text) > MAX_NOTE:
        errors.append(FieldError("note", "too_long"))
    if errors or chosen is None or reason is None:
        raise InputError(errors)
    return ParsedDecision(chosen, reason, text)


def may_review(
    *,
    reviewer_id: int,
    reviewer_pos: int | None,
    item_pos: int | None,
    submitted_by: int | None,
    cross_store_only: bool,
    other_store_active: bool,
) -> bool:
    """Whether a supervisor may review an item.

    Never their own work. Their own point of sale's work only when the setting allows it
    (`cross_store_only` off) or no supervisor of another point of sale is active to take it.
    """
    if submitted_by is not None and submitted_by == reviewer_id:
        return False
    if item_pos is None or reviewer_pos is None or item_pos != reviewer_pos:
        return True
    return not (cross_store_only and other_store_active)


def lock_for(services: Iterable[str], timeline: Timeline | None = None) -> str | None:
    """The network lock that keeps no more than `services` (None: they need a live line, no lock).

    The two-way lock keeps emergency calls and 1414, the one-way lock incoming calls and SMS too.
    """
    wanted = frozenset(services)
    for step in (Step.LOCK_TWO_WAY, Step.LOCK_ONE_WAY):
        kept = timeline.keeps(step) if timeline is not None else _KEPT[step]
        if wanted <= kept:
            return step.value
    return None


_KEPT = {
    Step.LOCK_TWO_WAY: frozenset({"emergency_calls", "sms_1414"}),
    Step.LOCK_ONE_WAY: frozenset({"emergency_calls", "incoming_calls", "incoming_sms", "sms_1414"}),
}
