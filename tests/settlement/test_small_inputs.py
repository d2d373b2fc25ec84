"""Rounds with no requests at all (0 or 1 device, 0 nodes, activity 0) run, store and settle.

The reference is the arithmetic of an empty market: with no request nothing can trade, so
requests, trades and welfare are all zero, and the settled chain still reconciles.
"""

from __future__ import annotations

import pytest

from app.runner import run_simulation
from ledger.store import RunStore

NO_ACTIVITY = {f"service_classes.{c}.activity_prob": 0 for c in ("xr", "robot", "driving", "medicine")}

CASES = {
    "no_devices": {"devices.count": 0, "nodes.count": 2},
    "no_devices_no_nodes": {"devices.count": 0, "nodes.count": 0},
    "one_device": {"devices.count": 1, "nodes.count": 2},
    "no_nodes": {"devices.count": 5, "nodes.count": 0},
    "activity_zero": {"devices.count": 5, "nodes.count": 2, **NO_ACTIVITY},
}
EMPTY = {"no_devices", "no_devices_no_nodes", "activity_zero"}


@pytest.mark.parametrize("case", sorted(CASES))
def test_small_inputs_run_without_a_chain(case: str, store: RunStore) -> None:
    s = run_simulation("smart_city", overrides={**CASES[case], "snapshot_every": 0}, seed=1, rounds=3,
                       store=store, chain="none")
    assert s.rounds == 3 and store.get_run(s.run_id).status == "done"
    assert store.rounds_stored(s.run_id) == 3
    if case in EMPTY:
        assert (s.requests, s.trades, s.served, s.welfare_total) == (0, 0, 0, 0.0)
    else:
        assert s.requests > 0


@pytest.mark.chain
def test_round_with_zero_requests_settles_and_reconciles(store: RunStore) -> None:
    s = run_simulation("smart_city", overrides={**CASES["activity_zero"], "snapshot_every": 0}, seed=2,
                       rounds=2, store=store, chain="anvil")
    assert s.trades == 0 and s.chain["reconciled"] is True
    assert [r.status for r in store.settlements(s.run_id)] == ["confirmed", "confirmed"]
