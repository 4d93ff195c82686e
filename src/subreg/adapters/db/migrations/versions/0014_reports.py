"""Reports: daily snapshots, regional managers' provinces, fraud-signal reviews, portrait band hashes.

Revision ID: 0014_reports
Revises: 0013_campaigns
Create Date: 2026-12-08

`report_snapshots` has one row per reported day (unique): when it was taken and under which rule set;
`snapshot_figures` its counts, one row per (dimension, province of the point of sale, key) - a few thousand
rows a day whatever the size of the base, so the dashboard reads months of them in milliseconds. Rows are
never updated: a day is reported again exactly as it was. `staff_provinces` names the provinces a
`regional_manager` account sees. `signal_reviews` is the append-only trail of what compliance officers
decided about each fraud or quality signal (the newest row is the signal's state). `portrait_bands` holds
keyed hashes (HMAC) of the bands of each portrait's perceptual hash: look-alike portraits share a band
digest, and no clear perceptual hash is indexed. `subscription_history.at` is indexed for period reports.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_reports"
down_revision: str | None = "0013_campaigns"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    ts = sa.DateTime(timezone=True)
    op.create_table(
        "report_snapshots",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("rule_set", sa.String(32), nullable=False),
        sa.Column("taken_at", ts, nullable=False),
        sa.Column("figures", sa.Integer, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("id", name="pk_report_snapshots"),
        sa.UniqueConstraint("as_of", name="uq_report_snapshots_as_of"),
    )
    op.create_table(
        "snapshot_figures",
        sa.Column("snapshot_id", sa.Integer, nullable=False),
        sa.Column("dimension", sa.String(24), nullable=False),
        sa.Column("province", sa.String(8), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("n", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("snapshot_id", "dimension", "province", "key", name="pk_snapshot_figures"),
        sa.ForeignKeyConstraint(
            ["snapshot_id"], ["report_snapshots.id"], name="fk_snapshot_figures_snapshot_id_report_snapshots"
        ),
    )
    op.create_table(
        "staff_provinces",
        sa.Column("staff_id", sa.Integer, nullable=False),
        sa.Column("province_code", sa.String(3), nullable=False),
        sa.PrimaryKeyConstraint("staff_id", "province_code", name="pk_staff_provinces"),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name="fk_staff_provinces_staff_id_staff"),
    )
    op.create_table(
        "signal_reviews",
        sa.Column("id", BigId, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("signal_key", sa.String(96), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("staff_id", sa.Integer, nullable=True),
        sa.Column("at", ts, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_signal_reviews"),
    )
    op.create_index("ix_signal_reviews_kind_signal_key", "signal_reviews", ["kind", "signal_key"])
    op.create_table(
        "portrait_bands",
        sa.Column("document_id", sa.BigInteger, nullable=False),
        sa.Column("band", sa.SmallInteger, nullable=False),
        sa.Column("digest", sa.LargeBinary(16), nullable=False),
        sa.PrimaryKeyConstraint("document_id", "band", name="pk_portrait_bands"),
    )
    op.create_index("ix_portrait_bands_digest", "portrait_bands", ["digest"])
    op.create_index("ix_subscription_history_at", "subscription_history", ["at"])


def downgrade() -> None:
    op.drop_index("ix_subscription_history_at", table_name="subscription_history")
    op.drop_index("ix_portrait_bands_digest", table_name="portrait_bands")
    op.drop_table("portrait_bands")
    op.drop_index("ix_signal_reviews_kind_signal_key", table_name="signal_reviews")
    op.drop_table("signal_reviews")
    op.drop_table("staff_provinces")
    op.drop_table("snapshot_figures")
    op.drop_table("report_snapshots")
