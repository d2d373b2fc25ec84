"""The flat batched path of agents.marketplace.clear_venues against the per-venue loop on
random round orders: trades, fills, prices and the venue demand and supply are the same
bits; welfare totals agree to float rounding (they are summed in another order)."""

from __future__ import annotations

import numpy as np
import pytest

from agents import marketplace
from market.mechanisms.uniform import UniformPrice
from market.orders import Asks, Bids, Market
from market.resources import N_RESOURCES


def _orders(rng: np.random.Generator) -> marketplace.OrderArrays:
    n_v = int(rng.integers(1, 40))
    nb = int(rng.integers(0, 400))
    na = int(rng.integers(1, 200))
    demand = np.where(rng.random((nb, N_RESOURCES)) < 0.6,
                      rng.choice([0.3, 1.0, 2.0, 4.7], (nb, N_RESOURCES)), 0.0)
    shift = -int(rng.integers(0, 5))  # cloud venues have negative ids
    return marketplace.OrderArrays(
        bid_venue=rng.integers(0, n_v, nb) + shift, bid_row=rng.permutation(nb + 5)[:nb],
        bid_agent=rng.integers(0, 60, nb), bid_demand=demand, bid_value=rng.random(nb) * 10,
        ask_venue=rng.integers(0, n_v + 2, na) + shift, ask_agent=rng.integers(100, 150, na),
        ask_resource=rng.integers(0, N_RESOURCES, na).astype(np.int8),
        ask_quantity=rng.choice([0.0, 0.5, 1.0, 2.5, 7.0], na),
        ask_price=rng.integers(0, 6, na).astype(float) if rng.random() < 0.5
        else rng.random(na) * 8)


@pytest.mark.parametrize("seed", range(30))
def test_flat_path_equals_per_venue_loop(seed: int) -> None:
    rng = np.random.default_rng(seed)
    orders = _orders(rng)
    n_req = orders.bid_row.size + 5
    mechs: dict[int, UniformPrice] = {}

    def mech(v: int) -> UniformPrice:
        return mechs.setdefault(v, UniformPrice())

    flat = marketplace.clear_venues(orders, n_req, mech, optimum_skipped=True)
    loop = marketplace.clear_venues(orders, n_req, mech, optimum_skipped=True, batched=False)
    assert not flat.outcomes and len(loop.outcomes) == flat.venues.size
    for name in ("buyer", "seller", "resource", "quantity", "price", "bid_index",
                 "ask_index", "seller_price"):
        np.testing.assert_array_equal(getattr(flat.trades, name), getattr(loop.trades, name),
                                      err_msg=name, strict=True)
    for name in ("served", "venues", "prices", "demand_total", "supply_total", "sold",
                 "ask_rows"):
        np.testing.assert_array_equal(getattr(flat, name), getattr(loop, name),
                                      err_msg=name, strict=True)
    for name in ("volume", "unmet_demand", "resource_welfare", "welfare"):
        np.testing.assert_allclose(getattr(flat, name), getattr(loop, name), rtol=1e-12,
                                   atol=1e-9, err_msg=name)


@pytest.mark.parametrize("seed", range(10))
def test_venue_demand_is_market_demand_total(seed: int) -> None:
    """The stacked matmul over venues of one size gives each venue's
    Market.demand_total bits (one BLAS gemv per venue)."""
    rng = np.random.default_rng(seed)
    nb = rng.choice([0, 1, 2, 3, 5, 8, 13, 40, 200], int(rng.integers(1, 300)))
    if seed == 0:
        nb = np.array([1900, 0, 7, 7])
    b_off = np.concatenate([[0], np.cumsum(nb)]).astype(np.int64)
    n = int(b_off[-1])
    demand = rng.random((n, N_RESOURCES)) * rng.choice([1.0, 1e3, 1e-3], N_RESOURCES)
    demand[rng.random((n, N_RESOURCES)) < 0.3] = 0.0
    bids = Bids(np.zeros(n, np.int64), demand, np.ones(n), rng.random(n) * 3)
    got = marketplace._venue_demand(bids, b_off, nb.astype(np.int64))
    for v in range(nb.size):
        ref = Market(bids.take(np.arange(b_off[v], b_off[v + 1])), Asks.empty()).demand_total()
        np.testing.assert_array_equal(got[v], ref, strict=True)


@pytest.mark.parametrize("scale", [1, 100, 10**6])
def test_venue_order_is_stable_argsort(scale: int) -> None:
    rng = np.random.default_rng(scale)
    for n in (0, 1, 7, 3000):
        v = rng.integers(-130, 600, n) * scale
        np.testing.assert_array_equal(marketplace._venue_order(v),
                                      np.argsort(v, kind="stable"), strict=True)
