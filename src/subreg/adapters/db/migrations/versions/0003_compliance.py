"""Compliance at scale: evaluation columns on subscriptions, resumable bulk imports.

Revision ID: 0003_compliance
Revises: 0002_privacy
Create Date: 2026-11-29

Hand-written for SQLite and PostgreSQL; mirrors `subreg.adapters.db.tables` as of this revision.
On SQLite, `ix_subscriptions_stats` is a covering index in the order of `subreg stats`' GROUP BY:
SQLite then groups while scanning the (narrow) index, without sorting 10 M rows. PostgreSQL does not
get it: a parallel sequential scan with hash aggregation is as fast, and the index would cost every
row of a bulk import (COPY) for nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_compliance"
down_revision: str | None = "0002_privacy"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NEW_COLUMNS = (
    ("state", sa.SmallInteger),
    ("phase", sa.SmallInteger),
    ("missing_mask", sa.BigInteger),
    ("has_contract", sa.Boolean),
    ("contract_needed", sa.Boolean),
    ("province_code", lambda: sa.String(3)),
    ("source_hash", lambda: sa.LargeBinary(16)),
    ("document_refs", sa.Text),
)


STATS_INDEX = (
    "state", "subscriber_type", "payment_type", "channel", "province_code", "missing_mask", "phase", "activated_on",
)  # fmt: skip


def upgrade() -> None:
    # Plain ADD COLUMN (nullable, no default) on both backends: no table rewrite, instant on 60 M rows.
    for name, kind in _NEW_COLUMNS:
        op.add_column("subscriptions", sa.Column(name, kind(), nullable=True))
    op.create_table(
        "import_runs",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="running"),
        sa.Column("next_offset", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("next_line", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("reject_bytes", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("counts", sa.Text, nullable=False, server_default="{}"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_import_runs"),
    )
    op.create_index("ix_import_runs_fingerprint_status", "import_runs", ["fingerprint", "status"])
    if op.get_bind().dialect.name == "sqlite":
        op.create_index("ix_subscriptions_stats", "subscriptions", list(STATS_INDEX))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.drop_index("ix_subscriptions_stats", table_name="subscriptions")
    op.drop_index("ix_import_runs_fingerprint_status", table_name="import_runs")
    op.drop_table("import_runs")
    with op.batch_alter_table("subscriptions") as batch:
        for name, _kind in reversed(_NEW_COLUMNS):
            batch.drop_column(name)
