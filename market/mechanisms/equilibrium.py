"""``equilibrium``: Walrasian bundle-market equilibrium from the welfare LP.

Buyers hold Leontief bundle bids, sellers capacities at a marginal cost. The allocation is
the welfare-maximizing LP of :mod:`market.lp` (HiGHS, sparse constraints); the per-resource
prices are the duals of the resource-balance rows. By LP duality every served buyer pays
price·bundle <= value (equality when fractionally served), every unit sold earns
price >= cost, and nobody left out would gain at those prices. Trades pair buyers' units of
each resource with sellers' sold units by interval matching; every trade is at the
resource's price, so the platform keeps nothing (strong budget balance).
"""

from __future__ import annotations

import numpy as np

from market.lp import solve_welfare_lp
from market.mechanisms import register_mechanism
from market.mechanisms.base import Mechanism, resource_trades
from market.orders import Market, Trades
from market.resources import N_RESOURCES
from market.result import ClearingResult
from market.welfare import build_result


@register_mechanism("equilibrium")
class Equilibrium(Mechanism):
    """Welfare-maximizing bundle allocation priced at the LP duals (stateless)."""

    def __init__(self, tol: float = 1e-9) -> None:
        if not tol >= 0:
            raise ValueError(f"tol must be >= 0, got {tol!r}")
        self.tol = tol

    def clear(self, market: Market) -> ClearingResult:
        """Solve the LP and turn its solution into trades at the dual prices."""
        sol = solve_welfare_lp(market)
        bids, asks = market.bids, market.asks
        x = np.where(sol.x > self.tol, sol.x, 0.0)
        y = np.where(sol.y > self.tol, sol.y, 0.0)
        parts: list[Trades] = []
        for r in range(N_RESOURCES):
            brow = np.flatnonzero((bids.demand[:, r] > 0) & (x > 0))
            arow = np.flatnonzero((asks.resource == r) & (y > 0))
            if brow.size and arow.size:
                parts.append(resource_trades(
                    market, r, brow, bids.demand[brow, r] * x[brow], arow, y[arow],
                    float(sol.prices[r]),
                ))
        trades = Trades.concat(*parts)
        # Served bundles are the LP's x; zero-demand rows are always served in full.
        result = build_result(
            market, self.name, trades, sol.prices, bundles_served=np.minimum(x, bids.max_bundles),
            info={"dual_prices": sol.prices.tolist()},
        )
        return result
