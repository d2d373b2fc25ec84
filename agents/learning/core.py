"""The learning core: one :class:`~agents.model.EdgeMarketModel` driven by array actions.

Both RL envs (RLlib :mod:`agents.learning.rllib_env`, PettingZoo
:mod:`agents.learning.pettingzoo_env`) are thin dict adapters over :class:`MarketCore`; the
market, the agents and the QoAIS measurement are the model's own (no logic is duplicated
here). Per round:

1. learning nodes' actions (k, 4) are price multipliers on marginal cost per resource; the
   asks ``cost × multiplier`` go in through the model's seam
   ``model.step(node_prices_override=...)`` (NaN rows: non-learning nodes keep their
   rule-based strategy);
2. learning devices' actions (j, 2) set their bid shading (a one-device strategy group in
   ``model.device_strategies``) and whether they act as a broker (``devices.is_broker``);
3. learning brokers' actions (b, 4) are price multipliers over their true cost per resource
   (``devices.cost``): the brokers' pricing strategy is wrapped so that their rows ask
   ``cost × multiplier`` (the others keep ``devices.broker_strategy``);
4. the model clears the round; rewards are each node's profit (revenue − marginal cost of
   units sold, ``model.node_rewards()``), each device's utility (value of what it got −
   payments + broker income − broker cost) and each broker's profit (broker income − true
   cost of what it sold), minus ``sla_penalty`` × credits at stake in the SLA violations it
   is the provider of; node and broker rewards are divided by their cost of full capacity
   per round (``reward_scale`` overrides), device rewards by its class value.

Device observations are the model's own :class:`~agents.learning.observations.DeviceFeedback`
(the ``DeviceObservation`` device strategies get in ordinary runs); broker observations are
:class:`~agents.learning.observations.NodeFeatures` of the brokers' NodeObservation
(``BrokerPricing.observation``, what ``devices.broker_strategy`` gets in runs).

**Broker slots.** Which devices are brokers is drawn per seed, so learning brokers are
slots: per world, slot s is bound at each reset to the s-th device (in row order) that the
new model drew as a broker. Slots without a broker that episode are absent (the envs leave
them out of ``agents``); a bound broker that stops selling (battery, detached, its device's
broker switch) stays in the episode with zero reward.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from agents.learning.config import LearningConfig, learning_config
from agents.learning.observations import (
    NodeFeatures,
    broker_margin,
    device_features,
    device_obs_dim,
    node_obs_dim,
)
from agents.scenario import Scenario, load_scenario
from agents.strategies import DeviceObservation, DeviceStrategy, NodeObservation, NodeStrategy

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

# Seller kinds in model.sellers.kind (agents.execution): node, cloud, device.
_KIND_NODE, _KIND_DEVICE = 0, 2


class ShadeOne(DeviceStrategy):
    """Internal device strategy of one learning device: bid ``value × (1 − shade)``, the
    shade the core sets from the device's action each round. Not registered by name: only
    the learning core creates it (what the device got is read from the model's
    DeviceFeedback)."""

    def __init__(self, shade: float = 0.0) -> None:
        self.shade = shade

    def bid(self, value: FloatArray, budget: FloatArray,
            obs: DeviceObservation | None = None) -> FloatArray:
        return np.minimum(value * (1.0 - self.shade), budget)


class LearnedBrokerAsks(NodeStrategy):
    """The brokers' pricing strategy with the learning brokers' rows overridden: those ask
    ``cost × multiplier`` (set by the core each round); the rest keep ``inner``'s quotes,
    and ``inner`` still learns from every round. Not registered by name."""

    def __init__(self, inner: NodeStrategy) -> None:
        self.inner = inner
        self.rows = np.zeros(0, np.int64)
        self.multipliers = np.zeros((0, 4))

    def quote(self, obs: NodeObservation, rng: np.random.Generator) -> FloatArray:
        ask = np.array(self.inner.quote(obs, rng), dtype=np.float64)
        if self.rows.size:
            ask[self.rows] = np.asarray(obs.cost, np.float64)[self.rows] * self.multipliers
        return ask

    def update(self, obs: NodeObservation, rng: np.random.Generator) -> None:
        self.inner.update(obs, rng)


def observation_rows(obs: NodeObservation, rows: IntArray) -> NodeObservation:
    """The NodeObservation of the sellers at ``rows`` only."""
    return NodeObservation(round=obs.round, cost=obs.cost[rows], capacity=obs.capacity[rows],
                           last_ask=obs.last_ask[rows], sold=obs.sold[rows],
                           demand=obs.demand[rows], market_price=obs.market_price[rows],
                           sla_rate=None if obs.sla_rate is None else obs.sla_rate[rows])


@dataclass
class StepOutcome:
    """Rewards of the learning agents for one round, and the model's RoundResult."""

    node_rewards: FloatArray
    device_rewards: FloatArray
    round_result: Any
    node_profit: FloatArray
    node_penalty: FloatArray
    #: One per broker slot (0 for slots without a broker this episode).
    broker_rewards: FloatArray | None = None


def resolve_scenario(scenario: Scenario | str, overrides: dict[str, Any] | None = None) -> Scenario:
    """A Scenario from a name/path (with overrides) or as given."""
    if isinstance(scenario, Scenario):
        if overrides:
            from agents.scenario import scenario_from_dict

            return scenario_from_dict(scenario.to_json_dict(), source=scenario.name,
                                      overrides=overrides)
        return scenario
    return load_scenario(scenario, overrides)


def true_welfare(model: Any, rr: Any) -> float:
    """Round welfare at true marginal costs: the market's welfare (asks taken as costs) plus
    the edge nodes' markups (ask − marginal cost) × units sold, which are transfers."""
    t = model.nodes
    return float(rr.clearing.welfare) + float(((t.ask - t.cost) * t.sold).sum())


@dataclass
class EpisodeStats:
    """Totals of one episode (for training metrics)."""

    rounds: int = 0
    welfare: float = 0.0
    profit: float = 0.0
    penalty: float = 0.0
    multiplier_sum: float = 0.0
    requests: int = 0
    sla_met: float = 0.0
    worlds: int = 1

    def as_metrics(self) -> dict[str, float]:
        """Per-episode metrics: welfare and profit (credits, per world), mean multiplier,
        SLA rate."""
        k = self.worlds
        return {"welfare": self.welfare / k, "node_profit": self.profit / k,
                "sla_penalty": self.penalty / k,
                "mean_multiplier": self.multiplier_sum / self.rounds if self.rounds else 0.0,
                "sla_rate": self.sla_met / self.requests if self.requests else 0.0}


class MarketCore:
    """An EdgeMarketModel plus the learning agents' observations, actions and rewards."""

    def __init__(self, scenario: Scenario | str, learning: LearningConfig | dict[str, Any] | None = None,
                 seed: int = 0, overrides: dict[str, Any] | None = None) -> None:
        self.scenario = resolve_scenario(scenario, overrides)
        if isinstance(learning, LearningConfig):
            self.cfg = learning
        else:
            self.cfg = learning_config(self.scenario, learning)
        m = self.scenario.nodes.count
        n_dev = self.scenario.devices.count
        if self.cfg.devices > n_dev:
            raise ValueError(f"learning.devices: {self.cfg.devices} > devices.count {n_dev}")
        #: Copies of the world stepped together; world w's rows follow world w - 1's.
        self.worlds = self.cfg.worlds
        shift = np.arange(self.worlds, dtype=np.int64)[:, None]
        local_nodes = np.asarray(self.cfg.learning_node_indices(m), dtype=np.int64)
        self.node_rows = (local_nodes[None, :] + shift * m).ravel()
        self.device_rows = (np.arange(self.cfg.devices, dtype=np.int64)[None, :]
                            + shift * n_dev).ravel()
        #: (local row, world) of each learning node and device.
        self.node_slots = [(int(r), w) for w in range(self.worlds) for r in local_nodes]
        self.device_slots = [(r, w) for w in range(self.worlds) for r in range(self.cfg.devices)]
        #: (slot, world) of each learning-broker slot; bound to device rows at each reset.
        self.broker_slots = [(s, w) for w in range(self.worlds)
                             for s in range(self.cfg.broker_slots(n_dev))]
        self.broker_rows = np.full(len(self.broker_slots), -1, np.int64)
        if self.node_rows.size + self.device_rows.size + len(self.broker_slots) == 0:
            raise ValueError("learning: no agent learns (nodes: none, devices: 0, brokers: none)")
        self.base_seed = int(seed)
        self.episode = -1
        self.rounds = 0
        self.model: Any = None
        self.features = NodeFeatures(self.cfg.history)
        self.broker_features = NodeFeatures(self.cfg.history)
        self._broker_asks: LearnedBrokerAsks | None = None
        self._broker_scale = np.ones(len(self.broker_slots))
        self._shades: list[ShadeOne] = []
        self._node_scale = np.ones(self.node_rows.size)
        self.stats = EpisodeStats(worlds=self.worlds)
        #: Totals of the last finished episode (set when ``done`` becomes true).
        self.last_episode: EpisodeStats | None = None

    # -- sizes --------------------------------------------------------------------------

    @property
    def n_nodes(self) -> int:
        """Learning nodes."""
        return int(self.node_rows.size)

    @property
    def n_devices(self) -> int:
        """Learning devices."""
        return int(self.device_rows.size)

    @property
    def n_broker_slots(self) -> int:
        """Learning-broker slots (bound or not)."""
        return len(self.broker_slots)

    @property
    def broker_bound(self) -> NDArray[np.bool_]:
        """(slots,) whether each broker slot has a broker this episode."""
        return self.broker_rows >= 0

    @property
    def node_obs_dim(self) -> int:
        """Length of a node observation."""
        return node_obs_dim(self.cfg.history)

    @property
    def device_obs_dim(self) -> int:
        """Length of a device observation."""
        return device_obs_dim()

    @property
    def done(self) -> bool:
        """The episode has run ``episode_rounds`` rounds."""
        return self.rounds >= self.cfg.episode_rounds

    # -- episode ------------------------------------------------------------------------

    def reset(self, seed: int | None = None) -> None:
        """A fresh model: ``seed`` if given, else the next seed of this core's sequence."""
        from agents.model import EdgeMarketModel

        if seed is not None:
            self.base_seed, self.episode = int(seed), 0
        else:
            self.episode += 1
        model_seed = self.base_seed + self.episode * self.cfg.seed_stride
        self.release_model()
        # history_limit=1: the core reads each round's RoundResult as it comes (its rounds'
        # per-venue lists would otherwise pile up for the whole episode, for the GC to walk).
        self.model = EdgeMarketModel(self.scenario, seed=model_seed, worlds=self.worlds,
                                     history_limit=1)
        self.rounds = 0
        self.stats = EpisodeStats(worlds=self.worlds)
        self.features.reset()
        nodes = self.model.nodes
        rows = self.node_rows
        if self.cfg.reward_scale is not None:
            self._node_scale = np.full(rows.size, float(self.cfg.reward_scale))
        else:
            worth = (nodes.capacity[rows] * nodes.cost[rows]).sum(axis=1)
            self._node_scale = np.where(worth > 0, worth, 1.0)
        self._shades = []
        if self.n_devices:
            self._install_device_groups()
        if self.n_broker_slots:
            self._bind_brokers()

    def _bind_brokers(self) -> None:
        """Bind each world's broker slots to its brokers in row order (see module doc) and
        wrap the brokers' pricing strategy so the bound rows ask what the policy says."""
        model = self.model
        dev = model.devices
        n_dev = self.scenario.devices.count
        per_world = self.cfg.broker_slots(n_dev)
        rows = np.full(self.n_broker_slots, -1, np.int64)
        for w in range(self.worlds):
            mine = np.flatnonzero(dev.is_broker[w * n_dev:(w + 1) * n_dev]) + w * n_dev
            k = min(per_world, mine.size)
            rows[w * per_world: w * per_world + k] = mine[:k]
        self.broker_rows = rows
        bound = rows[rows >= 0]
        bp = model.broker_pricing
        self._broker_asks = LearnedBrokerAsks(bp.strategy)
        self._broker_asks.rows = bound
        self._broker_asks.multipliers = np.ones((bound.size, 4))
        bp.strategy = self._broker_asks
        if self.cfg.reward_scale is not None:
            self._broker_scale = np.full(bound.size, float(self.cfg.reward_scale))
        else:
            cost = np.nan_to_num(dev.cost[bound], posinf=0.0)
            worth = (dev.capacity[bound] * cost).sum(axis=1)
            self._broker_scale = np.where(worth > 0, worth, 1.0)
        self.broker_features.reset()

    def release_model(self) -> None:
        """Drop the current model, released (else Mesa keeps every episode's model alive)."""
        if self.model is not None:
            self.model.release()
            self.model = None

    def _install_device_groups(self) -> None:
        """Each learning device gets its own ShadeOne group; the rest keep theirs."""
        model = self.model
        rows = self.device_rows
        groups: list[tuple[DeviceStrategy, IntArray]] = []
        for strat, idx in model.device_strategies:
            rest = np.setdiff1d(idx, rows)
            if rest.size:
                groups.append((strat, rest))
        for i in rows.tolist():
            s = ShadeOne(0.0)
            self._shades.append(s)
            groups.append((s, np.array([i], dtype=np.int64)))
        model.device_strategies = groups

    # -- observations -------------------------------------------------------------------

    def node_observation(self) -> NodeObservation:
        """The learning nodes' NodeObservation (state after the last round)."""
        return self.model.node_observation(self.node_rows)

    def node_observations(self) -> NDArray[np.float32]:
        """(k, node_obs_dim) float32 observations of the learning nodes."""
        if not self.n_nodes:
            return np.zeros((0, self.node_obs_dim), np.float32)
        # After a round the history holds everything: no NodeObservation to gather.
        return self.features.features(None if self.features.started else self.node_observation())

    def device_observations(self) -> NDArray[np.float32]:
        """(j, device_obs_dim) float32 observations of the learning devices: the model's
        DeviceFeedback at their rows, as device strategies get it in runs."""
        if not self.n_devices:
            return np.zeros((0, self.device_obs_dim), np.float32)
        return device_features(self.model.device_feedback.observation(self.device_rows))

    def broker_observations(self) -> NDArray[np.float32]:
        """(bound slots, node_obs_dim) float32 observations of the bound broker slots:
        NodeFeatures of their rows of the brokers' NodeObservation."""
        bound = self.broker_rows[self.broker_bound]
        if not bound.size:
            return np.zeros((0, self.node_obs_dim), np.float32)
        if self.broker_features.started:
            return self.broker_features.features()
        obs = observation_rows(self.model.broker_pricing.observation(self.model), bound)
        return self.broker_features.features(obs)

    # -- one round ----------------------------------------------------------------------

    def node_asks(self, multipliers: FloatArray) -> FloatArray:
        """(m, 4) override array: cost × clipped multiplier for learning nodes, NaN elsewhere."""
        nodes = self.model.nodes
        out = np.full(nodes.ask.shape, np.nan)
        if self.n_nodes:
            mult = np.clip(np.asarray(multipliers, dtype=np.float64).reshape(self.n_nodes, -1),
                           self.cfg.min_multiplier, self.cfg.max_multiplier)
            out[self.node_rows] = nodes.cost[self.node_rows] * mult
        return out

    def step(self, node_multipliers: FloatArray | None = None,
             device_actions: FloatArray | None = None,
             broker_multipliers: FloatArray | None = None) -> StepOutcome:
        """Apply the actions, clear one round, return the learning agents' rewards.
        ``broker_multipliers``: (bound broker slots, 4)."""
        model = self.model
        if model is None:
            raise RuntimeError("call reset() first")
        override = None
        if self.n_nodes:
            mult = (np.full((self.n_nodes, 4), 1.0) if node_multipliers is None
                    else node_multipliers)
            override = self.node_asks(mult)
        if self.n_devices:
            act = np.zeros((self.n_devices, 2)) if device_actions is None else \
                np.asarray(device_actions, dtype=np.float64).reshape(self.n_devices, 2)
            shade = np.clip(act[:, 0], 0.0, self.cfg.max_shade)
            for s, v in zip(self._shades, shade.tolist(), strict=True):
                s.shade = v
            model.devices.is_broker[self.device_rows] = act[:, 1] > 0
        if self._broker_asks is not None and self._broker_asks.rows.size:
            b = self._broker_asks.rows.size
            mult = np.ones((b, 4)) if broker_multipliers is None else \
                np.asarray(broker_multipliers, np.float64).reshape(b, 4)
            self._broker_asks.multipliers = np.clip(mult, self.cfg.min_multiplier,
                                                    self.cfg.max_multiplier)
        rr = model.step(node_prices_override=override)
        self.rounds += 1
        pen_nodes, pen_devices = self._penalty_arrays(rr)
        penalty_node, penalty_dev = pen_nodes[self.node_rows], pen_devices[self.device_rows]
        profit = model.nodes.profit_credits[self.node_rows]
        node_rewards = (profit - penalty_node) / self._node_scale
        if self.cfg.node_reward == "welfare" and self.n_nodes:
            share = float(rr.delivered_welfare) / self.n_nodes
            node_rewards = np.full(self.n_nodes, share) / self._node_scale
        dev_rewards = np.zeros(self.n_devices)
        if self.n_devices:
            # The device's utility as its observation has it (DeviceFeedback, per class
            # value), minus the SLA penalty it owes as a provider.
            dev = model.devices
            rows = self.device_rows
            value = model.classes.value_credits[dev.cls[rows]]
            penalty = np.divide(penalty_dev, value, out=np.zeros(rows.size), where=value > 0)
            dev_rewards = model.device_feedback.utility[rows] - penalty
        broker_rewards = np.zeros(self.n_broker_slots)
        if self.n_broker_slots:
            bound = self.broker_rows[self.broker_bound]
            margin = broker_margin(model.devices)[bound] - pen_devices[bound]
            broker_rewards[self.broker_bound] = margin / self._broker_scale
            obs = observation_rows(model.broker_pricing.observation(model), bound)
            self.broker_features.push(obs)
        if self.n_nodes:
            self.features.push(self.node_observation())
        self._account(rr, profit, penalty_node, override)
        return StepOutcome(node_rewards=node_rewards, device_rewards=dev_rewards,
                           round_result=rr, node_profit=profit.copy(), node_penalty=penalty_node,
                           broker_rewards=broker_rewards)

    def _account(self, rr: Any, profit: FloatArray, penalty: FloatArray,
                 override: FloatArray | None) -> None:
        st = self.stats
        st.rounds += 1
        st.welfare += true_welfare(self.model, rr)
        st.profit += float(profit.sum())
        st.penalty += float(penalty.sum())
        if override is not None and self.n_nodes:
            t = self.model.nodes
            rows = self.node_rows
            st.multiplier_sum += float(np.mean(override[rows] / np.where(t.cost[rows] > 0,
                                                                         t.cost[rows], 1.0)))
        st.requests += int(rr.n_requests)
        st.sla_met += float(rr.sla_rate) * int(rr.n_requests)
        if self.done:
            self.last_episode = st

    def _penalty_arrays(self, rr: Any) -> tuple[FloatArray, FloatArray]:
        """Credits at stake in SLA violations × sla_penalty, per node row and device row."""
        m, n = self.model.nodes.uid.size, self.model.devices.uid.size
        pn, pd = np.zeros(m), np.zeros(n)
        if not rr.violations or self.cfg.sla_penalty == 0:
            return pn, pd
        # (provider, buyer, credits) rows as float64, as the tuples' own numbers.
        v = np.array(rr.violations, dtype=np.float64).reshape(-1, 3)
        uid = v[:, 0].astype(np.int64)
        stake = v[:, 2] * self.cfg.sla_penalty
        sellers = self.model.sellers
        ok = (uid >= 0) & (uid < sellers.kind.size)
        uid, stake = uid[ok], stake[ok]
        kind, index = sellers.kind[uid], sellers.index[uid]
        node_pen = np.bincount(index[kind == _KIND_NODE], weights=stake[kind == _KIND_NODE],
                               minlength=m)
        dev_pen = np.bincount(index[kind == _KIND_DEVICE], weights=stake[kind == _KIND_DEVICE],
                              minlength=n)
        return np.asarray(node_pen, np.float64), np.asarray(dev_pen, np.float64)

    # -- metadata -----------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """JSON-able description of the spaces (stored next to checkpoints)."""
        return {
            "scenario": self.scenario.name,
            "learning": self.cfg.model_dump(mode="json"),
            "node_rows": self.node_rows.tolist(),
            "device_rows": self.device_rows.tolist(),
            "broker_slots": self.n_broker_slots,
            "node_obs_dim": self.node_obs_dim,
            "worlds": self.worlds,
            "device_obs_dim": self.device_obs_dim,
        }


def replace_learning(cfg: LearningConfig, **changes: Any) -> LearningConfig:
    """A copy of ``cfg`` with fields changed (validated)."""
    return LearningConfig.model_validate({**cfg.model_dump(), **changes})


__all__ = ["EpisodeStats", "MarketCore", "ShadeOne", "StepOutcome", "replace_learning",
           "resolve_scenario", "true_welfare"]
