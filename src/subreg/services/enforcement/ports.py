"""Ports of enforcement: the network element that locks and unlocks lines, and the orders it receives.

An order is a row of the durable `network_orders` outbox, written in the same transaction as the
decision that causes it (a sweep's step, a completion at the counter). A worker hands each order to
the configured `NetworkProvisioner` (OsmoHLR over CTRL, a signed HTTP webhook, the built-in network of
the embedded default); the use cases never know which.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

__all__ = ["LineAccess", "NetworkOrder", "NetworkProvisioner", "OrderAction", "OrderOutcome"]

# lock_one_way: outgoing calls and SMS barred; incoming calls and SMS and emergency calls kept
#               (3GPP TS 29.272 ODB "barring of all outgoing calls" + outgoing SMS).
# lock_two_way: every service barred but emergency calls (subscriber status = operator-determined barring).
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
