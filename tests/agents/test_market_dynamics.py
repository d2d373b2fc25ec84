"""The scarce_hotspots scenario and its dynamics (agents/market_dynamics.py): scarcity on a
short seeded run, hotspot centres on their closed-form orbit, node cost spread, and buyers
who leave above their reservation (hand computations)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from agents.market_dynamics import DynamicsConfig, HotspotConfig, MarketDynamics
from agents.model import EdgeMarketModel
from agents.scenario import ScenarioError, load_scenario

FAST = {"market.optimum_every": 0, "snapshot_every": 0, "curves_every": 0}


def test_scarce_hotspots_is_scarce_on_a_short_seeded_run() -> None:
    """At least 2 resources above 90 % mean utilization in at least half of the venues
    (one market per cell: venue = node; utilization = units sold or held / capacity)."""
    sc = load_scenario("scarce_hotspots", FAST)
    model = EdgeMarketModel(sc, seed=0)
    util = np.mean([(model.step(), model.nodes.sold / model.nodes.capacity)[1]
                    for _ in range(20)], axis=0)
    scarce_venues = int(((util > 0.9).sum(axis=1) >= 2).sum())
    assert scarce_venues >= math.ceil(sc.nodes.count / 2), util.round(2)
    assert model.dynamics.left.size > 0 and model.dynamics.followers.size > 0


def test_hotspot_centres_follow_their_orbit_and_carry_followers() -> None:
    cfg = DynamicsConfig(hotspots=HotspotConfig(count=2, share=1.0, radius_m=1.0,
                                                orbit_m=300.0, period_rounds=8))
    d = MarketDynamics(cfg, seed=3, n_devices=50)
    w = h = 1000.0
    # Round 0: phases 0 and π; round 2 (a quarter turn): π/2 and 3π/2.
    np.testing.assert_allclose(d.centres(0, w, h), [[800, 500], [200, 500]], atol=1e-9)
    np.testing.assert_allclose(d.centres(2, w, h), [[500, 800], [500, 200]], atol=1e-9)
    pos = np.zeros((50, 2))
    moved = d.move_followers(pos, np.zeros(50), 2, w, h)
    assert d.followers.size == 50
    centre = d.centres(2, w, h)[d.centre_of]
    np.testing.assert_allclose(pos, centre + d.offset)
    np.testing.assert_allclose(moved, np.hypot(*(centre + d.offset).T))


def test_node_cost_spread_stays_in_its_band_and_is_off_by_default() -> None:
    assert load_scenario("smart_city").dynamics == DynamicsConfig()  # other scenarios: off
    small = {**FAST, "devices.count": 10, "nodes.count": 9}
    base = EdgeMarketModel(load_scenario("scarce_hotspots", {**small,
                                                             "dynamics.node_cost_spread": 0.0}),
                           seed=1)
    assert np.all(base.nodes.cost == base.nodes.cost[0])  # no spread: every node alike
    spread = EdgeMarketModel(load_scenario("scarce_hotspots", small), seed=1)
    ratio = spread.nodes.cost / base.nodes.cost
    assert ratio.min() >= 0.5 and ratio.max() <= 1.5  # the scenario's ±50 %
    assert ratio.std() > 0.1  # really heterogeneous (uniform ±50 %: std ≈ 0.29)
    np.testing.assert_array_equal(spread.nodes.ask, spread.nodes.cost)


def test_buyers_leave_when_the_posted_bundle_price_exceeds_their_reservation() -> None:
    """Reservation share fixed at 1 (ρ ~ U(1, 1)): leave iff Σ demand × ask > value."""
    d = MarketDynamics(DynamicsConfig(reservation_min_share=1.0), seed=0, n_devices=4)
    ask = np.array([[1.0, 2.0, 0.0, 0.0], [10.0, 10.0, 10.0, 10.0]])
    demand = np.array([[1.0, 1.0, 0, 0],   # node 0: 1 + 2 = 3 <= 5, stays
                       [1.0, 0, 0, 0],     # node 1: 10 > 5, leaves
                       [1.0, 0, 0, 0],     # the cloud's request: never leaves here
                       [0.4, 0, 0, 0]])    # node 1: 4 <= 5, stays
    value = np.full(4, 5.0)
    venue = np.array([0, 1, -1, 1])
    bids = d.withdraw(value, venue, np.ones(4, bool), demand, ask, value.copy(),
                      np.array([0, 1]), np.arange(4))
    np.testing.assert_array_equal(bids, [5.0, 0.0, 5.0, 5.0])
    np.testing.assert_array_equal(d.left, [False, True, False, False])
    assert d.left_orders is not None and d.left_orders.bid_row.tolist() == [1]
    assert d.left_orders.bid_value.tolist() == [5.0]  # the oracle sees the true value


def test_bad_dynamics_values_name_the_field() -> None:
    with pytest.raises(ScenarioError, match=r"dynamics\.node_cost_spread"):
        load_scenario("scarce_hotspots", {"dynamics.node_cost_spread": 1.5})
