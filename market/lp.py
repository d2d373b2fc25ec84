"""The welfare-maximizing linear program of a bundle market, solved by HiGHS.

    maximize   sum_i v_i x_i - sum_j c_j y_j
    subject to sum_i d_ir x_i - sum_{j sells r} y_j <= 0      for each resource r (4 rows)
               0 <= x_i <= max_bundles_i,  0 <= y_j <= quantity_j

x_i: bundles served to bid i, y_j: units sold by ask j. The constraint matrix is built as a
scipy.sparse matrix straight from the nonzeros of the demand array (no dense (4, n+m)
matrix, no per-row Python), and the duals of the four resource rows are Walrasian prices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.optimize import linprog

from market.orders import Market
from market.resources import N_RESOURCES

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class LPSolution:
    """Optimal primal (x: bundles per bid, y: units per ask), duals and welfare."""

    x: FloatArray
    y: FloatArray
    prices: FloatArray
    welfare: float


def constraint_matrix(market: Market) -> sp.csr_array:
    """The (4, n_bids + n_asks) resource-balance matrix, sparse."""
    bids, asks = market.bids, market.asks
    n, m = len(bids), len(asks)
    b_rows, r_cols = np.nonzero(bids.demand)
    rows = np.concatenate([r_cols, asks.resource.astype(np.int64)])
    cols = np.concatenate([b_rows, n + np.arange(m)])
    vals = np.concatenate([bids.demand[b_rows, r_cols], -np.ones(m)])
    return sp.csr_array(sp.coo_array((vals, (rows, cols)), shape=(N_RESOURCES, n + m)))


def solve_welfare_lp(market: Market) -> LPSolution:
    """Solve the welfare LP of ``market`` (memoised on the market)."""
    cached = market.cache.get("welfare_lp")
    if isinstance(cached, LPSolution):
        return cached
    bids, asks = market.bids, market.asks
    n, m = len(bids), len(asks)
    if n == 0:
        sol = LPSolution(np.empty(0), np.zeros(m), np.zeros(N_RESOURCES), 0.0)
        market.cache["welfare_lp"] = sol
        return sol
    c = np.concatenate([-bids.value, asks.price])
    bounds = np.column_stack(
        [np.zeros(n + m), np.concatenate([bids.max_bundles, asks.quantity])]
    )
    res = linprog(
        c,
        A_ub=constraint_matrix(market),
        b_ub=np.zeros(N_RESOURCES),
        bounds=bounds,
        method="highs",
    )
    if res.status != 0:  # the LP is always feasible (x = y = 0) and bounded
        raise RuntimeError(f"welfare LP failed: {res.message}")
    z = np.clip(res.x, 0.0, bounds[:, 1])
    prices = np.maximum(-np.asarray(res.ineqlin.marginals, dtype=np.float64), 0.0)
    sol = LPSolution(x=z[:n], y=z[n:], prices=prices, welfare=float(-res.fun))
    market.cache["welfare_lp"] = sol
    return sol
