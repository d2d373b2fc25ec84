"""Batched clearing (Mechanism.clear_many) equals clearing each market in turn, exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest

from market import matching
from market.batch import group_searchsorted, segmented_cumsum
from market.mechanisms import get_mechanism
from market.orders import Asks, Bids, Market
from market.resources import N_RESOURCES
from market.result import ClearingResult


def random_market(rng: np.random.Generator) -> Market:
    """A small market: unit, single-resource, bundle and empty bids; ties and zeros."""
    nb = int(rng.integers(0, 12))
    na = int(rng.integers(0, 10))
    kind = rng.integers(0, 4)
    demand = np.zeros((nb, N_RESOURCES))
    for i in range(nb):
        style = kind if kind < 3 else rng.integers(0, 3)
        if style == 0:  # unit single-resource
            demand[i, rng.integers(0, N_RESOURCES)] = 1.0
        elif style == 1:  # single resource, any size
            demand[i, rng.integers(0, N_RESOURCES)] = rng.choice([0.5, 1.0, 2.5, 3.0])
        else:  # bundle (sometimes empty, sometimes one resource)
            mask = rng.random(N_RESOURCES) < 0.6
            demand[i] = np.where(mask, rng.choice([0.3, 1.0, 2.0, 4.7], N_RESOURCES), 0.0)
    grid = rng.random() < 0.5  # coarse prices: many ties
    value = rng.integers(0, 6, nb).astype(float) if grid else rng.random(nb) * 10
    max_b = rng.choice([1.0, 0.5, 2.0, 0.0, 3.3], nb)
    bids = Bids(rng.integers(0, 50, nb), demand, value, max_b)
    price = rng.integers(0, 6, na).astype(float) if grid else rng.random(na) * 8
    qty = rng.choice([0.0, 0.1, 0.2, 1.0, 2.5, 7.0], na)
    asks = Asks(rng.integers(100, 150, na), rng.integers(0, N_RESOURCES, na), qty, price)
    return Market(bids, asks)


def assert_same(a: ClearingResult, b: ClearingResult) -> None:
    """Bit-identical results (NaN equal to NaN)."""
    assert a.mechanism == b.mechanism
    for name in ("buyer", "seller", "resource", "quantity", "price", "bid_index", "ask_index",
                 "seller_price"):
        x, y = getattr(a.trades, name), getattr(b.trades, name)
        assert x.dtype == y.dtype, name
        np.testing.assert_array_equal(x, y, err_msg=name, strict=True)
    for name in ("prices", "bundles_served", "volume", "unmet_demand", "sold",
                 "resource_welfare"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name,
                                      strict=True)
    for name in ("welfare", "optimal_welfare", "efficiency", "buyer_payments",
                 "seller_revenue", "platform_surplus"):
        x, y = getattr(a, name), getattr(b, name)
        assert (math.isnan(x) and math.isnan(y)) or x == y, (name, x, y)
    assert repr(a.info) == repr(b.info)


@pytest.mark.parametrize("mechanism,params", [
    ("uniform", {}), ("uniform", {"k": 0.0}), ("uniform", {"k": 1.0}), ("uniform", {"k": 0.3}),
    ("mcafee", {}), ("mcafee", {"unit": 0.5}), ("mcafee", {"unit": 2.0}),
    ("equilibrium", {}), ("tatonnement", {}),
])
@pytest.mark.parametrize("seed", range(25))
def test_clear_many_equals_loop(mechanism: str, params: dict[str, float], seed: int) -> None:
    rng = np.random.default_rng(seed)
    markets = [random_market(rng) for _ in range(int(rng.integers(1, 9)))]
    mech = get_mechanism(mechanism, **params)
    loop = [mech.clear(Market(m.bids, m.asks)) for m in markets]
    # A fresh instance: tatonnement keeps state across calls (the default loops in order).
    many = get_mechanism(mechanism, **params).clear_many([Market(m.bids, m.asks) for m in markets])
    assert len(many) == len(loop)
    for a, b in zip(loop, many, strict=True):
        assert_same(a, b)


@pytest.mark.parametrize("seed", range(10))
def test_clear_many_skipped_optimum(seed: int) -> None:
    """With the optimum memo pre-filled (as the model does), results still match."""
    rng = np.random.default_rng(100 + seed)
    markets = [random_market(rng) for _ in range(30)]
    mech = get_mechanism("uniform")

    def fresh() -> list[Market]:
        out = [Market(m.bids, m.asks) for m in markets]
        for m in out:
            m.cache["optimal_welfare"] = math.nan
        return out

    for a, b in zip([mech.clear(m) for m in fresh()], mech.clear_many(fresh()), strict=True):
        assert_same(a, b)


def test_clear_many_empty_and_defaults() -> None:
    assert get_mechanism("uniform").clear_many([]) == []
    assert get_mechanism("uniform").batched
    assert get_mechanism("mcafee").batched
    assert get_mechanism("mcafee").clear_many([]) == []
    assert not get_mechanism("tatonnement").batched
    m = Market(Bids.empty(), Asks.empty())
    assert_same(get_mechanism("uniform").clear(m), get_mechanism("uniform").clear_many([m])[0])


def test_segment_helpers_match_numpy() -> None:
    rng = np.random.default_rng(7)
    grp = np.sort(rng.integers(0, 6, 200))
    x = rng.random(200)
    counts = np.bincount(grp, minlength=6)
    off = np.r_[0, np.cumsum(counts)]
    cum = segmented_cumsum(x, grp, counts, off)
    for g in range(6):
        np.testing.assert_array_equal(cum[off[g]:off[g + 1]], np.cumsum(x[off[g]:off[g + 1]]))
    qg = rng.integers(0, 6, 50)
    q = np.where(rng.random(50) < 0.3, cum[rng.integers(0, 200, 50)], rng.random(50) * 30)
    for side in ("left", "right"):
        got = group_searchsorted(cum, grp, q, qg, side)
        want = [np.searchsorted(cum[off[g]:off[g + 1]], v, side=side) for g, v in zip(qg, q, strict=True)]
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("kernel", [True, False])
@pytest.mark.parametrize("n_groups,n", [(3, 2000), (40, 300), (500, 3000)])
def test_group_searchsorted_sorted_queries(n_groups: int, n: int, kernel: bool,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Queries grouped in order (as the clearing asks): the compiled binary search and the
    numpy reference (per-group and merged-sort paths) all agree with np.searchsorted."""
    monkeypatch.setattr(matching, "KERNELS", kernel)
    rng = np.random.default_rng(n)
    grp = np.sort(rng.integers(0, n_groups, n))
    a = np.concatenate([np.sort(rng.integers(0, 20, int((grp == g).sum())).astype(float))
                        for g in range(n_groups)])
    qg = np.sort(rng.integers(0, n_groups, n // 2))
    q = rng.integers(-1, 22, n // 2).astype(float)
    off = np.r_[0, np.cumsum(np.bincount(grp, minlength=n_groups))]
    for side in ("left", "right"):
        got = group_searchsorted(a, grp, q, qg, side)
        want = [np.searchsorted(a[off[g]:off[g + 1]], v, side=side)
                for g, v in zip(qg, q, strict=True)]
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("seed", range(5))
def test_clear_many_windowed_books(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Markets big enough for the windowed crossing are cleared as ``clear`` does."""
    import market.book as book

    monkeypatch.setattr(book, "_MIN_N", 6)
    monkeypatch.setattr(book, "_SAMPLE", 4)
    monkeypatch.setattr(book, "_SMALL", 8)
    rng = np.random.default_rng(200 + seed)
    markets = [random_market(rng) for _ in range(6)]
    big = [random_market(rng) for _ in range(10)]
    markets.insert(2, Market(Bids.concat(*[m.bids for m in big]),
                             Asks.concat(*[m.asks for m in big])))
    for mech in (get_mechanism("uniform"), get_mechanism("mcafee", unit=0.5)):
        loop = [mech.clear(Market(m.bids, m.asks)) for m in markets]
        many = mech.clear_many([Market(m.bids, m.asks) for m in markets])
        for a, b in zip(loop, many, strict=True):
            assert_same(a, b)
