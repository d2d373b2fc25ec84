"""``uniform``: a uniform-price call market per resource (the k-double auction).

Per resource, bids (bundle bids split by :mod:`market.split`) and asks are ranked and the
efficient volume Q* traded (quantities are divisible, so nothing is rationed away). Every
trade clears at the k-point of the Walrasian interval (:mod:`market.kda`),

    price = k * min(b_q, a_{q+1}) + (1 - k) * max(a_q, b_{q+1}),      0 <= k <= 1,

so every accepted bid is >= price >= every accepted ask and no rejected order would trade
at it: individually rational and exactly budget balanced (buyers pay what sellers get).
k = 1 favours sellers, k = 0 buyers.
The clearing is sorts, cumsums and searchsorted; no per-order Python (see
:mod:`market.book`, :mod:`market.matching`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from market import book
from market.batch import clear_uniform_many
from market.book import resource_book
from market.exposure import has_bundles, trim_trades
from market.kda import kda_price
from market.mechanisms import register_mechanism
from market.mechanisms.base import Mechanism, resource_trades
from market.orders import Market, Trades
from market.resources import N_RESOURCES
from market.result import ClearingResult
from market.welfare import Fills, build_result

IntArray = NDArray[np.int64]


@register_mechanism("uniform")
class UniformPrice(Mechanism):
    """k-double auction per resource; ``k`` in [0, 1] weighs the top of the Walrasian
    interval."""

    def __init__(self, k: float = 0.5) -> None:
        if not (isinstance(k, int | float) and 0.0 <= k <= 1.0):
            raise ValueError(f"k must be a number in [0, 1], got {k!r}")
        self.k = k

    batched = True

    @staticmethod
    def needs_single(n_bids: IntArray, n_asks: IntArray) -> bool:
        """Whether some of these venues (bid and ask counts) are big enough for the
        windowed crossing, which only the single-market path runs."""
        return bool(np.any(np.minimum(n_bids, n_asks) >= book._MIN_N))

    def clear_many(self, markets: Sequence[Market]) -> list[ClearingResult]:
        """Clear several independent markets in one vectorized pass (:mod:`market.batch`);
        identical to ``[self.clear(m) for m in markets]``."""
        # Books big enough for the windowed crossing (market.book) rank orders outside the
        # window differently from a full sort: such markets are cleared one by one.
        big = [min(len(m.bids), len(m.asks)) >= book._MIN_N for m in markets]
        if not any(big):
            return clear_uniform_many(markets, self.k, self.name)
        small = iter(clear_uniform_many([m for m, b in zip(markets, big, strict=True) if not b],
                                        self.k, self.name))
        return [self.clear(m) if b else next(small) for m, b in zip(markets, big, strict=True)]

    def clear(self, market: Market) -> ClearingResult:
        """Clear each resource at its k-weighted marginal price."""
        prices = np.full(N_RESOURCES, math.nan)
        parts: list[Trades] = []
        fills = Fills(market)
        for r in range(N_RESOURCES):
            book = resource_book(market, r)
            c = book.crossing
            if c.quantity <= 0:
                continue
            prices[r] = kda_price(c.bid_price, c.ask_price, c.next_bid, c.next_ask, self.k)
            parts.append(resource_trades(
                market, r, book.ranked_bid_rows, book.ranked_bid_qty,
                book.ranked_ask_rows, book.ranked_ask_qty,
                float(prices[r]), total=c.quantity, bid_cum=book.bid_cum, ask_cum=book.ask_cum,
            ))
            fills.add(
                r, book.ranked_bid_rows, book.bid_take, book.ranked_ask_rows, book.ask_take,
                value=book.accepted_value, cost=book.accepted_cost,
            )
        trades = Trades.concat(*parts)
        if has_bundles(market.bids):  # no exposure: pay only for completed bundles
            served = fills.bundles()
            return build_result(market, self.name, trim_trades(market.bids, trades, served),
                                prices, bundles_served=served)
        return build_result(market, self.name, trades, prices, fills=fills)
