"""Env resets: an episode depends on its seed only, and a reset lets the old model go.

The reset path was made cheaper (FL table training, the previous model released); these
check that the seed's episode did not move: an episode reached by resetting an env equals
the one a fresh env starts with that seed, and both equal a freshly built model stepped by
hand with the same asks, byte for byte. FL tables are cleared from their cache in between,
so each side trains its own.
"""

from __future__ import annotations

import gc
import weakref

import mesa
import numpy as np
from learning_helpers import TINY_OVERRIDES

from agents.fl.table import fl_table
from agents.learning.core import MarketCore
from agents.learning.rllib_env import EdgeMarketMultiAgentEnv
from agents.learning.spaces import env_config
from agents.model import EdgeMarketModel

ROUNDS = 3


def _cfg():
    return env_config("smart_city", overrides=TINY_OVERRIDES, small=True,
                      learning={"episode_rounds": ROUNDS, "worlds": 2})


def _actions(env, k):
    rng = np.random.default_rng(100 + k)
    return {a: rng.uniform(0.8, 3.2, 4).astype(np.float32) for a in env.possible_agents}


def _episode(env):
    """Observations, rewards and the nodes' table after each round of one episode."""
    out = []
    for k in range(ROUNDS):
        obs, rew, _term, trunc, _ = env.step(_actions(env, k))
        t = env.core.model.nodes
        out.append((obs, rew, t.ask.copy(), t.profit_credits.copy(), t.market_price.copy()))
    assert trunc["__all__"]
    return out


def _same(a, b):
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def test_a_reset_episode_is_the_seeds_episode():
    env = EdgeMarketMultiAgentEnv(_cfg())
    env.reset(seed=7)
    first = _episode(env)
    second_obs, _ = env.reset()  # the next seed of the sequence: 8
    assert env.core.model.seed == 8
    second = _episode(env)
    assert not _same(first, second)  # a different seed is a different episode

    fl_table.cache_clear()
    fresh = EdgeMarketMultiAgentEnv(_cfg())
    fresh_obs, _ = fresh.reset(seed=8)
    assert _same(fresh_obs, second_obs)
    assert _same(_episode(fresh), second)

    # A model built from scratch with seed 8 and stepped with the same asks by hand.
    fl_table.cache_clear()
    core = fresh.core
    model = EdgeMarketModel(core.scenario, seed=8, worlds=2)
    rows = core.node_rows
    for k, (_obs, _rew, ask, profit, price) in enumerate(second):
        acts = _actions(fresh, k)
        mult = np.stack([acts[a] for a in fresh.spaces.node_ids]).astype(np.float64)
        override = np.full(model.nodes.ask.shape, np.nan)
        override[rows] = model.nodes.cost[rows] * np.clip(mult, core.cfg.min_multiplier,
                                                          core.cfg.max_multiplier)
        model.step(node_prices_override=override)
        assert _same(model.nodes.ask, ask)
        assert _same(model.nodes.profit_credits, profit)
        assert _same(model.nodes.market_price, price)


def test_reset_lets_the_previous_model_go():
    """Mesa 3.3 keeps every model in ``Agent._ids``; the core releases each one it drops."""
    core = MarketCore("smart_city", {"episode_rounds": 2}, overrides=TINY_OVERRIDES)
    core.reset(seed=1)
    core.step()
    old = weakref.ref(core.model)
    known = len(mesa.Agent._ids)
    for _ in range(3):
        core.reset()
        core.step()
    gc.collect()
    assert old() is None
    assert len(mesa.Agent._ids) == known
    assert len(core.model.agents) == core.model.nodes.uid.size + core.model.devices.uid.size + 1


def test_initial_strategy_groups_are_the_agents_groupby():
    """The model starts with the groups AgentSet.groupby finds on its agents."""
    core = MarketCore("smart_city", {"episode_rounds": 2, "worlds": 2}, overrides=TINY_OVERRIDES)
    core.reset(seed=3)
    model = core.model
    built = {t: list(model._groups[t]) for t in model._groups}
    model._groups.clear()  # recomputed from the agents themselves
    for kind, groups in built.items():
        walked = model._strategy_groups(kind)
        assert [s for s, _ in groups] == [s for s, _ in walked]
        assert all(_same(a, b) for (_, a), (_, b) in zip(groups, walked, strict=True))
