"""Fixtures of the app tests: an empty store, a store filled with small real-shaped runs,
and `app_at(db_url, page)`, an AppTest of one page against one of them."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from app_driver import open_page
from streamlit.testing.v1 import AppTest
from synthetic_runs import fill_learning, fill_run

from ledger.store import RunStore


@pytest.fixture(scope="session")
def empty_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('empty') / 'store.db'}"
    RunStore(url)  # creates the schema
    return url


@pytest.fixture(scope="session")
def filled_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Two runs of the same scenario (uniform settled on chain, mcafee without chain or
    equilibrium prices) plus training and evaluation data."""
    url = f"sqlite:///{tmp_path_factory.mktemp('filled') / 'store.db'}"
    store = RunStore(url)
    fill_run(store, mechanism="uniform", seed=1, settle=True)
    fill_run(store, mechanism="mcafee", seed=2, settle=False, eq_prices=False)
    fill_learning(store)
    return url


@pytest.fixture
def app_at(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], AppTest]:
    """`app_at(db_url, page)`: the app on `page`, run once, against the store at `db_url`."""

    def make(db_url: str, page: str = "run") -> AppTest:
        monkeypatch.setenv("EDGEMARKET_DB", db_url)
        return open_page(page)

    return make
