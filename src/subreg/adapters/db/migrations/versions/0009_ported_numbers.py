"""The MNP list: numbers ported in to this operator and out of it.

Revision ID: 0009_ported_numbers
Revises: 0008_login_signed_in
Create Date: 2026-12-03

Since 16/11/2018 a subscriber can keep the number when moving to another operator, so a number's prefix
no longer proves whose it is (docs/rules.md P2). `ported_numbers` holds the national MNP database's export
for this operator, loaded by `subreg numbers load-ported`: `msisdn` is the integer key the subscriptions use
(`84901234567`), `direction` `in` (ported to this operator) or `out` (ported away). Registration, checks and
imports look up only the numbers at hand, by primary key. No rowid on SQLite: the key is the table.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_ported_numbers"
down_revision: str | None = "0008_login_signed_in"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ported_numbers",
        sa.Column("msisdn", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("msisdn", name="pk_ported_numbers"),
        sa.CheckConstraint("direction IN ('in', 'out')", name=op.f("ck_ported_numbers_direction")),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("ported_numbers")
