"""SQLAlchemy Core repositories. They never commit: the unit of work owns the transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, Row, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from subreg.adapters.db.signal_repo import add_bands
from subreg.adapters.db.tables import (
    document_links,
    documents,
    evaluation_dirty,
    holders,
    points_of_sale,
    staff,
    subscription_history,
    subscriptions,
)
from subreg.domain.common.errors import ConflictError
from subreg.services.access.ports import StaffRow
from subreg.services.registry.ports import (
    DocumentRow,
    HistoryRow,
    HolderRow,
    PointOfSaleRow,
    SubscriptionRow,
)

__all__ = [
    "SqlDocumentRepository",
    "SqlHistoryRepository",
    "SqlHolderRepository",
    "SqlPeopleRepository",
    "SqlPointOfSaleRepository",
    "SqlStaffRepository",
    "SqlSubscriptionRepository",
]

# The statements of the point-of-sale path, built once. A statement object memoizes its cache key:
# built anew per call, SQLAlchemy derives the key again each time (measured on SQLite: a select by key
# 68 -> 16 us, an insert with .values() 118 -> 11 us per row as an executemany).
# The number's current line: its latest generation (live, or terminated and not yet issued again).
_CURRENT_LINE = (
    select(subscriptions)
    .where(subscriptions.c.msisdn == bindparam("key"))
    .order_by(subscriptions.c.generation.desc())
    .limit(1)
)
_LINE_BY_ID = select(subscriptions).where(subscriptions.c.id == bindparam("id"))
_LINES_OF_NUMBER = (
    select(subscriptions).where(subscriptions.c.msisdn == bindparam("key")).order_by(subscriptions.c.generation)
)
_SUBSCRIPTIONS_OF_HOLDERS = (
    select(subscriptions)
    .where(subscriptions.c.holder_id.in_(bindparam("ids", expanding=True)))
    .order_by(subscriptions.c.msisdn, subscriptions.c.generation)
)
_UPDATE_SUBSCRIPTION = (
    update(subscriptions)
    .where(subscriptions.c.id == bindparam("where_id"), subscriptions.c.version == bindparam("where_version"))
    .values(updated_at=func.now())
)  # the other columns' SET comes from the parameters' names
_INSERT_SUBSCRIPTION = insert(subscriptions).returning(subscriptions.c.id)
_HOLDER_BY_ID = select(holders).where(holders.c.id == bindparam("id"))
# One blind index (the counter's case) without an expanding IN: SQLAlchemy re-renders an expanding
# parameter on every execution (~0.4 ms), twice per counter update.
_HOLDERS_BY_ONE_BLIND = select(holders).where(holders.c.id_blind == bindparam("blind")).order_by(holders.c.id)
_HOLDERS_BY_BLIND = (
    select(holders).where(holders.c.id_blind.in_(bindparam("blinds", expanding=True))).order_by(holders.c.id)
)
_INSERT_HOLDER = insert(holders).returning(holders.c.id)
_DOCUMENTS_OF = select(documents).where(documents.c.subscription_id == bindparam("key")).order_by(documents.c.id)
_INSERT_DOCUMENT = insert(documents).returning(documents.c.id)
_POINT_OF_SALE_BY_CODE = select(points_of_sale).where(points_of_sale.c.code == bindparam("code"))

# Bound parameters per IN (...) list: far below SQLite's 32,766 and PostgreSQL's 65,535 limits.
_IN_CHUNK = 5_000


def _chunks(values: Sequence[Any], size: int = _IN_CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(text.split(",")) if text else ()


def _bytes(value: Any) -> bytes | None:
    # psycopg returns memoryview for BYTEA.
    return None if value is None else bytes(value)


def _subscription(row: Row[Any]) -> SubscriptionRow:
    m = row._mapping
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


def _holder(row: Row[Any]) -> HolderRow:
    m = row._mapping
    return HolderRow(
        id=m["id"],
        kind=m["kind"],
        id_type=m["id_type"],
        id_blind=_bytes(m["id_blind"]),
        province_code=m["province_code"],
        aad_ref=bytes(m["aad_ref"]),
        kek_id=m["kek_id"],
        wrapped_dek=_bytes(m["wrapped_dek"]),
        payload=bytes(m["payload"]),
    )


def _subscription_values(row: Mapping[str, Any]) -> dict[str, Any]:
    values = dict(row)
    for key in ("missing", "error_codes"):
        if key in values and not isinstance(values[key], str):
            values[key] = ",".join(values[key])
    return values


def _alternate(first: list[SubscriptionRow], second: list[SubscriptionRow]) -> list[SubscriptionRow]:
    out: list[SubscriptionRow] = []
    for n in range(max(len(first), len(second))):
        out.extend(group[n] for group in (first, second) if n < len(group))
    return out


class SqlSubscriptionRepository:
    """Subscription lines: by id, or the current line of a number (its latest generation)."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def get(self, msisdn: int) -> SubscriptionRow | None:
        """The current line of an integer MSISDN key (live, or terminated and not issued again)."""
        row = self._c.execute(_CURRENT_LINE, {"key": msisdn}).first()
        return None if row is None else _subscription(row)

    def get_by_id(self, subscription_id: int) -> SubscriptionRow | None:
        """One line by its id."""
        row = self._c.execute(_LINE_BY_ID, {"id": subscription_id}).first()
        return None if row is None else _subscription(row)

    def lines_of(self, msisdn: int) -> list[SubscriptionRow]:
        """Every line the number has had, oldest generation first."""
        return [_subscription(r) for r in self._c.execute(_LINES_OF_NUMBER, {"key": msisdn})]

    def list_by_holder(self, holder_id: int) -> list[SubscriptionRow]:
        """Subscriptions of one holder, by MSISDN."""
        return self.list_by_holders([holder_id])

    def list_by_holders(self, holder_ids: Sequence[int]) -> list[SubscriptionRow]:
        """Subscriptions of several holders, by MSISDN."""
        if not holder_ids:
            return []
        found = [
            _subscription(r)
            for c in _chunks(list(holder_ids))
            for r in self._c.execute(_SUBSCRIPTIONS_OF_HOLDERS, {"ids": c})
        ]
        return sorted(found, key=lambda r: (r.msisdn, r.generation))  # chunks are each in order, not together

    def existing(self, msisdns: Iterable[int]) -> set[int]:
        """Which of these numbers have a live (not terminated) line."""
        keys = list(msisdns)
        found: set[int] = set()
        for chunk in _chunks(keys):
            stmt = select(subscriptions.c.msisdn).where(
                subscriptions.c.msisdn.in_(chunk), subscriptions.c.status != "terminated"
            )
            found.update(self._c.execute(stmt).scalars())
        return found

    def current_lines(self, msisdns: Sequence[int]) -> dict[int, SubscriptionRow]:
        """The current line (latest generation) of each of these numbers that has one."""
        found: dict[int, SubscriptionRow] = {}
        for chunk in _chunks(sorted(set(msisdns))):
            for r in self._c.execute(select(subscriptions).where(subscriptions.c.msisdn.in_(chunk))):
                line = _subscription(r)
                if line.msisdn not in found or found[line.msisdn].generation < line.generation:
                    found[line.msisdn] = line
        return found

    def add(self, row: Mapping[str, Any]) -> int:
        """Insert one line; its id."""
        return int(self._c.execute(_INSERT_SUBSCRIPTION, _subscription_values(row)).scalar_one())

    def add_many(self, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        """Insert many with one batched INSERT ... RETURNING; ids in input order."""
        if not rows:
            return []
        stmt = insert(subscriptions).returning(subscriptions.c.id, sort_by_parameter_order=True)
        return [int(i) for i in self._c.execute(stmt, [_subscription_values(r) for r in rows]).scalars()]

    def update(self, subscription_id: int, values: Mapping[str, Any], *, expected_version: int) -> None:
        """Update and bump `version`; ConflictError when the stored version is not `expected_version`."""
        params = {
            **_subscription_values(values), "version": expected_version + 1,
            "where_id": subscription_id, "where_version": expected_version,
        }  # fmt: skip
        if self._c.execute(_UPDATE_SUBSCRIPTION, params).rowcount != 1:
            raise ConflictError("subscription changed concurrently")

    def count(self) -> int:
        """How many subscriptions are stored."""
        return int(self._c.execute(select(func.count()).select_from(subscriptions)).scalar_one())

    def examples(self, *, limit: int) -> list[SubscriptionRow]:
        """Up to `limit` active lines, complete and incomplete ones alternately, oldest first (demos)."""
        s = subscriptions.c
        found = [
            [_subscription(r) for r in self._c.execute(
                select(subscriptions).where(s.status == "active", s.complete == complete).order_by(s.id).limit(limit)
            )]
            for complete in (True, False)
        ]  # fmt: skip
        return _alternate(*found)[:limit]


class SqlHolderRepository:
    """Holders: encrypted payloads, found by the blind index of their ID number."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def get(self, holder_id: int) -> HolderRow | None:
        """One holder."""
        row = self._c.execute(_HOLDER_BY_ID, {"id": holder_id}).first()
        return None if row is None else _holder(row)

    def find_by_blind(self, id_blind: bytes) -> list[HolderRow]:
        """Holders whose ID number has this blind index (oldest first)."""
        return [_holder(r) for r in self._c.execute(_HOLDERS_BY_ONE_BLIND, {"blind": id_blind})]

    def find_many_by_blind(self, blinds: Sequence[bytes]) -> list[HolderRow]:
        """Holders for several blind indexes at once (oldest first)."""
        found: list[HolderRow] = []
        for chunk in _chunks(list(blinds)):
            found.extend(_holder(r) for r in self._c.execute(_HOLDERS_BY_BLIND, {"blinds": chunk}))
        return sorted(found, key=lambda r: r.id)  # oldest first across chunks too

    def add(self, row: Mapping[str, Any]) -> int:
        """Insert one holder; its id."""
        return int(self._c.execute(_INSERT_HOLDER, dict(row)).scalar_one())

    def add_many(self, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        """Insert many with one batched INSERT ... RETURNING; ids in input order."""
        if not rows:
            return []
        stmt = insert(holders).returning(holders.c.id, sort_by_parameter_order=True)
        return [int(i) for i in self._c.execute(stmt, [dict(r) for r in rows]).scalars()]

    def update_payload(self, holder_id: int, payload: bytes, *, province_code: str | None) -> None:
        """Replace the encrypted payload (same DEK, fresh nonce)."""
        self._c.execute(
            update(holders)
            .where(holders.c.id == holder_id)
            .values(payload=payload, province_code=province_code, updated_at=func.now())
        )

    def shred(self, holder_id: int) -> None:
        """Crypto-shred: forget the wrapped DEK so the payload and images can never be read."""
        self._c.execute(
            update(holders).where(holders.c.id == holder_id).values(wrapped_dek=None, updated_at=func.now())
        )


def _document(row: Row[Any]) -> DocumentRow:
    m = row._mapping
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


class SqlDocumentRepository:
    """Document metadata (bytes live in the blob store)."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def add(self, row: Mapping[str, Any]) -> int:
        """Insert one document row; its id."""
        return int(self._c.execute(_INSERT_DOCUMENT, dict(row)).scalar_one())

    def add_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert many."""
        if rows:
            self._c.execute(insert(documents), [dict(r) for r in rows])

    def get(self, document_id: int) -> DocumentRow | None:
        """One document row."""
        row = self._c.execute(select(documents).where(documents.c.id == document_id)).first()
        return None if row is None else _document(row)

    def list_for(self, subscription_id: int) -> list[DocumentRow]:
        """Documents of a line, oldest first."""
        return [_document(r) for r in self._c.execute(_DOCUMENTS_OF, {"key": subscription_id})]

    def blob_keys_with_prefix(self, prefix: str) -> set[str]:
        """The blob keys documents reference that start with `prefix` (an index range scan)."""
        key = documents.c.blob_key
        # Byte order on both databases (keys are [A-Za-z0-9_-]: "~" sorts after all of them).
        ordered = key.collate("C") if self._c.dialect.name == "postgresql" else key
        stmt = select(key).where(ordered >= prefix, ordered < prefix + "~")
        return {str(k) for (k,) in self._c.execute(stmt)}

    def add_portrait_bands(self, document_id: int, digests: Sequence[bytes]) -> None:
        """Store the keyed band digests of a portrait just stored (`portrait_bands`)."""
        add_bands(self._c, document_id, digests)


def _history_values(row: Mapping[str, Any]) -> dict[str, Any]:
    values = dict(row)
    changes = values.get("changes")
    if not isinstance(changes, str):
        values["changes"] = orjson.dumps(changes or {}, option=orjson.OPT_SORT_KEYS).decode()
    return values


class SqlHistoryRepository:
    """The append-only subscription history (the database refuses UPDATE and DELETE)."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def append(self, row: Mapping[str, Any]) -> None:
        """Append one entry."""
        self._c.execute(insert(subscription_history).values(_history_values(row)))

    def append_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Append many."""
        if rows:
            self._c.execute(insert(subscription_history), [_history_values(r) for r in rows])

    def list_for(self, subscription_id: int) -> list[HistoryRow]:
        """Entries of a line, oldest first."""
        stmt = (
            select(subscription_history)
            .where(subscription_history.c.subscription_id == subscription_id)
            .order_by(subscription_history.c.id)
        )
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
            for m in (r._mapping for r in self._c.execute(stmt))
        ]


class SqlPointOfSaleRepository:
    """Stores, agents and authorized points."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def add(self, row: Mapping[str, Any]) -> int:
        """Insert; the id."""
        stmt = insert(points_of_sale).values(dict(row)).returning(points_of_sale.c.id)
        return int(self._c.execute(stmt).scalar_one())

    def get_by_code(self, code: str) -> PointOfSaleRow | None:
        """By code."""
        row = self._c.execute(_POINT_OF_SALE_BY_CODE, {"code": code}).first()
        return None if row is None else PointOfSaleRow(**row._mapping)

    def list_all(self) -> list[PointOfSaleRow]:
        """All, by code."""
        rows = self._c.execute(select(points_of_sale).order_by(points_of_sale.c.code))
        return [PointOfSaleRow(**r._mapping) for r in rows]


class SqlStaffRepository:
    """Staff accounts."""

    _COLUMNS = (
        staff.c.id,
        staff.c.username,
        staff.c.display_name,
        staff.c.role,
        staff.c.point_of_sale_id,
        staff.c.password_hash,
        staff.c.active,
    )

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def add(self, row: Mapping[str, Any]) -> int:
        """Insert; the id."""
        return int(self._c.execute(insert(staff).values(dict(row)).returning(staff.c.id)).scalar_one())

    def get_by_username(self, username: str) -> StaffRow | None:
        """By username."""
        row = self._c.execute(select(*self._COLUMNS).where(staff.c.username == username)).first()
        return None if row is None else StaffRow(**row._mapping)

    def list_all(self) -> list[StaffRow]:
        """All, by username."""
        rows = self._c.execute(select(*self._COLUMNS).order_by(staff.c.username))
        return [StaffRow(**r._mapping) for r in rows]


_LINKED_PERSON = select(document_links.c.person_key).where(document_links.c.document_key == bindparam("key"))
_LINES_OF_PERSON = (
    select(subscriptions)
    .where(subscriptions.c.person_key == bindparam("key"))
    .order_by(subscriptions.c.msisdn, subscriptions.c.generation)
)


class SqlPeopleRepository:
    """Person keys, document links and the evaluation's dirty set (see services.registry.lines)."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def person_of_document(self, document_key: bytes) -> bytes | None:
        """The person key a document is linked to, if any."""
        return _bytes(self._c.execute(_LINKED_PERSON, {"key": document_key}).scalar_one_or_none())

    def persons_of_documents(self, document_keys: Sequence[bytes]) -> dict[bytes, bytes]:
        """document key -> person key, for the linked ones among `document_keys`."""
        found: dict[bytes, bytes] = {}
        for chunk in _chunks(sorted(set(document_keys))):
            stmt = select(document_links).where(document_links.c.document_key.in_(chunk))
            found.update((bytes(r.document_key), bytes(r.person_key)) for r in self._c.execute(stmt))
        return found

    def link(self, document_key: bytes, person_key: bytes) -> int:
        """Record the link (or move it) and move the document's lines to the person; lines moved."""
        if self.person_of_document(document_key) is None:
            self._c.execute(insert(document_links).values(document_key=document_key, person_key=person_key))
        else:
            self._c.execute(
                update(document_links)
                .where(document_links.c.document_key == document_key)
                .values(person_key=person_key)
            )
        moved = self._c.execute(
            update(subscriptions).where(subscriptions.c.person_key == document_key).values(person_key=person_key)
        )
        return int(moved.rowcount)

    def lines_of_person(self, person_key: bytes) -> list[SubscriptionRow]:
        """Every line counted towards a person, by number and generation."""
        return [_subscription(r) for r in self._c.execute(_LINES_OF_PERSON, {"key": person_key})]

    def mark_dirty(self, person_keys: Iterable[bytes | None]) -> None:
        """Add people to the evaluation's dirty set (once each)."""
        keys = sorted({bytes(k) for k in person_keys if k is not None})
        if not keys:
            return
        stmt = (pg_insert if self._c.dialect.name == "postgresql" else sqlite_insert)(evaluation_dirty)
        self._c.execute(stmt.on_conflict_do_nothing(index_elements=["person_key"]), [{"person_key": k} for k in keys])
