"""The virtual resource pool and its supply curves."""

from __future__ import annotations

import numpy as np
import pytest

from market.pool import ResourcePool


def make_pool() -> ResourcePool:
    cap = np.array([[10.0, 0.0, 5.0, 1.0], [5.0, 2.0, 0.0, 1.0], [1.0, 2.0, 5.0, 0.0]])
    cost = np.array([[2.0, 1.0, 0.1, 3.0], [1.0, 0.5, 0.2, 4.0], [3.0, 0.5, 0.3, 9.0]])
    return ResourcePool(cap, cost, agent=np.array([7, 8, 9]))


def test_totals_and_asks() -> None:
    pool = make_pool()
    assert pool.n_providers == 3
    assert pool.total_capacity().tolist() == [16, 4, 10, 2]
    asks = pool.asks()
    assert len(asks) == 9  # zero capacities make no ask
    assert set(asks.agent.tolist()) == {7, 8, 9}


def test_supply_curve_cheapest_first() -> None:
    curve = make_pool().supply_curve(0)
    assert curve.price.tolist() == [1.0, 2.0, 3.0]
    assert curve.cumulative.tolist() == [5.0, 15.0, 16.0]
    assert curve.capacity == 16.0
    assert curve.quantity_at([0.5, 1.0, 2.5, 10.0]).tolist() == [0, 5, 15, 16]
    assert curve.marginal_cost([0.0, 5.0, 5.5, 16.0, 17.0]).tolist() == [0, 1, 2, 3, np.inf]
    # ties between providers at one price: both counted
    tie = make_pool().supply_curve(1)
    assert tie.price.tolist() == [0.5, 0.5] and tie.cumulative.tolist() == [2.0, 4.0]


def test_supply_at_and_scaled() -> None:
    pool = make_pool()
    assert pool.supply_at([1.5, 0.5, 0.25, 3.0]).tolist() == [5, 4, 5, 1]
    half = pool.scaled(0.5)
    assert half.total_capacity().tolist() == [8, 2, 5, 1]


def test_validation() -> None:
    with pytest.raises(ValueError, match="shape"):
        ResourcePool(np.ones((2, 4)), np.ones((3, 4)))
    with pytest.raises(ValueError, match="capacity"):
        ResourcePool(-np.ones((1, 4)), np.ones((1, 4)))
    with pytest.raises(ValueError, match="agent"):
        ResourcePool(np.ones((2, 4)), np.ones((2, 4)), agent=np.array([1, 2, 3]))
