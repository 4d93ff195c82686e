"""What the point-of-sale use cases need besides the unit of work, built per request by `bootstrap`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from subreg.domain.common.operator_numbers import OperatorNumbers, operator_numbers
from subreg.domain.compliance.rules.base import RuleSet
from subreg.domain.compliance.timeline import Timeline
from subreg.services.backoffice.review_ports import ReviewRules
from subreg.services.common.ports import Vault
from subreg.services.counter.ports import ImageInspector
from subreg.services.privacy.ports import ConsentRecorder
from subreg.services.registry.ports import SubscriptionWriter

__all__ = ["CounterContext"]


@dataclass(frozen=True, slots=True)
class CounterContext:
    """The request's moment and the operator's settings the counter applies (no settings object inside:
    `bootstrap.Container.counter_context` copies the values, so a use case says what it depends on)."""

    vault: Vault
    registry: SubscriptionWriter
    consents: ConsentRecorder
    rule_set: RuleSet
    now: datetime
    today: date
    serving_minutes: int = 30
    phase_reference: date = date(2018, 4, 24)
    consent_version: str = "2026-01"
    # The operator's ranges (setting `operator_ranges`; empty: every number). The numbers ported in and out
    # are looked up in the unit of work, one number at a time (`uow.ported`).
    numbers: OperatorNumbers = field(default_factory=lambda: operator_numbers(()))
    images: ImageInspector | None = None
    request_id: str | None = None
    # Enforcement: the timeline in force today (the card's next step) and how long a terminated number waits
    # before it can be issued to a new holder.
    timeline: Timeline | None = None
    quarantine_days: int = 180
    # The supervisor review (flags at save time, what a rejected line keeps); None: nothing is flagged.
    review: ReviewRules | None = None
