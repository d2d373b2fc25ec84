"""The ``learning:`` section of a scenario: who learns, the action ranges, rewards, episodes.

Plain pydantic (strict, frozen, unknown keys rejected) like the rest of the scenario schema,
and importable without Ray or torch. Defaults make a small, quickly learnable problem: every
edge node prices its four resources as a multiplier on its marginal cost in
``[min_multiplier, max_multiplier]``; devices keep their rule-based strategy.

    learning:
      nodes: all            # "all", "none", or a list of node indices that learn
      devices: 0            # the first k devices act (bid shading + broker switch)
      brokers: none         # "all", "none", or k: the first k brokers price their idle resources
      max_multiplier: 3.0
      episode_rounds: 25
      sla_penalty: 1.0
      worlds: 1             # copies of the world one env steps together (vectorized)
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

PolicyMode = Literal["shared", "per-role", "per-agent"]


class LearningConfig(BaseModel):
    """Which agents learn, their action ranges, rewards and episode length."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    nodes: Literal["all", "none"] | list[int] = Field(
        "all", description="edge nodes that learn: all, none, or node indices (0-based)")
    devices: int = Field(0, ge=0, description="the first k devices learn (0: none)")
    brokers: Literal["all", "none"] | int = Field(
        "none", description="brokers whose asks (a multiplier over their true cost per "
                            "resource) are learned: all, none, or the first k brokers of each "
                            "episode's world (devices drawn as brokers, in row order)")
    min_multiplier: float = Field(1.0, gt=0, description="lowest ask as a multiple of marginal cost")
    max_multiplier: float = Field(3.0, gt=0, description="highest ask as a multiple of marginal cost")
    max_shade: float = Field(0.5, ge=0, lt=1, description="highest bid shading a device may choose")
    episode_rounds: int = Field(25, ge=1, description="rounds (env steps) per episode")
    history: int = Field(2, ge=1, le=8, description="rounds of past prices/demand in observations")
    sla_penalty: float = Field(
        1.0, ge=0, description="credits of reward lost per credit at stake in an SLA violation")
    reward_scale: float | None = Field(
        None, gt=0, description="credits per reward unit; None: each node's cost of full capacity")
    node_reward: Literal["profit", "welfare"] = Field(
        "profit", description="profit: each node's profit − SLA penalty; welfare: the round's "
                              "delivered welfare (SLA-met value − true costs, all worlds) split "
                              "equally over the learning nodes (a cooperative, planner's reward)")
    policy: PolicyMode = Field("shared", description="default policy mapping for training")
    seed_stride: int = Field(1, ge=1, description="seed increment between episodes of one env")
    worlds: int = Field(
        1, ge=1, le=4096,
        description="independent copies of the world stepped together by one env (a "
                    "vectorized env: each step is one round of every copy)")

    @model_validator(mode="after")
    def _ranges(self) -> LearningConfig:
        if self.max_multiplier <= self.min_multiplier:
            raise ValueError("max_multiplier must be > min_multiplier")
        if isinstance(self.nodes, list) and any(i < 0 for i in self.nodes):
            raise ValueError("nodes: indices must be >= 0")
        return self

    @field_validator("brokers", mode="before")
    @classmethod
    def _brokers(cls, v: Any) -> Any:
        ok = v in ("all", "none") or (isinstance(v, int) and not isinstance(v, bool) and v >= 0)
        if not ok:
            raise ValueError(f"must be all, none or a count >= 0, got {v!r}")
        return v

    def broker_slots(self, n_devices: int) -> int:
        """Learning-broker slots per world: k, every device for ``all``, 0 for ``none``."""
        if self.brokers == "all":
            return n_devices
        if self.brokers == "none":
            return 0
        return int(self.brokers)

    def learning_node_indices(self, n_nodes: int) -> list[int]:
        """The node rows that learn, for a model with ``n_nodes`` edge nodes."""
        if self.nodes == "all":
            return list(range(n_nodes))
        if self.nodes == "none":
            return []
        bad = [i for i in self.nodes if i >= n_nodes]
        if bad:
            raise ValueError(f"learning.nodes: index {bad[0]} out of range ({n_nodes} nodes)")
        return sorted(set(self.nodes))


def learning_config(scenario: Any, overrides: dict[str, Any] | None = None) -> LearningConfig:
    """The scenario's ``learning`` section (defaults if it has none), with ``overrides``."""
    base = getattr(scenario, "learning", None)
    data = base.model_dump() if isinstance(base, LearningConfig) else {}
    data.update(overrides or {})
    return LearningConfig.model_validate(data)
