"""A chain the program did not start needs an explicit operator key; its own Anvil does not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from eth_account import Account

from ledger.chain.anvil import AnvilProcess, rpc_call
from ledger.store import RunStore

ROOT = Path(__file__).resolve().parents[2]
SMALL = ["--set=devices.count=8", "--set=nodes.count=2", "--set=snapshot_every=0",
         "--set=devices.broker_fraction=0", "--set=cloud.enabled=false"]


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    e = {k: v for k, v in os.environ.items() if k != "EDGEMARKET_OPERATOR_KEY"}
    return subprocess.run([sys.executable, "-m", "app.cli", "run", "smart_city", "--rounds", "2", "--quiet",
                           *SMALL, *args], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**e, **(env or {})})


@pytest.mark.chain
def test_external_chain_without_a_key_is_refused_before_anything_is_stored(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    with AnvilProcess() as anvil:
        for flags in (["--chain", anvil.rpc_url], ["--rpc-url", anvil.rpc_url]):
            out = _run("--db", f"sqlite:///{db}", *flags)
            assert out.returncode == 2, out.stderr
            lines = out.stderr.strip().splitlines()
            assert len(lines) == 1 and "--key-file" in lines[0] and "Traceback" not in out.stderr
        assert int(rpc_call(anvil.rpc_url, "eth_blockNumber"), 16) == 0  # nothing was sent
    assert not db.exists()  # checked before the store is even opened


@pytest.mark.chain
def test_external_chain_signs_with_the_given_key_only(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    acct = Account.create()
    key_file = tmp_path / "operator.key"
    key_file.write_text(acct.key.hex() + "\n")
    with AnvilProcess() as anvil:
        rpc_call(anvil.rpc_url, "anvil_setBalance", [acct.address, hex(10**20)])
        out = _run("--db", db, "--rpc-url", anvil.rpc_url, "--key-file", str(key_file))
        assert out.returncode == 0, out.stderr
        n = int(rpc_call(anvil.rpc_url, "eth_blockNumber"), 16)
        # Every transaction of every block (a block may be empty: Anvil can mine one without any).
        senders = {tx["from"].lower() for b in range(1, n + 1)
                   for tx in rpc_call(anvil.rpc_url, "eth_getBlockByNumber", [hex(b), True])["transactions"]}
        assert senders == {acct.address.lower()}  # never Anvil's development key
        # The same through the environment variable.
        out = _run("--db", db, "--chain", anvil.rpc_url, env={"EDGEMARKET_OPERATOR_KEY": acct.key.hex()})
        assert out.returncode == 0, out.stderr
    store = RunStore(db)
    assert [r.status for r in store.list_runs()] == ["done", "done"]
    store.close()


@pytest.mark.parametrize(("args", "field"), [
    (["--chain", "htp://x"], "--chain"),
    (["--chain", "http://127.0.0.1:99999"], "--chain"),
    (["--chain", "http://127.0.0.1:8545", "--key-file", "/nonexistent/key"], "--key-file"),
])
def test_bad_chain_or_key_file_exits_2_before_a_run_row(args: list[str], field: str, tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    out = _run("--db", f"sqlite:///{db}", *args)
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and field in lines[0]
    assert not db.exists()
