"""The ready smart_city scenario stays a contested market under the radio physics.

Guards the calibration of docs/scenarios.md ("Calibration"): over 20 rounds no class meets
its SLA almost never (< 5 %) or almost always (> 95 %), and at least two resources are
used above 70 % at the edge. Slow (a 20-round run of 400 devices); the physics itself is
checked by the fast tests next to it.
"""

from __future__ import annotations

import numpy as np
import pytest

from agents.model import EdgeMarketModel


@pytest.mark.slow
def test_smart_city_is_a_contested_market() -> None:
    model = EdgeMarketModel("smart_city", seed=0)
    n = dict.fromkeys(model.classes.names, 0.0)
    met = dict.fromkeys(model.classes.names, 0.0)
    util = []
    for _ in range(20):
        rr = model.step()
        for q in rr.qoais:
            n[q.service_class] += q.n_requests
            met[q.service_class] += q.sla_rate * q.n_requests
        cap = model.nodes.capacity
        util.append(model.nodes.sold / np.where(cap > 0, cap, 1.0))
    rates = {c: met[c] / n[c] for c in n if n[c]}
    assert all(0.05 < r < 0.95 for r in rates.values()), rates
    mean_util = np.mean(util, axis=(0, 1))
    assert (mean_util > 0.7).sum() >= 2, mean_util
