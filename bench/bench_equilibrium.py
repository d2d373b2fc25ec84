"""Benchmark: bundle-market equilibrium with 10,000 buyers, 4 resources, 1,000 sellers.

Ours: ``get_mechanism("equilibrium").clear(market)``: the welfare LP built as a
scipy.sparse matrix straight from the demand array, solved by HiGHS, duals as prices, trades
by interval matching, full ClearingResult. Target: under 2 s.
Baseline: the naive formulation of the same LP: a dense (4, n + m) constraint matrix
filled element by element in Python loops, bounds as a Python list of tuples, the same
HiGHS solve (so the ratio measures the formulation, not the solver). Both must agree.

    .venv/bin/python bench/bench_equilibrium.py [--quick]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy.optimize import linprog

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import best_time, parser, report

from market.generate import random_market
from market.lp import solve_welfare_lp
from market.mechanisms import get_mechanism
from market.orders import Market
from market.resources import N_RESOURCES


def naive_welfare_lp(market: Market) -> tuple[float, list[float]]:
    """The same LP, formulated the obvious way: Python loops and a dense matrix."""
    bids, asks = market.bids, market.asks
    n, m = len(bids), len(asks)
    a_ub = np.zeros((N_RESOURCES, n + m))
    c: list[float] = []
    bounds: list[tuple[float, float]] = []
    for i in range(n):
        for r in range(N_RESOURCES):
            a_ub[r, i] = bids.demand[i, r]
        c.append(-float(bids.value[i]))
        bounds.append((0.0, float(bids.max_bundles[i])))
    for j in range(m):
        a_ub[int(asks.resource[j]), n + j] = -1.0
        c.append(float(asks.price[j]))
        bounds.append((0.0, float(asks.quantity[j])))
    res = linprog(c, A_ub=a_ub, b_ub=[0.0] * N_RESOURCES, bounds=bounds, method="highs")
    return -float(res.fun), [-float(v) for v in res.ineqlin.marginals]


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--buyers", type=int, default=10_000)
    p.add_argument("--sellers", type=int, default=1_000)
    args = p.parse_args()
    repeat = 3 if args.quick else 5
    market = random_market(args.buyers, args.sellers, args.seed)
    mech = get_mechanism("equilibrium")
    # A fresh Market over the same orders each run: the LP solution is memoised per market.
    ours_s, res = best_time(lambda: mech.clear(Market(market.bids, market.asks)), repeat=repeat)
    lp_s, _ = best_time(lambda: solve_welfare_lp(Market(market.bids, market.asks)), repeat=repeat)
    base_s, (base_welfare, _) = best_time(lambda: naive_welfare_lp(market), repeat=1 if args.quick else 2)
    assert abs(base_welfare - res.welfare) <= 1e-6 * max(1.0, abs(base_welfare)), (
        base_welfare, res.welfare)
    report(
        "equilibrium_lp_10k_buyers",
        ours_s,
        base_s,
        "ours_s < 2",
        buyers=len(market.bids),
        asks=len(market.asks),
        sellers=args.sellers,
        resources=N_RESOURCES,
        welfare=round(res.welfare, 6),
        efficiency=res.efficiency,
        trades=len(res.trades),
        lp_solve_s=round(lp_s, 6),
        prices=[None if np.isnan(x) else round(float(x), 6) for x in res.prices],
        met_target=bool(ours_s < 2.0),
    )


if __name__ == "__main__":
    main()
