"""Fixtures for settling whole runs on a real Anvil: a real SQLite store, and cleanup of chains."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.store import RunStore

SMALL = {"devices.count": 30, "nodes.count": 4, "snapshot_every": 0}


def anvil_pids(state_file: str) -> list[int]:
    """PIDs of the anvil processes serving `state_file` (read from /proc)."""
    pids = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if cmd and cmd[0].endswith(b"anvil") and state_file.encode() in cmd:
            pids.append(int(d.name))
    return pids


def kill_anvil(state_file: str) -> None:
    for pid in anvil_pids(state_file):
        os.kill(pid, signal.SIGKILL)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RunStore]:
    st = RunStore(f"sqlite:///{tmp_path / 'runs.db'}")
    yield st
    # Every chain these tests started is stopped, and its state file removed.
    for run in st.list_runs(1000):
        state = (run.chain_info or {}).get("state_file")
        if state:
            kill_anvil(state)
            for p in Path(state).parent.glob(Path(state).name + "*"):
                p.unlink(missing_ok=True)
    st.close()
