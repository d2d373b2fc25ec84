"""Fixtures of the app tests.

- `empty_db`: a store with the schema and nothing else.
- `app_db`: a store with two real small runs of `smart_city` made by `app.runner`
  (uniform and mcafee), plus synthetic runs with what the real test runs do not give
  (snapshots, settlements; a run without equilibrium prices) and training/evaluation rows.
- `app_at(db_url, page, run_id=None)`: an AppTest of one page against a store.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ledger.store import RunStore

# The suite runs with --import-mode=importlib: make this folder's helper modules
# (app_driver, synthetic_runs, live_server) importable by the test modules.
sys.path.insert(0, str(Path(__file__).parent))

from app_driver import open_page
from synthetic_runs import fill_learning, fill_run

SMALL = {"devices.count": 30, "nodes.count": 3, "snapshot_every": 2, "snapshot_devices": 30}


@dataclass(frozen=True)
class AppStore:
    url: str
    uniform: int       # real run, uniform price
    mcafee: int        # real run, McAfee
    synthetic: int     # synthetic settled run with snapshots and equilibrium prices
    no_eq: int         # synthetic run without equilibrium prices, settlements or snapshots


@pytest.fixture(scope="session")
def empty_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('empty') / 'store.db'}"
    RunStore(url)  # creates the schema
    return url


@pytest.fixture(scope="session")
def app_db(tmp_path_factory: pytest.TempPathFactory) -> AppStore:
    from app.runner import run_simulation

    url = f"sqlite:///{tmp_path_factory.mktemp('app') / 'store.db'}"
    store = RunStore(url)
    synthetic = fill_run(store, mechanism="uniform", seed=1, settle=True)
    no_eq = fill_run(store, mechanism="mcafee", seed=4, rounds=4, settle=False, eq_prices=False, snapshot_every=0)
    fill_learning(store)
    mcafee = run_simulation("smart_city", overrides={**SMALL, "market.mechanism": "mcafee"}, seed=2, rounds=6,
                            db_url=url).run_id
    uniform = run_simulation("smart_city", overrides={**SMALL, "market.mechanism": "uniform"}, seed=1, rounds=6,
                             db_url=url).run_id
    return AppStore(url, uniform, mcafee, synthetic, no_eq)


@pytest.fixture
def app_at(monkeypatch: pytest.MonkeyPatch) -> Callable[..., AppTest]:
    """`app_at(db_url, page="run", run_id=None)`: the app on `page` against the store at `db_url`."""

    def make(db_url: str, page: str = "run", run_id: int | None = None) -> AppTest:
        monkeypatch.setenv("EDGEMARKET_DB", db_url)
        return open_page(page, run_id)

    return make
