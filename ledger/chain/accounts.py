"""Deterministic addresses for simulated agents, and the development keys of Anvil.

Simulated agents (devices, edge nodes, brokers) never sign: their address is derived from
their id, ``keccak256("edgemarket/agent/<id>")[12:]``, the same on every run and chain.
Only the operator holds a key.
"""

from __future__ import annotations

from functools import lru_cache

from eth_utils import keccak, to_checksum_address

AGENT_PREFIX = b"edgemarket/agent/"

ANVIL_KEYS: tuple[str, ...] = (
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
)
"""Private keys of Anvil's default mnemonic accounts 0..9 (development only)."""


@lru_cache(maxsize=65536)
def agent_address(agent_id: int) -> str:
    """The checksummed address of simulated agent ``agent_id``."""
    if isinstance(agent_id, bool) or int(agent_id) != agent_id:
        raise TypeError(f"agent id must be an integer, got {agent_id!r}")
    return to_checksum_address(keccak(AGENT_PREFIX + str(int(agent_id)).encode())[12:])


class AddressBook:
    """Agent id <-> address, for ids seen so far (the reverse direction of a hash)."""

    def __init__(self) -> None:
        self._by_address: dict[str, int] = {}

    def address(self, agent_id: int) -> str:
        """The agent's address (and remember it for :meth:`agent_id`)."""
        addr = agent_address(int(agent_id))
        self._by_address[addr.lower()] = int(agent_id)
        return addr

    def agent_id(self, address: str) -> int | None:
        """The agent id of ``address`` if it was seen, else ``None``."""
        return self._by_address.get(address.lower())

    def label(self, address: str) -> str:
        """``agent 12 (0xAbc...)`` or the bare address."""
        aid = self.agent_id(address)
        return f"agent {aid} ({address})" if aid is not None else address
