"""Benchmark: raw env steps/s of the RLlib MultiAgentEnv on the small default scenario.

Ours: :class:`agents.learning.rllib_env.EdgeMarketMultiAgentEnv` as a vectorized env:
``learning.worlds: K`` (default 128) independent copies of the small default scenario
(4 learning nodes and 40 devices each) stepped by one call, the model's numpy state tables
read directly, reporting-only work off (no per-round welfare LP, no snapshots), with fixed
random multipliers, resets included. One env step = one round of one copy, as vectorized
envs (gymnasium.vector, EnvPool) count them; ``single_world_steps_per_s`` is the same env
with one copy per call.
Baseline: the same model stepped *naively*: the scenario as written (welfare-optimum LP
every round, agent snapshots) and the observations and rewards rebuilt from the Mesa agents
every step (``EdgeNode.state()`` dicts per node, Python lists -> arrays), asks set through
a per-node Python loop.
Also reported: ``model_only_steps_per_s`` (bare ``model.step()`` of one world with the same
overrides as ours) and ``env_overhead_share``, the share of our time spent outside
``model.step`` (timed inside the same run, so other load on the machine does not skew it);
``resets_timed`` and ``reset_s_mean``: the resets inside our timed loop and the mean time
of one (the model and the seed's FL table built anew).
Target: >= 2,000 env steps/s (``target_met`` says whether it was).

    .venv/bin/python bench/bench_env.py [--quick] [--steps N] [--worlds K]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _common import parser, report  # noqa: E402

from agents.learning.rllib_env import EdgeMarketMultiAgentEnv  # noqa: E402
from agents.learning.spaces import ENV_FAST_OVERRIDES, env_config  # noqa: E402
from agents.scenario import SMALL_OVERRIDES, load_scenario  # noqa: E402

EPISODE = 25


#: Resets inside the last ``time_ours`` loop: count and seconds (detail, not the target).
RESETS = {"n": 0, "s": 0.0}


def time_ours(steps: int, seed: int, worlds: int = 1) -> tuple[float, int, float]:
    """Seconds for ``steps`` env calls of ``worlds`` copies each (resets included), the
    number of agents, and the seconds spent inside ``model.step`` (timed in the same run).
    The resets inside the timed loop are counted and timed in :data:`RESETS`."""
    from agents.learning.core import MarketCore
    from agents.model import EdgeMarketModel

    inside = [0.0]
    original = EdgeMarketModel._wrapped_step
    original_reset = MarketCore.reset

    def timed(self: Any, *a: Any, **kw: Any) -> Any:
        t = time.perf_counter()
        try:
            return original(self, *a, **kw)
        finally:
            inside[0] += time.perf_counter() - t

    def timed_reset(self: Any, *a: Any, **kw: Any) -> Any:
        t = time.perf_counter()
        try:
            return original_reset(self, *a, **kw)
        finally:
            RESETS["n"] += 1
            RESETS["s"] += time.perf_counter() - t

    EdgeMarketModel._wrapped_step = timed  # type: ignore[method-assign]
    MarketCore.reset = timed_reset  # type: ignore[method-assign]
    try:
        total, agents = _time_env(steps, seed, worlds)
    finally:
        EdgeMarketModel._wrapped_step = original  # type: ignore[method-assign]
        MarketCore.reset = original_reset  # type: ignore[method-assign]
    return total, agents, inside[0]


def _time_env(steps: int, seed: int, worlds: int) -> tuple[float, int]:
    env = EdgeMarketMultiAgentEnv(env_config("smart_city", small=True, seed=seed,
                                             learning={"episode_rounds": EPISODE,
                                                       "worlds": worlds}))
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    actions = [{a: rng.uniform(1.0, 3.0, 4).astype(np.float32) for a in env.possible_agents}
               for _ in range(64)]
    RESETS.update(n=0, s=0.0)
    t0 = time.perf_counter()
    for i in range(steps):
        _obs, _rew, _term, trunc, _ = env.step(actions[i % 64])
        if trunc["__all__"]:
            env.reset()
    return time.perf_counter() - t0, len(env.possible_agents)


def time_model_only(steps: int, seed: int) -> float:
    """Bare model.step() with the env's overrides (the floor under any env)."""
    from agents.model import EdgeMarketModel

    sc = load_scenario("smart_city", {**SMALL_OVERRIDES, **ENV_FAST_OVERRIDES})
    model = EdgeMarketModel(sc, seed=seed)
    t0 = time.perf_counter()
    for i in range(steps):
        if i and i % EPISODE == 0:
            model = EdgeMarketModel(sc, seed=seed + i)
        model.step()
    return time.perf_counter() - t0


def _naive_obs(model: Any) -> tuple[np.ndarray, np.ndarray]:
    """Observations and rewards rebuilt from the Mesa agents (dicts), one node at a time."""
    from agents.edge_node import EdgeNode

    obs, rew = [], []
    for agent in model.agents_by_type[EdgeNode]:
        st = agent.state()
        cap = [max(v, 1e-9) for v in st["capacity"].values()]
        row = [agent.utilization, *(a for a in st["ask"].values()), *cap,
               float(model.nodes.attached_devices[agent.index])]
        obs.append(row)
        rew.append(st["profit_credits"] / sum(cap))
    return np.array(obs, dtype=np.float32), np.array(rew)


def time_baseline(steps: int, seed: int) -> float:
    """Naive stepping: full scenario reporting, per-agent Python observations and asks."""
    from agents.edge_node import EdgeNode
    from agents.model import EdgeMarketModel

    sc = load_scenario("smart_city", SMALL_OVERRIDES)
    rng = np.random.default_rng(seed)
    model = EdgeMarketModel(sc, seed=seed)
    t0 = time.perf_counter()
    for i in range(steps):
        if i and i % EPISODE == 0:
            model = EdgeMarketModel(sc, seed=seed + i)
        override = np.full(model.nodes.ask.shape, np.nan)
        for agent in model.agents_by_type[EdgeNode]:
            cost = model.nodes.cost[agent.index]
            override[agent.index] = [c * m for c, m in zip(cost.tolist(), rng.uniform(1, 3, 4),
                                                           strict=True)]
        model.step(node_prices_override=override)
        _naive_obs(model)
    return time.perf_counter() - t0


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--steps", type=int, default=None,
                   help="single-world env steps timed (default 1000; quick 300)")
    p.add_argument("--worlds", type=int, default=128, help="copies of the world per env call")
    args = p.parse_args()
    steps = args.steps or (300 if args.quick else 1000)
    k = args.worlds
    calls = 2 * EPISODE if args.quick else 4 * EPISODE  # whole episodes: resets included
    time_ours(3, args.seed, k)  # warm-up (imports, caches)
    ours, agents, in_model = time_ours(calls, args.seed, k)
    resets = dict(RESETS)
    one, _, _ = time_ours(steps, args.seed, 1)
    model_only = time_model_only(steps, args.seed)
    base = time_baseline(steps, args.seed)
    total = calls * k
    rate = total / ours
    # The baseline stepped `steps` single worlds: its time for as many env steps as ours.
    base_same = base / steps * total
    report("env_steps_small_scenario", ours, base_same, ">= 2000 env steps/s", worlds=k,
           env_calls=calls, env_steps=total, agents_per_call=agents,
           env_steps_per_s=round(rate, 1), agent_steps_per_s=round(rate * agents / k, 1),
           single_world_steps_per_s=round(steps / one, 1),
           baseline_steps_per_s=round(steps / base, 1), baseline_steps=steps,
           model_only_steps_per_s=round(steps / model_only, 1),
           env_overhead_share=round((ours - in_model) / ours, 3),
           resets_timed=resets["n"],
           reset_s_mean=round(resets["s"] / resets["n"], 4) if resets["n"] else None,
           target_met=rate >= 2000)


if __name__ == "__main__":
    main()
