"""The round's orders as markets: split by venue, cleared by the scenario's mechanism, merged.

Orders arrive as flat arrays tagged with a *venue* (a market id): with ``scope: cell`` each
edge node runs its own market for the devices attached to it and the brokers in its cell;
with ``scope: pool`` all edge resources form one virtual resource pool (source 000); the
cloud always has its own market. Each venue keeps its own mechanism instance (tâtonnement
keeps posted prices per venue). Clearing itself is the market engine's
(``market.mechanisms``); this module only slices arrays and re-indexes trades so that
``bid_index`` is the request's row and ``ask_index`` the ask's row in the round's arrays.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from market.lp import solve_welfare_lp
from market.mechanisms import Mechanism
from market.orders import Asks, Bids, Market, Trades
from market.resources import N_RESOURCES
from market.result import ClearingResult
from market.welfare import efficiency_of

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass
class OrderArrays:
    """Flat orders of one round, each row tagged with its venue."""

    bid_venue: IntArray
    bid_row: IntArray  # request row each bid belongs to
    bid_agent: IntArray
    bid_demand: FloatArray  # (b, 4)
    bid_value: FloatArray
    ask_venue: IntArray
    ask_agent: IntArray
    ask_resource: NDArray[np.int8]
    ask_quantity: FloatArray
    ask_price: FloatArray


@dataclass
class VenueOutcome:
    """One venue's clearing, with its rows in the round's arrays."""

    venue: int
    result: ClearingResult
    bid_rows: IntArray  # request row of each local bid
    ask_rows: IntArray  # round-level ask row of each local ask
    demand_total: FloatArray  # (4,) units wanted in the venue
    supply_total: FloatArray  # (4,) units offered in the venue
    equilibrium_prices: FloatArray  # (4,) Walrasian prices (LP duals); nan if not solved


@dataclass
class Clearing:
    """All venues of one phase (edge or cloud)."""

    outcomes: list[VenueOutcome] = field(default_factory=list)
    trades: Trades = field(default_factory=Trades.empty)
    served: FloatArray = field(default_factory=lambda: np.zeros(0))  # per request row


#: Clear all venues of a phase in one ``Mechanism.clear_many`` call when the mechanism is
#: batched (results are identical to the per-venue loop; False forces the loop).
BATCH_VENUES = True


def clear_venues(orders: OrderArrays, n_requests: int,
                 mechanism_for: Callable[[int], Mechanism],
                 optimum_skipped: bool = False, batched: bool | None = None) -> Clearing:
    """Clear every venue that has bids; trades re-indexed to round-level rows.

    ``optimum_skipped`` pre-fills each market's memo of its optimal welfare with NaN so the
    mechanism does not solve the welfare LP (a large saving at scale; efficiency is then NaN).
    ``batched`` (default :data:`BATCH_VENUES`): when every venue's mechanism is the same
    stateless batched mechanism (``Mechanism.batched``), clear all venues in one
    ``clear_many`` call; otherwise each venue's own instance clears it in turn.
    """
    out = Clearing(served=np.zeros(n_requests))
    if orders.bid_venue.size == 0:
        return out
    # Validated once for the whole round; the venues' rows are slices of these.
    all_bids = Bids(orders.bid_agent, orders.bid_demand, orders.bid_value,
                    np.ones(orders.bid_venue.size))
    all_asks = Asks(orders.ask_agent, orders.ask_resource, orders.ask_quantity,
                    orders.ask_price)
    bo = np.argsort(orders.bid_venue, kind="stable")
    ao = np.argsort(orders.ask_venue, kind="stable")
    bv, av = orders.bid_venue[bo], orders.ask_venue[ao]
    venues, b_start = np.unique(bv, return_index=True)
    b_end = np.r_[b_start[1:], bv.size]
    a_start = np.searchsorted(av, venues, side="left")
    a_end = np.searchsorted(av, venues, side="right")
    vlist = venues.tolist()
    mechs = [mechanism_for(v) for v in vlist]
    markets: list[Market] = []
    sels: list[tuple[IntArray, IntArray]] = []
    for b0, b1, a0, a1 in zip(b_start.tolist(), b_end.tolist(), a_start.tolist(),
                              a_end.tolist(), strict=True):
        bsel, asel = bo[b0:b1], ao[a0:a1]
        market = Market(all_bids.take(bsel), all_asks.take(asel))
        if optimum_skipped:
            market.cache["optimal_welfare"] = math.nan
        markets.append(market)
        sels.append((bsel, asel))
    first = mechs[0]
    use_batch = (BATCH_VENUES if batched is None else batched) and type(first).batched and all(
        type(m) is type(first) and vars(m) == vars(first) for m in mechs)
    results = first.clear_many(markets) if use_batch else [
        m.clear(market) for m, market in zip(mechs, markets, strict=True)]
    parts: list[Trades] = []
    for v, market, res, (bsel, asel) in zip(vlist, markets, results, sels, strict=True):
        eq = (np.full(N_RESOURCES, np.nan) if optimum_skipped
              else np.asarray(solve_welfare_lp(market).prices, dtype=np.float64))
        rows = orders.bid_row[bsel]
        t = res.trades
        if len(t):
            bi, ai = rows[t.bid_index], asel[t.ask_index]
            make = Trades._trusted if bi.dtype == ai.dtype == np.int64 else Trades
            parts.append(make(t.buyer, t.seller, t.resource, t.quantity, t.price, bi, ai,
                              t.seller_price))
        out.served[rows] = res.bundles_served
        out.outcomes.append(VenueOutcome(v, res, rows, asel, market.demand_total(),
                                         market.supply_total(), eq))
    out.trades = Trades.concat(*parts)
    return out


def merge_results(mechanism: str, clearings: list[Clearing], extra: Trades,
                  n_requests: int, n_asks: int) -> ClearingResult:
    """One ClearingResult for the round: trades of every venue plus ``extra`` direct trades.

    Prices are volume-weighted means over venues (nan where nothing traded); welfare,
    optimum, volumes and payments are sums; ``bundles_served`` is per request row (the
    best any venue gave it); ``sold`` is per round-level ask row.
    """
    outcomes = [o for c in clearings for o in c.outcomes]
    trades = Trades.concat(*[c.trades for c in clearings if len(c.trades)], extra) \
        if len(extra) else Trades.concat(*[c.trades for c in clearings if len(c.trades)])
    volume = trades.volume() if len(trades) else np.zeros(N_RESOURCES)
    pay_r = np.bincount(trades.resource, weights=trades.quantity * trades.price,
                        minlength=N_RESOURCES).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        prices = np.where(volume > 0, pay_r / volume, np.nan)
    served = np.zeros(n_requests)
    for c in clearings:
        if c.served.size:
            served = np.maximum(served, c.served)
    sold = np.zeros(n_asks)
    unmet = np.zeros(N_RESOURCES)
    res_welfare = np.zeros(N_RESOURCES)
    welfare = optimum = 0.0
    for o in outcomes:
        r = o.result
        if r.sold.size == o.ask_rows.size:
            np.add.at(sold, o.ask_rows, r.sold)
        unmet += r.unmet_demand
        res_welfare += np.nan_to_num(r.resource_welfare)
        welfare += r.welfare
        optimum += r.optimal_welfare
    payments, revenue = trades.buyer_payments, trades.seller_revenue
    return ClearingResult(
        mechanism=mechanism,
        prices=prices,
        trades=trades,
        bundles_served=served,
        volume=volume,
        unmet_demand=unmet,
        welfare=float(welfare),
        optimal_welfare=float(optimum),
        efficiency=efficiency_of(welfare, optimum) if math.isfinite(optimum) else math.nan,
        buyer_payments=payments,
        seller_revenue=revenue,
        platform_surplus=payments - revenue,
        sold=sold,
        resource_welfare=res_welfare,
        info={"venues": len(outcomes), "direct_trades": len(extra),
              "equilibrium_prices": equilibrium_prices(outcomes)},
    )


def equilibrium_prices(outcomes: list[VenueOutcome]) -> FloatArray:
    """(4,) Walrasian prices of the venues (LP duals), weighted by each venue's supply.

    NaN for a resource no solved venue offers (or when no optimum was solved this round).
    """
    num, den = np.zeros(N_RESOURCES), np.zeros(N_RESOURCES)
    for o in outcomes:
        ok = np.isfinite(o.equilibrium_prices) & (o.supply_total > 0)
        num += np.where(ok, o.equilibrium_prices * o.supply_total, 0.0)
        den += np.where(ok, o.supply_total, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)
