"""The per-resource auctions: uniform (k-double auction) and McAfee.

Cross-checked against pure-Python unit-by-unit references (brute_market) and checked for
capacity, individual rationality, budget balance and truthfulness.
"""

from __future__ import annotations

import math

import brute_market as brute
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from market_checks import check_feasible, check_individually_rational

from market.generate import random_market, random_single_resource
from market.mechanisms import get_mechanism
from market.orders import Asks, Bids, Market

Side = list[tuple[float, int]]

prices = st.floats(0.0, 10.0).map(lambda x: round(x, 3))
side = st.lists(st.tuples(prices, st.integers(0, 4)), min_size=0, max_size=10)


def one_resource(bids: Side, asks: Side, resource: int = 0) -> Market:
    b = Bids.single(np.arange(len(bids)), resource, [q for _, q in bids], [p for p, _ in bids]) \
        if bids else Bids.empty()
    a = Asks.single(100 + np.arange(len(asks)), resource, [q for _, q in asks],
                    [p for p, _ in asks]) if asks else Asks.empty()
    return Market(b, a)


def units_by_row(res_index: np.ndarray, qty: np.ndarray, n: int) -> dict[int, int]:
    got = np.bincount(res_index, weights=qty, minlength=n)
    return {i: round(float(v)) for i, v in enumerate(got) if v > 1e-9}


@given(side, side, st.sampled_from([0.0, 0.3, 0.5, 1.0]))
def test_uniform_matches_brute_force(bids: Side, asks: Side, k: float) -> None:
    m = one_resource(bids, asks)
    res = get_mechanism("uniform", k=k).clear(m)
    ref = brute.uniform(bids, asks, k)
    assert float(res.volume[0]) == pytest.approx(ref.volume, abs=1e-9)
    assert res.welfare == pytest.approx(ref.welfare, abs=1e-6)
    assert res.optimal_welfare == pytest.approx(ref.welfare, abs=1e-6)
    if ref.volume:
        assert float(res.prices[0]) == pytest.approx(ref.buyer_price, abs=1e-9)
        # same units per order (ties are broken by row in both)
        assert units_by_row(res.trades.bid_index, res.trades.quantity, len(bids)) == ref.bought
        assert units_by_row(res.trades.ask_index, res.trades.quantity, len(asks)) == ref.sold
    else:
        assert math.isnan(res.prices[0]) and len(res.trades) == 0
    check_feasible(m, res)
    check_individually_rational(m, res)
    assert res.platform_surplus == pytest.approx(0.0, abs=1e-9)


@given(side, side)
def test_mcafee_matches_brute_force(bids: Side, asks: Side) -> None:
    m = one_resource(bids, asks)
    res = get_mechanism("mcafee").clear(m)
    ref = brute.mcafee(bids, asks)
    assert float(res.volume[0]) == pytest.approx(ref.volume, abs=1e-9)
    assert res.welfare == pytest.approx(ref.welfare, abs=1e-6)
    if ref.volume:
        assert float(res.prices[0]) == pytest.approx(ref.buyer_price, abs=1e-9)
        assert res.info["seller_prices"][0] == pytest.approx(ref.seller_price, abs=1e-9)
        assert units_by_row(res.trades.bid_index, res.trades.quantity, len(bids)) == ref.bought
        assert units_by_row(res.trades.ask_index, res.trades.quantity, len(asks)) == ref.sold
        assert res.platform_surplus == pytest.approx(ref.volume * (ref.buyer_price - ref.seller_price))
    check_feasible(m, res)
    check_individually_rational(m, res)


@given(st.integers(0, 10_000), st.booleans(), st.sampled_from(["uniform", "mcafee"]))
def test_auction_invariants_on_random_markets(seed: int, bundles: bool, name: str) -> None:
    m = random_market(40, 8, seed, bundles=bundles)
    res = get_mechanism(name).clear(m)
    check_feasible(m, res)
    if not bundles:
        check_individually_rational(m, res)


@given(st.integers(0, 10_000), st.sampled_from([0.0, 0.25, 0.5, 1.0]))
def test_uniform_price_between_marginal_ask_and_bid(seed: int, k: float) -> None:
    m = random_market(60, 10, seed, bundles=False)
    res = get_mechanism("uniform", k=k).clear(m)
    t, bids, asks = res.trades, m.bids, m.asks
    for r in np.unique(t.resource):
        sel = t.resource == r
        marginal_bid = float((bids.value / bids.demand.sum(axis=1))[t.bid_index[sel]].min())
        marginal_ask = float(asks.price[t.ask_index[sel]].max())
        p = float(res.prices[r])
        assert marginal_ask - 1e-12 <= p <= marginal_bid + 1e-12
    # uniform with divisible quantities is efficient on per-resource markets
    assert res.efficiency == pytest.approx(1.0, abs=1e-9)


def test_uniform_k_extremes_and_validation() -> None:
    m = one_resource([(10.0, 2), (6.0, 2)], [(1.0, 1), (5.0, 2), (8.0, 1)])
    # units: bids 10 10 6 6, asks 1 5 5 8 -> 3 efficient units; b_3 = 6, a_3 = 5,
    # b_4 = 6, a_4 = 8: the Walrasian interval [max(5, 6), min(6, 8)] is the point 6
    # (the bid at 6 is partly filled, so any other price would misprice it)
    for k in (0.0, 0.5, 1.0):
        assert get_mechanism("uniform", k=k).clear(m).prices[0] == 6.0
    # bids 10 9 4, asks 1 2 8: q = 2, interval [max(a_2, b_3), min(b_2, a_3)] = [4, 8]
    m = one_resource([(10.0, 1), (9.0, 1), (4.0, 1)], [(1.0, 1), (2.0, 1), (8.0, 1)])
    assert get_mechanism("uniform", k=1.0).clear(m).prices[0] == 8.0
    assert get_mechanism("uniform", k=0.0).clear(m).prices[0] == 4.0
    assert get_mechanism("uniform").clear(m).prices[0] == 6.0
    for bad in (-0.1, 1.5, "x"):
        with pytest.raises(ValueError, match="k must be"):
            get_mechanism("uniform", k=bad)


def test_mcafee_trade_reduction_and_p0_cases() -> None:
    # bids 9 8 3, asks 1 2 7: k = 2; p0 = (3 + 7)/2 = 5 lies in [2, 8] -> 2 units at 5
    m = one_resource([(9.0, 1), (8.0, 1), (3.0, 1)], [(1.0, 1), (2.0, 1), (7.0, 1)])
    res = get_mechanism("mcafee").clear(m)
    assert res.volume[0] == 2 and res.prices[0] == 5 and res.platform_surplus == 0
    assert res.info["reduced"][0] is False
    # bids 9 8 7.5, asks 1 2 7: p0 = 7.25 > b_2 = 8? no: 7.25 <= 8 and >= 2 -> 2 at 7.25
    # make p0 fall outside: bids 9 4 3.9, asks 1 3 20 -> k = 2, p0 = 11.95 > b_2 = 4
    m2 = one_resource([(9.0, 1), (4.0, 1), (3.9, 1)], [(1.0, 1), (3.0, 1), (20.0, 1)])
    res2 = get_mechanism("mcafee").clear(m2)
    assert res2.volume[0] == 1 and res2.info["reduced"][0] is True
    assert res2.prices[0] == 4.0 and res2.info["seller_prices"][0] == 3.0
    assert res2.platform_surplus == pytest.approx(1.0)
    t = res2.trades
    assert t.price.tolist() == [4.0] and t.seller_price.tolist() == [3.0]
    assert t.bid_index.tolist() == [0] and t.ask_index.tolist() == [0]


def test_mcafee_units_and_remainders() -> None:
    m = one_resource([(9.0, 3)], [(1.0, 3)])
    # 3 units each, all efficient, no (k+1)-th units -> reduction: 2 units trade
    res = get_mechanism("mcafee").clear(m)
    assert res.volume[0] == 2 and res.prices[0] == 9.0 and res.info["seller_prices"][0] == 1.0
    b = Bids.single([0], 0, [2.7], [9.0])
    a = Asks.single([1], 0, [5.0], [1.0])
    res_half = get_mechanism("mcafee", unit=0.5).clear(Market(b, a))
    # 2.7 -> 5 half-units of bids; reduction leaves 4 -> 2.0 units traded
    assert res_half.volume[0] == pytest.approx(2.0)
    with pytest.raises(ValueError, match="unit"):
        get_mechanism("mcafee", unit=0)


def _utility_buyer(m: Market, i: int, value: float, name: str = "mcafee") -> float:
    res = get_mechanism(name).clear(m)
    t = res.trades
    sel = t.bid_index == i
    return float((value - t.price[sel]) @ t.quantity[sel])


def _utility_seller(m: Market, j: int, cost: float) -> float:
    res = get_mechanism("mcafee").clear(m)
    t = res.trades
    sel = t.ask_index == j
    return float((t.seller_price[sel] - cost) @ t.quantity[sel])


@given(st.integers(0, 100_000))
def test_mcafee_no_gain_from_misreporting(seed: int) -> None:
    """Unit traders: reporting the true value (cost) is a dominant strategy."""
    rng = np.random.default_rng(seed)
    nb, na = int(rng.integers(2, 12)), int(rng.integers(2, 12))
    bp, ap = rng.uniform(0, 10, nb), rng.uniform(0, 10, na)
    b = Bids.single(np.arange(nb), 0, 1.0, bp)
    a = Asks.single(100 + np.arange(na), 0, 1.0, ap)
    truthful = Market(b, a)
    i, j = int(rng.integers(nb)), int(rng.integers(na))
    u_b = _utility_buyer(truthful, i, bp[i])
    u_s = _utility_seller(truthful, j, ap[j])
    assert u_b >= -1e-12 and u_s >= -1e-12  # IR
    for lie in rng.uniform(0, 12, 6):
        bp_lie = bp.copy()
        bp_lie[i] = lie
        lied = Market(Bids.single(np.arange(nb), 0, 1.0, bp_lie), a)
        assert _utility_buyer(lied, i, bp[i]) <= u_b + 1e-9
        ap_lie = ap.copy()
        ap_lie[j] = lie
        lied_s = Market(b, Asks.single(100 + np.arange(na), 0, 1.0, ap_lie))
        assert _utility_seller(lied_s, j, ap[j]) <= u_s + 1e-9


def test_bundle_split_counts_only_complete_bundles() -> None:
    # one bundle needing 2 comm + 1 cache; cache is not offered at all
    b = Bids.bundles([0], [[2.0, 1.0, 0.0, 0.0]], [10.0], [1.0])
    a = Asks.single([1], 0, [5.0], [1.0])
    res = get_mechanism("uniform").clear(Market(b, a))
    # The communication part would clear on its own, but the bundle cannot complete: no
    # exposure (market.exposure), so the bidder buys and pays nothing.
    assert res.volume[0] == 0.0 and len(res.trades) == 0
    assert res.bundles_served[0] == 0.0
    assert res.welfare == pytest.approx(0.0)
    assert res.optimal_welfare == 0.0 and res.efficiency == 1.0
    # the split: value shares by demand x reference price (cache has no asks: mean of others)
    from market.split import split_bids, value_shares

    assert value_shares(b, a)[0].tolist() == pytest.approx([2 / 3, 1 / 3, 0, 0])
    assert split_bids(b, a, 0).price.tolist() == pytest.approx([10 * 2 / 3 / 2])


def test_bundle_split_partial_fill_fraction() -> None:
    # bundle of 1 comm + 1 cache, 4 bundles; comm has 4 units, cache only 1
    b = Bids.bundles([0], [[1.0, 1.0, 0.0, 0.0]], [10.0], [4.0])
    a = Asks.single([1, 2], [0, 1], [4.0, 1.0], [1.0, 1.0])
    res = get_mechanism("uniform").clear(Market(b, a))
    assert res.bundles_served[0] == pytest.approx(1.0)
    # No exposure: only the completed bundle's units trade (1 comm + 1 cache at cost 1
    # each); the 3 other comm units stay unsold instead of being bought and wasted.
    assert res.volume.tolist() == pytest.approx([1.0, 1.0, 0.0, 0.0])
    assert res.welfare == pytest.approx(10.0 - 2.0)
    check_feasible(Market(b, a), res)


def test_large_book_uses_the_fast_path_and_agrees() -> None:
    m = random_single_resource(30_000, 30_000, seed=3)
    res = get_mechanism("uniform").clear(m)
    from market.book import cross

    bids, asks = m.bids, m.asks
    full = cross(bids.value, bids.max_bundles, asks.price, asks.quantity, window=False)
    assert res.volume[0] == pytest.approx(full.quantity)
    lo = max(full.ask_price, full.next_bid)  # the Walrasian interval, by its definition
    hi = min(full.bid_price, full.next_ask)
    assert res.prices[0] == pytest.approx(0.5 * (lo + hi))
    check_feasible(m, res)
    check_individually_rational(m, res)
