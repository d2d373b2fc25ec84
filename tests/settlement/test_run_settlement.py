"""Settling whole simulation runs on a real Anvil: outbox, reconcile, and the two crash cases."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.runner import run_simulation
from ledger.settle import RunSettler
from ledger.store import RunStore
from tests.settlement.conftest import SMALL, anvil_pids, kill_anvil

pytestmark = pytest.mark.chain
ROOT = Path(__file__).resolve().parents[2]


def _reconcile(store: RunStore, run_id: int):
    settler = RunSettler.reopen(store, run_id)
    try:
        return settler.reconcile()
    finally:
        settler.close()


def test_every_round_is_recorded_pending_then_confirmed_and_reconciles(store: RunStore) -> None:
    s = run_simulation("smart_city", overrides=SMALL, seed=4, rounds=5, store=store, chain="anvil")
    rows = store.settlements(s.run_id)
    assert [r.round for r in rows] == sorted(r.round for r in rows) and len(rows) == 5
    assert all(r.status == "confirmed" and r.tx_hash and r.block and r.gas_used for r in rows)
    assert sum(r.n_trades for r in rows) == s.trades
    chain = s.chain
    assert chain["reconciled"] is True and chain["rounds_settled"] == 5
    assert chain["gas_used"] == sum(r.gas_used for r in rows)
    assert 0 < chain["incentives_paid_credits"] <= chain["incentive_pool_credits"]
    # The run's own chain is stopped at the end; it comes back from its state file.
    state = store.get_run(s.run_id).chain_info["state_file"]
    assert anvil_pids(state) == []
    assert _reconcile(store, s.run_id).ok


def test_same_seed_settles_the_same_batches(store: RunStore) -> None:
    a = run_simulation("smart_city", overrides=SMALL, seed=8, rounds=3, store=store, chain="anvil")
    b = run_simulation("smart_city", overrides=SMALL, seed=8, rounds=3, store=store, chain="anvil")
    strip = lambda p: {k: v for k, v in p.items() if k != "run_id"}  # noqa: E731
    pa = [strip(r.payload) for r in store.settlements(a.run_id)]
    pb = [strip(r.payload) for r in store.settlements(b.run_id)]
    assert pa == pb
    assert a.deterministic_dict() == b.deterministic_dict()


def test_anvil_killed_mid_run_is_restarted_and_nothing_is_lost_or_paid_twice(store: RunStore) -> None:
    killed = []

    def kill_at_round_3(done: int, total: int) -> None:
        if done == 3 and not killed:
            state = store.list_runs(1)[0].chain_info["state_file"]
            kill_anvil(state)
            killed.append(state)

    s = run_simulation("smart_city", overrides=SMALL, seed=6, rounds=6, store=store, chain="anvil",
                       progress=kill_at_round_3)
    assert killed, "the test did not kill anvil"
    assert s.chain["anvil_restarts"] >= 1
    rows = store.settlements(s.run_id)
    assert len(rows) == 6 and all(r.status == "confirmed" for r in rows)
    report = _reconcile(store, s.run_id)
    assert report.ok, report.diff()
    assert report.rounds == 6  # each round on chain exactly once


def test_run_process_killed_mid_run_resumes_and_reconciles(store: RunStore, tmp_path: Path) -> None:
    db = str(store.engine.url)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "app.cli", "run", "smart_city", "--rounds", "12", "--seed", "9",
           "--db", db, "--quiet", *[f"--set={k}={v}" for k, v in SMALL.items()]]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            runs = store.list_runs(1)
            if runs and len(store.settlements(runs[0].id, "confirmed")) >= 4:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the run did not settle 4 rounds in time")
        os.killpg(proc.pid, signal.SIGKILL)  # the whole process group: python and its anvil
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    run = store.list_runs(1)[0]
    assert run.status == "running" and run.rounds_done < 12

    done = subprocess.run([*cmd[:3], "run", "--resume", str(run.id), "--db", db, "--quiet"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    run = store.get_run(run.id)
    assert run.status == "done" and run.rounds_done == 12
    rows = store.settlements(run.id)
    assert len(rows) == 12 and all(r.status == "confirmed" for r in rows)

    check = subprocess.run([sys.executable, "-m", "app.cli", "ledger", "reconcile", str(run.id), "--db", db],
                           cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "agree" in check.stdout

    # The same run, uninterrupted, settles the very same batches.
    ref = run_simulation("smart_city", overrides=SMALL, seed=9, rounds=12, store=store, chain="none")
    assert ref.trades == sum(r.n_trades for r in rows)


def test_reconcile_reports_a_tampered_store_with_exit_1(store: RunStore) -> None:
    s = run_simulation("smart_city", overrides=SMALL, seed=3, rounds=2, store=store, chain="anvil")
    acct = store.accounts(s.run_id)[0]
    with store.engine.begin() as c:
        from sqlalchemy import update

        from ledger.store import AgentAccount

        c.execute(update(AgentAccount).where(AgentAccount.run_id == s.run_id, AgentAccount.agent_id == acct.agent_id)
                  .values(initial_base=acct.initial_base + 1))
    check = subprocess.run([sys.executable, "-m", "app.cli", "ledger", "reconcile", str(s.run_id),
                            "--db", str(store.engine.url)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert check.returncode == 1
    assert f"agent {acct.agent_id}" in check.stdout and "Traceback" not in check.stderr


def test_funding_chunks_never_move_a_zero_total() -> None:
    from ledger.chain.session import _funded_chunks

    amounts = [5] * 250 + [0] * 230  # many sellers with nothing to deposit, at the end
    chunks = _funded_chunks(amounts, 200)
    assert chunks[0][0] == 0 and chunks[-1][1] == len(amounts)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(chunks))
    assert all(sum(amounts[lo:hi]) > 0 for lo, hi in chunks)
    assert _funded_chunks([0, 0, 3], 1) == [(0, 3)]
