"""Shared constants of the learning tests (tiny problems that run in a few seconds)."""

from __future__ import annotations

from typing import Any

#: A tiny learning problem: 5-round episodes.
TINY_LEARNING: dict[str, Any] = {"episode_rounds": 5}
#: The small default scenario, smaller still (fast model steps).
TINY_OVERRIDES: dict[str, Any] = {"devices.count": 20, "nodes.count": 3, "snapshot_every": 0}
#: The session's tiny training: 3 nodes, 2 devices and up to 2 brokers learn together
#: (brokers drawn more often than the default 10 % so most episodes have some).
TRAINED_LEARNING: dict[str, Any] = {**TINY_LEARNING, "devices": 2, "brokers": 2}
TRAINED_OVERRIDES: dict[str, Any] = {**TINY_OVERRIDES, "devices.broker_fraction": 0.3}
