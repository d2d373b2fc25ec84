"""No exposure: bundle bidders pay only for the bundle fractions they complete.

A per-resource auction (``uniform``, ``mcafee``) clears each resource on its own, so a
Leontief bundle bid can win radio but lose compute and would pay for radio it cannot use
(the exposure problem). After clearing, every true bundle bid (``Bids.resource ==
MULTI_RESOURCE``) keeps, of each resource r, exactly ``served * demand_r`` units (served:
the completed fraction, min over its resources of units got / units per bundle); each of
its trades on r is scaled by ``min(1, served * demand_r / got_r)`` and trades scaled to
zero are dropped. The units given back stay with their sellers, unsold.

Why buyers are then individually rational: a bid wins units of r only if its split unit
price ``value * share_r / demand_r`` is at least the price it pays for r (uniform: every
accepted bid is >= the Walrasian price; McAfee: buyers pay p0 or b_k, both <= every
accepted bid), and the shares sum to 1 over the bundle's resources, so ``value >= sum_r
demand_r * price_r`` whenever ``served > 0``; it pays ``served`` times that. Sellers sell
fewer units at the same price (>= their ask). Budget balance is unchanged (both sides of
every trade scale together). Single-resource bids are untouched (their served fraction is
exactly what they got).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from market.orders import MULTI_RESOURCE, Bids, Trades
from market.resources import N_RESOURCES

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def has_bundles(bids: Bids) -> bool:
    """Whether any bid needs more than one resource (only those can be exposed)."""
    return bool(np.any(bids.resource == MULTI_RESOURCE))


def completed_quantities(bid: IntArray, resource: NDArray[np.integer], quantity: FloatArray,
                         demand: FloatArray, bid_resource: NDArray[np.integer],
                         served: FloatArray) -> FloatArray:
    """Each trade's quantity trimmed to its bid's completed fraction (see the module doc).

    ``bid``: the bid row of each trade (rows of ``demand`` / ``bid_resource`` /
    ``served``). Rows are summed per (bid, resource) in trade order, so the result is the
    same whether the trades of many markets are trimmed together or market by market.
    """
    n = demand.shape[0]
    if quantity.size == 0:
        return quantity.copy()
    r = np.asarray(resource, np.int64)
    key = bid * N_RESOURCES + r
    got = np.bincount(key, weights=quantity, minlength=n * N_RESOURCES)[key]
    need = served[bid] * demand[bid, r]
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(got > 0, np.minimum(1.0, need / got), 0.0)
    return np.where(bid_resource[bid] == MULTI_RESOURCE, quantity * scale, quantity)


def trim_trades(bids: Bids, trades: Trades, served: FloatArray) -> Trades:
    """``trades`` with every bundle bid's purchases trimmed to ``served`` bundles."""
    if not len(trades) or not has_bundles(bids):
        return trades
    q = completed_quantities(trades.bid_index, trades.resource, trades.quantity, bids.demand,
                             bids.resource, served)
    keep = np.flatnonzero(q > 0)
    return Trades._trusted(trades.buyer[keep], trades.seller[keep], trades.resource[keep],
                           q[keep], trades.price[keep], trades.bid_index[keep],
                           trades.ask_index[keep], trades.seller_price[keep])
