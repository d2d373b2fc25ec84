"""``posted``: the cheapest ask is the price, buyers are served whole bundles by arrival.

References: a market worked by hand, and a unit-by-unit simulation of "serve each buyer in
turn while every part of its bundle is still on the shelf" (written without the
mechanism's vector arithmetic).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from market_checks import check_feasible

from market.generate import random_market
from market.mechanisms import get_mechanism
from market.orders import Asks, Bids, Market


def two_resource_market() -> Market:
    """Sellers: resource 2 at 3.0 (4 units) and 5.0 (10 units, dearer: sells nothing);
    resource 3 at 1.0 (3 units). Buyers in arrival order, bundle (2 units of r2, 1 of r3):
    value 6.0 (< 2·3 + 1 = 7: stays out), 20 (served), 8 (served), 100 (arrives when only
    0 units of r2 are left: not served, whatever its value)."""
    demand = np.zeros((4, 4))
    demand[:, 2], demand[:, 3] = 2.0, 1.0
    bids = Bids(np.arange(4), demand, np.array([6.0, 20.0, 8.0, 100.0]), np.ones(4))
    asks = Asks(np.array([10, 11, 12]), np.array([2, 2, 3]), np.array([4.0, 10.0, 3.0]),
                np.array([3.0, 5.0, 1.0]))
    return Market(bids, asks)


def test_worked_example() -> None:
    m = two_resource_market()
    res = get_mechanism("posted").clear(m)
    assert res.bundles_served.tolist() == [0.0, 1.0, 1.0, 0.0]
    assert res.prices[2] == 3.0 and res.prices[3] == 1.0
    assert np.isnan(res.prices[0]) and np.isnan(res.prices[1])
    assert res.sold.tolist() == [4.0, 0.0, 2.0]  # the dearer r2 seller sells nothing
    # Buyers pay the posted bundle price 7 each; sellers get it; nothing left over.
    assert res.buyer_payments == pytest.approx(14.0)
    assert res.seller_revenue == pytest.approx(14.0)
    assert res.platform_surplus == pytest.approx(0.0)
    # Welfare: (20 - 7) + (8 - 7) at true costs = asks.
    assert res.welfare == pytest.approx(14.0)
    # The LP would serve the 100 and 20 buyers: posted pricing at cost is not efficient.
    assert res.optimal_welfare == pytest.approx((100 - 7) + (20 - 7))


def test_a_higher_price_screens_the_low_value_buyer() -> None:
    m = two_resource_market()
    asks = m.asks
    dear = Market(m.bids, Asks(asks.agent, asks.resource, asks.quantity,
                               np.array([9.0, 10.0, 1.0])))  # bundle price 19: 8 drops out
    res = get_mechanism("posted").clear(dear)
    # The 8 buyer stays out, so the 100 buyer finds the shelf full.
    assert res.bundles_served.tolist() == [0.0, 1.0, 0.0, 1.0]
    # The market counts asks as costs: (20 - 19) + (100 - 19), the best this market allows.
    assert res.welfare == pytest.approx(82.0)
    assert res.welfare == pytest.approx(res.optimal_welfare)


def shelf_reference(market: Market) -> np.ndarray:
    """Bundles served per bid: price = cheapest ask per resource; each bid in turn takes one
    whole bundle at a time, unit by unit from the shelf, while the shelf holds the whole
    bundle and it still wants more."""
    bids, asks = market.bids, market.asks
    price = np.full(4, np.inf)
    for r, p in zip(asks.resource, asks.price, strict=True):
        price[r] = min(price[r], p)
    shelf = np.zeros(4)
    for r, q, p in zip(asks.resource, asks.quantity, asks.price, strict=True):
        if p <= price[r]:
            shelf[r] += q
    served = np.zeros(len(bids))
    for i in range(len(bids)):
        d = bids.demand[i]
        cost = sum(d[r] * price[r] for r in range(4) if d[r] > 0)
        if bids.value[i] < cost:
            continue
        while served[i] + 1 <= bids.max_bundles[i] and all(
                shelf[r] >= d[r] * (1 - 1e-12) for r in range(4) if d[r] > 0):
            for r in range(4):
                shelf[r] = max(shelf[r] - d[r], 0.0)
            served[i] += 1
    return served


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), n_bids=st.integers(1, 30), n_asks=st.integers(1, 12),
       bundles=st.booleans())
def test_matches_the_shelf_simulation(seed: int, n_bids: int, n_asks: int, bundles: bool) -> None:
    m = random_market(n_bids, n_asks, seed, bundles=bundles)
    # Whole bundles: the reference counts them one at a time.
    m = Market(Bids(m.bids.agent, m.bids.demand, m.bids.value, np.ceil(m.bids.max_bundles)),
               m.asks)
    res = get_mechanism("posted").clear(m)
    np.testing.assert_allclose(res.bundles_served, shelf_reference(m), atol=1e-9)
    check_feasible(m, res)
    # Every unit trades at the posted price: budget balance and seller IR.
    assert res.platform_surplus == pytest.approx(0.0, abs=1e-6)
    t = res.trades
    has_ask = t.ask_index >= 0
    assert np.all(t.price[has_ask] >= m.asks.price[t.ask_index[has_ask]] - 1e-12)
    # Buyer IR: no served bundle costs more than its value.
    served = res.bundles_served > 0
    cost = (m.bids.demand[served] * np.nan_to_num(res.prices)).sum(axis=1)
    assert np.all(cost <= m.bids.value[served] + 1e-9)


def test_no_offer_of_a_needed_resource_means_no_trade() -> None:
    demand = np.array([[1.0, 0.0, 0.0, 1.0]])
    m = Market(Bids(np.array([0]), demand, np.array([50.0]), np.ones(1)),
               Asks(np.array([1]), np.array([0]), np.array([5.0]), np.array([1.0])))
    res = get_mechanism("posted").clear(m)
    assert res.bundles_served.tolist() == [0.0] and len(res.trades) == 0
