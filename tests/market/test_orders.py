"""Orders as arrays: construction, validation, derived columns, immutability."""

from __future__ import annotations

import numpy as np
import pytest

from market.orders import MULTI_RESOURCE, NO_RESOURCE, Asks, Bids, Market, Trades
from market.resources import N_RESOURCES, RESOURCE_NAMES, RESOURCE_UNITS, Resource


def test_resources_and_units() -> None:
    assert N_RESOURCES == 4
    assert [r.name for r in Resource] == ["COMMUNICATION", "CACHING", "COMPUTATION", "LEARNING"]
    assert RESOURCE_NAMES[Resource.LEARNING] == "learning"
    assert Resource.COMMUNICATION.unit == "Mbps·round" and RESOURCE_UNITS[1] == "GB·round"
    assert Resource.parse("Knowledge") is Resource.LEARNING
    assert Resource.parse(" compute ") is Resource.COMPUTATION
    assert Resource.parse(2) is Resource.COMPUTATION and Resource.parse("1") is Resource.CACHING
    with pytest.raises(ValueError, match="expected one of communication"):
        Resource.parse("gpu")
    with pytest.raises(ValueError):
        Resource.parse(4)


def test_single_bids_are_unit_rows() -> None:
    b = Bids.single([1, 2], [0, 3], [5.0, 2.0], [1.5, 9.0])
    assert b.demand.tolist() == [[1, 0, 0, 0], [0, 0, 0, 1]]
    assert b.value.tolist() == [1.5, 9.0] and b.max_bundles.tolist() == [5.0, 2.0]
    assert b.resource.tolist() == [0, 3] and b.is_single
    assert b.quantity.tolist() == [[5, 0, 0, 0], [0, 0, 0, 2]]
    one = Bids.single(7, 2, 3.0, 1.0)  # scalars broadcast to one row
    assert len(one) == 1 and one.agent.dtype == np.int64


def test_bundle_bids_and_derived_resource() -> None:
    b = Bids.bundles([0, 1, 2], [[1, 2, 0, 0], [0, 0, 3, 0], [0, 0, 0, 0]], [10, 4, 1], 2)
    assert b.resource.tolist() == [MULTI_RESOURCE, 2, NO_RESOURCE]
    assert not b.is_single
    assert b.max_bundles.tolist() == [2, 2, 2]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"value": [np.nan]}, r"Bids.value\[0\]"),
        ({"value": [-1.0]}, r"Bids.value\[0\]"),
        ({"max_bundles": [np.inf]}, r"Bids.max_bundles\[0\]"),
        ({"demand": [[1, -2, 0, 0]]}, r"Bids.demand\[0,1\]"),
        ({"demand": [[1, 0, 0]]}, "shape"),
        ({"agent": [1.5]}, "integers"),
        ({"value": [1.0, 2.0]}, "rows"),
    ],
)
def test_bids_validation(kwargs: dict[str, object], match: str) -> None:
    base: dict[str, object] = {"agent": [0], "demand": [[1, 0, 0, 0]], "value": [1.0],
                               "max_bundles": [1.0]}
    base.update(kwargs)
    with pytest.raises(ValueError, match=match):
        Bids(**base)  # type: ignore[arg-type]


def test_asks_validation_and_pool() -> None:
    with pytest.raises(ValueError, match=r"Asks.resource\[1\]"):
        Asks([0, 1], [0, 4], [1, 1], [1, 1])
    with pytest.raises(ValueError, match=r"Asks.price\[0\]"):
        Asks([0], [0], [1.0], [np.nan])
    cap = np.array([[1.0, 0.0, 2.0, 0.0], [0.0, 3.0, 0.0, 4.0]])
    cost = np.arange(8, dtype=float).reshape(2, 4)
    a = Asks.from_pool(cap, cost, agent=[10, 11])
    assert a.agent.tolist() == [10, 10, 11, 11]
    assert a.resource.tolist() == [0, 2, 1, 3]
    assert a.quantity.tolist() == [1, 2, 3, 4] and a.price.tolist() == [0, 2, 5, 7]
    assert a.capacity().tolist() == [1, 3, 2, 4]
    with pytest.raises(ValueError, match="shape"):
        Asks.from_pool(np.ones((2, 3)), np.ones((2, 3)))


def test_arrays_are_read_only_and_callers_untouched() -> None:
    value = np.array([1.0, 2.0])
    b = Bids.single([0, 1], 0, 1.0, value)
    with pytest.raises(ValueError):
        b.value[0] = 5.0
    value[0] = 3.0  # the caller's array keeps its flags
    assert value.flags.writeable


def test_concat_take_empty() -> None:
    b1 = Bids.single([0], 0, 1.0, 1.0)
    b2 = Bids.bundles([1], [[1, 1, 0, 0]], 3.0)
    b = Bids.concat(b1, b2)
    assert len(b) == 2 and b.resource.tolist() == [0, MULTI_RESOURCE]
    assert len(b.take([1])) == 1 and len(Bids.empty()) == 0 and len(Bids.concat()) == 0
    a = Asks.concat(Asks.single(5, 0, 1.0, 1.0), Asks.single(6, 1, 2.0, 0.5))
    assert a.agent.tolist() == [5, 6] and len(a.take(a.resource == 1)) == 1
    m = Market(b, a)
    assert m.n_bids == 2 and m.n_asks == 2
    assert m.demand_total().tolist() == [2, 1, 0, 0] and m.supply_total().tolist() == [1, 2, 0, 0]
    with pytest.raises(TypeError):
        Market(a, b)  # type: ignore[arg-type]


def test_trades_defaults_and_net_credits() -> None:
    t = Trades([1, 1], [9, 8], [0, 2], [2.0, 1.0], [3.0, 5.0], [0, 0])
    assert t.ask_index.tolist() == [-1, -1]
    assert t.seller_price.tolist() == [3.0, 5.0]
    assert t.buyer_payments == 11.0 and t.seller_revenue == 11.0
    assert t.volume().tolist() == [2, 0, 1, 0]
    t2 = Trades([1], [9], [0], [2.0], [3.0], [0], [4], [2.5])  # platform keeps 1 credit
    net = t2.net_credits()
    assert net == {1: -6.0, 9: 5.0}
    assert sum(net.values()) == pytest.approx(-(t2.buyer_payments - t2.seller_revenue))
    both = Trades.concat(t, t2)
    assert len(both) == 3 and both.ask_index.tolist() == [-1, -1, 4]
    rec = t2.to_records()[0]
    assert rec["resource"] == "communication" and rec["seller_price"] == 2.5
    assert len(Trades.empty()) == 0
    with pytest.raises(ValueError, match="rows"):
        Trades([1], [2, 3], [0], [1.0], [1.0], [0])


@pytest.mark.parametrize("top", [50, 10**9])
def test_net_credits_equal_a_plain_ledger(top: int) -> None:
    # Dense ids take the binning path, sparse ones the sorting path: both must equal a plain
    # per-trade ledger (same sums: each id's flows added in trade order).
    rng = np.random.default_rng(top)
    n = 400
    buyer, seller = rng.integers(0, top, n), rng.integers(0, top, n)
    q, p = rng.uniform(0, 5, n), rng.uniform(0, 3, n)
    sp = p * rng.uniform(0.5, 1.0, n)
    t = Trades(buyer, seller, rng.integers(0, 4, n), q, p, np.arange(n), np.arange(n), sp)
    ledger: dict[int, float] = {}
    for i in range(n):
        ledger[int(buyer[i])] = ledger.get(int(buyer[i]), 0.0) + (-q[i] * p[i])
    for i in range(n):
        ledger[int(seller[i])] = ledger.get(int(seller[i]), 0.0) + q[i] * sp[i]
    net = t.net_credits()
    assert list(net) == sorted(ledger)
    assert net == ledger
    assert Trades.empty().net_credits() == {}
