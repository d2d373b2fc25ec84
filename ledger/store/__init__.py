"""The run store: every simulation run, round, trade, QoAIS aggregate and snapshot, in SQL.

SQLite by default (`data/edgemarket.db`); any SQLAlchemy URL works. The schema is owned
by Alembic migrations in `ledger/store/migrations`, applied on open.
"""

from ledger.store.database import DEFAULT_DB_URL, StoreError, default_db_url, open_engine
from ledger.store.models import (
    AgentAccount,
    Base,
    Evaluation,
    OrderCurveRow,
    QoAISIndicatorRow,
    QoAISRow,
    RoundRow,
    Run,
    Settlement,
    Snapshot,
    TradeRow,
    TrainingPoint,
)
from ledger.store.run_store import RunStore

__all__ = [
    "DEFAULT_DB_URL",
    "AgentAccount",
    "Base",
    "Evaluation",
    "OrderCurveRow",
    "QoAISIndicatorRow",
    "QoAISRow",
    "RoundRow",
    "Run",
    "RunStore",
    "Settlement",
    "Snapshot",
    "StoreError",
    "TradeRow",
    "TrainingPoint",
    "default_db_url",
    "open_engine",
]
