"""agents.execution.received: per-request aggregates of a round's trades, against a plain
per-trade loop (the reference bookkeeping)."""

from __future__ import annotations

import numpy as np

from agents import execution as ex
from market.orders import Trades


def test_received_matches_a_per_trade_loop() -> None:
    rng = np.random.default_rng(7)
    n, m, agents = 300, 2_000, 50
    req = rng.integers(0, n - 20, m)  # the last requests get nothing
    seller = rng.integers(0, agents, m)
    res = rng.integers(0, 4, m)
    q = rng.choice([0.5, 1.0, 2.0], m)  # few distinct values: many equal trade values
    p = rng.choice([1.0, 2.0], m)
    t = Trades(np.zeros(m, np.int64), seller, res, q, p, req, np.arange(m), p)
    sellers = ex.SellerInfo(kind=rng.integers(0, 3, agents).astype(np.int8),
                            index=np.arange(agents), security=rng.integers(0, 3, agents) * 1.0,
                            autonomy=rng.integers(0, 3, agents) * 1.0)
    got = ex.received(t, n, sellers, rng.uniform(0.5, 1.0, m), rng.uniform(0, 9, m))
    for i in range(n):
        rows = [j for j in range(m) if req[j] == i]
        assert got.served[i] == bool(rows)
        if not rows:
            assert got.provider[i] == -1
            continue
        best = max(q[j] * p[j] for j in rows)
        last = [j for j in rows if q[j] * p[j] == best][-1]  # the latest of the largest
        assert got.provider[i] == seller[last]
        assert got.payment[i] == sum(q[j] * p[j] for j in rows)
        assert got.security[i] == min(sellers.security[seller[j]] for j in rows)
