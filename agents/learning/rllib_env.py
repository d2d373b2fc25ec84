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

#: Whether this process froze its long-lived objects after importing RLlib / after the
#: first episode of an env.
_frozen = {"imports": False, "episode": False}


def freeze_long_lived(stage: str) -> None:
    """Move everything alive now out of the cyclic garbage collector's sight, once a process
    per ``stage``.

    Importing RLlib (ray, torch, pandas ...) leaves ~310,000 long-lived objects, and the
    first episode's lazy imports and numba compilations ~95,000 more; every full collection
    walked them all again. In ``bench/bench_env.py`` a full collection came every ~2
    episodes and cost ~0.1-0.3 s (of ~1.5 s an episode). Frozen objects are still freed by
    reference counting; only cycles among them are never collected, so the collection just
    before frees the cycles that are garbage already.
    """
    if not _frozen[stage]:
        gc.collect()
        gc.freeze()
        _frozen[stage] = True


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
        freeze_long_lived("imports")

    def _obs(self) -> dict[str, np.ndarray]:
        return self.spaces.observations(self.core)

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        if seed is None and not self._seeded:
            seed = self._seed
        self._seeded = True
        if self.core.model is not None and not _frozen["episode"]:
            # After a whole episode every lazy import and compilation has happened: freeze
            # them, without the episode's model (released first, so it is collected).
            self.core.release_model()
            freeze_long_lived("episode")
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
