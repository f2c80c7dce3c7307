"""类案 governance: a recurring problem's tags, the unit it is assigned to, its status,
the notes on it, and who follows it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _time(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "similar_cases",
        sa.Column("group_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("tags", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("unit", sa.Text(), nullable=True),
        sa.Column("assignee", sa.Text(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        _time("created_at"),
        sa.Column("created_by", sa.Text(), nullable=False),
        _time("updated_at"),
        sa.Column("updated_by", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("group_id", name="pk_similar_cases"),
    )
    op.create_table(
        "similar_case_notes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("group_id", sa.String(64), nullable=False),
        _time("at"),
        sa.Column("by", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_similar_case_notes"),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["similar_cases.group_id"],
            name="fk_similar_case_notes_group_id_similar_cases",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_similar_case_notes_group_id", "similar_case_notes", ["group_id"])
    op.create_table(
        "similar_case_followers",
        sa.Column("group_id", sa.String(64), nullable=False),
        sa.Column("follower", sa.String(128), nullable=False),
        _time("followed_at"),
        _time("seen_at"),
        sa.PrimaryKeyConstraint("group_id", "follower", name="pk_similar_case_followers"),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["similar_cases.group_id"],
            name="fk_similar_case_followers_group_id_similar_cases",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_similar_case_followers_follower", "similar_case_followers", ["follower"])


def downgrade() -> None:
    op.drop_index("ix_similar_case_followers_follower", table_name="similar_case_followers")
    op.drop_table("similar_case_followers")
    op.drop_index("ix_similar_case_notes_group_id", table_name="similar_case_notes")
    op.drop_table("similar_case_notes")
    op.drop_table("similar_cases")
