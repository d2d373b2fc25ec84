"""Compilation on first use (cached by source hash) and the reusable pytest fixtures."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ledger.chain import compiler
from ledger.chain.compiler import CompileError, load_artifacts
from ledger.chain.paths import solc_script
from ledger.chain.session import ChainSession
from ledger.chain.testing import Actor, expect_revert
from ledger.chain.tx import TxRequest

COUNTER = """// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
contract Counter is Ownable {
    uint256 public n;
    error TooBig(uint256 by);
    event Bumped(uint256 n);
    constructor(address owner) Ownable(owner) {}
    function bump(uint256 by) external onlyOwner {
        if (by > 10) revert TooBig(by);
        n += by;
        emit Bumped(n);
    }
}
"""


def test_solc_script_looks_like_native_solc() -> None:
    out = subprocess.run([str(solc_script()), "--version"], capture_output=True, text=True, check=True).stdout
    assert "Version: 0.8." in out


def test_first_use_compiles_then_reads_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEMARKET_DATA", str(tmp_path))
    arts = load_artifacts()
    assert {"EdgeCredit", "MarketSettlement", "ContributionIncentives", "StakeRegistry"} <= set(arts)
    assert len(list((tmp_path / "artifacts").glob("*.json"))) == 1

    def no_compiler(_: object) -> None:
        raise AssertionError("should have used the cache")

    monkeypatch.setattr(compiler, "compile_sources", no_compiler)
    assert load_artifacts()["MarketSettlement"].abi == arts["MarketSettlement"].abi


def test_changed_source_recompiles_and_errors_are_readable(tmp_path: Path) -> None:
    src = tmp_path / "Counter.sol"
    src.write_text(COUNTER)
    assert "Counter" in load_artifacts([src])
    src.write_text(COUNTER.replace("n += by;", "n += by"))
    with pytest.raises(CompileError, match=r"Counter\.sol"):
        load_artifacts([src])


@pytest.mark.chain
def test_deploy_contract_fixture_for_user_contracts(
    deploy_contract: object, chain: ChainSession, actors: list[Actor], tmp_path: Path
) -> None:
    src = tmp_path / "Counter.sol"
    src.write_text(COUNTER)
    counter = deploy_contract(src, "Counter", chain.operator)  # type: ignore[operator]
    counter.transact("bump", 3)
    assert counter.call("n") == 3
    with expect_revert("TooBig", 11):
        counter.transact("bump", 11)
    with expect_revert("OwnableUnauthorizedAccount", actors[0].address):
        actors[0].sender.transact(TxRequest(counter.address, counter.abi.encode("bump", 1), 100_000))


@pytest.mark.chain
def test_snapshot_fixture_changes_state(chain: ChainSession) -> None:
    chain.register_participants([1, 2], 5.0)
    chain.settle_round(77, 0, {1: -1.0, 2: 1.0}, [1, 1, 1, 1], None)
    assert chain.is_settled(77, 0)


@pytest.mark.chain
def test_snapshot_fixture_rolled_it_back(chain: ChainSession, w3: object) -> None:
    assert not chain.is_settled(77, 0)  # the previous test's round is gone
    assert chain.balances([1, 2]) == {1: 0, 2: 0}
    assert w3.eth.block_number == chain.block_number()  # type: ignore[attr-defined]
