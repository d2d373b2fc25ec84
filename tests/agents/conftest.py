"""Shared fixtures for the model tests: small scenarios that run in well under a second."""

from __future__ import annotations

import pytest

from agents.scenario import Scenario, small


@pytest.fixture(scope="session")
def small_city() -> Scenario:
    """smart_city shrunk to 40 devices and 4 nodes (agents.scenario.SMALL_OVERRIDES)."""
    return small("smart_city")
