"""The RL envs over the model: API conformance, spaces, actions in, rewards out."""

from __future__ import annotations

import numpy as np
import pytest
from learning_helpers import TINY_LEARNING, TINY_OVERRIDES
from pettingzoo.test import parallel_api_test

from agents.learning.config import LearningConfig
from agents.learning.core import MarketCore, true_welfare
from agents.learning.pettingzoo_env import EdgeMarketParallelEnv
from agents.learning.rllib_env import EdgeMarketMultiAgentEnv
from agents.learning.spaces import env_config


def _cfg(**learning):
    return env_config("smart_city", overrides=TINY_OVERRIDES, small=True,
                      learning={**TINY_LEARNING, **learning})


@pytest.mark.parametrize("learning", [{}, {"devices": 2, "policy": "per-role"},
                                      {"devices": 2, "policy": "shared"}, {"nodes": [1]}])
def test_pettingzoo_parallel_api(learning):
    parallel_api_test(EdgeMarketParallelEnv(_cfg(**learning)), num_cycles=12)


def test_rllib_env_spaces_and_episode():
    env = EdgeMarketMultiAgentEnv(_cfg())
    obs, _ = env.reset(seed=3)
    assert env.agents == ["node_0", "node_1", "node_2"]
    lc = LearningConfig()
    for a in env.agents:
        assert env.observation_spaces[a].contains(obs[a])
        act = env.action_spaces[a]
        assert act.shape == (4,)
        assert np.allclose(act.low, lc.min_multiplier) and np.allclose(act.high, lc.max_multiplier)
    steps = 0
    while True:
        obs, rew, term, trunc, _ = env.step({a: env.action_spaces[a].sample() for a in env.agents})
        steps += 1
        assert set(rew) == set(env.agents) and all(np.isfinite(list(rew.values())))
        assert all(env.observation_spaces[a].contains(o) for a, o in obs.items())
        assert term["__all__"] is False
        if trunc["__all__"]:
            break
    assert steps == TINY_LEARNING["episode_rounds"]


def test_actions_set_asks_and_rewards_are_scaled_profit():
    core = MarketCore("smart_city", dict(TINY_LEARNING), overrides=TINY_OVERRIDES)
    core.reset(seed=1)
    mult = np.array([[1.0, 1.5, 2.0, 2.5], [3.0, 3.0, 3.0, 3.0], [9.0, 0.1, 1.2, 1.2]])
    out = core.step(mult)
    t = core.model.nodes
    expected = t.cost * np.clip(mult, 1.0, 3.0)
    assert np.allclose(t.ask, expected)
    scale = (t.capacity * t.cost).sum(axis=1)
    assert np.allclose(out.node_rewards * scale, t.profit_credits - out.node_penalty)
    assert np.allclose(out.node_profit, core.model.node_rewards())
    assert true_welfare(core.model, out.round_result) >= out.round_result.clearing.welfare - 1e-9


def test_partial_learning_keeps_rule_based_nodes():
    core = MarketCore("smart_city", {**TINY_LEARNING, "nodes": [0]}, overrides=TINY_OVERRIDES)
    core.reset(seed=2)
    core.step(np.full((1, 4), 2.5))
    t = core.model.nodes
    assert np.allclose(t.ask[0], 2.5 * t.cost[0])
    assert np.allclose(t.ask[1:], 1.3 * t.cost[1:])  # the scenario's fixed_markup 0.3


def test_same_seed_same_episode():
    def run():
        core = MarketCore("smart_city", dict(TINY_LEARNING), overrides=TINY_OVERRIDES)
        core.reset(seed=11)
        return [core.step(np.full((3, 4), 1.7)).node_rewards.copy() for _ in range(3)]

    assert all(np.array_equal(a, b) for a, b in zip(run(), run(), strict=True))


def test_episodes_advance_the_seed():
    core = MarketCore("smart_city", dict(TINY_LEARNING), overrides=TINY_OVERRIDES, seed=5)
    core.reset()
    first = core.model.seed
    core.reset()
    assert core.model.seed == first + 1
    core.reset(seed=5)
    assert core.model.seed == 5


def test_devices_shade_bids_and_switch_broker():
    core = MarketCore("smart_city", {**TINY_LEARNING, "devices": 2}, overrides=TINY_OVERRIDES)
    core.reset(seed=4)
    out = core.step(None, np.array([[0.3, 1.0], [0.0, -1.0]]))
    dev = core.model.devices
    assert dev.is_broker[0] and not dev.is_broker[1]
    assert [s.shade for s in core._shades] == [0.3, 0.0]
    assert out.device_rewards.shape == (2,) and np.all(np.isfinite(out.device_rewards))
    obs = core.device_observations()
    assert obs.shape == (2, core.device_obs_dim) and obs.dtype == np.float32


def test_bad_learning_sections():
    with pytest.raises(ValueError, match="max_multiplier"):
        LearningConfig(min_multiplier=2.0, max_multiplier=1.5)
    with pytest.raises(ValueError, match="out of range"):
        MarketCore("smart_city", {"nodes": [7]}, overrides=TINY_OVERRIDES)
    with pytest.raises(ValueError, match="no agent learns"):
        MarketCore("smart_city", {"nodes": "none"}, overrides=TINY_OVERRIDES)


def test_scenario_learning_section_sets_who_learns():
    from agents.scenario import small

    sc = small(devices__count=20, nodes__count=3, learning__nodes=[2], learning__devices=1,
               learning__episode_rounds=3)
    core = MarketCore(sc)
    assert core.node_rows.tolist() == [2] and core.device_rows.tolist() == [0]
    assert core.cfg.episode_rounds == 3
    env = EdgeMarketParallelEnv(env_config(sc, learning={"policy": "per-role"}))
    assert env.possible_agents == ["node_2", "device_0"]


def test_node_observation_carries_live_qoais_feedback():
    from agents.learning.observations import node_feature_names

    env = EdgeMarketMultiAgentEnv(_cfg())
    env.reset(seed=5)
    core = env.core
    col = node_feature_names(core.features.history).index("qoais")
    seen = []
    for _ in range(8):
        env.step({a: env.action_spaces[a].high for a in env.agents})  # pricey asks
        feats = core.node_observations()
        assert np.allclose(feats[:, col], core.model.nodes.sla_rate[core.node_rows])
        seen.extend(feats[:, col].tolist())
    assert min(seen) < 1.0  # not a constant slot: some node missed an SLA


def test_worlds_make_a_vectorized_env():
    """learning.worlds: K copies of the world per env; agents per copy, same spaces."""
    env = EdgeMarketMultiAgentEnv(_cfg(worlds=3, nodes=[0, 2], devices=1, policy="per-role"))
    obs, _ = env.reset(seed=2)
    assert env.agents == ["node_0", "node_2", "node_0@w1", "node_2@w1", "node_0@w2",
                          "node_2@w2", "device_0", "device_0@w1", "device_0@w2"]
    core = env.core
    m, n = TINY_OVERRIDES["nodes.count"], TINY_OVERRIDES["devices.count"]
    assert core.node_rows.tolist() == [0, 2, m, m + 2, 2 * m, 2 * m + 2]
    assert core.device_rows.tolist() == [0, n, 2 * n]
    assert core.model.nodes.uid.size == 3 * m
    for a in env.agents:
        assert env.observation_spaces[a].contains(obs[a])
    # Each copy's node prices at its own action.
    acts = {a: np.full(4, 1.0 + 0.5 * i, np.float32) for i, a in enumerate(env.agents[:6])}
    _obs, rew, _term, _trunc, _ = env.step(acts)
    t = core.model.nodes
    for i, row in enumerate(core.node_rows.tolist()):
        assert np.allclose(t.ask[row], t.cost[row] * min(1.0 + 0.5 * i, 3.0))
    assert set(rew) == set(env.agents) and all(np.isfinite(list(rew.values())))
    # Metrics are per world.
    while not core.done:
        env.step(acts)
    assert core.last_episode is not None and core.last_episode.worlds == 3


def test_worlds_pettingzoo_api_and_per_agent_policies_share_slots():
    from agents.learning.training import PolicyMapper

    parallel_api_test(EdgeMarketParallelEnv(_cfg(worlds=2)), num_cycles=8)
    mapper = PolicyMapper("per-agent", unified=False)
    assert mapper("node_1@w5") == mapper("node_1") == "node_1"
