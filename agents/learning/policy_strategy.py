"""The ``rllib`` strategies: trained policies used in ordinary runs, without Ray.

A scenario names a training output as the strategy of nodes, brokers or devices::

    nodes:
      strategy: {name: rllib, params: {checkpoint: data/policies/ppo-smart_city}}
    devices:
      strategy: {name: rllib, params: {checkpoint: data/policies/ppo-smart_city}}
      broker_strategy: {name: rllib, params: {checkpoint: data/policies/ppo-smart_city}}

and ``edgemarket run`` prices and bids with them. Each role uses the modules the training
mapped that role's agents to (``node_*``, ``device_*``, ``broker_*`` in the checkpoint's
``agent_modules``). The node strategy is described below; the broker strategy is the same
class told its role by :mod:`agents.brokers` (``for_role("broker")``): it sees each
broker's NodeObservation (``BrokerPricing.observation``) through the same NodeFeatures, and
asks ``true cost × multiplier``. The device strategy (:class:`RLlibBidding`) sees each
device's :class:`~agents.strategies.DeviceObservation` through
:func:`~agents.learning.observations.device_features`, bids ``value × (1 − shade)`` and,
with ``broker_switch`` (default), sets the device's broker switch at the start of the
round as the env did (``sells``).

Node strategy: The policy's RLModule is loaded with
``RLModule.from_checkpoint(<checkpoint>/learner_group/learner/rl_module/<module>)`` (torch
only, no Ray session) and queried with ``forward_inference``; the mean of its Gaussian
action (``deterministic=True``, the default) or a sample is unsquashed from ``[-1, 1]`` onto
the price-multiplier Box ``[min_multiplier, max_multiplier]`` of the training, and
``ask = marginal cost × multiplier``. Observations are built by the same
:class:`~agents.learning.observations.NodeFeatures` as in training, from the
NodeObservation the model hands every node strategy (history kept between rounds).

Module choice: the ``module`` parameter, else the one the training mapped nodes to; with
per-agent policies, row i of the strategy's node group uses node_i's module (the group is
assumed to be all nodes in order; rows beyond the trained nodes reuse node 0's module).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from agents.learning.observations import (
    NodeFeatures,
    device_features,
    encode_unified,
    unsquash,
)
from agents.strategies import (
    DeviceObservation,
    DeviceStrategy,
    NodeObservation,
    NodeStrategy,
    register_strategy,
)

#: File written next to a checkpoint describing how to run its policies.
POLICY_META = "edgemarket_policy.json"
#: Relative path from a checkpoint to its RLModules.
MODULES_SUBDIR = Path("learner_group") / "learner" / "rl_module"

FloatArray = NDArray[np.float64]


def read_policy_meta(checkpoint: str | Path) -> dict[str, Any]:
    """The ``edgemarket_policy.json`` of a training output; ValueError if missing/invalid."""
    path = Path(checkpoint).expanduser()
    meta_file = path / POLICY_META
    if not meta_file.is_file():
        raise ValueError(f"checkpoint {checkpoint}: no {POLICY_META} (not an `edgemarket train` output)")
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"checkpoint {checkpoint}: unreadable {POLICY_META}: {exc}") from None
    if not isinstance(meta, dict) or "modules" not in meta:
        raise ValueError(f"checkpoint {checkpoint}: {POLICY_META} lacks 'modules'")
    return meta


@cache
def load_module(module_dir: str) -> Any:
    """An RLModule from its checkpoint folder (cached per absolute path)."""
    import logging

    from ray.rllib.core.rl_module.rl_module import RLModule

    # RLlib logs a deprecation notice about its own checkpoint format on every load.
    logs = [logging.getLogger(n) for n in ("ray.rllib", "ray._common.deprecation")]
    levels = [log.level for log in logs]
    for log in logs:
        log.setLevel(logging.ERROR)
    try:
        module = RLModule.from_checkpoint(module_dir)
    finally:
        for log, level in zip(logs, levels, strict=True):
            log.setLevel(level)
    module.eval()
    return module


def infer_actions(module: Any, obs: NDArray[np.float32], deterministic: bool = True,
                  seed: int | None = None) -> FloatArray:
    """(n, act_dim) actions in the module's normalized [-1, 1] space."""
    import torch

    with torch.no_grad():
        out = module.forward_inference({"obs": torch.from_numpy(np.ascontiguousarray(obs))})
        logits = out["action_dist_inputs"]
        dist = module.get_inference_action_dist_cls().from_logits(logits)
        if deterministic:
            act = dist.to_deterministic().sample()
        else:
            if seed is not None:
                torch.manual_seed(seed)
            act = dist.sample()
    return act.numpy().astype(np.float64)


class PolicyRunner:
    """The modules of one role of a checkpoint, and how to query them (no Ray)."""

    def __init__(self, checkpoint: str, role: str, module: str | None) -> None:
        meta = read_policy_meta(checkpoint)
        self.meta = meta
        self.learning = meta.get("learning", {})
        self.role = role
        self.unified = bool(meta.get("unified", False))
        self.roles = tuple(meta.get("roles", ("node", "device")))
        mods = meta.get("agent_modules", {})
        mine = [m for a, m in sorted(mods.items(), key=lambda kv: _agent_row(kv[0]))
                if a.startswith(role + "_") and "@" not in a]
        if module is not None:
            self.modules = [module]
        elif mine:
            self.modules = mine
        else:
            require_role(checkpoint, role)  # raises, unless an old node-only checkpoint
            self.modules = [meta["modules"][0]]
        root = Path(checkpoint).expanduser().resolve() / meta.get("modules_dir", str(MODULES_SUBDIR))
        self.loaded = {m: load_module(str(root / m)) for m in dict.fromkeys(self.modules)}

    def encode(self, feats: NDArray[np.float32]) -> NDArray[np.float32]:
        """Role features -> the module's input (unified spaces: role one-hot + padding)."""
        if not self.unified:
            return feats
        dims = (int(self.meta.get("node_obs_dim", 0)), int(self.meta.get("device_obs_dim", 0)))
        return encode_unified(feats, self.role, self.roles, len(self.roles) + max(*dims, feats.shape[1]))

    def actions(self, feats: NDArray[np.float32], deterministic: bool, seed: int | None,
                rows: list[int] | None = None) -> FloatArray:
        """(n, act_dim) normalized [-1, 1] actions; row i uses the module of the role's
        i-th agent (``rows``: the agent index of each row; beyond the trained ones, the
        first module)."""
        x = self.encode(feats)
        n = x.shape[0]
        idx = list(range(n)) if rows is None else rows
        mods = self.modules
        names = [mods[i] if i < len(mods) else mods[0] for i in idx]
        act: FloatArray | None = None
        for name in dict.fromkeys(names):
            sel = np.array([i for i, m in enumerate(names) if m == name], dtype=np.int64)
            a = infer_actions(self.loaded[name], x[sel], deterministic, seed)
            if act is None:
                act = np.zeros((n, a.shape[1]))
            act[sel] = a
        return np.zeros((0, 4)) if act is None else act


@register_strategy("rllib")
class RLlibPricing(NodeStrategy):
    """Price with a trained RLlib policy (see module docstring)."""

    def __init__(self, checkpoint: str = "", module: str | None = None,
                 deterministic: bool = True) -> None:
        if not checkpoint:
            raise ValueError("checkpoint is required (a folder written by `edgemarket train`)")
        meta = read_policy_meta(checkpoint)
        if module is not None and module not in meta["modules"]:
            raise ValueError(f"module {module!r} not in checkpoint (has: {', '.join(meta['modules'])})")
        self.checkpoint = checkpoint
        self.module = module
        self.deterministic = deterministic
        self._role = "node"

    def for_role(self, role: str) -> None:
        require_role(self.checkpoint, role)
        self._role = role

    def _setup(self) -> None:
        self.runner_ = PolicyRunner(self.checkpoint, self._role, self.module)
        learning = self.runner_.learning
        self.features_ = NodeFeatures(int(learning.get("history", 2)))
        self.low_ = float(learning.get("min_multiplier", 1.0))
        self.high_ = float(learning.get("max_multiplier", 3.0))

    # -- NodeStrategy -------------------------------------------------------------------

    def quote(self, obs: NodeObservation, rng: np.random.Generator) -> FloatArray:
        if not hasattr(self, "runner_"):
            self._setup()
        cost = np.asarray(obs.cost, dtype=np.float64)
        x = self.features_.features(obs)
        seed = None if self.deterministic else int(rng.integers(2**31))
        if self._role == "broker":
            # Every device row is in the brokers' observation; only those offering
            # something this round need a price (the rest ask their cost, unsold).
            mult = np.ones(cost.shape)
            act_rows = np.flatnonzero(np.asarray(obs.capacity).sum(axis=1) > 0)
            if act_rows.size:
                act = self.runner_.actions(x[act_rows], self.deterministic, seed,
                                           rows=[0] * act_rows.size)
                mult[act_rows] = unsquash(act[:, :4], self.low_, self.high_)
        else:
            act = self.runner_.actions(x, self.deterministic, seed)
            mult = unsquash(act[:, :4], self.low_, self.high_)
        return cost * mult

    def update(self, obs: NodeObservation, rng: np.random.Generator) -> None:
        if not hasattr(self, "runner_"):
            self._setup()
        self.features_.push(obs)


@register_strategy("rllib")
class RLlibBidding(DeviceStrategy):
    """Bid (and switch the broker role) with a trained RLlib device policy (see module doc)."""

    def __init__(self, checkpoint: str = "", module: str | None = None,
                 deterministic: bool = True, broker_switch: bool = True) -> None:
        if not checkpoint:
            raise ValueError("checkpoint is required (a folder written by `edgemarket train`)")
        meta = read_policy_meta(checkpoint)
        if module is not None and module not in meta["modules"]:
            raise ValueError(f"module {module!r} not in checkpoint (has: {', '.join(meta['modules'])})")
        require_role(checkpoint, "device")
        self.checkpoint = checkpoint
        self.module = module
        self.deterministic = deterministic
        self.broker_switch = broker_switch

    shade_: FloatArray
    switch_: FloatArray

    def _act(self, obs: DeviceObservation) -> tuple[FloatArray, FloatArray]:
        """(shade, switch) of every device in ``obs`` this round (computed once a round)."""
        if not hasattr(self, "runner_"):
            self.runner_ = PolicyRunner(self.checkpoint, "device", self.module)
            self.max_shade_ = float(self.runner_.learning.get("max_shade", 0.5))
        if getattr(self, "round_", None) != obs.round or self.shade_.size != obs.rows.size:
            seed = None if self.deterministic else int(obs.round)
            act = self.runner_.actions(device_features(obs), self.deterministic, seed)[:, :2]
            lo, hi = np.array([0.0, -1.0]), np.array([self.max_shade_, 1.0])
            decoded = unsquash(act, lo, hi)
            self.shade_, self.switch_ = decoded[:, 0], decoded[:, 1]
            self.round_ = obs.round
        return self.shade_, self.switch_

    def sells(self, obs: DeviceObservation) -> NDArray[np.bool_] | None:
        if not self.broker_switch:
            return None
        return self._act(obs)[1] > 0

    def bid(self, value: FloatArray, budget: FloatArray,
            obs: DeviceObservation | None = None) -> FloatArray:
        if obs is None:
            raise ValueError("the rllib device strategy needs the DeviceObservation")
        shade = self._act(obs)[0][obs.request]
        return np.minimum(value * (1.0 - shade), budget)


def require_role(checkpoint: str, role: str) -> None:
    """ValueError unless the checkpoint trained agents of ``role`` (node-only trainings of
    older formats count as having nodes)."""
    meta = read_policy_meta(checkpoint)
    agents = meta.get("agent_modules", {})
    if role == "node" and not agents:
        return
    if not any(a.startswith(role + "_") for a in agents):
        raise ValueError(f"checkpoint {checkpoint}: no {role} policy in it (train with "
                         f"--learn {role}s=...)")


def _agent_row(agent_id: str) -> int:
    try:
        return int(agent_id.split("@", 1)[0].rsplit("_", 1)[1])
    except (IndexError, ValueError):
        return 0
