"""Every command of the README's "A first session", run as written, in a scratch data folder.

The commands are read from the README's own code block, so the test follows the README.
They run with EDGEMARKET_DATA pointing at a scratch folder (the store, chain states and
scratch all live there) and with that folder as the working directory for everything
after `make run` (which, as written, runs from the repository root). `edgemarket app` is
started, asked for its health page, and stopped.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.chain, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def first_session() -> list[str]:
    """The command lines of the README's first-session block, comments stripped."""
    text = (ROOT / "README.md").read_text()
    block = re.search(r"## A first session\s+```bash\n(.*?)```", text, re.S)
    assert block, "README has no 'A first session' bash block"
    return [ln.split("#", 1)[0].strip() for ln in block.group(1).splitlines() if ln.split("#", 1)[0].strip()]


def _setup_is_current() -> bool:
    """`make run` first runs `make setup`; it must be a no-op here (never reinstall in a test)."""
    def h(name: str) -> str:
        return hashlib.sha256((ROOT / name).read_bytes()).hexdigest()[:16]
    stamps = ROOT / "data" / ".stamps"
    try:
        return ((stamps / "python").read_text().strip() == h("pyproject.toml")
                and (stamps / "npm").read_text().strip() == h("package-lock.json"))
    except OSError:
        return False


@pytest.fixture(scope="module")
def session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("first-session")


def _env(data: Path) -> dict[str, str]:
    return {**os.environ, "EDGEMARKET_DATA": str(data / "data"), "PYTHONPATH": str(ROOT)}


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _cases() -> list[object]:
    out = []
    for i, line in enumerate(first_session()):
        out.append(pytest.param(i, line, id=f"{i}-{line.split()[0]}-{line.split()[1] if len(line.split()) > 1 else ''}"))
    return out


@pytest.mark.parametrize(("index", "line"), _cases())
def test_first_session_command(index: int, line: str, session_dir: Path) -> None:
    env = _env(session_dir)
    if line.startswith("make "):
        if not _setup_is_current():
            pytest.skip("`make setup` would install packages here: run it once first")
        out = subprocess.run(["bash", "-c", line], cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=1500)
        assert out.returncode == 0, out.stderr[-3000:]
        assert "settlement" in out.stdout and "reconciled" in out.stdout
        return
    if line.startswith("source "):
        out = subprocess.run(["bash", "-c", f"{line} && command -v edgemarket"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=60)
        # The activate script names the venv's real folder (.venv may be a link to it).
        found = Path(out.stdout.strip())
        assert out.returncode == 0 and found.resolve() == (ROOT / ".venv" / "bin" / "edgemarket").resolve()
        return
    script = f"source {ROOT}/.venv/bin/activate && cd {session_dir} && {line}"
    if line.startswith("edgemarket ledger reconcile") and not (session_dir / "data" / "edgemarket.db").exists():
        pytest.skip("`make run` was skipped, so there is no run 1 to reconcile")
    if line == "edgemarket app":
        if not _port_free(8501):
            pytest.skip("port 8501 is taken by another process")
        proc = subprocess.Popen(["bash", "-c", f"source {ROOT}/.venv/bin/activate && cd {session_dir} && exec {line}"],
                                cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            deadline = time.time() + 120
            while time.time() < deadline:
                try:
                    with urllib.request.urlopen("http://127.0.0.1:8501/_stcore/health", timeout=2) as r:
                        if r.read().strip() == b"ok":
                            break
                except OSError:
                    time.sleep(0.5)
            else:
                pytest.fail("edgemarket app did not answer on :8501 within 120 s")
        finally:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        return
    out = subprocess.run(["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500)
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    if line.startswith("edgemarket ledger reconcile"):
        assert "agree" in out.stdout
    if "--json summary.json" in line:
        assert (session_dir / "summary.json").is_file()
