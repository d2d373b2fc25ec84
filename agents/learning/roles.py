"""What trained buyers and brokers gain: each learned role against a rule it could have
followed instead, in the game it was trained in.

The game is the training env (:class:`~agents.learning.rllib_env.EdgeMarketMultiAgentEnv`
with the training's env_config) on held-out seeds. Every learning agent acts with its
trained module (the Gaussian's mean, unsquashed onto its action Box as RLlib does in
training). One role at a time is switched to its baseline, everything else unchanged, and
the seeds, the workloads and the other roles' policies stay the same, so each comparison is
paired per seed:

- **device** (buyers): *truthful*: bid the full value (shade 0) and never switch to broker;
- **broker**: *ask at true cost* (multiplier 1 on every resource).

A role's figure is its env reward per agent and round: a device's utility (value of what it
got minus what it paid, per class value, minus SLA penalties owed as a provider), a broker's
margin over its true cost minus SLA penalties (per its capacity's cost), a node's profit
minus SLA penalties. ``gain`` is learned − baseline of the switched role, the mean over seeds
with a 95 % t interval. The other roles' rewards and the rounds' delivered welfare are
reported under both arms too, since one role's gain can be another's loss.

:func:`trained_vs_untrained` compares the trained policies with the same training's
untrained (initial) ones, role by role: a gain over a rule is only learned if training added
it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from agents.learning.connectors import unsquash_or_clip
from agents.learning.policy_strategy import MODULES_SUBDIR, infer_actions, load_module
from agents.learning.spaces import AgentSpaces, role_of, slot_of

ROLES = ("node", "device", "broker")
#: The baseline each role is compared with (decoded actions: device (shade, switch), broker
#: multipliers).
BASELINES: dict[str, tuple[str, np.ndarray]] = {
    "device": ("truthful: shade 0, never a broker", np.array([0.0, -1.0, 0.0, 0.0])),
    "broker": ("ask at true cost: multiplier 1", np.ones(4)),
}


class Actor(Protocol):
    """Whatever acts for the env's agents in an arm (the trained modules in a benchmark)."""

    def actions(self, obs: dict[str, np.ndarray], spaces: dict[str, Any]
                ) -> dict[str, np.ndarray]: ...


class TrainedAgents:
    """The trained modules of a training output, acting for the env's agents."""

    def __init__(self, checkpoint: str | Path, agent_modules: dict[str, str]) -> None:
        self.root = Path(checkpoint).resolve() / MODULES_SUBDIR
        self.agent_modules = agent_modules

    def module_of(self, agent_id: str) -> str:
        """The module the training mapped the agent (or its world-0 slot) to."""
        if agent_id in self.agent_modules:
            return self.agent_modules[agent_id]
        return self.agent_modules[slot_of(agent_id)]

    def actions(self, obs: dict[str, np.ndarray], spaces: dict[str, Any]) -> dict[str, np.ndarray]:
        """Each agent's action in its env action Box: the module's mean, unsquashed from
        [-1, 1] and clipped as RLlib's NormalizeAndClipActions does in training."""
        by_module: dict[str, list[str]] = defaultdict(list)
        for a in obs:
            by_module[self.module_of(a)].append(a)
        out: dict[str, np.ndarray] = {}
        for module, agents in by_module.items():
            mean = infer_actions(load_module(str(self.root / module)),
                                 np.stack([obs[a] for a in agents]).astype(np.float32))
            for a, row in zip(agents, mean, strict=True):
                out[a] = unsquash_or_clip(row.astype(np.float32), spaces[a].low, spaces[a].high)
        return out


def baseline_action(spaces: AgentSpaces, role: str) -> np.ndarray:
    """The role's baseline in its env action units (unified spaces: mapped onto [-1, 1])."""
    value = BASELINES[role][1]
    box = spaces.device_act if role == "device" else spaces.node_act
    k = box.shape[0]
    v = value[:k].astype(np.float64)
    if not spaces.unified:
        return v.astype(np.float32)
    lo, hi = box.low.astype(np.float64), box.high.astype(np.float64)
    x = np.zeros(4)
    x[:k] = np.clip(2.0 * (v - lo) / (hi - lo) - 1.0, -1.0, 1.0)
    return x.astype(np.float32)


@dataclass
class ArmResult:
    """One arm on one seed: reward per agent-round by role, delivered welfare per round."""

    seed: int
    arm: str
    reward: dict[str, float]
    agent_rounds: dict[str, int]
    welfare: float


def run_arm(env_config: dict[str, Any], agents: Actor, seed: int, arm: str,
            rounds: int | None = None) -> ArmResult:
    """One episode of the env on ``seed``: ``arm`` is ``learned`` or a role played by its
    baseline."""
    from agents.learning.rllib_env import EdgeMarketMultiAgentEnv

    env = EdgeMarketMultiAgentEnv({**env_config, "seed": seed})
    obs, _ = env.reset(seed=seed)
    n = rounds or env.core.cfg.episode_rounds
    base = baseline_action(env.spaces, arm) if arm in BASELINES else None
    total: dict[str, float] = dict.fromkeys(ROLES, 0.0)
    count: dict[str, int] = dict.fromkeys(ROLES, 0)
    welfare = 0.0
    for _ in range(n):
        acts = agents.actions(obs, env.action_spaces)
        if base is not None:
            acts.update({a: base for a in acts if role_of(a) == arm})
        obs, rewards, _, truncated, _ = env.step(acts)
        for a, r in rewards.items():
            total[role_of(a)] += float(r)
            count[role_of(a)] += 1
        welfare += float(env.last_round.delivered_welfare)
        if truncated["__all__"]:
            break
    return ArmResult(seed=seed, arm=arm, welfare=welfare / n, agent_rounds=count,
                     reward={r: total[r] / count[r] if count[r] else float("nan") for r in ROLES})


@dataclass
class RoleGain:
    """A learned role against its baseline over seeds (paired per seed)."""

    role: str
    baseline: str
    learned: float
    baseline_value: float
    gain: float
    ci_low: float
    ci_high: float
    others: dict[str, float] = field(default_factory=dict)
    welfare_change: float = 0.0


def role_gains(results: Sequence[ArmResult]) -> list[RoleGain]:
    """Per role with a baseline arm: learned − baseline, mean and 95 % CI over seeds; also
    the other roles' mean reward change and the delivered-welfare change it caused."""
    from agents.learning.benchmark import mean_ci

    learned = {r.seed: r for r in results if r.arm == "learned"}
    out = []
    for role, (label, _) in BASELINES.items():
        pairs = [(learned[r.seed], r) for r in results if r.arm == role and r.seed in learned]
        diffs = [lr.reward[role] - br.reward[role] for lr, br in pairs
                 if np.isfinite(lr.reward[role]) and np.isfinite(br.reward[role])]
        if not diffs:
            continue
        mean, lo, hi = mean_ci(diffs)
        others = {o: float(np.nanmean([lr.reward[o] - br.reward[o] for lr, br in pairs]))
                  for o in ROLES if o != role and any(lr.agent_rounds[o] for lr, _ in pairs)}
        out.append(RoleGain(
            role=role, baseline=label, gain=mean, ci_low=lo, ci_high=hi,
            learned=float(np.mean([lr.reward[role] for lr, _ in pairs])),
            baseline_value=float(np.mean([br.reward[role] for _, br in pairs])),
            others=others,
            welfare_change=float(np.mean([lr.welfare - br.welfare for lr, br in pairs]))))
    return out


def evaluate_roles(env_config: dict[str, Any], checkpoint: str | Path,
                   agent_modules: dict[str, str], seeds: Sequence[int],
                   rounds: int | None = None) -> tuple[list[ArmResult], list[RoleGain]]:
    """Every arm (learned, each role at its baseline) on every seed, and the role gains."""
    agents = TrainedAgents(checkpoint, agent_modules)
    present = {role_of(a) for a in agent_modules}
    arms = ["learned", *(r for r in BASELINES if r in present)]
    results = [run_arm(env_config, agents, s, arm, rounds) for s in seeds for arm in arms]
    return results, role_gains(results)


def trained_vs_untrained(trained: Sequence[ArmResult], untrained: Sequence[ArmResult]
                         ) -> dict[str, tuple[float, float, float]]:
    """Per role: the trained policies' reward minus the untrained ones' (both ``learned``
    arms, paired per seed), mean and 95 % CI: what training added over the initial policy."""
    from agents.learning.benchmark import mean_ci

    before = {r.seed: r for r in untrained if r.arm == "learned"}
    out = {}
    for role in ROLES:
        diffs = [r.reward[role] - before[r.seed].reward[role] for r in trained
                 if r.arm == "learned" and r.seed in before
                 and np.isfinite(r.reward[role]) and np.isfinite(before[r.seed].reward[role])]
        if diffs:
            out[role] = mean_ci(diffs)
    return out
