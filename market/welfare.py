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

from market.book import cross
from market.lp import solve_welfare_lp
from market.orders import NO_RESOURCE, Bids, Market, Trades
from market.resources import N_RESOURCES
from market.result import ClearingResult
from market.split import split_bids, value_shares

FloatArray = NDArray[np.float64]

#: |welfare| below this (credits) counts as zero when computing efficiency.
WELFARE_TOL = 1e-9


def _single_resource_optimum(market: Market) -> float:
    """Optimal welfare when no bid is a true bundle: per-resource greedy (exact, no LP)."""
    bids, asks = market.bids, market.asks
    total = float(bids.value @ (bids.max_bundles * (bids.resource == NO_RESOURCE)))
    for r in range(N_RESOURCES):
        rb = split_bids(bids, asks, r)
        sel = np.flatnonzero(asks.resource == r)
        if rb.rows.size == 0 or sel.size == 0:
            continue
        ap, aq = asks.price[sel], asks.quantity[sel]
        c = cross(rb.price, rb.quantity, ap, aq)
        market.cache[("crossing", r)] = (rb, sel, c)
        if c.quantity <= 0:
            continue
        total += _accepted_value(rb.price[c.bid_order], rb.quantity[c.bid_order], c.quantity)
        total -= _accepted_value(ap[c.ask_order], aq[c.ask_order], c.quantity)
    return total


def _accepted_value(price: FloatArray, qty: FloatArray, volume: float) -> float:
    """Sum of price x quantity over the first ``volume`` units of a ranked curve."""
    end = np.cumsum(qty)
    take = np.clip(volume - (end - qty), 0.0, qty)
    return float(price @ take)


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
    """welfare / optimum; 1.0 when both are zero, nan when the optimum is 0 but welfare < 0."""
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
) -> ClearingResult:
    """Assemble a ClearingResult: volumes, welfare, optimum, efficiency, budget balance."""
    bids, asks = market.bids, market.asks
    volume = trades.volume()
    prices = np.where(volume > 0, np.asarray(prices, dtype=np.float64), np.nan)
    sold = np.bincount(trades.ask_index[trades.ask_index >= 0],
                       weights=trades.quantity[trades.ask_index >= 0], minlength=len(asks)).astype(np.float64, copy=False)
    cost_r = np.bincount(asks.resource, weights=sold * asks.price, minlength=N_RESOURCES).astype(np.float64, copy=False)
    served = bundles_from_trades(bids, trades) if bundles_served is None else bundles_served
    earned = served * bids.value
    if bids.is_single:
        single = bids.resource >= 0
        value_r = np.bincount(bids.resource[single], weights=earned[single], minlength=N_RESOURCES).astype(np.float64, copy=False)
        value_r += earned[~single].sum() / N_RESOURCES
    else:
        value_r = earned @ value_shares(bids, asks)
    welfare = float(earned.sum() - cost_r.sum())
    optimum = optimal_welfare(market)
    payments, revenue = trades.buyer_payments, trades.seller_revenue
    return ClearingResult(
        mechanism=mechanism,
        prices=prices,
        trades=trades,
        bundles_served=served,
        volume=volume,
        unmet_demand=np.maximum(market.demand_total() - volume, 0.0),
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
