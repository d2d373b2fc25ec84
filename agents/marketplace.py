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

from market.batch import clear_uniform_flat
from market.lp import solve_welfare_lp
from market.mechanisms import Mechanism
from market.mechanisms.uniform import UniformPrice
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


def _rows4() -> FloatArray:
    return np.zeros((0, N_RESOURCES))


@dataclass
class Clearing:
    """All venues of one phase (edge or cloud).

    Per venue (V rows, in venue order) as arrays: ``venues``, ``prices``, ``demand_total``,
    ``supply_total``, ``equilibrium``, ``unmet_demand``, ``resource_welfare``,
    ``welfare``, ``optimal_welfare``; ``ask_rows`` / ``sold``: units sold by each
    round-level ask row that took part. ``outcomes`` holds the per-venue
    :class:`VenueOutcome` objects when the venues were cleared as separate markets (it is
    empty after the flat batched path, which builds no per-venue objects).
    """

    outcomes: list[VenueOutcome] = field(default_factory=list)
    trades: Trades = field(default_factory=Trades.empty)
    served: FloatArray = field(default_factory=lambda: np.zeros(0))  # per request row
    venues: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    prices: FloatArray = field(default_factory=_rows4)
    demand_total: FloatArray = field(default_factory=_rows4)
    supply_total: FloatArray = field(default_factory=_rows4)
    equilibrium: FloatArray = field(default_factory=_rows4)
    unmet_demand: FloatArray = field(default_factory=_rows4)
    resource_welfare: FloatArray = field(default_factory=_rows4)
    welfare: FloatArray = field(default_factory=lambda: np.zeros(0))
    optimal_welfare: FloatArray = field(default_factory=lambda: np.zeros(0))
    ask_rows: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    sold: FloatArray = field(default_factory=lambda: np.zeros(0))
    volume: FloatArray = field(default_factory=_rows4)  # (V, 4) units traded per venue

    def shift_asks(self, offset: int) -> None:
        """Renumber the round-level ask rows by ``offset`` (phases number asks in turn)."""
        self.ask_rows = self.ask_rows + offset
        for o in self.outcomes:
            o.ask_rows = o.ask_rows + offset

    def _from_outcomes(self) -> None:
        """Fill the per-venue arrays from ``outcomes``."""
        outs = self.outcomes
        if not outs:
            return
        res = [o.result for o in outs]
        self.venues = np.array([o.venue for o in outs], np.int64)
        self.prices = np.array([r.prices for r in res])
        self.demand_total = np.array([o.demand_total for o in outs])
        self.supply_total = np.array([o.supply_total for o in outs])
        self.equilibrium = np.array([o.equilibrium_prices for o in outs])
        self.unmet_demand = np.array([r.unmet_demand for r in res])
        self.resource_welfare = np.array([r.resource_welfare for r in res])
        self.welfare = np.array([r.welfare for r in res])
        self.optimal_welfare = np.array([r.optimal_welfare for r in res])
        self.volume = np.array([r.volume for r in res])
        whole = [o for o in outs if o.result.sold.size == o.ask_rows.size]
        self.ask_rows = np.concatenate([o.ask_rows for o in whole]) if whole else \
            np.zeros(0, np.int64)
        self.sold = np.concatenate([o.result.sold for o in whole]) if whole else np.zeros(0)


#: Clear all venues of a phase in one ``Mechanism.clear_many`` call when the mechanism is
#: batched (results are identical to the per-venue loop; False forces the loop).
BATCH_VENUES = True


def _venue_order(venue: IntArray) -> IntArray:
    """``np.argsort(venue, kind="stable")``; through int16 keys when the ids fit, which
    numpy sorts by radix (the same order: the cast keeps every id)."""
    if venue.size and -(2**15) <= int(venue.min()) and int(venue.max()) < 2**15:
        return np.argsort(venue.astype(np.int16), kind="stable")
    return np.argsort(venue, kind="stable")


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
    bo = _venue_order(orders.bid_venue)
    ao = _venue_order(orders.ask_venue)
    bv, av = orders.bid_venue[bo], orders.ask_venue[ao]
    # np.unique(bv, return_index=True) of the sorted bv, without sorting it again.
    b_start = np.flatnonzero(np.concatenate(([True], bv[1:] != bv[:-1])))
    venues = bv[b_start]
    b_end = np.append(b_start[1:], bv.size)
    a_start = np.searchsorted(av, venues, side="left")
    a_end = np.searchsorted(av, venues, side="right")
    vlist = venues.tolist()
    mechs = [mechanism_for(v) for v in vlist]
    first = mechs[0]
    kind, params = type(first), vars(first)  # looked up once: a 128-world env has ~600 venues
    use_batch = (BATCH_VENUES if batched is None else batched) and kind.batched and all(
        m is first or (type(m) is kind and vars(m) == params) for m in mechs)
    # Exactly the built-in uniform mechanism: a subclass may change how it clears.
    if use_batch and optimum_skipped and type(first) is UniformPrice and \
            not first.needs_single(b_end - b_start, a_end - a_start):
        # Asks of the venues that have bids, venue-sorted (np.isin(av, venues), by the
        # position of each ask's venue among the sorted venues).
        at = np.minimum(np.searchsorted(venues, av), venues.size - 1)
        ao_v = ao[venues[at] == av]
        return _clear_flat(out, orders, all_bids.take(bo), all_asks.take(ao_v), bo, ao_v,
                           venues, b_end - b_start, a_end - a_start, first.k)
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
    out._from_outcomes()
    return out


def _clear_flat(out: Clearing, orders: OrderArrays, bids: Bids, asks: Asks, bo: IntArray,
                ao: IntArray, venues: IntArray, nb: IntArray, na: IntArray, k: float) -> Clearing:
    """The batched uniform-price path without per-venue objects (no optimum solved).

    Prices, trades, fills and the venue demand and supply equal the per-venue path's
    exactly (so the rounds that follow are the same); welfare totals up to float rounding.
    """
    vc = clear_uniform_flat(nb, na, bids, asks, k)
    n_v = venues.size
    rows = orders.bid_row[bo]
    t = vc.t_price.size
    if t:
        out.trades = Trades._trusted(vc.t_buyer, vc.t_seller, vc.t_res, vc.t_qty, vc.t_price,
                                     rows[vc.t_bid], ao[vc.t_ask], vc.t_price)
    out.served[rows] = vc.served
    # Market.demand_total venue by venue (it feeds the nodes' observations, so it must
    # equal the per-venue path's exactly); Market.supply_total as one keyed bincount.
    dem = _venue_demand(bids, vc.b_off, nb)
    a_ven = np.repeat(np.arange(n_v, dtype=np.int64), na)
    sup = np.bincount(a_ven * N_RESOURCES + asks.resource, weights=asks.quantity,
                      minlength=n_v * N_RESOURCES).reshape(n_v, N_RESOURCES)
    out.venues = venues.astype(np.int64)
    out.prices = np.where(vc.volume > 0, vc.prices, np.nan)
    out.demand_total, out.supply_total = dem, sup
    out.equilibrium = np.full((n_v, N_RESOURCES), np.nan)
    out.unmet_demand = np.maximum(dem - vc.volume, 0.0)
    out.resource_welfare = vc.value_r - vc.cost_r
    out.welfare = vc.value_r.sum(axis=1) - vc.cost_r.sum(axis=1)
    out.optimal_welfare = np.full(n_v, math.nan)
    out.ask_rows, out.sold = ao, vc.sold
    out.volume = vc.volume
    return out


def _venue_demand(bids: Bids, b_off: IntArray, nb: IntArray) -> FloatArray:
    """(V, 4) ``Market.demand_total`` of each venue's bids (rows ``b_off[v]:b_off[v+1]``).

    It feeds the nodes' observations, so it must be the per-venue path's BLAS gemv bit for
    bit. A 128-world env has hundreds of venues: those with the same number of bids go
    through one stacked matmul, which runs the same gemv (same length and strides) on each
    venue's rows -- the same bits as one call per venue (tested), without hundreds of
    Python-level calls.
    """
    n_v = nb.size
    dem = np.zeros((n_v, N_RESOURCES))
    mb, demand = bids.max_bundles, bids.demand
    sizes, first, count = np.unique(nb, return_index=True, return_counts=True)
    for n, v0, c in zip(sizes.tolist(), first.tolist(), count.tolist(), strict=True):
        if n == 0:
            continue
        if c == 1:
            b0 = int(b_off[v0])
            dem[v0] = mb[b0:b0 + n] @ demand[b0:b0 + n]
            continue
        vs = np.flatnonzero(nb == n)
        rows = b_off[vs][:, None] + np.arange(n)
        dem[vs] = (mb[rows][:, None, :] @ demand[rows])[:, 0, :]
    return dem


def merge_results(mechanism: str, clearings: list[Clearing], extra: Trades,
                  n_requests: int, n_asks: int) -> ClearingResult:
    """One ClearingResult for the round: trades of every venue plus ``extra`` direct trades.

    Prices are volume-weighted means over venues (nan where nothing traded); welfare,
    optimum, volumes and payments are sums; ``bundles_served`` is per request row (the
    best any venue gave it); ``sold`` is per round-level ask row.
    """
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
    n_venues = sum(c.venues.size for c in clearings)
    for c in clearings:
        if c.ask_rows.size:
            np.add.at(sold, c.ask_rows, c.sold)
    if n_venues:  # totals added venue after venue (row-wise reductions are sequential)
        unmet = np.add.reduce(np.concatenate([unmet[None], *(c.unmet_demand for c in clearings)]))
        res_welfare = np.add.reduce(np.concatenate(
            [res_welfare[None], *(np.nan_to_num(c.resource_welfare) for c in clearings)]))
        for w, o in zip(np.concatenate([c.welfare for c in clearings]).tolist(),
                        np.concatenate([c.optimal_welfare for c in clearings]).tolist(),
                        strict=True):
            welfare += w
            optimum += o
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
        info={"venues": n_venues, "direct_trades": len(extra),
              "equilibrium_prices": equilibrium_prices(clearings)},
    )


def equilibrium_prices(clearings: list[Clearing]) -> FloatArray:
    """(4,) Walrasian prices of the venues (LP duals), pooled like the clearing prices.

    The dual half of :func:`pooled_prices`: each venue's dual weighted by the units the
    mechanism traded there, so the pooled clearing price and the pooled dual average the
    same venues with the same weights. NaN where no venue with a dual traded (or when no
    optimum was solved this round).
    """
    return pooled_prices(clearings)[1]


def pooled_prices(clearings: list[Clearing]) -> tuple[FloatArray, FloatArray]:
    """(4,) pooled clearing prices and (4,) pooled LP duals over the venues of
    ``clearings``, both weighted by each venue's traded units, over the same venues.

    Per resource, a venue counts when it traded and has a clearing price and (when any
    venue of the round has duals) a dual. Without duals (optimum skipped), the price is
    pooled over the venues that traded and the dual is NaN. Only venue clearings enter: the
    comm-only arm's direct compute assignments have no venue and no dual.
    """
    if not clearings or not any(c.venues.size for c in clearings):
        nan = np.full(N_RESOURCES, np.nan)
        return nan, nan.copy()
    vol = np.concatenate([c.volume for c in clearings if c.venues.size])
    price = np.concatenate([c.prices for c in clearings if c.venues.size])
    dual = np.concatenate([c.equilibrium for c in clearings if c.venues.size])
    with_duals = bool(np.isfinite(dual).any())
    ok = (vol > 0) & np.isfinite(price) & (np.isfinite(dual) if with_duals else True)
    w = np.where(ok, vol, 0.0)
    den = w.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(den > 0, (w * np.where(ok, price, 0.0)).sum(axis=0) / den, np.nan)
        d = np.where(den > 0, (w * np.where(ok, dual, 0.0)).sum(axis=0) / den, np.nan) \
            if with_duals else np.full(N_RESOURCES, np.nan)
    return p, d


def none_rows(a: FloatArray) -> list[list[float | None]]:
    """A 2-D array as JSON-able rows: Python floats, None where not finite.

    Through an object array rather than a float-by-float loop: five tables of ~640 venues
    x 4 a round in a 128-world env, ~2 ms of each round that way.
    """
    a = np.asarray(a, dtype=np.float64)
    out = a.astype(object)
    out[~np.isfinite(a)] = None
    rows: list[list[float | None]] = out.tolist()
    return rows


def venue_prices(clearings: list[Clearing]) -> dict[str, list]:
    """Each venue's clearing price next to its LP dual (JSON-able lists, venue order):
    ``venue`` ids (edge >= 0, cloud < 0), ``price`` / ``dual`` / ``volume`` rows of 4
    (None for NaN)."""
    cs = [c for c in clearings if c.venues.size]
    if not cs:
        return {"venue": [], "price": [], "dual": [], "volume": []}
    cat = np.concatenate
    return {"venue": cat([c.venues for c in cs]).tolist(),
            "price": none_rows(cat([c.prices for c in cs])),
            "dual": none_rows(cat([c.equilibrium for c in cs])),
            "volume": none_rows(cat([c.volume for c in cs]))}
