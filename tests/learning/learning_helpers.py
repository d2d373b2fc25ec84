"""Shared constants of the learning tests (tiny problems that run in a few seconds)."""

from __future__ import annotations

from typing import Any

#: A tiny learning problem: 5-round episodes.
TINY_LEARNING: dict[str, Any] = {"episode_rounds": 5}
#: The small default scenario, smaller still (fast model steps).
TINY_OVERRIDES: dict[str, Any] = {"devices.count": 20, "nodes.count": 3, "snapshot_every": 0}
