"""Strategies (registry, learning directions, a user's own class) and QoAIS scoring."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from agents.model import EdgeMarketModel
from agents.qoais import DIMENSIONS, Measured, dimension_scores, sla_met
from agents.scenario import ScenarioError, small
from agents.strategies import (
    NodeObservation,
    NodeStrategy,
    available_strategies,
    get_strategy,
    register_strategy,
)


def _obs(sold_share: float, price: float, demand: float = 100.0) -> NodeObservation:
    cost = np.full((3, 4), 1.0)
    cap = np.full((3, 4), 100.0)
    return NodeObservation(round=1, cost=cost, capacity=cap, last_ask=cost * 1.2,
                           sold=cap * sold_share, demand=np.full((3, 4), demand),
                           market_price=np.full((3, 4), price))


def test_registry() -> None:
    assert {"fixed_markup", "tatonnement", "zip"} <= set(available_strategies("node"))
    assert {"truthful", "shading"} <= set(available_strategies("device"))
    s = get_strategy("fixed_markup", kind="node", markup=0.5)
    assert s.get_params() == {"markup": 0.5}
    assert np.allclose(s.quote(_obs(0, 1), np.random.default_rng(0)), 1.5)
    with pytest.raises(ValueError, match="unknown"):
        get_strategy("nope", kind="node")
    with pytest.raises(TypeError):
        get_strategy("shading", kind="device", shade=2.0)


def test_zip_raises_when_selling_out_and_lowers_when_not() -> None:
    rng = np.random.default_rng(0)
    up, down = get_strategy("zip", kind="node"), get_strategy("zip", kind="node")
    p0 = up.quote(_obs(1.0, 3.0), rng).copy()
    q0 = down.quote(_obs(0.0, 1.05), rng).copy()
    for _ in range(20):
        up.update(_obs(1.0, 3.0), rng)
        down.update(_obs(0.0, 1.05), rng)
    assert np.all(up.quote(_obs(1.0, 3.0), rng) > p0)
    q1 = down.quote(_obs(0.0, 1.05), rng)
    assert np.all(q1 <= q0) and np.all(q1 >= 1.0)  # never below cost


def test_tatonnement_follows_excess_demand() -> None:
    rng = np.random.default_rng(0)
    s = get_strategy("tatonnement", kind="node")
    p0 = s.quote(_obs(1.0, 2.0, demand=300.0), rng).copy()
    s.update(_obs(1.0, 2.0, demand=300.0), rng)
    assert np.all(s.quote(_obs(1.0, 2.0), rng) > p0)
    s.update(_obs(0.0, 2.0, demand=0.0), rng)
    s.update(_obs(0.0, 2.0, demand=0.0), rng)
    assert np.all(s.quote(_obs(0.0, 2.0), rng) >= 1.0)


def test_a_user_strategy_is_one_small_class() -> None:
    @register_strategy("test_half_price")
    class HalfPrice(NodeStrategy):
        """Asks half of the last market price, never below cost."""

        def __init__(self, floor_markup: float = 0.0) -> None:
            self.floor_markup = floor_markup

        def quote(self, obs: NodeObservation, rng: np.random.Generator) -> np.ndarray:
            floor = obs.cost * (1 + self.floor_markup)
            return np.maximum(np.nan_to_num(obs.market_price, nan=0.0) / 2, floor)

    sc = small("smart_city", nodes__strategy={"name": "test_half_price"})
    model = EdgeMarketModel(sc, seed=0)
    model.run(2)
    assert isinstance(model.node_strategies[0][0], HalfPrice)
    with pytest.raises(ScenarioError, match="params"):
        small("smart_city", nodes__strategy={"name": "test_half_price", "params": {"x": 1}})


def _measured(n: int, draw) -> Measured:
    f = arrays(np.float64, n, elements=st.floats(0, 1e4))
    u = arrays(np.float64, n, elements=st.floats(0, 1))
    lvl = arrays(np.float64, n, elements=st.sampled_from([0.0, 1.0, 2.0, 3.0]))
    b = arrays(np.bool_, n)
    return Measured(
        cls=np.zeros(n, np.int64), latency_ms=draw(f), latency_budget_ms=draw(f) + 1,
        stage_budget_s=draw(u), link_delay_ms=draw(f), jitter_ms=draw(f), ber=draw(u) / 2,
        per=draw(u), residual_loss=draw(u), reliability=draw(u), accuracy=draw(u),
        min_accuracy=draw(u), min_reliability=draw(u), rate_mbps=draw(f), data_mbit=draw(f),
        cache_share=draw(u), cache_hit_ratio=draw(u), cache_miss_penalty_ms=draw(f),
        compute_latency_ms=draw(f), compute_efficiency=draw(u) * 3, provider_security=draw(lvl),
        privacy_level=draw(lvl), broker_share=draw(u), autonomy_required=draw(lvl) % 3,
        autonomy_delivered=draw(lvl) % 3, handed_over=draw(b))


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_dimension_scores_are_in_unit_interval(data) -> None:
    m = _measured(16, data.draw)
    s = dimension_scores(m)
    assert s.shape == (16, len(DIMENSIONS))
    assert np.all((s >= 0) & (s <= 1))
    met = sla_met(m)
    assert not np.any(met & (m.latency_ms > m.latency_budget_ms))
    assert not np.any(met & (m.provider_security < m.privacy_level))
