"""A subscription is a LINE with an identity of its own, which survives a new owner of its number.

Revision ID: 0006_subscription_lines
Revises: 0005_document_blob_key
Create Date: 2026-12-02

A number terminated for missing information is reclaimed and later issued to a new holder: the new
subscription is a new line (`generation` + 1) with a new `id`, and the old line keeps its history,
documents, counter transactions, network orders and audit entries. Every table that described a
subscription by its number (`msisdn`) now refers to the line (`subscription_id`).

The migration is cheap on a large base: each existing line takes its number as its id (numbers are
unique until now, so the child rows' `msisdn` values already ARE the new line ids: the child columns
are only renamed, no row is rewritten). New lines take ids from 10^11 upwards on PostgreSQL (above any
Vietnamese E.164 number, 84 followed by 9 digits), and max(id) + 1 on SQLite, where `id` is the rowid.
Ids are opaque: nothing may read a number out of them. On SQLite the subscriptions table is rebuilt
(an INTEGER PRIMARY KEY is the rowid: no second B-tree over the key).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_subscription_lines"
down_revision: str | None = "0005_document_blob_key"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FIRST_NEW_ID = 100_000_000_000  # above every E.164 number of Vietnam (84 + 9 digits)

# (table, its index over the number that becomes an index over the line)
_CHILDREN = (
    ("documents", "ix_documents_msisdn", "ix_documents_subscription_id"),
    ("subscription_history", "ix_subscription_history_msisdn", "ix_subscription_history_subscription_id"),
    ("counter_transactions", "ix_counter_transactions_msisdn", "ix_counter_transactions_subscription_id"),
    ("bill_payments", "ix_bill_payments_msisdn", "ix_bill_payments_subscription_id"),
    ("network_orders", "ix_network_orders_msisdn", "ix_network_orders_subscription_id"),
    (
        "serving_visits",
        "ix_serving_visits_msisdn_point_of_sale_id",
        "ix_serving_visits_subscription_id_point_of_sale_id",
    ),
    ("consents", None, None),
)

_STATS_INDEX = (
    "state", "subscriber_type", "payment_type", "channel", "province_code", "missing_mask", "phase", "activated_on",
)  # fmt: skip

_SUBSCRIPTION_COLUMNS = (
    "holder_id", "subscriber_type", "payment_type", "activated_on", "channel", "point_of_sale_id", "point_of_sale_code",
    "contract_number", "purpose", "status", "complete", "missing", "error_codes", "rule_set", "evaluated_on",
    "version", "created_at", "updated_at", "state", "phase", "missing_mask", "has_contract", "contract_needed",
    "province_code", "source_hash", "document_refs",
)  # fmt: skip


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql()
    else:
        _upgrade_sqlite()


def _rename_children(rename_index: bool) -> None:
    for table, old_index, new_index in _CHILDREN:
        op.execute(f"ALTER TABLE {table} RENAME COLUMN msisdn TO subscription_id")
        if old_index and rename_index:
            op.execute(f"ALTER INDEX {old_index} RENAME TO {new_index}")


def _upgrade_postgresql() -> None:
    op.execute("ALTER TABLE documents DROP CONSTRAINT fk_documents_msisdn_subscriptions")
    op.execute("ALTER TABLE subscriptions RENAME COLUMN msisdn TO id")
    op.execute("ALTER TABLE subscriptions ADD COLUMN msisdn BIGINT")
    op.execute("UPDATE subscriptions SET msisdn = id")
    op.execute("ALTER TABLE subscriptions ALTER COLUMN msisdn SET NOT NULL")
    op.execute("ALTER TABLE subscriptions ADD COLUMN generation SMALLINT NOT NULL DEFAULT 1")
    op.execute(f"CREATE SEQUENCE subscriptions_id_seq START WITH {FIRST_NEW_ID} OWNED BY subscriptions.id")
    op.execute("ALTER TABLE subscriptions ALTER COLUMN id SET DEFAULT nextval('subscriptions_id_seq')")
    op.create_index("uq_subscriptions_msisdn_generation", "subscriptions", ["msisdn", "generation"], unique=True)
    _rename_children(rename_index=True)
    op.create_foreign_key(
        "fk_documents_subscription_id_subscriptions", "documents", "subscriptions", ["subscription_id"], ["id"]
    )


def _upgrade_sqlite() -> None:
    # SQLite cannot change a primary key in place: subscriptions, and documents (the one table with a foreign
    # key to it), are rebuilt side by side, then swapped. Child tables go first, so dropping a parent never
    # leaves a row pointing nowhere (a deferred check would not see the rows come back under the new table).
    for table, old_index, _new_index in _CHILDREN:
        if table != "documents":
            op.execute(f"ALTER TABLE {table} RENAME COLUMN msisdn TO subscription_id")
        if old_index:
            op.execute(f"DROP INDEX IF EXISTS {old_index}")
    op.create_table(
        "subscriptions_new",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("msisdn", sa.BigInteger, nullable=False),
        sa.Column("generation", sa.SmallInteger, nullable=False, server_default="1"),
        sa.Column(
            "holder_id",
            sa.Integer,
            sa.ForeignKey("holders.id", name="fk_subscriptions_holder_id_holders"),
            nullable=False,
        ),
        sa.Column("subscriber_type", sa.String(16), nullable=True),
        sa.Column("payment_type", sa.String(16), nullable=True),
        sa.Column("activated_on", sa.Date, nullable=True),
        sa.Column("channel", sa.String(24), nullable=True),
        sa.Column(
            "point_of_sale_id",
            sa.Integer,
            sa.ForeignKey("points_of_sale.id", name="fk_subscriptions_point_of_sale_id_points_of_sale"),
            nullable=True,
        ),
        sa.Column("point_of_sale_code", sa.String(32), nullable=True),
        sa.Column("contract_number", sa.String(64), nullable=True),
        sa.Column("purpose", sa.String(24), nullable=True),
        sa.Column("status", sa.String(16), nullable=False, server_default="active"),
        sa.Column("complete", sa.Boolean, nullable=False),
        sa.Column("missing", sa.Text, nullable=False, server_default=""),
        sa.Column("error_codes", sa.Text, nullable=False, server_default=""),
        sa.Column("rule_set", sa.String(32), nullable=False),
        sa.Column("evaluated_on", sa.Date, nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("state", sa.SmallInteger, nullable=True),
        sa.Column("phase", sa.SmallInteger, nullable=True),
        sa.Column("missing_mask", sa.BigInteger, nullable=True),
        sa.Column("has_contract", sa.Boolean, nullable=True),
        sa.Column("contract_needed", sa.Boolean, nullable=True),
        sa.Column("province_code", sa.String(3), nullable=True),
        sa.Column("source_hash", sa.LargeBinary(16), nullable=True),
        sa.Column("document_refs", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_subscriptions"),
    )
    op.create_table(
        "documents_new",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column(
            "subscription_id",
            sa.BigInteger,
            sa.ForeignKey("subscriptions_new.id", name="fk_documents_subscription_id_subscriptions"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("blob_key", sa.String(64), nullable=True),
        sa.Column("external_ref", sa.String(256), nullable=True),
        sa.Column("content_type", sa.String(64), nullable=True),
        sa.Column("size", sa.Integer, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column(
            "created_by_staff_id",
            sa.Integer,
            sa.ForeignKey("staff.id", name="fk_documents_created_by_staff_id_staff"),
            nullable=True,
        ),
        sa.Column(
            "point_of_sale_id",
            sa.Integer,
            sa.ForeignKey("points_of_sale.id", name="fk_documents_point_of_sale_id_points_of_sale"),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name="pk_documents"),
    )
    columns = ", ".join(_SUBSCRIPTION_COLUMNS)
    copy = f"INSERT INTO subscriptions_new (id, msisdn, generation, {columns}) SELECT msisdn, msisdn, 1, {columns} FROM subscriptions"  # noqa: S608,E501 - column names from this module
    op.execute(copy)
    op.execute(
        "INSERT INTO documents_new (id, subscription_id, kind, blob_key, external_ref, content_type, size, created_at, "
        "created_by_staff_id, point_of_sale_id) SELECT id, msisdn, kind, blob_key, external_ref, content_type, size, "
        "created_at, created_by_staff_id, point_of_sale_id FROM documents"
    )
    op.execute("DROP TABLE documents")
    op.execute("DROP TABLE subscriptions")
    # Renaming a table rewrites the foreign keys that name it: documents_new then points at `subscriptions`.
    op.execute("ALTER TABLE subscriptions_new RENAME TO subscriptions")
    op.execute("ALTER TABLE documents_new RENAME TO documents")
    op.create_index("ix_subscriptions_holder_id", "subscriptions", ["holder_id"])
    op.create_index("uq_subscriptions_msisdn_generation", "subscriptions", ["msisdn", "generation"], unique=True)
    op.create_index("ix_subscriptions_stats", "subscriptions", list(_STATS_INDEX))
    op.create_index("ix_documents_subscription_id", "documents", ["subscription_id"])
    op.create_index("ix_documents_blob_key", "documents", ["blob_key"], unique=True)
    op.create_index("ix_subscription_history_subscription_id", "subscription_history", ["subscription_id"])
    op.create_index("ix_counter_transactions_subscription_id", "counter_transactions", ["subscription_id"])
    op.create_index("ix_bill_payments_subscription_id", "bill_payments", ["subscription_id"])
    op.create_index("ix_network_orders_subscription_id", "network_orders", ["subscription_id"])
    op.create_index(
        "ix_serving_visits_subscription_id_point_of_sale_id", "serving_visits", ["subscription_id", "point_of_sale_id"]
    )


def downgrade() -> None:
    raise NotImplementedError("a number issued to several holders cannot be keyed by the number again")
