"""PPO training on the new API stack (tiny), checkpoints, the curve in the store, and the
trained policy used as the `rllib` strategy in an ordinary run without Ray."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from learning_helpers import TINY_OVERRIDES, TRAINED_OVERRIDES
from sqlalchemy import select

from agents.learning.policy_strategy import (
    POLICY_META,
    RLlibBidding,
    RLlibPricing,
    read_policy_meta,
)
from agents.learning.training import PolicyMapper
from agents.scenario import ScenarioError, small
from ledger.store import RunStore, TrainingPoint


def test_training_writes_checkpoint_meta_and_curve(trained):
    res = trained["result"]
    ckpt = Path(res.checkpoint)
    assert len(res.curve) == 2 and res.modules == ["shared"]
    assert res.curve[-1].env_steps >= 80
    assert res.curve[-1].rewards["shared"] is not None
    assert "welfare" in res.curve[-1].metrics
    assert (ckpt / "learner_group" / "learner" / "rl_module" / "shared").is_dir()
    meta = read_policy_meta(ckpt)
    assert meta["agent_modules"] == {a: "shared" for a in (
        "node_0", "node_1", "node_2", "device_0", "device_1", "broker_0", "broker_1")}
    assert meta["unified"] and meta["roles"] == ["node", "device", "broker"]
    assert meta["learning"]["episode_rounds"] == 5
    assert json.loads((ckpt / "curve.json").read_text())[0]["iteration"] == 1
    store = RunStore(trained["db"])
    with store.engine.connect() as c:
        rows = c.execute(select(TrainingPoint.iteration, TrainingPoint.policy,
                                TrainingPoint.env_steps).where(TrainingPoint.session == "tiny")).all()
    assert [(r.iteration, r.policy) for r in rows] == [(1, "shared"), (2, "shared")]


def test_no_scratch_outside_the_repo(trained):
    import ray

    from agents.learning.ray_session import RAY_TMP, RESULTS_DIR

    session_dir = Path(ray._private.worker._global_node.get_session_dir_path()).resolve()
    assert session_dir.is_relative_to(RAY_TMP.resolve())
    assert trained["home_results_new"] == set()  # nothing new in ~/ray_results
    assert RESULTS_DIR.is_dir()


def test_rllib_strategy_prices_within_the_box_without_ray(trained):
    from agents.model import EdgeMarketModel

    ckpt = trained["result"].checkpoint
    sc = small(**{k.replace(".", "__"): v for k, v in TINY_OVERRIDES.items()},
               nodes__strategy={"name": "rllib", "params": {"checkpoint": ckpt}})
    model = EdgeMarketModel(sc, seed=3)
    for _ in range(3):
        model.step()
    mult = model.nodes.ask / model.nodes.cost
    assert np.all(mult >= 1.0 - 1e-9) and np.all(mult <= 3.0 + 1e-9)
    strat = model.node_strategies[0][0]
    assert isinstance(strat, RLlibPricing) and strat.features_._valid.sum() == 2  # history full
    # Deterministic: the same seed gives the same asks.
    again = EdgeMarketModel(sc, seed=3)
    for _ in range(3):
        again.step()
    assert np.array_equal(again.nodes.ask, model.nodes.ask)


def test_run_simulation_with_the_trained_policy(trained, db_url):
    from app.runner import run_simulation

    ckpt = trained["result"].checkpoint
    summary = run_simulation("smart_city", overrides={
        **TINY_OVERRIDES, "nodes.strategy": {"name": "rllib", "params": {"checkpoint": ckpt}}},
        seed=1, rounds=3, db_url=db_url)
    assert summary.rounds == 3 and summary.trades > 0


def test_bad_checkpoint_is_a_scenario_error(tmp_path):
    with pytest.raises(ScenarioError, match=POLICY_META):
        small(nodes__strategy={"name": "rllib", "params": {"checkpoint": str(tmp_path)}})


@pytest.mark.parametrize(("mode", "unified", "expected"), [
    ("shared", False, {"node_0": "shared", "device_1": "shared_device"}),
    ("shared", True, {"node_0": "shared", "device_1": "shared"}),
    ("per-role", False, {"node_0": "node", "device_1": "device"}),
    ("per-agent", False, {"node_0": "node_0", "device_1": "device_1"}),
    ("shared", False, {"broker_0": "shared_broker"}),
    ("shared", True, {"broker_3@w1": "shared"}),
    ("per-role", False, {"broker_3": "broker"}),
    ("per-agent", False, {"node_0@w2": "node_0", "broker_0": "broker", "broker_1@w1": "broker"}),
])
def test_policy_mapping(mode, unified, expected):
    mapper = PolicyMapper(mode, unified)
    assert {a: mapper(a, None) for a in expected} == expected


def test_edgemarket_run_with_learned_nodes_devices_and_brokers(trained, tmp_path):
    """The real CLI, in a subprocess: nodes, devices and brokers all on `rllib` strategies
    from the session's checkpoint; then the same scenario in process shows that the device
    policy's bids are not the truthful ones, and that learned brokers priced (there with the
    scenario's brokers kept, `broker_switch: false`, so that some surely offer)."""
    ckpt = trained["result"].checkpoint
    spec = f"{{name: rllib, params: {{checkpoint: '{ckpt}'}}}}"
    sets = {**TRAINED_OVERRIDES, "nodes.strategy": spec, "devices.strategy": spec,
            "devices.broker_strategy": spec}
    cmd = [sys.executable, "-m", "app.cli", "run", "smart_city", "--rounds", "4", "--seed", "2",
           "--chain", "none", "--json", "--quiet", "--db", f"sqlite:///{tmp_path / 'run.db'}"]
    for k, v in sets.items():
        cmd += ["--set", f"{k}={v}"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(Path.cwd())})
    assert out.returncode == 0, out.stderr[-2000:]
    summary = json.loads(out.stdout)
    assert summary["rounds"] == 4 and summary["trades"] > 0

    from agents.model import EdgeMarketModel

    params = {"checkpoint": ckpt}
    sc = small(**{k.replace(".", "__"): v for k, v in TRAINED_OVERRIDES.items()},
               nodes__strategy={"name": "rllib", "params": params},
               devices__strategy={"name": "rllib", "params": {**params, "broker_switch": False}},
               devices__broker_strategy={"name": "rllib", "params": params})
    model = EdgeMarketModel(sc, seed=2)
    strat = model.device_strategies[0][0]
    assert isinstance(strat, RLlibBidding)
    mult = []
    for _ in range(3):
        model.step()
        bp = model.broker_pricing
        offered = bp.offered > 0
        mult += (bp.ask[offered] / model.devices.cost[offered]).tolist()
    fb = model.device_feedback
    asked = fb.served > 0
    # Truthful bids have shade 0 (bid = value when the budget allows).
    assert asked.any() and np.all(fb.shade[asked] > 0.01)
    assert np.allclose(fb.shade[asked], strat.shade_[asked], atol=1e-9)
    assert isinstance(bp.strategy, RLlibPricing) and bp.strategy.runner_.role == "broker"
    assert mult and min(mult) >= 1 - 1e-9 and max(mult) <= 3 + 1e-9
