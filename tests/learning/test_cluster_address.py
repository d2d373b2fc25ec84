"""`--address`: a sweep joins a Ray cluster it did not start (a head started by `ray start`).

The cluster is one machine here, but the path is the one a real cluster takes: the driver
connects to an existing GCS, tasks run on the cluster's workers, and the driver leaves the
cluster running when it is done. The test stops the head it started, even on failure.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.learning.ray_session import RAY_TMP, configure_scratch
from ledger.store import RunStore

ROOT = Path(__file__).resolve().parents[2]
RAY = Path(sys.executable).parent / "ray"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def ray_head() -> Iterator[str]:
    """A Ray head (2 CPUs) in its own process group, stopped (SIGINT, then SIGKILL) after."""
    env = {**os.environ, **configure_scratch()}
    port = _free_port()
    head = subprocess.Popen(
        [str(RAY), "start", "--head", "--port", str(port), "--num-cpus", "2",
         "--include-dashboard=false", "--disable-usage-stats", "--temp-dir", str(RAY_TMP),
         "--block"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True)
    try:
        deadline = time.time() + 60
        while not _answers(port):
            if head.poll() is not None or time.time() > deadline:
                err = head.stderr.read().decode() if head.stderr else ""
                pytest.fail(f"ray head did not start: {err[-2000:]}")
            time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        if head.poll() is None:
            # `ray start --block` stops what it started on Ctrl-C in ~1.5 s; on SIGTERM to its
            # group it took ~33 s (measured), so SIGINT first, SIGKILL if it hangs.
            os.killpg(head.pid, signal.SIGINT)
            try:
                head.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(head.pid, signal.SIGKILL)
                head.wait()


def test_sweep_runs_on_a_cluster_given_by_address(ray_head: str, db_url: str) -> None:
    cmd = [sys.executable, "-m", "app.cli", "sweep", "smart_city",
           "--grid", "market.mechanism=uniform,mcafee", "--seeds", "1", "--rounds", "3",
           "--set", "devices.count=20", "--set", "nodes.count=2", "--set", "snapshot_every=0",
           "--address", ray_head, "--db", db_url]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300,
                       env={**os.environ, "COLUMNS": "200"})
    assert r.returncode == 0, r.stderr[-3000:]
    assert "2 done, 0 failed" in r.stdout
    assert "(ray," in r.stdout
    runs = RunStore(db_url).list_runs(None)
    assert len(runs) == 2 and all(run.status == "done" for run in runs)
    # The driver left the cluster up: its head still answers.
    assert _answers(int(ray_head.rsplit(":", 1)[1]))
