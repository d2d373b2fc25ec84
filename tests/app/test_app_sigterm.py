"""`edgemarket app` passes SIGTERM on: killing it stops the Streamlit server (port freed)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from live_server import free_port

ROOT = Path(__file__).resolve().parents[2]


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_sigterm_stops_streamlit(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(tmp_path), "EDGEMARKET_DATA": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "app", "--port", str(port),
                             "--db", f"sqlite:///{tmp_path / 's.db'}"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            raise AssertionError("streamlit did not come up")
        proc.send_signal(signal.SIGTERM)  # the parent only, as `kill PID` does
        assert proc.wait(timeout=30) == 0
        deadline = time.monotonic() + 15
        while listening(port) and time.monotonic() < deadline:
            time.sleep(0.3)
        assert not listening(port), "Streamlit still serves after `edgemarket app` was killed"
    finally:
        if proc.poll() is None:
            proc.kill()
        # the whole session (Streamlit included) goes, whatever the outcome
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
