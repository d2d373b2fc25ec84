"""RLlib callbacks: per-episode market metrics (welfare, profit, SLA) into the results.

At the end of each episode the env's :class:`~agents.learning.core.MarketCore` holds the
episode's totals; they are logged under ``env_runners/<metric>`` (mean over the smoothing
window): ``welfare`` (credits, at true marginal costs), ``node_profit`` (credits, learning
nodes), ``sla_penalty``, ``mean_multiplier`` (ask / marginal cost) and ``sla_rate``.
"""

from __future__ import annotations

from typing import Any

from ray.rllib.callbacks.callbacks import RLlibCallback


def _core_of(env: Any, index: int = 0) -> Any:
    """The MarketCore behind an RLlib-wrapped (vectorized) env (None if not found)."""
    envs = getattr(env, "envs", None)
    if envs:
        env = envs[min(index, len(envs) - 1)]
    seen = 0
    while env is not None and seen < 10:
        core = getattr(env, "core", None)
        if core is not None:
            return core
        nxt = getattr(env, "unwrapped", None)
        if nxt is env:
            nxt = getattr(env, "env", None)
        env, seen = nxt, seen + 1
    return None


class EdgeMarketCallbacks(RLlibCallback):
    """Logs each finished episode's market totals."""

    def on_episode_end(self, *, episode: Any, env_runner: Any = None, metrics_logger: Any = None,
                       env: Any = None, env_index: int = 0, **kwargs: Any) -> None:
        if metrics_logger is None:
            return
        core = _core_of(env, env_index)
        stats = getattr(core, "last_episode", None) if core is not None else None
        if stats is None:
            return
        for key, value in stats.as_metrics().items():
            metrics_logger.log_value(key, value, reduce="mean")
