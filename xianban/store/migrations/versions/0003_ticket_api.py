"""Ticket API: consumers' tokens (hashed), webhook subscriptions and the delivery outbox.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _time(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _json(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.JSON(none_as_null=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("token_id", sa.String(64), nullable=False),
        sa.Column("consumer", sa.String(128), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        _json("scopes"),
        _json("departments"),
        sa.Column("note", sa.Text(), nullable=False),
        _time("created_at"),
        _time("expires_at", nullable=True),
        _time("revoked_at", nullable=True),
        sa.Column("rotated_from", sa.String(64), nullable=True),
        _time("last_used_at", nullable=True),
        sa.PrimaryKeyConstraint("token_id", name="pk_api_tokens"),
        sa.UniqueConstraint("secret_hash", name="uq_api_tokens_secret_hash"),
    )
    op.create_index("ix_api_tokens_consumer", "api_tokens", ["consumer"])

    op.create_table(
        "webhook_subscriptions",
        sa.Column("subscription_id", sa.String(64), nullable=False),
        sa.Column("consumer", sa.String(128), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("previous_secret", sa.Text(), nullable=True),
        _time("previous_secret_until", nullable=True),
        _json("event_types"),
        _json("departments"),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _time("created_at"),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("subscription_id", name="pk_webhook_subscriptions"),
    )
    op.create_index("ix_webhook_subscriptions_consumer", "webhook_subscriptions", ["consumer"])

    op.create_table(
        "webhook_case_heads",
        sa.Column("case_id", sa.String(512), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("prev_status", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("case_id", name="pk_webhook_case_heads"),
    )

    op.create_table(
        "webhook_events",
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("case_id", sa.String(512), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("department", sa.String(512), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        _time("created_at"),
        sa.PrimaryKeyConstraint("event_id", name="pk_webhook_events"),
        sa.UniqueConstraint("case_id", "seq", name="uq_webhook_events_case_id_seq"),
    )

    op.create_table(
        "webhook_deliveries",
        sa.Column("delivery_id", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("subscription_id", sa.String(64), nullable=False),
        sa.Column("case_id", sa.String(512), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _time("next_attempt_at"),
        _time("lease_until", nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        _time("delivered_at", nullable=True),
        _time("created_at"),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("delivery_id", name="pk_webhook_deliveries"),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["webhook_events.event_id"],
            name="fk_webhook_deliveries_event_id_webhook_events",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["webhook_subscriptions.subscription_id"],
            name="fk_webhook_deliveries_subscription_id_webhook_subscriptions",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_webhook_deliveries_status_next_attempt_at",
        "webhook_deliveries",
        ["status", "next_attempt_at"],
    )
    op.create_index(
        "ix_webhook_deliveries_subscription_case_seq",
        "webhook_deliveries",
        ["subscription_id", "case_id", "seq"],
    )

    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("delivery_id", sa.String(64), nullable=False),
        _time("at"),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_attempts"),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["webhook_deliveries.delivery_id"],
            name="fk_webhook_attempts_delivery_id_webhook_deliveries",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_webhook_attempts_delivery_id", "webhook_attempts", ["delivery_id"])


def downgrade() -> None:
    for table in (
        "webhook_attempts",
        "webhook_deliveries",
        "webhook_events",
        "webhook_case_heads",
        "webhook_subscriptions",
        "api_tokens",
    ):
        op.drop_table(table)
