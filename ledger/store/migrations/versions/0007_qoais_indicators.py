"""qoais_indicators: per round and service class, the mean of each of the 29 QoAIS indicators

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 05:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "qoais_indicators",
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("service_class", sa.String(60), nullable=False),
        sa.Column("indicator", sa.String(60), nullable=False),
        sa.Column("dimension", sa.String(20), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "round", "service_class", "indicator"),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("qoais_indicators")
