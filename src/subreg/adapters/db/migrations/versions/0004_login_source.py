"""Sign-in attempts remember where they came from (a keyed hash), for the per-source limit.

Revision ID: 0004_login_source
Revises: 0003_compliance
Create Date: 2026-11-29

`login_attempts.source_hash`: the first 16 bytes of the vault's keyed blind index of the client's
address (domain-separated); an address itself is never stored. Hand-written for SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_login_source"
down_revision: str | None = "0003_compliance"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("login_attempts", sa.Column("source_hash", sa.LargeBinary(16), nullable=True))
    op.create_index("ix_login_attempts_source_hash_at", "login_attempts", ["source_hash", "at"])


def downgrade() -> None:
    op.drop_index("ix_login_attempts_source_hash_at", table_name="login_attempts")
    with op.batch_alter_table("login_attempts") as batch:
        batch.drop_column("source_hash")
