"""Brokers as sellers (issue 11, item 5): their asks come from a pricing strategy, through
the same interface as the nodes' (:class:`agents.strategies.NodeStrategy`), never below
their true cost and never for more than their idle capacity.

A broker is a device with ``is_broker`` set, charged above ``broker_min_battery_fraction``
and attached to a node. Each round it offers, in its node's venue (its cell, zone or the
pool, where it competes with the nodes):

- its idle caching, computation and learning (``devices.capacity``), and
- D2D relay radio (communication, Mbps) to the devices it relays for
  (:mod:`agents.relay_market`), up to its relay capacity that round.

**Pricing.** The scenario's ``devices.broker_strategy`` (default ``zip``: Cliff's ZIP
seller, which raises its margin after selling out at a market price above its ask and
undercuts the market price after failing to sell) sees, per broker and resource, a
:class:`~agents.strategies.NodeObservation` built like a node's: its true cost, its idle
capacity this round, its last ask, the units it sold last round, its pro-rata share of
its venue's demand, and its venue's last clearing price (read through its node). There is
no markup on cost: the strategy's opening margin is only where learning starts. The
strategy draws from its own random stream, so adding brokers does not shift the model's.

**True cost** (credits per unit, ``devices.cost``; what allocative and delivered welfare
charge, agents.honest_welfare):

- caching, computation, learning: ``devices.marginal_cost`` -- the owner's opportunity
  cost of lending its idle handset (storage, the battery cycles a job wears, the time it
  cannot use the hardware itself; by default twice a node's: handset silicon does less
  per joule and per credit of hardware) -- plus, for computation, ``devices.j_per_gflop``
  at the energy price (``nodes.energy.price_credits_per_kwh``: recharging the battery);
- relay radio: ``devices.marginal_cost.communication_credits_per_mbps`` plus the energy of
  transmitting the relayed traffic, ``devices.tx_power_w`` × round length / two-hop rate
  J per Mbps held for a round, at the same energy price. This counts the broker's radio
  as transmitting for the whole round (an upper bound: a session transmits only part of
  the time), so the cost never flatters the broker.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from agents.execution import KIND_DEVICE
from agents.strategies import NodeObservation, NodeStrategy, get_strategy
from market.orders import Trades
from market.resources import N_RESOURCES

if TYPE_CHECKING:
    from agents.marketplace import Clearing, OrderArrays
    from agents.model import EdgeMarketModel
    from agents.workloads import Requests

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Key of the brokers' own random stream (mixed with the model's seed).
BROKER_STREAM = 0xB40CE5

_J_PER_KWH = 3.6e6


def relay_unit_cost(marginal_per_mbps: float, tx_power_w: float, round_s: float,
                    rate_mbps: FloatArray, price_per_kwh: float) -> FloatArray:
    """True cost (credits per Mbps held for a round) of relaying at ``rate_mbps`` (see the
    module doc): marginal cost + tx energy at full duty; inf where the rate is 0."""
    rate = np.asarray(rate_mbps, np.float64)
    with np.errstate(divide="ignore"):
        joules = np.where(rate > 0, tx_power_w * round_s / rate, np.inf)
    return marginal_per_mbps + joules * price_per_kwh / _J_PER_KWH


def active_brokers(model: EdgeMarketModel) -> IntArray:
    """Device rows selling this round: brokers, charged enough, attached to a node."""
    dev, sc = model.devices, model.scenario
    charged = dev.battery_j >= sc.devices.broker_min_battery_fraction * dev.battery_capacity_j
    return np.flatnonzero(dev.is_broker & charged & (dev.attached >= 0))


class BrokerPricing:
    """Quotes and learning of all brokers of a model (one strategy for the group).

    State covers every device row (a device may become a broker mid-run, e.g. through the
    RL broker switch); rows that offer nothing in a round are not updated by the strategy.
    """

    def __init__(self, strategy: NodeStrategy, n_devices: int, seed: int | None) -> None:
        self.strategy = strategy
        self.rng = np.random.default_rng([BROKER_STREAM, 0 if seed is None else int(seed)])
        self.ask = np.zeros((n_devices, N_RESOURCES))
        self.offered = np.zeros((n_devices, N_RESOURCES))  # idle units offered this round

    @classmethod
    def from_model(cls, model: EdgeMarketModel) -> BrokerPricing:
        """The scenario's ``devices.broker_strategy`` for the model's devices."""
        spec = model.scenario.devices.broker_strategy
        strat = get_strategy(spec.name, kind="node", **spec.params)
        assert isinstance(strat, NodeStrategy)
        strat.for_role("broker")  # a learned policy picks its broker module
        return cls(strat, model.devices.uid.size, model.seed)

    def observation(self, model: EdgeMarketModel) -> NodeObservation:
        """Every device row seen as a seller (see the module doc): cost, capacity offered
        this round, last ask, units sold last round, share of its venue's demand, and its
        venue's last clearing price (NaN when unattached or nothing traded)."""
        dev, nodes = model.devices, model.nodes
        att = dev.attached
        ok = att >= 0
        a = np.maximum(att, 0)
        price = np.full(self.ask.shape, np.nan)
        ratio = np.zeros(self.ask.shape)
        if nodes.uid.size:
            price = np.where(ok[:, None], nodes.market_price[a], np.nan)
            with np.errstate(divide="ignore", invalid="ignore"):
                per_unit = np.where(nodes.capacity > 0, nodes.demand / nodes.capacity, 0.0)
            ratio = np.where(ok[:, None], per_unit[a], 0.0)
        return NodeObservation(round=model.steps, cost=dev.cost, capacity=self.offered,
                               last_ask=self.ask, sold=dev.sold, demand=ratio * self.offered,
                               market_price=price)

    def quote(self, model: EdgeMarketModel, offered: FloatArray) -> FloatArray:
        """(n, 4) asks for this round given the idle units ``offered`` per device row;
        never below the true cost (``devices.cost``)."""
        self.offered = np.asarray(offered, np.float64)
        ask = self.strategy.quote(self.observation(model), self.rng)
        self.ask = np.maximum(np.asarray(ask, np.float64), model.devices.cost)
        return self.ask

    def update(self, model: EdgeMarketModel) -> None:
        """Learn from the round just settled (``devices.sold``, the venues' prices)."""
        self.strategy.update(self.observation(model), self.rng)


@dataclass(frozen=True)
class AskBook:
    """The asks of a clearing, by round-level ask row: market (venue-resource group), price,
    units offered, seller agent id, and whether the seller is a broker."""

    group: IntArray
    price: FloatArray
    offered: FloatArray
    agent: IntArray
    broker: NDArray[np.bool_]


def assign_units(trades: Trades, group: IntArray, harm: FloatArray, asks: AskBook,
                 kernel: bool | None = None) -> Trades:
    """The same clearing, with broker units sold only behind cheaper node units and handed
    to the buyers they harm least (see :func:`assign_broker_units`).

    Per trade: ``group`` (the venue-resource market it cleared in; ``trades.ask_index``
    rows of ``asks``), ``harm`` (what a broker unit costs its buyer; inf: the buyer cannot
    use one). Only groups where a broker sold are touched. In each:

    1. *Merit order*: the units sold in the group go to its asks cheapest first (nodes
       before brokers at equal asks), each up to its offer. A clearing that left part of a
       cheaper node offer unsold while a broker sold (a bundle's trades cut back after
       the crossing release units of whichever sellers they were matched with) is put
       back in price order. Every ask filled costs no more than one that sold before,
       so every seller is still paid at least its ask.
    2. *Matching*: buyers ranked by harm, most harmed first, and the filled asks nodes
       first; units are dealt in that order (north-west corner rule), so node units go
       to the most harmed buyers and broker units to the least harmed.

    Each buyer keeps its units and its payment (its trades' mean unit price); the group's
    units sold are unchanged and every seller gets the group's mean seller price (one
    price per group in every built-in mechanism).

    A compiled loop by default (agents.broker_kernels, the same rows, amounts equal to
    float rounding); ``kernel=False`` runs the numpy code.
    """
    n = len(trades)
    if not n:
        return trades
    known = trades.ask_index >= 0  # trades the clearing tied to an ask row (all, at the edge)
    from_broker = known & asks.broker[np.where(known, trades.ask_index, 0)]
    sel = np.isin(group, np.unique(group[from_broker]))
    sel &= ~np.isin(group, np.unique(group[~known]))  # never guess the seller of a trade
    if not sel.any():
        return trades
    keep = np.flatnonzero(~sel)
    cols: list[list[NDArray[Any]]] = [[] for _ in range(8)]
    # Each group's trades and asks as slices of one stable sort (ascending rows within a
    # group, as np.flatnonzero would give them), not a scan of every row per group.
    t_order = np.argsort(group, kind="stable")
    t_sorted = group[t_order]
    a_live = np.flatnonzero(asks.offered > 0)
    a_order = a_live[np.argsort(asks.group[a_live], kind="stable")]
    a_sorted = asks.group[a_order]
    groups = np.unique(group[sel])
    t_lo, t_hi = np.searchsorted(t_sorted, groups), np.searchsorted(t_sorted, groups, "right")
    a_lo, a_hi = np.searchsorted(a_sorted, groups), np.searchsorted(a_sorted, groups, "right")
    from market.matching import kernel_input, use_kernels

    if use_kernels(kernel):
        from agents import broker_kernels

        ki = kernel_input
        f64, i64 = np.float64, np.int64
        new = broker_kernels.assign_groups(
            ki(groups.astype(i64)), ki(t_order.astype(i64)), ki(t_lo.astype(i64)),
            ki(t_hi.astype(i64)), ki(a_order.astype(i64)), ki(a_lo.astype(i64)),
            ki(a_hi.astype(i64)), ki(trades.quantity.astype(f64)),
            ki(trades.price.astype(f64)), ki(trades.seller_price.astype(f64)),
            ki(trades.bid_index.astype(i64)), ki(trades.buyer.astype(i64)),
            ki(np.asarray(harm, f64)), ki(asks.price.astype(f64)),
            ki(asks.offered.astype(f64)), ki(asks.broker.astype(np.uint8)),
            ki(asks.agent.astype(i64)), N_RESOURCES)
        for c, v in zip(cols, new, strict=True):
            c.append(v)
    else:
        for k, g in enumerate(groups):
            rows = t_order[t_lo[k]: t_hi[k]]
            q = trades.quantity[rows]
            total = float(q.sum())
            seller_price = float(q @ trades.seller_price[rows]) / total
            # 1. Merit order over the group's asks.
            a_rows = a_order[a_lo[k]: a_hi[k]]
            a_rows = a_rows[np.lexsort((a_rows, asks.broker[a_rows], asks.price[a_rows]))]
            a_cum = np.cumsum(asks.offered[a_rows])
            a_q = np.diff(np.minimum(np.r_[0.0, a_cum], total))
            a_q[-1] += max(total - a_cum[-1], 0.0)  # float dust of a book sold out
            fill = a_q > 0
            a_rows, a_q = a_rows[fill], a_q[fill]
            deal = np.lexsort((a_rows, asks.broker[a_rows]))  # node units dealt first
            a_rows, a_q = a_rows[deal], a_q[deal]
            # 2. Buyers (request rows), most harmed first; ties by request row.
            bid, b_inv = np.unique(trades.bid_index[rows], return_inverse=True)
            b_q = np.bincount(b_inv, weights=q)
            b_pay = np.bincount(b_inv, weights=q * trades.price[rows])
            b_harm = np.full(bid.size, -np.inf)
            np.maximum.at(b_harm, b_inv, harm[rows])
            b_agent = np.zeros(bid.size, np.int64)
            b_agent[b_inv] = trades.buyer[rows]
            bo = np.lexsort((bid, -b_harm))
            bc, sc = np.cumsum(b_q[bo]), np.cumsum(a_q)
            bc[-1] = sc[-1] = total  # both sides end together (float dust of the sums)
            cuts = np.unique(np.concatenate([[0.0], bc, sc]))
            lo, hi = cuts[:-1], cuts[1:]
            mid = (lo + hi) / 2
            bi = bo[np.minimum(np.searchsorted(bc, mid), bo.size - 1)]
            si = np.minimum(np.searchsorted(sc, mid), a_rows.size - 1)
            amount = hi - lo
            ok = amount > 0
            bi, si, amount = bi[ok], si[ok], amount[ok]
            ask = a_rows[si]
            for c, v in zip(cols, (b_agent[bi], asks.agent[ask], bid[bi], ask, amount,
                                   b_pay[bi] / b_q[bi], np.full(bi.size, seller_price),
                                   np.full(bi.size, g % N_RESOURCES, np.int8)), strict=True):
                c.append(v)
    cat = np.concatenate
    return Trades(
        buyer=cat([trades.buyer[keep], *cols[0]]), seller=cat([trades.seller[keep], *cols[1]]),
        resource=cat([trades.resource[keep], *cols[7]]),
        quantity=cat([trades.quantity[keep], *cols[4]]), price=cat([trades.price[keep], *cols[5]]),
        bid_index=cat([trades.bid_index[keep], *cols[2]]),
        ask_index=cat([trades.ask_index[keep], *cols[3]]),
        seller_price=cat([trades.seller_price[keep], *cols[6]]))


def assign_broker_units(model: EdgeMarketModel, edge: Clearing, req: Requests,
                        venue: IntArray, orders: OrderArrays) -> None:
    """Brokers win only where they are the better offer (in place on ``edge``: its trades
    and units sold per ask).

    At a uniform price per venue and resource, a unit from a broker costs its buyer the
    same as one from a node, but it is worth less to some buyers: a request whose privacy
    level is above the brokers' ``devices.security_level`` misses its SLA with any broker
    unit in its bundle (agents.qoais.sla_met), and work on a broker adds the D2D hop
    (``devices.d2d_ms``), which weighs most on the tightest deadlines. The mechanisms
    match sellers to buyers by rank (highest bid to cheapest ask), which hands the
    brokers' units, usually the dearest accepted, to whichever buyers are marginal, and
    cutting back bundles after the crossing can leave a cheaper node offer partly unsold
    while a broker sells. :func:`assign_units` restores the merit order and hands broker
    units to the buyers they harm least: harm = inf for a request that cannot use a
    broker, else the D2D hop's share of its latency budget. Every buyer's units and
    payment are unchanged; so are the units sold per venue and resource.
    """
    t = edge.trades
    if not len(t) or not (model.sellers.kind[t.seller] == KIND_DEVICE).any():
        return
    b = t.bid_index
    group = model.node_venue[venue[b]] * N_RESOURCES + t.resource.astype(np.int64)
    n_asks = orders.ask_venue.size
    asks = AskBook(group=orders.ask_venue * N_RESOURCES + orders.ask_resource.astype(np.int64),
                   price=orders.ask_price, offered=orders.ask_quantity, agent=orders.ask_agent,
                   broker=model.sellers.kind[orders.ask_agent] == KIND_DEVICE)
    sc = model.scenario.devices
    harm = np.where(req.privacy_level[b] > sc.security_level, np.inf,
                    sc.d2d_ms / np.maximum(req.latency_budget_ms[b], 1e-12))
    edge.trades = assign_units(t, group, harm, asks)
    if edge.ask_rows.size:
        sold = np.bincount(edge.trades.ask_index, weights=edge.trades.quantity, minlength=n_asks)
        edge.sold = np.asarray(sold[edge.ask_rows], np.float64)


def planned_transport_ms(model: EdgeMarketModel, venue: IntArray,
                         markets: IntArray | None = None) -> FloatArray:
    """Per request (``venue``: node index, < 0 for the cloud), the ms its bundle design
    plans for reaching whoever sells its compute: in a zone or pool, the backhaul across
    a zone or half the area; plus, where a broker in the request's venue asks less for
    some idle compute, cache or learning than a node of that venue (so the clearing
    reaches it before that node's capacity), its D2D hop (``devices.d2d_ms``) if that is
    longer. A broker dearer than every node is only reached when the nodes run out;
    planning every bundle around it would tax every device for trades that rarely happen
    (the deadline margin covers those). ``markets``: those venues
    (:func:`cheap_broker_markets`), when the caller has found them already this round.
    """
    sc = model.scenario
    base = model.planned_backhaul_ms
    out = np.full(venue.size, base)
    if not model.nodes.uid.size:
        return out
    markets = cheap_broker_markets(model) if markets is None else markets
    if markets.size:
        edge = venue >= 0
        has = np.zeros(venue.size, bool)
        has[edge] = np.isin(model.node_venue[venue[edge]], markets)
        out[has] = max(base, sc.devices.d2d_ms)
    return out


def cheap_broker_markets(model: EdgeMarketModel) -> IntArray:
    """Venues where a broker asks less for some idle compute, cache or learning than a node
    of the venue (at the asks quoted now)."""
    dev, nodes, bp = model.devices, model.nodes, model.broker_pricing
    if not nodes.uid.size:
        return np.zeros(0, np.int64)
    dearest = np.full((int(model.node_venue.max()) + 1, N_RESOURCES), -np.inf)
    np.maximum.at(dearest, model.node_venue, np.where(nodes.capacity > 0, nodes.ask, -np.inf))
    at = dev.attached >= 0
    cheap = np.zeros(bp.ask.shape, bool)
    cheap[at] = (bp.offered[at] > 0) & (bp.ask[at] < dearest[model.node_venue[dev.attached[at]]])
    selling = np.flatnonzero(cheap[:, 1:].any(axis=1))
    return np.unique(model.node_venue[dev.attached[selling]])
