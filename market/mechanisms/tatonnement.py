"""``tatonnement``: dynamic posted pricing, one price step per round (stateful).

Each call to ``clear``:

1. Providers post the current price p_r per resource (initially ``initial_price``, default
   the quantity-weighted mean ask of the resource).
2. A buyer demands all its ``max_bundles`` iff value >= p·demand (the bundle's posted cost).
   Supply of r is the capacity of asks priced <= p_r.
3. Rationing: where demand D_r exceeds supply S_r, each demanding buyer gets the same
   fraction rho = min over its resources of S_r / D_r of its bundles (Leontief: a bundle
   needs every part). Sellers fill the served quantity cheapest ask first.
   Every trade is at the posted price: IR on both sides, exactly budget balanced.
4. Prices move with excess demand by :class:`market.pricing.TatonnementRule`, floored at
   the cheapest ask of each resource (below it nothing is supplied). ``iterations`` > 1
   runs more price steps against the same orders before the next round. The additive rule
   steps in units of ``scale`` credits, by default the starting price of each resource.

On a stationary market the posted price converges to the clearing price (where demand
meets supply); the mechanism's ``prices`` attribute holds the prices it will post next.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from market.mechanisms import register_mechanism
from market.mechanisms.base import Mechanism, resource_trades
from market.orders import Market, Trades
from market.pricing import StepKind, TatonnementRule
from market.resources import N_RESOURCES
from market.result import ClearingResult
from market.split import reference_prices
from market.welfare import build_result

FloatArray = NDArray[np.float64]


def demand_at(market: Market, prices: FloatArray) -> tuple[FloatArray, FloatArray]:
    """(bundles wanted per bid, units wanted per resource) at posted ``prices``."""
    bids = market.bids
    cost = bids.demand @ prices
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


@register_mechanism("tatonnement")
class Tatonnement(Mechanism):
    """Posted prices adjusted by excess demand each round; see the module doc."""

    def __init__(
        self,
        step: StepKind = "multiplicative",
        rate: float = 0.5,
        decay: float = 0.2,
        scale: float | None = None,
        initial_price: float | ArrayLike | None = None,
        iterations: int = 1,
    ) -> None:
        if not (isinstance(iterations, int) and iterations >= 1):
            raise ValueError(f"iterations must be an int >= 1, got {iterations!r}")
        if initial_price is not None:
            p0 = np.broadcast_to(np.asarray(initial_price, dtype=np.float64), (N_RESOURCES,))
            if not np.all(np.isfinite(p0) & (p0 > 0)):
                raise ValueError("initial_price must be finite and > 0")
        self.step = step
        self.rate = rate
        self.decay = decay
        self.scale = scale
        self.initial_price = initial_price
        self.iterations = iterations
        self.rule = TatonnementRule(step=step, rate=rate, decay=decay,
                                    scale=1.0 if scale is None else scale)
        self.prices: FloatArray | None = None
        self.round = 0

    def reset(self) -> None:
        """Forget the posted prices and restart the step schedule."""
        self.rule.reset()
        self.prices = None
        self.round = 0

    def _start_prices(self, market: Market) -> FloatArray:
        if self.initial_price is not None:
            return np.broadcast_to(
                np.asarray(self.initial_price, dtype=np.float64), (N_RESOURCES,)
            ).copy()
        return reference_prices(market.asks)

    def clear(self, market: Market) -> ClearingResult:
        """Trade at the posted prices, then take ``iterations`` price steps."""
        if self.prices is None:
            self.prices = self._start_prices(market)
            if self.scale is None:  # additive steps in units of each resource's price level
                self.rule.scale = np.maximum(self.prices, self.rule.min_price)
        posted = self.prices.copy()
        floor = cheapest_ask(market)
        posted = np.maximum(posted, np.nan_to_num(floor, nan=0.0))
        bids, asks = market.bids, market.asks
        wants, demand = demand_at(market, posted)
        supply = supply_at(market, posted)
        with np.errstate(invalid="ignore", divide="ignore"):
            rho_r = np.where(demand > supply, supply / demand, 1.0)
        # A bundle is served at the tightest fraction among the resources it needs.
        rho = np.where(bids.demand > 0, rho_r, 1.0).min(axis=1) if len(bids) else np.ones(0)
        served = wants * rho
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
        trades = Trades.concat(*parts)
        # Price steps: only resources with both sides present move.
        active = (demand + supply > 0) & np.isfinite(floor)
        new = posted
        for _ in range(self.iterations):
            _, d = demand_at(market, new)
            s = supply_at(market, new)
            stepped = self.rule.update(new, d, s, floor=floor)
            new = np.where(active, stepped, new)
        self.prices = new
        self.round += 1
        info: dict[str, Any] = {
            "round": self.round,
            "posted_prices": posted.tolist(),
            "next_prices": new.tolist(),
            "demand": demand.tolist(),
            "supply": supply.tolist(),
        }
        result = build_result(market, self.name, trades, posted, bundles_served=None, info=info)
        return result


