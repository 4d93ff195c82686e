"""Ports of enforcement: the network element that locks and unlocks lines, and the orders it receives.

An order is a row of the durable `network_orders` outbox, written in the same transaction as the
decision that causes it (a sweep's step, a completion at the counter). A worker hands each order to
the configured `NetworkProvisioner` (OsmoHLR over CTRL, a signed HTTP webhook, the built-in network of
the embedded default); the use cases never know which.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, Protocol

from subreg.domain.enforcement.machine import SweepPlan
from subreg.services.common.ports import UnitOfWork

__all__ = [
    "EnforcementRepository",
    "EnforcementUnitOfWork",
    "LineAccess",
    "NetworkOrder",
    "NetworkProvisioner",
    "NoticeComposer",
    "OrderAction",
    "OrderOutcome",
    "OrderRepository",
    "PreparedNotice",
    "StepCount",
]

# lock_one_way: outgoing calls and SMS barred; incoming calls and SMS and emergency calls kept (3GPP TS 29.272:
#               subscriber status OPERATOR_DETERMINED_BARRING with the "all outgoing calls" bit, outgoing SMS).
# lock_two_way: every service barred but emergency calls (the same status, every barring bit).
# unlock:       every service back (the line restored).
# terminate:    the contract ended; the number leaves the network until it is reissued as a new line.
OrderAction = Literal["lock_one_way", "lock_two_way", "unlock", "terminate"]

# What a network element says a line can do now: `open` (every service), `one_way` (incoming only),
# `two_way` (nothing but emergency calls), `absent` (no such subscriber on the element).
LineAccess = Literal["open", "one_way", "two_way", "absent"]


@dataclass(frozen=True)
class NetworkOrder:
    """One order for one line. `key` is its idempotency key (stable across retries of the same order)."""

    id: int
    key: str
    msisdn: str  # international digits without '+', e.g. "84912345678"
    action: OrderAction
    attempts: int = 0
    line: int = 0  # the subscription line's id (audit subject; never sent to the network)


@dataclass(frozen=True)
class OrderOutcome:
    """The network element's answer to one order.

    `done`: applied (or already in that state: orders are idempotent); `applied` says what the element
    could express (OsmoHLR has no outgoing-only barring: a one-way lock is applied there as `two_way`).
    `retry`: a transient failure (timeout, 5xx, connection refused): try again later with backoff.
    `refused`: the element refused it for good (unknown subscriber, 4xx): surfaced to staff, never dropped.
    `detail` is a short code for logs and pages, never personal data.
    """

    status: Literal["done", "retry", "refused"]
    detail: str = ""
    applied: LineAccess | None = None


class NetworkProvisioner(Protocol):
    """A network element (HLR/HSS or its provisioning gateway) that applies orders to lines."""

    name: str  # e.g. "osmohlr", "webhook:hss-gw", "builtin"

    def apply(self, order: NetworkOrder) -> OrderOutcome:
        """Apply one order; never raises for the element's own failures (they are outcomes)."""
        ...

    def access(self, msisdn: str) -> LineAccess:
        """What the element says the line can do now (for checks, pages and tests)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


@dataclass(frozen=True)
class PreparedNotice:
    """One notice text, encoded, counted and sealed ONCE for every line a sweep sends it to (the text
    holds no personal data: the same sealed bytes go into each outbox row)."""

    sender: str
    encoding: str
    part_count: int
    sealed: Mapping[str, Any]  # kek_id, wrapped_dek, payload


class NoticeComposer(Protocol):
    """Renders and seals the enforcement notices (the SMS capability's templates, through the wiring)."""

    def compose(self, action: str, *, as_of: date, next_on: date | None) -> PreparedNotice:
        """The notice for `action` (notify | renotify | lock_one_way | lock_two_way | restore) sent on `as_of`;
        `next_on`: the first day of the next step, when the text names it."""
        ...


@dataclass(frozen=True)
class StepCount:
    action: str  # notify | renotify | lock_one_way | lock_two_way | terminate | restore
    province: str  # of the line's point of sale, "unknown" when none
    count: int


class EnforcementRepository(Protocol):
    """Set-based enforcement over the whole base (never a loop over lines)."""

    def plan(self, plan: SweepPlan, *, only_rechecks: bool = False) -> None:
        """Decide today's move of every line (at most one each) from the stored state; `only_rechecks`:
        restorations of the lines completed through a channel since the last time, nothing else."""
        ...

    def counts(self) -> list[StepCount]:
        """The planned moves, by action and province."""
        ...

    def apply(self, *, plan: SweepPlan, now: datetime, notices: Mapping[str, PreparedNotice], channel: str) -> None:
        """Carry out the planned moves: state, history, line status, network orders and notices (outbox rows)."""
        ...

    def held(self, *, limit: int) -> list[tuple[int, int]]:
        """(line id, MSISDN key) of incomplete live lines whose holder restricted processing (held, not locked)."""
        ...

    def held_count(self) -> int: ...

    def request_restores(self, *, channel: str, now: datetime) -> int:
        """Ask for every line in enforcement whose information is now complete to be restored soon (after a
        bulk channel such as an import); how many were asked for. Set-based over the lines in enforcement."""
        ...


class OrderRepository(Protocol):
    """The network orders' outbox."""

    def claim(self, *, now: datetime, lease_until: datetime, limit: int) -> list[NetworkOrder]:
        """Due orders (queued, or claimed and never settled before their lease ran out), most urgent first;
        they are leased to the caller until `lease_until` (SKIP LOCKED on PostgreSQL)."""
        ...

    def settle(self, order_id: int, values: Mapping[str, Any]) -> None: ...

    def failed(self, *, limit: int) -> list[Mapping[str, Any]]:
        """Orders the network refused or that ran out of attempts (for staff), newest first."""
        ...

    def retry(self, order_ids: Sequence[int], *, now: datetime) -> int:
        """Queue failed orders again (staff fixed the cause); how many."""
        ...


class EnforcementUnitOfWork(UnitOfWork, Protocol):
    enforcement: EnforcementRepository
    orders: OrderRepository
