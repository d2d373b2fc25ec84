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

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from agents.strategies import NodeObservation, NodeStrategy, get_strategy
from market.resources import N_RESOURCES

if TYPE_CHECKING:
    from agents.model import EdgeMarketModel

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


def planned_transport_ms(model: EdgeMarketModel, venue: IntArray) -> FloatArray:
    """Per request (``venue``: node index, < 0 for the cloud), the ms its bundle design
    plans for reaching whoever sells its compute: in a zone or pool, the backhaul across
    a zone or half the area; plus, where a broker in the request's venue asks less for
    some idle compute, cache or learning than a node of that venue (so the clearing
    reaches it before that node's capacity), its D2D hop (``devices.d2d_ms``) if that is
    longer. A broker dearer than every node is only reached when the nodes run out;
    planning every bundle around it would tax every device for trades that rarely happen
    (the deadline margin covers those).
    """
    sc, dev = model.scenario, model.devices
    base = model.planned_backhaul_ms
    out = np.full(venue.size, base)
    bp = model.broker_pricing
    if not model.nodes.uid.size:
        return out
    nodes = model.nodes
    dearest = np.full((int(model.node_venue.max()) + 1, N_RESOURCES), -np.inf)
    np.maximum.at(dearest, model.node_venue, np.where(nodes.capacity > 0, nodes.ask, -np.inf))
    at = dev.attached >= 0
    cheap = np.zeros(bp.ask.shape, bool)
    cheap[at] = (bp.offered[at] > 0) & (bp.ask[at] < dearest[model.node_venue[dev.attached[at]]])
    selling = np.flatnonzero(cheap[:, 1:].any(axis=1))
    if selling.size:
        markets = np.unique(model.node_venue[dev.attached[selling]])
        edge = venue >= 0
        has = np.zeros(venue.size, bool)
        has[edge] = np.isin(model.node_venue[venue[edge]], markets)
        out[has] = max(base, sc.devices.d2d_ms)
    return out
