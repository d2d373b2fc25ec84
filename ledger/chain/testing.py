"""pytest fixtures for contract tests on a real Anvil (a pytest plugin module).

Enable in your top-level ``conftest.py``::

    pytest_plugins = ["ledger.chain.testing"]

(or ``from ledger.chain.testing import *`` in a sub-folder's ``conftest.py``). Fixtures:

=====================  =========  ==========================================================
fixture                scope      what it gives
=====================  =========  ==========================================================
``anvil``              session    a running :class:`AnvilProcess` (``None`` with
                                  ``--chain-rpc-url``), stopped at the end even on failure
``chain_rpc_url``      session    the JSON-RPC URL tests talk to
``chain_contracts``    session    compiled project contracts (compiled once, cached)
``deployed_chain``     session    a :class:`ChainSession` with the contracts deployed
``chain``              function   ``deployed_chain``, rolled back after the test
                                  (``evm_snapshot`` / ``evm_revert``)
``actors``             function   :class:`Actor` wallets for Anvil dev keys 1..9 (ETH-funded;
                                  ``actors[i].fund_credits(x)`` mints them credits)
``deploy_contract``    function   factory: compile and deploy your own ``.sol`` file
``w3``                 session    a ``web3.Web3`` on the same node, for your own tooling
=====================  =========  ==========================================================

:func:`expect_revert` checks that a call reverts with a named custom error.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_utils import to_checksum_address

from ledger.chain.abi import ContractABI
from ledger.chain.accounts import ANVIL_KEYS
from ledger.chain.anvil import AnvilProcess
from ledger.chain.compiler import load_artifacts
from ledger.chain.deploy import ContractSet
from ledger.chain.errors import ContractRevert
from ledger.chain.session import ChainSession
from ledger.chain.tx import Sender, TxRequest
from ledger.units import to_base

__all__ = [
    "Actor",
    "DeployedContract",
    "actors",
    "anvil",
    "chain",
    "chain_contracts",
    "chain_rpc_url",
    "deploy_contract",
    "deployed_chain",
    "expect_revert",
    "pytest_addoption",
    "w3",
]


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--chain-rpc-url``: run chain tests against an external node instead of Anvil."""
    group = parser.getgroup("edgemarket-chain")
    with contextlib.suppress(ValueError):  # registered twice when imported into a conftest too
        group.addoption(
            "--chain-rpc-url",
            default=None,
            help="JSON-RPC URL of an existing dev node (must support evm_snapshot/evm_revert)",
        )


@contextlib.contextmanager
def expect_revert(name: str, *args: Any) -> Iterator[list[ContractRevert]]:
    """Assert that the block raises :class:`ContractRevert` ``name`` (and ``args`` if given).

    >>> with expect_revert("RoundAlreadySettled", 1, 0):
    ...     chain.settle_round(1, 0, ...)
    """
    caught: list[ContractRevert] = []
    try:
        yield caught
    except ContractRevert as exc:
        caught.append(exc)
        if exc.name != name:
            raise AssertionError(f"expected revert {name}, got {exc}") from exc
        if args and tuple(exc.error_args) != tuple(args):
            raise AssertionError(f"expected {name}{args}, got {exc}") from exc
        return
    raise AssertionError(f"expected revert {name}, but nothing reverted")


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
def anvil(request: pytest.FixtureRequest) -> Iterator[AnvilProcess | None]:
    """A session-wide Anvil, always stopped at the end (``None`` with ``--chain-rpc-url``)."""
    if request.config.getoption("--chain-rpc-url", default=None):
        yield None
        return
    proc = AnvilProcess(gas_limit=60_000_000)
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="session")
def chain_rpc_url(request: pytest.FixtureRequest, anvil: AnvilProcess | None) -> str:
    """The JSON-RPC URL of the test chain."""
    url = request.config.getoption("--chain-rpc-url", default=None)
    if url:
        return str(url)
    assert anvil is not None
    return anvil.rpc_url


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


@pytest.fixture(scope="session")
def w3(chain_rpc_url: str) -> Any:
    """A ``web3.Web3`` connected to the test chain (no signing middleware)."""
    from web3 import Web3

    return Web3(Web3.HTTPProvider(chain_rpc_url))


def accounts_of(actors_: Sequence[Actor]) -> list[str]:
    """Addresses of actors (a small helper for parametrized tests)."""
    return [a.address for a in actors_]
