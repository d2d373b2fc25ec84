"""The Anvil process manager: start/stop on errors and exits, restart from state, crashes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from ledger.chain.anvil import AnvilError, AnvilProcess, rpc_call
from ledger.chain.deploy import ContractSet
from ledger.chain.paths import REPO_ROOT
from ledger.chain.reconcile import reconcile
from ledger.chain.session import ChainSession

from .helpers import trades

pytestmark = pytest.mark.chain

PRICES = np.array([0.5, 0.1, 0.02, 1.25])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purposes
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except OSError:
        return False


def _wait_dead(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def state_file(tmp_path: Path) -> Path:
    return tmp_path / "chain" / "state.json"


def test_context_manager_stops_on_error() -> None:
    pid = None
    with pytest.raises(RuntimeError, match="boom"), AnvilProcess() as node:
        pid = node.pid
        assert rpc_call(node.rpc_url, "eth_chainId") == "0x7a69"
        raise RuntimeError("boom")
    assert pid is not None and _wait_dead(pid)
    assert not node.running


def test_missing_binary_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("EDGEMARKET_ANVIL", str(tmp_path / "nope"))
    with pytest.raises(AnvilError, match="npm install"):
        AnvilProcess().start()


def _settle(session: ChainSession, run: int, rnd: int) -> dict[int, int]:
    tr = trades(60, range(0, 10), range(10, 15), seed=rnd)
    from ledger.chain.encoding import net_trades

    net, fee = net_trades(tr)
    return session.settle_round(run, rnd, net, PRICES, tr, None, [], fee).deltas


def test_graceful_restart_keeps_rounds_balances_and_events(
    state_file: Path, settlement_contracts: ContractSet
) -> None:
    node = AnvilProcess(state_path=state_file)
    try:
        with ChainSession(anvil=node, contracts=settlement_contracts) as s:
            dep = s.deploy()
            s.register_participants(range(15), 100.0)
            _settle(s, 1, 0)
            _settle(s, 1, 1)
            before = s.balances(range(15))
        node.stop()  # SIGTERM: anvil writes the state file
        assert state_file.exists() and state_file.stat().st_size > 0
        node.start()
        with ChainSession(anvil=node, deployment=dep, contracts=settlement_contracts) as s2:
            assert s2.balances(range(15)) == before
            assert s2.is_settled(1, 0) and s2.is_settled(1, 1)
            report = reconcile(before, s2)
            assert report.ok, report.diff()  # events survived the restart too
            _settle(s2, 1, 2)  # and the chain goes on
    finally:
        node.kill()


def test_sigkill_then_restart_from_last_dump(state_file: Path, settlement_contracts: ContractSet) -> None:
    node = AnvilProcess(state_path=state_file, state_interval=1)
    try:
        with ChainSession(anvil=node, contracts=settlement_contracts) as s:
            dep = s.deploy()
            s.register_participants(range(15), 100.0)
            _settle(s, 2, 0)
            node.dump_state()  # an explicit dump (anvil_dumpState) ...
            _settle(s, 2, 1)
            time.sleep(2.2)  # ... and the periodic --state-interval 1 dump
            survived = s.balances(range(15))
            pid = node.pid
        node.kill()  # SIGKILL: no dump on exit
        assert pid is not None and _wait_dead(pid)
        node.start()
        with ChainSession(anvil=node, deployment=dep, contracts=settlement_contracts) as s2:
            assert s2.is_settled(2, 0) and s2.is_settled(2, 1)
            assert s2.balances(range(15)) == survived
            # re-sending a settled round is idempotent: same receipt, nothing applied twice
            tr = trades(60, range(0, 10), range(10, 15), seed=1)
            from ledger.chain.encoding import net_trades

            net, fee = net_trades(tr)
            again = s2.settle_round(2, 1, net, PRICES, tr, None, [], fee)
            assert again.already_settled
            assert s2.balances(range(15)) == survived
    finally:
        node.kill()


def test_sigkill_before_dump_loses_the_round_and_resend_settles_it(
    state_file: Path, settlement_contracts: ContractSet
) -> None:
    node = AnvilProcess(state_path=state_file)
    try:
        with ChainSession(anvil=node, contracts=settlement_contracts) as s:
            dep = s.deploy()
            s.register_participants(range(15), 100.0)
            node.dump_state()
            funded = s.balances(range(15))
            deltas = _settle(s, 3, 0)  # not dumped
        node.kill()
        node.start()
        with ChainSession(anvil=node, deployment=dep, contracts=settlement_contracts) as s2:
            assert not s2.is_settled(3, 0)
            assert s2.balances(range(15)) == funded
            resent = _settle(s2, 3, 0)  # the outbox re-sends it: same batch, applied once
            assert resent == deltas
            assert s2.balances(range(15)) == {k: v + deltas.get(k, 0) for k, v in funded.items()}
    finally:
        node.kill()


_CHILD = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {root!r})
    from ledger.chain.anvil import AnvilProcess
    node = AnvilProcess().start()
    print(node.pid, flush=True)
    mode = sys.argv[1]
    if mode == "exit":
        sys.exit(0)      # atexit stops anvil
    time.sleep(60)       # killed by the test
    """
)


@pytest.mark.parametrize("how", ["exit", "sigterm", "sigkill"])
def test_anvil_dies_with_its_owner(how: str, tmp_path: Path) -> None:
    script = tmp_path / "child.py"
    script.write_text(_CHILD.format(root=str(REPO_ROOT)))
    child = subprocess.Popen([sys.executable, str(script), how], stdout=subprocess.PIPE, text=True)
    anvil_pid = None
    try:
        assert child.stdout is not None
        anvil_pid = int(child.stdout.readline())
        if how == "sigterm":
            child.send_signal(signal.SIGTERM)
        elif how == "sigkill":
            child.kill()  # no Python cleanup at all: PR_SET_PDEATHSIG stops anvil
        child.wait(timeout=20)
        assert _wait_dead(anvil_pid), f"anvil {anvil_pid} outlived its owner ({how})"
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if anvil_pid is not None and _alive(anvil_pid):
            os.kill(anvil_pid, signal.SIGKILL)
