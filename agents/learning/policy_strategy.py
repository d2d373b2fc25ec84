"""The ``rllib`` node strategy: a trained pricing policy used in ordinary runs, without Ray.

A scenario names a training output as the nodes' strategy::

    nodes:
      strategy: {name: rllib, params: {checkpoint: data/policies/ppo-smart_city}}

and ``edgemarket run`` prices with it. The policy's RLModule is loaded with
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

from agents.learning.observations import NodeFeatures, unsquash
from agents.strategies import NodeObservation, NodeStrategy, register_strategy

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

    # -- loading ------------------------------------------------------------------------

    def _setup(self) -> None:
        meta = read_policy_meta(self.checkpoint)
        learning = meta.get("learning", {})
        self.meta_ = meta
        self.features_ = NodeFeatures(int(learning.get("history", 2)))
        self.low_ = float(learning.get("min_multiplier", 1.0))
        self.high_ = float(learning.get("max_multiplier", 3.0))
        self.unified_ = bool(meta.get("unified", False))
        mods = meta.get("agent_modules", {})
        node_mods = [m for a, m in sorted(mods.items(), key=lambda kv: _agent_row(kv[0]))
                     if a.startswith("node_")]
        if self.module is not None:
            self.node_modules_ = [self.module]
        elif node_mods:
            self.node_modules_ = node_mods
        else:
            self.node_modules_ = [meta["modules"][0]]
        root = Path(self.checkpoint).expanduser().resolve() / meta.get("modules_dir", str(MODULES_SUBDIR))
        self.loaded_ = {m: load_module(str(root / m)) for m in dict.fromkeys(self.node_modules_)}

    def _encode(self, feats: NDArray[np.float32]) -> NDArray[np.float32]:
        if not self.unified_:
            return feats
        dev_dim = int(self.meta_.get("device_obs_dim", 0))
        width = 2 + max(feats.shape[1], dev_dim)
        out = np.zeros((feats.shape[0], width), np.float32)
        out[:, 0] = 1.0
        out[:, 2:2 + feats.shape[1]] = feats
        return out

    # -- NodeStrategy -------------------------------------------------------------------

    def quote(self, obs: NodeObservation, rng: np.random.Generator) -> FloatArray:
        if not hasattr(self, "loaded_"):
            self._setup()
        x = self._encode(self.features_.features(obs))
        n = x.shape[0]
        act = np.zeros((n, 4))
        mods = self.node_modules_
        names = [mods[i] if i < len(mods) else mods[0] for i in range(n)]
        seed = None if self.deterministic else int(rng.integers(2**31))
        for name in dict.fromkeys(names):
            rows = np.array([i for i, m in enumerate(names) if m == name])
            act[rows] = infer_actions(self.loaded_[name], x[rows], self.deterministic, seed)[:, :4]
        mult = unsquash(act, self.low_, self.high_)
        return np.asarray(obs.cost, dtype=np.float64) * mult

    def update(self, obs: NodeObservation, rng: np.random.Generator) -> None:
        if not hasattr(self, "loaded_"):
            self._setup()
        self.features_.push(obs)


def _agent_row(agent_id: str) -> int:
    try:
        return int(agent_id.rsplit("_", 1)[1])
    except (IndexError, ValueError):
        return 0
