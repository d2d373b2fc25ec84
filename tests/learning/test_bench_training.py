"""bench/bench_training.py runs as a user runs it and prints its JSON line: our sampling path,
RLlib's defaults and the env alone, timed in turns (the figures themselves are measured in
docs/learning.md, not asserted here)."""

from __future__ import annotations

import json

from tests.bench_run import run_bench


def test_bench_training_prints_the_three_rates() -> None:
    # The smallest run that exercises every part: one world, one short iteration, one turn.
    proc = run_bench("bench_training.py", "--quick", "--worlds", "1", "--batch", "10",
                     "--iters", "1", "--reps", "1", timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = json.loads(proc.stdout.strip().splitlines()[-1])
    assert line["name"] == "ppo_sampled_env_steps" and line["worlds"] == 1 and line["turns"] == 1
    for key in ("world_steps_per_s", "baseline_world_steps_per_s",
                "env_alone_world_steps_per_s", "iteration_world_steps_per_s"):
        assert line[key] > 0, key
    assert line["ratio"] == round(line["baseline_s"] / line["ours_s"], 2)
