"""Default numbers for the four AI-as-a-service classes of source 004 §5.1.

Each class is a *session* a device runs for one market round: a stream of AI tasks at
``task_rate_hz``, each task sending ``data_mbit`` over the air and needing ``work_gflop`` of
inference/training compute, plus a cached model/content of ``cache_gb`` and ``learning_lu``
learning units (the model service). The numbers are ours, chosen to be plausible for the
application named in the source and to give a market with moderate contention; they are
documented, with their rationale, in docs/scenarios.md. A scenario may override any field.

Levels: ``privacy_level`` 0 (public) .. 3 (regulated personal data);
``autonomy_level`` 0 (fully controllable by humans), 1 (partially), 2 (fully autonomous),
the three orchestration levels of 004 Table 3.
"""

from __future__ import annotations

from typing import Any

#: Built-in class name -> field defaults (see agents.scenario.ServiceClass for units).
BUILTIN_SERVICE_CLASSES: dict[str, dict[str, Any]] = {
    # 5.1.1 immersive communication: XR split rendering with AI perception per frame.
    "xr": {
        "description": "Immersive XR: per-frame AI perception/rendering offload (004 §5.1.1)",
        "activity_prob": 0.6,
        "task_rate_hz": 30.0,
        "data_mbit": 0.3,
        "work_gflop": 4.0,
        "cache_gb": 2.0,
        "learning_lu": 1.0,
        "value_credits": 7.0,
        "latency_budget_ms": 20.0,
        "min_reliability": 0.999,
        "min_accuracy": 0.9,
        "privacy_level": 1,
        "autonomy_level": 2,
        "accuracy_max": 0.97,
        "cache_hit_ratio": 0.9,
        "cache_miss_penalty_ms": 3.0,
        "result_mbit": 0.5,
        "target_bler": 0.1,
        "weights": {"performance": 0.2, "connection": 0.3, "data": 0.1,
                    "computation": 0.2, "security": 0.1, "orchestration": 0.1},
        "mobility": {"model": "random_waypoint", "speed_min_mps": 0.5, "speed_max_mps": 1.5,
                     "pause_s": 5.0},
    },
    # 5.1.2 intelligent industrial robots: closed-loop control inference at the edge.
    "robot": {
        "description": "Industrial robot control: closed-loop policy inference (004 §5.1.2)",
        "activity_prob": 0.8,
        "task_rate_hz": 100.0,
        "data_mbit": 0.02,
        "work_gflop": 0.5,
        "cache_gb": 0.5,
        "learning_lu": 2.0,
        "value_credits": 4.0,
        "latency_budget_ms": 10.0,
        "min_reliability": 0.99999,
        "min_accuracy": 0.95,
        "privacy_level": 2,
        "autonomy_level": 1,
        "accuracy_max": 0.99,
        "cache_hit_ratio": 0.98,
        "cache_miss_penalty_ms": 1.0,
        "result_mbit": 0.01,
        "target_bler": 1e-5,
        "weights": {"performance": 0.2, "connection": 0.3, "data": 0.1,
                    "computation": 0.2, "security": 0.1, "orchestration": 0.1},
        "mobility": {"model": "random_waypoint", "speed_min_mps": 0.2, "speed_max_mps": 2.0,
                     "pause_s": 10.0},
    },
    # 5.1.4 ultra-intelligent transportation: perception offload for autonomous driving.
    "driving": {
        "description": "Autonomous-driving perception offload (004 §5.1.4)",
        "activity_prob": 0.7,
        "task_rate_hz": 10.0,
        "data_mbit": 1.5,
        "work_gflop": 20.0,
        "cache_gb": 4.0,
        "learning_lu": 1.0,
        "value_credits": 5.0,
        "latency_budget_ms": 100.0,
        "min_reliability": 0.999,
        "min_accuracy": 0.93,
        "privacy_level": 1,
        "autonomy_level": 2,
        "accuracy_max": 0.98,
        "cache_hit_ratio": 0.8,
        "cache_miss_penalty_ms": 10.0,
        "result_mbit": 0.2,
        "target_bler": 0.1,
        "weights": {"performance": 0.25, "connection": 0.25, "data": 0.1,
                    "computation": 0.2, "security": 0.1, "orchestration": 0.1},
        "mobility": {"model": "manhattan", "speed_min_mps": 8.0, "speed_max_mps": 15.0,
                     "block_m": 200.0, "turn_prob": 0.5},
    },
    # 5.1.3 precision medical: federated training rounds at hospital gateways.
    "medicine": {
        "description": "Precision-medicine federated training (004 §5.1.3)",
        "activity_prob": 0.5,
        "task_rate_hz": 0.2,
        "data_mbit": 120.0,
        "work_gflop": 2000.0,
        "cache_gb": 10.0,
        "learning_lu": 8.0,
        "value_credits": 20.0,
        "latency_budget_ms": 4000.0,
        "min_reliability": 0.99,
        "min_accuracy": 0.95,
        "privacy_level": 3,
        "autonomy_level": 0,
        "accuracy_max": 0.99,
        "cache_hit_ratio": 0.7,
        "cache_miss_penalty_ms": 200.0,
        "result_mbit": 120.0,
        "target_bler": 0.1,
        "weights": {"performance": 0.3, "connection": 0.1, "data": 0.2,
                    "computation": 0.1, "security": 0.25, "orchestration": 0.05},
        "mobility": {"model": "static"},
    },
}
