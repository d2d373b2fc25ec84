"""`edgemarket ledger deploy --admin/--treasury/--operator`: three addresses, two-step admin."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.cli import main
from ledger.chain.accounts import ANVIL_KEYS
from ledger.chain.anvil import AnvilProcess
from ledger.chain.deploy import ContractSet, Deployment, role_id
from ledger.chain.session import ChainSession
from ledger.chain.tx import Sender

pytestmark = pytest.mark.chain


@pytest.fixture(scope="module")
def node() -> Iterator[AnvilProcess]:
    proc = AnvilProcess()
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


def test_deploy_gives_each_role_to_its_address(node: AnvilProcess, settlement_contracts: ContractSet,
                                               tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with ChainSession(node.rpc_url, contracts=settlement_contracts) as s:
        deployer, admin, treasury, operator = (Sender(s.rpc, k).address for k in ANVIL_KEYS[:4])
    target = tmp_path / "dep.json"
    main(["ledger", "deploy", "--rpc-url", node.rpc_url, "--out", str(target), "--admin", admin.lower(),
          "--treasury", treasury, "--operator", operator])
    assert f"admin hand-over started: {admin}" in capsys.readouterr().out
    dep = Deployment.from_dict(json.loads(target.read_text()))
    assert (dep.admin, dep.treasury, dep.operator) == (admin, treasury, operator)
    with ChainSession(node.rpc_url, contracts=settlement_contracts, deployment=dep) as s:
        assert s.call("settlement", "hasRole", role_id("OPERATOR_ROLE"), operator)
        assert not s.call("settlement", "hasRole", role_id("OPERATOR_ROLE"), deployer)
        assert s.call("token", "hasRole", role_id("TREASURY_ROLE"), treasury)
        assert not s.call("token", "hasRole", role_id("TREASURY_ROLE"), deployer)
        assert s.call("stakes", "hasRole", role_id("PAUSER_ROLE"), admin)
        # step one only: the deployer is admin until the admin accepts after the delay
        assert s.call("incentives", "pendingDefaultAdmin")[0] == admin
        assert s.call("incentives", "defaultAdmin") == deployer


@pytest.mark.parametrize("flag", ["--admin", "--treasury", "--operator"])
def test_bad_role_address_is_one_line_exit_2(node: AnvilProcess, flag: str, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["ledger", "deploy", "--rpc-url", node.rpc_url, "--out", str(tmp_path / "d.json"), flag, "0x1234"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {flag}") and "0x1234" in err and "\n" not in err
    assert not (tmp_path / "d.json").exists()
