"""`edgemarket train`, `evaluate` and `sweep` through the real entry point (app.cli.main)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_run import run
from sqlalchemy import select

from ledger.store import Evaluation, Run, RunStore, TrainingPoint

TINY_SETS = ["--set", "devices.count=20", "--set", "nodes.count=3", "--set", "snapshot_every=0"]


def test_train_command(ray_local, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    out_dir = tmp_path / "pol"
    code, out, err = run(["train", "smart_city", "--iterations", "1", "--policy", "per-agent",
                          "--batch", "20", "--learn", "episode_rounds=5", "--learn", "nodes=[0, 2]",
                          "--set", "learning.max_multiplier=2",
                          *TINY_SETS, "--out", str(out_dir), "--db", db, "--session", "cli",
                          "--json"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["modules"] == ["node_0", "node_2"] and len(doc["curve"]) == 1
    meta = json.loads((out_dir / "edgemarket_policy.json").read_text())
    assert meta["learning"]["max_multiplier"] == 2.0 and meta["learning"]["nodes"] == [0, 2]
    assert meta["agent_modules"] == {"node_0": "node_0", "node_2": "node_2"}
    with RunStore(db).engine.connect() as c:
        pols = c.execute(select(TrainingPoint.policy).where(TrainingPoint.session == "cli")).scalars().all()
    assert sorted(pols) == ["node_0", "node_2"]


@pytest.mark.parametrize(("args", "needle"), [
    (["train", "no_such_scenario"], "unknown scenario"),
    (["train", "smart_city", "--policy", "everyone"], "--policy"),
    (["train", "smart_city", "--learn", "max_multiplier=0.5"], "--learn"),
    (["train", "smart_city", "--learn", "brokers=some"], "--learn brokers: must be all, none"),
    (["train", "smart_city", "--set", "devices.count=-3"], "devices.count"),
    (["evaluate", "smart_city", "--checkpoint", "/nonexistent"], "--checkpoint"),
    (["sweep", "smart_city", "--grid", "devices.count"], "--grid"),
    (["sweep", "nope"], "unknown scenario"),
])
def test_user_errors_are_one_line(args, needle, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = run(args, capsys)
    assert code == 2
    assert needle in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_evaluate_rule_based(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path / 'ev.db'}"
    md = tmp_path / "table.md"
    code, out, err = run(["evaluate", "smart_city", "--seeds", "1", "--rounds", "3", *TINY_SETS,
                          "--db", db, "--session", "ev", "--markdown", str(md)], capsys)
    assert code == 0, err
    assert "| equilibrium |" in out and md.read_text().startswith("| pricing |")
    with RunStore(db).engine.connect() as c:
        n = len(c.execute(select(Evaluation.id).where(Evaluation.session == "ev")).all())
    assert n == 3


def test_sweep_command_serial_and_resume(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path / 'sw.db'}"
    args = ["sweep", "smart_city", "--grid", "devices.count=10,12", "--grid",
            "market.mechanism=uniform,bogus", "--seeds", "1", "--rounds", "2", "--serial",
            "--db", db, "--name", "cli"]
    code, out, _err = run([*args, "--json"], capsys)
    assert code == 1  # two cells failed (bogus mechanism); the others ran
    doc = json.loads(out)
    assert (doc["done"], doc["failed"]) == (2, 2)
    code, out, _err = run([*args, "--resume"], capsys)
    assert code == 1
    assert "2 done, 2 failed, 2 skipped" not in out  # skipped cells are not re-run
    assert "0 done, 2 failed, 2 skipped of 4 cells" in out
    with RunStore(db).engine.connect() as c:
        labels = c.execute(select(Run.label).where(Run.status == "done")).scalars().all()
    assert sorted(labels) == ["sweep:cli:devices.count=10,market.mechanism=uniform:seed=0",
                              "sweep:cli:devices.count=12,market.mechanism=uniform:seed=0"]
