"""The Mesa model: determinism, conservation of resources and money, handovers, QoAIS
bounds, every scenario and mechanism running, and the RL seams."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from agents.device import Device
from agents.edge_node import EdgeNode
from agents.model import NODE_OBSERVATION_FIELDS, EdgeMarketModel
from agents.qoais import TIMEOUT_MS
from agents.results import AgentSnapshot, ClassQoAIS, RoundResult
from agents.scenario import Scenario, available_scenarios
from agents.scenario import small as tiny


def _fingerprint(rr: RoundResult) -> tuple:
    t = rr.clearing.trades
    return (
        rr.round, rr.n_requests, rr.n_served, rr.handovers, rr.sla_rate,
        t.buyer.tobytes(), t.seller.tobytes(), t.quantity.tobytes(), t.price.tobytes(),
        rr.clearing.bundles_served.tobytes(), rr.clearing.prices.tobytes(),
        tuple(sorted(rr.net_credits.items())), tuple(sorted(rr.contributions.items())),
        tuple(rr.violations), tuple(tuple(sorted(q.to_dict().items())) for q in rr.qoais),
    )


def test_same_seed_same_run(small_city: Scenario) -> None:
    a = EdgeMarketModel(small_city, seed=11).run(4)
    b = EdgeMarketModel(small_city, seed=11).run(4)
    assert [_fingerprint(r) for r in a] == [_fingerprint(r) for r in b]
    c = EdgeMarketModel(small_city, seed=12).run(4)
    assert [_fingerprint(r) for r in a] != [_fingerprint(r) for r in c]


def test_round_result_contract(small_city: Scenario) -> None:
    model = EdgeMarketModel(small_city, seed=1)
    rr = model.step()
    assert isinstance(rr, RoundResult) and model.history == [rr] and rr.round == 1
    assert len(rr.qoais) == len(small_city.service_classes)
    assert all(isinstance(q, ClassQoAIS) for q in rr.qoais)
    assert rr.clearing.bundles_served.shape == (rr.n_requests,)
    assert rr.clearing.prices.shape == (4,)
    for provider, buyer, credits in rr.violations:
        assert isinstance(provider, int) and isinstance(buyer, int) and credits >= 0
    rr2 = model.step()
    assert rr2.round == 2 and isinstance(rr2.snapshot, AgentSnapshot)  # snapshot_every = 2
    snap = rr2.snapshot
    assert set(snap.kind.tolist()) == {"node", "device", "cloud"}
    assert all(len(getattr(snap, f.name)) == len(snap) for f in dataclasses.fields(snap))
    assert np.all((snap.utilization >= 0) & (snap.utilization <= 1 + 1e-9))
    assert rr.snapshot is None


def test_history_limit(small_city: Scenario) -> None:
    model = EdgeMarketModel(small_city, seed=1, history_limit=2)
    model.run(4)
    assert [r.round for r in model.history] == [3, 4]


def test_agents_are_views_on_the_state_table(small_city: Scenario) -> None:
    model = EdgeMarketModel(small_city, seed=2)
    model.step()
    devices = model.agents_by_type[Device]
    nodes = model.agents_by_type[EdgeNode]
    assert len(devices) == small_city.devices.count and len(nodes) == small_city.nodes.count
    d = next(iter(devices))
    assert d.pos_m == tuple(model.devices.xy_m[d.index])
    assert d.service_class in small_city.service_classes
    n = next(iter(nodes))
    assert n.state()["id"] == n.unique_id and 0 <= n.utilization <= 1 + 1e-9


def _capacity_by_uid(model: EdgeMarketModel) -> dict[int, np.ndarray]:
    cap = {int(u): model.nodes.capacity[i] for i, u in enumerate(model.nodes.uid)}
    # Brokers: what they offered this round (idle capacity, D2D relay included).
    cap.update({int(u): model.broker_pricing.offered[i] for i, u in enumerate(model.devices.uid)})
    if model.cloud_agent is not None:
        cap[model.cloud_agent.unique_id] = model.cloud_capacity
    return cap


@pytest.mark.parametrize("overrides", [
    {},
    {"market.mechanism": "mcafee"},
    {"market.mechanism": "tatonnement", "nodes.strategy.name": "zip"},
    {"market.bundling": "comm_only"},
    {"market.scope": "pool", "devices.strategy.name": "shading"},
])
def test_conservation(overrides: dict) -> None:
    model = EdgeMarketModel(tiny(**{k.replace(".", "__"): v for k, v in overrides.items()}), seed=5)
    for _ in range(4):
        rr = model.step()
        cap = _capacity_by_uid(model)
        t = rr.clearing.trades
        # Resources: no provider sells more than it has, per resource.
        key = t.seller * 4 + t.resource.astype(np.int64)
        uniq, inv = np.unique(key, return_inverse=True)
        sold = np.bincount(inv, weights=t.quantity)
        for k, q in zip(uniq.tolist(), sold.tolist(), strict=True):
            assert q <= cap[k // 4][k % 4] * (1 + 1e-9) + 1e-9
        # Money: what agents net plus what the platform keeps is zero.
        total = sum(rr.net_credits.values()) + rr.clearing.platform_surplus
        assert abs(total) <= 1e-9 * max(1.0, rr.clearing.buyer_payments)
        assert rr.clearing.platform_surplus >= -1e-9
        assert all(v >= 0 for v in rr.contributions.values())


def test_qoais_bounds(small_city: Scenario) -> None:
    for rr in EdgeMarketModel(small_city, seed=3).run(4):
        assert 0.0 <= rr.sla_rate <= 1.0 and 0.0 <= rr.deadline_rate <= 1.0
        for q in rr.qoais:
            for name in ("sla_rate", "performance", "connection", "data", "computation",
                         "security", "orchestration", "overall", "reliability", "accuracy"):
                assert 0.0 <= getattr(q, name) <= 1.0, (q.service_class, name)
            assert q.n_served <= q.n_requests
            assert q.latency_ms_mean >= 0 and q.latency_ms_p95 < TIMEOUT_MS


def test_moving_devices_hand_over() -> None:
    sc = tiny("highway", devices__count=30, nodes__count=20)
    model = EdgeMarketModel(sc, seed=4)
    handovers = sum(rr.handovers for rr in model.run(30))
    assert handovers > 0
    assert int(model.devices.handovers.sum()) == handovers
    still = tiny("smart_city", **{"service_classes": {"xr": {"mobility": {"model": "static"}}},
                                  "devices__mix": {"xr": 1.0}})
    model = EdgeMarketModel(still, seed=4)
    model.step()
    assert sum(rr.handovers for rr in model.run(5)) == 0  # no movement: shadowing is fixed


@pytest.mark.parametrize("name", available_scenarios())
def test_every_scenario_runs(name: str) -> None:
    model = EdgeMarketModel(tiny(name), seed=0)
    results = model.run(3)
    assert len(results) == 3
    assert sum(r.n_requests for r in results) > 0


@pytest.mark.parametrize("mechanism", ["uniform", "mcafee", "tatonnement", "equilibrium"])
def test_every_mechanism_clears(mechanism: str) -> None:
    model = EdgeMarketModel(tiny(market__mechanism=mechanism), seed=1)
    rr = model.run(3)[-1]
    assert rr.clearing.mechanism == mechanism
    assert rr.n_served > 0


def test_cloud_is_the_fallback() -> None:
    sc = tiny(nodes__count=0, devices__mix={"medicine": 1.0})
    rr = EdgeMarketModel(sc, seed=1).run(2)[-1]
    assert rr.n_requests > 0 and rr.info["served_at_cloud"] == rr.n_served > 0
    off = tiny(nodes__count=0, cloud__enabled=False)
    rr = EdgeMarketModel(off, seed=1).step()
    assert rr.n_served == 0 and rr.sla_rate == 0.0


def test_rl_seams(small_city: Scenario) -> None:
    model = EdgeMarketModel(small_city, seed=6)
    model.step()
    obs = model.observe_nodes()
    assert obs.shape == (small_city.nodes.count, len(NODE_OBSERVATION_FIELDS))
    assert np.all(np.isfinite(obs))
    m = small_city.nodes.count
    # Prices far above every bid: nothing trades at the edge.
    override = np.full((m, 4), 1e6)
    rr = model.step(node_prices_override=override)
    edge_sellers = set(model.nodes.uid.tolist())
    assert not edge_sellers & set(rr.clearing.trades.seller.tolist())
    assert np.all(model.nodes.ask == 1e6)
    # NaN keeps the strategy's price.
    rr = model.step(node_prices_override=np.full((m, 4), np.nan))
    assert edge_sellers & set(rr.clearing.trades.seller.tolist())
    assert model.node_rewards().shape == (m,)
    with pytest.raises(ValueError, match="shape"):
        model.step(node_prices_override=np.zeros((m + 1, 4)))
