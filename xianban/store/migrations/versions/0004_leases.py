"""Leases (one holder at a time for a job that must run once: the Kafka scheduler) and
the crawl tasks the scheduler has sent.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("holder", sa.String(512), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("renewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_leases"),
    )
    op.create_table(
        "scheduled_tasks",
        sa.Column("task_id", sa.String(512), nullable=False),
        sa.Column("source", sa.String(512), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("task_id", name="pk_scheduled_tasks"),
    )
    op.create_index("ix_scheduled_tasks_scheduled_at", "scheduled_tasks", ["scheduled_at"])


def downgrade() -> None:
    op.drop_index("ix_scheduled_tasks_scheduled_at", table_name="scheduled_tasks")
    op.drop_table("scheduled_tasks")
    op.drop_table("leases")
