"""RLlib ``MultiAgentEnv`` over the edgemarket model (new API stack).

Every learning agent acts each round (simultaneous moves); an episode is
``learning.episode_rounds`` rounds of a fresh :class:`~agents.model.EdgeMarketModel`, then
``truncated`` (a time limit, not a terminal state). Each ``reset()`` without a seed moves to
the next seed of the env's sequence, so episodes see different workloads and mobility.

    from ray.rllib.algorithms.ppo import PPOConfig
    config = PPOConfig().environment(EdgeMarketMultiAgentEnv, env_config=env_config("smart_city", small=True))
"""

from __future__ import annotations

import gc
from typing import Any

import numpy as np
from ray.rllib.env.multi_agent_env import MultiAgentEnv

from agents.learning.spaces import AgentSpaces, core_from_config

_frozen = False


def freeze_long_lived() -> None:
    """Move everything alive now out of the cyclic garbage collector's sight, once a process.

    Importing RLlib (ray, torch, pandas ...) leaves ~300,000 long-lived objects, and every
    full collection walks them all again: in ``bench/bench_env.py`` a full collection came
    every ~2 episodes and cost ~0.1-0.3 s of the ~1.5 s the episode itself takes. Frozen
    objects are still freed by reference counting; only cycles among them are never
    collected, so the collection just before frees the cycles that are garbage already.
    """
    global _frozen
    if not _frozen:
        gc.collect()
        gc.freeze()
        _frozen = True


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
        freeze_long_lived()

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
