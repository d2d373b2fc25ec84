"""Agent ids, observation/action spaces and the env_config shared by both envs.

Agent ids are ``node_<row>`` for learning edge nodes and ``device_<row>`` for learning
devices (rows of the model's state tables). With ``learning.worlds: K`` one env steps K
copies of the world; the agents of copy k > 0 are ``node_<row>@w<k>`` (their row within
their own world), and ``per-agent`` policies are shared by the same slot in every copy.

Spaces (float32 Boxes):

- node observation: ``[0, 10]^D`` with D = 16·history + 7 (see
  :mod:`agents.learning.observations`); node action: ``[min_multiplier, max_multiplier]^4``,
  the ask of each resource (communication, caching, computation, learning) as a multiple of
  the node's marginal cost;
- device observation: ``[0, 10]^11``; device action: ``[0, max_shade] × [-1, 1]``, bid
  shading and the broker switch (> 0: sell idle resources);
- *unified* spaces (one policy shared by nodes and devices, ``policy: shared`` with
  learning devices): observation = role one-hot (2) + the role's features zero-padded to the
  longer of the two; action = ``[-1, 1]^4``, linearly mapped onto the role's Box (devices use
  the first two components).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

from agents.learning.config import LearningConfig
from agents.learning.core import MarketCore, StepOutcome
from agents.learning.observations import OBS_HIGH, unsquash
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


def slot_of(agent_id: str) -> str:
    """The agent's id in world 0: the same node or device in every copy of the world."""
    return agent_id.split("@", 1)[0]


def role_of(agent_id: str) -> str:
    """"node" or "device"."""
    return "node" if agent_id.startswith("node_") else "device"


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


class AgentSpaces:
    """Spaces of the learning agents of a core, and the obs/action codecs."""

    def __init__(self, core: MarketCore, unified: bool | None = None) -> None:
        cfg: LearningConfig = core.cfg
        self.cfg = cfg
        self.node_ids = [node_id(r, w) for r, w in core.node_slots]
        self.device_ids = [device_id(r, w) for r, w in core.device_slots]
        if unified is None:
            unified = cfg.policy == "shared" and bool(self.device_ids) and bool(self.node_ids)
        self.unified = bool(unified)
        self.dn, self.dd = core.node_obs_dim, core.device_obs_dim
        self.node_act = gym.spaces.Box(cfg.min_multiplier, cfg.max_multiplier, (4,), np.float32)
        self.device_act = gym.spaces.Box(np.array([0.0, -1.0], np.float32),
                                         np.array([cfg.max_shade, 1.0], np.float32), dtype=np.float32)
        if self.unified:
            self.width = 2 + max(self.dn, self.dd)
            obs = gym.spaces.Box(0.0, OBS_HIGH, (self.width,), np.float32)
            act = gym.spaces.Box(-1.0, 1.0, (4,), np.float32)
            self.node_obs = self.device_obs = obs
            self.node_act_space = self.device_act_space = act
        else:
            self.node_obs = gym.spaces.Box(0.0, OBS_HIGH, (self.dn,), np.float32)
            self.device_obs = gym.spaces.Box(0.0, OBS_HIGH, (self.dd,), np.float32)
            self.node_act_space, self.device_act_space = self.node_act, self.device_act

    @property
    def agent_ids(self) -> list[str]:
        """Every learning agent: nodes first, then devices."""
        return [*self.node_ids, *self.device_ids]

    def observation_space(self, agent_id: str) -> gym.spaces.Box:
        """The agent's observation Box."""
        return self.node_obs if role_of(agent_id) == "node" else self.device_obs

    def action_space(self, agent_id: str) -> gym.spaces.Box:
        """The agent's action Box."""
        return self.node_act_space if role_of(agent_id) == "node" else self.device_act_space

    def encode(self, role: str, features: NDArray[np.float32]) -> NDArray[np.float32]:
        """(k, d) role features -> (k, obs width) observations."""
        if not self.unified:
            return features
        out = np.zeros((features.shape[0], self.width), np.float32)
        out[:, 0 if role == "node" else 1] = 1.0
        out[:, 2:2 + features.shape[1]] = features
        return out

    def observations(self, core: MarketCore) -> dict[str, NDArray[np.float32]]:
        """Every learning agent's observation after the core's last round, by agent id."""
        out: dict[str, NDArray[np.float32]] = {}
        if self.node_ids:
            out.update(zip(self.node_ids, self.encode("node", core.node_observations()),
                           strict=True))
        if self.device_ids:
            out.update(zip(self.device_ids, self.encode("device", core.device_observations()),
                           strict=True))
        return out

    def decode(self, actions: Mapping[str, Any]) -> tuple[NDArray[np.float64] | None,
                                                          NDArray[np.float64] | None]:
        """A dict of actions by agent id -> (node multipliers, device actions) for
        ``MarketCore.step``; a missing agent acts neutrally (multiplier 1, no shading)."""
        node_act = dev_act = None
        if self.node_ids:
            node_act = self.decode_nodes(np.stack([
                np.asarray(actions.get(a, np.ones(4)), np.float64) for a in self.node_ids]))
        if self.device_ids:
            dev_act = self.decode_devices(np.stack([
                np.asarray(actions.get(a, np.zeros(4)), np.float64) for a in self.device_ids]))
        return node_act, dev_act

    def rewards(self, out: StepOutcome) -> dict[str, float]:
        """A step's rewards by agent id."""
        rewards = dict(zip(self.node_ids, out.node_rewards.tolist(), strict=True))
        rewards.update(zip(self.device_ids, out.device_rewards.tolist(), strict=True))
        return rewards

    def decode_nodes(self, actions: NDArray[Any]) -> NDArray[np.float64]:
        """(k, 4) actions -> price multipliers."""
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
