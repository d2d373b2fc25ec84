"""Credits <-> base units: exact, deterministic, and zero-sum batches."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.units import balance_batch, from_base, to_base, to_base_array


@pytest.mark.parametrize(
    ("credits", "base"),
    [
        (1.5, 1_500_000),
        (0.1, 100_000),
        ("0.0000005", 0),  # half to even: 0.5 -> 0
        ("0.0000015", 2),  # 1.5 -> 2
        ("0.0000025", 2),  # 2.5 -> 2
        (-0.0000025, -2),
        (1.0000005, 1_000_000),
        (Decimal("12.3456789"), 12_345_679),
        (7, 7_000_000),
    ],
)
def test_to_base_rounds_half_even(credits: object, base: int) -> None:
    assert to_base(credits) == base  # type: ignore[arg-type]


def test_from_base_roundtrip() -> None:
    assert from_base(1_500_000) == 1.5
    assert to_base(from_base(123_456_789)) == 123_456_789


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "abc", None, True])
def test_to_base_rejects_non_numbers(bad: object) -> None:
    with pytest.raises((ValueError, TypeError)):
        to_base(bad)  # type: ignore[arg-type]


def test_to_base_array_matches_scalar() -> None:
    rng = np.random.default_rng(3)
    xs = np.concatenate(
        [rng.random(5000) * 1e4, np.round(rng.random(500) * 100, 7), [0.0000005, 2.5e-6, -1.0000005, 0.0]]
    )
    assert to_base_array(xs) == [to_base(float(x)) for x in xs]


def test_balance_batch_assigns_residue_deterministically() -> None:
    deltas, fee = balance_batch({1: 1 / 3, 2: 1 / 3, 3: -2 / 3 - 0.1}, 0.1)
    assert sum(deltas.values()) + fee == 0
    assert (deltas, fee) == balance_batch({3: -2 / 3 - 0.1, 2: 1 / 3, 1: 1 / 3}, 0.1)  # order-free
    three = balance_batch({1: 2 / 3, 2: 2 / 3, 3: 2 / 3, 4: -2.0}, 0.0)
    assert three == ({1: 666_666, 2: 666_667, 3: 666_667, 4: -2_000_000}, 0)


def test_balance_batch_rejects_unbalanced_and_negative_fee() -> None:
    with pytest.raises(ValueError, match="not zero"):
        balance_batch({1: 1.0, 2: -0.5}, 0.0)
    with pytest.raises(ValueError, match="fee"):
        balance_batch({1: 0.000001}, -0.000001)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=40),
    st.floats(0, 1e3, allow_nan=False),
)
def test_balance_batch_always_sums_to_zero(values: list[float], fee: float) -> None:
    # make the inputs balance in exact decimal arithmetic: the last account takes the rest
    net = {i: v for i, v in enumerate(values)}
    rest = -(sum(Decimal(repr(v)) for v in values) + Decimal(repr(fee)))
    net[len(values)] = float(rest)
    deltas, fee_base = balance_batch(net, fee)
    assert sum(deltas.values()) + fee_base == 0
    for k, v in net.items():
        assert abs(deltas[k] - to_base(v)) <= 1  # never moved more than one base unit
