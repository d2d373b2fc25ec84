"""Read-side queries of the run store for the front ends (the Streamlit pages, the bench).

Every function takes an `Engine` (or `Connection`) first, aggregates in SQL with
SQLAlchemy 2 Core selects and returns a small pandas DataFrame (or a dict / list). No
function loads every trade or every snapshot of a run: per-round lines come from the
`rounds` table, curves and balances from GROUP BY over the `(run_id, round)` indexes, and
agent maps sample devices deterministically (`agent_id % step == 0`) so a frame stays
drawable. Units follow the store: prices in credits per unit, money in credits (settlement
amounts converted from base units), positions in metres, latency in ms.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from typing import Any

import pandas as pd
from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    Float,
    Integer,
    case,
    cast,
    distinct,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.sql import Select

from ledger.store.models import (
    RESOURCE_SUFFIXES,
    AgentAccount,
    Evaluation,
    OrderCurveRow,
    QoAISRow,
    RoundRow,
    Run,
    Settlement,
    Snapshot,
    TradeRow,
    TrainingPoint,
)
from ledger.units import BASE_UNITS_PER_CREDIT
from market.resources import RESOURCE_NAMES

RESOURCES: tuple[str, ...] = RESOURCE_NAMES
QOAIS_DIMENSIONS: tuple[str, ...] = (
    "performance", "connection", "data", "computation", "security", "orchestration",
)
DEVICE_KINDS = frozenset({"device", "devices", "ue", "user"})

Bind = Engine | Connection


# ----------------------------------------------------------------------------- helpers
@contextlib.contextmanager
def _connect(bind: Bind) -> Iterator[Connection]:
    if isinstance(bind, Connection):
        yield bind
    else:
        with bind.connect() as conn:
            yield conn


def _frame(bind: Bind, stmt: Select[Any]) -> pd.DataFrame:
    """Run a select and return its rows as a DataFrame (columns named after the select)."""
    with _connect(bind) as conn:
        result = conn.execute(stmt)
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def _scalar(bind: Bind, stmt: Select[Any]) -> Any:
    with _connect(bind) as conn:
        return conn.execute(stmt).scalar()


def _weighted(col: Any, weight: Any) -> Any:
    """SUM(col * weight) / SUM(weight), NULL when the weights sum to zero."""
    total = func.sum(weight)
    return case((total > 0, func.sum(col * weight) / cast(total, Float)), else_=None)


# --------------------------------------------------------------------------------- runs
def list_runs(bind: Bind, limit: int = 200) -> pd.DataFrame:
    """The newest runs: id, scenario, mechanism, seed, status, rounds, chain, label, times."""
    stmt = (
        select(Run.id, Run.scenario, Run.mechanism, Run.seed, Run.status, Run.rounds_done,
               Run.rounds_planned, Run.chain, Run.label, Run.created_at, Run.wall_s)
        .order_by(Run.id.desc()).limit(limit)
    )
    return _frame(bind, stmt)


def run_info(bind: Bind, run_id: int) -> dict[str, Any] | None:
    """Every column of one run (scenario JSON and summary included), or None."""
    with _connect(bind) as conn:
        row = conn.execute(select(Run.__table__).where(Run.id == run_id)).mappings().first()
    return dict(row) if row else None


def run_stamp(bind: Bind, run_id: int) -> str:
    """A short version token of a run's data (rounds done, status): a cache key part."""
    with _connect(bind) as conn:
        row = conn.execute(select(Run.rounds_done, Run.status).where(Run.id == run_id)).first()
    return "missing" if row is None else f"{row[0]}:{row[1]}"


def run_overview(bind: Bind, run_id: int) -> dict[str, Any]:
    """Headline figures of a run, aggregated over its rounds table.

    Keys: rounds, trades, welfare, optimal_welfare, efficiency (welfare / optimum),
    efficiency_mean (mean of per-round efficiencies), requests, served, sla_rate and
    qoais (request-weighted), handovers, volume_<resource> (units), mean_price_<resource>.
    """
    r = RoundRow
    stmt = select(
        func.count().label("rounds"),
        func.coalesce(func.sum(r.n_trades), 0).label("trades"),
        func.coalesce(func.sum(r.welfare), 0.0).label("welfare"),
        func.coalesce(func.sum(r.optimal_welfare), 0.0).label("optimal_welfare"),
        func.avg(r.efficiency).label("efficiency_mean"),
        func.coalesce(func.sum(r.n_requests), 0).label("requests"),
        func.coalesce(func.sum(r.n_served), 0).label("served"),
        _weighted(r.sla_rate, r.n_requests).label("sla_rate"),
        _weighted(r.qoais_overall, r.n_requests).label("qoais"),
        func.coalesce(func.sum(r.handovers), 0).label("handovers"),
        *(func.coalesce(func.sum(getattr(r, f"volume_{s}")), 0.0).label(f"volume_{n}")
          for s, n in zip(RESOURCE_SUFFIXES, RESOURCES, strict=True)),
        *(func.avg(getattr(r, f"price_{s}")).label(f"mean_price_{n}")
          for s, n in zip(RESOURCE_SUFFIXES, RESOURCES, strict=True)),
    ).where(r.run_id == run_id)
    with _connect(bind) as conn:
        out = dict(conn.execute(stmt).mappings().one())
    opt = out["optimal_welfare"] or 0.0
    out["efficiency"] = out["welfare"] / opt if opt > 0 else None
    return out


# ------------------------------------------------------------------------------- market
def price_series(bind: Bind, run_id: int) -> pd.DataFrame:
    """Long format, one row per (round, resource): price, eq_price (NULL when not computed),
    volume and unmet demand (units of the resource)."""
    r = RoundRow
    parts = [
        select(
            r.round.label("round"), literal(name).label("resource"),
            getattr(r, f"price_{s}").label("price"), getattr(r, f"eq_price_{s}").label("eq_price"),
            getattr(r, f"volume_{s}").label("volume"), getattr(r, f"unmet_{s}").label("unmet"),
        ).where(r.run_id == run_id)
        for s, name in zip(RESOURCE_SUFFIXES, RESOURCES, strict=True)
    ]
    u = union_all(*parts).subquery()
    df = _frame(bind, select(u).order_by(u.c.round, u.c.resource))
    for col in ("price", "eq_price", "volume", "unmet"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
    return df


def round_series(bind: Bind, run_id: int) -> pd.DataFrame:
    """One row per round: welfare, optimum, efficiency, payments, trades, requests, SLA,
    overall QoAIS, handovers and wall time (everything in `rounds` but the prices), and the
    honest welfare figures (allocative efficiency, allocative and delivered welfare, the
    pool-wide optimum; NULL where not computed)."""
    r = RoundRow
    stmt = select(
        r.round, r.welfare, r.optimal_welfare, r.efficiency, r.buyer_payments, r.seller_revenue,
        r.platform_surplus, r.n_trades, r.n_requests, r.n_served, r.sla_rate, r.qoais_overall,
        r.handovers, r.wall_ms,
        r.allocative_efficiency, r.allocative_welfare, r.delivered_welfare, r.pool_optimum,
    ).where(r.run_id == run_id).order_by(r.round)
    return _frame(bind, stmt)


def round_range(bind: Bind, run_id: int) -> tuple[int, int] | None:
    """(first, last) round stored for a run, or None when it has none."""
    with _connect(bind) as conn:
        lo, hi = conn.execute(
            select(func.min(RoundRow.round), func.max(RoundRow.round)).where(RoundRow.run_id == run_id)
        ).one()
    return None if lo is None else (int(lo), int(hi))


def round_market(bind: Bind, run_id: int, rnd: int) -> pd.DataFrame:
    """Per resource at one round: price, eq_price, volume, unmet, n_trades (from trades)."""
    df = price_series_at(bind, run_id, rnd)
    t = TradeRow
    counts = _frame(bind, select(t.resource, func.count().label("n_trades"))
                    .where(t.run_id == run_id, t.round == rnd).group_by(t.resource))
    n = dict(zip(counts["resource"].astype(int), counts["n_trades"].astype(int), strict=True)) if len(counts) else {}
    df["n_trades"] = [n.get(i, 0) for i in range(len(RESOURCES))]
    return df


def price_series_at(bind: Bind, run_id: int, rnd: int) -> pd.DataFrame:
    """The four resources' price, eq_price, volume and unmet at one round."""
    r = RoundRow
    cols = [c for s in RESOURCE_SUFFIXES for c in
            (f"price_{s}", f"eq_price_{s}", f"volume_{s}", f"unmet_{s}")]
    with _connect(bind) as conn:
        row = conn.execute(select(*(getattr(r, c) for c in cols))
                           .where(r.run_id == run_id, r.round == rnd)).mappings().first()
    vals = dict(row) if row is not None else {}
    recs = [{"resource": name, "price": vals.get(f"price_{s}"), "eq_price": vals.get(f"eq_price_{s}"),
             "volume": vals.get(f"volume_{s}") or 0.0, "unmet": vals.get(f"unmet_{s}") or 0.0}
            for s, name in zip(RESOURCE_SUFFIXES, RESOURCES, strict=True)]
    df = pd.DataFrame.from_records(recs)
    for col in ("price", "eq_price"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
    return df


def order_curve(bind: Bind, run_id: int, rnd: int, resource: int) -> pd.DataFrame:
    """One round's pooled order-book curves of a resource (``agents.curves``): columns
    side ("demand" or "supply"), quantity (cumulative units) and price (credits per unit),
    in step order. Empty when the run stored no curves for that round."""
    c = OrderCurveRow
    stmt = (select(c.side, c.quantity, c.price)
            .where(c.run_id == run_id, c.round == rnd, c.resource == resource)
            .order_by(c.side, c.step))
    df = _frame(bind, stmt)
    df["side"] = df["side"].map({0: "demand", 1: "supply"})
    return df


def curve_rounds(bind: Bind, run_id: int) -> int:
    """How many rounds of a run have stored order-book curves."""
    c = OrderCurveRow
    stmt = select(func.count(distinct(c.round))).where(c.run_id == run_id)
    with _connect(bind) as conn:
        return int(conn.execute(stmt).scalar_one())


def trade_steps(bind: Bind, run_id: int, rnd: int, resource: int, max_steps: int = 200) -> pd.DataFrame:
    """The realised trades of one round and resource as price-quantity steps.

    Trades are grouped by unit price (bucketed into at most `max_steps` equal-width price
    bins when they spread wider), giving per step: price (quantity-weighted mean, credits
    per unit), quantity (units) and n_trades, sorted by price. Cumulating the quantity by
    descending price gives the served demand steps; by ascending price, the supply steps.
    """
    t = TradeRow
    where = (t.run_id == run_id, t.round == rnd, t.resource == resource)
    with _connect(bind) as conn:
        lo, hi, n_prices = conn.execute(
            select(func.min(t.price), func.max(t.price), func.count(distinct(t.price))).where(*where)
        ).one()
    if lo is None:
        return pd.DataFrame({"price": [], "quantity": [], "n_trades": []})
    if n_prices <= max_steps or hi <= lo:
        key = t.price
    else:
        width = (hi - lo) / max_steps
        key = func.min(cast((t.price - lo) / width, Integer), max_steps - 1)
    stmt = (
        select((func.sum(t.price * t.quantity) / func.sum(t.quantity)).label("price"),
               func.sum(t.quantity).label("quantity"), func.count().label("n_trades"))
        .where(*where).group_by(key).order_by(func.min(t.price))
    )
    df = _frame(bind, stmt)
    if n_prices <= max_steps or hi <= lo:
        # zero-quantity groups give a NULL weighted mean; use the group's own price
        df["price"] = df["price"].fillna(float(lo))
    return df


def compare_runs(bind: Bind, run_ids: Sequence[int]) -> pd.DataFrame:
    """One row per run: scenario, mechanism, seed, rounds, trades, welfare, efficiency,
    SLA rate, QoAIS and per-resource mean price (credits/unit) and total volume (units)."""
    rows = []
    for rid in run_ids:
        info = run_info(bind, rid)
        if info is None:
            continue
        ov = run_overview(bind, rid)
        rows.append({"run": rid, "scenario": info["scenario"], "mechanism": info["mechanism"],
                     "seed": info["seed"], **ov})
    return pd.DataFrame.from_records(rows)


# ------------------------------------------------------------------------------- QoAIS
def qoais_profile(bind: Bind, run_id: int, first_round: int | None = None,
                  last_round: int | None = None) -> pd.DataFrame:
    """Per service class: the six QoAIS dimensions, overall and SLA rate in [0, 1]
    (request-weighted means over the chosen rounds), requests and served."""
    q = QoAISRow
    where = [q.run_id == run_id]
    if first_round is not None:
        where.append(q.round >= first_round)
    if last_round is not None:
        where.append(q.round <= last_round)
    # weight by requests; a class with no requests at all still gets a plain mean
    w = q.n_requests + literal(1e-9)
    stmt = (
        select(q.service_class,
               *(_weighted(getattr(q, d), w).label(d) for d in (*QOAIS_DIMENSIONS, "overall", "sla_rate")),
               func.sum(q.n_requests).label("n_requests"), func.sum(q.n_served).label("n_served"))
        .where(*where).group_by(q.service_class).order_by(q.service_class)
    )
    return _frame(bind, stmt)


def qoais_series(bind: Bind, run_id: int) -> pd.DataFrame:
    """The per-class per-round QoAIS rows of a run (rounds x classes rows): SLA rate,
    overall, requests, mean and p95 latency (ms), reliability and accuracy in [0, 1]."""
    q = QoAISRow
    stmt = select(
        q.round, q.service_class, q.n_requests, q.n_served, q.sla_rate, q.overall,
        q.latency_ms_mean, q.latency_ms_p95, q.reliability, q.accuracy,
    ).where(q.run_id == run_id).order_by(q.round, q.service_class)
    return _frame(bind, stmt)


# ------------------------------------------------------------------------------ agents
def snapshot_rounds(bind: Bind, run_id: int) -> list[int]:
    """The rounds at which agent snapshots were stored."""
    with _connect(bind) as conn:
        rows = conn.execute(select(Snapshot.round).distinct().where(Snapshot.run_id == run_id)
                            .order_by(Snapshot.round)).scalars().all()
    return [int(r) for r in rows]


def _is_device(col: Any) -> Any:
    return col.in_(sorted(DEVICE_KINDS))


def device_count(bind: Bind, run_id: int, rnd: int) -> int:
    s = Snapshot
    return int(_scalar(bind, select(func.count()).where(
        s.run_id == run_id, s.round == rnd, _is_device(s.kind))) or 0)


def sample_step(n_devices: int, max_devices: int) -> int:
    """The modulus that keeps about `max_devices` of `n_devices` (1 keeps all)."""
    return max(1, math.ceil(n_devices / max(1, max_devices)))


def snapshot_at(bind: Bind, run_id: int, rnd: int, max_devices: int = 5000) -> pd.DataFrame:
    """Agents at one snapshot round: agent_id, kind, x_m, y_m, attached, utilization.

    Every non-device agent (edge nodes, brokers) is returned; devices are sampled by
    `agent_id % step == 0` to at most about `max_devices` (the same devices every round).
    The frame's `attrs["step"]` holds the sampling step, `attrs["n_devices"]` the total.
    """
    s = Snapshot
    n_dev = device_count(bind, run_id, rnd)
    step = sample_step(n_dev, max_devices)
    keep = ~_is_device(s.kind) if step == 1 else (~_is_device(s.kind)) | (s.agent_id % step == 0)
    stmt = (select(s.agent_id, s.kind, s.x_m, s.y_m, s.attached, s.utilization)
            .where(s.run_id == run_id, s.round == rnd) .order_by(s.agent_id))
    if step > 1:
        stmt = stmt.where(keep)
    df = _frame(bind, stmt)
    df.attrs.update(step=step, n_devices=n_dev)
    return df


def snapshot_frames(bind: Bind, run_id: int, max_devices: int = 600) -> pd.DataFrame:
    """Agents at every snapshot round for an animation, devices sampled as in `snapshot_at`
    (same ids every round, so a device can be followed). Columns as `snapshot_at` plus round."""
    rounds = snapshot_rounds(bind, run_id)
    if not rounds:
        return pd.DataFrame(columns=["round", "agent_id", "kind", "x_m", "y_m", "attached", "utilization"])
    s = Snapshot
    n_dev = device_count(bind, run_id, rounds[0])
    step = sample_step(n_dev, max_devices)
    stmt = (select(s.round, s.agent_id, s.kind, s.x_m, s.y_m, s.attached, s.utilization)
            .where(s.run_id == run_id, (~_is_device(s.kind)) | (s.agent_id % step == 0))
            .order_by(s.round, s.agent_id))
    df = _frame(bind, stmt)
    df.attrs.update(step=step, n_devices=n_dev)
    return df


def node_load(bind: Bind, run_id: int, rnd: int) -> pd.DataFrame:
    """Per attachment point at one round: attached (node id), devices attached, mean device
    utilization, and the node's own kind and utilization (when the node is in the snapshot)."""
    s = Snapshot
    dev = _frame(bind, select(s.attached.label("attached"), func.count().label("devices"),
                              func.avg(s.utilization).label("device_utilization"))
                 .where(s.run_id == run_id, s.round == rnd, _is_device(s.kind)).group_by(s.attached))
    nodes = _frame(bind, select(s.agent_id.label("attached"), s.kind.label("node_kind"),
                                s.utilization.label("node_utilization"))
                   .where(s.run_id == run_id, s.round == rnd, ~_is_device(s.kind)))
    df = dev.merge(nodes, on="attached", how="left")
    return df.sort_values("devices", ascending=False, kind="stable").reset_index(drop=True)


# ------------------------------------------------------------------------------ ledger
def settlements(bind: Bind, run_id: int) -> pd.DataFrame:
    """The settlement outbox of a run (payloads left out): round, status, n_trades,
    netted volume in credits, tx hash, block, gas used, created and confirmed times."""
    st = Settlement
    stmt = select(
        st.round, st.status, st.n_trades,
        (cast(st.netted_base, Float) / BASE_UNITS_PER_CREDIT).label("netted_credits"),
        st.tx_hash, st.block, st.gas_used, st.created_at, st.confirmed_at,
    ).where(st.run_id == run_id).order_by(st.round)
    df = _frame(bind, stmt)
    for col in ("block", "gas_used"):
        df[col] = df[col].astype("Int64")
    return df


def settlement_totals(bind: Bind, run_id: int) -> dict[str, Any]:
    """Counts of confirmed and pending settlements, total gas, netted credits and trades."""
    st = Settlement
    stmt = select(
        func.count().label("settlements"),
        func.coalesce(func.sum(case((st.status == "confirmed", 1), else_=0)), 0).label("confirmed"),
        func.coalesce(func.sum(case((st.status != "confirmed", 1), else_=0)), 0).label("pending"),
        func.coalesce(func.sum(st.gas_used), 0).label("gas_used"),
        func.coalesce(func.sum(st.netted_base), 0).label("netted_base"),
        func.coalesce(func.sum(st.n_trades), 0).label("n_trades"),
        func.max(st.block).label("last_block"),
    ).where(st.run_id == run_id)
    with _connect(bind) as conn:
        out = dict(conn.execute(stmt).mappings().one())
    out["netted_credits"] = out["netted_base"] / BASE_UNITS_PER_CREDIT
    return out


def trade_flows(bind: Bind, run_id: int) -> pd.DataFrame:
    """Per agent over the whole run, from its trades: sold and bought (credits, price x
    quantity summed in SQL), net = sold - bought, and the number of trades."""
    t = TradeRow
    value = func.sum(t.price * t.quantity)
    sold = _frame(bind, select(t.seller.label("agent_id"), value.label("sold_credits"), func.count().label("n_sold"))
                  .where(t.run_id == run_id).group_by(t.seller))
    bought = _frame(bind, select(t.buyer.label("agent_id"), value.label("bought_credits"), func.count().label("n_bought"))
                    .where(t.run_id == run_id).group_by(t.buyer))
    df = sold.merge(bought, on="agent_id", how="outer").fillna(0.0)
    df["trades"] = (df.pop("n_sold") + df.pop("n_bought")).astype(int)
    df["net_credits"] = df["sold_credits"] - df["bought_credits"]
    return df


def settled_deltas(bind: Bind, run_id: int) -> pd.DataFrame:
    """Per agent: the sum of its netted deltas over the run's *confirmed* settlements
    (`payload["deltas_by_agent"]`, base units) and the number of rounds it appears in.

    Summed in SQL with the database's JSON table function (`json_each` on SQLite,
    `json_each_text` on PostgreSQL); other databases fall back to reading the payloads.
    """
    st = Settlement
    where = (st.run_id == run_id, st.status == "confirmed")
    dialect = bind.dialect.name
    if dialect in ("sqlite", "postgresql"):
        if dialect == "sqlite":
            j = func.json_each(st.payload, "$.deltas_by_agent").table_valued("key", "value").alias("j")
        else:
            j = func.json_each_text(st.payload["deltas_by_agent"]).table_valued("key", "value").alias("j")
        stmt = (select(cast(j.c.key, BigInteger).label("agent_id"),
                       func.sum(cast(j.c.value, BigInteger)).label("delta_base"), func.count().label("rounds"))
                .select_from(st).join(j, literal(True)).where(*where).group_by(j.c.key))
        return _frame(bind, stmt)
    totals: dict[int, list[int]] = {}
    with _connect(bind) as conn:
        for (payload,) in conn.execute(select(st.payload).where(*where)):
            for k, v in (payload or {}).get("deltas_by_agent", {}).items():
                t = totals.setdefault(int(k), [0, 0])
                t[0] += int(v)
                t[1] += 1
    return pd.DataFrame([(k, v[0], v[1]) for k, v in totals.items()], columns=["agent_id", "delta_base", "rounds"])


def account_balances(bind: Bind, run_id: int) -> pd.DataFrame:
    """Escrow balances the store implies, per agent: kind, address, initial deposit, net
    settled credits (sum of confirmed deltas) and balance = initial + net, in credits,
    largest |net| first. This is the "expected" side of a reconciliation with the chain."""
    a = AgentAccount
    accounts = _frame(bind, select(a.agent_id, a.kind, a.address, a.initial_base).where(a.run_id == run_id))
    deltas = settled_deltas(bind, run_id)
    df = accounts.merge(deltas, on="agent_id", how="outer")
    df = df.fillna({"initial_base": 0, "delta_base": 0, "rounds": 0, "kind": "", "address": ""})
    df["initial_credits"] = df.pop("initial_base").astype(float) / BASE_UNITS_PER_CREDIT
    df["net_credits"] = df.pop("delta_base").astype(float) / BASE_UNITS_PER_CREDIT
    df["balance_credits"] = df["initial_credits"] + df["net_credits"]
    df["rounds"] = df["rounds"].astype(int)
    df = df.reindex(columns=["agent_id", "kind", "address", "initial_credits", "net_credits",
                             "balance_credits", "rounds"])
    return df.iloc[df["net_credits"].abs().argsort(kind="stable")[::-1]].reset_index(drop=True)


def incentives_and_slashes(bind: Bind, run_id: int) -> dict[str, pd.DataFrame]:
    """What the run's settlements paid into incentives and what they slashed, from the
    payloads (only the small `fee`, `contributions` and `violations` parts are read):

    - "fees": round, fee_credits (the platform fee funding the incentives pool),
    - "contributions": account (address), agent_id, kind, work_units (attested work, summed
      over the run; rewards are paid from the pool pro rata on chain),
    - "violations": round, node / buyer (addresses and agent ids), amount_credits (slashed
      from the node's stake to compensate the buyer).
    """
    st = Settlement
    stmt = (select(st.round, st.payload["fee"].label("fee"), st.payload["contributions"].label("contributions"),
                   st.payload["violations"].label("violations"))
            .where(st.run_id == run_id, st.status == "confirmed").order_by(st.round))
    from ledger.chain.encoding import unpack_entry  # the packed-entry layout lives there

    fees, contrib, viol = [], [], []
    with _connect(bind) as conn:
        for rnd, fee, contributions, violations in conn.execute(stmt):
            fees.append((int(rnd), int(fee or 0) / BASE_UNITS_PER_CREDIT))
            for entry in contributions or []:
                addr, units = unpack_entry(int(entry))
                contrib.append((addr, units / 10**6))
            for node, buyer, amount in violations or []:
                viol.append((int(rnd), str(node).lower(), str(buyer).lower(), int(amount) / BASE_UNITS_PER_CREDIT))
    a = AgentAccount
    book = _frame(bind, select(func.lower(a.address).label("address"), a.agent_id, a.kind).where(a.run_id == run_id))
    c = pd.DataFrame(contrib, columns=["account", "work_units"])
    c = c.groupby("account", as_index=False)["work_units"].sum().sort_values("work_units", ascending=False)
    c = c.merge(book.rename(columns={"address": "account"}), on="account", how="left")
    v = pd.DataFrame(viol, columns=["round", "node", "buyer", "amount_credits"])
    ids = dict(zip(book["address"], book["agent_id"], strict=True))
    v["node_id"] = v["node"].map(ids)
    v["buyer_id"] = v["buyer"].map(ids)
    return {"fees": pd.DataFrame(fees, columns=["round", "fee_credits"]),
            "contributions": c.reindex(columns=["agent_id", "kind", "account", "work_units"]).reset_index(drop=True),
            "violations": v}


def trade_count(bind: Bind, run_id: int, rnd: int) -> int:
    """Trades stored for one round."""
    t = TradeRow
    return int(_scalar(bind, select(func.count()).where(t.run_id == run_id, t.round == rnd)) or 0)


def trade_at(bind: Bind, run_id: int, rnd: int, idx: int) -> dict[str, Any] | None:
    """One trade by (round, index in the round): buyer, seller, resource, quantity, price."""
    t = TradeRow
    with _connect(bind) as conn:
        row = conn.execute(select(t.round, t.idx, t.buyer, t.seller, t.resource, t.quantity, t.price)
                           .where(t.run_id == run_id, t.round == rnd, t.idx == idx)).mappings().first()
    return dict(row) if row else None


def round_trades(bind: Bind, run_id: int, rnd: int) -> pd.DataFrame:
    """Every trade of one round in stored order (buyer, seller, resource, quantity, price):
    what a Merkle proof of one of them needs (one round only: thousands of rows)."""
    t = TradeRow
    return _frame(bind, select(t.buyer, t.seller, t.resource, t.quantity, t.price)
                  .where(t.run_id == run_id, t.round == rnd).order_by(t.idx))


def settled_rounds(bind: Bind, run_id: int) -> list[int]:
    """Rounds whose settlement is confirmed."""
    st = Settlement
    with _connect(bind) as conn:
        return [int(r) for r in conn.execute(select(st.round).where(
            st.run_id == run_id, st.status == "confirmed").order_by(st.round)).scalars()]


# ---------------------------------------------------------------------------- learning
def learning_stamp(bind: Bind) -> str:
    """A version token of the training and evaluation tables (a cache key part)."""
    with _connect(bind) as conn:
        a = conn.execute(select(func.count(), func.max(TrainingPoint.id))).one()
        b = conn.execute(select(func.count(), func.max(Evaluation.id))).one()
    return f"{a[0]}:{a[1]}:{b[0]}:{b[1]}"


def training_sessions(bind: Bind) -> pd.DataFrame:
    """Training sessions: session, scenario, policies, iterations, env steps, wall time (s)."""
    t = TrainingPoint
    stmt = (select(t.session, func.min(t.scenario).label("scenario"),
                   func.count(distinct(t.policy)).label("policies"),
                   func.max(t.iteration).label("iterations"), func.max(t.env_steps).label("env_steps"),
                   func.max(t.time_s).label("time_s"), func.max(t.created_at).label("created_at"))
            .group_by(t.session).order_by(func.max(t.created_at).desc()))
    return _frame(bind, stmt)


def training_curves(bind: Bind, session: str) -> pd.DataFrame:
    """Points of a session's training curves: policy, iteration, reward_mean, env_steps, time_s."""
    t = TrainingPoint
    stmt = (select(t.policy, t.iteration, t.reward_mean, t.env_steps, t.time_s)
            .where(t.session == session).order_by(t.policy, t.iteration))
    return _frame(bind, stmt)


def evaluation_sessions(bind: Bind) -> pd.DataFrame:
    """Evaluation sessions: session, scenarios, pricing strategies, rows."""
    e = Evaluation
    stmt = (select(e.session, func.min(e.scenario).label("scenario"),
                   func.count(distinct(e.pricing)).label("strategies"), func.count().label("rows"),
                   func.max(e.created_at).label("created_at"))
            .group_by(e.session).order_by(func.max(e.created_at).desc()))
    return _frame(bind, stmt)


def evaluation_summary(bind: Bind, session: str | None = None) -> pd.DataFrame:
    """Per (scenario, pricing strategy): seeds, mean welfare (credits), mean and min/max of
    the welfare share (of the equilibrium's welfare), provider profit (credits), QoAIS and
    SLA rate; best share first."""
    e = Evaluation
    stmt = select(
        e.scenario, e.pricing, func.count(distinct(e.seed)).label("seeds"),
        func.avg(e.welfare).label("welfare"), func.avg(e.welfare_share).label("welfare_share"),
        func.min(e.welfare_share).label("welfare_share_min"), func.max(e.welfare_share).label("welfare_share_max"),
        func.avg(e.provider_profit).label("provider_profit"), func.avg(e.qoais).label("qoais"),
        func.avg(e.sla_rate).label("sla_rate"),
    ).group_by(e.scenario, e.pricing).order_by(e.scenario, func.avg(e.welfare_share).desc())
    if session is not None:
        stmt = stmt.where(e.session == session)
    return _frame(bind, stmt)


def evaluation_prices(bind: Bind, session: str | None = None) -> pd.DataFrame:
    """Mean price per resource (credits/unit) by pricing strategy, from the evaluations'
    `mean_price` JSON (the evaluations table is small: rows are aggregated here)."""
    e = Evaluation
    stmt = select(e.pricing, e.mean_price)
    if session is not None:
        stmt = stmt.where(e.session == session)
    with _connect(bind) as conn:
        rows = conn.execute(stmt).all()
    recs = [{"pricing": p, "resource": str(k), "price": float(v)}
            for p, mp in rows if isinstance(mp, dict) for k, v in mp.items()
            if isinstance(v, int | float) and not isinstance(v, bool)]
    df = pd.DataFrame.from_records(recs, columns=["pricing", "resource", "price"])
    return df.groupby(["pricing", "resource"], as_index=False)["price"].mean() if len(df) else df


def qoais_indicators(bind: Bind, run_id: int, first_round: int | None = None,
                     last_round: int | None = None) -> pd.DataFrame:
    """Per service class and QoAIS indicator: dimension and mean score over the chosen
    rounds (rounds where the class had served requests the indicator applies to)."""
    from ledger.store.models import QoAISIndicatorRow as qi

    where = [qi.run_id == run_id]
    if first_round is not None:
        where.append(qi.round >= first_round)
    if last_round is not None:
        where.append(qi.round <= last_round)
    stmt = (select(qi.service_class, qi.dimension, qi.indicator, func.avg(qi.value).label("value"),
                   func.count().label("rounds"))
            .where(*where).group_by(qi.service_class, qi.dimension, qi.indicator)
            .order_by(qi.service_class))
    return _frame(bind, stmt)


def venue_prices_at(bind: Bind, run_id: int, rnd: int) -> pd.DataFrame:
    """Per venue and offered resource at one round: clearing price beside the LP duals,
    volume and supply (ledger/store/venue_rows.py; empty for runs stored before 0008)."""
    from ledger.store.venue_rows import venue_price_frame

    return venue_price_frame(bind, run_id, rnd)
