"""Speed of a user's contract test suite under the pytest plugin: snapshot/revert per test.

Generates a suite of N small tests (default 50) on the tutorial's ``Counter``
(examples/contracts/src/Counter.sol) and runs it with ``pytest -p ledger.chain.pytest_plugin``
in a subprocess, twice, each on its own Anvil:

- ours: the contract is deployed once (module fixture); every test runs between
  ``evm_snapshot`` and ``evm_revert`` (the plugin's default isolation);
- baseline "fresh deploy per test": every test deploys its own Counter (no snapshot), the
  usual way to isolate tests without snapshots.

Each test sends one transaction (short form), reads two views and checks one revert.
Timed: from the moment the ``anvil`` fixture has started the node to the end of the last
test (so interpreter start, imports and the Anvil start are excluded, as the target says
"after the Anvil start"; the compile is cached by source hash and done before timing by a
warm-up run). Target: ours <= 10 s for 50 tests.

    .venv/bin/python bench/bench_contract_tests.py [--quick] [--tests N]
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import parser, report
from ledger.chain.compiler import load_artifacts
from ledger.chain.paths import REPO_ROOT, data_dir

COUNTER_SRC = REPO_ROOT / "examples" / "contracts" / "src"

CONFTEST = '''
"""Times the suite from the end of the anvil fixture's setup to the last test's end."""
import json, os, time
import pytest

T = {}


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef, request):
    result = yield
    if fixturedef.argname == "anvil" and "anvil_ready" not in T:
        T["anvil_ready"] = time.perf_counter()
    return result


def pytest_runtest_logfinish(nodeid, location):
    T["last_end"] = time.perf_counter()


def pytest_sessionfinish(session, exitstatus):
    with open(os.environ["BENCH_TIMES"], "w") as fh:
        json.dump({"suite_s": T["last_end"] - T["anvil_ready"], "exit": int(exitstatus)}, fh)
'''

TEST_HEAD = """
import pytest
from ledger.chain.testing import expect_revert

"""

SNAPSHOT_FIXTURE = """
@pytest.fixture(scope="module")
def counter(deploy):
    return deploy("Counter", 5)

"""

FRESH_FIXTURE = """
pytestmark = pytest.mark.no_snapshot


@pytest.fixture
def counter(deploy):
    return deploy("Counter", 5)

"""

TEST_BODY = """
def test_{i}(counter, accounts):
    start = counter.count()
    counter.increment({step}, sender=accounts.deployer)
    assert counter.count() == start + {step}
    with expect_revert(counter.NotOwner, caller=accounts.alice):
        counter.increment(1, sender=accounts.alice)
"""


def _suite(folder: Path, fixture: str, n: int) -> None:
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "tests").mkdir(parents=True)
    (folder / "pytest.ini").write_text(
        f"[pytest]\ntestpaths = tests\ncontracts_dir = {COUNTER_SRC}\n"
    )
    (folder / "conftest.py").write_text(CONFTEST)  # at the root: sees session fixtures
    body = "".join(TEST_BODY.format(i=i, step=i + 1) for i in range(n))
    (folder / "tests" / "test_suite.py").write_text(TEST_HEAD + fixture + body)


def _run(folder: Path) -> dict[str, float]:
    times = folder / "times.json"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "BENCH_TIMES": str(times)}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "ledger.chain.pytest_plugin", "-p", "no:cacheprovider"],
        cwd=folder, env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(f"suite in {folder} failed:\n{(proc.stdout + proc.stderr)[-3000:]}")
    return dict(json.loads(times.read_text()))


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--tests", type=int, default=50, help="tests in the suite (default 50)")
    p.add_argument("--repeat", type=int, default=2, help="runs of each variant (best kept)")
    args = p.parse_args()
    n = args.tests
    repeat = 1 if args.quick else args.repeat
    load_artifacts(sorted(COUNTER_SRC.glob("*.sol")), include_project=False)  # compile once, cached
    root = data_dir("bench", "contract_tests")
    ours_dir, base_dir = root / "snapshot", root / "fresh_deploy"
    _suite(ours_dir, SNAPSHOT_FIXTURE, n)
    _suite(base_dir, FRESH_FIXTURE, n)
    ours = min(_run(ours_dir)["suite_s"] for _ in range(repeat))
    base = min(_run(base_dir)["suite_s"] for _ in range(repeat))
    report(
        "contract_test_suite",
        ours,
        base,
        target=f"{n} tests <= 10 s after the Anvil start",
        tests=n,
        per_test_ms=round(1000 * ours / n, 2),
        baseline="fresh deploy per test (no snapshot)",
        met=ours <= 10.0,
        cpus=os.cpu_count(),
    )


if __name__ == "__main__":
    main()
