"""A live `streamlit run` of the app for browser tests, started and stopped by the caller.

Everything Streamlit or chromium would write under ~ goes to a folder under data/ (HOME is
pointed there), the server binds a free loopback port, and stopping kills the whole
process group even when the test failed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app" / "streamlit_app.py"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
READY = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def streamlit_command(db_url: str, port: int) -> list[str]:
    return [sys.executable, "-m", "streamlit", "run", str(APP),
            "--server.headless", "true", "--browser.gatherUsageStats", "false",
            "--server.address", "127.0.0.1", "--server.port", str(port),
            "--server.fileWatcherType", "none", "--global.developmentMode", "false",
            "--client.toolbarMode", "viewer",
            "--", "--db", db_url]


@contextlib.contextmanager
def live_app(db_url: str, home: Path, timeout_s: float = 60.0) -> Iterator[str]:
    """Run the app against `db_url`; yield its base URL; always stop the process group."""
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {**os.environ, "HOME": str(home), "EDGEMARKET_DB": db_url,
           "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", "XDG_CONFIG_HOME": str(home / ".config"),
           "XDG_CACHE_HOME": str(home / ".cache")}
    log = (home / "streamlit.log").open("wb")
    proc = subprocess.Popen(streamlit_command(db_url, port), cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {proc.returncode}; see {home / 'streamlit.log'}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"streamlit did not start in {timeout_s} s")
            time.sleep(0.3)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()


def wait_idle(page, timeout_ms: int = 60_000) -> None:  # type: ignore[no-untyped-def]
    """Wait until the app has finished its script run (and rendered)."""
    page.wait_for_selector(READY, timeout=timeout_ms)
