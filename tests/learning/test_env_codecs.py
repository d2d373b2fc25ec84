"""The env's per-step codecs give what their plain forms gave: action decoding (one
np.array of the agents' actions), the node observation history (shifted in place)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from agents.learning.observations import OBS_HIGH, NodeFeatures
from agents.learning.spaces import _rows


def test_action_rows_are_the_stacked_actions():
    rng = np.random.default_rng(0)
    ids = [f"node_{i}" for i in range(9)]
    actions = {a: rng.uniform(-2, 4, 4).astype(np.float32) for a in ids[:-2]}
    actions["node_7"] = [1.5, 2, 3, 4.25]  # a list is an action too
    neutral = np.ones(4)
    want = np.stack([np.asarray(actions.get(a, neutral), np.float64) for a in ids])
    got = _rows(actions, ids, neutral)
    assert got.dtype == want.dtype and got.tobytes() == want.tobytes()
    actions["node_8"] = np.ones(2)  # shapes differ: np.stack's error, as before
    with pytest.raises(ValueError):
        _rows(actions, ids, neutral)


class _RolledFeatures:
    """NodeFeatures.push as it was: a new rolled buffer per round, the row concatenated."""

    def __init__(self, history):
        self.history = history
        self.buf = None

    def push(self, obs):
        cost, cap = np.asarray(obs.cost, np.float64), np.asarray(obs.capacity, np.float64)
        if self.buf is None:
            self.buf, self.valid = np.zeros((self.history, cost.shape[0], 16)), np.zeros(self.history)
        with np.errstate(divide="ignore", invalid="ignore"):
            safe_cap = np.where(cap > 0, cap, 1.0)
            safe_cost = np.where(cost > 0, cost, 1.0)
            util = np.where(cap > 0, obs.sold / safe_cap, 0.0)
            demand = np.where(cap > 0, obs.demand / safe_cap, 0.0)
            price = np.nan_to_num(obs.market_price / safe_cost, nan=0.0)
            ask = obs.last_ask / safe_cost
        row = np.concatenate([np.clip(util, 0, 1), np.clip(demand, 0, 4),
                              np.clip(price, 0, OBS_HIGH), np.clip(ask, 0, OBS_HIGH)], axis=1)
        self.buf = np.roll(self.buf, 1, axis=0)
        self.buf[0] = row
        self.valid = np.roll(self.valid, 1)
        self.valid[0] = 1.0


@pytest.mark.parametrize("history", [1, 2, 3])
def test_node_history_is_the_rolled_history(history):
    rng = np.random.default_rng(history)
    n = 6
    new, old = NodeFeatures(history), _RolledFeatures(history)
    for _ in range(5):
        cap = rng.uniform(0, 5, (n, 4)) * (rng.random((n, 4)) < 0.8)
        price = rng.uniform(0, 30, (n, 4))
        price[0, 1] = np.nan
        obs = SimpleNamespace(cost=rng.uniform(0, 3, (n, 4)) * (rng.random((n, 4)) < 0.9),
                              capacity=cap, sold=rng.uniform(0, 6, (n, 4)),
                              demand=rng.uniform(0, 30, (n, 4)), market_price=price,
                              last_ask=rng.uniform(0, 40, (n, 4)), sla_rate=rng.random(n))
        new.push(obs)
        old.push(obs)
        assert new._buf.tobytes() == old.buf.tobytes()
        assert new._valid.tobytes() == old.valid.tobytes()
        assert new.features().shape == (n, new.dim)


def test_broker_margin_rows_are_the_unique_selling_rows():
    from agents.learning.observations import broker_margin

    rng = np.random.default_rng(4)
    for share in (0.0, 0.01, 0.3, 1.0):
        sold = rng.uniform(0, 2, (40, 4)) * (rng.random((40, 4)) < share)
        cost = rng.uniform(0, 3, (40, 4))
        cost[(sold == 0) & (rng.random((40, 4)) < 0.3)] = np.inf  # unsold: may cost inf
        dev = SimpleNamespace(sold=sold, cost=cost, broker_income_credits=rng.uniform(0, 5, 40))
        rows = np.unique(np.flatnonzero(sold.reshape(-1)) // 4)
        want = np.array(dev.broker_income_credits, dtype=np.float64)
        want[rows] -= (sold[rows] * np.where(sold[rows] > 0, cost[rows], 0.0)).sum(axis=1)
        assert broker_margin(dev).tobytes() == want.tobytes()
