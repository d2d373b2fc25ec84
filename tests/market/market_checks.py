"""Invariants every clearing must satisfy, shared by the mechanism tests."""

from __future__ import annotations

import numpy as np

from market.orders import Market
from market.resources import N_RESOURCES
from market.result import ClearingResult

TOL = 1e-7


def check_feasible(market: Market, res: ClearingResult) -> None:
    """Capacity never exceeded, demand never exceeded, accounting consistent."""
    bids, asks, t = market.bids, market.asks, res.trades
    assert np.all(t.quantity > 0)
    sold = np.bincount(t.ask_index, weights=t.quantity, minlength=len(asks))
    assert np.all(sold <= asks.quantity * (1 + TOL) + TOL), "ask capacity exceeded"
    assert np.allclose(sold, res.sold, atol=1e-6)
    assert np.all(asks.resource[t.ask_index] == t.resource), "seller sold another resource"
    assert np.all(asks.agent[t.ask_index] == t.seller) and np.all(bids.agent[t.bid_index] == t.buyer)
    got = np.zeros((len(bids), N_RESOURCES))
    np.add.at(got, (t.bid_index, t.resource.astype(np.int64)), t.quantity)
    assert np.all(got <= bids.quantity * (1 + TOL) + TOL), "bid got more than it asked for"
    assert np.all(res.bundles_served <= bids.max_bundles + TOL)
    assert np.all(res.bundles_served >= -TOL)
    assert np.allclose(res.volume, t.volume(), atol=1e-6)
    assert np.all(res.unmet_demand >= 0)
    # accounting
    assert res.buyer_payments - res.seller_revenue == np.float64(res.platform_surplus)
    assert res.platform_surplus >= -1e-6 * max(1.0, res.buyer_payments), "platform pays in"
    value = float(res.bundles_served @ bids.value)
    cost = float(sold @ asks.price)
    assert res.welfare == np.float64(res.welfare)
    assert abs(res.welfare - (value - cost)) <= 1e-6 * max(1.0, abs(value) + cost)
    assert np.nansum(res.resource_welfare) == np.float64(np.nansum(res.resource_welfare))
    assert abs(float(np.sum(res.resource_welfare)) - res.welfare) <= 1e-6 * max(1.0, abs(value) + cost)
    assert res.welfare <= res.optimal_welfare + 1e-6 * max(1.0, abs(res.optimal_welfare))
    net = res.net_credits()
    assert abs(sum(net.values()) + res.platform_surplus) <= 1e-6 * max(1.0, res.buyer_payments)


def check_individually_rational(market: Market, res: ClearingResult) -> None:
    """Single-resource bids: no buyer pays above its bid, no seller gets below its ask."""
    bids, asks, t = market.bids, market.asks, res.trades
    assert bids.is_single
    r = bids.resource[t.bid_index].astype(np.int64)
    unit_bid = bids.value[t.bid_index] / bids.demand[t.bid_index, r]
    assert np.all(t.price <= unit_bid * (1 + TOL) + TOL), "buyer pays above its bid"
    assert np.all(t.seller_price >= asks.price[t.ask_index] * (1 - TOL) - TOL), "seller below ask"
