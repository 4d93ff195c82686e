"""Lines for the back-office queue tests: incomplete records whose ID scans (printed card, QR, MRZ) are stored."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from typing import Any

from subreg.adapters.images.demo_cards import card_scans
from subreg.domain.access.permissions import Actor, Role
from subreg.domain.id_documents.numbers import make_cccd
from subreg.services.registry import store_subscription
from tests.auth_helpers import make_staff
from tests.records import COMPLETE_INDIVIDUAL

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
TODAY = date(2026, 11, 28)


def full_holder(n: int) -> dict[str, Any]:
    """A consistent CCCD holder number `n` (synthetic)."""
    holder = copy.deepcopy(COMPLETE_INDIVIDUAL["holder"])
    holder["id_number"] = make_cccd("079", "female", 1990, 100_000 + n)
    return holder


def seed_line(
    container: Any, n: int, *, missing: tuple[str, ...] = ("id_issue_place",), scans: dict[str, bytes] | None = None
) -> dict[str, Any]:
    """Store line `n` without the `missing` holder fields, with printed scans of its full card; its holder."""
    holder = full_holder(n)
    record = copy.deepcopy(COMPLETE_INDIVIDUAL)
    record["msisdn"] = f"09{n:08d}"
    record["holder"] = {k: v for k, v in holder.items() if k not in missing}
    images = card_scans(holder) if scans is None else scans
    with container.uow() as uow:
        store_subscription(
            record, uow=uow, vault=container.vault, blobs=container.blobs, as_of=TODAY, actor=None,
            channel="legacy_import", rule_set=container.rule_set, images=images,
        )  # fmt: skip
        uow.commit()
    return holder


def backoffice_actor(container: Any) -> Actor:
    """A new back-office account as an actor."""
    username, _ = make_staff(container, "backoffice")
    with container.uow() as uow:
        staff = uow.staff.get_by_username(username)
    assert staff is not None
    return Actor(staff.id, Role.BACKOFFICE)
