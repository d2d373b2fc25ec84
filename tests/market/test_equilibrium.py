"""The bundle-market equilibrium: welfare LP, dual prices, and a second formulation."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st
from market_checks import check_feasible
from scipy.optimize import linprog

from market.generate import random_market
from market.lp import constraint_matrix, solve_welfare_lp
from market.mechanisms import get_mechanism
from market.orders import Asks, Bids, Market
from market.resources import N_RESOURCES
from market.welfare import optimal_welfare

TOL = 1e-6


def dual_lp_value(m: Market) -> tuple[float, np.ndarray]:
    """The dual LP, built independently (dense, row by row):

    min sum_i max_i u_i + sum_j cap_j w_j
    s.t. u_i + sum_r d_ir p_r >= v_i,  w_j - p_{r(j)} >= -c_j,  u, w, p >= 0
    """
    bids, asks = m.bids, m.asks
    n, k = len(bids), len(asks)
    nv = N_RESOURCES + n + k  # p, u, w
    rows, rhs = [], []
    for i in range(n):
        row = np.zeros(nv)
        row[:N_RESOURCES] = -bids.demand[i]
        row[N_RESOURCES + i] = -1.0
        rows.append(row)
        rhs.append(-bids.value[i])
    for j in range(k):
        row = np.zeros(nv)
        row[int(asks.resource[j])] = 1.0
        row[N_RESOURCES + n + j] = -1.0
        rows.append(row)
        rhs.append(asks.price[j])
    c = np.concatenate([np.zeros(N_RESOURCES), bids.max_bundles, asks.quantity])
    res = linprog(c, A_ub=np.array(rows), b_ub=np.array(rhs), bounds=(0, None), method="highs-ipm")
    assert res.status == 0
    return float(res.fun), res.x[:N_RESOURCES]


@given(st.integers(0, 100_000), st.integers(1, 40), st.integers(1, 10))
def test_primal_dual_gap_is_zero(seed: int, n_buyers: int, n_sellers: int) -> None:
    m = random_market(n_buyers, n_sellers, seed)
    primal = solve_welfare_lp(m).welfare
    dual, _ = dual_lp_value(m)
    assert primal == pytest.approx(dual, rel=1e-6, abs=1e-6)


@given(st.integers(0, 100_000), st.integers(1, 60), st.integers(1, 12))
def test_duals_support_the_allocation(seed: int, n_buyers: int, n_sellers: int) -> None:
    m = random_market(n_buyers, n_sellers, seed)
    res = get_mechanism("equilibrium").clear(m)
    p = np.asarray(res.info["dual_prices"])
    bids, asks = m.bids, m.asks
    x = res.bundles_served
    scale = max(1.0, float(np.abs(bids.value).max()))
    surplus = bids.value - bids.demand @ p
    served, full, none = x > TOL, x >= bids.max_bundles - TOL, x <= TOL
    assert np.all(surplus[served] >= -TOL * scale), "a served buyer pays more than its value"
    assert np.all(surplus[~full] <= TOL * scale), "an unserved buyer would gain at these prices"
    frac = served & ~full
    assert np.allclose(surplus[frac], 0.0, atol=TOL * scale)
    assert np.all(surplus[none] <= TOL * scale)
    y = res.sold
    pr = p[asks.resource]
    assert np.all(pr[y > TOL] >= asks.price[y > TOL] - TOL), "a unit sold below cost"
    unsold = y < asks.quantity - TOL
    assert np.all(asks.price[unsold] >= pr[unsold] - TOL), "a cheaper seller left out"
    # every trade at the resource price: payments = p . bundle for each buyer
    t = res.trades
    pay = np.bincount(t.bid_index, weights=t.quantity * t.price, minlength=len(bids))
    assert np.allclose(pay, x * (bids.demand @ p), atol=1e-6 * scale)
    assert np.all(pay <= x * bids.value + 1e-6 * scale)
    assert res.efficiency == pytest.approx(1.0, abs=1e-6) or res.optimal_welfare < 1e-9
    assert res.platform_surplus == pytest.approx(0.0, abs=1e-9)
    check_feasible(m, res)


def test_dual_prices_agree_with_second_formulation_when_unique() -> None:
    # one resource, distinct marginal bid/ask: the Walrasian price is an interval; the LP dual
    # must lie in it, as must the independent dual's price
    b = Bids.single([0, 1, 2], 0, [1.0, 1.0, 1.0], [10.0, 6.0, 2.0])
    a = Asks.single([3, 4, 5], 0, [1.0, 1.0, 1.0], [1.0, 4.0, 8.0])
    m = Market(b, a)
    res = get_mechanism("equilibrium").clear(m)
    p = res.info["dual_prices"][0]
    assert 4.0 <= p <= 6.0
    assert res.volume[0] == 2.0 and res.welfare == pytest.approx(11.0)
    _, p2 = dual_lp_value(m)
    assert 4.0 - 1e-9 <= p2[0] <= 6.0 + 1e-9


def test_lp_is_sparse_and_matches_greedy_on_single_markets() -> None:
    m = random_market(200, 30, 4, bundles=False)
    A = constraint_matrix(m)
    assert sp.issparse(A) and A.shape == (N_RESOURCES, len(m.bids) + len(m.asks))
    assert A.nnz == len(m.bids) + len(m.asks)
    greedy = optimal_welfare(m)  # per-resource sort path
    lp = solve_welfare_lp(Market(m.bids, m.asks)).welfare
    assert greedy == pytest.approx(lp, rel=1e-9)
    res = get_mechanism("equilibrium").clear(m)
    uni = get_mechanism("uniform").clear(m)
    assert res.welfare == pytest.approx(uni.welfare, rel=1e-9)


def test_equilibrium_edge_cases() -> None:
    empty = Market(Bids.empty(), Asks.single([1], 0, 1.0, 1.0))
    res = get_mechanism("equilibrium").clear(empty)
    assert res.welfare == 0 and len(res.trades) == 0 and np.isnan(res.prices).all()
    no_asks = Market(Bids.bundles([0], [[1, 1, 0, 0]], 5.0), Asks.empty())
    res = get_mechanism("equilibrium").clear(no_asks)
    assert res.welfare == 0 and res.bundles_served.tolist() == [0.0]
    free = Market(Bids.bundles([0], [[0, 0, 0, 0]], 5.0, 2.0), Asks.empty())
    res = get_mechanism("equilibrium").clear(free)  # a bundle that needs nothing is served
    assert res.bundles_served.tolist() == [2.0] and res.welfare == 10.0
    with pytest.raises(ValueError, match="tol"):
        get_mechanism("equilibrium", tol=-1)


def test_bundle_equilibrium_beats_split_auctions_on_complementarities() -> None:
    m = random_market(150, 25, 11)
    eq = get_mechanism("equilibrium").clear(m)
    for name in ("uniform", "mcafee"):
        r = get_mechanism(name).clear(m)
        assert r.welfare <= eq.welfare + 1e-6
        check_feasible(m, r)
