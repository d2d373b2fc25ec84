"""The store's tables, as SQLAlchemy 2 typed ORM classes.

Units: prices in credits per resource unit, money in credits (float) off chain and base
units (int, 1 credit = 10**6) in settlement payloads; positions in metres; latency in ms.
Resource columns are suffixed by kind: `_comm` (Mbps·round), `_cache` (GB·round),
`_compute` (GFLOP), `_learn` (LU).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

RESOURCE_SUFFIXES = ("comm", "cache", "compute", "learn")


class Base(DeclarativeBase):
    """Declarative base of every store table."""

    type_annotation_map = {dict: JSON, list: JSON}


class Run(Base):
    """One simulation run: its scenario, seed, code version, timings and status."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scenario: Mapped[str] = mapped_column(String(200))
    scenario_json: Mapped[dict] = mapped_column(JSON)
    seed: Mapped[int] = mapped_column(BigInteger)
    code_version: Mapped[str] = mapped_column(String(80))
    mechanism: Mapped[str] = mapped_column(String(40), default="")
    rounds_planned: Mapped[int] = mapped_column(Integer, default=0)
    rounds_done: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), default="running", index=True)
    chain: Mapped[str] = mapped_column(String(200), default="none")
    chain_info: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # deployment, state file
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    wall_s: Mapped[float] = mapped_column(Float, default=0.0)
    summary: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)

    rounds: Mapped[list[RoundRow]] = relationship(back_populates="run", cascade="all, delete-orphan", passive_deletes=True)


class RoundRow(Base):
    """Market outcome of one round: prices, volumes, welfare against the optimum."""

    __tablename__ = "rounds"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    round: Mapped[int] = mapped_column(Integer, primary_key=True)
    price_comm: Mapped[float | None] = mapped_column(Float, nullable=True)
    price_cache: Mapped[float | None] = mapped_column(Float, nullable=True)
    price_compute: Mapped[float | None] = mapped_column(Float, nullable=True)
    price_learn: Mapped[float | None] = mapped_column(Float, nullable=True)
    eq_price_comm: Mapped[float | None] = mapped_column(Float, nullable=True)
    eq_price_cache: Mapped[float | None] = mapped_column(Float, nullable=True)
    eq_price_compute: Mapped[float | None] = mapped_column(Float, nullable=True)
    eq_price_learn: Mapped[float | None] = mapped_column(Float, nullable=True)
    volume_comm: Mapped[float] = mapped_column(Float, default=0.0)
    volume_cache: Mapped[float] = mapped_column(Float, default=0.0)
    volume_compute: Mapped[float] = mapped_column(Float, default=0.0)
    volume_learn: Mapped[float] = mapped_column(Float, default=0.0)
    unmet_comm: Mapped[float] = mapped_column(Float, default=0.0)
    unmet_cache: Mapped[float] = mapped_column(Float, default=0.0)
    unmet_compute: Mapped[float] = mapped_column(Float, default=0.0)
    unmet_learn: Mapped[float] = mapped_column(Float, default=0.0)
    welfare: Mapped[float] = mapped_column(Float)
    optimal_welfare: Mapped[float | None] = mapped_column(Float, nullable=True)  # NULL: optimum not computed
    efficiency: Mapped[float | None] = mapped_column(Float, nullable=True)  # NULL: optimum not computed
    buyer_payments: Mapped[float] = mapped_column(Float)
    seller_revenue: Mapped[float] = mapped_column(Float)
    platform_surplus: Mapped[float] = mapped_column(Float)
    n_trades: Mapped[int] = mapped_column(Integer)
    n_requests: Mapped[int] = mapped_column(Integer, default=0)
    n_served: Mapped[int] = mapped_column(Integer, default=0)
    sla_rate: Mapped[float] = mapped_column(Float, default=0.0)
    qoais_overall: Mapped[float] = mapped_column(Float, default=0.0)
    handovers: Mapped[int] = mapped_column(Integer, default=0)
    wall_ms: Mapped[float] = mapped_column(Float, default=0.0)
    # Honest welfare (agents.honest_welfare; NULL: optimum not computed / older runs).
    allocative_efficiency: Mapped[float | None] = mapped_column(Float, nullable=True)
    allocative_welfare: Mapped[float | None] = mapped_column(Float, nullable=True)
    delivered_welfare: Mapped[float | None] = mapped_column(Float, nullable=True)
    pool_optimum: Mapped[float | None] = mapped_column(Float, nullable=True)

    run: Mapped[Run] = relationship(back_populates="rounds")


class TradeRow(Base):
    """One executed trade: buyer, seller, resource kind (0-3), quantity (units), unit price (credits)."""

    __tablename__ = "trades"
    # Keyed by (run, round, index in the round): rows arrive in key order, and on SQLite a
    # WITHOUT ROWID table then needs one B-tree instead of two (inserts ~1.5x faster).
    __table_args__ = ({"sqlite_with_rowid": False},)

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    round: Mapped[int] = mapped_column(Integer, primary_key=True)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True)
    buyer: Mapped[int] = mapped_column(BigInteger)
    seller: Mapped[int] = mapped_column(BigInteger)
    resource: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[float] = mapped_column(Float)
    price: Mapped[float] = mapped_column(Float)
    seller_price: Mapped[float | None] = mapped_column(Float, nullable=True)  # None: = price (0005)


class OrderCurveRow(Base):
    """One point of a round's pooled order-book curve (agents.curves): on side 0 (demand,
    bids from the highest) or 1 (supply, asks from the cheapest) of a resource (0-3), the
    first ``quantity`` units (cumulative) are priced at ``price`` or better (credits/unit)."""

    __tablename__ = "order_curves"
    __table_args__ = ({"sqlite_with_rowid": False},)

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    round: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource: Mapped[int] = mapped_column(Integer, primary_key=True)
    side: Mapped[int] = mapped_column(Integer, primary_key=True)
    step: Mapped[int] = mapped_column(Integer, primary_key=True)
    quantity: Mapped[float] = mapped_column(Float)
    price: Mapped[float] = mapped_column(Float)


class QoAISRow(Base):
    """QoAIS of one service class in one round: six dimensions in [0, 1], SLA rate, key indicators."""

    __tablename__ = "qoais"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    round: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_class: Mapped[str] = mapped_column(String(60), primary_key=True)
    n_requests: Mapped[int] = mapped_column(Integer)
    n_served: Mapped[int] = mapped_column(Integer)
    sla_rate: Mapped[float] = mapped_column(Float)
    performance: Mapped[float] = mapped_column(Float)
    connection: Mapped[float] = mapped_column(Float)
    data: Mapped[float] = mapped_column(Float)
    computation: Mapped[float] = mapped_column(Float)
    security: Mapped[float] = mapped_column(Float)
    orchestration: Mapped[float] = mapped_column(Float)
    overall: Mapped[float] = mapped_column(Float)
    latency_ms_mean: Mapped[float] = mapped_column(Float)
    latency_ms_p95: Mapped[float] = mapped_column(Float)
    reliability: Mapped[float] = mapped_column(Float)
    accuracy: Mapped[float] = mapped_column(Float)


class QoAISIndicatorRow(Base):
    """Mean of one QoAIS indicator (agents.qoais.INDICATORS, score in [0, 1]) over one service
    class's served requests in one round; indicators not measured for the class have no row."""

    __tablename__ = "qoais_indicators"
    __table_args__ = ({"sqlite_with_rowid": False},)

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    round: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_class: Mapped[str] = mapped_column(String(60), primary_key=True)
    indicator: Mapped[str] = mapped_column(String(60), primary_key=True)
    dimension: Mapped[str] = mapped_column(String(20))
    value: Mapped[float] = mapped_column(Float)


class RequestBatch(Base):
    """One round's per-request records (agents.request_records), as one compressed blob:
    an Arrow IPC stream with zstd-compressed buffers (ledger.store.request_batches)."""

    __tablename__ = "request_batches"
    __table_args__ = ({"sqlite_with_rowid": False},)

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    round: Mapped[int] = mapped_column(Integer, primary_key=True)
    n_requests: Mapped[int] = mapped_column(Integer)
    encoding: Mapped[str] = mapped_column(String(40))
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Snapshot(Base):
    """A sampled agent state: position (m), attached node, utilization in [0, 1]."""

    __tablename__ = "snapshots"
    __table_args__ = ({"sqlite_with_rowid": False},)

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    round: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    x_m: Mapped[float | None] = mapped_column(Float, nullable=True)  # NULL: no position (cloud)
    y_m: Mapped[float | None] = mapped_column(Float, nullable=True)
    attached: Mapped[int] = mapped_column(BigInteger)
    utilization: Mapped[float] = mapped_column(Float)


class AgentAccount(Base):
    """A participant of a run and its on-chain account (when the run settles on a chain)."""

    __tablename__ = "accounts"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    agent_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(42), default="")
    initial_base: Mapped[int] = mapped_column(BigInteger, default=0)


class Settlement(Base):
    """The settlement outbox: written *pending* before sending, *confirmed* after the receipt."""

    __tablename__ = "settlements"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    round: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    payload: Mapped[dict] = mapped_column(JSON)
    n_trades: Mapped[int] = mapped_column(Integer, default=0)
    netted_base: Mapped[int] = mapped_column(BigInteger, default=0)
    tx_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    block: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    gas_used: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class TrainingPoint(Base):
    """One point of a training curve: iteration, policy, mean reward, env steps, wall time."""

    __tablename__ = "training"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session: Mapped[str] = mapped_column(String(120), index=True)
    scenario: Mapped[str] = mapped_column(String(200))
    iteration: Mapped[int] = mapped_column(Integer)
    policy: Mapped[str] = mapped_column(String(80))
    reward_mean: Mapped[float | None] = mapped_column(Float, nullable=True)
    env_steps: Mapped[int] = mapped_column(BigInteger)
    time_s: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Evaluation(Base):
    """One row of a pricing evaluation: a strategy on a scenario and seed, with its outcomes."""

    __tablename__ = "evaluations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session: Mapped[str] = mapped_column(String(120), index=True)
    scenario: Mapped[str] = mapped_column(String(200))
    seed: Mapped[int] = mapped_column(BigInteger)
    pricing: Mapped[str] = mapped_column(String(80))
    welfare: Mapped[float] = mapped_column(Float)
    welfare_share: Mapped[float] = mapped_column(Float)
    provider_profit: Mapped[float] = mapped_column(Float)
    mean_price: Mapped[dict] = mapped_column(JSON)
    qoais: Mapped[float] = mapped_column(Float)
    sla_rate: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class VenuePriceRow(Base):
    """One venue's market for one resource in one round (agents/marketplace_prices.py):
    ``price``: the venue's clearing price (the mechanism's uniform buyer price, equal to the
    venue's volume-weighted trade price; NULL: the resource did not trade there); ``dual``:
    the LP dual of the venue's welfare LP on the orders as submitted; ``dual_true``: the LP
    dual on true values and costs (NULL: optimum skipped); ``volume`` units traded,
    ``supply`` units offered. Rows only for resources offered in the venue (supply > 0).
    ``kind``: edge / pool / cloud; ``venue``: its id (cloud < 0), ``name`` e.g. ``cell 3``."""

    __tablename__ = "venue_prices"
    __table_args__ = ({"sqlite_with_rowid": False},)

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    round: Mapped[int] = mapped_column(Integer, primary_key=True)
    venue: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(10))
    price: Mapped[float | None] = mapped_column(Float, nullable=True)
    volume: Mapped[float] = mapped_column(Float)
    supply: Mapped[float] = mapped_column(Float)
    dual: Mapped[float | None] = mapped_column(Float, nullable=True)
    dual_true: Mapped[float | None] = mapped_column(Float, nullable=True)
