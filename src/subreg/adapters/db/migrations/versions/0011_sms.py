"""The SMS channel: inbound messages, the outbox every MT leaves through, submits, rate windows, the built-in centre.

Revision ID: 0011_sms
Revises: 0010_stats_key
Create Date: 2026-12-02

1414 look-ups (`TTTB`, `TTTB <ID>`) are stored before they are answered (`sms_inbound`, one row per MO, a
redelivery by the gateway found by `(transport, gateway_id)`), their replies queued in `sms_outbox` (later the
campaigns' and notices' too) and carried out by `subreg sms serve`; `sms_submits` maps the SMSC's id of each
submitted part to its outbox row for receipts; `sms_senders` is each sender's rate window; `sms_centre` is
what the built-in centre of the embedded default delivered, for the phone simulator. Texts are sealed.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_sms"
down_revision: str | None = "0010_stats_key"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _sealed() -> list[sa.Column[object]]:
    return [
        sa.Column("kek_id", sa.Integer, nullable=False),
        sa.Column("wrapped_dek", sa.LargeBinary, nullable=True),
        sa.Column("payload", sa.LargeBinary, nullable=False),
    ]


def upgrade() -> None:
    ts = sa.DateTime(timezone=True)
    op.create_table(
        "sms_inbound",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("received_at", ts, nullable=False),
        sa.Column("transport", sa.String(48), nullable=False),
        sa.Column("gateway_id", sa.String(96), nullable=True),
        sa.Column("sender", sa.BigInteger, nullable=True),
        sa.Column("recipient", sa.String(20), nullable=False),
        sa.Column("coding", sa.String(10), nullable=False),
        *_sealed(),
        sa.Column("state", sa.String(16), nullable=False, server_default="received"),
        sa.Column("answered_at", ts, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_sms_inbound"),
    )
    op.create_index("ix_sms_inbound_transport_gateway_id", "sms_inbound", ["transport", "gateway_id"], unique=True)
    op.create_index("ix_sms_inbound_state_id", "sms_inbound", ["state", "id"])
    op.create_table(
        "sms_outbox",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("created_at", ts, nullable=False, server_default=sa.func.now()),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("priority", sa.SmallInteger, nullable=False),
        sa.Column("recipient", sa.BigInteger, nullable=False),
        sa.Column("sender", sa.String(16), nullable=False),
        sa.Column("encoding", sa.String(8), nullable=False),
        sa.Column("part_count", sa.SmallInteger, nullable=False),
        sa.Column("state", sa.String(12), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", ts, nullable=False),
        *_sealed(),
        sa.Column("inbound_id", sa.BigInteger, nullable=True),
        sa.Column("transport", sa.String(48), nullable=True),
        sa.Column("accepted_at", ts, nullable=True),
        sa.Column("final_at", ts, nullable=True),
        sa.Column("last_error", sa.String(48), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_sms_outbox"),
        sa.ForeignKeyConstraint(["inbound_id"], ["sms_inbound.id"], name="fk_sms_outbox_inbound_id_sms_inbound"),
    )
    op.create_index(
        "ix_sms_outbox_state_priority_next_attempt_at", "sms_outbox", ["state", "priority", "next_attempt_at"]
    )
    op.create_index("ix_sms_outbox_recipient_id", "sms_outbox", ["recipient", "id"])
    op.create_index("ix_sms_outbox_inbound_id", "sms_outbox", ["inbound_id"])
    op.create_table(
        "sms_submits",
        sa.Column("message_id", sa.String(160), nullable=False),
        sa.Column("transport", sa.String(48), nullable=False),
        sa.Column("outbox_id", sa.BigInteger, nullable=False),
        sa.Column("part", sa.SmallInteger, nullable=False),
        sa.Column("state", sa.String(12), nullable=False, server_default="accepted"),
        sa.Column("receipt_at", ts, nullable=True),
        sa.PrimaryKeyConstraint("message_id", name="pk_sms_submits"),
        sa.ForeignKeyConstraint(["outbox_id"], ["sms_outbox.id"], name="fk_sms_submits_outbox_id_sms_outbox"),
    )
    op.create_index("ix_sms_submits_outbox_id", "sms_submits", ["outbox_id"])
    op.create_table(
        "sms_senders",
        sa.Column("sender", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("window_start", ts, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("refused", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("sender", name="pk_sms_senders"),
    )
    op.create_table(
        "sms_centre",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("reference", sa.String(32), nullable=False),
        sa.Column("recipient", sa.BigInteger, nullable=False),
        sa.Column("sender", sa.String(16), nullable=False),
        sa.Column("udh", sa.LargeBinary, nullable=False),
        *_sealed(),
        sa.Column("created_at", ts, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_sms_centre"),
        sa.UniqueConstraint("reference", name="uq_sms_centre_reference"),
    )
    op.create_index("ix_sms_centre_recipient_id", "sms_centre", ["recipient", "id"])


def downgrade() -> None:
    for table in ("sms_centre", "sms_senders", "sms_submits", "sms_outbox", "sms_inbound"):
        op.drop_table(table)
