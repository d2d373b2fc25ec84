"""Tâtonnement: the price-update rule and the stateful posted-price mechanism."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from market_checks import check_feasible, check_individually_rational

from market.generate import random_market
from market.mechanisms import get_mechanism
from market.orders import Asks, Bids, Market
from market.pricing import TatonnementRule, excess_demand


def test_excess_demand_is_normalized() -> None:
    assert excess_demand([3, 0, 0, 1], [1, 0, 2, 1]).tolist() == [0.5, 0.0, -1.0, 0.0]


@pytest.mark.parametrize("step", ["multiplicative", "additive"])
def test_rule_converges_on_linear_supply_and_demand(step: str) -> None:
    a, b, c, d = 100.0, 8.0, 10.0, 12.0  # D = a - b p, S = c + d p
    p_star = (a - c) / (b + d)
    rule = TatonnementRule(step=step, rate=0.5)  # type: ignore[arg-type]
    p = np.array([1.0])
    for _ in range(400):
        p = rule.update(p, np.maximum(a - b * p, 0), c + d * p)
    assert p[0] == pytest.approx(p_star, abs=1e-3)
    assert rule.t == 400
    rule.reset()
    assert rule.t == 0 and rule.step_size() == 0.5


def test_rule_floor_and_validation() -> None:
    rule = TatonnementRule(rate=1.0, decay=0.0)
    p = rule.update([1.0, 1.0], [0.0, 0.0], [5.0, 5.0], floor=[0.9, np.nan])
    assert p[0] == 0.9 and p[1] == pytest.approx(np.exp(-1.0))
    add = TatonnementRule(step="additive", rate=2.0, decay=0.0, scale=0.5)
    assert add.update([1.0], [3.0], [1.0]).tolist() == [1.5]
    for kw in ({"step": "x"}, {"rate": 0}, {"decay": -1}, {"scale": -1.0}, {"min_price": 0}):
        with pytest.raises(ValueError):
            TatonnementRule(**kw)  # type: ignore[arg-type]


def linear_market(n: int = 400, vmax: float = 10.0, cmax: float = 10.0) -> Market:
    """n unit buyers with values spread on (0, vmax), n unit sellers with costs on (0, cmax):
    D(p) = n (1 - p/vmax), S(p) = n p / cmax, so p* = 1 / (1/vmax + 1/cmax)."""
    v = vmax * (np.arange(n) + 0.5) / n
    c = cmax * (np.arange(n) + 0.5) / n
    return Market(Bids.single(np.arange(n), 2, 1.0, v), Asks.single(n + np.arange(n), 2, 1.0, c))


@pytest.mark.parametrize("step", ["multiplicative", "additive"])
def test_mechanism_converges_to_analytic_price(step: str) -> None:
    m = linear_market()
    mech = get_mechanism("tatonnement", step=step, initial_price=1.0)
    for _ in range(300):
        res = mech.clear(m)
    assert mech.prices is not None
    assert mech.prices[2] == pytest.approx(5.0, abs=0.05)  # grid step 10/400 = 0.025
    assert res.efficiency > 0.99
    check_feasible(m, res)
    check_individually_rational(m, res)
    assert res.info["round"] == 300


def test_converges_to_uniform_clearing_price_on_random_market() -> None:
    m = random_market(300, 40, 2, bundles=False)
    mech = get_mechanism("tatonnement")
    for _ in range(400):
        res = mech.clear(m)
    uni = get_mechanism("uniform", k=0.5).clear(m)
    traded = ~np.isnan(uni.prices)
    assert np.allclose(res.prices[traded], uni.prices[traded], rtol=0.05)
    assert res.efficiency > 0.97


def test_state_reset_and_params() -> None:
    m = linear_market(50)
    mech = get_mechanism("tatonnement", initial_price=[1.0, 1.0, 1.0, 1.0], iterations=3)
    mech.clear(m)
    assert mech.round == 1 and mech.rule.t == 3
    first = mech.prices.copy() if mech.prices is not None else None
    mech.reset()
    assert mech.prices is None and mech.round == 0 and mech.rule.t == 0
    mech.clear(m)
    assert mech.prices is not None and first is not None and np.allclose(mech.prices, first)
    assert mech.get_params()["iterations"] == 3
    with pytest.raises(ValueError):
        get_mechanism("tatonnement", iterations=0)
    with pytest.raises(ValueError):
        get_mechanism("tatonnement", initial_price=-1.0)


def test_price_floored_at_cheapest_ask() -> None:
    # no demand at all: the price falls, but never below the cheapest ask
    m = Market(Bids.single([0], 0, 1.0, 0.1), Asks.single([1, 2], 0, 5.0, [2.0, 3.0]))
    mech = get_mechanism("tatonnement", rate=1.0, decay=0.0)
    for _ in range(50):
        res = mech.clear(m)
    assert mech.prices is not None and mech.prices[0] == pytest.approx(2.0)
    assert len(res.trades) == 0


@given(st.integers(0, 10_000), st.booleans())
def test_invariants_every_round(seed: int, bundles: bool) -> None:
    m = random_market(50, 8, seed, bundles=bundles)
    mech = get_mechanism("tatonnement")
    for _ in range(5):
        res = mech.clear(m)
        check_feasible(m, res)
        assert res.platform_surplus == pytest.approx(0.0, abs=1e-9)
        posted = np.asarray(res.info["posted_prices"])
        t = m.bids
        served = res.bundles_served > 1e-12
        # buyers only buy bundles worth their posted cost
        assert np.all(t.value[served] >= t.demand[served] @ posted - 1e-9)
