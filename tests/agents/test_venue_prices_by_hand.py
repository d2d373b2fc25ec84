"""Prices per venue (issue 11, item 4) on a hand-built 2-venue round: an edge venue and a
cloud venue cleared by the real uniform k-DA; every figure below is worked out by hand.

Edge venue 0, computation only. Asks: 12 units at 1 and 10 at 3 (true costs 0.8 and 2.5).
Bids of 5 units each at 10, 8 and 2 per unit (values 50, 40, 10; the third's true value is
15, i.e. 3 per unit). Efficient quantity 12 (the third bid gets 2 units): the Walrasian
interval [max(a_q, b_q+1), min(b_q, a_q+1)] = [2, 2], so the k-DA price is 2, and the LP
dual is the partly served bid's unit value, 2. On true values and costs all 15 units
clear, the 3-ask partly used: true dual 2.5.
Cloud venue -1: 100 units at 0.5 (true cost 0.4); bids of 10 units at 2 and 3 per unit.
20 units trade at 0.5 (excess supply: the interval is [0.5, 0.5]); dual 0.5, true 0.4.
Pooled by units traded (12 and 20): price = dual = (12*2 + 20*0.5)/32 = 1.0625. Weighted by supply (22 and 100) the dual would be
(22*2 + 100*0.5)/122 = 0.7705: the averaging, not the economics, would open a gap.
"""

from __future__ import annotations

import numpy as np
import pytest

from agents.marketplace import OrderArrays, clear_venues
from agents.marketplace_prices import round_prices, venue_summary
from agents.venue_duals import venue_duals
from market.mechanisms.uniform import UniformPrice
from market.resources import RESOURCE_NAMES

C = 2  # computation


def _orders(venue: int, values: list[float], units: list[float], first_row: int,
            asks: list[tuple[float, float]]) -> OrderArrays:
    n = len(values)
    demand = np.zeros((n, 4))
    demand[:, C] = units
    return OrderArrays(
        bid_venue=np.full(n, venue, np.int64), bid_row=np.arange(first_row, first_row + n),
        bid_agent=np.arange(first_row, first_row + n, dtype=np.int64), bid_demand=demand,
        bid_value=np.array(values, float), ask_venue=np.full(len(asks), venue, np.int64),
        ask_agent=np.arange(100 + 10 * venue, 100 + 10 * venue + len(asks), dtype=np.int64),
        ask_resource=np.full(len(asks), C, np.int8),
        ask_quantity=np.array([q for q, _ in asks]), ask_price=np.array([p for _, p in asks]))


EDGE = _orders(0, [50, 40, 10], [5, 5, 5], 0, [(12, 1.0), (10, 3.0)])
CLOUD = _orders(-1, [20, 30], [10, 10], 3, [(100, 0.5)])
TRUE_VALUE = np.array([50, 40, 15, 20, 30], float)
TRUE_COST = np.array([0.8, 2.5, 0.4])


def _round() -> dict:
    mech = UniformPrice()
    edge = clear_venues(EDGE, 5, lambda v: mech)
    cloud = clear_venues(CLOUD, 5, lambda v: mech)
    duals = venue_duals([EDGE, CLOUD], TRUE_VALUE, TRUE_COST)
    return round_prices(edge, cloud, scope="cell", true_duals=duals)


def test_true_cost_duals_by_hand() -> None:
    d = venue_duals([EDGE, CLOUD], TRUE_VALUE, TRUE_COST)
    assert sorted(d) == [-1, 0]
    assert d[0][C] == pytest.approx(2.5)
    assert d[-1][C] == pytest.approx(0.4)
    # as submitted (bids and asks as given), the same LP gives the mechanism's duals
    asked = venue_duals([EDGE, CLOUD], np.array([50, 40, 10, 20, 30], float),
                        np.array([1.0, 3.0, 0.5]))
    assert asked[0][C] == pytest.approx(2.0) and asked[-1][C] == pytest.approx(0.5)


def test_two_venue_round_pooled_by_hand() -> None:
    info = _round()
    vp = info["venue_prices"]
    assert vp["venue"] == [0, -1]
    assert vp["kind"] == ["edge", "cloud"] and vp["name"] == ["cell 0", "cloud 0"]
    assert [r[C] for r in vp["price"]] == pytest.approx([2.0, 0.5])
    assert [r[C] for r in vp["dual"]] == pytest.approx([2.0, 0.5])
    assert [r[C] for r in vp["dual_true"]] == pytest.approx([2.5, 0.4])
    assert [r[C] for r in vp["volume"]] == pytest.approx([12.0, 20.0])
    assert [r[C] for r in vp["supply"]] == pytest.approx([22.0, 100.0])
    assert info["pooled_prices"][C] == pytest.approx(1.0625)
    assert info["equilibrium_prices"][C] == pytest.approx(1.0625)  # not 0.7705 (by supply)
    assert info["edge_prices"][C] == pytest.approx(2.0)
    assert info["edge_equilibrium"][C] == pytest.approx(2.0)
    assert info["cloud_prices"][C] == pytest.approx(0.5)
    assert info["cloud_equilibrium"][C] == pytest.approx(0.5)
    # nothing else was offered or traded: no price, no pooled figure
    for r in (0, 1, 3):
        assert np.isnan(info["pooled_prices"][r]) and np.isnan(info["equilibrium_prices"][r])
    rows = venue_summary(vp, RESOURCE_NAMES)
    assert [list(v["supply"]) for v in rows] == [["computation"], ["computation"]]
    assert rows[0]["dual_true"]["computation"] == pytest.approx(2.5)
