"""One data folder: with `--data-dir` (or EDGEMARKET_DATA) nothing lands in the checkout.

A real run settled on a real Anvil writes its store, chain state, Anvil log, compiled
artefacts and numba cache under the given folder; the checkout's git status and its
`data/` folder are the same before and after.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SMALL = ["--set", "devices.count=20", "--set", "nodes.count=2", "--set", "snapshot_every=1"]


def edgemarket(*args: str, env: dict[str, str] | None = None, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("EDGEMARKET_DATA", "NUMBA_CACHE_DIR")}
    return subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**base, "PYTHONPATH": str(ROOT), **(env or {})})


def checkout_state() -> tuple[str, dict[str, tuple[int, int]]]:
    """git status of the checkout and every file under its data/ (size, mtime)."""
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout
    files = {}
    data = ROOT / "data"
    if data.exists():
        for p in data.rglob("*"):
            if p.is_file():
                st = p.stat()
                files[str(p.relative_to(ROOT))] = (st.st_size, st.st_mtime_ns)
    return status, files


@pytest.mark.chain
@pytest.mark.serial  # another test writing to data/ meanwhile would show up in the diff
def test_a_settled_run_writes_only_under_data_dir(tmp_path: Path) -> None:
    target = tmp_path / "edge data"  # a space: paths are passed as such, not split
    before = checkout_state()
    r = edgemarket("--data-dir", str(target), "run", "--rounds", "2", "--seed", "1", "--quiet", *SMALL)
    assert r.returncode == 0, r.stderr
    after = checkout_state()
    assert after[0] == before[0], "git status changed"
    assert after[1] == before[1], sorted(set(after[1].items()) ^ set(before[1].items()))[:5]
    assert (target / "edgemarket.db").stat().st_size > 0
    assert list((target / "chain" / "runs").glob("run-1-*.state.json"))
    assert list((target / "chain" / "logs").glob("anvil-*.log"))
    assert list((target / "artifacts").glob("*.json"))
    assert any((target / "numba").rglob("*.nbi"))  # numba's kernel cache followed the data dir
    listed = edgemarket("--data-dir", str(target), "runs", "list", "--json")
    assert [x["id"] for x in json.loads(listed.stdout)] == [1]


def test_environment_variable_moves_the_store(tmp_path: Path) -> None:
    env = {"EDGEMARKET_DATA": str(tmp_path)}
    r = edgemarket("run", "--rounds", "1", "--chain", "none", "--quiet", *SMALL, env=env)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "edgemarket.db").exists()
    listed = edgemarket("runs", "list", "--json", env=env)
    assert [x["status"] for x in json.loads(listed.stdout)] == ["done"]
    # `run --data-dir` is the same switch, on the command itself.
    other = tmp_path / "other"
    assert edgemarket("run", "--rounds", "1", "--chain", "none", "--quiet", "--data-dir", str(other),
                      *SMALL).returncode == 0
    assert (other / "edgemarket.db").exists()


def test_ray_torch_and_forge_scratch_follow_the_data_dir(tmp_path: Path) -> None:
    code = ("import json; from agents.learning.ray_session import configure_scratch; "
            "from ledger.chain.forge import forge_env; e = forge_env(); "
            "print(json.dumps({**configure_scratch(), 'out': e['FOUNDRY_OUT'], 'cache': e['FOUNDRY_CACHE_PATH'], "
            "'home': e['HOME']}))")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "TORCH", "TUNE_"))}
    short = Path("/tmp") / f"em-{os.getpid()}"  # short: Ray's socket paths must stay small
    try:
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                             env={**env, "PYTHONPATH": str(ROOT), "EDGEMARKET_DATA": str(short)}).stdout
        paths = json.loads(out)
        for key in ("RAY_TMPDIR", "TORCHINDUCTOR_CACHE_DIR", "TUNE_RESULT_DIR", "out", "cache", "home"):
            assert Path(paths[key]).is_relative_to(short), (key, paths[key])
    finally:
        subprocess.run(["rm", "-rf", str(short)], check=False)


def test_data_dir_that_is_a_file_is_a_user_error(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    r = edgemarket("--data-dir", str(f), "runs", "list")
    assert r.returncode == 2 and "--data-dir" in r.stderr and "Traceback" not in r.stderr
