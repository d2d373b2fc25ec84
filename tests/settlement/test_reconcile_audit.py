"""`edgemarket ledger reconcile` recomputes from the stored trades and names a bad round.

Each test settles a small McAfee run (sellers get less than buyers pay, so the seller's
side matters) on a real Anvil, then breaks one thing: the outbox, a stored trade, or the
chain itself, and expects exit 1 with the round named.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

from app.runner import run_simulation
from ledger.store import RunStore, Settlement, TradeRow
from tests.settlement.conftest import SMALL

pytestmark = pytest.mark.chain
ROOT = Path(__file__).resolve().parents[2]
# No brokers, no cloud: an unstaked seller's SLA violation reverts the batch until the contracts branch lands.
MCAFEE = {**SMALL, "market.mechanism": "mcafee", "devices.broker_fraction": 0, "cloud.enabled": False}


def _reconcile(store: RunStore, run_id: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app.cli", "ledger", "reconcile", str(run_id),
                           "--db", str(store.engine.url)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def _run(store: RunStore, progress=None) -> int:  # type: ignore[no-untyped-def]
    s = run_simulation("smart_city", overrides=MCAFEE, seed=3, rounds=3, store=store, chain="anvil",
                       progress=progress)
    assert s.chain["reconciled"] is True and s.trades > 0
    return s.run_id


def test_untouched_run_reconciles_with_exit_0(store: RunStore) -> None:
    rid = _run(store)
    out = _reconcile(store, rid)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "agree" in out.stdout and "round" not in out.stdout.split("agree", 1)[1]


def test_deleted_settlement_row_names_the_round(store: RunStore) -> None:
    rid = _run(store)
    with store.engine.begin() as c:
        c.execute(delete(Settlement).where(Settlement.run_id == rid, Settlement.round == 2))
    out = _reconcile(store, rid)
    assert out.returncode == 1
    assert "round 2: no settlement" in out.stdout and "Traceback" not in out.stderr


def test_altered_stored_trade_names_the_round_and_the_accounts(store: RunStore) -> None:
    rid = _run(store)
    with store.engine.begin() as c:
        buyer, qty = c.execute(select(TradeRow.buyer, TradeRow.quantity)
                               .where(TradeRow.run_id == rid, TradeRow.round == 2, TradeRow.idx == 0)).one()
        c.execute(update(TradeRow).where(TradeRow.run_id == rid, TradeRow.round == 2, TradeRow.idx == 0)
                  .values(quantity=qty * 2))
    out = _reconcile(store, rid)
    assert out.returncode == 1
    assert "round 2: Merkle root" in out.stdout
    assert f"agent {buyer} " in out.stdout  # its recomputed balance no longer matches the chain


def test_round_missing_on_chain_names_the_round(store: RunStore, tmp_path: Path) -> None:
    """The chain is put back to its state after round 2: round 3 is stored but not on chain."""
    from ledger.chain import anvil as anvil_mod

    copy = tmp_path / "after-round-2.json"

    def keep_state_after_round_2(done: int, total: int) -> None:
        if done == 2:
            state = store.list_runs(1)[0].chain_info["state_file"]
            proc = next(p for p in list(anvil_mod._RUNNING) if str(p.state_path) == state)
            # Sending is pipelined: round 2's transactions are sent but may not be mined yet.
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                pool = anvil_mod.rpc_call(proc.rpc_url, "txpool_status")
                if int(pool["pending"], 16) == 0 and int(pool["queued"], 16) == 0:
                    break
                time.sleep(0.05)
            copy.write_bytes(anvil_mod._decode_dump(anvil_mod.rpc_call(proc.rpc_url, "anvil_dumpState")))

    rid = _run(store, keep_state_after_round_2)
    Path(store.get_run(rid).chain_info["state_file"]).write_bytes(copy.read_bytes())
    out = _reconcile(store, rid)
    assert out.returncode == 1
    assert "round 3: settled 0 times on chain" in out.stdout
    assert "round 1:" not in out.stdout and "round 2:" not in out.stdout
