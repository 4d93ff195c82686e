"""A partial index on successful sign-ins: may this account still sign in from an address that is held back?

Revision ID: 0008_login_signed_in
Revises: 0007_incremental_evaluation
Create Date: 2026-12-02

`login_attempts (staff_id, source_hash, at) WHERE success`: an address that failed too often waits, except
for accounts that signed in from it lately (a store's tablets behind one NAT). The index holds successes
only, a few per account and day, so the question is one probe however many failures an attacker has
added from that address. Partial indexes exist on SQLite (3.8) and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_login_signed_in"
down_revision: str | None = "0007_incremental_evaluation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_login_attempts_signed_in",
        "login_attempts",
        ["staff_id", "source_hash", "at"],
        sqlite_where=sa.text("success = 1"),
        postgresql_where=sa.text("success = true"),
    )


def downgrade() -> None:
    op.drop_index("ix_login_attempts_signed_in", table_name="login_attempts")
