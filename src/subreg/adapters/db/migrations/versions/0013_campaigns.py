"""Reminder campaigns: their definition and progress, and a send record per line and wave.

Revision ID: 0013_campaigns
Revises: 0012_enforcement
Create Date: 2026-12-09

`campaigns` holds what staff defined (template, cohort as JSON, schedule, rate per bind and binds) and how far
the worker got: the current wave, the day it finished, the last line queued in it (`cursor`: each tick goes on
from there instead of skipping the lines already queued) and the rate clock (the sending allowance is used up
to that instant, so several workers share one rate). `campaign_sends` has one row per line and wave, unique:
the idempotency key written in the same transaction as the outbox row, so a crash can neither queue a line
twice for one wave nor lose one. `sms_outbox.campaign_send_id` ties a campaign message to its send record
(the status counts join them).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_campaigns"
down_revision: str | None = "0012_enforcement"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    ts = sa.DateTime(timezone=True)
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("template", sa.String(48), nullable=False),
        sa.Column("lang", sa.String(2), nullable=False),
        sa.Column("cohort", sa.Text, nullable=False),
        sa.Column("start_on", sa.Date, nullable=False),
        sa.Column("hours", sa.String(11), nullable=False),
        sa.Column("waves", sa.SmallInteger, nullable=False),
        sa.Column("rate_per_bind", sa.Integer, nullable=False),
        sa.Column("binds", sa.SmallInteger, nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("wave", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("wave_finished_on", sa.Date, nullable=True),
        sa.Column("cursor", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("rate_clock", ts, nullable=True),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", ts, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", ts, nullable=False, server_default=sa.func.now()),
        sa.Column("started_at", ts, nullable=True),
        sa.Column("finished_at", ts, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_campaigns"),
        sa.UniqueConstraint("name", name="uq_campaigns_name"),
    )
    op.create_index("ix_campaigns_state", "campaigns", ["state"])
    op.create_table(
        "campaign_sends",
        sa.Column("id", BigId, nullable=False),
        sa.Column("campaign_id", sa.Integer, nullable=False),
        sa.Column("wave", sa.SmallInteger, nullable=False),
        sa.Column("subscription_id", sa.BigInteger, nullable=False),
        sa.Column("created_at", ts, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_campaign_sends"),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], name="fk_campaign_sends_campaign_id_campaigns"),
    )
    op.create_index(
        "uq_campaign_sends_campaign_id_wave_subscription_id", "campaign_sends",
        ["campaign_id", "wave", "subscription_id"], unique=True,
    )  # fmt: skip
    op.add_column("sms_outbox", sa.Column("campaign_send_id", sa.BigInteger, nullable=True))
    op.create_index(
        "ix_sms_outbox_campaign_send_id", "sms_outbox", ["campaign_send_id"],
        sqlite_where=sa.text("campaign_send_id IS NOT NULL"), postgresql_where=sa.text("campaign_send_id IS NOT NULL"),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_sms_outbox_campaign_send_id", table_name="sms_outbox")
    with op.batch_alter_table("sms_outbox") as t:
        t.drop_column("campaign_send_id")
    op.drop_index("uq_campaign_sends_campaign_id_wave_subscription_id", table_name="campaign_sends")
    op.drop_table("campaign_sends")
    op.drop_index("ix_campaigns_state", table_name="campaigns")
    op.drop_table("campaigns")
