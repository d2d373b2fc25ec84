"""Suite-wide hygiene: chain state files created by tests are removed at the end.

Runs settled on Anvil keep their chain in `data/chain/runs/` (a user wants them; a test
does not). Everything else a test starts (Anvil, Streamlit, Ray, PostgreSQL) is stopped by
the fixture that started it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger.chain.paths import data_dir


@pytest.fixture(scope="session", autouse=True)
def _remove_test_chain_state() -> Iterator[None]:
    runs = data_dir("chain", "runs")
    before = set(runs.iterdir())
    yield
    for path in set(runs.iterdir()) - before:
        path.unlink(missing_ok=True)
