"""Kill a real `edgemarket run` (SIGKILL or SIGINT) at each phase of settling, resume, reconcile.

The process kills itself through the `EDGEMARKET_FAULT` hook (:mod:`ledger.faults`), so the
signal lands exactly in the window under test. After the resume, every stored round must be
settled exactly once on chain, and every chain balance must equal both the balance of the
same run settled without a fault (on its own chain: the independent reference) and the
balance recomputed from the stored trades.

The default run covers three phases with SIGKILL and one with SIGINT; the whole matrix
(5 phases x 2 signals) runs with EDGEMARKET_FAULT_MATRIX=full.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from app.runner import run_simulation
from ledger.audit import expected_balances
from ledger.settle import RunSettler
from ledger.store import RunStore
from tests.settlement.conftest import kill_anvil

pytestmark = pytest.mark.chain
ROOT = Path(__file__).resolve().parents[2]
ROUNDS, SEED = 4, 5
# Unstaked sellers (brokers, the cloud) off: their SLA violations revert a batch until the
# contracts branch lands; this test is about crashes, not about that.
CONF = {"devices.count": 20, "nodes.count": 3, "snapshot_every": 0, "devices.broker_fraction": 0,
        "cloud.enabled": False}

DEFAULT = [("before_send:2", "KILL"), ("after_send:2", "KILL"), ("flush", "KILL"), ("after_send:3", "INT")]
FULL = [(p, s) for p in ("after_deploy", "before_send:2", "after_send:2", "flush", "claims")
        for s in ("KILL", "INT")]
CASES = [pytest.param(p, s, id=f"{p}-{s}") for p, s in DEFAULT] + [
    pytest.param(p, s, id=f"{p}-{s}", marks=[pytest.mark.slow, pytest.mark.skipif(
        os.environ.get("EDGEMARKET_FAULT_MATRIX") != "full", reason="full matrix: EDGEMARKET_FAULT_MATRIX=full")])
    for p, s in FULL if (p, s) not in DEFAULT
]


def _chain_view(store: RunStore, run_id: int) -> tuple[dict[int, int], dict[int, int], list[str], bool]:
    """(balances by agent id, RoundSettled events per round, audit problems, reconciled)."""
    settler = RunSettler.reopen(store, run_id)
    try:
        ids = [a.agent_id for a in store.accounts(run_id)]
        balances = settler.session.balances(ids)
        per_round: dict[int, int] = {}
        for ev in settler.session.events_since(settler.from_block):
            if ev.name == "RoundSettled" and ev.args["runId"] == run_id:
                per_round[int(ev.args["round"])] = per_round.get(int(ev.args["round"]), 0) + 1
        return balances, per_round, settler.audit_rounds(), settler.reconcile().ok
    finally:
        settler.close()


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[int, int]:
    """Chain balances of the same run settled without any fault, on a chain of its own."""
    store = RunStore(f"sqlite:///{tmp_path_factory.mktemp('ref') / 'ref.db'}")
    try:
        s = run_simulation("smart_city", overrides=CONF, seed=SEED, rounds=ROUNDS, store=store, chain="anvil")
        assert s.chain["reconciled"] is True and s.trades > 0
        return _chain_view(store, s.run_id)[0]
    finally:
        state = (store.get_run(1).chain_info or {}).get("state_file")
        if state:
            kill_anvil(state)
            Path(state).unlink(missing_ok=True)
        store.close()


@pytest.mark.parametrize(("phase", "sig"), CASES)
def test_killed_run_resumes_and_settles_every_round_once(phase: str, sig: str, reference: dict[int, int],
                                                         store: RunStore) -> None:
    db = str(store.engine.url)
    env = {**os.environ, "EDGEMARKET_FAULT": f"{phase}:{sig}" if ":" in phase else f"{phase}::{sig}",
           "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "app.cli", "run", "smart_city", "--rounds", str(ROUNDS), "--seed", str(SEED),
           "--db", db, "--quiet", *[f"--set={k}={v}" for k, v in CONF.items()]]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        _, err = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    run = store.list_runs(1)[0]
    if sig == "KILL":
        assert proc.returncode == -signal.SIGKILL, err
        assert run.status == "running"
    else:
        assert proc.returncode == 130, err
        assert f"interrupted: resume with edgemarket run --resume {run.id} --db {db}" in err
        assert "Traceback" not in err and run.status == "interrupted"

    resumed = run_simulation(store=store, resume_run_id=run.id)
    assert resumed.rounds == ROUNDS and store.get_run(run.id).status == "done"

    rows = store.settlements(run.id)
    assert [r.round for r in rows] == store.round_numbers(run.id) and len(rows) == ROUNDS
    assert all(r.status == "confirmed" for r in rows)
    balances, per_round, problems, reconciled = _chain_view(store, run.id)
    assert per_round == dict.fromkeys(store.round_numbers(run.id), 1)  # each round exactly once
    assert problems == [] and reconciled
    assert balances == reference  # the same as an uninterrupted run of the same seed
    recomputed = expected_balances(store, run.id)
    assert balances == {k: recomputed[k] for k in balances}
