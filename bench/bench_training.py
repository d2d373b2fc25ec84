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

Sampling: the three take turns (``--reps`` turns of 25 env steps each: ours, baseline, env
alone), so that the machine's speed, which drifts by tens of percent on a shared 2-core host,
reaches them alike; the best turn of each is reported (and the median). ratio = baseline's
best / ours. Whole iterations: after one warm-up iteration, ``--iters`` iterations of
``--batch`` env steps each, timed for both. ``--worlds K`` samples from the vectorized env
(``learning.worlds: K``); ``world_steps_per_s`` counts rounds of single worlds, the unit of
the issue's ">= 2,000 env steps/s under PPO".

    .venv/bin/python bench/bench_training.py [--quick] [--batch N] [--iters N] [--worlds K] [--reps R]
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _common import parser, report  # noqa: E402

from agents.learning.ray_session import ray_session  # noqa: E402
from agents.learning.training import TrainSpec, build_config, redirect_results_dir  # noqa: E402


def build(fast: bool, batch: int, seed: int, worlds: int) -> Any:
    """PPO as training builds it (``fast``) or with RLlib's sampling defaults."""
    spec = TrainSpec(seed=seed, train_batch_size=batch, minibatch_size=min(250, batch),
                     num_epochs=4, episodes_to_numpy=not fast, fast_sampling=fast,
                     record=False, learning={"worlds": worlds})
    config, *_ = build_config(spec)
    return config.build_algo()


def iterations(algo: Any, iters: int) -> dict[str, Any]:
    """One warm-up ``train()``, then ``iters`` timed ones (and the sampling within them)."""
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
    try:
        r = algo.train()
        steps0 = int(r["num_env_steps_sampled_lifetime"])
        sampled[0] = 0.0
        t0 = time.perf_counter()
        for _ in range(iters):
            r = algo.train()
        wall = time.perf_counter() - t0
    finally:
        runner.sample = original
    steps = int(r["num_env_steps_sampled_lifetime"]) - steps0
    return {"wall_s": wall, "steps": steps, "sample_s": sampled[0]}


def env_alone(seed: int, worlds: int) -> Callable[[int], None]:
    """``step(n)``: n more steps of the same env on its own (resets included, one untimed
    episode first); the actions are one fixed dict of in-range multipliers."""
    import numpy as np

    from agents.learning.rllib_env import EdgeMarketMultiAgentEnv
    from agents.learning.spaces import env_config

    env = EdgeMarketMultiAgentEnv(env_config("smart_city", small=True, seed=seed,
                                             learning={"worlds": worlds}))
    rng = np.random.default_rng(seed)
    actions = {a: rng.uniform(1.0, 3.0, 4).astype(np.float32) for a in env.possible_agents}
    env.reset()

    def step(n: int) -> None:
        for _ in range(n):
            *_, truncated, _ = env.step({a: actions[a] for a in env.agents})
            if truncated["__all__"]:
                env.reset()

    step(env.core.cfg.episode_rounds)
    return step


def interleaved(samplers: dict[str, Callable[[int], Any]], steps: int, reps: int
                ) -> dict[str, list[float]]:
    """Seconds of ``steps`` env steps of each sampler, taking turns ``reps`` times, so that
    a change in the machine's speed during the run reaches all of them alike."""
    times: dict[str, list[float]] = {k: [] for k in samplers}
    for _ in range(reps):
        for name, fn in samplers.items():
            t = time.perf_counter()
            fn(steps)
            times[name].append(time.perf_counter() - t)
    return times


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--batch", type=int, default=None, help="env steps per iteration")
    p.add_argument("--iters", type=int, default=None, help="timed iterations")
    p.add_argument("--worlds", type=int, default=1, help="copies of the world per env step")
    p.add_argument("--reps", type=int, default=None, help="turns of the interleaved sampling")
    args = p.parse_args()
    batch = args.batch or (300 if args.quick else 2000)
    iters = args.iters or (1 if args.quick else 2)
    reps = args.reps or (5 if args.quick else 10)
    k = args.worlds
    chunk = 25  # env steps per turn: one episode of the default learning config
    redirect_results_dir()
    with ray_session(num_cpus=2):
        ours, base = build(True, batch, args.seed, k), build(False, batch, args.seed, k)
        try:
            ours_it, base_it = iterations(ours, iters), iterations(base, iters)

            def sampler(algo: Any) -> Callable[[int], Any]:
                runner = algo.env_runner_group.local_env_runner
                return lambda n: runner.sample(num_timesteps=n)

            times = interleaved({"ours": sampler(ours), "baseline": sampler(base),
                                 "env": env_alone(args.seed, k)}, chunk, reps)
        finally:
            ours.stop()
            base.stop()

    def rate(seconds: float) -> float:
        return round(chunk * k / seconds, 1)

    best = {n: min(t) for n, t in times.items()}
    median = {n: statistics.median(t) for n, t in times.items()}
    report("ppo_sampled_env_steps", best["ours"], best["baseline"],
           "world_steps_per_s >= 2000 sampled under PPO (issue 14); ratio > 1",
           worlds=k, turns=reps, steps_per_turn=chunk, batch=batch, iters=iters,
           world_steps_per_s=rate(best["ours"]),
           median_world_steps_per_s=rate(median["ours"]),
           baseline_world_steps_per_s=rate(best["baseline"]),
           median_baseline_world_steps_per_s=rate(median["baseline"]),
           env_alone_world_steps_per_s=rate(best["env"]),
           median_env_alone_world_steps_per_s=rate(median["env"]),
           sampling_share_of_env_alone=round(best["env"] / best["ours"], 3),
           iteration_world_steps_per_s=round(ours_it["steps"] * k / ours_it["wall_s"], 1),
           baseline_iteration_world_steps_per_s=round(
               base_it["steps"] * k / base_it["wall_s"], 1),
           iteration_sample_world_steps_per_s=round(
               ours_it["steps"] * k / ours_it["sample_s"], 1))


if __name__ == "__main__":
    main()
