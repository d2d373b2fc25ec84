"""The round's pooled order-book curves (agents.curves): shape, totals and sampling."""

from __future__ import annotations

import numpy as np

from agents.curves import DEMAND, SUPPLY, order_curves
from agents.model import EdgeMarketModel
from agents.scenario import Scenario, small
from market.orders import Asks, Bids
from market.split import split_bids


def _pooled(model: EdgeMarketModel) -> tuple[Bids, Asks]:
    parts = model._round_orders
    cat = np.concatenate
    bids = Bids(cat([o.bid_agent for o in parts]), cat([o.bid_demand for o in parts]),
                cat([o.bid_value for o in parts]), np.ones(sum(o.bid_value.size for o in parts)))
    asks = Asks(cat([o.ask_agent for o in parts]), cat([o.ask_resource for o in parts]),
                cat([o.ask_quantity for o in parts]), cat([o.ask_price for o in parts]))
    return bids, asks


def test_curves_are_monotone_step_curves_of_the_whole_book(small_city: Scenario) -> None:
    model = EdgeMarketModel(small_city, seed=4)
    for _ in range(3):
        rr = model.step()
    c = rr.curves
    assert c is not None and len(c) > 0
    bids, asks = _pooled(model)
    for r in range(4):
        for side in (DEMAND, SUPPLY):
            k = (c.resource == r) & (c.side == side)
            q, p = c.quantity[k], c.price[k]
            if side == DEMAND:
                total = float(split_bids(bids, asks, r).quantity.sum())
                assert (np.diff(p) <= 0).all()
            else:
                total = float(asks.quantity[asks.resource == r].sum())
                assert (np.diff(p) >= 0).all()
            assert (np.diff(q) > 0).all() and q.size <= small_city.curve_steps
            if total > 0:
                assert np.isclose(q[-1], total, rtol=1e-12)
    # The round's clearing price of a resource lies within its pooled supply's price range.
    for r in range(4):
        k = (c.resource == r) & (c.side == SUPPLY)
        price = rr.clearing.prices[r]
        if np.isfinite(price) and k.any():
            assert c.price[k].min() - 1e-12 <= price


def test_sampling_keeps_short_curves_exact_and_long_ones_within_steps() -> None:
    rng = np.random.default_rng(2)
    n = 5000
    bids = Bids.single(np.arange(n), 2, rng.integers(1, 5, n).astype(float), rng.uniform(0, 1, n))
    asks = Asks.single(np.arange(n, n + 30), 2, np.full(30, 10.0), np.linspace(0.1, 0.9, 30))
    c = order_curves(bids, asks, steps=50)
    dem, sup = c.side == DEMAND, c.side == SUPPLY
    assert dem.sum() <= 50 and np.isclose(c.quantity[dem][-1], bids.max_bundles.sum())
    assert sup.sum() == 30  # short: every ask is a step
    np.testing.assert_allclose(c.quantity[sup], np.arange(1, 31) * 10.0)
    np.testing.assert_array_equal(c.price[sup], np.linspace(0.1, 0.9, 30))
    # Each sampled demand point is a real step: a price some bid has.
    assert np.isin(c.price[dem], bids.value).all()


def test_curves_every_sets_the_rounds() -> None:
    model = EdgeMarketModel(small("smart_city", curves_every=3), seed=1)
    got = [model.step().curves is not None for _ in range(6)]
    assert got == [False, False, True, False, False, True]
    off = EdgeMarketModel(small("smart_city", curves_every=0), seed=1)
    assert off.step().curves is None
