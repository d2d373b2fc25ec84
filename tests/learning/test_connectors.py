"""agents.learning.connectors against RLlib's default connector pieces, on the same episodes
and the same module outputs: the same rows reach each module, and the env gets the same
actions (bit for bit), with and without clipping, for one shared policy and for three roles
with different action spaces. Also: the envs hand out fresh observation arrays every step,
which is what lets CountingEnvRunner drop the vector env's deep copy."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
from learning_helpers import TRAINED_LEARNING, TRAINED_OVERRIDES

CASES = {
    "shared nodes": ("shared", {"episode_rounds": 5}),
    "per-role three roles": ("per-role", TRAINED_LEARNING),
    "shared unified three roles": ("shared", TRAINED_LEARNING),
}


def _default_runner(policy: str, learning: dict[str, Any]) -> tuple[Any, Any, list[str]]:
    """RLlib's own runner and pipelines, stepped into the middle of its episodes."""
    from ray.rllib.env.multi_agent_env_runner import MultiAgentEnvRunner

    from agents.learning.training import TrainSpec, build_config

    spec = TrainSpec(overrides=TRAINED_OVERRIDES, learning={**learning, "worlds": 3},
                     policy=policy, train_batch_size=20, minibatch_size=10, num_epochs=1,
                     record=False, fast_sampling=False, seed=3)
    config, _, mapper, modules = build_config(spec)
    runner = MultiAgentEnvRunner(config=config)
    runner.sample(num_timesteps=7)  # 5-round episodes: the second episode has begun
    return runner, mapper, modules


def _latest(runner: Any) -> list[dict[str, Any]]:
    """The observation dicts the runner passed its env-to-module pipeline last."""
    return [ep.get_observations(-1) for ep in runner._ongoing_episodes]


def _rows(batch: dict[str, Any], structure: dict[str, list[tuple[Any, Any]]]
          ) -> dict[tuple[Any, Any, str], np.ndarray]:
    out = {}
    for module, pairs in structure.items():
        obs = np.asarray(batch[module]["obs"])
        assert obs.shape[0] == len(pairs)
        for pair, row in zip(pairs, obs, strict=True):
            out[(*pair, module)] = row
    return out


@pytest.mark.parametrize("case", list(CASES))
def test_batched_connectors_match_rllib_defaults(ray_local: Any, case: str) -> None:
    from ray.rllib.connectors.module_to_env import GetActions, TensorToNumpy

    from agents.learning.connectors import BatchedModuleToEnv, BatchedObservationsToModule

    policy, learning = CASES[case]
    runner, mapper, modules = _default_runner(policy, learning)
    episodes, latest = runner._ongoing_episodes, _latest(runner)
    try:
        # -- env to module: the same (episode, agent) rows per module, the same observations
        theirs_shared: dict[str, Any] = {}
        theirs = runner._env_to_module(rl_module=runner.module, batch={}, episodes=episodes,
                                       explore=True, shared_data=theirs_shared, obs=latest)
        ours_shared: dict[str, Any] = {}
        ours = BatchedObservationsToModule(rl_module_specs=set(modules),
                                           agent_to_module_mapping_fn=mapper)(
            rl_module=runner.module, batch={}, episodes=episodes, explore=True,
            shared_data=ours_shared, obs=latest)
        t_struct, o_struct = (theirs_shared["memorized_map_structure"],
                              ours_shared["memorized_map_structure"])
        assert set(t_struct) == set(o_struct) and len(t_struct) >= 1
        t_rows = _rows({m: {"obs": v["obs"].numpy()} for m, v in theirs.items()}, t_struct)
        o_rows = _rows(ours, o_struct)
        assert t_rows.keys() == o_rows.keys()
        for key, row in t_rows.items():
            assert row.dtype == o_rows[key].dtype and np.array_equal(row, o_rows[key]), key
        if case != "shared nodes":  # two roles with different obs and action spaces
            assert len({k[1].split("_")[0] for k in t_rows}) >= 2

        # -- module to env: one module output, sampled once, through both pipelines
        out = runner.module.forward_exploration(theirs)
        out = TensorToNumpy()(rl_module=runner.module, episodes=episodes, shared_data={},
                              batch=GetActions()(rl_module=runner.module, batch=out,
                                                 episodes=episodes, explore=True,
                                                 shared_data={}))
        for cols in out.values():  # push some actions past [-1, 1]: the clip matters
            cols["actions"] = (cols["actions"] * 3.0).astype(cols["actions"].dtype)
        default_pieces = [p for p in runner._module_to_env.connectors
                          if type(p).__name__ not in ("GetActions", "TensorToNumpy")]
        theirs_env = copy.deepcopy(out)
        for piece in default_pieces:
            theirs_env = piece(rl_module=runner.module, batch=theirs_env, episodes=episodes,
                               explore=True, shared_data=dict(theirs_shared))
        ours_env = BatchedModuleToEnv()(rl_module=runner.module, batch=copy.deepcopy(out),
                                        episodes=episodes, explore=True,
                                        shared_data=dict(theirs_shared))
        assert set(theirs_env) == set(ours_env) and "actions_for_env" in ours_env
        clipped = 0
        for column, per_env in theirs_env.items():
            assert len(per_env) == len(ours_env[column])
            for t_env, o_env in zip(per_env, ours_env[column], strict=True):
                assert t_env.keys() == o_env.keys()
                for agent, value in t_env.items():
                    a, b = np.asarray(value), np.asarray(o_env[agent])
                    assert a.dtype == b.dtype and np.array_equal(a, b), (column, agent)
                    if column == "actions_for_env":
                        space = runner.env.envs[0].unwrapped.action_spaces[agent]
                        clipped += int(np.any(a == space.low) or np.any(a == space.high))
        assert clipped > 0
    finally:
        runner.stop()


def test_env_observations_are_fresh_arrays_each_step() -> None:
    """Observations of earlier steps are untouched by later ones (no shared buffers)."""
    from learning_helpers import TINY_OVERRIDES

    from agents.learning.rllib_env import EdgeMarketMultiAgentEnv
    from agents.learning.spaces import env_config

    env = EdgeMarketMultiAgentEnv(env_config(
        "smart_city", small=True, overrides=TINY_OVERRIDES,
        learning={**TRAINED_LEARNING, "worlds": 2}, seed=5))
    obs, _ = env.reset()
    seen = [(obs, copy.deepcopy(obs))]
    for _ in range(6):  # past the 5-round episode: the reset's arrays too
        acts = {a: env.action_spaces[a].sample() for a in env.agents}
        obs, _, _, truncated, _ = env.step(acts)
        if truncated["__all__"]:
            obs, _ = env.reset()
        seen.append((obs, copy.deepcopy(obs)))
    for given, kept in seen:
        for agent, value in kept.items():
            assert np.array_equal(given[agent], value), agent
