"""Named, funded dev accounts for contract tests (see :mod:`ledger.chain.contractkit`)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from eth_typing import ChecksumAddress
from eth_utils import to_checksum_address

from ledger.chain.accounts import ANVIL_KEYS

if TYPE_CHECKING:
    from ledger.chain.contract_events import Receipt
    from ledger.chain.contractkit import Chain

ACCOUNT_NAMES = (
    "deployer", "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan",
)  # fmt: skip
"""Names of Anvil's ten dev accounts, in order (``accounts[0]`` deploys by default)."""


class Account(str):
    """A funded dev account: it *is* its checksummed address, with a name and helpers."""

    name: str
    chain: Chain
    private_key: str | None

    def __new__(
        cls, address: str, *, name: str, chain: Chain, private_key: str | None = None
    ) -> Account:
        self = super().__new__(cls, to_checksum_address(address))
        self.name = name
        self.chain = chain
        self.private_key = private_key
        return self

    @property
    def address(self) -> str:
        """The checksummed address (the account itself, as a plain ``str``)."""
        return str.__str__(self)

    @property
    def balance(self) -> int:
        """Balance in wei."""
        return int(self.chain.w3.eth.get_balance(cast(ChecksumAddress, self.address)))

    @property
    def nonce(self) -> int:
        """Transactions sent so far."""
        return int(self.chain.w3.eth.get_transaction_count(cast(ChecksumAddress, self.address)))

    def transfer(self, to: str, value: int) -> Receipt:
        """Send ``value`` wei to ``to``."""
        tx: Any = {"from": self.address, "to": to_checksum_address(str(to)), "value": value}
        tx_hash = self.chain.w3.eth.send_transaction(tx)
        return self.chain.receipt(tx_hash)

    def __repr__(self) -> str:
        return f"<Account {self.name} {self.address}>"


class Accounts(Sequence[Account]):
    """The node's unlocked dev accounts, by index (``accounts[1]``) or name (``accounts.bob``)."""

    def __init__(self, chain: Chain) -> None:
        addresses = [to_checksum_address(a) for a in chain.rpc("eth_accounts")]
        keys = {to_checksum_address(_key_address(k)): k for k in ANVIL_KEYS}
        self._items = [
            Account(a, name=ACCOUNT_NAMES[i] if i < len(ACCOUNT_NAMES) else f"account{i}",
                    chain=chain, private_key=keys.get(a))
            for i, a in enumerate(addresses)
        ]  # fmt: skip
        self._chain = chain

    def __getitem__(self, key: int | str) -> Any:  # type: ignore[override]  # also a name
        if isinstance(key, str):
            for account in self._items:
                if account.name == key:
                    return account
            raise KeyError(f"no account named {key!r}; names: {[a.name for a in self._items]}")
        return self._items[key]

    def __getattr__(self, name: str) -> Account:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return cast(Account, self[name])
        except KeyError as exc:
            raise AttributeError(str(exc)) from None

    def __len__(self) -> int:
        return len(self._items)

    @property
    def names(self) -> list[str]:
        """Account names in index order."""
        return [a.name for a in self._items]

    def impersonate(self, address: str) -> contextlib.AbstractContextManager[Account]:
        """Same as :meth:`Chain.impersonate`."""
        return self._chain.impersonate(address)


def _key_address(private_key: str) -> str:
    from eth_account import Account as EthAccount

    return str(EthAccount.from_key(private_key).address)
