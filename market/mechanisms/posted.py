"""``posted``: the sellers' asks are the prices (posted pricing, no auction), and the trade
step every posted-price mechanism shares.

Each call to ``clear`` of :class:`PostedPrice`:

1. The venue's price of resource r is its cheapest ask p_r: the cheapest seller sets the
   price, as in a Bertrand market; a dearer seller of r sells nothing.
2. A buyer demands all its ``max_bundles`` iff value >= p·demand (the bundle's posted cost).
3. Rationing by arrival: the buyers who want their bundles at p are served whole bundles in
   the order their bids reach the venue (the market's bid order), each as many of its
   bundles as the supply left at p still covers in every resource it needs (Leontief), until
   the supply runs out. Arrival order says nothing of value, so the price is the only thing
   that screens buyers: that is why the sellers' pricing matters here and hardly at all
   under the uniform double auction, where the marginal bids set the price of a scarce
   resource. (Tâtonnement's proportional rule would hand every buyer a fraction of a
   bundle, which meets nobody's SLA when the venue is short.)
4. Every trade is at p_r: individually rational for both sides and exactly budget balanced.

It keeps no state between rounds; the pricing is the sellers' (their strategies' asks).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from market.mechanisms import register_mechanism
from market.mechanisms.base import Mechanism, resource_trades
from market.orders import Market, Trades
from market.resources import N_RESOURCES
from market.result import ClearingResult
from market.welfare import build_result

FloatArray = NDArray[np.float64]


def demand_at(market: Market, prices: FloatArray) -> tuple[FloatArray, FloatArray]:
    """(bundles wanted per bid, units wanted per resource) at posted ``prices``."""
    bids = market.bids
    if np.all(np.isfinite(prices)):
        cost = bids.demand @ prices
    else:  # 0 units of a resource nobody offers (price inf) cost nothing, not nan
        with np.errstate(invalid="ignore"):
            cost = np.where(bids.demand > 0, bids.demand * prices, 0.0).sum(axis=1)
    wants = np.where(bids.value >= cost, bids.max_bundles, 0.0)
    return wants, wants @ bids.demand if len(bids) else np.zeros(N_RESOURCES)


def supply_at(market: Market, prices: FloatArray) -> FloatArray:
    """(4,) units offered at or below the posted price of each resource."""
    asks = market.asks
    ok = asks.price <= prices[asks.resource]
    return np.bincount(asks.resource[ok], weights=asks.quantity[ok], minlength=N_RESOURCES).astype(
        np.float64, copy=False
    )


def cheapest_ask(market: Market) -> FloatArray:
    """(4,) lowest ask price per resource (nan where no ask)."""
    out = np.full(N_RESOURCES, np.inf)
    np.minimum.at(out, market.asks.resource.astype(np.int64), market.asks.price)
    return np.where(np.isinf(out), np.nan, out)


def proportional_rationing(market: Market, wants: FloatArray, demand: FloatArray,
                           supply: FloatArray) -> FloatArray:
    """Bundles served per bid when every demanding buyer gets the same fraction
    rho = min over its resources of S_r / D_r of what it wants (tâtonnement's rule)."""
    bids = market.bids
    with np.errstate(invalid="ignore", divide="ignore"):
        rho_r = np.where(demand > supply, supply / demand, 1.0)
    # A bundle is served at the tightest fraction among the resources it needs.
    rho = np.where(bids.demand > 0, rho_r, 1.0).min(axis=1) if len(bids) else np.ones(0)
    return wants * rho


def arrival_rationing(market: Market, wants: FloatArray, supply: FloatArray) -> FloatArray:
    """Bundles served per bid when buyers are served whole bundles in bid order until the
    supply runs out (module doc, step 3)."""
    demand = market.bids.demand
    left = supply.astype(np.float64)  # a copy: it is drawn down below
    served = np.zeros(len(wants))
    for i in np.flatnonzero(wants > 0):
        need = demand[i] > 0
        # Whole bundles that fit in what is left of every resource the bundle needs (a
        # relative tolerance keeps float dust from refusing an exact fit).
        fit = np.floor(np.min(left[need] / demand[i, need]) * (1 + 1e-12)) if need.any() else wants[i]
        k = min(float(wants[i]), float(fit))
        if k > 0:
            served[i] = k
            left[need] = np.maximum(left[need] - k * demand[i, need], 0.0)
    return served


def trade_at_posted(market: Market, posted: FloatArray, rationing: str = "proportional"
                    ) -> tuple[Trades, FloatArray, FloatArray]:
    """Trades at the posted prices (module doc, steps 2-4) with ``rationing``
    ("proportional" or "arrival"), and the (4,) demand and supply at those prices. Sellers
    fill the served quantity cheapest ask first."""
    bids, asks = market.bids, market.asks
    wants, demand = demand_at(market, posted)
    supply = supply_at(market, posted)
    served = (arrival_rationing(market, wants, supply) if rationing == "arrival"
              else proportional_rationing(market, wants, demand, supply))
    parts: list[Trades] = []
    for r in range(N_RESOURCES):
        brow = np.flatnonzero((served > 0) & (bids.demand[:, r] > 0))
        arow = np.flatnonzero((asks.resource == r) & (asks.price <= posted[r]))
        if brow.size == 0 or arow.size == 0:
            continue
        arow = arow[np.argsort(asks.price[arow], kind="stable")]  # cheapest first
        parts.append(resource_trades(
            market, r, brow, bids.demand[brow, r] * served[brow],
            arow, asks.quantity[arow], float(posted[r]),
        ))
    return Trades.concat(*parts), demand, supply


@register_mechanism("posted")
class PostedPrice(Mechanism):
    """The cheapest ask of each resource is its price; see the module doc."""

    def clear(self, market: Market) -> ClearingResult:
        """Trade at the cheapest asks, rationing by arrival where demand exceeds supply."""
        cheapest = cheapest_ask(market)
        # A resource nobody offers gets an infinite price: no bundle needing it is wanted.
        posted = np.nan_to_num(cheapest, nan=np.inf)
        trades, demand, supply = trade_at_posted(market, posted, rationing="arrival")
        info: dict[str, Any] = {"posted_prices": posted.tolist(), "demand": demand.tolist(),
                                "supply": supply.tolist()}
        return build_result(market, self.name, trades, cheapest, bundles_served=None, info=info)
