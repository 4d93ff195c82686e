"""Initial schema: points of sale, staff, keys, holders, subscriptions, documents, history.

Revision ID: 0001_initial
Revises:
Create Date: 2025-01-01

Hand-written to run on SQLite and PostgreSQL alike; mirrors `subreg.adapters.db.tables` (a migration
keeps its own copy of the schema so that later changes to tables.py cannot rewrite history).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    op.create_table(
        "points_of_sale",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("province_code", sa.String(3), nullable=True),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.PrimaryKeyConstraint("id", name="pk_points_of_sale"),
        sa.UniqueConstraint("code", name="uq_points_of_sale_code"),
    )
    op.create_table(
        "staff",
        sa.Column("id", sa.Integer),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("point_of_sale_id", sa.Integer, nullable=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_staff"),
        sa.UniqueConstraint("username", name="uq_staff_username"),
        sa.ForeignKeyConstraint(
            ["point_of_sale_id"], ["points_of_sale.id"], name="fk_staff_point_of_sale_id_points_of_sale"
        ),
    )
    op.create_table(
        "key_encryption_keys",
        sa.Column("id", sa.Integer),
        sa.Column("wrapped_key", sa.LargeBinary, nullable=False),
        sa.Column("master_key_id", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        _ts("created_at"),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.PrimaryKeyConstraint("id", name="pk_key_encryption_keys"),
    )
    op.create_table(
        "holders",
        sa.Column("id", BigId),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("id_type", sa.String(16), nullable=True),
        sa.Column("id_blind", sa.LargeBinary(32), nullable=True),
        sa.Column("province_code", sa.String(3), nullable=True),
        sa.Column("aad_ref", sa.LargeBinary(16), nullable=False),
        sa.Column("kek_id", sa.Integer, nullable=False),
        sa.Column("wrapped_dek", sa.LargeBinary, nullable=True),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_holders"),
        sa.ForeignKeyConstraint(["kek_id"], ["key_encryption_keys.id"], name="fk_holders_kek_id_key_encryption_keys"),
    )
    op.create_index("ix_holders_id_blind", "holders", ["id_blind"])
    op.create_table(
        "subscriptions",
        sa.Column("msisdn", sa.BigInteger, autoincrement=False),
        sa.Column("holder_id", BigId, nullable=False),
        sa.Column("subscriber_type", sa.String(16), nullable=True),
        sa.Column("payment_type", sa.String(16), nullable=True),
        sa.Column("activated_on", sa.Date, nullable=True),
        sa.Column("channel", sa.String(24), nullable=True),
        sa.Column("point_of_sale_id", sa.Integer, nullable=True),
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
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("msisdn", name="pk_subscriptions"),
        sa.ForeignKeyConstraint(["holder_id"], ["holders.id"], name="fk_subscriptions_holder_id_holders"),
        sa.ForeignKeyConstraint(
            ["point_of_sale_id"],
            ["points_of_sale.id"],
            name="fk_subscriptions_point_of_sale_id_points_of_sale",
        ),
    )
    op.create_index("ix_subscriptions_holder_id", "subscriptions", ["holder_id"])
    op.create_table(
        "documents",
        sa.Column("id", BigId),
        sa.Column("msisdn", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("blob_key", sa.String(64), nullable=True),
        sa.Column("external_ref", sa.String(256), nullable=True),
        sa.Column("content_type", sa.String(64), nullable=True),
        sa.Column("size", sa.Integer, nullable=True),
        _ts("created_at"),
        sa.Column("created_by_staff_id", sa.Integer, nullable=True),
        sa.Column("point_of_sale_id", sa.Integer, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_documents"),
        sa.ForeignKeyConstraint(["msisdn"], ["subscriptions.msisdn"], name="fk_documents_msisdn_subscriptions"),
        sa.ForeignKeyConstraint(["created_by_staff_id"], ["staff.id"], name="fk_documents_created_by_staff_id_staff"),
        sa.ForeignKeyConstraint(
            ["point_of_sale_id"], ["points_of_sale.id"], name="fk_documents_point_of_sale_id_points_of_sale"
        ),
    )
    op.create_index("ix_documents_msisdn", "documents", ["msisdn"])
    op.create_table(
        "subscription_history",
        sa.Column("id", BigId),
        sa.Column("msisdn", sa.BigInteger, nullable=False),
        _ts("at"),
        sa.Column("actor_staff_id", sa.Integer, nullable=True),
        sa.Column("channel", sa.String(24), nullable=True),
        sa.Column("action", sa.String(24), nullable=False),
        sa.Column("changes", sa.Text, nullable=False, server_default="{}"),
        sa.PrimaryKeyConstraint("id", name="pk_subscription_history"),
    )
    op.create_index("ix_subscription_history_msisdn", "subscription_history", ["msisdn"])
    _create_append_only_triggers()


def _create_append_only_triggers() -> None:
    """Refuse UPDATE and DELETE on subscription_history, whoever connects (not only this application)."""
    dialect = op.get_context().dialect.name
    if dialect == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER subscription_history_no_{verb.lower()} "
                f"BEFORE {verb} ON subscription_history "
                "BEGIN SELECT RAISE(ABORT, 'subscription_history is append-only'); END"
            )
    elif dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION subreg_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'subscription_history is append-only' "
            "USING ERRCODE = 'insufficient_privilege'; END $$"
        )
        op.execute(
            "CREATE TRIGGER subscription_history_append_only BEFORE UPDATE OR DELETE ON subscription_history "
            "FOR EACH ROW EXECUTE FUNCTION subreg_history_append_only()"
        )
        # TRUNCATE bypasses row triggers, so it gets its own statement-level one.
        op.execute(
            "CREATE TRIGGER subscription_history_no_truncate BEFORE TRUNCATE ON subscription_history "
            "FOR EACH STATEMENT EXECUTE FUNCTION subreg_history_append_only()"
        )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS subscription_history_no_truncate ON subscription_history")
        op.execute("DROP TRIGGER IF EXISTS subscription_history_append_only ON subscription_history")
        op.execute("DROP FUNCTION IF EXISTS subreg_history_append_only()")
    for table in (
        "subscription_history",
        "documents",
        "subscriptions",
        "holders",
        "key_encryption_keys",
        "staff",
    ):
        op.drop_table(table)
    op.drop_table("points_of_sale")
