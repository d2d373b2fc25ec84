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
3. the model clears the round; rewards are each node's profit (revenue − marginal cost of
   units sold, ``model.node_rewards()``) and each device's utility (value of what it got −
   payments + broker income − broker cost), minus ``sla_penalty`` × credits at stake in the
   SLA violations it is the provider of; node rewards are divided by the node's cost of
   full capacity per round (``reward_scale`` overrides), device rewards by its class value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from agents.learning.config import LearningConfig, learning_config
from agents.learning.observations import (
    NodeFeatures,
    device_features,
    device_obs_dim,
    node_obs_dim,
)
from agents.scenario import Scenario, load_scenario
from agents.strategies import DeviceStrategy, NodeObservation

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

# Seller kinds in model.sellers.kind (agents.execution): node, cloud, device.
_KIND_NODE, _KIND_DEVICE = 0, 2


class ShadeOne(DeviceStrategy):
    """Internal device strategy of one learning device: bid ``value × (1 − shade)``.

    It records what its device got each round (``update``), which the core turns into the
    device's utility. Not registered by name: only the learning core creates it.
    """

    def __init__(self, shade: float = 0.0) -> None:
        self.shade = shade
        self.value_got = 0.0
        self.paid = 0.0
        self.requests = 0
        self.served = 0.0

    def bid(self, value: FloatArray, budget: FloatArray) -> FloatArray:
        return np.minimum(value * (1.0 - self.shade), budget)

    def update(self, served: FloatArray, paid: FloatArray, value: FloatArray) -> None:
        self.value_got = float(np.sum(served * value))
        self.paid = float(np.sum(paid))
        self.requests = int(served.size)
        self.served = float(np.sum(served))


@dataclass
class StepOutcome:
    """Rewards of the learning agents for one round, and the model's RoundResult."""

    node_rewards: FloatArray
    device_rewards: FloatArray
    round_result: Any
    node_profit: FloatArray
    node_penalty: FloatArray


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
        if self.node_rows.size + self.device_rows.size == 0:
            raise ValueError("learning: no agent learns (nodes: none and devices: 0)")
        self.base_seed = int(seed)
        self.episode = -1
        self.rounds = 0
        self.model: Any = None
        self.features = NodeFeatures(self.cfg.history)
        self._shades: list[ShadeOne] = []
        self._dev_utility = np.zeros(self.device_rows.size)
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
        self._dev_utility = np.zeros(self.n_devices)

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
        return self.features.features(self.node_observation())

    def device_observations(self) -> NDArray[np.float32]:
        """(j, device_obs_dim) float32 observations of the learning devices."""
        j = self.n_devices
        if not j:
            return np.zeros((0, self.device_obs_dim), np.float32)
        model, rows = self.model, self.device_rows
        dev, nodes = model.devices, model.nodes
        dc = self.scenario.devices
        budget = dev.budget_credits[rows] / max(dc.budget_credits, 1e-9)
        battery = np.divide(dev.battery_j[rows], dev.battery_capacity_j[rows],
                            out=np.zeros(j), where=dev.battery_capacity_j[rows] > 0)
        shade = np.array([s.shade for s in self._shades])
        served = np.array([s.served / s.requests if s.requests else 0.0 for s in self._shades])
        att = dev.attached[rows]
        ok = att >= 0
        a = np.maximum(att, 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            poc = np.where(ok[:, None], nodes.market_price[a] / nodes.cost[a], 0.0)
        value = model.classes.value_credits[dev.cls[rows]]
        util = np.divide(self._dev_utility, value, out=np.zeros(j), where=value > 0)
        return device_features(budget, battery, dev.is_broker[rows].astype(np.float64), shade,
                               served, util, poc, ok.astype(np.float64))

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
             device_actions: FloatArray | None = None) -> StepOutcome:
        """Apply the actions, clear one round, return the learning agents' rewards."""
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
        rr = model.step(node_prices_override=override)
        self.rounds += 1
        penalty_node, penalty_dev = self._penalties(rr)
        profit = model.nodes.profit_credits[self.node_rows]
        node_rewards = (profit - penalty_node) / self._node_scale
        if self.cfg.node_reward == "welfare" and self.n_nodes:
            share = float(rr.delivered_welfare) / self.n_nodes
            node_rewards = np.full(self.n_nodes, share) / self._node_scale
        dev_rewards = np.zeros(self.n_devices)
        if self.n_devices:
            dev = model.devices
            rows = self.device_rows
            net = np.array([rr.net_credits.get(int(u), 0.0) for u in dev.uid[rows]])
            broker_cost = (dev.sold[rows] * dev.cost[rows]).sum(axis=1)
            got = np.array([s.value_got for s in self._shades])
            self._dev_utility = got + net - broker_cost - penalty_dev
            value = model.classes.value_credits[dev.cls[rows]]
            dev_rewards = np.divide(self._dev_utility, value, out=np.zeros(rows.size),
                                    where=value > 0)
        if self.n_nodes:
            self.features.push(self.node_observation())
        self._account(rr, profit, penalty_node, override)
        return StepOutcome(node_rewards=node_rewards, device_rewards=dev_rewards,
                           round_result=rr, node_profit=profit.copy(), node_penalty=penalty_node)

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

    def _penalties(self, rr: Any) -> tuple[FloatArray, FloatArray]:
        """Credits at stake in SLA violations × sla_penalty, per learning node and device."""
        pn, pd = np.zeros(self.n_nodes), np.zeros(self.n_devices)
        if not rr.violations or self.cfg.sla_penalty == 0:
            return pn, pd
        v = np.array([(p, c) for p, _b, c in rr.violations], dtype=np.float64)
        uid = v[:, 0].astype(np.int64)
        stake = v[:, 1] * self.cfg.sla_penalty
        sellers = self.model.sellers
        ok = (uid >= 0) & (uid < sellers.kind.size)
        uid, stake = uid[ok], stake[ok]
        kind, index = sellers.kind[uid], sellers.index[uid]
        m, n = self.model.nodes.uid.size, self.model.devices.uid.size
        node_pen = np.bincount(index[kind == _KIND_NODE], weights=stake[kind == _KIND_NODE],
                               minlength=m)
        dev_pen = np.bincount(index[kind == _KIND_DEVICE], weights=stake[kind == _KIND_DEVICE],
                              minlength=n)
        return node_pen[self.node_rows], dev_pen[self.device_rows]

    # -- metadata -----------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """JSON-able description of the spaces (stored next to checkpoints)."""
        return {
            "scenario": self.scenario.name,
            "learning": self.cfg.model_dump(mode="json"),
            "node_rows": self.node_rows.tolist(),
            "device_rows": self.device_rows.tolist(),
            "node_obs_dim": self.node_obs_dim,
            "worlds": self.worlds,
            "device_obs_dim": self.device_obs_dim,
        }


def replace_learning(cfg: LearningConfig, **changes: Any) -> LearningConfig:
    """A copy of ``cfg`` with fields changed (validated)."""
    return LearningConfig.model_validate({**cfg.model_dump(), **changes})


__all__ = ["EpisodeStats", "MarketCore", "ShadeOne", "StepOutcome", "replace_learning",
           "resolve_scenario", "true_welfare"]
