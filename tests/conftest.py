"""Suite-wide hygiene: chain state files created by tests are removed at the end.

Runs settled on Anvil keep their chain in `data/chain/runs/` (a user wants them; a test
does not). Everything else a test starts (Anvil, Streamlit, Ray, PostgreSQL) is stopped by
the fixture that started it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.chain.paths import data_dir

# Helper modules shared by several test folders (cli_run) import by name in any import mode.
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session", autouse=True)
def _remove_test_chain_state() -> Iterator[None]:
    runs = data_dir("chain", "runs")
    before = set(runs.iterdir())
    yield
    for path in set(runs.iterdir()) - before:
        path.unlink(missing_ok=True)
