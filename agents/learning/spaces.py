"""Agent ids, observation/action spaces and the env_config shared by both envs.

Agent ids are ``node_<row>`` for learning edge nodes, ``device_<row>`` for learning
devices (rows of the model's state tables) and ``broker_<s>`` for learning-broker slots
(slot s: the s-th broker of the episode's world, see :mod:`agents.learning.core`; slots
without a broker that episode are left out of the env's ``agents``). With
``learning.worlds: K`` one env steps K copies of the world; the agents of copy k > 0 are
``node_<row>@w<k>`` (their row within their own world), and ``per-agent`` policies are
shared by the same slot in every copy.

Spaces (float32 Boxes):

- node observation: ``[0, 10]^D`` with D = 16·history + 7 (see
  :mod:`agents.learning.observations`); node action: ``[min_multiplier, max_multiplier]^4``,
  the ask of each resource (communication, caching, computation, learning) as a multiple of
  the node's marginal cost;
- device observation: ``[0, 10]^11``; device action: ``[0, max_shade] × [-1, 1]``, bid
  shading and the broker switch (> 0: sell idle resources);
- broker observation: the node observation's layout (NodeFeatures of the broker's own
  NodeObservation); broker action: ``[min_multiplier, max_multiplier]^4``, its ask per
  resource over its true cost;
- *unified* spaces (one policy shared by several roles, ``policy: shared`` with more than
  one learning role): observation = role one-hot (2 for nodes and devices, 3 when brokers
  learn: node, device, broker) + the role's features zero-padded to the longest; action =
  ``[-1, 1]^4``, linearly mapped onto the role's Box (devices use the first two components).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

from agents.learning.config import LearningConfig
from agents.learning.core import MarketCore, StepOutcome
from agents.learning.observations import OBS_HIGH, encode_unified, unsquash
from agents.scenario import SMALL_OVERRIDES, Scenario, load_scenario, scenario_from_dict

#: Overrides applied to every env's scenario: they change reporting only, not the market
#: (no welfare-optimum LP per round, no agent snapshots, no order-book curves).
ENV_FAST_OVERRIDES: dict[str, Any] = {"market.optimum_every": 0, "snapshot_every": 0,
                                       "curves_every": 0}


def node_id(row: int, world: int = 0) -> str:
    """Agent id of the learning node at ``row`` of its world (``@w<k>`` for copy k > 0)."""
    return f"node_{row}" if world == 0 else f"node_{row}@w{world}"


def device_id(row: int, world: int = 0) -> str:
    """Agent id of the learning device at ``row`` of its world."""
    return f"device_{row}" if world == 0 else f"device_{row}@w{world}"


def broker_id(slot: int, world: int = 0) -> str:
    """Agent id of learning-broker slot ``slot`` of its world."""
    return f"broker_{slot}" if world == 0 else f"broker_{slot}@w{world}"


def slot_of(agent_id: str) -> str:
    """The agent's id in world 0: the same node or device in every copy of the world."""
    return agent_id.split("@", 1)[0]


def role_of(agent_id: str) -> str:
    """"node", "device" or "broker"."""
    for role in ("node", "device", "broker"):
        if agent_id.startswith(role + "_"):
            return role
    raise ValueError(f"not a learning agent id: {agent_id!r}")


def unified_roles(has_brokers: bool) -> tuple[str, ...]:
    """Roles of the one-hot in unified observations (brokers add a third slot)."""
    return ("node", "device", "broker") if has_brokers else ("node", "device")


def env_config(scenario: Scenario | str, *, overrides: dict[str, Any] | None = None,
               small: bool = False, learning: dict[str, Any] | None = None, seed: int = 0,
               unified: bool | None = None, fast: bool = True) -> dict[str, Any]:
    """A picklable env_config for both envs (the scenario resolved to JSON)."""
    if isinstance(scenario, Scenario):
        sc = scenario
        if overrides or small:
            extra = {**(SMALL_OVERRIDES if small else {}), **(overrides or {})}
            sc = scenario_from_dict(sc.to_json_dict(), source=sc.name, overrides=extra)
    else:
        extra = {**(SMALL_OVERRIDES if small else {}), **(overrides or {})}
        sc = load_scenario(scenario, extra)
    return {"scenario_json": sc.to_json_dict(), "learning": dict(learning or {}), "seed": int(seed),
            "unified": unified, "fast": bool(fast)}


def core_from_config(config: dict[str, Any] | None) -> MarketCore:
    """The MarketCore an env_config describes (default: the small default scenario)."""
    cfg = dict(config or {})
    fast = cfg.get("fast", True)
    extra = ENV_FAST_OVERRIDES if fast else {}
    if "scenario_json" in cfg:
        sc = scenario_from_dict(cfg["scenario_json"], source="env_config", overrides=extra)
    else:
        name = cfg.get("scenario", "smart_city")
        over = {**(SMALL_OVERRIDES if cfg.get("small", True) else {}),
                **(cfg.get("overrides") or {}), **extra}
        sc = load_scenario(name, over)
    return MarketCore(sc, cfg.get("learning") or None, seed=int(cfg.get("seed", 0)))


def _rows(actions: Mapping[str, Any], ids: list[str], missing: NDArray[Any]) -> NDArray[np.float64]:
    """(len(ids), k) float64: the actions of ``ids`` in order (``missing`` for an absent
    agent), as ``np.stack`` of each one as a float64 array.

    One ``np.array`` of the list: per-agent ``np.asarray`` calls cost ~1 ms for the 512
    agents of a 128-world env, 5x more. For actions of one shape both give the same array."""
    got = [actions.get(a, missing) for a in ids]
    try:
        return np.array(got, dtype=np.float64)
    except ValueError:  # shapes differ: np.stack's own error (or its result)
        return np.stack([np.asarray(a, np.float64) for a in got])


class AgentSpaces:
    """Spaces of the learning agents of a core, and the obs/action codecs."""

    def __init__(self, core: MarketCore, unified: bool | None = None) -> None:
        cfg: LearningConfig = core.cfg
        self.cfg = cfg
        self.node_ids = [node_id(r, w) for r, w in core.node_slots]
        self.device_ids = [device_id(r, w) for r, w in core.device_slots]
        self.broker_ids = [broker_id(s, w) for s, w in core.broker_slots]
        roles = sum(bool(ids) for ids in (self.node_ids, self.device_ids, self.broker_ids))
        if unified is None:
            unified = cfg.policy == "shared" and roles > 1
        self.unified = bool(unified)
        self.roles = unified_roles(bool(self.broker_ids))
        self.dn, self.dd = core.node_obs_dim, core.device_obs_dim
        self.node_act = gym.spaces.Box(cfg.min_multiplier, cfg.max_multiplier, (4,), np.float32)
        self.device_act = gym.spaces.Box(np.array([0.0, -1.0], np.float32),
                                         np.array([cfg.max_shade, 1.0], np.float32), dtype=np.float32)
        if self.unified:
            self.width = len(self.roles) + max(self.dn, self.dd)
            obs = gym.spaces.Box(0.0, OBS_HIGH, (self.width,), np.float32)
            act = gym.spaces.Box(-1.0, 1.0, (4,), np.float32)
            self.obs_spaces = dict.fromkeys(("node", "device", "broker"), obs)
            self.act_spaces = dict.fromkeys(("node", "device", "broker"), act)
        else:
            node_obs = gym.spaces.Box(0.0, OBS_HIGH, (self.dn,), np.float32)
            self.obs_spaces = {"node": node_obs, "broker": node_obs,
                               "device": gym.spaces.Box(0.0, OBS_HIGH, (self.dd,), np.float32)}
            self.act_spaces = {"node": self.node_act, "broker": self.node_act,
                               "device": self.device_act}

    @property
    def agent_ids(self) -> list[str]:
        """Every possible learning agent: nodes first, then devices, then broker slots."""
        return [*self.node_ids, *self.device_ids, *self.broker_ids]

    def present(self, core: MarketCore) -> list[str]:
        """The agents of the current episode: all but broker slots without a broker."""
        bound = core.broker_bound.tolist()
        return [*self.node_ids, *self.device_ids,
                *(a for a, ok in zip(self.broker_ids, bound, strict=True) if ok)]

    def observation_space(self, agent_id: str) -> gym.spaces.Box:
        """The agent's observation Box."""
        return self.obs_spaces[role_of(agent_id)]

    def action_space(self, agent_id: str) -> gym.spaces.Box:
        """The agent's action Box."""
        return self.act_spaces[role_of(agent_id)]

    def encode(self, role: str, features: NDArray[np.float32]) -> NDArray[np.float32]:
        """(k, d) role features -> (k, obs width) observations."""
        if not self.unified:
            return features
        return encode_unified(features, role, self.roles, self.width)

    def observations(self, core: MarketCore) -> dict[str, NDArray[np.float32]]:
        """Every learning agent's observation after the core's last round, by agent id."""
        out: dict[str, NDArray[np.float32]] = {}
        if self.node_ids:
            out.update(zip(self.node_ids, self.encode("node", core.node_observations()),
                           strict=True))
        if self.device_ids:
            out.update(zip(self.device_ids, self.encode("device", core.device_observations()),
                           strict=True))
        if self.broker_ids:
            bound = [a for a, ok in zip(self.broker_ids, core.broker_bound.tolist(), strict=True)
                     if ok]
            out.update(zip(bound, self.encode("broker", core.broker_observations()), strict=True))
        return out

    def decode(self, actions: Mapping[str, Any], core: MarketCore | None = None
               ) -> tuple[NDArray[np.float64] | None, NDArray[np.float64] | None,
                          NDArray[np.float64] | None]:
        """A dict of actions by agent id -> (node multipliers, device actions, multipliers
        of the bound broker slots) for ``MarketCore.step``; a missing agent acts neutrally
        (multiplier 1, no shading)."""
        node_act = dev_act = broker_act = None
        neutral = np.ones(4)  # multiplier 1 (in unified spaces: its point of [-1, 1])
        if self.unified:
            lo, hi = self.cfg.min_multiplier, self.cfg.max_multiplier
            neutral = np.full(4, np.clip(2.0 * (1.0 - lo) / (hi - lo) - 1.0, -1.0, 1.0))
        if self.node_ids:
            node_act = self.decode_nodes(_rows(actions, self.node_ids, neutral))
        if self.device_ids:
            dev_act = self.decode_devices(_rows(actions, self.device_ids, np.zeros(4)))
        if self.broker_ids and core is not None:
            bound = [a for a, ok in zip(self.broker_ids, core.broker_bound.tolist(), strict=True)
                     if ok]
            if bound:
                broker_act = self.decode_nodes(_rows(actions, bound, neutral))
        return node_act, dev_act, broker_act

    def rewards(self, out: StepOutcome, core: MarketCore | None = None) -> dict[str, float]:
        """A step's rewards by agent id (present agents only)."""
        rewards = dict(zip(self.node_ids, out.node_rewards.tolist(), strict=True))
        rewards.update(zip(self.device_ids, out.device_rewards.tolist(), strict=True))
        if self.broker_ids and out.broker_rewards is not None and core is not None:
            rewards.update((a, r) for a, r, ok in zip(
                self.broker_ids, out.broker_rewards.tolist(), core.broker_bound.tolist(),
                strict=True) if ok)
        return rewards

    def decode_nodes(self, actions: NDArray[Any]) -> NDArray[np.float64]:
        """(k, 4) actions -> price multipliers (nodes and brokers)."""
        a = np.asarray(actions, dtype=np.float64)
        if self.unified:
            a = unsquash(a, self.node_act.low, self.node_act.high)
        return np.clip(a, self.node_act.low, self.node_act.high)

    def decode_devices(self, actions: NDArray[Any]) -> NDArray[np.float64]:
        """(j, 2 or 4) actions -> (shade, broker switch)."""
        a = np.asarray(actions, dtype=np.float64)[:, :2]
        if self.unified:
            a = unsquash(a, self.device_act.low, self.device_act.high)
        return np.clip(a, self.device_act.low, self.device_act.high)
