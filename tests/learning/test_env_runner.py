"""agents.learning.env_runner.CountingEnvRunner: the per-agent step counters it logs once per
sample reach the same metrics as RLlib's MultiAgentEnvRunner logging them every step."""

from __future__ import annotations

from typing import Any

from learning_helpers import TINY_LEARNING, TINY_OVERRIDES


def _agent_metrics(runner: Any, steps: int) -> dict[str, Any]:
    from ray.rllib.utils.metrics import (
        NUM_AGENT_STEPS_SAMPLED,
        NUM_AGENT_STEPS_SAMPLED_LIFETIME,
        NUM_ENV_STEPS_SAMPLED,
        NUM_MODULE_STEPS_SAMPLED,
        NUM_MODULE_STEPS_SAMPLED_LIFETIME,
    )

    runner.sample(num_timesteps=steps, random_actions=True)
    runner.sample(num_timesteps=steps, random_actions=True)
    keys = (NUM_ENV_STEPS_SAMPLED, NUM_AGENT_STEPS_SAMPLED, NUM_AGENT_STEPS_SAMPLED_LIFETIME,
            NUM_MODULE_STEPS_SAMPLED, NUM_MODULE_STEPS_SAMPLED_LIFETIME)
    return {k: runner.metrics.peek(k) for k in keys}  # reduced values


def test_counting_runner_logs_the_agent_steps_rllib_logs(ray_local: Any) -> None:
    from ray.rllib.env.multi_agent_env_runner import MultiAgentEnvRunner

    from agents.learning.env_runner import CountingEnvRunner
    from agents.learning.training import TrainSpec, build_config

    spec = TrainSpec(overrides=TINY_OVERRIDES, learning={**TINY_LEARNING, "worlds": 2,
                                                          "devices": 2},
                     train_batch_size=20, minibatch_size=10, num_epochs=1, record=False)
    config, *_ = build_config(spec)
    assert config.env_runner_cls is CountingEnvRunner
    ours = _agent_metrics(CountingEnvRunner(config=config), 7)
    theirs = _agent_metrics(MultiAgentEnvRunner(config=config), 7)
    assert ours == theirs
    agent_steps = ours["num_agent_steps_sampled"]
    assert len(agent_steps) >= 8 and set(agent_steps.values()) == {14}  # 2 x 7 steps each
