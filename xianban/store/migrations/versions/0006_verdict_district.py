"""Verdicts keep their lead's district and their duplicate_of as columns (copied from the
stored JSON), so the verifier's read per batch filters without parsing every verdict.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

FILL = {
    "postgresql": "UPDATE verdicts SET district = data #>> '{lead,geo,district}', "
    "duplicate_of = data ->> 'duplicate_of'",
    "sqlite": "UPDATE verdicts SET district = json_extract(data, '$.lead.geo.district'), "
    "duplicate_of = json_extract(data, '$.duplicate_of')",
}


def upgrade() -> None:
    with op.batch_alter_table("verdicts") as table:
        table.add_column(sa.Column("district", sa.String(512), nullable=True))
        table.add_column(sa.Column("duplicate_of", sa.String(512), nullable=True))
    op.execute(FILL[op.get_bind().dialect.name])


def downgrade() -> None:
    with op.batch_alter_table("verdicts") as table:
        table.drop_column("duplicate_of")
        table.drop_column("district")
