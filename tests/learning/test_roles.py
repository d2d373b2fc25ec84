"""agents.learning.roles: the baselines are what they say (read back through the env's own
action decoding and the model's device state), the arms are paired, a policy that plays the
baseline gains exactly nothing, and bench/bench_three_roles.py --quick trains all three
roles for real and prints its JSON line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from learning_helpers import TRAINED_LEARNING, TRAINED_OVERRIDES

from tests.bench_run import run_bench


def _env_config(unified: bool, worlds: int = 1) -> dict[str, Any]:
    from agents.learning.spaces import env_config

    return env_config("smart_city", small=True, overrides=TRAINED_OVERRIDES, seed=0,
                      learning={**TRAINED_LEARNING, "worlds": worlds}, unified=unified)


@pytest.mark.parametrize("unified", [False, True])
def test_baselines_decode_to_truthful_buyers_and_cost_asks(unified: bool) -> None:
    from agents.learning.roles import baseline_action
    from agents.learning.spaces import AgentSpaces, core_from_config

    spaces = AgentSpaces(core_from_config(_env_config(unified)), unified)
    dev = spaces.decode_devices(baseline_action(spaces, "device")[None, :])
    assert dev.tolist() == [[0.0, -1.0]]  # shade 0, broker switch off
    broker = spaces.decode_nodes(baseline_action(spaces, "broker")[None, :])
    np.testing.assert_allclose(broker, np.ones((1, 4)), atol=1e-6)


class _Playing:
    """Acts every agent with a fixed decoded action per role (a stand-in policy)."""

    def __init__(self, per_role: dict[str, np.ndarray]) -> None:
        self.per_role = per_role

    def actions(self, obs: dict[str, np.ndarray], spaces: dict[str, Any]) -> dict[str, np.ndarray]:
        from agents.learning.spaces import role_of

        return {a: self.per_role[role_of(a)] for a in obs}


def test_the_device_arm_makes_learning_devices_truthful_buyers_and_pairs_seeds() -> None:
    from agents.learning.roles import ArmResult, run_arm

    shading = _Playing({"node": np.full(4, 1.5, np.float32),
                        "device": np.array([0.4, 1.0], np.float32),
                        "broker": np.full(4, 2.0, np.float32)})
    cfg = _env_config(False)
    learned = run_arm(cfg, shading, seed=7, arm="learned")
    as_base = run_arm(cfg, shading, seed=7, arm="device")
    assert isinstance(learned, ArmResult) and learned.agent_rounds["device"] == 2 * 5
    assert learned.reward["device"] != as_base.reward["device"]

    # The device arm's actions as the model saw them: shade 0, not brokers.
    from agents.learning.rllib_env import EdgeMarketMultiAgentEnv
    from agents.learning.roles import baseline_action

    env = EdgeMarketMultiAgentEnv({**cfg, "seed": 7})
    env.reset(seed=7)
    base = baseline_action(env.spaces, "device")
    env.step({a: (base if a.startswith("device") else np.full(4, 1.5, np.float32))
              for a in env.agents})
    rows = env.core.device_rows
    assert not env.core.model.devices.is_broker[rows].any()
    assert all(s.shade == 0.0 for s in env.core._shades)


def test_a_policy_playing_the_baseline_gains_nothing() -> None:
    from agents.learning.roles import baseline_action, role_gains, run_arm
    from agents.learning.spaces import AgentSpaces, core_from_config

    cfg = _env_config(False, worlds=2)
    spaces = AgentSpaces(core_from_config(cfg), False)
    play = _Playing({"node": np.full(4, 1.5, np.float32),
                     "device": baseline_action(spaces, "device"),
                     "broker": baseline_action(spaces, "broker")})
    results = [run_arm(cfg, play, s, arm) for s in (3, 4)
               for arm in ("learned", "device", "broker")]
    gains = {g.role: g for g in role_gains(results)}
    assert set(gains) == {"device", "broker"}
    for g in gains.values():
        assert g.gain == 0.0 and g.welfare_change == 0.0 and g.ci_low == g.ci_high == 0.0


def test_bench_three_roles_quick_trains_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "three"
    proc = run_bench("bench_three_roles.py", "--quick", "--iterations", "1", "--seeds", "2",
                     "--out", str(out), timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = json.loads(proc.stdout.strip().splitlines()[-1])
    assert line["name"] == "three_roles" and line["seeds"] == 2 and line["iterations"] == 1
    for role in ("device", "broker"):
        lo, hi = line[f"{role}_ci"]
        assert lo <= line[f"{role}_gain"] <= hi
    assert set(line["curve_last"]) >= {"node", "device", "broker"}
    assert (out / "edgemarket_policy.json").is_file()


def test_the_untrained_checkpoint_is_the_trainings_starting_point(ray_local: Any,
                                                                   tmp_path: Path) -> None:
    """Two builds of one spec saved before any iteration hold the same weights (RLlib seeds
    module initialisation from the spec's seed), so bench_three_roles' untrained policies
    are the ones its training started from; another seed gives other weights."""
    import torch

    from agents.learning.training import TrainSpec, train

    def weights(seed: int, name: str) -> dict[str, Any]:
        spec = TrainSpec(overrides=TRAINED_OVERRIDES, learning=TRAINED_LEARNING,
                         policy="per-role", iterations=0, seed=seed, record=False,
                         out=str(tmp_path / name), train_batch_size=20, minibatch_size=10)
        ckpt = Path(train(spec).checkpoint)
        from agents.learning.policy_strategy import MODULES_SUBDIR, load_module

        return {m: load_module(str(ckpt / MODULES_SUBDIR / m)).state_dict()
                for m in ("node", "device", "broker")}

    a, b, c = weights(1, "a"), weights(1, "b"), weights(2, "c")
    for module in a:
        for key, tensor in a[module].items():
            assert torch.equal(tensor, b[module][key]), (module, key)
    assert any(not torch.equal(t, c["node"][k]) for k, t in a["node"].items())
