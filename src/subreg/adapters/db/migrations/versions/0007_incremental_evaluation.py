"""Incremental evaluation: the verdict apart from the 4th-subscription rule, dates at which answers change,
the person a line counts towards, and the set of people whose lines changed.

Revision ID: 0007_incremental_evaluation
Revises: 0006_subscription_lines
Create Date: 2026-12-02

- `subscriptions.state` becomes `verdict`: the rule set's answer on the line's own papers (0 complete,
  1 incomplete, 3 invalid), written by whoever writes the line. The 4th-subscription rule stays in
  `contract_needed`, which only the evaluation changes: flipping it no longer rewrites the statistics
  index (at 10 M lines a fresh load flips ~2 M of them). A line's compliance state is computed from both
  (`domain.compliance.state.state_of`).
- `valid_until`: the first day on which the verdict can change by itself (a document expiring, a holder
  turning 14), rounded down to the Monday of its week so that the clear column does not carry a birth
  date; the daily evaluation re-checks the lines it reaches, through a partial index.
- `person_key`: the blind index the line counts towards for the 4th-subscription rule: the holder's
  document key, or the previous CMND's when the card's QR code names one (so 3 lines on the CMND and 3 on
  the new CCCD are one person's 6). A keyed HMAC, not personal data.
- `document_links`: a document known to belong to a person counted under another key (a CCCD whose QR
  code names the previous CMND): lines stored later on that document count towards the same person.
- `evaluation_dirty`: people (person keys) whose active lines changed since the last evaluation,
  written in the same transaction as the change; `evaluation_runs`: what each evaluation did.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_incremental_evaluation"
down_revision: str | None = "0006_subscription_lines"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATS_INDEX = (
    "verdict", "subscriber_type", "payment_type", "channel", "province_code", "missing_mask", "phase", "activated_on",
)  # fmt: skip


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("DROP INDEX IF EXISTS ix_subscriptions_stats")
    op.execute("ALTER TABLE subscriptions RENAME COLUMN state TO verdict")
    # Lines the evaluation had marked "contract needed" (2) keep that in contract_needed; their verdict is
    # recomputed by the first evaluation under the new rule set (every stored verdict is re-checked then).
    op.add_column("subscriptions", sa.Column("valid_until", sa.Date, nullable=True))
    op.add_column("subscriptions", sa.Column("person_key", sa.LargeBinary(32), nullable=True))
    # One pass over the table (each row rewritten once).
    op.execute(
        "UPDATE subscriptions SET verdict = CASE WHEN error_codes <> '' THEN 3 WHEN complete THEN 0 ELSE 1 END, "
        "person_key = (SELECT h.id_blind FROM holders h WHERE h.id = subscriptions.holder_id)"
    )
    op.create_index(
        "ix_subscriptions_valid_until",
        "subscriptions",
        ["valid_until"],
        sqlite_where=sa.text("valid_until IS NOT NULL"),
        postgresql_where=sa.text("valid_until IS NOT NULL"),
    )
    op.create_index("ix_subscriptions_person_key", "subscriptions", ["person_key"])
    # The few lines needing their 4th-subscription contract, by verdict: what statistics add to the verdicts.
    op.create_index(
        "ix_subscriptions_contract_needed",
        "subscriptions",
        ["verdict"],
        sqlite_where=sa.text("contract_needed"),
        postgresql_where=sa.text("contract_needed"),
    )
    if sqlite:
        op.create_index("ix_subscriptions_stats", "subscriptions", list(_STATS_INDEX))
    op.create_table(
        "document_links",
        sa.Column("document_key", sa.LargeBinary(32), nullable=False),
        sa.Column("person_key", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("document_key", name="pk_document_links"),
    )
    op.create_table(
        "evaluation_dirty",
        sa.Column("person_key", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("person_key", name="pk_evaluation_dirty"),
    )
    op.create_table(
        "evaluation_runs",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("phase_reference", sa.Date, nullable=False),
        sa.Column("rule_set", sa.String(32), nullable=False),
        sa.Column("full", sa.Boolean, nullable=False),
        sa.Column("report", sa.Text, nullable=False, server_default="{}"),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_evaluation_runs"),
    )


def downgrade() -> None:
    op.drop_table("evaluation_runs")
    op.drop_table("evaluation_dirty")
    op.drop_table("document_links")
    op.drop_index("ix_subscriptions_contract_needed", table_name="subscriptions")
    op.drop_index("ix_subscriptions_person_key", table_name="subscriptions")
    op.drop_index("ix_subscriptions_valid_until", table_name="subscriptions")
    if op.get_bind().dialect.name == "sqlite":
        op.drop_index("ix_subscriptions_stats", table_name="subscriptions")
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("person_key")
        batch.drop_column("valid_until")
    op.execute("ALTER TABLE subscriptions RENAME COLUMN verdict TO state")
