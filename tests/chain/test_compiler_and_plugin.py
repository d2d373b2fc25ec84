"""Compilation on first use (cached by source hash) and the reusable pytest fixtures."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from ledger.chain import compiler
from ledger.chain.compiler import CompileError, load_artifacts
from ledger.chain.paths import solc_script
from ledger.chain.session import ChainSession
from ledger.chain.testing import expect_revert

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
def test_plugin_deploys_a_user_contract_beside_the_settlement_contracts(
    deploy: Any, accounts: Any, settlement_chain: ChainSession, tmp_path: Path
) -> None:
    """The plugin's ``deploy`` compiles a file with an OpenZeppelin import on the node the
    settlement contracts live on; custom errors and Ownable's refusal decode by name."""
    src = tmp_path / "Counter.sol"
    src.write_text(COUNTER)
    counter = deploy(src, accounts.deployer.address, sender=accounts.deployer)
    counter.bump(3, sender=accounts.deployer)
    assert counter.n() == 3
    with expect_revert("TooBig", 11):
        counter.bump(11, sender=accounts.deployer)
    with expect_revert("OwnableUnauthorizedAccount", accounts.alice.address):
        counter.bump(1, sender=accounts.alice)
    assert settlement_chain.call("token", "decimals") == 6


@pytest.mark.chain
def test_snapshot_fixture_changes_state(settlement_chain: ChainSession) -> None:
    settlement_chain.register_participants([1, 2], 5.0)
    settlement_chain.settle_round(77, 0, {1: -1.0, 2: 1.0}, [1, 1, 1, 1], None)
    assert settlement_chain.is_settled(77, 0)


@pytest.mark.chain
def test_snapshot_fixture_rolled_it_back(settlement_chain: ChainSession, w3: object) -> None:
    assert not settlement_chain.is_settled(77, 0)  # the previous test's round is gone
    assert settlement_chain.balances([1, 2]) == {1: 0, 2: 0}
    assert w3.eth.block_number == settlement_chain.block_number()  # type: ignore[attr-defined]
    # The plugin reverted behind the session's back: its nonces and cached account indices
    # were re-read, so the same round settles again.
    settlement_chain.register_participants([1, 2], 5.0)
    settlement_chain.settle_round(77, 0, {1: -1.0, 2: 1.0}, [1, 1, 1, 1], None)
    assert settlement_chain.is_settled(77, 0)
