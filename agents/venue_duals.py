"""Each venue's Walrasian prices on TRUE costs and values (issue 11, item 4).

The per-venue dual that sits beside each clearing price in ``info["venue_prices"]``
(``dual``) is the welfare LP of the venue's orders *as submitted* (bids at the bids, asks
at the asks, markups included): what the equilibrium mechanism would charge for the same
book. This module adds ``dual_true``: the same LP with every bid at the request's TRUE
value and every ask at its seller's TRUE marginal cost (agents.honest_welfare), i.e. the
competitive price of the venue if nobody shaded or marked up. Clearing price minus
``dual`` is the mechanism's doing; ``dual`` minus ``dual_true`` is the strategies'.

All venues of the round are one block-diagonal LP (rows: venue x resource), solved once:
the blocks share no variable, so each block's duals are those of the venue's own LP.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.optimize import linprog

from agents.honest_welfare import true_unit_cost
from agents.marketplace import OrderArrays
from market.resources import N_RESOURCES

FloatArray = NDArray[np.float64]


def venue_duals(orders: Sequence[OrderArrays], bid_value: FloatArray,
                ask_price: FloatArray) -> dict[int, FloatArray]:
    """venue id -> (4,) LP duals of the resource rows of that venue's welfare LP
    (max sum v x - sum c y, demand x <= supply y per resource, 0 <= x <= 1, 0 <= y <= q).

    ``bid_value``: per request row (bids index it by ``bid_row``); ``ask_price``: per ask
    of ``orders`` in order. A venue with asks but no bids gets no entry (no market)."""
    cat = np.concatenate
    if not orders:
        return {}
    b_ven = cat([o.bid_venue for o in orders]).astype(np.int64)
    a_ven = cat([o.ask_venue for o in orders]).astype(np.int64)
    if b_ven.size == 0:
        return {}
    b_row = cat([o.bid_row for o in orders]).astype(np.int64)
    demand = cat([o.bid_demand for o in orders])
    a_res = cat([o.ask_resource for o in orders]).astype(np.int64)
    a_qty = cat([o.ask_quantity for o in orders])
    venues = np.unique(b_ven)
    keep = np.isin(a_ven, venues)  # asks of venues without bids form no market
    a_ven, a_res, a_qty = a_ven[keep], a_res[keep], a_qty[keep]
    cost = np.asarray(ask_price, np.float64)[keep]
    bi, ai = np.searchsorted(venues, b_ven), np.searchsorted(venues, a_ven)
    n, m = b_ven.size, a_ven.size
    br, rc = np.nonzero(demand)
    rows = cat([bi[br] * N_RESOURCES + rc, ai * N_RESOURCES + a_res])
    cols = cat([br, n + np.arange(m)])
    vals = cat([demand[br, rc], -np.ones(m)])
    n_rows = venues.size * N_RESOURCES
    a = sp.csr_array(sp.coo_array((vals, (rows, cols)), shape=(n_rows, n + m)))
    bounds = np.column_stack([np.zeros(n + m), cat([np.ones(n), a_qty])])
    res = linprog(cat([-np.asarray(bid_value, np.float64)[b_row], cost]), A_ub=a,
                  b_ub=np.zeros(n_rows), bounds=bounds, method="highs")
    if res.status != 0:  # always feasible (all zero) and bounded
        raise RuntimeError(f"venue dual LP failed: {res.message}")
    duals = np.maximum(-np.asarray(res.ineqlin.marginals, np.float64), 0.0)
    duals = duals.reshape(venues.size, N_RESOURCES)
    return {int(v): duals[i] for i, v in enumerate(venues.tolist())}


def true_cost_duals(model: Any, true_value: FloatArray) -> dict[int, FloatArray] | None:
    """venue id -> (4,) duals on true values and costs for the round ``model`` (an
    EdgeMarketModel) just cleared; None when the round skips the optimum
    (``market.optimum_every``), like every other LP figure."""
    if model._skip_optimum():
        return None
    orders = model._round_orders
    if not orders:
        return {}
    s = model.sellers
    cloud = np.asarray(model.scenario.cloud.marginal_cost.as_list(), np.float64)
    cost = true_unit_cost(np.concatenate([o.ask_agent for o in orders]),
                          np.concatenate([o.ask_resource for o in orders]),
                          s.kind, s.index, model.nodes.cost, model.devices.cost, cloud)
    return venue_duals(orders, true_value, cost)


def nan4() -> FloatArray:
    """(4,) NaN: a venue without a true-cost dual."""
    return np.full(N_RESOURCES, math.nan)
