"""Verification and closure: on-site checks (现场核查), duty alerts, weak signals.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _time(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _json(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.JSON(none_as_null=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "site_checks",
        sa.Column("check_id", sa.String(64), nullable=False),
        sa.Column("cluster_id", sa.String(512), nullable=False),
        sa.Column("unit", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.Text(), nullable=False),
        _time("requested_at"),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("result_note", sa.Text(), nullable=True),
        sa.Column("photo", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.Text(), nullable=True),
        _time("decided_at", nullable=True),
        sa.PrimaryKeyConstraint("check_id", name="pk_site_checks"),
    )
    op.create_index("ix_site_checks_cluster_id", "site_checks", ["cluster_id"])
    op.create_index("ix_site_checks_status", "site_checks", ["status"])

    op.create_table(
        "alerts",
        sa.Column("alert_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(512), nullable=False),
        _time("created_at"),
        _time("sent_at", nullable=True),
        _json("payload"),
        _json("deliveries"),
        sa.PrimaryKeyConstraint("alert_id", name="pk_alerts"),
    )
    op.create_index("ix_alerts_sent_at_created_at", "alerts", ["sent_at", "created_at"])

    op.create_table(
        "weak_signals",
        sa.Column("post_id", sa.Text(), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("place", sa.Text(), nullable=False),
        _time("posted_at"),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("cluster_id", sa.String(512), nullable=True),
        _json("lead"),
        sa.PrimaryKeyConstraint("post_id", name="pk_weak_signals"),
    )
    op.create_index(
        "ix_weak_signals_category_place_posted_at",
        "weak_signals",
        ["category", "place", "posted_at"],
    )


def downgrade() -> None:
    for table in ("weak_signals", "alerts", "site_checks"):
        op.drop_table(table)
