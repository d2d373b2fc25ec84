"""`edgemarket run` and `edgemarket runs` as a user drives them: real processes, a real SQLite file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SMALL = ["--set", "devices.count=30", "--set", "nodes.count=3", "--set", "snapshot_every=0"]


def edgemarket(*args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}  # rich tables wrap at 80 columns without a terminal
    return subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env=env)


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'runs.db'}"


def test_run_json_summary_is_reproducible_and_listed(db: str, tmp_path: Path) -> None:
    out_a, out_b = tmp_path / "a.json", tmp_path / "b.json"
    for out in (out_a, out_b):
        r = edgemarket("run", "--rounds", "4", "--seed", "5", "--chain", "none", "--db", db, "--summary-out", str(out), *SMALL)
        assert r.returncode == 0, r.stderr
        assert "final prices" in r.stdout and "QoAIS per service class" in r.stdout
    a, b = json.loads(out_a.read_text()), json.loads(out_b.read_text())
    assert a["run_id"] == 1 and b["run_id"] == 2
    for d in (a, b):
        d.pop("run_id")
        d.pop("wall_s")
    assert a == b
    assert set(a["final_prices"]) == {"communication", "caching", "computation", "learning"}
    listed = edgemarket("runs", "list", "--db", db)
    assert listed.returncode == 0 and "smart_city" in listed.stdout and "done" in listed.stdout
    shown = edgemarket("runs", "show", "1", "--db", db, "--json")
    assert json.loads(shown.stdout)["summary"]["trades"] == b["trades"]


def test_runs_delete_removes_rows(db: str) -> None:
    assert edgemarket("run", "--rounds", "2", "--chain", "none", "--db", db, "--quiet", *SMALL).returncode == 0
    r = edgemarket("runs", "delete", "1", "--db", db, "--yes")
    assert r.returncode == 0 and "deleted run 1" in r.stdout
    assert edgemarket("runs", "show", "1", "--db", db).returncode == 2


def test_runs_prune_keeps_the_newest_and_removes_chain_state(db: str) -> None:
    # Run 1 is settled on its own Anvil (a state file); runs 2 and 3 are not.
    assert edgemarket("run", "--rounds", "2", "--db", db, "--quiet", *SMALL).returncode == 0
    for _ in range(2):
        assert edgemarket("run", "--rounds", "2", "--chain", "none", "--db", db, "--quiet",
                          *SMALL).returncode == 0
    from ledger.store import RunStore

    state = Path(RunStore(db).get_run(1).chain_info["state_file"])
    assert state.exists()
    dry = edgemarket("runs", "prune", "--keep", "1", "--dry-run", "--db", db)
    assert dry.returncode == 0 and "would delete 2 run(s) (2, 1) and 1 chain state file" in dry.stdout
    assert state.exists()
    r = edgemarket("runs", "prune", "--keep", "1", "--yes", "--db", db)
    assert r.returncode == 0 and "deleted 2 run(s)" in r.stdout
    assert not state.exists()
    listed = edgemarket("runs", "show", "3", "--db", db)
    assert listed.returncode == 0
    assert edgemarket("runs", "show", "1", "--db", db).returncode == 2
    again = edgemarket("runs", "prune", "--keep", "1", "--db", db)
    assert again.returncode == 0 and "nothing to prune" in again.stdout
    bad = edgemarket("runs", "prune", "--status", "lost", "--db", db)
    assert bad.returncode == 2 and "--status" in bad.stderr and "Traceback" not in bad.stderr


def test_json_to_stdout(db: str) -> None:
    r = edgemarket("run", "--rounds", "2", "--chain", "none", "--db", db, "--json", *SMALL)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["rounds"] == 2


@pytest.mark.parametrize(("args", "needle"), [
    (["--rounds", "0"], "rounds: must be at least 1"),
    (["--set", "devices.count=-3"], "devices.count"),
    (["--set", "nodes.capacity.computation_gflop=-1"], "nodes.capacity.computation_gflop"),
    (["--set", "devices.colour=red"], "devices.colour"),
    (["--mechanism", "vickrey"], "vickrey"),
    (["--set", "nodes.strategy.name=psychic"], "psychic"),
    (["--set", "novalue"], "--set"),
    (["--db", "notaurl://x"], "--db"),
    (["nosuchscenario"], "nosuchscenario"),
])
def test_bad_input_is_one_line_exit_2_and_no_traceback(db: str, args: list[str], needle: str) -> None:
    full = ["run", "--chain", "none", *args] if "--db" in args else ["run", "--chain", "none", "--db", db, *args]
    r = edgemarket(*full)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert needle in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("args", [["run", "--bogus"], ["runs", "show", "abc"], ["market", "clear"]])
def test_usage_errors_exit_2_without_traceback(args: list[str]) -> None:
    r = edgemarket(*args)
    assert r.returncode == 2 and "Error" in r.stderr and "Traceback" not in r.stderr


def test_unreachable_chain_is_a_user_error_and_the_run_stays_resumable(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEMARKET_OPERATOR_KEY", "0x" + "11" * 32)  # an external chain needs a key
    r = edgemarket("run", "--rounds", "1", "--chain", "http://127.0.0.1:1", "--db", db, *SMALL)
    assert r.returncode == 2 and "--chain" in r.stderr and "Traceback" not in r.stderr
    assert f"--resume 1 --db {db}" in r.stderr  # a transient error: resuming may help
    shown = edgemarket("runs", "show", "1", "--db", db, "--json")
    assert json.loads(shown.stdout)["status"] == "failed"


def test_every_command_has_help() -> None:
    top = edgemarket("--help")
    assert top.returncode == 0
    for cmd in (["run"], ["runs", "list"], ["runs", "show"], ["market", "clear"], ["scenario", "show"],
                ["ledger", "reconcile"], ["train"], ["sweep"], ["evaluate"], ["app"]):
        r = edgemarket(*cmd, "--help")
        assert r.returncode == 0 and "Usage" in r.stdout, (cmd, r.stderr)


def test_a_user_strategy_plugs_in_by_name(db: str) -> None:
    env = {**os.environ, "EDGEMARKET_PLUGINS": "undercut_plugin",
           "PYTHONPATH": str(Path(__file__).parent / "plugins")}
    args = ["run", "--rounds", "3", "--chain", "none", "--db", db, "--json", *SMALL,
            "--set", "nodes.strategy.name=undercut", "--set", "nodes.strategy.params.discount=0.1"]
    r = subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=ROOT, capture_output=True, text=True,
                       env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["trades"] > 0
    without = edgemarket(*args)
    assert without.returncode == 2 and "undercut" in without.stderr
