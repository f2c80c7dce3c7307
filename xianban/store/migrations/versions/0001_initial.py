"""Initial schema: posts, leads, clusters, verdicts, cases, outbox, crawl state, audit.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _time(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _json(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.JSON(none_as_null=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "posts",
        sa.Column("post_id", sa.Text(), nullable=False),
        sa.Column("platform", sa.String(512), nullable=False),
        sa.Column("source", sa.String(512), nullable=True),
        _time("created_at", nullable=True),
        _time("fetched_at"),
        _json("data"),
        sa.PrimaryKeyConstraint("post_id", name="pk_posts"),
    )
    op.create_index("ix_posts_platform", "posts", ["platform"])

    op.create_table(
        "leads",
        sa.Column("lead_id", sa.String(512), nullable=False),
        sa.Column("cluster_id", sa.String(512), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        _time("found_at"),
        _json("data"),
        sa.PrimaryKeyConstraint("lead_id", name="pk_leads"),
    )
    op.create_index("ix_leads_cluster_id", "leads", ["cluster_id"])
    op.create_index("ix_leads_found_at", "leads", ["found_at"])

    op.create_table(
        "clusters",
        sa.Column("cluster_id", sa.String(512), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        _json("geo"),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("max_score", sa.Double(), nullable=False),
        sa.Column("corroboration", sa.Integer(), nullable=False),
        sa.Column("leads", sa.Integer(), nullable=False),
        _time("first_seen"),
        _time("last_seen"),
        sa.PrimaryKeyConstraint("cluster_id", name="pk_clusters"),
    )

    op.create_table(
        "verdicts",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("verdict_id", sa.String(512), nullable=False),
        sa.Column("cluster_id", sa.String(512), nullable=False),
        sa.Column("decision", sa.String(32), nullable=False),
        _time("decided_at"),
        _json("data"),
        sa.PrimaryKeyConstraint("seq", name="pk_verdicts"),
        sa.UniqueConstraint("verdict_id", name="uq_verdicts_verdict_id"),
    )
    op.create_index("ix_verdicts_cluster_id", "verdicts", ["cluster_id"])

    op.create_table(
        "cases",
        sa.Column("case_id", sa.String(512), nullable=False),
        sa.Column("cluster_id", sa.String(512), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        _time("opened_at"),
        _time("updated_at"),
        _json("data"),
        sa.PrimaryKeyConstraint("case_id", name="pk_cases"),
    )
    op.create_index("ix_cases_cluster_id", "cases", ["cluster_id"])
    op.create_index("ix_cases_status", "cases", ["status"])
    op.create_index("ix_cases_opened_at", "cases", ["opened_at"])

    op.create_table(
        "case_events",
        sa.Column("case_id", sa.String(512), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        _time("at"),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("by", sa.String(512), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.case_id"],
            name="fk_case_events_case_id_cases",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("case_id", "position", name="pk_case_events"),
    )

    op.create_table(
        "outbox",
        sa.Column("key", sa.String(512), nullable=False),
        sa.Column("kind", sa.String(128), nullable=False),
        _json("payload"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        _json("result", nullable=True),
        _time("created_at"),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("key", name="pk_outbox"),
    )
    op.create_index("ix_outbox_status_created_at", "outbox", ["status", "created_at"])

    op.create_table(
        "source_states",
        sa.Column("source", sa.String(512), nullable=False),
        sa.Column("state", sa.String(64), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("paused", sa.Boolean(), nullable=False),
        _time("last_success", nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        _json("error_counts"),
        sa.Column("posts_total", sa.Integer(), nullable=False),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("source", name="pk_source_states"),
    )

    op.create_table(
        "tasks",
        sa.Column("task_id", sa.String(512), nullable=False),
        sa.Column("source", sa.String(512), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("posts", sa.Integer(), nullable=False),
        _time("created_at"),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("task_id", name="pk_tasks"),
    )
    op.create_index("ix_tasks_source", "tasks", ["source"])
    op.create_index("ix_tasks_status", "tasks", ["status"])

    op.create_table(
        "dead_letters",
        sa.Column("letter_id", sa.String(64), nullable=False),
        sa.Column("stage", sa.String(512), nullable=False),
        sa.Column("source_topic", sa.String(512), nullable=False),
        sa.Column("error_type", sa.String(512), nullable=False),
        _time("failed_at"),
        _json("data"),
        sa.PrimaryKeyConstraint("letter_id", name="pk_dead_letters"),
    )
    op.create_index("ix_dead_letters_stage", "dead_letters", ["stage"])
    op.create_index("ix_dead_letters_failed_at", "dead_letters", ["failed_at"])

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        _time("at"),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        _json("detail", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])


def downgrade() -> None:
    for table in (
        "audit_log",
        "dead_letters",
        "tasks",
        "source_states",
        "outbox",
        "case_events",
        "cases",
        "verdicts",
        "clusters",
        "leads",
        "posts",
    ):
        op.drop_table(table)
