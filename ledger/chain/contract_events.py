"""Receipts and decoded events for contract tests (see :mod:`ledger.chain.contractkit`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ledger.chain.contractkit import Chain


class EventList(list[Any]):
    """Decoded events (web3 ``EventData``: ``.event`` name, ``.args``, ``.address`` ...)."""

    def filter(self, name: str, **args: Any) -> EventList:
        """The events called ``name`` whose arguments include ``args``."""
        return EventList(e for e in self if e["event"] == name and _args_match(e["args"], args))

    @property
    def names(self) -> list[str]:
        """Event names in log order."""
        return [e["event"] for e in self]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str) and a.startswith("0x") and b.startswith("0x"):
        return a.lower() == b.lower()  # addresses: checksum or not
    if isinstance(a, bytes) and isinstance(b, str):
        return "0x" + a.hex() == b.lower()
    return bool(a == b)


def _args_match(actual: Any, wanted: dict[str, Any]) -> bool:
    return all(k in actual and _same(actual[k], v) for k, v in wanted.items())


class Receipt:
    """A mined transaction: web3's receipt fields (``r.gasUsed``, ``r["status"]``) plus
    ``events`` decoded from every known contract and snake-case shortcuts."""

    def __init__(self, raw: Any, chain: Chain) -> None:
        self.raw = raw
        self._chain = chain
        self._events: EventList | None = None

    @property
    def events(self) -> EventList:
        """Decoded events of all contracts the chain knows, in log order."""
        if self._events is None:
            self._events = self._chain.decode_logs(self.raw["logs"])
        return self._events

    @property
    def gas_used(self) -> int:
        """Gas used by the transaction."""
        return int(self.raw["gasUsed"])

    @property
    def status(self) -> int:
        """1 = success, 0 = reverted."""
        return int(self.raw["status"])

    @property
    def tx_hash(self) -> str:
        """The transaction hash (0x hex)."""
        return "0x" + bytes(self.raw["transactionHash"]).hex()

    @property
    def block_number(self) -> int:
        """The block it was mined in."""
        return int(self.raw["blockNumber"])

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.raw, name)

    def __getitem__(self, key: str) -> Any:
        return self.raw[key]

    def __repr__(self) -> str:
        return f"<Receipt {self.tx_hash} block {self.block_number} gas {self.gas_used} events {self.events.names}>"
