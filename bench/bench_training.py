"""Benchmark: PPO sampling throughput with the project's sampling path against RLlib's
defaults, and against the env stepped alone, on the small default scenario, local Ray with
2 CPUs.

- **ours**: :func:`agents.learning.training.build_config` as training uses it:
  ``CountingEnvRunner`` (per-agent step counters logged once per sample, no deep copy of
  each step's observations), the batched connectors of :mod:`agents.learning.connectors`,
  ``episodes_to_numpy=False``;
- **baseline**: the same PPO with RLlib's defaults: ``MultiAgentEnvRunner``, the default
  per-agent connector pieces, ``episodes_to_numpy=True``;
- **env alone**: the same env's ``step`` (and resets) for as many steps, no Ray, one fixed
  action dict: the ceiling sampling can reach.

After one warm-up iteration, ``--iters`` iterations of ``--batch`` env steps are timed, and
the sampling phase (the env runner's ``sample()`` calls) is timed within them. ratio =
baseline sampling time / ours. ``--worlds K`` samples from the vectorized env
(``learning.worlds: K``); ``world_steps_per_s`` counts rounds of single worlds, the unit of
the issue's ">= 2,000 env steps/s under PPO".

    .venv/bin/python bench/bench_training.py [--quick] [--batch N] [--iters N] [--worlds K]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _common import parser, report  # noqa: E402

from agents.learning.ray_session import ray_session  # noqa: E402
from agents.learning.training import TrainSpec, build_config, redirect_results_dir  # noqa: E402


def measure(fast: bool, batch: int, iters: int, seed: int, worlds: int = 1) -> dict[str, Any]:
    """Build PPO, warm up one iteration, time ``iters`` iterations (and their sampling)."""
    spec = TrainSpec(seed=seed, train_batch_size=batch, minibatch_size=min(250, batch),
                     num_epochs=4, episodes_to_numpy=not fast, fast_sampling=fast,
                     record=False, learning={"worlds": worlds})
    config, *_ = build_config(spec)
    algo = config.build_algo()
    try:
        runner = algo.env_runner_group.local_env_runner
        sampled = [0.0]
        original = runner.sample

        def timed_sample(*a: Any, **kw: Any) -> Any:
            t = time.perf_counter()
            try:
                return original(*a, **kw)
            finally:
                sampled[0] += time.perf_counter() - t

        runner.sample = timed_sample
        r = algo.train()
        steps0 = int(r["num_env_steps_sampled_lifetime"])
        sampled[0] = 0.0
        t0 = time.perf_counter()
        for _ in range(iters):
            r = algo.train()
        wall = time.perf_counter() - t0
        steps = int(r["num_env_steps_sampled_lifetime"]) - steps0
    finally:
        algo.stop()
    return {"wall_s": wall, "steps": steps, "sample_s": sampled[0]}


def env_alone(steps: int, seed: int, worlds: int) -> float:
    """Seconds for ``steps`` steps of the same env on its own (resets included), after one
    untimed episode; the actions are one fixed dict of in-range multipliers."""
    import numpy as np

    from agents.learning.rllib_env import EdgeMarketMultiAgentEnv
    from agents.learning.spaces import env_config

    env = EdgeMarketMultiAgentEnv(env_config("smart_city", small=True, seed=seed,
                                             learning={"worlds": worlds}))
    rng = np.random.default_rng(seed)
    actions = {a: rng.uniform(1.0, 3.0, 4).astype(np.float32) for a in env.possible_agents}

    def run(n: int) -> None:
        env.reset()
        for _ in range(n):
            *_, truncated, _ = env.step({a: actions[a] for a in env.agents})
            if truncated["__all__"]:
                env.reset()

    run(env.core.cfg.episode_rounds)
    t = time.perf_counter()
    run(steps)
    return time.perf_counter() - t


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--batch", type=int, default=None, help="env steps per iteration")
    p.add_argument("--iters", type=int, default=None, help="timed iterations")
    p.add_argument("--worlds", type=int, default=1, help="copies of the world per env step")
    args = p.parse_args()
    batch = args.batch or (300 if args.quick else 2000)
    iters = args.iters or (1 if args.quick else 2)
    redirect_results_dir()
    with ray_session(num_cpus=2):
        ours = measure(True, batch, iters, args.seed, args.worlds)
        base = measure(False, batch, iters, args.seed, args.worlds)
    alone_s = env_alone(ours["steps"], args.seed, args.worlds)
    k = args.worlds

    def per_s(steps: int, seconds: float) -> float:
        return round(steps / seconds, 1) if seconds > 0 else 0.0

    sampled = per_s(ours["steps"], ours["sample_s"])
    report("ppo_sampled_env_steps", ours["sample_s"], base["sample_s"],
           "world_steps_per_s >= 2000 sampled under PPO (issue 14); ratio > 1",
           batch=batch, iters=iters, worlds=k, env_steps=ours["steps"],
           sample_s=round(ours["sample_s"], 3), baseline_sample_s=round(base["sample_s"], 3),
           world_steps_per_s=round(sampled * k, 1),
           baseline_world_steps_per_s=round(per_s(base["steps"], base["sample_s"]) * k, 1),
           env_alone_world_steps_per_s=round(per_s(ours["steps"], alone_s) * k, 1),
           sampling_share_of_env_alone=round(alone_s / ours["sample_s"], 3)
           if ours["sample_s"] else None,
           iteration_world_steps_per_s=round(per_s(ours["steps"], ours["wall_s"]) * k, 1),
           baseline_iteration_world_steps_per_s=round(
               per_s(base["steps"], base["wall_s"]) * k, 1))


if __name__ == "__main__":
    main()
