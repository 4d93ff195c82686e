"""Back office: the provenance of values filled without the subscriber, the back-office work queue, the
supervisor review queue.

Revision ID: 0015_backoffice
Revises: 0014_reports
Create Date: 2026-12-08

`field_provenance` says where each value filled by subreg or by back-office staff came from (the rule or the
reading: derivation, QR, MRZ, OCR; the source document; the confidence of a reading; who, when): append-only,
no value in it (values live sealed in the holder's payload). `backoffice_items` is the work queue of lines whose
missing fields can be read from stored scans, oldest enforcement deadline first; `review_items` the supervisor's
queue of flagged registrations and updates. Both are claimed with a lease (`claimed_by`, `claimed_until`: one
member of staff holds an item, the next one gets the next item) and remember the line's version when queued,
so a line changed meanwhile is shown as it is now and nothing is overwritten.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_backoffice"
down_revision: str | None = "0014_reports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    ts = sa.DateTime(timezone=True)
    op.create_table(
        "field_provenance",
        sa.Column("id", BigId, nullable=False),
        sa.Column("subscription_id", sa.BigInteger, nullable=False),
        sa.Column("path", sa.String(64), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("rule", sa.String(48), nullable=True),
        sa.Column("source", sa.String(64), nullable=True),
        sa.Column("confidence", sa.Float, nullable=True),
        sa.Column("staff_id", sa.Integer, nullable=True),
        sa.Column("at", ts, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_field_provenance"),
    )
    op.create_index("ix_field_provenance_subscription_id", "field_provenance", ["subscription_id"])
    op.create_table(
        "backoffice_items",
        sa.Column("id", BigId, nullable=False),
        sa.Column("subscription_id", sa.BigInteger, nullable=False),
        sa.Column("missing", sa.Text, nullable=False, server_default=""),
        sa.Column("deadline", sa.Date, nullable=True),
        sa.Column("state", sa.String(12), nullable=False, server_default="open"),
        sa.Column("version_seen", sa.Integer, nullable=False),
        sa.Column("claimed_by", sa.Integer, nullable=True),
        sa.Column("claimed_until", ts, nullable=True),
        sa.Column("outcome", sa.String(24), nullable=True),
        sa.Column("done_by", sa.Integer, nullable=True),
        sa.Column("done_at", ts, nullable=True),
        sa.Column("created_at", ts, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_backoffice_items"),
    )
    op.create_index("ix_backoffice_items_state_deadline_id", "backoffice_items", ["state", "deadline", "id"])
    op.create_index("ix_backoffice_items_subscription_id", "backoffice_items", ["subscription_id"])
    op.create_table(
        "review_items",
        sa.Column("id", BigId, nullable=False),
        sa.Column("subscription_id", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("flags", sa.Text, nullable=False, server_default=""),
        sa.Column("state", sa.String(12), nullable=False, server_default="pending"),
        sa.Column("version_seen", sa.Integer, nullable=False),
        sa.Column("point_of_sale_id", sa.Integer, nullable=True),
        sa.Column("submitted_by", sa.Integer, nullable=True),
        sa.Column("claimed_by", sa.Integer, nullable=True),
        sa.Column("claimed_until", ts, nullable=True),
        sa.Column("decision", sa.String(16), nullable=True),
        sa.Column("reason", sa.String(32), nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("decided_by", sa.Integer, nullable=True),
        sa.Column("decided_at", ts, nullable=True),
        sa.Column("created_at", ts, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_review_items"),
    )
    op.create_index("ix_review_items_state_created_at", "review_items", ["state", "created_at"])
    op.create_index("ix_review_items_subscription_id", "review_items", ["subscription_id"])


def downgrade() -> None:
    op.drop_index("ix_review_items_subscription_id", table_name="review_items")
    op.drop_index("ix_review_items_state_created_at", table_name="review_items")
    op.drop_table("review_items")
    op.drop_index("ix_backoffice_items_subscription_id", table_name="backoffice_items")
    op.drop_index("ix_backoffice_items_state_deadline_id", table_name="backoffice_items")
    op.drop_table("backoffice_items")
    op.drop_index("ix_field_provenance_subscription_id", table_name="field_provenance")
    op.drop_table("field_provenance")
