"""PettingZoo ``ParallelEnv`` over the edgemarket model (passes ``parallel_api_test``).

The same :class:`~agents.learning.core.MarketCore` as the RLlib env: learning edge nodes
(and optionally devices) act simultaneously each round; after ``learning.episode_rounds``
rounds every agent is truncated and ``agents`` empties.

    env = EdgeMarketParallelEnv(env_config("smart_city", small=True))
    obs, infos = env.reset(seed=0)
    obs, rewards, terminations, truncations, infos = env.step({a: env.action_space(a).sample()
                                                              for a in env.agents})
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from pettingzoo import ParallelEnv

from agents.learning.spaces import AgentSpaces, core_from_config


class EdgeMarketParallelEnv(ParallelEnv):
    """Edge nodes (and optionally devices and brokers) of one model as PettingZoo parallel agents."""

    metadata = {"name": "edgemarket_v0", "render_modes": [], "is_parallelizable": True}

    def __init__(self, config: dict[str, Any] | None = None, render_mode: str | None = None) -> None:
        config = dict(config or {})
        self.core = core_from_config(config)
        self.spaces = AgentSpaces(self.core, config.get("unified"))
        self.possible_agents = self.spaces.agent_ids
        self.agents: list[str] = []
        self.render_mode = render_mode
        self._seed = int(config.get("seed", 0))
        self._seeded = False

    def observation_space(self, agent: str) -> gym.spaces.Box:
        """The agent's observation Box (the same object on every call)."""
        return self.spaces.observation_space(agent)

    def action_space(self, agent: str) -> gym.spaces.Box:
        """The agent's action Box (the same object on every call)."""
        return self.spaces.action_space(agent)

    def _obs(self) -> dict[str, np.ndarray]:
        return self.spaces.observations(self.core)

    def reset(self, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[dict[str, np.ndarray], dict[str, dict]]:
        if seed is None and not self._seeded:
            seed = self._seed
        self._seeded = True
        self.core.reset(seed)
        self.agents = self.spaces.present(self.core)  # broker slots bind per episode
        return self._obs(), {a: {} for a in self.agents}

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        sp, core = self.spaces, self.core
        if not self.agents:
            raise RuntimeError("episode is over: call reset()")
        out = core.step(*sp.decode(actions, core))
        rewards = sp.rewards(out, core)
        obs = self._obs()
        done = core.done
        agents = list(self.agents)
        terminations = {a: False for a in agents}
        truncations = {a: done for a in agents}
        infos: dict[str, dict] = {a: {} for a in agents}
        if done:
            self.agents = []
        return obs, rewards, terminations, truncations, infos

    def render(self) -> None:
        return None

    def close(self) -> None:
        return None
