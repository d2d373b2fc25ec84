"""Checks of the mechanisms against published results and textbook properties.

Used by ``tests/market/test_validation.py`` (small sizes) and
``bench/validate_mechanisms.py`` (the published sample sizes' worth of draws). Every
reference here is computed independently of the engine: efficient trades by sorting unit
values, utilities from the trades the mechanism returned.

- :func:`mcafee_gft_share`: McAfee (1992), Table I. n buyers and n sellers with one unit
  each, values and costs i.i.d. U(1, 1000); the share is E[realised gains] / E[efficient
  gains] (the ratio of means, as in the paper's table), with its delta-method standard
  error.
- :func:`mcafee_violations`: on every market McAfee trades k or k - 1 units (k the
  efficient count), is individually rational and weakly budget balanced.
- :func:`misreport_search`: every unilateral misreport on a price grid, for every trader.
- :func:`tatonnement_tracking`: posted prices after many rounds vs the LP duals of the
  same (scarce) market.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from market.generate import random_bundle_bids, random_pool
from market.mechanisms import get_mechanism
from market.mechanisms.base import Mechanism
from market.orders import Asks, Bids, Market
from market.resources import N_RESOURCES

FloatArray = NDArray[np.float64]

#: McAfee (1992), Table I: share of the efficient gains from trade his mechanism realises.
MCAFEE_TABLE_I = {2: 0.7718, 3: 0.8808, 5: 0.9461, 10: 0.9837, 25: 0.9971, 100: 0.9998}


def unit_markets(n: int, draws: int, seed: int | np.random.Generator = 0,
                 low: float = 1.0, high: float = 1000.0) -> tuple[list[Market], FloatArray,
                                                                   FloatArray]:
    """Markets of n unit buyers and n unit sellers per resource, values and costs
    U(low, high). Each Market holds four independent draws, one per resource (the
    per-resource auctions clear them separately), so ``draws`` is rounded up to a multiple
    of 4. Returns the markets and the (draws, n) values and costs in draw order."""
    rng = np.random.default_rng(seed)
    n_m = -(-draws // N_RESOURCES)
    values = rng.uniform(low, high, (n_m * N_RESOURCES, n))
    costs = rng.uniform(low, high, (n_m * N_RESOURCES, n))
    res = np.repeat(np.arange(N_RESOURCES), n)
    ones = np.ones(N_RESOURCES * n)
    markets = []
    for i in range(n_m):
        d = slice(i * N_RESOURCES, (i + 1) * N_RESOURCES)
        m = Market(Bids.single(np.arange(res.size), res, ones, values[d].reshape(-1)),
                   Asks.single(res.size + np.arange(res.size), res, ones, costs[d].reshape(-1)))
        m.cache["optimal_welfare"] = math.nan  # the optimum here is a sort, done below
        markets.append(m)
    return markets, values, costs


def efficient(values: FloatArray, costs: FloatArray) -> tuple[NDArray[np.int64], FloatArray]:
    """Per row of unit values and costs: the efficient trade count k (largest k with
    k-th highest value >= k-th lowest cost) and the efficient gains from trade."""
    v = -np.sort(-values, axis=1)
    c = np.sort(costs, axis=1)
    gain = v - c
    ok = gain >= 0  # a prefix along each row: v falls, c rises
    return ok.sum(axis=1), np.where(ok, gain, 0.0).sum(axis=1)


def _realised(markets: list[Market], mech: Mechanism) -> FloatArray:
    """Gains from trade per draw (rows of :func:`unit_markets`): values of units bought
    minus costs of units sold, from the trades."""
    out = []
    for m, r in zip(markets, mech.clear_many(markets), strict=True):
        t = r.trades
        gain = t.quantity * (m.bids.value[t.bid_index] - m.asks.price[t.ask_index])
        out.append(np.bincount(t.resource, weights=gain, minlength=N_RESOURCES))
    return np.concatenate(out)


@dataclass(frozen=True)
class Share:
    """A Monte Carlo gains-from-trade share: estimate, standard error, draws."""

    share: float
    se: float
    draws: int


def mcafee_gft_share(n: int, draws: int, seed: int = 0) -> Share:
    """McAfee's share of the efficient gains (ratio of means) over ``draws`` markets."""
    markets, values, costs = unit_markets(n, draws, seed)
    real = _realised(markets, get_mechanism("mcafee"))
    _, opt = efficient(values, costs)
    ratio = float(real.sum() / opt.sum())
    # Delta method for a ratio of means: var(real - ratio * opt) / (N mean(opt)^2).
    resid = real - ratio * opt
    se = float(np.sqrt(resid.var(ddof=1) / real.size) / opt.mean())
    return Share(ratio, se, real.size)


def mcafee_violations(n: int, draws: int, seed: int = 0, tol: float = 1e-9) -> list[str]:
    """Markets where McAfee does not trade k or k - 1 units, is not individually rational
    or not weakly budget balanced (empty when all hold)."""
    markets, values, costs = unit_markets(n, draws, seed)
    k, _ = efficient(values, costs)
    bad: list[str] = []
    for i, (m, r) in enumerate(zip(markets, get_mechanism("mcafee").clear_many(markets),
                                   strict=True)):
        t = r.trades
        vol = np.bincount(t.resource, weights=t.quantity, minlength=N_RESOURCES)
        for res in range(N_RESOURCES):
            kk = int(k[i * N_RESOURCES + res])
            if round(vol[res]) not in (kk, kk - 1) or abs(vol[res] - round(vol[res])) > tol:
                bad.append(f"market {i} resource {res}: {vol[res]} units, efficient {kk}")
        if np.any(t.price > m.bids.value[t.bid_index] + tol):
            bad.append(f"market {i}: a buyer pays above its value")
        if np.any(t.seller_price < m.asks.price[t.ask_index] - tol):
            bad.append(f"market {i}: a seller gets below its cost")
        if t.buyer_payments < t.seller_revenue - tol:
            bad.append(f"market {i}: buyers pay less than sellers receive")
    return bad


@dataclass(frozen=True)
class Deviation:
    """A profitable unilateral misreport: side ("buyer"/"seller"), order row, true and
    reported unit price, and the utility gained."""

    side: str
    row: int
    truth: float
    report: float
    gain: float


def _utility(market: Market, mech: Mechanism, side: str, row: int, truth: float) -> float:
    """Quasi-linear utility of one order's owner at its true unit price."""
    t = mech.clear(market).trades
    if side == "buyer":
        sel = t.bid_index == row
        return float(np.sum(t.quantity[sel] * (truth - t.price[sel])))
    sel = t.ask_index == row
    return float(np.sum(t.quantity[sel] * (t.seller_price[sel] - truth)))


def _with_report(market: Market, side: str, row: int, price: float) -> Market:
    bids, asks = market.bids, market.asks
    if side == "buyer":
        value = bids.value.copy()
        value[row] = price * float(bids.demand[row].sum())
        bids = Bids(bids.agent, bids.demand, value, bids.max_bundles)
    else:
        p = asks.price.copy()
        p[row] = price
        asks = Asks(asks.agent, asks.resource, asks.quantity, p)
    m = Market(bids, asks)
    m.cache["optimal_welfare"] = math.nan
    return m


def misreport_search(market: Market, mech: Mechanism, eps: float = 1e-3,
                     tol: float = 1e-9) -> list[Deviation]:
    """Every profitable unilateral misreport of one-resource unit-demand orders.

    Reports tried: every other order's price and those +- ``eps``, 0 and above the highest
    price (the utility is piecewise linear in the report with breaks only there).
    """
    bids, asks = market.bids, market.asks
    bid_unit = bids.value / bids.demand.sum(axis=1)
    prices = np.concatenate([bid_unit, asks.price])
    grid = np.unique(np.concatenate([prices, prices + eps, prices - eps,
                                     [0.0, float(prices.max()) * 2 + 1]]))
    grid = grid[grid >= 0]
    found: list[Deviation] = []
    for side, truths in (("buyer", bid_unit), ("seller", asks.price)):
        for row, truth in enumerate(truths.tolist()):
            honest = _utility(_with_report(market, side, row, truth), mech, side, row, truth)
            best = max(((_utility(_with_report(market, side, row, float(g)), mech, side, row,
                                  truth), float(g)) for g in grid), key=lambda x: x[0])
            if best[0] > honest + tol:
                found.append(Deviation(side, row, truth, best[1], best[0] - honest))
    return found


def scarce_market(seed: int = 0, n_buyers: int = 120, n_sellers: int = 6) -> Market:
    """A bundle market where demand far exceeds supply (few sellers)."""
    rng = np.random.default_rng(seed)
    return Market(random_bundle_bids(n_buyers, rng), random_pool(n_sellers, rng).asks())


@dataclass(frozen=True)
class Tracking:
    """Tatonnement's posted prices vs the LP duals on the same market."""

    rounds: int
    posted: list[float]
    duals: list[float]
    utilization: list[float]
    mean_rel_gap: float  # mean |p - l*| / l* over resources with l* > 0
    scarce_resources: int  # resources above 90 % utilization at the optimum


def tatonnement_tracking(market: Market, rounds: int = 400, **params: float) -> Tracking:
    """Run tatonnement ``rounds`` times on ``market`` and compare its posted prices with
    the equilibrium duals (utilization: the LP's volume over capacity)."""
    eq = get_mechanism("equilibrium").clear(market)
    duals = np.asarray(eq.info["dual_prices"], float)
    cap = market.asks.capacity()
    with np.errstate(invalid="ignore", divide="ignore"):
        util = np.where(cap > 0, eq.volume / cap, 0.0)
    mech = get_mechanism("tatonnement", **params)
    res = None
    for _ in range(rounds):
        res = mech.clear(market)
    assert res is not None
    posted = np.asarray(res.info["posted_prices"], float)
    pos = duals > 1e-12
    gap = float(np.mean(np.abs(posted[pos] - duals[pos]) / duals[pos])) if pos.any() else 0.0
    return Tracking(rounds, posted.tolist(), duals.tolist(), util.tolist(), gap,
                    int(np.sum(util > 0.9)))
