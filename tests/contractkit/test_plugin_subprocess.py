"""The plugin as users run it: pytest in a subprocess on a real Anvil.

- the tutorial project (examples/contracts) passes with ``-p ledger.chain.pytest_plugin``
  and prints the gas table;
- the ``pytest11`` entry point declared in pyproject.toml loads the plugin by itself (a
  throwaway dist-info carrying that entry point is put on the path) and starts no Anvil
  for tests without chain fixtures, ``-p`` on top does not register it twice,
  ``no_snapshot`` keeps state, and ``--gas-check`` fails a run whose gas grew beyond the
  tolerance.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from ledger.chain.compiler import build_input, load_artifacts, source_hash
from ledger.chain.paths import REPO_ROOT, data_dir

pytestmark = pytest.mark.chain

EXAMPLE = REPO_ROOT / "examples" / "contracts"


def _pytest(
    args: list[str], cwd: Path, extra_path: Path | None = None, data: Path | None = None
) -> subprocess.CompletedProcess[str]:
    paths = [str(REPO_ROOT)] + ([str(extra_path)] if extra_path else [])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    if data is not None:
        env["EDGEMARKET_DATA"] = str(data)  # Anvil's logs (one per started node) land here
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def test_plugin_module_is_cheap_to_load() -> None:
    code = "import sys, ledger.chain.pytest_plugin; print(sorted(m for m in ('web3', 'eth_account', 'ledger.chain.anvil') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}).stdout  # fmt: skip
    assert out.strip() == "[]"


def test_tutorial_suite_passes_and_reports_gas(tmp_path: Path) -> None:
    snap = tmp_path / "gas.json"
    proc = _pytest(["-p", "ledger.chain.pytest_plugin", "-q", "--gas-report", "--gas-snapshot",
                    "--gas-snapshot-file", str(snap)], EXAMPLE)  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "11 passed" in out
    header = next(line for line in out.splitlines() if line.startswith("contract.method"))
    assert header.split() == ["contract.method", "calls", "min", "mean", "median", "max"]
    stats = json.loads(snap.read_text())
    assert {"Counter.constructor", "Counter.increment", "Counter.decrement", "Counter.lock"} <= set(
        stats
    )
    inc = stats["Counter.increment"]
    assert inc["min"] <= inc["median"] <= inc["max"] and inc["calls"] >= 5
    row = next(line for line in out.splitlines() if line.startswith("Counter.increment"))
    assert row.split()[1:] == [f"{inc['calls']}", f"{inc['min']:,.0f}", f"{inc['mean']:,.0f}",
                               f"{inc['median']:,.0f}", f"{inc['max']:,.0f}"]  # fmt: skip


MINI_TESTS = """
import pytest


@pytest.fixture(scope="module")
def counter(deploy):
    return deploy("Counter", 5)


def test_plain_test_needs_no_chain():
    assert True


@pytest.mark.no_snapshot
def test_a_keeps_its_changes(counter):
    counter.increment(1)


def test_b_sees_them_then_changes_more(counter):
    assert counter.count() == 6
    counter.increment(10)


def test_c_rolled_back(counter):
    assert counter.count() == 6
"""


def _fake_install(site: Path) -> None:
    """A dist-info with pyproject's pytest11 entry point (what `pip install` would write)."""
    eps = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["entry-points"][
        "pytest11"
    ]
    dist = site / "edgemarket_plugin_probe-0.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: edgemarket-plugin-probe\nVersion: 0.0\n"
    )
    (dist / "entry_points.txt").write_text(
        "[pytest11]\n" + "".join(f"{name} = {target}\n" for name, target in eps.items())
    )


def _mini_project(tmp_path: Path) -> tuple[Path, Path]:
    project = tmp_path / "project"
    (project / "tests").mkdir(parents=True)
    (project / "pytest.ini").write_text(
        f"[pytest]\ntestpaths = tests\ncontracts_dir = {EXAMPLE / 'src'}\n"
    )
    (project / "tests" / "test_mini.py").write_text(MINI_TESTS)
    site = tmp_path / "site"
    _fake_install(site)
    return project, site


@pytest.mark.slow  # three pytest subprocesses; the tutorial run above is the fast representative
def test_entry_point_laziness_isolation_and_gas_check(tmp_path: Path) -> None:
    project, site = _mini_project(tmp_path)
    data = tmp_path / "data"
    # seed the redirected scratch with Counter's compiled artifact (saves a solcjs run)
    counter = (EXAMPLE / "src" / "Counter.sol").resolve()
    load_artifacts([counter], include_project=False)
    cached = f"{source_hash(build_input([counter]))}.json"
    (data / "artifacts").mkdir(parents=True)
    shutil.copy(data_dir("artifacts") / cached, data / "artifacts" / cached)

    # a test without chain fixtures starts no node (the isolation fixture is autouse)
    plain = _pytest(["-q", "-k", "plain"], project, site, data=data)
    assert plain.returncode == 0 and "1 passed, 3 deselected" in plain.stdout, plain.stdout[-2000:]
    assert not list(data.glob("chain/logs"))
    snap = project / ".gas-snapshot.json"

    # entry point + -p: loaded once; no_snapshot keeps test a's change, test b's is undone
    first = _pytest(
        ["-p", "ledger.chain.pytest_plugin", "-q", "--gas-snapshot"], project, site, data=data
    )
    out = first.stdout + first.stderr
    assert first.returncode == 0, out[-3000:]
    assert len(list(data.glob("chain/logs/anvil-*.log"))) == 1  # the control: this one did
    assert "4 passed" in out and f"gas snapshot written to {snap}" in out
    stats = json.loads(snap.read_text())
    assert stats["Counter.increment"]["calls"] == 2

    # entry point alone (no -p): options exist; a 5 % cheaper snapshot fails a 1 % check
    stats["Counter.increment"] = {
        k: (v * 0.95 if k != "calls" else v) for k, v in stats["Counter.increment"].items()
    }
    snap.write_text(json.dumps(stats))
    second = _pytest(["-q", "--gas-check", "--gas-tolerance", "1"], project, site)
    out = second.stdout + second.stderr
    assert "4 passed" in out, out[-3000:]
    assert second.returncode == 1
    assert "GAS REGRESSION Counter.increment: min gas" in out
    assert "Counter.constructor" not in out.split("gas check")[-1]  # unchanged: not reported
