"""trades.seller_price: what the seller received per unit (differs from price under McAfee)

`edgemarket ledger reconcile` recomputes every escrow balance from the stored trades; a
budget-balanced mechanism pays sellers less than buyers pay, so the seller's side of each
trade must be stored too. NULL for rows written before this revision (read as `price`).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN: batch mode would rebuild the table and lose WITHOUT ROWID.
    op.add_column("trades", sa.Column("seller_price", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("trades") as batch:
        batch.drop_column("seller_price")
