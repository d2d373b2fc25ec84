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
from market.mechanisms.base import Mechanism
from market.mechanisms.posted import cheapest_ask, demand_at, supply_at, trade_at_posted
from market.orders import Market
from market.pricing import StepKind, TatonnementRule
from market.resources import N_RESOURCES
from market.result import ClearingResult
from market.split import reference_prices
from market.welfare import build_result

FloatArray = NDArray[np.float64]


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
        trades, demand, supply = trade_at_posted(market, posted)
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


