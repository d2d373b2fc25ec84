"""Every ready scenario x every built-in mechanism settles on Anvil and reconciles.

Each case runs the real commands in-process (typer's runner over ``app.cli``): ``edgemarket
run SCENARIO --mechanism M --rounds 10`` settles every round on its own Anvil (fewer devices
and nodes than the scenario's, to fit CI), then ``edgemarket ledger reconcile RUN_ID``
compares the store with the chain. Both must exit 0. Before the contracts compensated
violations from existing stake, 3 of the then 16 pairs died with ``NotRegistered`` (a broker's
violation reverted its round's batch).

The pairs on the diagonal (each scenario once, each mechanism at least once: five of the
twenty with scarce_hotspots) run by default; the others are marked ``matrix`` (``pytest -m matrix tests/chain/test_run_matrix.py``). The last test runs a run whose nodes stake nothing
(``settlement.node_stake_credits=0``: no node is ever registered).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from ledger.chain.paths import REPO_ROOT

pytestmark = pytest.mark.chain

SCENARIOS = sorted(p.stem for p in (REPO_ROOT / "scenarios").glob("*.yaml") if p.stem != "metro")
MECHANISMS = ["uniform", "mcafee", "tatonnement", "equilibrium"]
SMALL = ["--set", "devices.count=30", "--set", "nodes.count=4"]
ROUNDS = 10


def _cases() -> list[object]:
    cases = []
    for i, scenario in enumerate(SCENARIOS):
        for j, mechanism in enumerate(MECHANISMS):
            marks = () if i % len(MECHANISMS) == j else (pytest.mark.slow, pytest.mark.matrix)
            cases.append(pytest.param(scenario, mechanism, marks=marks, id=f"{scenario}-{mechanism}"))
    return cases


def _run_and_reconcile(tmp_path: Path, *args: str) -> tuple[dict, str]:
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    summary = tmp_path / "summary.json"
    runner = CliRunner()
    run = runner.invoke(cli, ["run", *args, "--db", db, "--summary-out", str(summary), "-q"])
    assert run.exit_code == 0, f"run {args} exited {run.exit_code}: {run.output[-2000:]} {run.exception!r}"
    result = json.loads(summary.read_text())
    rec = runner.invoke(cli, ["ledger", "reconcile", str(result["run_id"]), "--db", db])
    assert rec.exit_code == 0, f"reconcile of {args} exited {rec.exit_code}: {rec.output[-2000:]}"
    return result, rec.output


def test_the_scenario_list_is_the_ready_one() -> None:
    # guards the matrix against a renamed or vanished scenario (it would shrink silently)
    assert SCENARIOS == ["codesign_cell", "factory", "highway", "scarce_hotspots", "smart_city"]


@pytest.mark.parametrize(("scenario", "mechanism"), _cases())
def test_scenario_x_mechanism_settles_and_reconciles(tmp_path: Path, scenario: str, mechanism: str) -> None:
    result, _ = _run_and_reconcile(
        tmp_path, scenario, "--mechanism", mechanism, "--rounds", str(ROUNDS), "--seed", "7", *SMALL
    )
    assert result["rounds"] == ROUNDS and result["mechanism"] == mechanism


def test_nodes_without_stake_do_not_stop_a_run(tmp_path: Path) -> None:
    result, _ = _run_and_reconcile(
        tmp_path, "factory", "--mechanism", "mcafee", "--rounds", str(ROUNDS), "--seed", "7", *SMALL,
        "--set", "settlement.node_stake_credits=0",
    )
    assert result["rounds"] == ROUNDS
