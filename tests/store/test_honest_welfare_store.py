"""The honest welfare figures of each round land in the store (rounds table, migration
0006) and the run summary, equal to what the model reported."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from agents.model import EdgeMarketModel
from agents.scenario import small
from app.runner import run_simulation
from ledger.store import RoundRow, RunStore

SMALL = {"devices.count": 40, "nodes.count": 4, "snapshot_every": 2, "market.optimum_every": 1}


def test_rounds_store_allocative_efficiency_and_delivered_welfare(sqlite_url: str) -> None:
    store = RunStore(sqlite_url, flush_every=2)
    s = run_simulation("smart_city", overrides=SMALL, seed=4, rounds=3, store=store)
    with store.engine.connect() as c:
        rows = c.execute(select(RoundRow.allocative_efficiency, RoundRow.delivered_welfare,
                                RoundRow.pool_optimum).where(RoundRow.run_id == s.run_id)
                         .order_by(RoundRow.round)).all()
    model = EdgeMarketModel(small("smart_city", **{k.replace(".", "__"): v
                                                   for k, v in SMALL.items()}), seed=4)
    want = [model.step() for _ in range(3)]
    assert [r[0] for r in rows] == pytest.approx([w.allocative_efficiency for w in want])
    assert [r[1] for r in rows] == pytest.approx([w.delivered_welfare for w in want])
    assert [r[2] for r in rows] == pytest.approx([w.pool_optimum for w in want])
    assert s.allocative_efficiency_mean == pytest.approx(
        sum(w.allocative_efficiency for w in want) / 3)
    assert s.delivered_welfare_total == pytest.approx(sum(w.delivered_welfare for w in want))
