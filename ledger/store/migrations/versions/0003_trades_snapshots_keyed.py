"""trades and snapshots keyed by (run, round, index), WITHOUT ROWID on SQLite

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 02:25:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TRADE_COLS = ("run_id", "round", "idx", "buyer", "seller", "resource", "quantity", "price")
_SNAP_COLS = ("run_id", "round", "agent_id", "kind", "x_m", "y_m", "attached", "utilization")


def _trades(name: str) -> None:
    op.create_table(
        name,
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("buyer", sa.BigInteger(), nullable=False),
        sa.Column("seller", sa.BigInteger(), nullable=False),
        sa.Column("resource", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Float(), nullable=False),
        sa.Column("price", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "round", "idx"),
        sqlite_with_rowid=False,
    )


def _snapshots(name: str) -> None:
    op.create_table(
        name,
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("x_m", sa.Float(), nullable=True),
        sa.Column("y_m", sa.Float(), nullable=True),
        sa.Column("attached", sa.BigInteger(), nullable=False),
        sa.Column("utilization", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "round", "agent_id"),
        sqlite_with_rowid=False,
    )


def _swap(table: str, build, cols: tuple[str, ...], old_index: str) -> None:
    # Create the new table, copy the rows in key order, then replace the old table.
    build(f"{table}_new")
    names = ", ".join(cols)
    op.execute(f"INSERT INTO {table}_new ({names}) SELECT {names} FROM {table} ORDER BY run_id, round, {cols[2]}")
    op.drop_index(old_index, table_name=table)
    op.drop_table(table)
    op.rename_table(f"{table}_new", table)


def upgrade() -> None:
    _swap("trades", _trades, _TRADE_COLS, "ix_trades_run_round")
    _swap("snapshots", _snapshots, _SNAP_COLS, "ix_snapshots_run_round")


def downgrade() -> None:
    raise NotImplementedError("0003 is not reversible: restore a backup of the store instead")
