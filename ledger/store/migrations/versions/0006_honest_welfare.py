"""rounds: honest welfare columns (allocative efficiency, delivered welfare, pool optimum)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 05:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_COLUMNS = ("allocative_efficiency", "allocative_welfare", "delivered_welfare", "pool_optimum")


def upgrade() -> None:
    with op.batch_alter_table("rounds") as batch:
        for name in _COLUMNS:
            batch.add_column(sa.Column(name, sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rounds") as batch:
        for name in reversed(_COLUMNS):
            batch.drop_column(name)
