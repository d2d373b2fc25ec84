"""`edgemarket ledger ...` commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from ledger.chain.session import ChainSession

pytestmark = pytest.mark.chain


def test_demo_settles_verifies_and_reconciles(capsys: pytest.CaptureFixture[str]) -> None:
    main(["ledger", "demo", "--rounds", "2", "--trades", "100", "--participants", "20"])
    out = capsys.readouterr().out
    assert "round 1:" in out and "proven on chain: True" in out
    assert "all balances agree to the base unit" in out


def test_deploy_writes_addresses(settlement_chain: ChainSession, tmp_path: Path) -> None:
    target = tmp_path / "dep.json"
    main(["ledger", "deploy", "--rpc-url", settlement_chain.rpc_url, "--out", str(target)])
    dep = json.loads(target.read_text())
    assert set(dep) >= {"token", "settlement", "incentives", "stakes"} and dep["chain_id"] == 31337


def test_unreachable_node_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["ledger", "deploy", "--rpc-url", "http://127.0.0.1:9"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: http://127.0.0.1:9") and "\n" not in err


def test_compile_lists_contracts(capsys: pytest.CaptureFixture[str]) -> None:
    main(["ledger", "compile"])
    out = capsys.readouterr().out
    for name in ("EdgeCredit", "MarketSettlement", "ContributionIncentives", "StakeRegistry"):
        assert name in out
