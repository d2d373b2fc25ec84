"""ledger.store.queries: the read-side aggregations agree with the raw rows they summarise."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select
from synthetic_runs import fill_run

from ledger.store import RunStore, Settlement, TradeRow
from ledger.store import queries as q


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunStore, int, int]:
    s = RunStore(f"sqlite:///{tmp_path_factory.mktemp('q') / 'q.db'}")
    settled = fill_run(s, mechanism="uniform", seed=1, rounds=9, n_devices=60, n_nodes=5, n_trades=80,
                       snapshot_every=3)
    spread = fill_run(s, mechanism="mcafee", seed=2, rounds=3, n_trades=300, settle=False, eq_prices=False)
    return s, settled, spread


def raw_trades(s: RunStore, run_id: int) -> pd.DataFrame:
    with s.engine.connect() as c:
        return pd.read_sql(select(TradeRow.__table__).where(TradeRow.run_id == run_id), c)


def test_overview_matches_the_rows(store):
    s, run, _ = store
    ov = q.run_overview(s.engine, run)
    t = raw_trades(s, run)
    assert ov["rounds"] == 9 and ov["trades"] == len(t)
    rs = q.round_series(s.engine, run)
    assert ov["efficiency"] == pytest.approx(rs["welfare"].sum() / rs["optimal_welfare"].sum())
    vol = q.price_series(s.engine, run).groupby("resource")["volume"].sum()
    assert ov["volume_computation"] == pytest.approx(vol["computation"])
    assert vol["computation"] == pytest.approx(t.loc[t.resource == 2, "quantity"].sum())


def test_trade_steps_group_by_price_and_bucket_wide_spreads(store):
    s, run, spread = store
    steps = q.trade_steps(s.engine, run, 4, 1)            # uniform price: one step
    t = raw_trades(s, run)
    sel = t[(t["round"] == 4) & (t.resource == 1)]
    assert len(steps) == 1 and steps["quantity"].iloc[0] == pytest.approx(sel.quantity.sum())
    many = q.trade_steps(s.engine, spread, 1, 0)          # discriminatory prices: one step each
    t2 = raw_trades(s, spread)
    sel2 = t2[(t2["round"] == 1) & (t2.resource == 0)]
    assert len(many) == sel2.price.nunique() and many["price"].is_monotonic_increasing
    few = q.trade_steps(s.engine, spread, 1, 0, max_steps=5)
    assert len(few) <= 5 and few["quantity"].sum() == pytest.approx(sel2.quantity.sum())
    vwap = (sel2.price * sel2.quantity).sum() / sel2.quantity.sum()
    assert (few.price * few.quantity).sum() / few.quantity.sum() == pytest.approx(vwap)


def test_qoais_profile_is_request_weighted(store):
    s, run, _ = store
    series = q.qoais_series(s.engine, run)
    with s.engine.connect() as c:
        raw = pd.read_sql(f"SELECT * FROM qoais WHERE run_id = {run}", c)
    prof = q.qoais_profile(s.engine, run).set_index("service_class")
    for cls, d in raw.groupby("service_class"):
        expected = np.average(d["security"], weights=d["n_requests"])
        assert prof.loc[cls, "security"] == pytest.approx(expected)
    window = q.qoais_profile(s.engine, run, 2, 3)
    assert window["n_requests"].sum() == series[series["round"].between(2, 3)]["n_requests"].sum()


def test_snapshots_are_sampled_consistently(store):
    s, run, _ = store
    assert q.snapshot_rounds(s.engine, run) == [0, 3, 6]
    full = q.snapshot_at(s.engine, run, 3)
    assert full.attrs["step"] == 1 and (full["kind"] == "device").sum() == 60
    part = q.snapshot_at(s.engine, run, 3, max_devices=20)
    dev = part[part["kind"] == "device"]
    assert part.attrs["step"] == 3 and len(dev) == 20 and (dev["agent_id"] % 3 == 0).all()
    assert (part["kind"] == "edge_node").sum() == 5          # every node kept
    frames = q.snapshot_frames(s.engine, run, max_devices=20)
    ids = frames[frames["kind"] == "device"].groupby("round")["agent_id"].apply(frozenset)
    assert ids.nunique() == 1                                # the same devices every frame
    load = q.node_load(s.engine, run, 3)
    assert load["devices"].sum() == 60 and load["node_kind"].eq("edge_node").all()


def test_balances_follow_the_confirmed_payloads(store):
    s, run, _ = store
    bal = q.account_balances(s.engine, run)
    confirmed = s.settlements(run, "confirmed")
    expected: dict[int, int] = {}
    for st in confirmed:
        for k, v in st.payload["deltas_by_agent"].items():
            expected[int(k)] = expected.get(int(k), 0) + v
    got = dict(zip(bal["agent_id"], np.rint(bal["net_credits"] * 1e6).astype(int), strict=True))
    assert {k: v for k, v in got.items() if v} == {k: v for k, v in expected.items() if v}
    fees = q.incentives_and_slashes(s.engine, run)["fees"]
    assert bal["net_credits"].sum() == pytest.approx(-fees["fee_credits"].sum())  # deltas sum to -fee
    assert (bal["initial_credits"] == 100).all() and len(bal) == 65


def test_settled_deltas_sql_and_python_paths_agree(store, monkeypatch):
    s, run, _ = store
    sql = q.settled_deltas(s.engine, run).sort_values("agent_id").reset_index(drop=True)
    monkeypatch.setattr(type(s.engine.dialect), "name", "other-db")
    py = q.settled_deltas(s.engine, run).sort_values("agent_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(sql, py, check_dtype=False)


def test_incentives_and_slashes_decode_the_payloads(store):
    s, run, _ = store
    inc = q.incentives_and_slashes(s.engine, run)
    c = inc["contributions"]
    assert list(c["agent_id"]) == [64, 63, 62, 61, 60] and c["work_units"].iloc[0] == pytest.approx(8 * 5.5)
    v = inc["violations"]
    assert list(v["round"]) == [0, 3, 6] and (v["node_id"] == 60).all() and (v["buyer_id"] == 0).all()
    assert v["amount_credits"].sum() == pytest.approx(1.5)


def test_trade_flows_and_settlement_totals(store):
    s, run, _ = store
    t = raw_trades(s, run)
    flows = q.trade_flows(s.engine, run).set_index("agent_id")
    assert flows.loc[0, "bought_credits"] == pytest.approx((t.price * t.quantity)[t.buyer == 0].sum())
    assert flows["trades"].sum() == 2 * len(t)
    tot = q.settlement_totals(s.engine, run)
    with s.engine.connect() as c:
        gas = c.execute(select(Settlement.gas_used).where(Settlement.run_id == run)).scalars().all()
    assert tot["confirmed"] == 8 and tot["pending"] == 1 and tot["gas_used"] == sum(g for g in gas if g)
    assert q.settled_rounds(s.engine, run) == list(range(8))
    assert len(q.round_trades(s.engine, run, 2)) == q.trade_count(s.engine, run, 2) == 80
    assert q.trade_at(s.engine, run, 2, 5)["idx"] == 5
