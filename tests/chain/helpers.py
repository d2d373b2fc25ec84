"""Small builders shared by the chain tests."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from ledger.chain.accounts import agent_address
from ledger.chain.encoding import pack_delta, pack_entry

ZERO = "0x0000000000000000000000000000000000000000"
PRICES = [1_000_000, 2_000_000, 3_000_000, 4_000_000]


def raw_batch(
    run_id: int,
    round_: int,
    deltas: list[tuple[int, int]] = (),  # type: ignore[assignment]
    *,
    fee: int = 0,
    contributions: list[tuple[str, int]] = (),  # type: ignore[assignment]
    violations: list[tuple[str, str, int]] = (),  # type: ignore[assignment]
    sort: bool = True,
    root: bytes = b"\x11" * 32,
) -> tuple[Any, ...]:
    """A ``RoundBatch`` ABI tuple built by hand (bypasses the Python-side validation).

    ``deltas`` are (escrow account index, base units); ``contributions`` (address, units).
    """
    d = [pack_delta(i, v) if i > 0 else v & (2**64 - 1) for i, v in deltas]
    c = [pack_entry(a, v) for a, v in contributions]
    if sort:
        d.sort()
        c.sort()
    return (run_id, round_, root, 0, fee, PRICES, d, c, list(violations))


def trades(n: int, buyers: range, sellers: range, seed: int = 0) -> SimpleNamespace:
    """Random trades between the given agent id ranges (like ``market.orders.Trades``)."""
    rng = np.random.default_rng(seed)
    return SimpleNamespace(
        buyer=rng.choice(np.array(buyers), n),
        seller=rng.choice(np.array(sellers), n),
        resource=rng.integers(0, 4, n),
        quantity=np.round(rng.random(n) * 5, 3),
        price=np.round(rng.random(n) * 2, 4),
        seller_price=None,
    )


def addr(agent_id: int) -> str:
    """Agent address (shorthand)."""
    return agent_address(agent_id)
