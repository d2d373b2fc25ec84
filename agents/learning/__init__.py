"""Learning layer of edgemarket: RL envs over the Mesa model, PPO training, evaluation.

Modules (import what you need; nothing here imports Ray or torch eagerly):

- :mod:`agents.learning.config`: the scenario's ``learning:`` section (who learns, action
  ranges, rewards, episode length);
- :mod:`agents.learning.core`: :class:`MarketCore`, one model driven by array actions;
- :mod:`agents.learning.observations`: the local observation builders and the model's
  per-device feedback (shared by envs and the ``rllib`` strategies);
- :mod:`agents.learning.spaces`: agent ids, spaces and env_config;
- :mod:`agents.learning.rllib_env`: the RLlib ``MultiAgentEnv``;
- :mod:`agents.learning.pettingzoo_env`: the PettingZoo ``ParallelEnv``;
- :mod:`agents.learning.training`: PPO on RLlib's new API stack, checkpoints, curves;
- :mod:`agents.learning.policy_strategy`: the ``rllib`` strategies of nodes, brokers and
  devices (inference without Ray);
- :mod:`agents.learning.evaluation`: learned vs rule-based pricing vs the equilibrium;
- :mod:`agents.learning.ray_session`: starting/stopping Ray with scratch under ``data/``.
"""
