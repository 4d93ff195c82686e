"""In-memory repositories of the registry: subscription lines, holders, documents, history, points of sale, staff,
people (person keys, document links, the evaluation's dirty set) and the ported numbers.

Same semantics as `adapters.db.registry_repo` (checked by `tests/integration/test_port_contracts.py`):
a number's current line is its latest generation, `existing` names the numbers with a live line, ids
grow, an update with a stale version raises ConflictError, history is append-only and its `changes`
go through JSON as they do in the database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson

from subreg.adapters.memory._store import ConstraintError, Row, Transaction, same_columns
from subreg.domain.common.errors import ConflictError
from subreg.services.access.ports import StaffRow
from subreg.services.registry.ports import (
    DocumentRow,
    HistoryRow,
    HolderRow,
    PointOfSaleRow,
    PortedCounts,
    SubscriptionRow,
)

__all__ = [
    "MemoryDocumentRepository",
    "MemoryHistoryRepository",
    "MemoryHolderRepository",
    "MemoryPeopleRepository",
    "MemoryPointOfSaleRepository",
    "MemoryPortedNumbers",
    "MemoryStaffRepository",
    "MemorySubscriptionRepository",
]

Tx = Callable[[], Transaction]


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(text.split(",")) if text else ()


def _bytes(value: Any) -> bytes | None:
    return None if value is None else bytes(value)


def _subscription(m: Row) -> SubscriptionRow:
    return SubscriptionRow(
        id=m["id"],
        msisdn=m["msisdn"],
        generation=m["generation"],
        holder_id=m["holder_id"],
        subscriber_type=m["subscriber_type"],
        payment_type=m["payment_type"],
        activated_on=m["activated_on"],
        channel=m["channel"],
        point_of_sale_id=m["point_of_sale_id"],
        point_of_sale_code=m["point_of_sale_code"],
        contract_number=m["contract_number"],
        purpose=m["purpose"],
        status=m["status"],
        complete=bool(m["complete"]),
        missing=_split(m["missing"]),
        error_codes=_split(m["error_codes"]),
        rule_set=m["rule_set"],
        evaluated_on=m["evaluated_on"],
        version=m["version"],
        contract_needed=bool(m["contract_needed"]),
        valid_until=m["valid_until"],
        person_key=_bytes(m["person_key"]),
        has_contract=bool(m["has_contract"]),
    )


def _subscription_values(row: Mapping[str, Any]) -> dict[str, Any]:
    values = dict(row)
    for key in ("missing", "error_codes"):
        if key in values and not isinstance(values[key], str):
            values[key] = ",".join(values[key])
    if "person_key" in values:
        values["person_key"] = _bytes(values["person_key"])
    return values


def _holder(m: Row) -> HolderRow:
    return HolderRow(
        id=m["id"],
        kind=m["kind"],
        id_type=m["id_type"],
        id_blind=m["id_blind"],
        province_code=m["province_code"],
        aad_ref=m["aad_ref"],
        kek_id=m["kek_id"],
        wrapped_dek=m["wrapped_dek"],
        payload=m["payload"],
    )


def _document(m: Row) -> DocumentRow:
    return DocumentRow(
        id=m["id"],
        subscription_id=m["subscription_id"],
        kind=m["kind"],
        blob_key=m["blob_key"],
        external_ref=m["external_ref"],
        content_type=m["content_type"],
        size=m["size"],
        created_by_staff_id=m["created_by_staff_id"],
        point_of_sale_id=m["point_of_sale_id"],
    )


class MemorySubscriptionRepository:
    """Subscription lines: by id, or the current line of a number (its latest generation)."""

    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    def _lines(self, where: Callable[[Row], bool]) -> list[Row]:
        return list(self._tx().scan("subscriptions", where))

    def get(self, msisdn: int) -> SubscriptionRow | None:
        """The current line of an integer MSISDN key (live, or terminated and not issued again)."""
        lines = self._lines(lambda r: r["msisdn"] == msisdn)
        return _subscription(max(lines, key=lambda r: r["generation"])) if lines else None

    def get_by_id(self, subscription_id: int) -> SubscriptionRow | None:
        """One line by its id."""
        row = self._tx().get("subscriptions", subscription_id)
        return None if row is None else _subscription(row)

    def lines_of(self, msisdn: int) -> list[SubscriptionRow]:
        """Every line the number has had, oldest generation first."""
        lines = self._lines(lambda r: r["msisdn"] == msisdn)
        return [_subscription(r) for r in sorted(lines, key=lambda r: r["generation"])]

    def list_by_holder(self, holder_id: int) -> list[SubscriptionRow]:
        """Subscriptions of one holder, by MSISDN."""
        return self.list_by_holders([holder_id])

    def list_by_holders(self, holder_ids: Sequence[int]) -> list[SubscriptionRow]:
        """Subscriptions of several holders, by MSISDN (then generation)."""
        wanted = set(holder_ids)
        lines = self._lines(lambda r: r["holder_id"] in wanted)
        return [_subscription(r) for r in sorted(lines, key=lambda r: (r["msisdn"], r["generation"]))]

    def existing(self, msisdns: Iterable[int]) -> set[int]:
        """Which of these numbers have a live (not terminated) line."""
        wanted = set(msisdns)
        return {r["msisdn"] for r in self._lines(lambda r: r["msisdn"] in wanted and r["status"] != "terminated")}

    def current_lines(self, msisdns: Sequence[int]) -> dict[int, SubscriptionRow]:
        """The current line (latest generation) of each of these numbers that has one."""
        wanted = set(msisdns)
        found: dict[int, Row] = {}
        for row in self._lines(lambda r: r["msisdn"] in wanted):
            best = found.get(row["msisdn"])
            if best is None or best["generation"] < row["generation"]:
                found[row["msisdn"]] = row
        return {k: _subscription(v) for k, v in sorted(found.items())}

    def add(self, row: Mapping[str, Any]) -> int:
        """Insert one line; its id."""
        return int(self._tx().insert("subscriptions", _subscription_values(row)))

    def add_many(self, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        """Insert many (naming the same columns); ids in input order."""
        same_columns(rows)
        return [self.add(r) for r in rows]

    def update(self, subscription_id: int, values: Mapping[str, Any], *, expected_version: int) -> None:
        """Update and bump `version`; ConflictError when the stored version is not `expected_version`."""
        tx = self._tx()
        current = tx.latest("subscriptions", subscription_id)
        if current is None or current["version"] != expected_version:
            raise ConflictError("subscription changed concurrently")
        changes = {**_subscription_values(values), "version": expected_version + 1, "updated_at": tx.db.now()}
        tx.update("subscriptions", subscription_id, {**current, **changes})

    def count(self) -> int:
        """How many subscriptions are stored."""
        return len(self._tx().rows("subscriptions"))

    def examples(self, *, limit: int) -> list[SubscriptionRow]:
        """Up to `limit` active lines, complete and incomplete ones alternately, oldest first (demos)."""
        groups = [
            sorted(self._lines(lambda r, c=complete: r["status"] == "active" and bool(r["complete"]) is c),
                   key=lambda r: r["id"])
            for complete in (True, False)
        ]  # fmt: skip
        out = [group[n] for n in range(max(map(len, groups))) for group in groups if n < len(group)]
        return [_subscription(r) for r in out[:limit]]


class MemoryHolderRepository:
    """Holders: encrypted payloads, found by the blind index of their ID number."""

    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    def get(self, holder_id: int) -> HolderRow | None:
        """One holder."""
        row = self._tx().get("holders", holder_id)
        return None if row is None else _holder(row)

    def find_by_blind(self, id_blind: bytes) -> list[HolderRow]:
        """Holders whose ID number has this blind index (oldest first)."""
        return self.find_many_by_blind([id_blind])

    def find_many_by_blind(self, blinds: Sequence[bytes]) -> list[HolderRow]:
        """Holders for several blind indexes at once (oldest first)."""
        wanted = {bytes(b) for b in blinds}
        return [_holder(r) for r in self._tx().scan("holders", lambda r: r["id_blind"] in wanted)]

    def add(self, row: Mapping[str, Any]) -> int:
        """Insert one holder; its id."""
        values = dict(row)
        for key in ("id_blind", "aad_ref", "wrapped_dek", "payload"):
            if key in values:
                values[key] = _bytes(values[key])
        return int(self._tx().insert("holders", values))

    def add_many(self, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        """Insert many (naming the same columns); ids in input order."""
        same_columns(rows)
        return [self.add(r) for r in rows]

    def update_payload(self, holder_id: int, payload: bytes, *, province_code: str | None) -> None:
        """Replace the encrypted payload (same DEK, fresh nonce)."""
        tx = self._tx()
        tx.update(
            "holders", holder_id, {"payload": bytes(payload), "province_code": province_code, "updated_at": tx.db.now()}
        )

    def shred(self, holder_id: int) -> None:
        """Crypto-shred: forget the wrapped DEK so the payload and images can never be read."""
        tx = self._tx()
        tx.update("holders", holder_id, {"wrapped_dek": None, "updated_at": tx.db.now()})


class MemoryDocumentRepository:
    """Document metadata (bytes live in the blob store)."""

    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    def add(self, row: Mapping[str, Any]) -> int:
        """Insert one document row; its id."""
        return int(self._tx().insert("documents", dict(row)))

    def add_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert many (naming the same columns)."""
        same_columns(rows)
        for row in rows:
            self.add(row)

    def get(self, document_id: int) -> DocumentRow | None:
        """One document row."""
        row = self._tx().get("documents", document_id)
        return None if row is None else _document(row)

    def list_for(self, subscription_id: int) -> list[DocumentRow]:
        """Documents of a line, oldest first."""
        return [_document(r) for r in self._tx().scan("documents", lambda r: r["subscription_id"] == subscription_id)]

    def blob_keys_with_prefix(self, prefix: str) -> set[str]:
        """The blob keys documents reference that start with `prefix` (byte order, as the SQL range scan)."""
        end = prefix + "~"
        return {
            r["blob_key"]
            for r in self._tx().scan("documents", lambda r: r["blob_key"] is not None and prefix <= r["blob_key"] < end)
        }

    def add_portrait_bands(self, document_id: int, digests: Sequence[bytes]) -> None:
        """Store the keyed band digests of a portrait just stored (beside the tables: see `memory.signals`)."""
        from subreg.adapters.memory.signals import bands_of

        bands_of(self._tx())[int(document_id)] = [bytes(d) for d in digests]


def _changes_text(changes: Any) -> str:
    if isinstance(changes, str):
        return changes
    return orjson.dumps(changes or {}, option=orjson.OPT_SORT_KEYS).decode()


class MemoryHistoryRepository:
    """The append-only subscription history: appended and listed, never changed (no method to change it)."""

    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    def append(self, row: Mapping[str, Any]) -> None:
        """Append one entry (`changes` stored as JSON text, as the database keeps it)."""
        values = dict(row)
        values["changes"] = _changes_text(values.get("changes"))
        self._tx().insert("subscription_history", values)

    def append_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Append many (naming the same columns)."""
        same_columns(rows)
        for row in rows:
            self.append(row)

    def list_for(self, subscription_id: int) -> list[HistoryRow]:
        """Entries of a line, oldest first."""
        return [
            HistoryRow(
                id=m["id"],
                subscription_id=m["subscription_id"],
                at=m["at"],
                actor_staff_id=m["actor_staff_id"],
                channel=m["channel"],
                action=m["action"],
                changes=orjson.loads(m["changes"]),
            )
            for m in self._tx().scan("subscription_history", lambda r: r["subscription_id"] == subscription_id)
        ]


class MemoryPointOfSaleRepository:
    """Stores, agents and authorized points."""

    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    def add(self, row: Mapping[str, Any]) -> int:
        """Insert; the id."""
        return int(self._tx().insert("points_of_sale", dict(row)))

    def get_by_code(self, code: str) -> PointOfSaleRow | None:
        """By code."""
        for row in self._tx().scan("points_of_sale", lambda r: r["code"] == code):
            return PointOfSaleRow(**row)
        return None

    def list_all(self) -> list[PointOfSaleRow]:
        """All, by code."""
        return [PointOfSaleRow(**r) for r in sorted(self._tx().scan("points_of_sale"), key=lambda r: r["code"])]


def _staff_row(m: Row) -> StaffRow:
    return StaffRow(
        id=m["id"],
        username=m["username"],
        display_name=m["display_name"],
        role=m["role"],
        point_of_sale_id=m["point_of_sale_id"],
        password_hash=m["password_hash"],
        active=bool(m["active"]),
    )


class MemoryStaffRepository:
    """Staff accounts."""

    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    def add(self, row: Mapping[str, Any]) -> int:
        """Insert; the id."""
        return int(self._tx().insert("staff", dict(row)))

    def get_by_username(self, username: str) -> StaffRow | None:
        """By username."""
        for row in self._tx().scan("staff", lambda r: r["username"] == username):
            return _staff_row(row)
        return None

    def list_all(self) -> list[StaffRow]:
        """All, by username."""
        return [_staff_row(r) for r in sorted(self._tx().scan("staff"), key=lambda r: r["username"])]


class MemoryPeopleRepository:
    """Person keys, document links and the evaluation's dirty set (see services.registry.lines)."""

    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    def person_of_document(self, document_key: bytes) -> bytes | None:
        """The person key a document is linked to, if any."""
        row = self._tx().get("document_links", bytes(document_key))
        return None if row is None else bytes(row["person_key"])

    def persons_of_documents(self, document_keys: Sequence[bytes]) -> dict[bytes, bytes]:
        """document key -> person key, for the linked ones among `document_keys`."""
        tx = self._tx()
        found: dict[bytes, bytes] = {}
        for key in sorted({bytes(k) for k in document_keys}):
            row = tx.get("document_links", key)
            if row is not None:
                found[key] = bytes(row["person_key"])
        return found

    def link(self, document_key: bytes, person_key: bytes) -> int:
        """Record the link (or move it) and move the document's lines to the person; lines moved.

        The lines keep their version and `updated_at`, as the SQL adapter's UPDATE leaves them."""
        tx = self._tx()
        document, person = bytes(document_key), bytes(person_key)
        if not tx.update("document_links", document, {"person_key": person}):
            tx.insert("document_links", {"document_key": document, "person_key": person})
        moving = [r["id"] for r in tx.scan("subscriptions", lambda r: r["person_key"] == document)]
        for line in moving:
            tx.update("subscriptions", line, {"person_key": person})
        return len(moving)

    def lines_of_person(self, person_key: bytes) -> list[SubscriptionRow]:
        """Every line counted towards a person, by number and generation."""
        key = bytes(person_key)
        lines = self._tx().scan("subscriptions", lambda r: r["person_key"] == key)
        return [_subscription(r) for r in sorted(lines, key=lambda r: (r["msisdn"], r["generation"]))]

    def mark_dirty(self, person_keys: Iterable[bytes | None]) -> None:
        """Add people to the evaluation's dirty set (once each)."""
        tx = self._tx()
        for key in sorted({bytes(k) for k in person_keys if k is not None}):
            if tx.get("evaluation_dirty", key) is None:
                tx.insert("evaluation_dirty", {"person_key": key})


class MemoryPortedNumbers:
    """The MNP list: (key, direction) rows; a direction other than `in`/`out` is refused as the CHECK does."""

    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    def directions_of(self, keys: Sequence[int]) -> dict[int, str]:
        """key -> `in` | `out` for the listed numbers among `keys`."""
        tx = self._tx()
        found: dict[int, str] = {}
        for key in set(keys):
            row = tx.get("ported_numbers", int(key))
            if row is not None:
                found[int(key)] = str(row["direction"])
        return found

    def clear(self) -> int:
        """Forget the whole list in this transaction; how many."""
        tx = self._tx()
        keys = [r["msisdn"] for r in tx.scan("ported_numbers")]
        for key in keys:
            tx.delete("ported_numbers", key)
        return len(keys)

    def put_many(self, rows: Sequence[tuple[int, str]], *, loaded_at: datetime) -> None:
        """Record (key, direction) rows; the later of a number listed twice wins."""
        tx = self._tx()
        for key, direction in dict(rows).items():
            if direction not in ("in", "out"):
                raise ConstraintError("CHECK: ported_numbers.direction")
            values = {"direction": direction, "loaded_at": loaded_at}
            if not tx.update("ported_numbers", int(key), values):
                tx.insert("ported_numbers", {"msisdn": int(key), **values})

    def counts(self) -> PortedCounts:
        """Numbers per direction and the latest load."""
        rows = list(self._tx().scan("ported_numbers"))
        return PortedCounts(
            ported_in=sum(r["direction"] == "in" for r in rows),
            ported_out=sum(r["direction"] == "out" for r in rows),
            loaded_at=max((r["loaded_at"] for r in rows), default=None),
        )
