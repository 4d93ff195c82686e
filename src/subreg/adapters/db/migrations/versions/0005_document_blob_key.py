"""A unique index on `documents.blob_key`: the blob sweeper asks which keys of one directory are referenced.

Revision ID: 0005_document_blob_key
Revises: 0004_login_source
Create Date: 2026-11-29

Unique as well: a blob key is random and must never name two documents. Only the point of sale writes
document rows (a few per update), so the index costs nothing measurable. SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_document_blob_key"
down_revision: str | None = "0004_login_source"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # Byte order ("C"), as SQLite compares text: the sweeper's range per key prefix can use the index.
        op.create_index("ix_documents_blob_key", "documents", [sa.text('blob_key COLLATE "C"')], unique=True)
    else:
        op.create_index("ix_documents_blob_key", "documents", ["blob_key"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_documents_blob_key", table_name="documents")
