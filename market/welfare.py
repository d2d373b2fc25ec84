"""Welfare accounting shared by every mechanism, and the optimal welfare of a market.

Welfare = sum of the values of the bundles served - sum of ask price x units sold (asks are
taken as true marginal costs). Payments between buyers and sellers cancel out of welfare;
what the platform keeps (buyer payments - seller revenue) is reported as its surplus.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from market.book import resource_book
from market.lp import solve_welfare_lp
from market.orders import NO_RESOURCE, Bids, Market, Trades
from market.resources import N_RESOURCES
from market.result import ClearingResult
from market.split import value_shares

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: |welfare| below this (credits) counts as zero when computing efficiency.
WELFARE_TOL = 1e-9


def _single_resource_optimum(market: Market) -> float:
    """Optimal welfare when no bid is a true bundle: per-resource greedy (exact, no LP)."""
    bids = market.bids
    total = float(bids.value @ (bids.max_bundles * (bids.resource == NO_RESOURCE)))
    return total + sum(resource_book(market, r).surplus() for r in range(N_RESOURCES))


def demand_total(market: Market) -> FloatArray:
    """(4,) units wanted per resource at every bid's max bundles (memoised)."""
    cached = market.cache.get("demand_total")
    if not isinstance(cached, np.ndarray):
        cached = market.demand_total()
        market.cache["demand_total"] = cached
    return cached


def optimal_welfare(market: Market) -> float:
    """The welfare-maximizing allocation's welfare (credits), memoised on the market.

    Per-resource markets are solved exactly by sorting; true bundle markets by the LP
    (:func:`market.lp.solve_welfare_lp`).
    """
    cached = market.cache.get("optimal_welfare")
    if isinstance(cached, float):
        return cached
    if len(market.bids) == 0 or len(market.asks) == 0:
        value = float(market.bids.value @ (market.bids.max_bundles * (market.bids.resource == NO_RESOURCE)))
    elif market.bids.is_single:
        value = _single_resource_optimum(market)
    else:
        value = solve_welfare_lp(market).welfare
    market.cache["optimal_welfare"] = value
    return value


def single_demand(market: Market) -> FloatArray:
    """(n,) units per bundle of each bid on its single resource (0 for bundle rows), memoised."""
    cached = market.cache.get("single_demand")
    if not isinstance(cached, np.ndarray):
        bids = market.bids
        # A matrix-vector product: an axis-1 reduction over 4 columns is ~20x slower.
        row_sum = bids.demand @ np.ones(N_RESOURCES)
        cached = row_sum if bids.is_single else np.where(bids.resource >= 0, row_sum, 0.0)
        market.cache["single_demand"] = cached
    return cached


class Fills:
    """Accumulates, per resource cleared, the units each bid got and each ask sold, and the
    value and cost of those units.

    Mechanisms that know these from their matching record them here instead of making
    :func:`build_result` re-derive them from the trades (scatters instead of bincounts).
    """

    def __init__(self, market: Market) -> None:
        self.market = market
        n = len(market.bids)
        self.single = market.bids.is_single
        self.got = np.zeros(n) if self.single else np.zeros((n, N_RESOURCES))
        self.sold = np.zeros(len(market.asks))
        self.volume = np.zeros(N_RESOURCES)
        self.cost = np.zeros(N_RESOURCES)
        self.value = np.zeros(N_RESOURCES)  # value of units bought; meaningful if single

    def add(
        self,
        resource: int,
        bid_rows: IntArray,
        bid_units: FloatArray,
        ask_rows: IntArray,
        ask_units: FloatArray,
        *,
        value: float | None = None,
        cost: float | None = None,
    ) -> None:
        """Record one resource's fills (rows are unique within a resource).

        value / cost: sum of unit bid price x units and ask price x units, if known.
        """
        if self.single:
            # A single-resource bid appears under one resource only: assign, don't add.
            self.got[bid_rows] = bid_units
            if value is None:
                bids = self.market.bids
                value = float((bids.value[bid_rows] / single_demand(self.market)[bid_rows]) @ bid_units)
            self.value[resource] += value
        else:
            self.got[bid_rows, resource] += bid_units
        self.sold[ask_rows] = ask_units  # an ask sells one resource: rows never repeat
        self.volume[resource] += float(ask_units.sum())
        if cost is None:
            cost = float(self.market.asks.price[ask_rows] @ ask_units)
        self.cost[resource] += cost

    def bundles(self) -> FloatArray:
        """(n,) bundles served: the fully filled fraction, min over the bid's resources."""
        bids = self.market.bids
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.single:
                if self.market.cache.get("unit_demand") is True and bool(np.all(bids.resource >= 0)):
                    return self.got  # unit bids: units got = bundles, never above max
                out = self.got / single_demand(self.market)
                if not np.all(bids.resource >= 0):
                    out = np.where(bids.resource >= 0, out, bids.max_bundles)
            else:
                out = np.where(bids.demand > 0, self.got / bids.demand, np.inf).min(axis=1)
        return np.minimum(out, bids.max_bundles, out=out)


def bundles_from_trades(bids: Bids, trades: Trades) -> FloatArray:
    """(n,) bundles each bid received: the fully filled fraction, min over its resources."""
    n = len(bids)
    if bids.is_single:
        got = np.bincount(trades.bid_index, weights=trades.quantity, minlength=n).astype(np.float64, copy=False)
        r = np.maximum(bids.resource, 0).astype(np.int64)
        d = bids.demand[np.arange(n), r]
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(bids.resource >= 0, got / d, bids.max_bundles)
    else:
        key = trades.bid_index * N_RESOURCES + trades.resource
        got = np.bincount(key, weights=trades.quantity, minlength=n * N_RESOURCES).astype(np.float64, copy=False)
        got = got.reshape(n, N_RESOURCES)
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.where(bids.demand > 0, got / bids.demand, np.inf)
        out = frac.min(axis=1)
    return np.minimum(out, bids.max_bundles)


def efficiency_of(welfare: float, optimum: float) -> float:
    """welfare / optimum; 1.0 when both are zero; nan when the optimum is unknown (nan) or
    0 while welfare < 0 (a per-resource auction selling parts of unfinished bundles)."""
    if math.isnan(optimum):
        return math.nan
    if optimum > WELFARE_TOL:
        return welfare / optimum
    return 1.0 if welfare >= -WELFARE_TOL else math.nan


def build_result(
    market: Market,
    mechanism: str,
    trades: Trades,
    prices: FloatArray,
    bundles_served: FloatArray | None = None,
    info: dict[str, Any] | None = None,
    fills: Fills | None = None,
) -> ClearingResult:
    """Assemble a ClearingResult: volumes, welfare, optimum, efficiency, budget balance.

    ``fills`` (if the mechanism tracked them) saves re-deriving volumes, units sold, costs
    and bundles served from the trades; ``bundles_served`` overrides the latter.
    """
    bids, asks = market.bids, market.asks
    if fills is not None:
        volume, sold, cost_r = fills.volume, fills.sold, fills.cost
        served = fills.bundles() if bundles_served is None else bundles_served
    else:
        volume = trades.volume()
        has_ask = trades.ask_index >= 0
        sold = np.bincount(
            trades.ask_index[has_ask], weights=trades.quantity[has_ask], minlength=len(asks)
        ).astype(np.float64, copy=False)
        cost_r = np.bincount(
            asks.resource, weights=sold * asks.price, minlength=N_RESOURCES
        ).astype(np.float64, copy=False)
        served = bundles_from_trades(bids, trades) if bundles_served is None else bundles_served
    if fills is not None and fills.single and bundles_served is None:
        # Single-resource bids: value of the units bought is the value of the bundles.
        value_r = fills.value.copy()
        free = bids.resource < 0
        if free.any():
            value_r += float(served[free] @ bids.value[free]) / N_RESOURCES
    else:
        earned = served * bids.value
        if bids.is_single:
            one = bids.resource >= 0
            value_r = np.bincount(
                bids.resource[one], weights=earned[one], minlength=N_RESOURCES
            ).astype(np.float64, copy=False)
            value_r += earned[~one].sum() / N_RESOURCES
        else:
            value_r = earned @ value_shares(bids, asks)
    return assemble_result(market, mechanism, trades, prices, served, volume, sold, value_r,
                           cost_r, info)


def assemble_result(
    market: Market, mechanism: str, trades: Trades, prices: Any, served: FloatArray,
    volume: FloatArray, sold: FloatArray, value_r: FloatArray, cost_r: FloatArray,
    info: dict[str, Any] | None = None,
) -> ClearingResult:
    """A ClearingResult from a clearing's parts: welfare, optimum, budget balance derived.

    Prices of resources that did not trade become nan; welfare per resource is the value
    of the bundles served attributed to it (``value_r``) minus the ask cost (``cost_r``).
    """
    prices = np.where(volume > 0, np.asarray(prices, dtype=np.float64), np.nan)
    welfare = float(value_r.sum() - cost_r.sum())
    optimum = optimal_welfare(market)
    payments, revenue = trades.buyer_payments, trades.seller_revenue
    return ClearingResult(
        mechanism=mechanism,
        prices=prices,
        trades=trades,
        bundles_served=served,
        volume=volume,
        unmet_demand=np.maximum(demand_total(market) - volume, 0.0),
        welfare=welfare,
        optimal_welfare=optimum,
        efficiency=efficiency_of(welfare, optimum),
        buyer_payments=payments,
        seller_revenue=revenue,
        platform_surplus=payments - revenue,
        sold=sold,
        resource_welfare=value_r - cost_r,
        info=info or {},
    )
