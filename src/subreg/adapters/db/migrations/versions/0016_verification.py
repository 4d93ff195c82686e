"""Verification as the rules stand today: the last verification of each line, population-database matching,
verification events (chip, face, population database), biometric templates, device changes, one-time codes.

Revision ID: 0016_verification
Revises: 0015_backoffice
Create Date: 2026-12-08

`subscriptions.verified_*` say under which regime, by which method and when a line was last verified (clear,
not personal). `population_matches` holds the newest per-field result of matching a line against the National
Population Database (match | mismatch | not_found for the ID number, the name and the date of birth).
`verifications` is the append-only trail of every verification attempt (method, score, model, decision, reason;
never an image or a template). `biometric_templates` keeps a face template sealed under the holder's key (so it
is shredded with the holder) until `expires_on`. `device_changes` records the network's device-change events
(the IMEI only as a keyed hash) and whether the line was re-verified. `otp_codes` holds self-service one-time
codes as hashes, with their attempts and expiry.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_verification"
down_revision: str | None = "0015_backoffice"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    ts = sa.DateTime(timezone=True)
    op.add_column("subscriptions", sa.Column("verified_regime", sa.String(32), nullable=True))
    op.add_column("subscriptions", sa.Column("verified_method", sa.String(16), nullable=True))
    op.add_column("subscriptions", sa.Column("verified_at", ts, nullable=True))
    op.create_table(
        "population_matches",
        sa.Column("subscription_id", sa.BigInteger, nullable=False),
        sa.Column("id_number", sa.String(10), nullable=False),
        sa.Column("full_name", sa.String(10), nullable=False),
        sa.Column("date_of_birth", sa.String(10), nullable=False),
        sa.Column("batch", sa.String(64), nullable=True),
        sa.Column("matched_at", ts, nullable=False),
        sa.PrimaryKeyConstraint("subscription_id", name="pk_population_matches"),
    )
    op.create_table(
        "verifications",
        sa.Column("id", BigId, nullable=False),
        sa.Column("subscription_id", sa.BigInteger, nullable=True),
        sa.Column("holder_id", sa.BigInteger, nullable=True),
        sa.Column("regime", sa.String(32), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(48), nullable=True),
        sa.Column("score", sa.Float, nullable=True),
        sa.Column("model", sa.String(64), nullable=True),
        sa.Column("channel", sa.String(24), nullable=False),
        sa.Column("staff_id", sa.Integer, nullable=True),
        sa.Column("at", ts, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_verifications"),
    )
    op.create_index("ix_verifications_subscription_id", "verifications", ["subscription_id"])
    op.create_table(
        "biometric_templates",
        sa.Column("id", BigId, nullable=False),
        sa.Column("holder_id", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("kek_id", sa.Integer, nullable=False),
        sa.Column("wrapped_dek", sa.LargeBinary, nullable=True),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("expires_on", sa.Date, nullable=True),
        sa.Column("created_at", ts, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_biometric_templates"),
    )
    op.create_index("ix_biometric_templates_holder_id", "biometric_templates", ["holder_id"])
    op.create_table(
        "device_changes",
        sa.Column("id", BigId, nullable=False),
        sa.Column("msisdn", sa.BigInteger, nullable=False),
        sa.Column("subscription_id", sa.BigInteger, nullable=True),
        sa.Column("imei_hash", sa.LargeBinary(32), nullable=True),
        sa.Column("event_key", sa.String(96), nullable=False),
        sa.Column("source", sa.String(24), nullable=False),
        sa.Column("changed_at", ts, nullable=False),
        sa.Column("state", sa.String(16), nullable=False, server_default="suspended"),
        sa.Column("verified_at", ts, nullable=True),
        sa.Column("created_at", ts, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_device_changes"),
        sa.UniqueConstraint("event_key", name="uq_device_changes_event_key"),
    )
    op.create_index("ix_device_changes_subscription_id", "device_changes", ["subscription_id"])
    op.create_table(
        "otp_codes",
        sa.Column("id", BigId, nullable=False),
        sa.Column("msisdn", sa.BigInteger, nullable=False),
        sa.Column("code_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("purpose", sa.String(24), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("expires_at", ts, nullable=False),
        sa.Column("used_at", ts, nullable=True),
        sa.Column("created_at", ts, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_otp_codes"),
    )
    op.create_index("ix_otp_codes_msisdn", "otp_codes", ["msisdn"])


def downgrade() -> None:
    op.drop_index("ix_otp_codes_msisdn", table_name="otp_codes")
    op.drop_table("otp_codes")
    op.drop_index("ix_device_changes_subscription_id", table_name="device_changes")
    op.drop_table("device_changes")
    op.drop_index("ix_biometric_templates_holder_id", table_name="biometric_templates")
    op.drop_table("biometric_templates")
    op.drop_index("ix_verifications_subscription_id", table_name="verifications")
    op.drop_table("verifications")
    op.drop_table("population_matches")
    # ALTER TABLE DROP COLUMN, not a batch rebuild: subscriptions has a generated column (0010) on SQLite.
    for column in ("verified_at", "verified_method", "verified_regime"):
        op.execute(f"ALTER TABLE subscriptions DROP COLUMN {column}")
