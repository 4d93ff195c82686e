"""Privacy and point of sale: staff lockout/TOTP, sessions, login attempts, audit log, DSR, consents,
holder flags, counter transactions, bill payments, network orders.

Revision ID: 0002_privacy
Revises: 0001_initial
Create Date: 2026-11-28

Hand-written for SQLite and PostgreSQL; mirrors `subreg.adapters.db.tables` as of this revision.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_privacy"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _now(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, server_default=sa.func.now())


def _ts(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=True)


def upgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.add_column(sa.Column("failed_logins", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(_ts("locked_until"))
        batch.add_column(sa.Column("totp_secret", sa.LargeBinary, nullable=True))
        batch.add_column(_ts("password_changed_at"))
        batch.add_column(sa.Column("must_change_password", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(_ts("last_login_at"))
    with op.batch_alter_table("holders") as batch:
        batch.add_column(sa.Column("restricted", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("objected", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(_ts("erased_at"))

    op.create_table(
        "auth_sessions",
        sa.Column("id", BigId, nullable=False),
        sa.Column("token_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("staff_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("csrf_hash", sa.LargeBinary(32), nullable=True),
        sa.Column("second_factor", sa.Boolean, nullable=False, server_default=sa.false()),
        _now("created_at"),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        _ts("last_seen_at"),
        _ts("revoked_at"),
        sa.PrimaryKeyConstraint("id", name="pk_auth_sessions"),
        sa.UniqueConstraint("token_hash", name="uq_auth_sessions_token_hash"),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name="fk_auth_sessions_staff_id_staff"),
    )
    op.create_index("ix_auth_sessions_staff_id", "auth_sessions", ["staff_id"])

    op.create_table(
        "login_attempts",
        sa.Column("id", BigId, nullable=False),
        _now("at"),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("staff_id", sa.Integer, nullable=True),
        sa.Column("success", sa.Boolean, nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_login_attempts"),
    )
    op.create_index("ix_login_attempts_username_at", "login_attempts", ["username", "at"])

    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("actor_staff_id", sa.Integer, nullable=True),
        sa.Column("actor_role", sa.String(32), nullable=True),
        sa.Column("point_of_sale_id", sa.Integer, nullable=True),
        sa.Column("action", sa.String(48), nullable=False),
        sa.Column("subject", sa.String(128), nullable=True),
        sa.Column("fields", sa.Text, nullable=False, server_default="[]"),
        sa.Column("purpose", sa.String(32), nullable=True),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("details", sa.Text, nullable=False, server_default="{}"),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_actor_staff_id_at", "audit_log", ["actor_staff_id", "at"])
    op.create_index("ix_audit_log_subject", "audit_log", ["subject"])
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    _append_only("audit_log")

    op.create_table(
        "dsr_requests",
        sa.Column("id", BigId, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("holder_id", BigId, nullable=True),
        sa.Column("status", sa.String(16), nullable=False, server_default="open"),
        _now("received_at"),
        sa.Column("due_on", sa.Date, nullable=False),
        _ts("closed_at"),
        sa.Column("staff_id", sa.Integer, nullable=True),
        sa.Column("outcome", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_dsr_requests"),
        sa.ForeignKeyConstraint(["holder_id"], ["holders.id"], name="fk_dsr_requests_holder_id_holders"),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name="fk_dsr_requests_staff_id_staff"),
    )
    op.create_index("ix_dsr_requests_holder_id", "dsr_requests", ["holder_id"])
    op.create_index("ix_dsr_requests_status_due_on", "dsr_requests", ["status", "due_on"])

    op.create_table(
        "consents",
        sa.Column("id", BigId, nullable=False),
        sa.Column("holder_id", BigId, nullable=False),
        sa.Column("msisdn", sa.BigInteger, nullable=True),
        sa.Column("text_version", sa.String(32), nullable=False),
        sa.Column("text_sha256", sa.String(64), nullable=False),
        sa.Column("accepted", sa.Boolean, nullable=False),
        _now("shown_at"),
        sa.Column("staff_id", sa.Integer, nullable=True),
        sa.Column("point_of_sale_id", sa.Integer, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_consents"),
        sa.ForeignKeyConstraint(["holder_id"], ["holders.id"], name="fk_consents_holder_id_holders"),
    )
    op.create_index("ix_consents_holder_id", "consents", ["holder_id"])

    op.create_table(
        "counter_transactions",
        sa.Column("id", BigId, nullable=False),
        sa.Column("msisdn", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("refusal_code", sa.String(32), nullable=True),
        _now("at"),
        sa.Column("staff_id", sa.Integer, nullable=True),
        sa.Column("point_of_sale_id", sa.Integer, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_counter_transactions"),
    )
    op.create_index("ix_counter_transactions_msisdn", "counter_transactions", ["msisdn"])

    op.create_table(
        "bill_payments",
        sa.Column("id", BigId, nullable=False),
        sa.Column("msisdn", sa.BigInteger, nullable=False),
        sa.Column("amount_vnd", sa.BigInteger, nullable=False),
        sa.Column("reference", sa.String(64), nullable=True),
        _now("paid_at"),
        sa.Column("staff_id", sa.Integer, nullable=True),
        sa.Column("point_of_sale_id", sa.Integer, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_bill_payments"),
    )
    op.create_index("ix_bill_payments_msisdn", "bill_payments", ["msisdn"])

    op.create_table(
        "serving_visits",
        sa.Column("id", BigId, nullable=False),
        sa.Column("msisdn", sa.BigInteger, nullable=False),
        sa.Column("point_of_sale_id", sa.Integer, nullable=False),
        sa.Column("staff_id", sa.Integer, nullable=True),
        _now("opened_at"),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_serving_visits"),
    )
    op.create_index("ix_serving_visits_msisdn_point_of_sale_id", "serving_visits", ["msisdn", "point_of_sale_id"])

    op.create_table(
        "network_orders",
        sa.Column("id", BigId, nullable=False),
        sa.Column("msisdn", sa.BigInteger, nullable=False),
        sa.Column("action", sa.String(24), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="queued"),
        sa.Column("reason", sa.String(48), nullable=False),
        _now("created_at"),
        sa.Column("created_by_staff_id", sa.Integer, nullable=True),
        _ts("processed_at"),
        sa.Column("priority", sa.SmallInteger, nullable=False, server_default="5"),
        sa.PrimaryKeyConstraint("id", name="pk_network_orders"),
    )
    op.create_index("ix_network_orders_status_priority_id", "network_orders", ["status", "priority", "id"])
    op.create_index("ix_network_orders_msisdn", "network_orders", ["msisdn"])


def _append_only(table: str) -> None:
    """Refuse UPDATE and DELETE on `table` whoever connects (the hash chain still detects a bypass)."""
    dialect = op.get_context().dialect.name
    if dialect == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )
    elif dialect == "postgresql":
        # The function from 0001 names subscription_history in its message; this one is generic.
        op.execute(
            "CREATE FUNCTION subreg_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME "
            "USING ERRCODE = 'insufficient_privilege'; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION subreg_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION subreg_append_only()"
        )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS subreg_append_only()")
    for table in (
        "serving_visits",
        "network_orders",
        "bill_payments",
        "counter_transactions",
        "consents",
        "dsr_requests",
        "audit_log",
        "login_attempts",
        "auth_sessions",
    ):
        op.drop_table(table)
    with op.batch_alter_table("holders") as batch:
        for column in ("erased_at", "objected", "restricted"):
            batch.drop_column(column)
    with op.batch_alter_table("staff") as batch:
        for column in (
            "last_login_at",
            "must_change_password",
            "password_changed_at",
            "totp_secret",
            "locked_until",
            "failed_logins",
        ):
            batch.drop_column(column)
