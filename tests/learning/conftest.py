"""Fixtures of the learning tests: ONE local Ray session (2 CPUs) shared by every test that
needs Ray, always shut down at the end; tiny learning settings; a fresh SQLite store."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agents.learning.ray_session import RaySessionInfo, configure_scratch

# Make this folder's helper module importable by the test modules (any import mode).
sys.path.insert(0, str(Path(__file__).parent))

from learning_helpers import TRAINED_LEARNING, TRAINED_OVERRIDES

configure_scratch()


@pytest.fixture(scope="session")
def ray_local() -> Iterator[RaySessionInfo]:
    """A local Ray (num_cpus=2, no dashboard, scratch under data/ray) for the whole session."""
    from agents.learning.ray_session import ray_session

    with ray_session(num_cpus=2) as info:
        yield info
    import ray

    assert not ray.is_initialized()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """A fresh SQLite run store."""
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture(scope="session")
def trained(ray_local: RaySessionInfo, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One tiny PPO training (2 iterations of 40 env steps) of nodes, devices and brokers
    together (one shared policy, unified spaces), shared by the tests that need a
    checkpoint; its curve goes to a session-wide store."""
    from agents.learning.training import TrainSpec, train

    home_results = Path("~/ray_results").expanduser()
    before = set(os.listdir(home_results)) if home_results.is_dir() else set()
    out = tmp_path_factory.mktemp("policy")
    db = f"sqlite:///{out.parent / 'train.db'}"
    spec = TrainSpec(scenario="smart_city", overrides=TRAINED_OVERRIDES, small=True,
                     learning=TRAINED_LEARNING, iterations=2, out=str(out / "ckpt"),
                     train_batch_size=40, minibatch_size=20, num_epochs=1, session="tiny",
                     db_url=db)
    result = train(spec)
    after = set(os.listdir(home_results)) if home_results.is_dir() else set()
    return {"result": result, "db": db, "spec": spec, "home_results_new": after - before}


def pytest_configure(config: pytest.Config) -> None:
    # Each RLlib algorithm re-registers its env wrapper with gymnasium: harmless.
    config.addinivalue_line("filterwarnings",
                            "ignore:.*Overriding environment rllib-multi-agent-env-v0.*:UserWarning")
