"""Honest welfare of a round: realised value and true costs against the pool-wide optimum.

Two figures per round (docs/internals.md, "Welfare"):

- **allocative efficiency** = (value of the bundles completed, at the requests' TRUE values,
  minus the sellers' TRUE marginal costs of every unit sold, whoever sold it: edge nodes,
  brokers, the cloud, and the comm-only arm's direct compute assignments) / the pool-wide
  optimum.
- **delivered welfare** = value counted only for requests whose SLA was met, minus the
  same true costs (credits; it can be negative: resources burnt on failed requests).

The pool-wide optimum is the welfare LP of :mod:`market.lp` solved on all of the round's
orders at once (every venue, edge, brokers and cloud, venue boundaries dropped) with bids
at their true values and asks at their true costs; a request offered to several venues
(edge, then cloud fallback) is one buyer there: its bundles together are at most 1 (the
extra rows of :func:`pooled_optimum`). No mechanism gets 1.0 by construction: the
equilibrium mechanism is measured the same way, on its realised allocation.

Why not the mechanisms' own welfare: it counts value at the bid (possibly shaded),
cost at the ask (marked up), credits bundles whose SLA fails, and omits direct trades.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.optimize import linprog

from agents.execution import KIND_CLOUD, KIND_DEVICE, KIND_NODE
from agents.marketplace import OrderArrays
from market.orders import Trades
from market.resources import N_RESOURCES

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class HonestWelfare:
    """One round's honest figures (credits, except the ratio)."""

    realised_value: float  # true value of completed bundle fractions
    delivered_value: float  # true value of requests whose SLA was met
    true_cost: float  # sellers' true marginal cost of all units sold
    optimum: float  # pool-wide LP optimum on true values and costs (nan: not solved)

    @property
    def allocative_welfare(self) -> float:
        return self.realised_value - self.true_cost

    @property
    def delivered_welfare(self) -> float:
        return self.delivered_value - self.true_cost

    @property
    def allocative_efficiency(self) -> float:
        """allocative welfare / optimum (1.0 when both are 0; nan when not solved)."""
        if not math.isfinite(self.optimum):
            return math.nan
        if abs(self.optimum) <= 1e-12:
            return 1.0 if abs(self.allocative_welfare) <= 1e-12 else math.nan
        return self.allocative_welfare / self.optimum


def pooled_optimum(orders: Sequence[OrderArrays], true_value: FloatArray,
                   ask_cost: FloatArray, bid_group: IntArray | None = None,
                   ask_group: IntArray | None = None) -> float:
    """max sum v x - sum c y over every order of the round (see the module doc).

    ``true_value``: per request row; ``ask_cost``: per ask of ``orders`` in order (their
    true unit costs). Rows: one per resource (demand <= supply) and one per request that
    bids in more than one venue (its bundles sum to at most 1). ``bid_group`` /
    ``ask_group`` (per bid / ask, default all 0): pools that must not trade with each other
    (the model's independent worlds), one set of resource rows each.
    """
    if not orders:
        return 0.0
    cat = np.concatenate
    b_row = cat([o.bid_row for o in orders]).astype(np.int64)
    demand = cat([o.bid_demand for o in orders])
    a_res = cat([o.ask_resource for o in orders]).astype(np.int64)
    a_qty = cat([o.ask_quantity for o in orders])
    n, m = b_row.size, a_res.size
    if n == 0:
        return 0.0
    value = true_value[b_row]
    bg = np.zeros(n, np.int64) if bid_group is None else np.asarray(bid_group, np.int64)
    ag = np.zeros(m, np.int64) if ask_group is None else np.asarray(ask_group, np.int64)
    n_groups = int(max(bg.max(initial=0), ag.max(initial=0))) + 1
    br, rc = np.nonzero(demand)
    rows = [bg[br] * N_RESOURCES + rc, ag * N_RESOURCES + a_res]
    cols = [br, n + np.arange(m)]
    vals = [demand[br, rc], -np.ones(m)]
    _, inv, cnt = np.unique(b_row, return_inverse=True, return_counts=True)
    multi = cnt[inv] > 1
    n_res_rows = n_rows = n_groups * N_RESOURCES
    if multi.any():
        key = np.unique(inv[multi], return_inverse=True)[1]
        rows.append(n_res_rows + key)
        cols.append(np.flatnonzero(multi))
        vals.append(np.ones(int(multi.sum())))
        n_rows += int(key.max()) + 1
    a = sp.csr_array(sp.coo_array((cat(vals), (cat(rows), cat(cols))), shape=(n_rows, n + m)))
    b_ub = np.zeros(n_rows)
    b_ub[n_res_rows:] = 1.0
    bounds = np.column_stack([np.zeros(n + m), cat([np.ones(n), a_qty])])
    res = linprog(cat([-value, ask_cost]), A_ub=a, b_ub=b_ub, bounds=bounds, method="highs")
    if res.status != 0:  # always feasible (all zero) and bounded
        raise RuntimeError(f"pooled welfare LP failed: {res.message}")
    return float(-res.fun)


def honest_welfare(trades: Trades, served_fraction: FloatArray, sla_met: NDArray[np.bool_],
                   true_value: FloatArray, trade_cost: FloatArray, optimum: float) -> HonestWelfare:
    """The round's figures from its trades (``trade_cost``: true unit cost per trade)."""
    f = np.clip(served_fraction, 0.0, 1.0)
    realised = float(true_value @ f)
    delivered = float(true_value @ np.where(sla_met, f, 0.0))
    cost = float(trades.quantity @ trade_cost) if len(trades) else 0.0
    return HonestWelfare(realised, delivered, cost, optimum)


def true_unit_cost(seller: IntArray, resource: NDArray[np.integer], kind: NDArray[np.int8],
                   index: IntArray, node_cost: FloatArray, device_cost: FloatArray,
                   cloud_cost: FloatArray) -> FloatArray:
    """Per (seller agent id, resource): the seller's true marginal cost (nodes and broker
    devices: their cost tables, energy included; the cloud: its marginal cost before the
    markup). ``kind`` / ``index``: the model's seller lookup tables (agents.execution)."""
    r = np.asarray(resource, np.int64)
    k, i = kind[seller], index[seller]
    out = np.zeros(r.size)
    for code, table in ((KIND_NODE, node_cost), (KIND_DEVICE, device_cost)):
        sel = k == code
        if sel.any():
            out[sel] = table[i[sel], r[sel]]
    sel = k == KIND_CLOUD
    out[sel] = cloud_cost[r[sel]]
    return out


def measure_round(model: Any, req_value: FloatArray, trades: Trades,
                  served_fraction: FloatArray, sla_met: NDArray[np.bool_]) -> HonestWelfare:
    """The figures of the round ``model`` (an EdgeMarketModel) just cleared: its seller
    tables, the round's orders (``model._round_orders``) and whether the optimum is due
    this round (``market.optimum_every``)."""
    s = model.sellers
    cloud = np.asarray(model.scenario.cloud.marginal_cost.as_list(), np.float64)
    costs = (model.nodes.cost, model.devices.cost, cloud)
    trade_cost = true_unit_cost(trades.seller, trades.resource, s.kind, s.index, *costs) \
        if len(trades) else np.zeros(0)
    optimum = math.nan
    if not model._skip_optimum():
        orders = model._round_orders
        ask_cost = true_unit_cost(
            np.concatenate([o.ask_agent for o in orders]) if orders else np.zeros(0, np.int64),
            np.concatenate([o.ask_resource for o in orders]) if orders else np.zeros(0, np.int8),
            s.kind, s.index, *costs)
        groups: tuple[IntArray | None, IntArray | None] = (None, None)
        if model.worlds > 1 and orders:  # independent worlds never trade with each other
            groups = _world_groups(model, orders)
        optimum = pooled_optimum(orders, req_value, ask_cost, *groups)
    return honest_welfare(trades, served_fraction, sla_met, req_value, trade_cost, optimum)


def _world_groups(model: Any, orders: Sequence[OrderArrays]) -> tuple[IntArray, IntArray]:
    """World of every bid (its device's) and ask (its seller's; the cloud: its venue)."""
    cat = np.concatenate
    buyer = cat([o.bid_agent for o in orders])
    seller = cat([o.ask_agent for o in orders])
    venue = cat([o.ask_venue for o in orders])
    s = model.sellers
    bid_world = model.device_world[s.index[buyer]]
    k, i = s.kind[seller], s.index[seller]
    ask_world = np.where(k == KIND_NODE, model.node_world[np.where(k == KIND_NODE, i, 0)],
                         np.where(k == KIND_DEVICE,
                                  model.device_world[np.where(k == KIND_DEVICE, i, 0)],
                                  -1 - venue))  # cloud venues are CLOUD_VENUE - w = -1 - w
    return bid_world.astype(np.int64), ask_world.astype(np.int64)
