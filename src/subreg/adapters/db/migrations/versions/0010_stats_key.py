"""SQLite: `subscriptions.stats_key`, the statistics dimensions packed into one integer, and its index.

Revision ID: 0010_stats_key
Revises: 0009_ported_numbers
Create Date: 2026-12-02

`subreg stats` grouped 10 M lines by seven columns of `ix_subscriptions_stats` (1.8 s on the CI machine,
3x the bare `GROUP BY verdict`); grouped by one integer and the missing-items mask it takes about as long
as the bare query (`adapters/db/stats_key.py`). The column is VIRTUAL and generated (SQLite 3.31+): no
writer computes it, adding it rewrites nothing, and the new index replaces the old one (same width of
work for writers). `activated_on` stays in the index for `stats --phase-reference`. PostgreSQL groups by
the columns (a parallel hash aggregate) and is unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010_stats_key"
down_revision: str | None = "0009_ported_numbers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of adapters/db/stats_key.SQL at this revision (tests/integration check they agree).
STATS_KEY_SQL = (
    "coalesce(verdict, 7) + 8 * (CASE subscriber_type WHEN 'individual' THEN 1 WHEN 'organization' THEN 2 "
    "ELSE 0 END) + 32 * (CASE payment_type WHEN 'prepaid' THEN 1 WHEN 'postpaid' THEN 2 ELSE 0 END) + 128 * "
    "(CASE channel WHEN 'store' THEN 1 WHEN 'agent' THEN 2 WHEN 'authorized_point' THEN 3 WHEN 'mobile_point' "
    "THEN 4 WHEN 'self_service' THEN 5 WHEN 'legacy_import' THEN 6 ELSE 0 END) + 2048 * coalesce(phase, 3) + "
    "8192 * coalesce(CAST(province_code AS INTEGER), 1023)"
)
_OLD_STATS_INDEX = "verdict, subscriber_type, payment_type, channel, province_code, missing_mask, phase, activated_on"


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP INDEX IF EXISTS ix_subscriptions_stats")
    op.execute(f"ALTER TABLE subscriptions ADD COLUMN stats_key INTEGER GENERATED ALWAYS AS ({STATS_KEY_SQL}) VIRTUAL")
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_subscriptions_stats_key ON subscriptions (stats_key, missing_mask, activated_on)"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP INDEX IF EXISTS ix_subscriptions_stats_key")
    op.execute("ALTER TABLE subscriptions DROP COLUMN stats_key")
    op.execute(f"CREATE INDEX IF NOT EXISTS ix_subscriptions_stats ON subscriptions ({_OLD_STATS_INDEX})")
