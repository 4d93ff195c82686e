"""Enforcement: each line's place on its regime's timeline, the dated steps, network orders as an outbox.

Revision ID: 0012_enforcement
Revises: 0011_sms
Create Date: 2026-12-07

Each line's place in the machine is on its own row, `subscriptions.enf_*` (NULL: not in enforcement; a
restored line's are cleared): the state (notified, one-way, two-way, terminated), the day its current step
happened, the notices sent and the regime. On the line itself, the day's sweep decides every line's move in
ONE pass over `subscriptions` (no join per line), as fast as a bare scan of the table.
`enforcement_steps` is the dated history of every step and restoration (the counter card and the
regulator's report read it), with the province of the line's point of sale at that time.
`enforcement_recheck` holds lines whose information was completed through a channel (counter, import,
back office) until the worker restores them (within a second or two). `network_orders` becomes a
durable outbox: an idempotency key per order, attempts and the next attempt's time, the last error and
what the network applied. `network_lines` is the built-in network of the embedded default.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_enforcement"
down_revision: str | None = "0011_sms"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    ts = sa.DateTime(timezone=True)
    with op.batch_alter_table("subscriptions") as t:
        t.add_column(sa.Column("enf_state", sa.SmallInteger, nullable=True))  # 1 notified | 2 | 3 | 4 terminated
        t.add_column(sa.Column("enf_step_on", sa.Date, nullable=True))
        t.add_column(sa.Column("enf_notices", sa.SmallInteger, nullable=True))
        t.add_column(sa.Column("enf_last_notice_on", sa.Date, nullable=True))
        t.add_column(sa.Column("enf_regime", sa.String(32), nullable=True))
    op.create_table(
        "enforcement_steps",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("subscription_id", sa.BigInteger, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),  # notify | renotify | lock_* | terminate | restore
        sa.Column("on_date", sa.Date, nullable=False),
        sa.Column("regime", sa.String(32), nullable=False),
        sa.Column("province_code", sa.String(8), nullable=False),  # of the point of sale; "unknown"
        sa.Column("channel", sa.String(24), nullable=False),  # sweep | counter | import | backoffice
        sa.Column("created_at", ts, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_enforcement_steps"),
    )
    op.create_index("ix_enforcement_steps_subscription_id_id", "enforcement_steps", ["subscription_id", "id"])
    op.create_index("ix_enforcement_steps_on_date_action", "enforcement_steps", ["on_date", "action"])
    op.create_table(
        "enforcement_recheck",
        sa.Column("subscription_id", sa.BigInteger, nullable=False),
        sa.Column("channel", sa.String(24), nullable=False),
        sa.Column("created_at", ts, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("subscription_id", name="pk_enforcement_recheck"),
    )
    with op.batch_alter_table("network_orders") as t:
        t.add_column(sa.Column("order_key", sa.String(96), nullable=True))
        t.add_column(sa.Column("attempts", sa.Integer, nullable=False, server_default="0"))
        t.add_column(sa.Column("next_attempt_at", ts, nullable=True))
        t.add_column(sa.Column("last_error", sa.String(48), nullable=True))
        t.add_column(sa.Column("applied", sa.String(16), nullable=True))
        t.add_column(sa.Column("provisioner", sa.String(48), nullable=True))
    op.create_index("ix_network_orders_order_key", "network_orders", ["order_key"], unique=True)
    op.create_table(
        "network_lines",
        sa.Column("msisdn", sa.BigInteger, nullable=False),
        sa.Column("access", sa.String(8), nullable=False),  # open | one_way | two_way | absent
        sa.Column("updated_at", ts, nullable=False, server_default=sa.func.now()),
        sa.Column("order_key", sa.String(96), nullable=True),
        sa.PrimaryKeyConstraint("msisdn", name="pk_network_lines"),
    )
    op.create_index(
        "ix_holders_restricted", "holders", ["id"], sqlite_where=sa.text("restricted"),
        postgresql_where=sa.text("restricted"),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_holders_restricted", table_name="holders")
    op.drop_table("network_lines")
    op.drop_index("ix_network_orders_order_key", table_name="network_orders")
    with op.batch_alter_table("network_orders") as t:
        for name in ("provisioner", "applied", "last_error", "next_attempt_at", "attempts", "order_key"):
            t.drop_column(name)
    op.drop_table("enforcement_recheck")
    op.drop_index("ix_enforcement_steps_on_date_action", table_name="enforcement_steps")
    op.drop_index("ix_enforcement_steps_subscription_id_id", table_name="enforcement_steps")
    op.drop_table("enforcement_steps")
    # Not in batch mode: SQLite would rebuild `subscriptions`, whose generated stats_key (0010) it cannot copy;
    # ALTER TABLE ... DROP COLUMN works on SQLite (3.35+) and PostgreSQL alike.
    for name in ("enf_regime", "enf_last_notice_on", "enf_notices", "enf_step_on", "enf_state"):
        op.execute(f"ALTER TABLE subscriptions DROP COLUMN {name}")
