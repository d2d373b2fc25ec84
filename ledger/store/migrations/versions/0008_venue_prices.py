"""venue_prices: per round, venue and resource, the clearing price beside the LP duals

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 08:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "venue_prices",
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("venue", sa.Integer(), nullable=False),
        sa.Column("resource", sa.String(20), nullable=False),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("price", sa.Float(), nullable=True),
        sa.Column("volume", sa.Float(), nullable=False),
        sa.Column("supply", sa.Float(), nullable=False),
        sa.Column("dual", sa.Float(), nullable=True),
        sa.Column("dual_true", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("run_id", "round", "venue", "resource"),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("venue_prices")
