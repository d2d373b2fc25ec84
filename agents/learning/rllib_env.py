"""RLlib ``MultiAgentEnv`` over the edgemarket model (new API stack).

Every learning agent acts each round (simultaneous moves); an episode is
``learning.episode_rounds`` rounds of a fresh :class:`~agents.model.EdgeMarketModel`, then
``truncated`` (a time limit, not a terminal state). Each ``reset()`` without a seed moves to
the next seed of the env's sequence, so episodes see different workloads and mobility.

    from ray.rllib.algorithms.ppo import PPOConfig
    config = PPOConfig().environment(EdgeMarketMultiAgentEnv, env_config=env_config("smart_city", small=True))
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ray.rllib.env.multi_agent_env import MultiAgentEnv

from agents.learning.spaces import AgentSpaces, core_from_config


class EdgeMarketMultiAgentEnv(MultiAgentEnv):
    """Edge nodes (and optionally devices and brokers) of one model as RLlib agents."""

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        super().__init__()
        config = dict(config or {})
        self.core = core_from_config(config)
        self.spaces = AgentSpaces(self.core, config.get("unified"))
        self.possible_agents = self.spaces.agent_ids
        self.agents = list(self.possible_agents)
        self.observation_spaces = {a: self.spaces.observation_space(a) for a in self.agents}
        self.action_spaces = {a: self.spaces.action_space(a) for a in self.agents}
        self._seeded = False
        self._seed = int(config.get("seed", 0))
        #: The model's RoundResult of the last step (for inspection and callbacks).
        self.last_round: Any = None

    def _obs(self) -> dict[str, np.ndarray]:
        return self.spaces.observations(self.core)

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        if seed is None and not self._seeded:
            seed = self._seed
        self._seeded = True
        self.core.reset(seed)
        self.agents = self.spaces.present(self.core)  # broker slots bind per episode
        return self._obs(), {}

    def step(self, action_dict: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        sp, core = self.spaces, self.core
        out = core.step(*sp.decode(action_dict, core))
        self.last_round = out.round_result
        rewards = sp.rewards(out, core)
        done = core.done
        return (self._obs(), rewards, {"__all__": False}, {"__all__": done}, {})
