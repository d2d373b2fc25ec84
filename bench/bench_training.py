"""Benchmark: PPO training throughput (sampled env steps/s) with episodes_to_numpy=False vs
RLlib's default (True), on the small default scenario, local Ray with 2 CPUs.

Both build the same PPOConfig (:func:`agents.learning.training.build_config`: new API stack,
``num_env_runners=0``, ``num_learners=0``) and differ only in ``episodes_to_numpy``. After one
warm-up iteration, ``--iters`` iterations of ``--batch`` env steps are timed; reported are
the sampled env steps per second of wall time (sampling + learning) and of the sampling
phase alone (the env runner's ``sample()`` calls, timed around them). ratio = default time / ours (> 1: ours
is faster). The default converts every finished episode chunk to numpy as it is sampled,
which costs more as batches grow; ours leaves episodes as lists until the learner batches
them.

``--worlds K`` samples from the vectorized env (``learning.worlds: K``, K copies of the world
per env step) in both runs; ``world_steps_per_s`` then counts rounds of single worlds.

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


def measure(episodes_to_numpy: bool, batch: int, iters: int, seed: int,
            worlds: int = 1) -> dict[str, Any]:
    """Build PPO, warm up one iteration, time ``iters`` iterations (and their sampling)."""
    spec = TrainSpec(seed=seed, train_batch_size=batch, minibatch_size=min(250, batch),
                     num_epochs=4, episodes_to_numpy=episodes_to_numpy, record=False,
                     learning={"worlds": worlds})
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
        ours = measure(False, batch, iters, args.seed, args.worlds)
        base = measure(True, batch, iters, args.seed, args.worlds)
    rate = ours["steps"] / ours["wall_s"]
    base_rate = base["steps"] / base["wall_s"]
    report("ppo_sampled_env_steps", ours["wall_s"], base["wall_s"],
           "ratio >= 1 (episodes_to_numpy=False not slower)", batch=batch, iters=iters,
           env_steps=ours["steps"], env_steps_per_s=round(rate, 1), worlds=args.worlds,
           world_steps_per_s=round(rate * args.worlds, 1),
           baseline_env_steps_per_s=round(base_rate, 1),
           sample_s=round(ours["sample_s"], 3), baseline_sample_s=round(base["sample_s"], 3),
           sample_steps_per_s=round(ours["steps"] / ours["sample_s"], 1) if ours["sample_s"] else None,
           baseline_sample_steps_per_s=(round(base["steps"] / base["sample_s"], 1)
                                        if base["sample_s"] else None))


if __name__ == "__main__":
    main()
