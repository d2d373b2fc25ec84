"""No exposure (issue 11, item 4): under every mechanism, no bundle bidder pays for a
bundle it does not complete, and every buyer's and seller's utility is >= 0.

Utilities are computed here from the trades alone: a buyer's is its value per bundle x the
complete bundles its units make (min over its resources of units got / units needed),
minus what it paid; a seller's is what it received minus its ask x units sold.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from market.batch import clear_uniform_flat
from market.generate import random_market
from market.mechanisms import get_mechanism
from market.orders import Asks, Bids, Market
from market.resources import N_RESOURCES

TOL = 1e-7

MECHANISMS = [("uniform", {"k": 0.5}), ("uniform", {"k": 1.0}), ("mcafee", {}),
              ("tatonnement", {}), ("equilibrium", {})]


def utilities(m: Market, trades) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(buyer utility per bid, seller utility per ask, units got (n, 4)) from the trades."""
    bids, asks = m.bids, m.asks
    n = len(bids)
    got = np.zeros((n, N_RESOURCES))
    np.add.at(got, (trades.bid_index, trades.resource.astype(np.int64)), trades.quantity)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(bids.demand > 0, got / bids.demand, np.inf).min(axis=1)
    complete = np.minimum(np.where(np.isfinite(frac), frac, 0.0), bids.max_bundles)
    paid = np.bincount(trades.bid_index, trades.quantity * trades.price, minlength=n)
    buyer = complete * bids.value - paid
    has = trades.ask_index >= 0
    seller = np.bincount(trades.ask_index[has], trades.quantity[has] * (
        trades.seller_price[has] - asks.price[trades.ask_index[has]]), minlength=len(asks))
    return buyer, seller, got


def check(m: Market, trades, label: str) -> None:
    buyer, seller, got = utilities(m, trades)
    scale = max(1.0, float(np.abs(m.bids.value).max(initial=0.0)))
    assert buyer.min(initial=0.0) >= -TOL * scale, (label, buyer.min())
    assert seller.min(initial=0.0) >= -TOL * scale, (label, seller.min())
    # units of each resource = complete bundles x units per bundle: nothing left over
    bids = m.bids
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(bids.demand > 0, got / bids.demand, np.inf).min(axis=1)
    frac = np.where(np.isfinite(frac), frac, 0.0)
    np.testing.assert_allclose(got, frac[:, None] * bids.demand, rtol=1e-9, atol=1e-9,
                               err_msg=label)


@given(st.integers(0, 100_000), st.integers(5, 60), st.integers(1, 12))
def test_no_bundle_bidder_is_exposed(seed: int, n_buyers: int, n_sellers: int) -> None:
    m = random_market(n_buyers, n_sellers, seed)
    for name, params in MECHANISMS:
        res = get_mechanism(name, **params).clear(m)
        check(m, res.trades, f"{name}{params}")
    for name, params in MECHANISMS[:3]:  # batched paths
        for res in get_mechanism(name, **params).clear_many([m, m]):
            check(m, res.trades, f"{name}{params} batched")


@given(st.integers(0, 100_000))
def test_flat_path_is_not_exposed_either(seed: int) -> None:
    ms = [random_market(20, 5, seed + i) for i in range(3)]
    bids = Bids._concat_trusted([m.bids for m in ms])
    asks = Asks._concat_trusted([m.asks for m in ms])
    nb = np.array([len(m.bids) for m in ms], np.int64)
    na = np.array([len(m.asks) for m in ms], np.int64)
    vc = clear_uniform_flat(nb, na, bids, asks, 0.5)
    singles = get_mechanism("uniform").clear_many(ms)
    for v, (m, res) in enumerate(zip(ms, singles, strict=True)):
        t = vc.trades(v)
        check(m, t, "flat")
        np.testing.assert_array_equal(t.quantity, res.trades.quantity)
        np.testing.assert_array_equal(t.bid_index, res.trades.bid_index)


def test_the_exposed_case_by_hand() -> None:
    """One bundle needs 1 radio + 1 compute (value 10); radio sells at 2, compute only at
    20. Per resource the bid wins radio (its split price beats the ask) and loses compute;
    it used to pay for the radio. Now it buys nothing and pays nothing."""
    bids = Bids.bundles([0], [[1.0, 0.0, 1.0, 0.0]], [10.0], [1.0])
    asks = Asks([10, 11], [0, 2], [1.0, 1.0], [2.0, 20.0])
    m = Market(bids, asks)
    for name in ("uniform", "mcafee"):
        res = get_mechanism(name).clear(m)
        assert len(res.trades) == 0 and res.buyer_payments == 0
        assert res.bundles_served[0] == 0 and res.welfare == pytest.approx(0.0)
