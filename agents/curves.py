"""The round's order book as supply and demand curves per resource, for the front end.

Pooled over all of the round's venues (edge cells or zones and the cloud): supply is every
ask at its price, laid out from the cheapest; demand is every bid, laid out from the
highest. Bundle bids enter as their per-resource parts, with the engine's own splitting
rule (:mod:`market.split`: value shares at reference prices), so each curve is what the
per-resource auctions saw. A venue clears on its own curves; the pooled curves show where
the market as a whole stood, next to the round's clearing prices and equilibrium price. A
request the edge did not serve that then bid at the cloud appears once per venue it bid in.

Each side keeps at most ``steps`` points (cumulative quantity, price): the price at evenly
spaced quantiles of its total quantity, which keeps the shape of a curve of any length.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from market.orders import Asks, Bids
from market.resources import N_RESOURCES
from market.split import split_bids, value_shares

FloatArray = NDArray[np.float64]

DEMAND, SUPPLY = 0, 1


@dataclass
class OrderCurves:
    """Step points of the demand (side 0) and supply (side 1) curve of each resource.

    Point k of a side: the first ``quantity[k]`` units (cumulative, in the resource's unit)
    are priced at ``price[k]`` or better (credits per unit).
    """

    resource: NDArray[np.int8]
    side: NDArray[np.int8]
    quantity: FloatArray
    price: FloatArray

    def __len__(self) -> int:
        return int(self.resource.size)

    @classmethod
    def empty(cls) -> OrderCurves:
        """No points."""
        return cls(np.zeros(0, np.int8), np.zeros(0, np.int8), np.zeros(0), np.zeros(0))


def _steps(price: FloatArray, qty: FloatArray, descending: bool,
           steps: int) -> tuple[FloatArray, FloatArray]:
    keep = qty > 0
    price, qty = price[keep], qty[keep]
    order = np.argsort(-price if descending else price, kind="stable")
    price, cum = price[order], np.cumsum(qty[order])
    if price.size > steps:  # the price at evenly spaced quantiles of the total quantity
        at = np.searchsorted(cum, np.linspace(0.0, cum[-1], steps + 1)[1:], side="left")
        at = np.unique(np.minimum(at, price.size - 1))
        price, cum = price[at], cum[at]
    return cum, price


def order_curves(bids: Bids, asks: Asks, steps: int = 100) -> OrderCurves:
    """The pooled curves of one round's orders (``steps`` points per side at most)."""
    parts: list[tuple[int, int, FloatArray, FloatArray]] = []
    shares = value_shares(bids, asks) if len(bids) and not bids.is_single else None
    for r in range(N_RESOURCES):
        if len(bids):
            rb = split_bids(bids, asks, r, shares)
            q, p = _steps(rb.price, rb.quantity, True, steps)
            parts.append((r, DEMAND, q, p))
        is_r = asks.resource == r
        if is_r.any():
            q, p = _steps(asks.price[is_r], asks.quantity[is_r], False, steps)
            parts.append((r, SUPPLY, q, p))
    parts = [x for x in parts if x[2].size]
    if not parts:
        return OrderCurves.empty()
    return OrderCurves(
        resource=np.concatenate([np.full(x[2].size, x[0], np.int8) for x in parts]),
        side=np.concatenate([np.full(x[2].size, x[1], np.int8) for x in parts]),
        quantity=np.concatenate([x[2] for x in parts]),
        price=np.concatenate([x[3] for x in parts]))
