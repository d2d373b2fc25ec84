"""Nodes get QoAIS feedback: the SLA rate of the requests they mainly served."""

from __future__ import annotations

import numpy as np

from agents.model import EdgeMarketModel
from agents.scenario import small


def test_node_sla_rate_matches_the_violations_it_caused() -> None:
    model = EdgeMarketModel(small("smart_city"), seed=3)
    for _ in range(4):
        rr = model.step()
        t = model.nodes
        assert ((t.sla_rate >= 0) & (t.sla_rate <= 1)).all()
        violated = {p for p, _, _ in rr.violations}
        for row, uid in enumerate(t.uid):
            if int(uid) not in violated:
                assert t.sla_rate[row] == 1.0  # nothing it served missed its SLA
        obs = model.node_observation(np.arange(t.uid.size))
        assert np.array_equal(obs.sla_rate, t.sla_rate)
    assert (model.nodes.sla_rate < 1).any() or not rr.violations
