"""PPO on RLlib's new API stack over :class:`~agents.learning.rllib_env.EdgeMarketMultiAgentEnv`.

    result = train(TrainSpec(scenario="smart_city", small=True, iterations=20, out="data/policies/ppo"))

Configuration follows the project's toolchain notes: ``episodes_to_numpy=False`` (the
default's per-episode numpy conversion makes sampling cost grow with the batch),
``num_env_runners`` 0 or 1 (never more runners than CPUs), ``num_learners=0`` (the learner
runs in this process), local Ray with 2 CPUs by default (``address`` for a cluster), and all
scratch under ``data/``. Policies:

- ``shared``: one module ``shared`` for every learning agent (with unified spaces when
  more than one role learns);
- ``per-role``: ``node`` for the nodes, ``device`` for the devices, ``broker`` for the
  brokers;
- ``per-agent``: one module per node or device id (``node_0``, ...); broker slots share one
  ``broker`` module (a slot is a different device every episode).

The checkpoint (``algo.save_to_path``) is written to ``out``, with ``edgemarket_policy.json``
beside it describing the env (learning config, spaces, agent -> module mapping) so the
``rllib`` strategy can run the policy without Ray, and ``curve.json`` with the training
curve. The curve also goes to the run store (``RunStore.record_training``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agents.learning.config import PolicyMode
from agents.learning.policy_strategy import MODULES_SUBDIR, POLICY_META
from agents.learning.ray_session import DATA_DIR, RESULTS_DIR, configure_scratch, ray_session
from agents.learning.spaces import role_of

#: Metrics added per episode by the callbacks (``env_runners/<name>`` in results).
EPISODE_METRICS = ("welfare", "node_profit", "sla_penalty", "mean_multiplier", "sla_rate")


@dataclass
class TrainSpec:
    """What to train and how (defaults: small default scenario, quick PPO settings)."""

    scenario: str = "smart_city"
    overrides: dict[str, Any] = field(default_factory=dict)
    small: bool = True
    learning: dict[str, Any] = field(default_factory=dict)
    policy: PolicyMode = "shared"
    iterations: int = 10
    time_budget_s: float | None = None
    out: str | None = None
    seed: int = 0
    address: str | None = None
    num_cpus: int = 2
    num_env_runners: int = 0
    episodes_to_numpy: bool = False
    #: The project's sampling path: CountingEnvRunner (agents.learning.env_runner) and the
    #: batched connectors of agents.learning.connectors. False: RLlib's MultiAgentEnvRunner
    #: and default per-agent connector pieces (the baseline of bench/bench_training.py).
    fast_sampling: bool = True
    train_batch_size: int = 1000
    minibatch_size: int = 250
    num_epochs: int = 8
    lr: float = 5e-4
    gamma: float = 0.9
    lambda_: float = 0.95
    entropy_coeff: float = 0.0
    hidden: tuple[int, ...] = (64, 64)
    session: str | None = None
    db_url: str | None = None
    record: bool = True


@dataclass
class IterationPoint:
    """One training iteration: mean episode return per module, env steps, wall time."""

    iteration: int
    rewards: dict[str, float | None]
    env_steps: int
    time_s: float
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass
class TrainResult:
    """A finished training: checkpoint, curve, session name."""

    session: str
    scenario: str
    checkpoint: str
    modules: list[str]
    curve: list[IterationPoint]
    wall_s: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-able result."""
        return asdict(self)


class PolicyMapper:
    """``policy_mapping_fn`` of a policy mode (picklable for remote env runners)."""

    def __init__(self, mode: PolicyMode, unified: bool) -> None:
        self.mode = mode
        self.unified = unified

    def module_for(self, agent_id: str) -> str:
        """The module (policy) id acting for ``agent_id``."""
        role = role_of(str(agent_id))
        if self.mode == "per-agent" and role != "broker":
            return str(agent_id).split("@", 1)[0]  # one module per slot, shared by every world
        if self.mode in ("per-role", "per-agent"):
            return role
        return "shared" if (role == "node" or self.unified) else f"shared_{role}"

    def __call__(self, agent_id: Any, episode: Any = None, **kwargs: Any) -> str:
        return self.module_for(str(agent_id))


def _session_name(spec: TrainSpec, scenario: str) -> str:
    return spec.session or f"ppo-{scenario}-{time.strftime('%Y%m%d-%H%M%S')}"


def build_config(spec: TrainSpec) -> tuple[Any, dict[str, Any], PolicyMapper, list[str]]:
    """The PPOConfig, env_config, mapper and module ids for ``spec`` (no Ray needed)."""
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    from agents.learning.callbacks import EdgeMarketCallbacks
    from agents.learning.env_runner import CountingEnvRunner
    from agents.learning.rllib_env import EdgeMarketMultiAgentEnv
    from agents.learning.spaces import AgentSpaces, core_from_config, env_config

    learning = {**spec.learning, "policy": spec.policy}
    cfg = env_config(spec.scenario, overrides=spec.overrides, small=spec.small, learning=learning,
                     seed=spec.seed)
    core = core_from_config(cfg)
    spaces = AgentSpaces(core)
    cfg["unified"] = spaces.unified
    mapper = PolicyMapper(spec.policy, spaces.unified)
    modules = sorted({mapper.module_for(a) for a in spaces.agent_ids})
    config = (
        PPOConfig()
        .environment(EdgeMarketMultiAgentEnv, env_config=cfg, disable_env_checking=True)
        .framework("torch")
        .env_runners(num_env_runners=spec.num_env_runners, num_envs_per_env_runner=1,
                     episodes_to_numpy=spec.episodes_to_numpy, rollout_fragment_length="auto",
                     num_cpus_per_env_runner=1,
                     env_runner_cls=CountingEnvRunner if spec.fast_sampling else None,
                     **_connector_options(spec, modules, mapper))
        .learners(num_learners=0)
        .training(train_batch_size_per_learner=spec.train_batch_size,
                  minibatch_size=spec.minibatch_size, num_epochs=spec.num_epochs, lr=spec.lr,
                  gamma=spec.gamma, lambda_=spec.lambda_, entropy_coeff=spec.entropy_coeff,
                  vf_loss_coeff=0.5, clip_param=0.2)
        .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=list(spec.hidden),
                                                   fcnet_activation="tanh"))
        .multi_agent(policies=set(modules), policy_mapping_fn=mapper)
        .callbacks(EdgeMarketCallbacks)
        .reporting(metrics_num_episodes_for_smoothing=20)
        .debugging(seed=spec.seed, log_level="ERROR")
    )
    return config, cfg, mapper, modules


def _connector_options(spec: TrainSpec, modules: list[str], mapper: PolicyMapper
                       ) -> dict[str, Any]:
    """``env_runners`` options that swap RLlib's per-agent connector pieces for the batched
    ones of :mod:`agents.learning.connectors` (none with ``fast_sampling=False``)."""
    if not spec.fast_sampling:
        return {}
    from agents.learning.connectors import env_to_module_pieces, module_to_env_pieces

    return {"add_default_connectors_to_env_to_module_pipeline": False,
            "env_to_module_connector": env_to_module_pieces(modules, mapper),
            "add_default_connectors_to_module_to_env_pipeline": False,
            "module_to_env_connector": module_to_env_pieces()}


def redirect_results_dir() -> None:
    """Make RLlib's per-algorithm log folder land under data/ray_results, not ~/ray_results."""
    configure_scratch()
    import ray.tune.trainable.trainable as trainable

    trainable.DEFAULT_STORAGE_PATH = str(RESULTS_DIR)


def iteration_point(result: dict[str, Any], modules: list[str], t0: float) -> IterationPoint:
    """The curve point of one ``algo.train()`` result."""
    er = result.get("env_runners", {}) or {}
    per_module = er.get("module_episode_returns_mean", {}) or {}
    rewards: dict[str, float | None] = {}
    for m in modules:
        v = per_module.get(m)
        rewards[m] = None if v is None else float(v)
    steps = result.get("num_env_steps_sampled_lifetime", er.get("num_env_steps_sampled_lifetime", 0))
    metrics = {k: float(er[k]) for k in EPISODE_METRICS if isinstance(er.get(k), int | float)}
    ret = er.get("episode_return_mean")
    if isinstance(ret, int | float):
        metrics["episode_return_mean"] = float(ret)
    return IterationPoint(iteration=int(result.get("training_iteration", 0)), rewards=rewards,
                          env_steps=int(steps or 0), time_s=round(time.perf_counter() - t0, 3),
                          metrics=metrics)


OnIteration = Callable[[IterationPoint, int], None]


def train(spec: TrainSpec, on_iteration: OnIteration | None = None) -> TrainResult:
    """Train PPO for ``spec.iterations`` iterations, save it. With ``time_budget_s``, stop
    before an iteration that would end past the budget (time counted from Ray's start)."""
    redirect_results_dir()
    config, cfg, mapper, modules = build_config(spec)
    scenario_name = str(cfg["scenario_json"].get("name", spec.scenario))
    session = _session_name(spec, scenario_name)
    out = Path(spec.out or DATA_DIR / "policies" / session).resolve()
    out.mkdir(parents=True, exist_ok=True)
    curve: list[IterationPoint] = []
    t0 = time.perf_counter()
    with ray_session(address=spec.address, num_cpus=spec.num_cpus):
        algo = config.build_algo()
        try:
            for _ in range(spec.iterations):
                result = algo.train()
                point = iteration_point(result, modules, t0)
                curve.append(point)
                if on_iteration:
                    on_iteration(point, spec.iterations)
                if spec.time_budget_s is not None and _out_of_time(curve, t0, spec.time_budget_s):
                    break
            algo.save_to_path(str(out))
        finally:
            algo.stop()
    wall = time.perf_counter() - t0
    meta = policy_meta(cfg, mapper, modules)
    meta.update({"session": session, "scenario": scenario_name, "policy": spec.policy,
                 "iterations": len(curve), "env_steps": curve[-1].env_steps if curve else 0,
                 "wall_s": round(wall, 3), "seed": spec.seed})
    (out / POLICY_META).write_text(json.dumps(meta, indent=2))
    (out / "curve.json").write_text(json.dumps([asdict(p) for p in curve], indent=2))
    res = TrainResult(session=session, scenario=scenario_name, checkpoint=str(out), modules=modules,
                      curve=curve, wall_s=wall)
    if spec.record:
        record_curve(res, spec.db_url)
    return res


def _out_of_time(curve: list[IterationPoint], t0: float, budget_s: float) -> bool:
    """Whether another iteration (as long as the last one) would end past the budget."""
    elapsed = time.perf_counter() - t0
    last = curve[-1].time_s - (curve[-2].time_s if len(curve) > 1 else 0.0) if curve else 0.0
    return elapsed + last > budget_s


def policy_meta(cfg: dict[str, Any], mapper: PolicyMapper, modules: list[str]) -> dict[str, Any]:
    """What the ``rllib`` strategy needs to run the policies: the resolved learning config
    (action ranges, history), spaces, and the agent -> module map."""
    from agents.learning.spaces import AgentSpaces, core_from_config

    core = core_from_config(cfg)
    spaces = AgentSpaces(core, cfg.get("unified"))
    d = core.describe()
    return {
        "format": 1, "unified": spaces.unified, "roles": list(spaces.roles),
        "learning": d["learning"],
        "agent_modules": {a: mapper.module_for(a) for a in spaces.agent_ids},
        "modules": modules, "modules_dir": str(MODULES_SUBDIR),
        **{k: d[k] for k in ("node_obs_dim", "device_obs_dim", "node_rows", "device_rows",
                             "broker_slots")},
    }


def record_curve(res: TrainResult, db_url: str | None = None) -> None:
    """Store the curve: (iteration, module, reward_mean, env_steps, time_s) rows."""
    from ledger.store import RunStore

    rows = [(p.iteration, m, r, p.env_steps, p.time_s) for p in res.curve
            for m, r in p.rewards.items()]
    store = RunStore(db_url)
    store.record_training(res.session, res.scenario, rows)
    store.engine.dispose()
