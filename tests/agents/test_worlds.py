"""``EdgeMarketModel(..., worlds=K)``: K independent copies of a world in one model.

Copies never interact: no radio link, trade or market spans two worlds, and each world
has its own cloud venue with the cloud's full capacity. A single world is unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from agents.execution import KIND_CLOUD, KIND_DEVICE, KIND_NODE
from agents.model import CLOUD_VENUE, EdgeMarketModel
from agents.scenario import Scenario, small


def _seller_world(model: EdgeMarketModel, seller: np.ndarray, buyer_world: np.ndarray) -> np.ndarray:
    kind, index = model.sellers.kind[seller], model.sellers.index[seller]
    i = np.maximum(index, 0)
    return np.where(kind == KIND_NODE, model.node_world[np.minimum(i, model.node_world.size - 1)],
                    np.where(kind == KIND_DEVICE, model.device_world[i], buyer_world))


@pytest.mark.parametrize("name,extra", [
    ("smart_city", {}),
    ("smart_city", {"market__scope": "pool"}),
    ("metro", {"market__scope": "zone"}),
    ("highway", {}),
])
def test_worlds_never_interact(name: str, extra: dict[str, Any]) -> None:
    sc = small(name, **extra)
    k = 3
    model = EdgeMarketModel(sc, seed=5, worlds=k)
    m, n = sc.nodes.count, sc.devices.count
    assert model.nodes.uid.size == k * m and model.devices.uid.size == k * n
    assert np.array_equal(model.node_world, np.repeat(np.arange(k), m))
    # Each world's venues hold only its own nodes.
    for v in np.unique(model.node_venue):
        assert np.unique(model.node_world[model.node_venue == v]).size == 1
    traded = cloud_seen = 0
    for _ in range(6):
        rr = model.step()
        att = model.devices.attached
        on = att >= 0
        assert np.array_equal(model.node_world[att[on]], model.device_world[on])
        t = rr.clearing.trades
        buyer_world = model.device_world[model.sellers.index[t.buyer]]
        assert np.array_equal(_seller_world(model, t.seller, buyer_world), buyer_world)
        traded += len(t)
        cloud_seen += int((model.sellers.kind[t.seller] == KIND_CLOUD).any())
        # Every world's devices move inside their own world's strip of the plane.
        x = model.devices.xy_m[:, 0] - model.device_world * model.world_pitch_m
        assert (x >= 0).all() and (x <= sc.area.width_m + 1e-9).all()
    assert traded > 0


def test_each_world_has_its_own_cloud_venue(small_city: Scenario) -> None:
    model = EdgeMarketModel(small_city, seed=2, worlds=4)
    venues: set[int] = set()
    real = model._clear_cloud

    def spy(*args: Any, **kw: Any) -> Any:
        cl, budget = real(*args, **kw)
        venues.update(int(v) for v in cl.venues)
        return cl, budget

    model._clear_cloud = spy  # type: ignore[method-assign]
    for _ in range(8):
        model.step()
    assert venues and venues <= {CLOUD_VENUE - w for w in range(4)}
    assert len(venues) > 1


def test_one_world_is_the_plain_model(small_city: Scenario) -> None:
    a, b = EdgeMarketModel(small_city, seed=9), EdgeMarketModel(small_city, seed=9, worlds=1)
    for _ in range(4):
        ra, rb = a.step(), b.step()
        assert ra.summary() == rb.summary()
        assert np.array_equal(ra.clearing.trades.quantity, rb.clearing.trades.quantity)


def test_worlds_are_copies_of_the_same_scenario(small_city: Scenario) -> None:
    """Per world, K copies serve as many requests as one world alone does (within the
    spread of single-world runs over seeds)."""
    k, rounds = 24, 6
    many = EdgeMarketModel(small_city, seed=1, worlds=k)
    per_world = sum(many.step().n_served for _ in range(rounds)) / k
    singles = []
    for s in range(8):
        one = EdgeMarketModel(small_city, seed=100 + s)
        singles.append(sum(one.step().n_served for _ in range(rounds)))
    mean, sd = float(np.mean(singles)), float(np.std(singles))
    assert mean > 0
    assert abs(per_world - mean) <= 3 * sd / np.sqrt(8) + 3 * sd / np.sqrt(k) + 1.0


def test_bad_worlds(small_city: Scenario) -> None:
    with pytest.raises(ValueError, match="worlds"):
        EdgeMarketModel(small_city, seed=0, worlds=0)
