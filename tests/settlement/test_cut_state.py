"""A run's chain state file cut short (Anvil killed while writing it) does not strand the run.

Resume restarts Anvil from the last complete dump the settler made itself and re-sends the
rounds that dump lacks; every round ends settled exactly once.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.runner import run_simulation
from ledger.settle import RunSettler
from ledger.store import RunStore

pytestmark = pytest.mark.chain
CONF = {"devices.count": 12, "nodes.count": 2, "snapshot_every": 0, "devices.broker_fraction": 0,
        "cloud.enabled": False}


class _Crash(Exception):
    pass


@pytest.mark.parametrize("cut", ["half", "empty"])
def test_resume_survives_a_state_file_cut_short(cut: str, store: RunStore) -> None:
    def crash(done: int, total: int) -> None:
        if done == 2:
            raise _Crash

    with pytest.raises(_Crash):
        run_simulation("smart_city", overrides=CONF, seed=3, rounds=3, store=store, chain="anvil", progress=crash)
    run = store.list_runs(1)[0]
    state = Path(run.chain_info["state_file"])
    data = state.read_bytes()
    state.write_bytes(data[: len(data) // 2] if cut == "half" else b"")

    s = run_simulation(store=store, resume_run_id=run.id)
    assert s.rounds == 3 and s.chain["reconciled"] is True
    settler = RunSettler.reopen(store, run.id)
    try:
        rounds = [int(e.args["round"]) for e in settler.session.events_since(settler.from_block)
                  if e.name == "RoundSettled"]
        assert sorted(rounds) == store.round_numbers(run.id)  # each exactly once
        assert settler.audit_rounds() == [] and settler.reconcile().ok
    finally:
        settler.close()
