"""The signal lists and their review: list a kind, decide on one signal, open a signal's line.

Each list is computed when asked, from one or two aggregate queries and a pure rule (`domain.signals`,
`domain.privacy.anomalies`), then joined with the newest decision per key; the open list hides what was
reviewed or dismissed (the key changes when the facts do). Nothing personal is shown: line ids, masked
numbers, point-of-sale codes, staff usernames, counts and the first digits of a keyed person key. Listing is
audited (`signals:listed`), every decision too (`signal:decided`), in the transaction that stores it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from subreg.domain.access.masking import mask_msisdn
from subreg.domain.access.permissions import Actor, Permission, Reason, Role, require
from subreg.domain.common.errors import FieldError, NotFoundError, PermissionDeniedError
from subreg.domain.common.msisdn import msisdn_from_key
from subreg.domain.privacy.anomalies import read_volume_outliers
from subreg.domain.privacy.audit_chain import AuditAction, utc_timestamp
from subreg.domain.signals.keys import multi_pos_key, over_limit_key, pos_volume_key, staff_reads_key
from subreg.domain.signals.review import Decision, SignalKind, parse_decision, parse_kind
from subreg.domain.signals.volume import unusual_volumes
from subreg.services.backoffice.review_ports import SIGNAL_FLAG, SIGNAL_KIND
from subreg.services.common import audit_trail
from subreg.services.registry.ports import SubscriptionWriter
from subreg.services.signals.items import LineRef, SignalItem, SignalList
from subreg.services.signals.options import SignalOptions
from subreg.services.signals.portraits import portrait_signals
from subreg.services.signals.ports import PortraitHasher, SignalUnitOfWork, StoredReview

__all__ = [
    "READ_ACTIONS",
    "LineRef",
    "SignalItem",
    "SignalList",
    "line_to_open",
    "list_signals",
    "review_signal",
]

# The reads the staff signal counts (as services.privacy.audit_log.READ_ACTIONS: a card, a look-up by ID, an image).
READ_ACTIONS: tuple[str, ...] = (
    AuditAction.SUBSCRIPTION_READ,
    AuditAction.LOOKUP_BY_ID,
    AuditAction.DOCUMENT_IMAGE_VIEWED,
)


def _masked(numbers: Sequence[int]) -> list[str]:
    return [mask_msisdn(msisdn_from_key(int(n))) for n in numbers]


def _lines(line_ids: Sequence[int], numbers: Sequence[int]) -> tuple[LineRef, ...]:
    return tuple(LineRef(int(i), m) for i, m in zip(line_ids, _masked(numbers), strict=True))


def _offset_minutes(options: SignalOptions, day: date) -> int:
    offset = datetime.combine(day, time(12), tzinfo=options.tz).utcoffset()
    return int(offset.total_seconds() // 60) if offset is not None else 0


def _days(options: SignalOptions, today: date) -> tuple[date, date]:
    return today - timedelta(days=max(options.recent_days, 1) - 1), today


# --- the five computations ----------------------------------------------------------------------------------


def _over_limit(uow: SignalUnitOfWork, options: SignalOptions) -> list[SignalItem]:
    found = uow.signals.over_limit(minimum=options.over_limit_min, limit=options.limit)
    return [
        SignalItem(
            SignalKind.OVER_LIMIT,
            over_limit_key(d.person_key, d.lines, d.without_contract),
            {"document": d.person_key.hex()[:12], "lines": d.lines, "without_contract": d.without_contract},
            _lines(d.line_ids, d.numbers),
        )
        for d in found
    ]


def _pos_volume(uow: SignalUnitOfWork, options: SignalOptions, today: date) -> list[SignalItem]:
    first, last = _days(options, today)
    rule = options.volume
    counts = uow.signals.daily_registrations(
        first=first - timedelta(days=rule.window), last=last, channels=options.channels,
        utc_offset_minutes=_offset_minutes(options, today),
    )  # fmt: skip
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    found = unusual_volumes(counts, days=days, rule=rule)[: options.limit]
    return [
        SignalItem(
            SignalKind.POS_VOLUME,
            pos_volume_key(s.point, s.day, s.count),
            {
                "point_of_sale": s.point,
                "day": s.day.isoformat(),
                "registrations": s.count,
                "median": round(s.median, 1),
                "mean": round(s.mean, 1),
                "threshold": round(s.threshold, 1),
                "score": None if s.score is None else round(s.score, 1),
            },
        )
        for s in found
    ]


def _multi_pos(uow: SignalUnitOfWork, options: SignalOptions, today: date) -> list[SignalItem]:
    first, last = _days(options, today)
    found = uow.signals.same_day_registrations(
        first=first, last=last, channels=options.channels, utc_offset_minutes=_offset_minutes(options, today),
        min_points=options.multi_pos_min_points, min_registrations=options.multi_pos_min_registrations,
        limit=options.limit,
    )  # fmt: skip
    return [
        SignalItem(
            SignalKind.MULTI_POS_DAY,
            multi_pos_key(p.person_key, p.day, p.points, p.registrations),
            {
                "document": p.person_key.hex()[:12],
                "day": p.day.isoformat(),
                "points": p.points,
                "registrations": p.registrations,
                "points_of_sale": list(p.point_codes),
            },
            _lines(p.line_ids, p.numbers),
        )
        for p in found
    ]


def _staff_reads(uow: SignalUnitOfWork, options: SignalOptions, today: date) -> list[SignalItem]:
    since = today - timedelta(days=options.staff_days)
    lo = utc_timestamp(datetime.combine(since, time(0), tzinfo=options.tz))
    counts = uow.audit.activity(
        since=lo, until=None, read_actions=READ_ACTIONS, lookup_actions=(), transaction_actions=(),
    )  # fmt: skip
    by_role: dict[str, dict[int, int]] = {}
    for staff, n in counts.reads.items():
        by_role.setdefault(counts.roles.get(staff, ""), {})[staff] = n
    found = []
    for role, group in sorted(by_role.items()):
        median = sorted(group.values())[len(group) // 2] if group else 0
        for s in read_volume_outliers(group, factor=options.staff_factor, min_reads=options.staff_min_reads):
            found.append((role, int(str(s.staff_id)), int(s.value), s.threshold, len(group), median))
    found.sort(key=lambda f: (-f[2], f[1]))
    names = uow.signals.staff_names([f[1] for f in found])
    return [
        SignalItem(
            SignalKind.STAFF_READS,
            staff_reads_key(staff, since, reads),
            {
                "staff": names.get(staff, f"#{staff}"),
                "role": role,
                "reads": reads,
                "threshold": round(threshold, 1),
                "peers": peers,
                "since": since.isoformat(),
            },
        )
        for role, staff, reads, threshold, peers, _median in found[: options.limit]
    ]


def _compute(
    kind: SignalKind, uow: SignalUnitOfWork, options: SignalOptions, today: date, *,
    documents: SubscriptionWriter | None, hasher: PortraitHasher | None,
) -> tuple[list[SignalItem], dict[str, Any]]:  # fmt: skip
    """The kind's signals (without decisions) and the details for its audit entry."""
    if kind is SignalKind.OVER_LIMIT:
        return _over_limit(uow, options), {}
    if kind is SignalKind.POS_VOLUME:
        return _pos_volume(uow, options, today), {}
    if kind is SignalKind.MULTI_POS_DAY:
        return _multi_pos(uow, options, today), {}
    if kind is SignalKind.STAFF_READS:
        return _staff_reads(uow, options, today), {}
    return portrait_signals(uow, options, documents=documents, hasher=hasher)


def _with_decisions(items: list[SignalItem], latest: Mapping[str, StoredReview]) -> list[SignalItem]:
    out = []
    for item in items:
        review = latest.get(item.key)
        if review is None:
            out.append(item)
        else:
            out.append(SignalItem(item.kind, item.key, item.facts, item.lines, review.decision, review.reason,
                                  review.at))  # fmt: skip
    return out


def _settings(kind: SignalKind, options: SignalOptions) -> dict[str, Any]:
    """The thresholds in force for a kind (shown above its list)."""
    v = options.volume
    by_kind: dict[SignalKind, dict[str, Any]] = {
        SignalKind.OVER_LIMIT: {"minimum": options.over_limit_min},
        SignalKind.POS_VOLUME: {
            "window": v.window,
            "min_volume": v.min_volume,
            "ratio": v.ratio,
            "z": v.z,
            "days": options.recent_days,
        },
        SignalKind.PORTRAIT_REUSE: {"max_distance": options.portrait_max_distance},
        SignalKind.MULTI_POS_DAY: {
            "min_points": options.multi_pos_min_points,
            "min_registrations": options.multi_pos_min_registrations,
            "days": options.recent_days,
        },
        SignalKind.STAFF_READS: {
            "days": options.staff_days,
            "factor": options.staff_factor,
            "min_reads": options.staff_min_reads,
        },
    }
    return by_kind[kind]  # fmt: skip


def _not_regional(actor: Actor) -> None:
    # `reports:read` gives a regional manager its provinces' aggregates; these lists name ID documents, lines and
    # staff network-wide, outside any province's scope.
    if str(actor.role) == Role.REGIONAL_MANAGER:
        raise PermissionDeniedError(Reason.OUT_OF_SCOPE)


def list_signals(
    kind: str | SignalKind, *, uow: SignalUnitOfWork, options: SignalOptions, actor: Actor | None, today: date,
    now: datetime, documents: SubscriptionWriter | None = None, hasher: PortraitHasher | None = None,
    include_closed: bool = False,
) -> SignalList:  # fmt: skip
    """A kind's open signals (and closed ones with `include_closed`), worst first; audited `signals:listed`.

    InputError `invalid_choice` at `kind` for an unknown kind; `reports:read` for staff (None: the command line).
    """
    if actor is not None:
        require(actor, Permission.REPORTS_READ)
        _not_regional(actor)
    which = parse_kind(kind)
    with uow:
        computed, details = _compute(which, uow, options, today, documents=documents, hasher=hasher)
        items = _with_decisions(computed, uow.signals.latest_reviews(str(which)))
        open_items = [i for i in items if i.open]
        uow.rollback()  # the aggregates only read: the audit entry gets a short write transaction of its own
        uow.lock_for_write()
        audit_trail.record(uow, actor=actor, action=AuditAction.SIGNALS_LISTED, subject=f"signals:{which}", now=now,
                           details={"kind": str(which), "open": len(open_items), **details})  # fmt: skip
        uow.commit()
    shown = items if include_closed else open_items
    return SignalList(which, tuple(shown), len(open_items), len(items) - len(open_items), _settings(which, options))


def review_signal(
    values: Mapping[str, object], *, uow: SignalUnitOfWork, options: SignalOptions, actor: Actor | None,
    today: date, now: datetime, documents: SubscriptionWriter | None = None, hasher: PortraitHasher | None = None,
) -> StoredReview:  # fmt: skip
    """Append a decision (reviewed, dismissed, escalated) with a reason code and an optional note; audited.

    InputError names every bad field (kind, key, decision, reason, note); NotFoundError at `key` when the kind's
    current list has no such signal. Nothing is written in either case. Staff need `signals:review`.
    """
    if actor is not None:
        require(actor, Permission.SIGNALS_REVIEW)
    decision = parse_decision(values)
    with uow:
        computed, _ = _compute(decision.kind, uow, options, today, documents=documents, hasher=hasher)
        found = next((i for i in computed if i.key == decision.key), None)
        if found is None:
            raise NotFoundError("signal not found", errors=[FieldError("key", "not_found")])
        uow.rollback()
        uow.lock_for_write()
        review = StoredReview(
            str(decision.kind), decision.key, str(decision.decision), decision.reason, decision.note,
            actor.staff_id if actor is not None else None, now,
        )  # fmt: skip
        uow.signals.add_review(review)
        queued = _escalate(uow, found, now) if decision.decision == Decision.ESCALATED else 0
        audit_trail.record(
            uow, actor=actor, action=AuditAction.SIGNAL_DECIDED, subject=f"signal:{decision.kind}:{decision.key}",
            now=now, details={"decision": str(decision.decision), "reason": decision.reason,
                              "note": decision.note is not None, "lines_to_review": queued},
        )  # fmt: skip
        uow.commit()
    return review


def _escalate(uow: SignalUnitOfWork, item: SignalItem, now: datetime) -> int:
    """Each line of an escalated signal waits for a supervisor (flag `fraud_signal`; a line with a pending item
    keeps that one, the flag joined). How many lines were queued."""
    queued = 0
    for line in item.lines:
        version = uow.reviews.line_version(line.line_id)
        if version is None:
            continue
        uow.reviews.submit(subscription_id=line.line_id, kind=SIGNAL_KIND, flags=SIGNAL_FLAG,
                           version=version, point_of_sale_id=None, submitted_by=None, now=now)  # fmt: skip
        queued += 1
    return queued


def line_to_open(line_id: int, *, uow: SignalUnitOfWork, actor: Actor | None) -> int:
    """The number key of a signal's line, for the counter's audited card read (NotFoundError at `line`)."""
    if actor is not None:
        require(actor, Permission.REPORTS_READ)
        _not_regional(actor)
    with uow:
        number = uow.signals.line_number(int(line_id))
    if number is None:
        raise NotFoundError("line not found", errors=[FieldError("line", "not_found")])
    return number
