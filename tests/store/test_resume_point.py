"""A resume never keeps a stored round that has no settlement in the outbox.

Older runs (and any crash between a round's commit and its outbox row under the old order)
could leave a stored round that was never settled; resuming past it lost it for good.
"""

from __future__ import annotations

from app.runner import resume_point, run_simulation
from ledger.store import RunStore

SMALL = {"devices.count": 8, "nodes.count": 2, "snapshot_every": 0}


def test_resume_restarts_at_the_first_stored_round_without_an_outbox_row(sqlite_url: str) -> None:
    store = RunStore(sqlite_url)
    s = run_simulation("smart_city", overrides=SMALL, seed=2, rounds=4, store=store)
    numbers = store.round_numbers(s.run_id)
    assert len(numbers) == 4
    for rnd in (numbers[0], numbers[2]):  # the second round's row never made it to the outbox
        store.add_pending_settlement(s.run_id, rnd, {"violations": []}, n_trades=0, netted_base=0)
    assert resume_point(store, s.run_id, "anvil") == 1
    assert store.round_numbers(s.run_id) == numbers[:1]  # rounds 2.. are replayed and re-settled
    store.close()


def test_off_chain_resume_keeps_every_stored_round(sqlite_url: str) -> None:
    store = RunStore(sqlite_url)
    s = run_simulation("smart_city", overrides=SMALL, seed=2, rounds=3, store=store)
    assert resume_point(store, s.run_id, "none") == 3
    assert len(store.round_numbers(s.run_id)) == 3
    store.close()
