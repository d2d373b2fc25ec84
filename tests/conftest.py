"""Suite-wide hygiene and the split of the suite over pytest-xdist workers.

- Runs settled on Anvil keep their chain in `data/chain/runs/` (a user wants them; a test
  does not): the files tests created there are removed at the end of the whole run, by the
  xdist controller (or the single pytest process), never by one worker while the other may
  still use its files. Everything else a test starts (Anvil, Streamlit, Ray, PostgreSQL) is
  stopped by the fixture that started it.
- `make test` runs the suite on two xdist workers with ``--dist loadgroup``; every test that
  uses the session's Ray (``ray_local``, ``ray_head``) goes to one group, so one worker holds
  the one Ray session instead of each starting its own.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ledger.chain.paths import data_dir

# Helper modules shared by several test folders (cli_run) import by name in any import mode.
sys.path.insert(0, str(Path(__file__).parent))


RAY_FIXTURES = frozenset({"ray_local", "ray_head"})
_CHAIN_STATE_BEFORE = pytest.StashKey[set[Path]]()


def _is_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_sessionstart(session: pytest.Session) -> None:
    if not _is_xdist_worker(session.config):
        session.config.stash[_CHAIN_STATE_BEFORE] = set(data_dir("chain", "runs").iterdir())


def pytest_sessionfinish(session: pytest.Session) -> None:
    before = session.config.stash.get(_CHAIN_STATE_BEFORE, None)
    if before is None:
        return
    for path in set(data_dir("chain", "runs").iterdir()) - before:
        path.unlink(missing_ok=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if RAY_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.xdist_group("ray"))

