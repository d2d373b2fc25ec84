"""The edgemarket Mesa model: devices, edge nodes and the cloud trading 3C-L resources.

One ``step()`` is one market round::

    move devices -> measure channels (attach, hand over) -> draw AI-service requests
    -> nodes quote, devices design bundles and bid, brokers quote
    -> clear each venue with the scenario's mechanism (then the cloud for the rest)
    -> execute services (latency, accuracy, cache hits) -> measure QoAIS
    -> settle credits, energy and incentives -> strategies learn -> RoundResult

State lives in numpy tables (agents.state) owned by the model; the Mesa agents are views on
their rows. Everything random comes from ``self.rng`` (seeded), so a scenario and a seed
give the same run bit for bit.

RL seams: ``step(node_prices_override=...)`` lets an outside policy set node asks,
``observe_nodes()`` returns per-node observation arrays (``NODE_OBSERVATION_FIELDS``), and
``set_node_strategy()`` swaps the pricing strategy of a group of nodes. Device strategies
see their devices through ``device_feedback`` (agents.learning.observations.DeviceFeedback,
recorded once a round), the same observation the RL envs give learning devices.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import mesa
import numpy as np
from numpy.typing import NDArray

from agents import execution as ex
from agents import qoais_inputs as qi
from agents import relay_market
from agents.brokers import (
    BrokerPricing,
    active_brokers,
    assign_broker_units,
    cheap_broker_markets,
    planned_transport_ms,
)
from agents.bundles import design_comm_only, design_joint, queue_eps, stage_latency_s
from agents.channel import Channel, LinkState
from agents.cloud import Cloud
from agents.curves import OrderCurves, order_curves
from agents.device import Device
from agents.edge_node import EdgeNode
from agents.fl.service import FLService
from agents.handover import HandoverCost, handover_cost
from agents.honest_welfare import measure_round
from agents.latency import atom_quantile
from agents.learning.observations import DeviceFeedback
from agents.link_adaptation import effective_spectral_eff
from agents.market_dynamics import MarketDynamics
from agents.marketplace import Clearing, OrderArrays, clear_venues, merge_results
from agents.marketplace_prices import round_prices
from agents.mobility import Mobility
from agents.qoais import aggregate, dimension_scores, indicator_scores, sla_met
from agents.request_records import round_records
from agents.results import AgentSnapshot, RoundResult
from agents.scenario import NodesConfig, Scenario, load_scenario
from agents.sessions import SessionBook, session_rounds
from agents.state import DeviceTable, NodeTable
from agents.strategies import (
    DeviceStrategy,
    NodeObservation,
    NodeStrategy,
    decides_brokers,
    device_bid,
    device_update,
    get_strategy,
)
from agents.venue_duals import true_cost_duals
from agents.warmup import warm_up
from agents.workloads import ClassTable, Requests, generate
from market.mechanisms import Mechanism, get_mechanism
from market.orders import Asks, Bids, Trades
from market.resources import N_RESOURCES

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Venue id of the cloud market (edge venues are node indices, or 0 for the pool).
CLOUD_VENUE = -1
#: Columns of ``observe_nodes()``.
NODE_OBSERVATION_FIELDS: tuple[str, ...] = (*tuple(f"{what}_{res}" for what in ("ask_over_cost", "sold_share", "demand_share", "price_over_cost") for res in ("communication", "caching", "computation", "learning")), "attached_devices", "profit_credits")

_J_PER_KWH = 3.6e6


def place_nodes(cfg: NodesConfig, width_m: float, height_m: float,
                rng: np.random.Generator) -> FloatArray:
    """(m, 2) node sites in m: a near-square grid, uniform random, or a line along x."""
    m = cfg.count
    if m == 0:
        return np.zeros((0, 2))
    if cfg.placement == "random":
        return np.column_stack([rng.uniform(0, width_m, m), rng.uniform(0, height_m, m)])
    if cfg.placement == "line":
        return np.column_stack([(np.arange(m) + 0.5) * width_m / m, np.full(m, height_m / 2)])
    cols = max(1, math.ceil(math.sqrt(m * width_m / height_m)))
    rows = math.ceil(m / cols)
    i = np.arange(m)
    return np.column_stack([(i % cols + 0.5) * width_m / cols, (i // cols + 0.5) * height_m / rows])


class EdgeMarketModel(mesa.Model):
    """A 6G edge-resource market. ``EdgeMarketModel(scenario, seed)``; ``step()`` -> RoundResult."""

    def __init__(self, scenario: Scenario | str = "smart_city", seed: int | None = None,
                 overrides: dict[str, Any] | None = None,
                 history_limit: int | None = None, worlds: int = 1) -> None:
        """``history_limit`` keeps only the last N RoundResults in ``history`` (long runs).

        ``worlds``: independent copies of the scenario's world simulated together, each with
        its own nodes, devices and markets (edge venues and a cloud venue per world), laid
        side by side far enough apart that no radio link crosses between them. Vectorized
        RL envs step many worlds per call this way; rows of world ``w`` follow those of
        world ``w - 1`` in every state table.
        """
        if worlds < 1:
            raise ValueError(f"worlds must be >= 1, got {worlds}")
        if not isinstance(scenario, Scenario):
            scenario = load_scenario(scenario, overrides)
        elif overrides:
            raise ValueError("overrides apply to a scenario name or path, not a Scenario object")
        super().__init__(seed=seed)
        self.scenario = sc = scenario
        self.seed = seed
        self.round_s = sc.round_duration_s
        self.classes = ClassTable.from_scenario(sc)
        self.history: list[RoundResult] = []
        self.history_limit = history_limit
        self.worlds = int(worlds)
        # World w lies at x offset w * pitch: a coverage radius of empty space on each side.
        self.world_pitch_m = sc.area.width_m + 2 * sc.nodes.coverage_radius_m + 1.0
        rng = self.rng
        self._build_nodes(sc, rng)
        self._build_cloud(sc)
        self._build_devices(sc, rng)
        # Scarce/non-stationary features (off unless the scenario has a dynamics: section).
        self.dynamics = MarketDynamics(sc.dynamics, seed, self.devices.uid.size)
        self.nodes.cost = self.dynamics.spread_costs(self.nodes.cost)
        self.nodes.ask = self.nodes.cost.copy()
        self._build_lookup()
        nc = sc.nodes
        m, n = self.nodes.uid.size, self.devices.uid.size
        self.channel = Channel(sc.channel, self.nodes.xy_m, np.full(m, nc.tx_power_dbm),
                               nc.antenna_gain_db, np.full(m, nc.bandwidth_mhz),
                               nc.coverage_radius_m, n, rng,
                               worlds=(self.device_world, nc.count) if self.worlds > 1 else None,
                               round_s=self.round_s)
        node_strategy = get_strategy(nc.strategy.name, kind="node", **nc.strategy.params)
        device_strategy = get_strategy(sc.devices.strategy.name, kind="device",
                                       **sc.devices.strategy.params)
        assert isinstance(node_strategy, NodeStrategy)
        assert isinstance(device_strategy, DeviceStrategy)
        # Each agent holds its strategy; the groups acting together are AgentSet.groupby.
        self._node_agents.set("strategy", node_strategy)
        self._device_agents.set("strategy", device_strategy)
        # What AgentSet.groupby would find now (one strategy per kind, every row), without
        # walking 5,000+ agents at the first round of each env episode.
        self._groups: dict[type, list[tuple[Any, IntArray]]] = {
            EdgeNode: [(node_strategy, np.arange(m, dtype=np.int64))] if m else [],
            Device: [(device_strategy, np.arange(n, dtype=np.int64))] if n else []}
        self._mechanisms: dict[int, Mechanism] = {}
        self.node_venue = self._node_venues()
        self.planned_backhaul_ms = self._planned_backhaul()
        # Sample of devices for snapshots, fixed for the run.
        self.snapshot_rows = np.sort(rng.permutation(n)[: sc.snapshot_devices])
        self.last_link: LinkState | None = None
        self._view: ex.LinkView | None = None  # this round's link view (_round_view)
        self._broker_markets: IntArray | None = None  # inside a round: see step()
        self._view_key: int | None = None
        # Sessions that outlast a round hold what they bought (agents.sessions).
        self.session_rounds = session_rounds(self.classes.columns["task_rate_hz"],
                                             self.classes.columns["latency_budget_ms"], self.round_s)
        self.sessions = SessionBook(n, m)
        self._held = np.zeros((m, N_RESOURCES))
        # QoAIS inputs beyond execution: real FL for the learning classes, per-seller
        # security/automation attributes, link changes across rounds (own random streams).
        self.fl = FLService(sc.fl, self.classes.names, n, seed)
        self.seller_attrs = qi.seller_attributes(
            sc.seller_qoais, self.nodes.uid, self.devices.uid,
            None if self.cloud_agent is None else self.cloud_agent.unique_id,
            self.sellers.kind.size, seed)
        self.link_memory = qi.LinkMemory(n)
        self.broker_pricing = BrokerPricing.from_model(self)  # agents.brokers
        # What device strategies observe of their devices (state at the end of a round).
        self.device_feedback = DeviceFeedback(n)
        self.device_feedback.capture(self)
        self.last_indicators = np.zeros((0, 29))
        warm_up(sc, seed)  # compiled kernels loaded now, not in the first round (agents.warmup)

    def release(self) -> None:
        """Let this model be garbage-collected once its holder drops it (no more agents).

        Mesa 3.3 numbers agents with a counter per model kept in the class-level dict
        ``mesa.Agent._ids``, keyed by the model itself: every model ever built stays alive
        with all its agents, tables and history (mesa issue #3179, fixed after 3.3). An env
        that builds a model per episode grew by a whole model each reset, and each full
        garbage collection walked them all. Only for a model that creates no agents after
        this call (its next agent would be numbered from 1 again).
        """
        mesa.Agent._ids.pop(self, None)

    # --- construction ------------------------------------------------------------------

    def _energy_cost(self, j_per_unit: FloatArray) -> FloatArray:
        return j_per_unit * self.scenario.nodes.energy.price_credits_per_kwh / _J_PER_KWH

    def _build_nodes(self, sc: Scenario, rng: np.random.Generator) -> None:
        nc, k = sc.nodes, self.worlds
        m = nc.count * k
        self.node_world = np.repeat(np.arange(k, dtype=np.int64), nc.count)
        if k > 1 and nc.placement != "random":
            # Grid and line sites draw nothing: every world has the same ones.
            xy = np.tile(place_nodes(nc, sc.area.width_m, sc.area.height_m, rng), (k, 1))
        elif k > 1:
            xy = np.concatenate([place_nodes(nc, sc.area.width_m, sc.area.height_m, rng)
                                 for _ in range(k)])
        else:
            xy = place_nodes(nc, sc.area.width_m, sc.area.height_m, rng)
        if k > 1:
            xy[:, 0] += self.node_world * self.world_pitch_m
        spread = rng.uniform(-nc.capacity_spread, nc.capacity_spread, (m, N_RESOURCES))
        capacity = np.array(nc.capacity.as_list()) * (1 + spread)
        # Energy per unit: J per Mbit carried over the round; J per GFLOP.
        j_per_unit = np.array([nc.energy.j_per_mbit * self.round_s, 0.0, nc.energy.j_per_gflop, 0.0])
        cost = np.array(nc.marginal_cost.as_list()) + self._energy_cost(j_per_unit)
        se_ref = np.where(capacity[:, 0] > 0, capacity[:, 0] / nc.bandwidth_mhz, 1.0)
        agents = self._node_agents = EdgeNode.create_agents(self, m, index=np.arange(m))
        self.nodes = NodeTable(
            uid=np.array([a.unique_id for a in agents], dtype=np.int64), xy_m=xy,
            capacity=capacity, cost=np.broadcast_to(cost, (m, N_RESOURCES)).copy(),
            se_ref=se_ref, security_level=np.full(m, float(nc.security_level)),
            autonomy_level=np.full(m, float(nc.autonomy_level)))

    def _build_cloud(self, sc: Scenario) -> None:
        cc = sc.cloud
        self.cloud_agent = Cloud(self) if cc.enabled else None
        self.cloud_capacity = np.array(cc.capacity.as_list())
        self.cloud_capacity[0] = 0.0  # the cloud sells no radio: devices reach it best-effort
        self.cloud_ask = np.array(cc.marginal_cost.as_list()) * (1 + cc.markup)

    def _build_devices(self, sc: Scenario, rng: np.random.Generator) -> None:
        dc, n = sc.devices, sc.devices.count * self.worlds
        k = len(self.classes.names)
        cls = rng.choice(k, size=n, p=np.array(sc.class_shares())).astype(np.int64)
        self.device_world = np.arange(n, dtype=np.int64) // max(dc.count, 1)
        specs = [sc.service_classes[name].mobility for name in self.classes.names]
        self.mobility = Mobility.build(specs, cls, sc.area, rng)
        is_broker = rng.random(n) < dc.broker_fraction
        j_per_unit = np.array([0.0, 0.0, dc.j_per_gflop, 0.0])
        cost = np.array(dc.marginal_cost.as_list()) + self._energy_cost(j_per_unit)
        agents = self._device_agents = Device.create_agents(self, n, index=np.arange(n))
        self.devices = DeviceTable(
            uid=np.array([a.unique_id for a in agents], dtype=np.int64), cls=cls,
            xy_m=self._device_xy(),
            capacity=np.broadcast_to(np.array(dc.capacity.as_list()), (n, N_RESOURCES)).copy(),
            cost=np.broadcast_to(cost, (n, N_RESOURCES)).copy(), is_broker=is_broker,
            battery_j=np.full(n, dc.battery_j), battery_capacity_j=np.full(n, dc.battery_j),
            budget_credits=np.full(n, dc.budget_credits))

    def _device_xy(self) -> FloatArray:
        """Device positions in the shared plane: mobility moves each device inside its own
        world's area; world w is shifted by w * pitch along x."""
        if self.worlds == 1:
            return self.mobility.pos  # the very array mobility updates in place
        xy = self.mobility.pos.copy()
        xy[:, 0] += self.device_world * self.world_pitch_m
        return xy

    def _build_lookup(self) -> None:
        """Tables indexed by agent id: kind, row, security and autonomy level."""
        sc = self.scenario
        size = max(a.unique_id for a in self.agents) + 1 if len(self.agents) else 1
        kind = np.full(size, -1, dtype=np.int8)
        index = np.full(size, -1, dtype=np.int64)
        security = np.zeros(size)
        autonomy = np.zeros(size)
        kind[self.nodes.uid], index[self.nodes.uid] = ex.KIND_NODE, np.arange(self.nodes.uid.size)
        security[self.nodes.uid] = self.nodes.security_level
        autonomy[self.nodes.uid] = self.nodes.autonomy_level
        kind[self.devices.uid] = ex.KIND_DEVICE
        index[self.devices.uid] = np.arange(self.devices.uid.size)
        security[self.devices.uid] = sc.devices.security_level
        autonomy[self.devices.uid] = 2.0  # a broker runs the work automatically
        if self.cloud_agent is not None:
            cu = self.cloud_agent.unique_id
            kind[cu], index[cu] = ex.KIND_CLOUD, 0
            security[cu], autonomy[cu] = sc.cloud.security_level, sc.cloud.autonomy_level
        self.sellers = ex.SellerInfo(kind=kind, index=index, security=security, autonomy=autonomy)

    def _node_venues(self) -> IntArray:
        """Market (venue) id of each node: itself (cell), its square zone, or 0 (pool)."""
        mc, m = self.scenario.market, self.nodes.uid.size
        if mc.scope == "cell":
            return np.arange(m, dtype=np.int64)
        if mc.scope == "pool":  # one pool per world
            return self.node_world.copy()
        local = self.nodes.xy_m.copy()
        local[:, 0] -= self.node_world * self.world_pitch_m
        cell = np.floor(local / mc.zone_size_m).astype(np.int64)
        key = (self.node_world * (1 << 20) + cell[:, 0]) * (1 << 20) + cell[:, 1]
        return np.unique(key, return_inverse=True)[1].astype(np.int64)

    def _planned_backhaul(self) -> float:
        """ms a device plans for reaching whoever sells its compute across its venue: 0 in
        a cell; in a zone or pool a backhaul hop across a zone or half the area (a broker's
        D2D hop is added per round where one sells: agents.brokers.planned_transport_ms)."""
        sc = self.scenario
        if sc.market.scope == "cell":
            return 0.0
        km = (sc.market.zone_size_m if sc.market.scope == "zone"
              else math.hypot(sc.area.width_m, sc.area.height_m) / 2) / 1000.0
        return float(sc.nodes.backhaul_ms + sc.nodes.backhaul_ms_per_km * km)

    def _mechanism(self, venue: int) -> Mechanism:
        mech = self._mechanisms.get(venue)
        if mech is None:
            mc = self.scenario.market
            mech = self._mechanisms[venue] = get_mechanism(mc.mechanism, **mc.params)
        return mech

    # --- RL seams ------------------------------------------------------------------------

    def _strategy_groups(self, agent_type: type[mesa.Agent]) -> list[tuple[Any, IntArray]]:
        """(strategy, state-table rows) for each strategy in use, from ``AgentSet.groupby``.

        Cached: regrouped only after strategies change, so the round's hot path never
        walks the agents.
        """
        groups = self._groups.get(agent_type)
        if groups is None:
            agents = self.agents_by_type.get(agent_type)
            by = agents.groupby("strategy", result_type="list").groups if agents is not None else {}
            groups = self._groups[agent_type] = [
                (strat, np.sort(np.fromiter((a.index for a in members), np.int64, len(members))))
                for strat, members in by.items()]
        return groups

    def _assign(self, agents: mesa.agent.AgentSet, groups: list[tuple[Any, IntArray]],
                agent_type: type[mesa.Agent]) -> None:
        by_row = list(agents)
        for strat, rows in groups:
            for i in np.asarray(rows).tolist():
                by_row[i].strategy = strat
        self._groups.pop(agent_type, None)

    @property
    def node_strategies(self) -> list[tuple[NodeStrategy, IntArray]]:
        """(strategy, node rows) groups: the nodes that quote together."""
        return self._strategy_groups(EdgeNode)

    @node_strategies.setter
    def node_strategies(self, groups: list[tuple[NodeStrategy, IntArray]]) -> None:
        self._assign(self._node_agents, groups, EdgeNode)

    @property
    def device_strategies(self) -> list[tuple[DeviceStrategy, IntArray]]:
        """(strategy, device rows) groups: the devices that bid together."""
        return self._strategy_groups(Device)

    @device_strategies.setter
    def device_strategies(self, groups: list[tuple[DeviceStrategy, IntArray]]) -> None:
        self._assign(self._device_agents, groups, Device)

    def set_node_strategy(self, strategy: NodeStrategy, nodes: IntArray | None = None) -> None:
        """Price ``nodes`` (row indices; default all) with ``strategy`` from now on."""
        rows = np.arange(self.nodes.uid.size) if nodes is None else np.asarray(nodes, dtype=np.int64)
        self._assign(self._node_agents, [(strategy, rows)], EdgeNode)

    def node_observation(self, rows: IntArray) -> NodeObservation:
        """What node strategies (and the RL envs) see of the nodes at ``rows``, last round."""
        t = self.nodes
        return NodeObservation(round=self.steps, cost=t.cost[rows], capacity=t.capacity[rows],
                               last_ask=t.ask[rows], sold=t.sold[rows], demand=t.demand[rows],
                               market_price=t.market_price[rows], sla_rate=t.sla_rate[rows])

    def _node_sla(self, provider: IntArray, served: NDArray[np.bool_], met: NDArray[np.bool_]) -> None:
        """Per node: share of the requests it mainly served that met every requirement."""
        t = self.nodes
        m = t.uid.size
        if m == 0:
            return
        order = np.argsort(t.uid)
        row = order[np.clip(np.searchsorted(t.uid, provider, sorter=order), 0, m - 1)]
        mine = served & (t.uid[row] == provider)  # cloud and broker providers are not nodes
        n_served = np.bincount(row[mine], minlength=m)
        n_met = np.bincount(row[mine & met], minlength=m)
        t.sla_rate = np.where(n_served > 0, n_met / np.maximum(n_served, 1), 1.0)

    def observe_nodes(self) -> FloatArray:
        """(m, len(NODE_OBSERVATION_FIELDS)) local observations of every node, last round."""
        t = self.nodes
        with np.errstate(divide="ignore", invalid="ignore"):
            cap = np.where(t.capacity > 0, t.capacity, 1.0)
            cost = np.where(t.cost > 0, t.cost, 1.0)
            cols = [t.ask / cost, t.sold / cap, t.demand / cap,
                    np.nan_to_num(t.market_price / cost, nan=0.0)]
        return np.column_stack([*cols, t.attached_devices.astype(np.float64), t.profit_credits])

    def node_rewards(self) -> FloatArray:
        """(m,) profit of each node last round, credits (revenue − marginal cost of units sold)."""
        return self.nodes.profit_credits.copy()

    # --- one round -------------------------------------------------------------------------

    def _wrapped_step(self, *args: Any, **kwargs: Any) -> RoundResult:  # type: ignore[override]
        """Mesa's step wrapper (counts steps), returning the RoundResult."""
        self.steps += 1
        return self._user_step(*args, **kwargs)

    def run(self, rounds: int | None = None) -> list[RoundResult]:
        """Run ``rounds`` rounds (default: the scenario's) and return their results."""
        return [self.step() for _ in range(rounds or self.scenario.rounds)]

    def step(self, node_prices_override: FloatArray | None = None) -> RoundResult:  # type: ignore[override]
        """One market round; ``node_prices_override`` (m, 4) replaces non-NaN node asks."""
        sc, rng = self.scenario, self.rng
        dev, nodes = self.devices, self.nodes
        # 0. Device strategies that decide it (a learned broker switch) pick who sells.
        for strat, idx in self.device_strategies:
            if decides_brokers(strat):
                sells = strat.sells(self.device_feedback.observation(idx))
                if sells is not None:
                    dev.is_broker[idx] = np.asarray(sells, dtype=bool)
        # 1-2. Move, then measure the channel (attachment and handovers).
        moved = self.mobility.advance(self.round_s, rng)
        moved = self.dynamics.move_followers(self.mobility.pos, moved, self.steps,
                                             sc.area.width_m, sc.area.height_m)
        if self.worlds > 1:
            dev.xy_m = self._device_xy()
        link = self.channel.measure(dev.xy_m, moved, rng, self.classes.target_bler[dev.cls])
        self.last_link = link
        dev.attached = link.attached
        dev.handovers = self.channel.handovers
        nodes.attached_devices = np.bincount(link.attached[link.attached >= 0],
                                             minlength=nodes.uid.size)
        # Brokers quote; relayed devices are seen through their relay path from here on.
        relay = self.last_relay = relay_market.begin_round(self, link)
        link = self.last_link = relay.link
        # 3. Requests.
        self._round_orders: list[OrderArrays] = []
        busy = self.sessions.busy(self.steps)
        self._held = self.sessions.held_units(self.steps, self.sellers.index)
        req = generate(self.classes, dev.cls, (dev.battery_j > 0) & ~busy, rng)
        n_req = len(req)
        # 4. Quotes.
        self._quote_nodes(node_prices_override)
        bid_value = np.zeros(n_req)
        # Each device strategy's group and its requests' rows (a group of every device,
        # the usual single strategy, takes every request); bids now, learning at step 9.
        groups = [(strat, idx, np.arange(n_req) if idx.size == dev.uid.size
                   else np.flatnonzero(np.isin(req.device, idx)))
                  for strat, idx in self.device_strategies]
        for strat, idx, sel in groups:
            d = req.device[sel]
            bid_value[sel] = device_bid(strat, req.value_credits[sel], dev.budget_credits[d],
                                        self.device_feedback.observation(idx, d)
                                        if strat.observes else None)
        own_bid = bid_value.copy()  # the strategies' own bids, before buyers withdraw
        # 5-6. Edge venues, then the cloud for what the edge did not serve.
        self._view_key = None  # link views are built once a round (self._round_view)
        # Asks are all quoted by now: the venues where brokers undercut a node, found once
        # for every bundle design of the round (agents.brokers.planned_transport_ms).
        self._broker_markets = cheap_broker_markets(self)
        venue, edge_design, stage_budget = self._edge_designs(req, link,
                                                              self._round_view(req, link))
        bid_value = self.dynamics.withdraw(req.value_credits, venue, edge_design.feasible,
                                           edge_design.demand, self.nodes.ask, bid_value,
                                           self.node_venue, dev.uid[req.device])
        edge = self._clear_edge(req, venue, edge_design, relay_market.reserve(
            self, relay, req, venue, edge_design, bid_value))
        assign_broker_units(self, edge, req, venue, self._round_orders[-1])  # agents.brokers
        got_edge = np.bincount(edge.trades.bid_index, minlength=n_req) > 0 if len(edge.trades) \
            else np.zeros(n_req, bool)
        extra = Trades.empty()
        if sc.market.bundling == "comm_only":
            extra = self._assign_compute_naively(req, link, edge.trades, stage_budget)
        extra = Trades.concat(extra, relay_market.relay_trades(self, relay, req, edge.trades))
        to_cloud = (venue == CLOUD_VENUE) | (sc.market.cloud_fallback & (venue >= 0) & ~got_edge)
        cloud, cloud_budget = self._clear_cloud(req, self._round_view(req, link), to_cloud,
                                                bid_value)
        served_cloud = np.zeros(n_req, bool)
        if len(cloud.trades):
            served_cloud[cloud.trades.bid_index] = True
        stage_budget = np.where(served_cloud, cloud_budget, stage_budget)
        n_asks = self._n_asks
        clearing = merge_results(sc.market.mechanism, [edge, cloud], extra, n_req, n_asks)
        # 7. Execute services and measure QoAIS.
        trades = clearing.trades
        held, held_dev = self.sessions.held_trades(self.steps)
        self.sessions.start(self.steps, trades, req.device, self.session_rounds[req.cls],
                            self.sellers.kind[trades.seller] == ex.KIND_NODE)
        got = ex.received(trades, n_req, self.sellers, self._comm_se_ratio(trades, req),
                          self._transport_ms(trades, req, link))
        got.rate_mbps = np.where(served_cloud, sc.cloud.access_rate_mbps, got.rate_mbps)
        relay_market.cap_rates(self, relay, req, got, trades)
        lv = self._round_view(req, link)
        measured, tx_s = ex.measure(req, got, lv, self.round_s)
        measured.stage_budget_s = stage_budget
        qi.measure_inputs(measured, req, got, lv.ber, trades, self.fl, self.link_memory,
                          self.seller_attrs, self.round_s, sc.fl.min_accuracy)
        sla_all = sla_met(measured) & got.served
        self._node_sla(got.provider, got.served, sla_all)
        served_rows = np.flatnonzero(got.served)
        m_served = _take_measured(measured, served_rows)
        self.last_indicators = indicator_scores(m_served)
        dims = dimension_scores(m_served, self.last_indicators)
        qoais = aggregate(self.classes.names, self.classes.weights, req.cls, got.served,
                          sla_all, m_served, dims)
        deadline = got.served & (measured.latency_ms <= req.latency_budget_ms)
        honest = measure_round(self, req.value_credits, trades, clearing.bundles_served, sla_all)
        # 8. Settle.
        contributions = self._settle(req, _concat_trades(trades, held), got, tx_s)
        held_pay = np.bincount(held_dev, weights=held.quantity * held.price, minlength=dev.uid.size)
        dev.spent_credits += held_pay
        dev.budget_credits -= held_pay
        self.channel.observe_load(self._airtime_load(req, trades, tx_s))
        # Every violation is attested; one by a provider without stake (the cloud, a broker,
        # an exited node) is compensated from what is staked, i.e. nothing (MarketSettlement).
        missed = got.served & ~sla_all
        violations = list(zip(got.provider[missed].tolist(),  # tolist: Python ints/floats
                              dev.uid[req.device[missed]].tolist(),
                              got.payment[missed].astype(np.float64).tolist(), strict=True))
        # 9. Learn.
        self._observe_markets(edge, trades)
        for strat, idx in self.node_strategies:
            strat.update(self.node_observation(idx), rng)
        self.broker_pricing.update(self)
        self.device_feedback.record(self, req.device, own_bid, req.value_credits,
                                    clearing.bundles_served, got.payment)
        for strat, idx, sel in groups:
            if type(strat).update is DeviceStrategy.update:
                continue  # learns nothing: no observation to build
            device_update(strat, clearing.bundles_served[sel], got.payment[sel],
                          req.value_credits[sel],
                          self.device_feedback.observation(idx, req.device[sel])
                          if strat.observes else None)
        rr = RoundResult(
            round=self.steps, clearing=clearing, optimal_welfare=clearing.optimal_welfare,
            efficiency=clearing.efficiency, qoais=qoais, net_credits=trades.net_credits(),
            contributions=contributions, violations=violations, snapshot=self._snapshot(),
            curves=self._curves(),
            n_requests=n_req, n_served=int(got.served.sum()),
            sla_rate=float(sla_all.mean()) if n_req else 0.0,
            deadline_rate=float(deadline.mean()) if n_req else 0.0,
            handovers=int(link.handed_over.sum()),
            n_markets=edge.venues.size + cloud.venues.size,
            allocative_efficiency=honest.allocative_efficiency,
            allocative_welfare=honest.allocative_welfare,
            delivered_welfare=honest.delivered_welfare, pool_optimum=honest.optimum,
            info={"served_at_cloud": int(served_cloud.sum()),
                  "equilibrium_prices": clearing.info["equilibrium_prices"],
                  **round_prices(edge, cloud, scope=sc.market.scope,
                                 true_duals=true_cost_duals(self, req.value_credits)),
                  **relay_market.round_info(self, relay, trades, req, sla_all),
                  "bundling": sc.market.bundling, "scope": sc.market.scope,
                  "qoais_indicators": qi.class_means(self.classes.names, m_served.cls,
                                                     self.last_indicators),
                  # per-request rows for the store's request_batches (references, no copies)
                  "requests": round_records(
                      sc.store.requests, sc.store.request_devices, dev.uid.size,
                      classes=tuple(self.classes.names), class_weights=self.classes.weights,
                      device=dev.uid[req.device], cls=req.cls, provider=got.provider,
                      served=got.served, sla_met=sla_all, latency_ms=measured.latency_ms,
                      reliability=measured.reliability, value_credits=req.value_credits,
                      payment_credits=got.payment, bid_index=trades.bid_index,
                      seller=trades.seller, served_rows=served_rows,
                      indicators=self.last_indicators, dimensions=dims)},
        )
        self._broker_markets = None  # outside a round, asks may change: found afresh
        if self.history:  # per-request records are big: history keeps the last round's only
            self.history[-1].info.pop("requests", None)
        self.history.append(rr)
        if self.history_limit is not None and len(self.history) > self.history_limit:
            del self.history[: len(self.history) - self.history_limit]
        return rr

    # --- round helpers ---------------------------------------------------------------------

    def _quote_nodes(self, override: FloatArray | None) -> None:
        nodes = self.nodes
        ask = nodes.ask
        for strat, idx in self.node_strategies:
            if idx.size:
                ask[idx] = strat.quote(self.node_observation(idx), self.rng)
        if override is not None:
            o = np.asarray(override, dtype=np.float64)
            if o.shape != ask.shape:
                raise ValueError(f"node_prices_override must have shape {ask.shape}, got {o.shape}")
            ask = np.where(np.isnan(o), ask, o)
        nodes.ask = np.maximum(ask, 0.0)

    def _edge_designs(self, req: Requests, link: LinkState, lv: ex.LinkView | None = None
                      ) -> tuple[IntArray, Any, FloatArray]:
        """Venue of each request (node index or CLOUD_VENUE) and its edge bundle design."""
        sc, nodes = self.scenario, self.nodes
        att = link.attached[req.device]
        cloud_ok = self.cloud_agent is not None
        node = np.maximum(att, 0)
        if nodes.uid.size == 0:  # no edge at all: pad so the lookups below stay valid
            node = np.zeros(len(req), dtype=np.int64)
            nodes = NodeTable(uid=np.zeros(1, np.int64), xy_m=np.zeros((1, 2)),
                              capacity=np.zeros((1, 4)), cost=np.zeros((1, 4)),
                              se_ref=np.ones(1), security_level=np.zeros(1),
                              autonomy_level=np.zeros(1))
        too_private = (att >= 0) & (nodes.security_level[node] < req.privacy_level)
        if cloud_ok:
            too_private &= sc.cloud.security_level >= req.privacy_level
        else:
            too_private[:] = False
        venue = np.where((att >= 0) & ~too_private, att, CLOUD_VENUE)
        price = np.where(np.isfinite(nodes.expected_price), nodes.expected_price, nodes.ask)[node]
        lv = self._link_view(req, link) if lv is None else lv
        delay = self._planned_link_ms(req, lv.delay_ms, lv.delay_prob)
        extra = planned_transport_ms(self, venue, self._broker_markets)  # agents.brokers
        if sc.market.bundling == "joint":
            d = req.device
            se = effective_spectral_eff(req.data_mbit, req.result_mbit, link.spectral_eff_ul[d],
                                        link.spectral_eff[d])
            design = design_joint(req, se, nodes.se_ref[node], delay,
                                  extra, price[:, 0], price[:, 2], self.round_s,
                                  sc.market.deadline_margin, eps=queue_eps(req))
        else:
            at_node = np.bincount(node[venue >= 0], minlength=nodes.uid.size)
            fair = nodes.capacity[node, 0] / np.maximum(at_node[node], 1)
            design = design_comm_only(req, fair, delay, extra, sc.market.deadline_margin)
        return venue, design, design.stage_budget_s

    @staticmethod
    def _planned_link_ms(req: Requests, delay_ms: FloatArray, delay_prob: FloatArray
                         ) -> FloatArray:
        """Link delay a bundle plans for: its HARQ distribution's (1 − ε/2) quantile, ε =
        1 − min_reliability (the queue gets the other half, agents.bundles.queue_eps)."""
        return atom_quantile(delay_ms, delay_prob, (1 - req.min_reliability) / 2)

    def _asks_edge(self) -> tuple[IntArray, IntArray, NDArray[np.int8], FloatArray, FloatArray]:
        """Edge asks (venue, agent, resource, quantity, price): nodes, then active brokers."""
        nodes, dev = self.nodes, self.devices
        rows, res = np.nonzero(nodes.capacity > 0)
        n_venue = self.node_venue[rows]
        # Brokers' asks come from their pricing strategy (agents.brokers); their relay
        # radio is sold bilaterally to the devices they relay for (agents.relay_market).
        brokers = active_brokers(self)
        bq = self.broker_pricing.ask[brokers]
        cap = self.broker_pricing.offered[brokers].copy()
        cap[:, 0] = 0.0
        b_rows, b_res = np.nonzero(cap > 0)
        b_dev = brokers[b_rows]
        b_venue = self.node_venue[dev.attached[b_dev]]
        venue = np.concatenate([n_venue, b_venue]).astype(np.int64)
        agent = np.concatenate([nodes.uid[rows], dev.uid[b_dev]])
        resource = np.concatenate([res, b_res]).astype(np.int8)
        avail = np.maximum(nodes.capacity - self._held, 0.0)  # less what sessions hold
        qty = np.concatenate([avail[rows, res], cap[b_rows, b_res]])
        price = np.concatenate([nodes.ask[rows, res], bq[b_rows, b_res]])
        return venue, agent, resource, qty, price

    def _clear_edge(self, req: Requests, venue: IntArray, design: Any,
                    bid_value: FloatArray) -> Clearing:
        at_edge = np.flatnonzero((venue >= 0) & design.feasible & (bid_value > 0))
        a_venue, a_agent, a_res, a_qty, a_price = self._asks_edge()
        self._n_asks = a_venue.size
        bid_venue = self.node_venue[venue[at_edge]]
        orders = OrderArrays(
            bid_venue=bid_venue.astype(np.int64), bid_row=at_edge,
            bid_agent=self.devices.uid[req.device[at_edge]],
            bid_demand=design.demand[at_edge], bid_value=bid_value[at_edge],
            ask_venue=a_venue, ask_agent=a_agent, ask_resource=a_res, ask_quantity=a_qty,
            ask_price=a_price)
        self._round_orders.append(orders)
        return clear_venues(orders, len(req), self._mechanism, optimum_skipped=self._skip_optimum())

    def _skip_optimum(self) -> bool:
        every = self.scenario.market.optimum_every
        return every == 0 or (self.steps - 1) % every != 0

    def _clear_cloud(self, req: Requests, lv: ex.LinkView, to_cloud: NDArray[np.bool_],
                     bid_value: FloatArray) -> tuple[Clearing, FloatArray]:
        """The cloud market: compute/cache/learning bundles, bandwidth best-effort (``lv``:
        the link view of every request)."""
        sc, n_req = self.scenario, len(req)
        if self.cloud_agent is None or not to_cloud.any():
            return Clearing(served=np.zeros(n_req)), np.zeros(n_req)
        cc = sc.cloud
        rows = np.flatnonzero(to_cloud)
        sub = req.take(rows)
        traffic = sub.data_mbit + sub.result_mbit
        tx_s = np.where(traffic > 0, traffic / cc.access_rate_mbps, 0.0)
        extra_ms = cc.rtt_ms + 1000 * stage_latency_s(tx_s, sub.task_rate_hz)
        no_data = dataclasses.replace(sub, data_mbit=np.zeros(rows.size),
                                      result_mbit=np.zeros(rows.size))
        design = design_joint(no_data, np.ones(rows.size), np.ones(rows.size),
                              self._planned_link_ms(sub, lv.delay_ms[rows], lv.delay_prob[rows]),
                              np.nan_to_num(extra_ms, nan=np.inf, posinf=1e12),
                              np.zeros(rows.size), np.full(rows.size, self.cloud_ask[2]),
                              self.round_s, sc.market.deadline_margin, eps=queue_eps(sub))
        ok = design.feasible & (bid_value[rows] > 0)
        sel = rows[ok]
        cap = self.cloud_capacity
        res = np.flatnonzero(cap > 0)
        cu = self.cloud_agent.unique_id
        k = self.worlds  # one cloud venue per world: CLOUD_VENUE - w, each with full capacity
        orders = OrderArrays(
            bid_venue=CLOUD_VENUE - self.device_world[req.device[sel]], bid_row=sel,
            bid_agent=self.devices.uid[req.device[sel]], bid_demand=design.demand[ok],
            bid_value=bid_value[sel],
            ask_venue=np.repeat(CLOUD_VENUE - np.arange(k, dtype=np.int64), res.size),
            ask_agent=np.full(res.size * k, cu, np.int64),
            ask_resource=np.tile(res.astype(np.int8), k),
            ask_quantity=np.tile(cap[res], k), ask_price=np.tile(self.cloud_ask[res], k))
        self._round_orders.append(orders)
        budget = np.zeros(n_req)
        budget[rows] = design.stage_budget_s
        # Cloud ask rows follow the edge asks in the round's ask numbering.
        cl = clear_venues(orders, n_req, self._mechanism, optimum_skipped=self._skip_optimum())
        cl.trades = _shift_asks(cl.trades, self._n_asks)
        cl.shift_asks(self._n_asks)
        self._n_asks += res.size * k
        return cl, budget

    def _assign_compute_naively(self, req: Requests, link: LinkState, comm_trades: Trades,
                                stage_budget: FloatArray) -> Trades:
        """comm_only baseline: each node shares its compute max-min fairly among the requests
        that bought its bandwidth, capped at what each needs given the rate it got; caching
        and learning as requested (scaled down if the node runs short). Paid at the node's ask."""
        nodes, n_req = self.nodes, len(req)
        if not len(comm_trades):
            return Trades.empty()
        se_ratio = self._comm_se_ratio(comm_trades, req)
        rate = np.bincount(comm_trades.bid_index, weights=comm_trades.quantity * se_ratio,
                           minlength=n_req)
        rows = np.unique(comm_trades.bid_index)
        node_uid = np.zeros(n_req, np.int64)
        node_uid[comm_trades.bid_index] = comm_trades.seller
        node = self.sellers.index[node_uid[rows]]
        sub = req.take(rows)
        need = ex.compute_need_gflop(sub, rate[rows], stage_budget[rows], self.round_s)
        alloc = np.zeros((rows.size, N_RESOURCES))
        alloc[:, 2] = ex.water_fill(node, need, nodes.capacity[:, 2])
        for r, want in ((1, sub.cache_gb), (3, sub.learning_lu)):
            total = np.bincount(node, weights=want, minlength=nodes.uid.size)
            with np.errstate(divide="ignore", invalid="ignore"):
                scale = np.where(total > 0, np.minimum(1.0, nodes.capacity[:, r] / total), 0.0)
            alloc[:, r] = want * scale[node]
        i, r = np.nonzero(alloc > 0)
        buyer = self.devices.uid[sub.device[i]]
        price = nodes.ask[node[i], r]
        return Trades(buyer=buyer, seller=nodes.uid[node[i]], resource=r.astype(np.int8),
                      quantity=alloc[i, r], price=price, bid_index=rows[i],
                      ask_index=np.full(i.size, -1, np.int64), seller_price=price)

    def _comm_se_ratio(self, trades: Trades, req: Requests) -> FloatArray:
        """Per trade: actual Mbps per nominal Mbps bought, for bandwidth trades.

        Radio traffic always flows through the device's attached node: se(device, attached)
        / se_ref(attached). When bandwidth was bought from other nodes of a zone or the
        pool (virtualized radio), a node whose devices bought more than its radio carries
        scales all their rates down by capacity / load (0 for the other trades).
        """
        out = np.zeros(len(trades))
        comm = np.flatnonzero((trades.resource == 0)
                              & (self.sellers.kind[trades.seller] == ex.KIND_NODE))
        if not comm.size or self.last_link is None:
            return out
        nodes, link = self.nodes, self.last_link
        d = req.device[trades.bid_index[comm]]
        att = link.attached[d]
        ok = att >= 0
        a = np.maximum(att, 0)
        r = trades.bid_index[comm]
        se = effective_spectral_eff(req.data_mbit[r], req.result_mbit[r], link.spectral_eff_ul[d],
                                    link.spectral_eff[d])
        ratio = np.where(ok, se / nodes.se_ref[a], 0.0)
        if self.scenario.market.scope != "cell":
            load = np.bincount(a[ok], weights=trades.quantity[comm][ok], minlength=nodes.uid.size)
            with np.errstate(divide="ignore", invalid="ignore"):
                squeeze = np.where(load > nodes.capacity[:, 0],
                                   nodes.capacity[:, 0] / load, 1.0)
            ratio = ratio * squeeze[a]
        out[comm] = ratio
        return out

    def _airtime_load(self, req: Requests, trades: Trades, tx_s: FloatArray) -> FloatArray:
        """Per node: the share of its bandwidth actually transmitting, what its neighbours
        see as interference: Σ over its bandwidth trades of (share bought) × (the session's
        transmission-stage utilization f·t1 -- the bought rate is idle between tasks)."""
        m = self.nodes.uid.size
        comm = np.flatnonzero((trades.resource == 0) & (trades.bid_index >= 0)
                              & (self.sellers.kind[trades.seller] == ex.KIND_NODE))
        act = np.minimum(req.task_rate_hz * tx_s, 1.0)[trades.bid_index[comm]]
        row = self.sellers.index[trades.seller[comm]]
        busy = np.bincount(row, weights=trades.quantity[comm] * act, minlength=m)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.nodes.capacity[:, 0] > 0, busy / self.nodes.capacity[:, 0], 0.0)

    def _transport_ms(self, trades: Trades, req: Requests, link: LinkState) -> FloatArray:
        """Per trade: delay to reach where the work runs (backhaul, D2D hop or cloud RTT)."""
        sc = self.scenario
        kind = self.sellers.kind[trades.seller]
        idx = self.sellers.index[trades.seller]
        att = link.attached[req.device[trades.bid_index]]
        out = np.zeros(len(trades))
        is_node = kind == ex.KIND_NODE
        remote = is_node & (att >= 0) & (idx != att)
        if remote.any():
            a, s = att[remote], idx[remote]
            km = np.hypot(*(self.nodes.xy_m[a] - self.nodes.xy_m[s]).T) / 1000.0
            out[remote] = sc.nodes.backhaul_ms + sc.nodes.backhaul_ms_per_km * km
        out[kind == ex.KIND_DEVICE] = sc.devices.d2d_ms
        out[kind == ex.KIND_CLOUD] = sc.cloud.rtt_ms
        return out

    def _round_view(self, req: Requests, link: LinkState) -> ex.LinkView:
        """This round's link view of ``req`` (:meth:`_link_view`), built once; after relayed
        devices went back to their own links (``link`` changed in place for them,
        agents.relay_market.RelayRound.restored) only their requests' rows are rebuilt."""
        relay = self.last_relay
        if self._view_key is None or self._view is None:
            self._view = self._link_view(req, link)
        elif self._view_key != len(relay.restored):
            devices = np.concatenate(relay.restored[self._view_key:])
            rows = np.flatnonzero(np.isin(req.device, devices))
            if rows.size:
                _set_view_rows(self._view, rows, self._link_view(req.take(rows), link))
        self._view_key = len(relay.restored)  # batches of restored devices it reflects
        return self._view

    def _link_view(self, req: Requests, link: LinkState) -> ex.LinkView:
        """Per request link figures; devices out of coverage use a wide-area default."""
        cfg, d = self.scenario.channel, req.device
        att = link.attached[d] >= 0
        # Out of coverage: a wide-area link of air interface delay both ways, no losses.
        wide = np.zeros((1, link.delay_prob.shape[1]))  # also with no device at all
        wide[0, 0] = 1.0
        return ex.LinkView(
            link_delay_ms=np.where(att, link.link_delay_ms[d], 2 * cfg.air_interface_ms),
            jitter_ms=np.where(att, link.jitter_ms[d], cfg.base_jitter_ms),
            ber=np.where(att, link.ber[d], 0.0), per=np.where(att, link.per[d], 0.0),
            residual_loss=np.where(att, link.residual_loss[d], 0.0),
            handed_over=link.handed_over[d], delay_ms=link.delay_ms[d],
            delay_prob=np.where(att[:, None], link.delay_prob[d], wide),
            handover=self._handover_cost(req, link))

    def _handover_cost(self, req: Requests, link: LinkState) -> HandoverCost:
        """Interruption and state migration of the sessions handed over this round."""
        sc, d = self.scenario, req.device
        handed = link.handed_over[d]
        new, old = np.maximum(link.attached[d], 0), np.maximum(link.previous[d], 0)
        km = np.hypot(*(self.nodes.xy_m[new] - self.nodes.xy_m[old]).T) / 1000.0 \
            if self.nodes.uid.size else np.zeros(len(req))
        detour = sc.nodes.backhaul_ms + sc.nodes.backhaul_ms_per_km * km
        ch = sc.channel
        return handover_cost(handed, req.cache_gb, detour, ch.handover_interruption_ms,
                             ch.handover_backhaul_gbps, self.round_s)

    def _settle(self, req: Requests, trades: Trades, got: ex.Received,
                tx_s: FloatArray) -> dict[int, float]:
        """Budgets, broker revenue, node revenue/profit/energy, batteries; contributions."""
        sc, nodes, dev = self.scenario, self.nodes, self.devices
        m, n = nodes.uid.size, dev.uid.size
        kind = self.sellers.kind[trades.seller]
        idx = self.sellers.index[trades.seller]
        r = trades.resource.astype(np.int64)
        q, earned = trades.quantity, trades.quantity * trades.seller_price
        is_node, is_dev = kind == ex.KIND_NODE, kind == ex.KIND_DEVICE
        nodes.sold = np.bincount(idx[is_node] * N_RESOURCES + r[is_node], weights=q[is_node],
                                 minlength=m * N_RESOURCES).reshape(m, N_RESOURCES)
        nodes.revenue_credits = np.bincount(idx[is_node], weights=earned[is_node], minlength=m)
        nodes.profit_credits = nodes.revenue_credits - (nodes.sold * nodes.cost).sum(axis=1)
        e = sc.nodes.energy
        nodes.energy_j += (e.idle_w * self.round_s + e.j_per_gflop * nodes.sold[:, 2]
                           + e.j_per_mbit * self.round_s * nodes.sold[:, 0])
        dev.sold = np.bincount(idx[is_dev] * N_RESOURCES + r[is_dev], weights=q[is_dev],
                               minlength=n * N_RESOURCES).reshape(n, N_RESOURCES)
        broker_income = dev.broker_income_credits = np.bincount(
            idx[is_dev], weights=earned[is_dev], minlength=n).astype(float)
        dev.spent_credits = np.bincount(req.device, weights=got.payment, minlength=n).astype(float)
        dev.budget_credits = (dev.budget_credits - dev.spent_credits + broker_income
                              + sc.devices.budget_refill_credits_per_round)
        tx_j = sc.devices.tx_power_w * req.task_rate_hz * self.round_s * tx_s * got.served
        # astype: a weighted bincount of an empty round (no requests) comes back as int64.
        used = np.bincount(req.device, weights=tx_j, minlength=n).astype(float)
        used += sc.devices.j_per_gflop * dev.sold[:, 2]
        dev.battery_j = np.maximum(dev.battery_j - used, 0.0)
        work_unit = np.array(sc.market.work_unit.as_list())
        units = q / work_unit[r]
        uniq, inv = np.unique(trades.seller, return_inverse=True)
        sums = np.bincount(inv, weights=units, minlength=uniq.size)
        return {int(a): float(s) for a, s in zip(uniq, sums, strict=True)}

    def _observe_markets(self, edge: Clearing, trades: Trades) -> None:
        """Per node: its market's clearing price and its pro-rata share of the demand."""
        nodes = self.nodes
        m = nodes.uid.size
        price = np.full((m, N_RESOURCES), np.nan)
        demand = np.zeros((m, N_RESOURCES))
        if edge.venues.size:
            # Each node reads its venue's outcome (venues are node venue ids >= 0).
            at = np.full(int(self.node_venue.max(initial=0)) + 1, -1, np.int64)
            at[edge.venues] = np.arange(edge.venues.size)
            oi = at[self.node_venue]
            rows = np.flatnonzero(oi >= 0)
            oi = oi[rows]
            price[rows] = edge.prices[oi]
            supply, wanted = edge.supply_total[oi], edge.demand_total[oi]
            with np.errstate(divide="ignore", invalid="ignore"):
                share = np.where(supply > 0, nodes.capacity[rows] / supply, 0.0)
            demand[rows] = share * wanted
        nodes.market_price = price
        nodes.demand = demand
        # Devices plan with smoothed prices: reacting to the last price alone makes bundle
        # designs oscillate between resources (cobweb dynamics).
        a = self.scenario.market.price_smoothing
        prev = nodes.expected_price
        nodes.expected_price = np.where(
            np.isfinite(price), np.where(np.isfinite(prev), (1 - a) * prev + a * price, price), prev)

    def _curves(self) -> OrderCurves | None:
        """The round's pooled supply and demand curves (every ``curves_every`` rounds)."""
        sc = self.scenario
        if sc.curves_every == 0 or self.steps % sc.curves_every != 0:
            return None
        parts = self._round_orders
        if not parts:
            return OrderCurves.empty()
        cat = np.concatenate
        bids = Bids._trusted(cat([o.bid_agent for o in parts]), cat([o.bid_demand for o in parts]),
                             cat([o.bid_value for o in parts]),
                             np.ones(sum(o.bid_value.size for o in parts)))
        asks = Asks._trusted(cat([o.ask_agent for o in parts]), cat([o.ask_resource for o in parts]),
                             cat([o.ask_quantity for o in parts]), cat([o.ask_price for o in parts]))
        return order_curves(bids, asks, sc.curve_steps)

    def _snapshot(self) -> AgentSnapshot | None:
        every = self.scenario.snapshot_every
        if every == 0 or self.steps % every != 0:
            return None
        nodes, dev = self.nodes, self.devices
        rows = self.snapshot_rows
        with np.errstate(divide="ignore", invalid="ignore"):
            n_util = np.where(nodes.capacity > 0, nodes.sold / nodes.capacity, np.nan)
            d_cap = dev.capacity[rows]
            d_util = np.where(d_cap > 0, dev.sold[rows] / d_cap, np.nan)
        n_util = np.nan_to_num(_row_nanmean(n_util), nan=0.0)
        d_util = np.where(dev.is_broker[rows],
                          np.nan_to_num(_row_nanmean(d_util), nan=0.0), 0.0)
        att = dev.attached[rows]
        parts = [
            (nodes.uid, np.full(nodes.uid.size, "node"), nodes.xy_m, nodes.uid, n_util),
            (dev.uid[rows], np.full(rows.size, "device"), dev.xy_m[rows],
             np.where(att >= 0, nodes.uid[np.maximum(att, 0)] if len(nodes.uid) else -1, -1),
             d_util),
        ]
        if self.cloud_agent is not None:
            cu = np.array([self.cloud_agent.unique_id])
            parts.append((cu, np.array(["cloud"]), np.full((1, 2), np.nan), cu, np.zeros(1)))
        return AgentSnapshot(
            agent_id=np.concatenate([p[0] for p in parts]).astype(np.int64),
            kind=np.concatenate([p[1] for p in parts]).astype(str),
            x_m=np.concatenate([p[2][:, 0] for p in parts]),
            y_m=np.concatenate([p[2][:, 1] for p in parts]),
            attached=np.concatenate([np.asarray(p[3]) for p in parts]).astype(np.int64),
            utilization=np.concatenate([p[4] for p in parts]).astype(np.float64))


def _row_nanmean(a: FloatArray) -> FloatArray:
    """Mean of each row ignoring NaN (NaN for all-NaN rows), without warnings."""
    ok = ~np.isnan(a)
    cnt = ok.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(cnt > 0, np.where(ok, a, 0.0).sum(axis=1) / cnt, np.nan)


def _shift_asks(trades: Trades, offset: int) -> Trades:
    if not len(trades):
        return trades
    return Trades(trades.buyer, trades.seller, trades.resource, trades.quantity, trades.price,
                  trades.bid_index, np.where(trades.ask_index >= 0, trades.ask_index + offset, -1),
                  trades.seller_price)


def _set_view_rows(view: ex.LinkView, rows: IntArray, part: ex.LinkView) -> None:
    """Rows ``rows`` of ``view`` (in place) become those of ``part`` (one row per row)."""
    for f in dataclasses.fields(view):
        if f.name != "handover":
            getattr(view, f.name)[rows] = getattr(part, f.name)
    if view.handover is not None and part.handover is not None:
        for f in dataclasses.fields(view.handover):
            getattr(view.handover, f.name)[rows] = getattr(part.handover, f.name)


def _concat_trades(a: Trades, b: Trades) -> Trades:
    """Rows of ``a`` then ``b`` (b: held trades of earlier sessions, no bid or ask row)."""
    if not len(b):
        return a
    cat = np.concatenate
    return Trades(cat([a.buyer, b.buyer]), cat([a.seller, b.seller]),
                  cat([a.resource, b.resource]), cat([a.quantity, b.quantity]),
                  cat([a.price, b.price]), cat([a.bid_index, b.bid_index]),
                  cat([a.ask_index, b.ask_index]), cat([a.seller_price, b.seller_price]))


def _take_measured(m: Any, rows: IntArray) -> Any:
    """The Measured rows at ``rows`` (optional measures left empty stay empty)."""
    n = m.cls.size
    return dataclasses.replace(m, **{f.name: getattr(m, f.name)[rows]
                                     for f in dataclasses.fields(m) if getattr(m, f.name).size == n})
