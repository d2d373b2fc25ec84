"""The uniform k-double auction prices inside the Walrasian interval (issue 11, item 1).

References are independent of the engine: ``brute_market.clearing_prices`` tries every
order price and keeps those at which exactly the efficient unit count clears (no order
statistics, no numpy); for divisible quantities the check is the definition itself (every
bid priced above p and every ask priced below p fills completely, none on the wrong side
of p trades). Single-market, batched (``clear_many``) and flat (``clear_uniform_flat``)
paths, kernels on and off, several venues and all four resources.
"""

from __future__ import annotations

import brute_market as brute
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from market import matching
from market.batch import clear_uniform_flat
from market.kda import kda_price, walrasian_interval
from market.mechanisms import get_mechanism
from market.orders import Asks, Bids, Market
from market.resources import N_RESOURCES

Side = list[tuple[float, int]]

# Few distinct prices: many ties. Up to 12 orders a side: excess supply and demand both.
tie_prices = st.sampled_from([0.0, 1.0, 2.0, 2.5, 3.0, 5.0, 7.5, 10.0])
side = st.lists(st.tuples(tie_prices, st.integers(0, 4)), min_size=0, max_size=12)
unit_side = st.lists(st.tuples(tie_prices, st.just(1)), min_size=0, max_size=12)
ks = st.sampled_from([0.0, 0.25, 0.5, 0.8, 1.0])


def venue(books: list[tuple[Side, Side]]) -> Market:
    """One market with the resource r's bids and asks from books[r]."""
    bid_res, bid_q, bid_p, ask_res, ask_q, ask_p = [], [], [], [], [], []
    for r, (bids, asks) in enumerate(books):
        bid_res += [r] * len(bids)
        bid_q += [q for _, q in bids]
        bid_p += [p for p, _ in bids]
        ask_res += [r] * len(asks)
        ask_q += [q for _, q in asks]
        ask_p += [p for p, _ in asks]
    demand = np.zeros((len(bid_res), N_RESOURCES))
    demand[np.arange(len(bid_res)), bid_res] = 1.0
    b = Bids(np.arange(len(bid_res)), demand, np.asarray(bid_p, float),
             np.asarray(bid_q, float))
    a = Asks(1000 + np.arange(len(ask_res)), np.asarray(ask_res, np.int8),
             np.asarray(ask_q, float), np.asarray(ask_p, float))
    return Market(b, a)


def expected(bids: Side, asks: Side, k: float) -> float:
    q, lo, hi = brute.clearing_prices(bids, asks)
    return float("nan") if q == 0 else k * hi + (1 - k) * lo


def all_paths(markets: list[Market], k: float) -> list[np.ndarray]:
    """Prices (venue x resource) from every path, kernels on and off."""
    mech = get_mechanism("uniform", k=k)
    out = []
    saved = matching.KERNELS
    try:
        for on in (True, False):
            matching.KERNELS = on
            out.append(np.array([mech.clear(m).prices for m in markets]))
            out.append(np.array([r.prices for r in mech.clear_many(markets)]))
            bids = Bids._concat_trusted([m.bids for m in markets])
            asks = Asks._concat_trusted([m.asks for m in markets])
            nb = np.array([len(m.bids) for m in markets], np.int64)
            na = np.array([len(m.asks) for m in markets], np.int64)
            out.append(clear_uniform_flat(nb, na, bids, asks, k).prices)
    finally:
        matching.KERNELS = saved
    return out


@given(st.lists(st.lists(st.tuples(side, side), min_size=N_RESOURCES, max_size=N_RESOURCES),
                min_size=1, max_size=3), ks)
def test_price_is_the_k_point_of_the_brute_force_interval(venues: list[list[tuple[Side, Side]]],
                                                          k: float) -> None:
    markets = [venue(books) for books in venues]
    want = np.array([[expected(b, a, k) for b, a in books] for books in venues])
    for got in all_paths(markets, k):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    # and all paths agree bit for bit
    first = all_paths(markets, k)[0]
    for got in all_paths(markets, k)[1:]:
        np.testing.assert_array_equal(got, first)


@given(unit_side, unit_side, ks)
def test_unit_orders_match_the_textbook_order_statistics(bids: Side, asks: Side,
                                                         k: float) -> None:
    m = venue([(bids, asks)] + [([], [])] * (N_RESOURCES - 1))
    ref = brute.uniform(bids, asks, k)
    q, lo, hi = brute.clearing_prices(bids, asks)
    assert ref.volume == q
    for got in all_paths([m], k):
        if q == 0:
            assert np.isnan(got[0, 0])
        else:
            assert got[0, 0] == pytest.approx(ref.buyer_price, abs=1e-12)
            assert lo - 1e-12 <= got[0, 0] <= hi + 1e-12


@given(st.lists(st.tuples(st.floats(0, 10), st.floats(0.01, 5)), max_size=15),
       st.lists(st.tuples(st.floats(0, 10), st.floats(0.01, 5)), max_size=15), ks)
def test_divisible_orders_clear_at_a_walrasian_price(bids: list[tuple[float, float]],
                                                     asks: list[tuple[float, float]],
                                                     k: float) -> None:
    """The definition: at p every bid above p and ask below p fills, none beyond p trades."""
    m = Market(Bids.single(np.arange(len(bids)), 0, [q for _, q in bids], [p for p, _ in bids])
               if bids else Bids.empty(),
               Asks.single(100 + np.arange(len(asks)), 0, [q for _, q in asks],
                           [p for p, _ in asks]) if asks else Asks.empty())
    res = get_mechanism("uniform", k=k).clear(m)
    p = float(res.prices[0])
    if np.isnan(p):
        assert len(res.trades) == 0
        return
    got_b = np.bincount(res.trades.bid_index, res.trades.quantity, len(bids))
    got_a = np.bincount(res.trades.ask_index, res.trades.quantity, len(asks))
    for (bp, bq), g in zip(bids, got_b, strict=True):
        if bp > p:
            assert g == pytest.approx(bq, rel=1e-9)
        if bp < p:
            assert g == 0
    for (ap, aq), g in zip(asks, got_a, strict=True):
        if ap < p:
            assert g == pytest.approx(aq, rel=1e-9)
        if ap > p:
            assert g == 0
    # the batched path prices it identically
    assert get_mechanism("uniform", k=k).clear_many([m])[0].prices[0] == res.prices[0]


def test_issue_example_excess_supply_clears_at_the_ask() -> None:
    """100 units offered at 1, ten unit bids at 5..10: the only Walrasian price is 1
    (the old rule gave 3.0 at k = 0.5)."""
    bids = [(float(p), 1) for p in range(5, 11)] + [(5.0, 1)] * 4
    m = venue([(bids, [(1.0, 100)])] + [([], [])] * (N_RESOURCES - 1))
    for got in all_paths([m], 0.5):
        assert got[0, 0] == 1.0


def test_excess_demand_clears_at_the_marginal_bid() -> None:
    """Ten unit bids at 5..14, one ask of 3 units at 1: q = 3, b_3 = 12, b_4 = 11 > a_3 = 1
    and a_4 is missing: the interval is [11, 12]."""
    bids = [(float(p), 1) for p in range(5, 15)]
    m = venue([(bids, [(1.0, 3)])] + [([], [])] * (N_RESOURCES - 1))
    for k, want in ((0.0, 11.0), (1.0, 12.0), (0.5, 11.5)):
        for got in all_paths([m], k):
            assert got[0, 0] == want


def test_interval_helpers_ignore_an_exhausted_side() -> None:
    lo, hi = walrasian_interval(6.0, 5.0, np.nan, np.nan)
    assert (float(lo), float(hi)) == (5.0, 6.0)
    assert float(kda_price(6.0, 5.0, 5.5, 8.0, 0.0)) == 5.5
    assert float(kda_price(6.0, 5.0, 5.5, 5.75, 1.0)) == 5.75
