"""Ledger page against a real chain: a small run settled on the embedded Anvil, then the
page's reconciliation and Merkle inclusion check (each starts Anvil from a copy of the run's
chain state); a tampered store is caught by both."""

from __future__ import annotations

import json
import re

import pytest
from app_driver import metrics, no_exception, texts
from sqlalchemy import update

from ledger.chain.paths import anvil_binary
from ledger.store import RunStore, Settlement, TradeRow

pytestmark = [
    pytest.mark.chain,
    pytest.mark.skipif(not anvil_binary().exists(), reason=f"no anvil at {anvil_binary()} (npm ci)"),
]


@pytest.fixture(scope="module")
def chain_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, int]:
    from app.runner import run_simulation

    url = f"sqlite:///{tmp_path_factory.mktemp('chain') / 'store.db'}"
    s = run_simulation("smart_city", overrides={"devices.count": 30, "nodes.count": 3, "snapshot_every": 0},
                       seed=1, rounds=5, db_url=url, chain="anvil")
    assert s.chain["reconciled"]
    return url, s.run_id


def test_settled_run_reconciles_and_proves_a_trade(app_at, chain_run):
    url, run_id = chain_run
    at = app_at(url, "ledger", run_id)
    no_exception(at)
    m = metrics(at)
    assert m["Settled rounds"] == "5" and m["Pending"] == "0"
    at.button(key="reconcile").click().run()
    no_exception(at)
    assert "Store and chain agree" in texts(at, "success")
    at.selectbox(key="proof_round").set_value(3)
    at.number_input(key="proof_idx").set_value(2)
    at.button(key="verify").click().run()
    no_exception(at)
    assert "Included" in texts(at, "success")


def test_a_tampered_store_is_caught(app_at, chain_run, tmp_path):
    url, run_id = chain_run
    src = RunStore(url)
    copy = f"sqlite:///{tmp_path / 'tampered.db'}"
    with src.engine.connect() as c:                      # an exact copy of the store
        c.exec_driver_sql(f"VACUUM INTO '{tmp_path / 'tampered.db'}'")
    bad = RunStore(copy)
    st = bad.settlements(run_id, "confirmed")[2]
    payload = json.loads(json.dumps(st.payload))
    agent = next(iter(payload["deltas_by_agent"]))
    payload["deltas_by_agent"][agent] += 1               # one base unit off
    with bad.engine.begin() as c:
        c.execute(update(Settlement).where(Settlement.run_id == run_id, Settlement.round == st.round)
                  .values(payload=payload))
        c.execute(update(TradeRow).where(TradeRow.run_id == run_id, TradeRow.round == 3, TradeRow.idx == 0)
                  .values(price=TradeRow.price * 2))
    at = app_at(copy, "ledger", run_id)
    at.button(key="reconcile").click().run()
    no_exception(at)
    # Reconcile recomputes balances from the stored trades (the altered payload is no longer
    # the reference): the doubled trade price moves at least its buyer and its seller, and
    # with them the fee pool and whatever else the round's netting touches.
    found = re.search(r"differ on (\d+) accounts", texts(at, "error"))
    assert found and int(found.group(1)) >= 2
    at.selectbox(key="proof_round").set_value(3)
    at.button(key="verify").click().run()
    no_exception(at)
    assert "Not included" in texts(at, "error")
