"""Fixtures and hypothesis settings for the market tests.

The pure-Python reference implementations live in ``brute_market.py`` next to this file;
its directory is put on sys.path so tests can ``import brute_market`` under pytest's
importlib import mode.
"""

from __future__ import annotations

import sys
from pathlib import Path

from hypothesis import HealthCheck, settings

sys.path.insert(0, str(Path(__file__).resolve().parent))

settings.register_profile(
    "market",
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
settings.load_profile("market")
