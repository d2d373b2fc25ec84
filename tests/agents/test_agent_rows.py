"""agents.agent_rows builds the model's agents in bulk exactly as Mesa's create_agents."""

from __future__ import annotations

import mesa
import numpy as np
import pytest

from agents import agent_rows
from agents.device import Device
from agents.edge_node import EdgeNode


def _state(model, created):
    """Everything the creation leaves: agents' attributes (in order), registrations."""
    def attrs(a):
        return [(k, v if k != "model" else v is model) for k, v in vars(a).items()]

    return {
        "created": [(type(a).__name__, attrs(a)) for a in created],
        "all": [(type(a).__name__, a.unique_id) for a in model._agents],
        "all_set": [a.unique_id for a in model._all_agents],
        "by_type": {t.__name__: [a.unique_id for a in s] for t, s in model._agents_by_type.items()},
        "next_id": next(mesa.Agent._ids[model]),
    }


def _build(bulk: bool, monkeypatch):
    monkeypatch.setattr(agent_rows, "_bulk_ok", lambda model: bulk)
    model = mesa.Model(seed=1)
    created = []
    created += list(EdgeNode.create_agents(model, 4, index=np.arange(4)))
    created += list(Device.create_agents(model, 7, index=np.arange(7)))
    created += list(EdgeNode.create_agents(model, 3, index=np.arange(3)))  # the type's set exists
    created += list(Device.create_agents(model, 0, index=np.arange(0)))
    return _state(model, created)


def test_bulk_creation_leaves_what_mesa_leaves(monkeypatch):
    assert _build(True, monkeypatch) == _build(False, monkeypatch)


def test_other_arguments_go_to_mesa():
    model = mesa.Model(seed=1)
    got = Device.create_agents(model, 3, index=[5, 6, 7])
    assert [a.index for a in got] == [5, 6, 7]
    assert [a.unique_id for a in model.agents] == [1, 2, 3]


@pytest.mark.parametrize("worlds", [1, 3])
def test_model_built_in_bulk_is_the_model_built_by_mesa(monkeypatch, worlds):
    from agents.model import EdgeMarketModel
    from agents.scenario import SMALL_OVERRIDES, load_scenario

    sc = load_scenario("smart_city", SMALL_OVERRIDES)
    out = []
    for bulk in (True, False):
        monkeypatch.setattr(agent_rows, "_bulk_ok", lambda model, b=bulk: b)
        m = EdgeMarketModel(sc, seed=4, worlds=worlds)
        out.append(([(type(a).__name__, a.unique_id, getattr(a, "index", None)) for a in m.agents],
                    m.nodes.uid.tolist(), m.devices.uid.tolist(),
                    {t.__name__: len(s) for t, s in m.agents_by_type.items()}))
        m.release()
    assert out[0] == out[1]


@pytest.mark.parametrize("placement", ["grid", "line", "random"])
def test_world_node_sites_are_each_worlds_own_draw(placement):
    """Grid and line sites are tiled across worlds; they draw nothing, so the model's random
    stream (and every random site) is what per-world placement gave."""
    from agents.model import EdgeMarketModel, place_nodes
    from agents.scenario import SMALL_OVERRIDES, load_scenario

    sc = load_scenario("smart_city", {**SMALL_OVERRIDES, "nodes.placement": placement})
    m = EdgeMarketModel(sc, seed=5, worlds=3)
    rng = np.random.default_rng(5)
    nc = sc.nodes
    want = np.concatenate([place_nodes(nc, sc.area.width_m, sc.area.height_m, rng)
                           for _ in range(3)])
    want[:, 0] += np.repeat(np.arange(3), nc.count) * m.world_pitch_m
    assert m.nodes.xy_m.tobytes() == want.tobytes()
    m.release()
