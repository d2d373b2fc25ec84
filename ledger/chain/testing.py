"""Contract-testing helpers, in one place for test modules to import them from.

The fixtures are the pytest plugin's (:mod:`ledger.chain.pytest_plugin`, active once
edgemarket is installed, or ``pytest -p ledger.chain.pytest_plugin``): ``chain``,
``accounts`` and ``deploy`` for your own contracts, and ``settlement_chain``,
``settlement_actors``, ``settlement_session`` and ``settlement_contracts`` for edgemarket's
settlement contracts. This module re-exports the assertion helpers::

    from ledger.chain.testing import expect_revert, expect_emit, Panic

and defines :class:`Actor`, the wallet type of ``settlement_actors``.
"""

from __future__ import annotations

from typing import Any

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
from ledger.chain.session import ChainSession
from ledger.chain.tx import Sender, TxRequest
from ledger.units import to_base

__all__ = [
    "Account",
    "Accounts",
    "Actor",
    "Chain",
    "Contract",
    "EventList",
    "Panic",
    "Receipt",
    "expect_emit",
    "expect_revert",
]


class Actor:
    """A development wallet with its own key: acts as a non-operator user of the settlement
    contracts in tests (the plugin's ``settlement_actors``)."""

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
