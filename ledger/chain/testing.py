"""Contract-testing helpers and the project's own chain fixtures (``ledger.chain.testing``).

For your own contracts, use the plugin :mod:`ledger.chain.pytest_plugin` (active once
edgemarket is installed, or ``pytest -p ledger.chain.pytest_plugin``): fixtures ``chain``,
``accounts``, ``deploy``; this module re-exports its helpers so tests import them from one
place::

    from ledger.chain.testing import expect_revert, expect_emit, Panic

What stays here is for the edgemarket settlement contracts (older API, kept working; a
top-level ``conftest.py`` may still say ``pytest_plugins = ["ledger.chain.testing"]``):

=====================  =========  ==========================================================
fixture                scope      what it gives
=====================  =========  ==========================================================
``anvil``              session    (the plugin's) a running :class:`AnvilProcess`
``chain_rpc_url``      session    (the plugin's) the JSON-RPC URL tests talk to
``w3``                 session    (the plugin's) a ``web3.Web3`` on the same node
``chain_contracts``    session    compiled project contracts (compiled once, cached)
``deployed_chain``     session    a :class:`ChainSession` with the contracts deployed
``chain``              function   ``deployed_chain``, rolled back after the test
                                  (``evm_snapshot`` / ``evm_revert``); note: *not* the
                                  plugin's ``chain``
``actors``             function   :class:`Actor` wallets for Anvil dev keys 1..9 (ETH-funded;
                                  ``actors[i].fund_credits(x)`` mints them credits)
``deploy_contract``    function   factory: compile and deploy your own ``.sol`` file
=====================  =========  ==========================================================
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_utils import to_checksum_address

from ledger.chain.abi import ContractABI
from ledger.chain.accounts import ANVIL_KEYS
from ledger.chain.compiler import load_artifacts
from ledger.chain.contractkit import (
    Account,
    Accounts,
    Chain,
    Contract,
    EventList,
    Panic,
    Receipt,
    expect_emit,
    expect_revert,
)
from ledger.chain.deploy import ContractSet
from ledger.chain.pytest_plugin import anvil, chain_rpc_url, pytest_addoption, w3
from ledger.chain.session import ChainSession
from ledger.chain.tx import Sender, TxRequest
from ledger.units import to_base

__all__ = [
    "Account",
    "Accounts",
    "Actor",
    "Chain",
    "Contract",
    "DeployedContract",
    "EventList",
    "Panic",
    "Receipt",
    "actors",
    "anvil",
    "chain",
    "chain_contracts",
    "chain_rpc_url",
    "deploy_contract",
    "deployed_chain",
    "expect_emit",
    "expect_revert",
    "pytest_addoption",
    "w3",
]


class Actor:
    """A development wallet with its own key: acts as a non-operator user in tests."""

    def __init__(self, session: ChainSession, private_key: str) -> None:
        self.session = session
        self.sender = Sender(session.rpc, private_key, decoder=session.contracts.decoder)
        self.address: str = self.sender.address

    def transact(self, contract: str, fn: str, *args: Any, gas: int = 500_000) -> dict[str, Any]:
        """Send ``fn(args)`` to one of the session's contracts from this wallet."""
        name, address = self.session._contract(contract)
        return self.sender.transact(
            TxRequest(address, self.session.contracts[name].encode(fn, *args), gas)
        )

    def call(self, contract: str, fn: str, *args: Any) -> Any:
        """Read a view function as this wallet (``msg.sender`` = this address)."""
        name, address = self.session._contract(contract)
        abi = self.session.contracts[name].fn(fn)
        return abi.decode_output(self.sender.call(address, abi.encode(*args)))

    def fund_credits(self, credits: float, *, approve: str | None = "settlement") -> int:
        """Mint ``credits`` to this wallet (by the treasury) and approve ``approve``'s contract."""
        amount = to_base(credits)
        self.session.transact("token", "mint", self.address, amount)
        if approve:
            _, spender = self.session._contract(approve)
            self.transact("token", "approve", spender, amount)
        return amount

    def __repr__(self) -> str:
        return f"Actor({self.address})"


@dataclass
class DeployedContract:
    """A contract deployed by :func:`deploy_contract`."""

    name: str
    address: str
    abi: ContractABI
    sender: Sender

    def call(self, fn: str, *args: Any) -> Any:
        """Read a view function."""
        f = self.abi.fn(fn)
        return f.decode_output(self.sender.call(self.address, f.encode(*args)))

    def transact(self, fn: str, *args: Any, gas: int = 1_000_000) -> dict[str, Any]:
        """Send a transaction from the deployer (raises :class:`ContractRevert`)."""
        return self.sender.transact(TxRequest(self.address, self.abi.encode(fn, *args), gas))


@pytest.fixture(scope="session")
def chain_contracts() -> ContractSet:
    """The project's compiled contracts (compiled on first use, cached under data/)."""
    return ContractSet()


@pytest.fixture(scope="session")
def deployed_chain(chain_rpc_url: str, chain_contracts: ContractSet) -> Iterator[ChainSession]:
    """A session with the four contracts deployed once for the whole test session."""
    session = ChainSession(chain_rpc_url, contracts=chain_contracts)
    try:
        session.deploy()
        yield session
    finally:
        session.close()


@pytest.fixture
def chain(deployed_chain: ChainSession) -> Iterator[ChainSession]:
    """The deployed session; every change a test makes is reverted afterwards."""
    deployed_chain.sender.resync_nonce()  # in case something else used the operator's key
    snap = deployed_chain.snapshot()
    try:
        yield deployed_chain
    finally:
        deployed_chain.revert(snap)


@pytest.fixture
def actors(chain: ChainSession) -> list[Actor]:
    """Wallets for Anvil's development keys 1..9 (key 0 is the operator)."""
    return [Actor(chain, key) for key in ANVIL_KEYS[1:]]


@pytest.fixture
def deploy_contract(chain: ChainSession) -> Any:
    """Factory: ``deploy_contract("path/My.sol", "My", *ctor_args)`` -> :class:`DeployedContract`.

    The file is compiled with the project's settings (it may import ``@openzeppelin/...`` and
    ``contracts/src/...``), cached, and deployed by the operator on the test chain; it is
    rolled back with the test.
    """

    def factory(path: str | Path, name: str, *args: Any, gas: int = 8_000_000) -> DeployedContract:
        artifacts = load_artifacts([Path(path)])
        if name not in artifacts:
            raise KeyError(f"{name} not found in {path}; compiled: {sorted(artifacts)}")
        art = artifacts[name]
        abi = ContractABI(art.abi, name)
        chain.contracts.decoder.add(abi)
        receipt = chain.sender.transact(
            TxRequest(None, abi.encode_constructor(art.bytecode, *args), gas)
        )
        return DeployedContract(
            name, to_checksum_address(receipt["contractAddress"]), abi, chain.sender
        )

    return factory


def accounts_of(actors_: Sequence[Actor]) -> list[str]:
    """Addresses of actors (a small helper for parametrized tests)."""
    return [a.address for a in actors_]
