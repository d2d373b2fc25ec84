"""AI-service requests: each round every device may start a session of its service class.

A request is one row of :class:`Requests` (columnar arrays): the task stream's size, the
3C-L needs that do not depend on the channel (cache GB, learning units), its value and its
QoAIS requirements, all drawn vectorized from the class parameters. How much bandwidth and
compute to buy is decided later, from the channel and prices (agents.bundles).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import NDArray

from agents.scenario import Scenario

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Per-class parameter columns copied onto each request (field name on ServiceClass).
_CLASS_COLUMNS = (
    "task_rate_hz", "cache_gb", "learning_lu", "latency_budget_ms", "min_reliability",
    "min_accuracy", "privacy_level", "autonomy_level", "accuracy_max", "learning_gain",
    "cache_hit_ratio", "cache_miss_penalty_ms",
)


@dataclass
class ClassTable:
    """Service-class parameters as arrays indexed by class (order of Scenario.class_names)."""

    names: list[str]
    activity_prob: FloatArray
    data_mbit: FloatArray
    work_gflop: FloatArray
    size_spread: FloatArray
    value_credits: FloatArray
    value_spread: FloatArray
    result_mbit: FloatArray  # downlink per task (data_mbit is the uplink)
    target_bler: FloatArray  # link adaptation's target block error rate
    weights: FloatArray  # (k, 6) QoAIS dimension weights, rows sum to 1
    columns: dict[str, FloatArray]

    @classmethod
    def from_scenario(cls, sc: Scenario) -> ClassTable:
        classes = [sc.service_classes[n] for n in sc.class_names]

        def col(name: str) -> FloatArray:
            return np.array([float(getattr(c, name)) for c in classes])

        w = np.array([c.weights.as_list() for c in classes], dtype=np.float64).reshape(-1, 6)
        return cls(
            names=sc.class_names,
            activity_prob=col("activity_prob"),
            data_mbit=col("data_mbit"),
            work_gflop=col("work_gflop"),
            size_spread=col("size_spread"),
            value_credits=col("value_credits"),
            value_spread=col("value_spread"),
            result_mbit=col("result_mbit"),
            target_bler=col("target_bler"),
            weights=w / w.sum(axis=1, keepdims=True),
            columns={name: col(name) for name in _CLASS_COLUMNS},
        )


@dataclass
class Requests:
    """n requests of one round (all arrays (n,)). Units in the names."""

    device: IntArray  # device index (row of the state table)
    cls: IntArray  # service class index
    value_credits: FloatArray
    data_mbit: FloatArray  # per task, uplink (device -> node)
    result_mbit: FloatArray  # per task, downlink (results back to the device)
    work_gflop: FloatArray  # per task
    task_rate_hz: FloatArray
    cache_gb: FloatArray
    learning_lu: FloatArray
    latency_budget_ms: FloatArray
    min_reliability: FloatArray
    min_accuracy: FloatArray
    privacy_level: FloatArray
    autonomy_level: FloatArray
    accuracy_max: FloatArray
    learning_gain: FloatArray
    cache_hit_ratio: FloatArray
    cache_miss_penalty_ms: FloatArray

    def __len__(self) -> int:
        return int(self.device.size)

    def take(self, index: NDArray[np.int64] | NDArray[np.bool_]) -> Requests:
        """The requests at ``index``."""
        return Requests(**{f.name: getattr(self, f.name)[index] for f in fields(self)})


def generate(table: ClassTable, device_class: IntArray, active: NDArray[np.bool_],
             rng: np.random.Generator) -> Requests:
    """Draw this round's requests: a device starts a session with its class's activity_prob.

    ``active`` masks devices able to request at all (e.g. battery not empty). The number of
    random draws does not depend on who is active, so runs stay comparable across variants.
    """
    n = device_class.size
    draw = rng.random(n)
    size_u = rng.uniform(-1.0, 1.0, (n, 2))
    value_u = rng.uniform(-1.0, 1.0, n)
    mask = active & (draw < table.activity_prob[device_class])
    dev = np.flatnonzero(mask)
    c = device_class[dev]
    spread = table.size_spread[c]
    cols = {name: arr[c] for name, arr in table.columns.items()}
    return Requests(
        device=dev.astype(np.int64),
        cls=c.astype(np.int64),
        value_credits=table.value_credits[c] * (1 + table.value_spread[c] * value_u[dev]),
        data_mbit=table.data_mbit[c] * (1 + spread * size_u[dev, 0]),
        # Results scale with the input (same draw: no extra random numbers).
        result_mbit=table.result_mbit[c] * (1 + spread * size_u[dev, 0]),
        work_gflop=table.work_gflop[c] * (1 + spread * size_u[dev, 1]),
        **cols,
    )
