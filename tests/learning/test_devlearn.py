"""Devices and brokers learn (issue 14, item 3): the per-device observation of the device
strategy interface, old-style device strategies, learning-broker slots in the envs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from learning_helpers import TINY_LEARNING, TINY_OVERRIDES
from pettingzoo.test import parallel_api_test

from agents.learning.core import MarketCore
from agents.learning.observations import device_features
from agents.learning.pettingzoo_env import EdgeMarketParallelEnv
from agents.learning.spaces import env_config
from agents.model import EdgeMarketModel
from agents.scenario import ScenarioError, small
from agents.strategies import DeviceObservation, DeviceStrategy, register_strategy

#: Enough brokers in the tiny scenario that most seeds draw some.
BROKERS = {**TINY_OVERRIDES, "devices.broker_fraction": 0.3}


class Recorder(DeviceStrategy):
    """Bids value × (1 − shade of its row) and records what it is handed."""

    def __init__(self, shades: np.ndarray) -> None:
        self.shades = shades
        self.bids: list[tuple[DeviceObservation, np.ndarray, np.ndarray]] = []
        self.updates: list[tuple[DeviceObservation, np.ndarray, np.ndarray, np.ndarray]] = []

    def bid(self, value, budget, obs=None):
        assert obs is not None
        b = np.minimum(value * (1.0 - self.shades[obs.rows[obs.request]]), budget)
        self.bids.append((obs, value.copy(), b))
        return b

    def update(self, served, paid, value, obs=None):
        self.updates.append((obs, served.copy(), paid.copy(), value.copy()))


def _tiny(**extra):
    return small(**{k.replace(".", "__"): v for k, v in {**TINY_OVERRIDES, **extra}.items()})


def test_device_observation_is_the_devices_own_state():
    """Every field against a plain per-device loop over what the strategy was handed and
    the model's tables (no brokers, so utility is value got − paid)."""
    sc = _tiny(**{"devices.broker_fraction": 0.0, "devices.budget_credits": 1e6})
    model = EdgeMarketModel(sc, seed=4)
    n = model.devices.uid.size
    shades = 0.05 + 0.4 * (np.arange(n) % 5) / 4
    rec = Recorder(shades)
    model.device_strategies = [(rec, np.arange(n))]
    first = model.device_feedback.observation(np.arange(n))
    assert np.all(first.budget == 1.0) and np.all(first.shade == 0.0)
    for _ in range(4):
        model.step()
    obs, served, paid, value = rec.updates[-1]
    dev, nodes = model.devices, model.nodes
    cls_value = model.classes.value_credits[dev.cls]
    asked = set()
    for i in range(n):
        mine = [k for k in range(obs.request.size) if obs.rows[obs.request[k]] == i]
        if mine:
            asked.add(i)
            assert obs.shade[i] == pytest.approx(shades[i])
            assert obs.served[i] == pytest.approx(np.mean(served[mine]))
            util = sum(served[k] * value[k] - paid[k] for k in mine) / cls_value[i]
            assert obs.utility[i] == pytest.approx(util, abs=1e-9)
        else:
            assert obs.served[i] == 0.0 and obs.utility[i] == 0.0
        assert obs.budget[i] == pytest.approx(dev.budget_credits[i] / 1e6)
        assert obs.battery[i] == pytest.approx(dev.battery_j[i] / dev.battery_capacity_j[i])
        a = dev.attached[i]
        assert obs.attached[i] == float(a >= 0)
        for r in range(4):
            want = 0.0
            if a >= 0 and np.isfinite(nodes.market_price[a, r]):
                want = nodes.market_price[a, r] / nodes.cost[a, r]
            assert obs.price[i, r] == pytest.approx(want)
    assert len(asked) > n // 4
    # Bids: request k's device is rows[request[k]], and the bid used that device's shade.
    bobs, bval, bids = rec.bids[-1]
    want = bval * (1 - shades[bobs.rows[bobs.request]])
    assert np.allclose(bids, want)


def test_env_devices_see_what_device_strategies_see():
    """A learning device acting truthfully (shade 0, no broker switch) observes in the env
    what a device strategy is handed in a plain run of the same seed."""
    overrides = {**TINY_OVERRIDES, "devices.broker_fraction": 0.0}
    core = MarketCore(_tiny(**{"devices.broker_fraction": 0.0}), {**TINY_LEARNING, "devices": 3,
                                                                  "nodes": "none"})
    core.reset(7)
    model = EdgeMarketModel(small(**{k.replace(".", "__"): v for k, v in overrides.items()}),
                            seed=7)
    n = model.devices.uid.size
    rec = Recorder(np.zeros(n))
    model.device_strategies = [(rec, np.arange(n))]
    for _ in range(3):
        core.step(None, np.zeros((3, 2)))
        model.step()
        env_obs = core.device_observations()
        run_obs = device_features(rec.updates[-1][0])[:3]
        assert np.array_equal(env_obs, run_obs)
    assert env_obs[:, 4].sum() > 0 or env_obs[:, 6:10].sum() > 0  # not all empty


def test_old_style_device_strategies_still_run_and_bad_ones_are_refused():
    calls = []

    @register_strategy("test_old_style_bidder")
    class OldStyle(DeviceStrategy):
        def bid(self, value, budget):
            calls.append("bid")
            return np.minimum(0.5 * value, budget)

        def update(self, served, paid, value):
            calls.append("update")

    sc = _tiny(**{"devices.strategy": {"name": "test_old_style_bidder"}})
    model = EdgeMarketModel(sc, seed=1)
    model.step()
    model.step()
    assert calls.count("bid") == 2 and calls.count("update") == 2
    # The model recorded the old-style bids' shading (0.5) for the devices that asked.
    assert np.any(np.isclose(model.device_feedback.shade, 0.5))

    with pytest.raises(TypeError, match=r"bid\(\) must accept \(value, budget\[, obs\]\)"):
        @register_strategy("test_broken_bidder")
        class Broken(DeviceStrategy):
            def bid(self, value):
                return value


def test_broker_slots_bind_price_and_earn():
    """Slots bind to the world's brokers in row order; their asks are cost × multiplier;
    the reward is income − true cost of what they sold (from the trades), per cost of
    full capacity."""
    core = MarketCore(small(**{k.replace(".", "__"): v for k, v in {
        **BROKERS, "nodes.capacity.computation_gflop": 2000}.items()}),
        {**TINY_LEARNING, "nodes": "none", "brokers": 3, "sla_penalty": 0.0})
    core.reset(1)
    dev = core.model.devices
    drawn = np.flatnonzero(dev.is_broker)
    assert drawn.size >= 3 and core.broker_rows.tolist() == drawn[:3].tolist()
    mult = np.array([[1.0, 1.5, 2.0, 2.5], [1.2, 1.2, 1.2, 1.2], [3.0, 1.0, 1.0, 1.0]])
    sold_any = False
    for _ in range(5):
        out = core.step(None, None, mult)
        rows = core.broker_rows
        bp = core.model.broker_pricing
        offered = bp.offered[rows] > 0
        want = np.maximum(dev.cost[rows] * mult, dev.cost[rows])
        assert np.allclose(bp.ask[rows][offered], want[offered])
        trades = out.round_result.clearing.trades
        for s, row in enumerate(rows):
            mine = trades.seller == dev.uid[row]
            income = float((trades.quantity[mine] * trades.seller_price[mine]).sum())
            cost = sum(float(trades.quantity[mine & (trades.resource == r)].sum()) * dev.cost[row, r]
                       for r in range(4) if np.any(mine & (trades.resource == r)))
            scale = (dev.capacity[row] * np.nan_to_num(dev.cost[row], posinf=0.0)).sum()
            assert out.broker_rewards[s] == pytest.approx((income - cost) / scale, abs=1e-9)
            sold_any |= bool(mine.any())
    assert sold_any


def test_absent_broker_slots_are_not_agents():
    env = EdgeMarketParallelEnv(env_config("smart_city", overrides=TINY_OVERRIDES, small=True,
                                           learning={**TINY_LEARNING, "brokers": 4}))
    obs, _ = env.reset(seed=0)  # seed 0 of the tiny scenario draws no broker
    assert env.possible_agents[-4:] == ["broker_0", "broker_1", "broker_2", "broker_3"]
    assert not any(a.startswith("broker_") for a in env.agents)
    assert set(obs) == set(env.agents)


# Broker slots without a broker are never in ``agents``, so never truncated: by design.
@pytest.mark.filterwarnings("ignore:No agents present but not all possible_agents:UserWarning")
@pytest.mark.parametrize("policy", ["shared", "per-role"])
def test_pettingzoo_api_with_nodes_devices_and_brokers(policy):
    cfg = env_config("smart_city", overrides=BROKERS, small=True,
                     learning={**TINY_LEARNING, "devices": 2, "brokers": "all", "policy": policy})
    env = EdgeMarketParallelEnv(cfg)
    parallel_api_test(env, num_cycles=12)
    obs, _ = env.reset(seed=1)
    brokers = [a for a in env.agents if a.startswith("broker_")]
    assert brokers and {a.split("_")[0] for a in env.agents} == {"node", "device", "broker"}
    widths = {obs[a].shape[0] for a in env.agents}
    assert widths == ({3 + 39} if policy == "shared" else {39, 11})


@pytest.mark.parametrize(("key", "role"), [("devices__strategy", "device"),
                                           ("devices__broker_strategy", "broker")])
def test_rllib_strategy_of_a_role_the_checkpoint_lacks_is_a_scenario_error(tmp_path, key, role):
    (tmp_path / "edgemarket_policy.json").write_text(
        json.dumps({"modules": ["shared"], "agent_modules": {"node_0": "shared"}}))
    field = key.replace("__", ".")
    with pytest.raises(ScenarioError, match=rf"{field}: params: .*no {role} policy"):
        small(**{key: {"name": "rllib", "params": {"checkpoint": str(tmp_path)}}})


def test_a_plugin_with_an_unusable_bid_is_a_one_line_user_error(tmp_path, monkeypatch):
    from app.errors import UserError
    from app.plugins import load_plugins

    (tmp_path / "broken_bid_plugin.py").write_text(
        "from agents.strategies import DeviceStrategy, register_strategy\n\n"
        "@register_strategy('broken_bid')\n"
        "class Broken(DeviceStrategy):\n"
        "    def bid(self):\n"
        "        return 0.0\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("EDGEMARKET_PLUGINS", "broken_bid_plugin")
    with pytest.raises(UserError, match=r"EDGEMARKET_PLUGINS: plug-in 'broken_bid_plugin': device "
                                        r"strategy Broken: bid\(\) must accept"):
        load_plugins()
