"""``mcafee``: McAfee's (1992) trade-reduction double auction, per resource.

Unit formulation. Quantities are counted in whole units of size ``unit`` (default 1 unit of
the resource): an order for q units is ``floor(q / unit)`` unit-traders at the same price,
and any fractional remainder is not traded (it shows up as unmet demand). Nothing is
expanded in memory: the ranked step curves of :mod:`market.book` give the k-th unit directly.

With bid units ranked b_1 >= b_2 >= ... and ask units s_1 <= s_2 <= ..., let k be the
largest index with b_k >= s_k and p0 = (b_{k+1} + s_{k+1}) / 2.

- If both (k+1)-th units exist and s_k <= p0 <= b_k, the k efficient units trade at p0.
- Otherwise the k-th pair is dropped (trade reduction): k-1 units trade, buyers pay b_k and
  sellers receive s_k; the platform keeps (k-1)(b_k - s_k) >= 0.

Properties: individually rational and weakly budget balanced always; dominant-strategy
truthful for unit traders (each order one unit). An order of several units at one price
may move p0 or b_k / s_k with its own later units, as in every multi-unit version of the
mechanism, so truthfulness is only claimed for unit orders.
Trades carry the buyer's price in ``price`` and the seller's in ``seller_price``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from market import book
from market.batch import clear_mcafee_many
from market.book import cross
from market.exposure import has_bundles, trim_trades
from market.mechanisms import register_mechanism
from market.mechanisms.base import Mechanism, resource_trades
from market.orders import Market, Trades
from market.resources import N_RESOURCES
from market.result import ClearingResult
from market.split import split_bids
from market.welfare import build_result, bundles_from_trades

#: Quantities within this relative distance below a whole unit count as that unit.
_UNIT_SLACK = 1e-9


@register_mechanism("mcafee")
class McAfee(Mechanism):
    """McAfee trade reduction per resource; ``unit`` is the indivisible trading unit."""

    def __init__(self, unit: float = 1.0) -> None:
        if not (isinstance(unit, int | float) and math.isfinite(unit) and unit > 0):
            raise ValueError(f"unit must be a positive number, got {unit!r}")
        self.unit = unit

    batched = True

    def clear_many(self, markets: Sequence[Market]) -> list[ClearingResult]:
        """Clear several independent markets in one vectorized pass (:mod:`market.batch`);
        identical to ``[self.clear(m) for m in markets]``."""
        # Books big enough for the windowed crossing rank orders differently: one by one.
        big = [min(len(m.bids), len(m.asks)) >= book._MIN_N for m in markets]
        if not any(big):
            return clear_mcafee_many(markets, self.unit, self.name, _UNIT_SLACK)
        small = iter(clear_mcafee_many([m for m, b in zip(markets, big, strict=True) if not b],
                                       self.unit, self.name, _UNIT_SLACK))
        return [self.clear(m) if b else next(small) for m, b in zip(markets, big, strict=True)]

    def clear(self, market: Market) -> ClearingResult:
        """Clear each resource by McAfee's rule on whole units."""
        bids, asks = market.bids, market.asks
        prices = np.full(N_RESOURCES, math.nan)
        seller_prices = np.full(N_RESOURCES, math.nan)
        reduced = [False] * N_RESOURCES
        parts: list[Trades] = []
        for r in range(N_RESOURCES):
            rb = split_bids(bids, asks, r)
            arow = np.flatnonzero(asks.resource == r)
            if rb.rows.size == 0 or arow.size == 0:
                continue
            bu = np.floor(rb.quantity / self.unit + _UNIT_SLACK)
            au = np.floor(asks.quantity[arow] / self.unit + _UNIT_SLACK)
            c = cross(rb.price, bu, asks.price[arow], au)
            k = round(c.quantity)
            if k <= 0:
                continue
            p0 = 0.5 * (c.next_bid + c.next_ask)
            if math.isfinite(p0) and c.ask_price <= p0 <= c.bid_price:
                pb = ps = p0
                n_units = k
            else:
                pb, ps, n_units = c.bid_price, c.ask_price, k - 1
                reduced[r] = True
            if n_units <= 0:
                continue
            prices[r], seller_prices[r] = pb, ps
            parts.append(resource_trades(
                market, r,
                rb.rows[c.bid_order], bu[c.bid_order] * self.unit,
                arow[c.ask_order], au[c.ask_order] * self.unit,
                pb, seller_price=ps, total=n_units * self.unit,
            ))
        info = {"seller_prices": seller_prices.tolist(), "reduced": reduced}
        trades = Trades.concat(*parts)
        if has_bundles(bids):  # no exposure: pay only for completed bundles
            served = bundles_from_trades(bids, trades)
            return build_result(market, self.name, trim_trades(bids, trades, served), prices,
                                bundles_served=served, info=info)
        return build_result(market, self.name, trades, prices, info=info)
