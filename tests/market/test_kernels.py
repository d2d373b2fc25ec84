"""The compiled kernels (market.kernels) give exactly the numpy reference's results.

Every comparison is bit for bit (values, dtypes, NaN positions): interval matching, the
order book's crossing and ranked sides, and whole clearings with kernels on and off.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from market import book, matching
from market.mechanisms import get_mechanism
from market.orders import Asks, Bids, Market
from market.resources import N_RESOURCES
from market.result import ClearingResult


def same_array(a: np.ndarray, b: np.ndarray, name: str = "") -> None:
    assert a.dtype == b.dtype, name
    np.testing.assert_array_equal(a, b, err_msg=name, strict=True)
    # array_equal calls -0.0 == 0.0: compare the bits too
    assert a.tobytes() == b.tobytes(), name


def same_float(a: float, b: float, name: str = "") -> None:
    assert (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b)), (name, a, b)


def same_fields(a: Any, b: Any, names: tuple[str, ...]) -> None:
    for name in names:
        x, y = getattr(a, name), getattr(b, name)
        if isinstance(x, np.ndarray):
            same_array(x, y, name)
        elif isinstance(x, float):
            same_float(x, y, name)
        else:
            assert x == y, (name, x, y)


def same_result(a: ClearingResult, b: ClearingResult) -> None:
    same_fields(a.trades, b.trades, ("buyer", "seller", "resource", "quantity", "price",
                                     "bid_index", "ask_index", "seller_price"))
    same_fields(a, b, ("mechanism", "prices", "bundles_served", "volume", "unmet_demand",
                       "sold", "resource_welfare", "welfare", "optimal_welfare", "efficiency",
                       "buyer_payments", "seller_revenue", "platform_surplus"))
    assert repr(a.info) == repr(b.info)


# --- interval matching -----------------------------------------------------------------

# Whole units (many buyer ends equal seller ends), zeros, and tenths (0.1 + 0.2 noise).
quantities = st.lists(
    st.one_of(st.integers(0, 4).map(float), st.sampled_from([0.1, 0.2, 0.3, 0.7, 1e-13])),
    max_size=14,
)
totals = st.one_of(st.none(), st.floats(0, 30), st.sampled_from([0.0, 0.3, 0.6, 1.0, 3.0]))


@given(quantities, quantities, totals)
def test_match_intervals_kernel_equals_numpy(bq: list[float], sq: list[float],
                                             total: float | None) -> None:
    b, s = np.array(bq, float), np.array(sq, float)
    for takes in (True, False):
        fast = matching.match_intervals(b, s, total, takes=takes, kernel=True)
        ref = matching.match_intervals(b, s, total, takes=takes, kernel=False)
        same_fields(fast, ref, ("buy_pos", "sell_pos", "quantity", "buy_take", "sell_take"))


@given(quantities, quantities, totals, st.integers(0, 2**32 - 1))
def test_match_rows_kernel_equals_numpy(bq: list[float], sq: list[float], total: float | None,
                                        seed: int) -> None:
    b, s = np.array(bq, float), np.array(sq, float)
    rng = np.random.default_rng(seed)
    b_rows, s_rows = rng.permutation(b.size + 3)[: b.size], rng.permutation(s.size + 2)[: s.size]
    b_own, s_own = rng.integers(0, 99, b.size + 3), rng.integers(0, 99, s.size + 2)
    fast = matching.match_rows(b, s, b_rows, s_rows, b_own, s_own, total, kernel=True)
    ref = matching.match_rows(b, s, b_rows, s_rows, b_own, s_own, total, kernel=False)
    same_fields(fast, ref, ("buy_row", "sell_row", "buyer", "seller", "quantity", "buy_take",
                            "sell_take"))


def test_match_intervals_kernel_edge_cases() -> None:
    cases = [
        ([], [1.0], None), ([1.0], [], 2.0), ([0.0, 0.0], [1.0], None),
        ([0.1, 0.2, 0.3], [0.3, 0.3], None),  # float noise dropped
        ([2.0, 1.0], [1.0, 2.0], None),  # every buyer end equals a seller end
        ([2.0, 1.0], [1.0, 2.0], 2.0), ([5.0], [5.0], 10.0), ([1.0], [1.0], -1.0),
        ([1.0, 1.0], [0.5, 0.5, 1.0], math.nan), ([-0.0, 1.0], [0.0, 1.0], None),
    ]
    for bq, sq, total in cases:
        b, s = np.array(bq, float), np.array(sq, float)
        same_fields(matching.match_intervals(b, s, total, kernel=True),
                    matching.match_intervals(b, s, total, kernel=False),
                    ("buy_pos", "sell_pos", "quantity", "buy_take", "sell_take"))


def test_match_rows_large_random() -> None:
    rng = np.random.default_rng(3)
    n = 50_000
    b, s = rng.integers(0, 10, n).astype(float), rng.integers(0, 10, n + 7).astype(float)
    b_rows, s_rows = rng.permutation(n), rng.permutation(n + 7)
    own = rng.integers(0, 1000, n + 7)
    for total in (None, float(b.sum()) / 3):
        fast = matching.match_rows(b, s, b_rows, s_rows, own, own, total,
                                   buy_cum=np.cumsum(b), sell_cum=np.cumsum(s), kernel=True)
        ref = matching.match_rows(b, s, b_rows, s_rows, own, own, total,
                                  buy_cum=np.cumsum(b), sell_cum=np.cumsum(s), kernel=False)
        same_fields(fast, ref, ("buy_row", "sell_row", "buyer", "seller", "quantity",
                                "buy_take", "sell_take"))


# --- the order book -----------------------------------------------------------------------

CROSSING = ("quantity", "bid_price", "ask_price", "next_bid", "next_ask", "bid_order",
            "ask_order")


@given(st.lists(st.floats(-1e3, 1e3), max_size=40), st.booleans())
def test_stable_argsort_equals_numpy(values: list[float], descending: bool) -> None:
    x = np.array([*values, 0.0, -0.0, math.inf, -math.inf, math.nan, 1.5, 1.5], float)
    np.random.default_rng(len(values)).shuffle(x)
    same_array(book._ranked(x, descending, True), book._ranked(x, descending, False))


def test_stable_argsort_large_and_empty() -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 1000, 100_000) / 7.0  # many ties
    for descending in (True, False):
        same_array(book._ranked(x, descending, True), book._ranked(x, descending, False))
        same_array(book._ranked(x[:0], descending, True), book._ranked(x[:0], descending, False))


@given(
    st.lists(st.tuples(st.integers(0, 8), st.integers(0, 4)), max_size=15),
    st.lists(st.tuples(st.integers(0, 8), st.integers(0, 4)), max_size=15),
)
def test_cross_small_kernel_equals_numpy(bids: list[tuple[int, int]],
                                         asks: list[tuple[int, int]]) -> None:
    bp, bq = np.array([b[0] for b in bids], float) / 4, np.array([b[1] for b in bids], float)
    ap, aq = np.array([a[0] for a in asks], float) / 4, np.array([a[1] for a in asks], float)
    same_fields(book.cross(bp, bq, ap, aq, kernel=True), book.cross(bp, bq, ap, aq, kernel=False),
                CROSSING)


def _random_book(seed: int, n: int, ties: bool) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    if ties:  # coarse prices: many equal prices at the margin
        bp, ap = rng.integers(50, 150, n) / 100.0, rng.integers(20, 120, n) / 100.0
    else:
        bp, ap = rng.uniform(0.5, 1.5, n), rng.uniform(0.2, 1.2, n)
    bq = rng.integers(0, 10, n).astype(float)  # includes zero quantities
    aq = np.round(rng.uniform(0, 10, n) * (rng.random(n) > 0.1), 1)  # tenths: float noise
    return bp, bq, ap, aq


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("seed", [0, 1])
def test_cross_window_kernel_equals_numpy(seed: int, ties: bool) -> None:
    bp, bq, ap, aq = _random_book(seed, 70_000, ties)  # above the window threshold
    assert book._cross_window(bp, bq, ap, aq, kernel=True) is not None
    for window in (True, False):
        same_fields(book.cross(bp, bq, ap, aq, window=window, kernel=True),
                    book.cross(bp, bq, ap, aq, window=window, kernel=False), CROSSING)


def test_cross_narrowed_window_kernel_equals_numpy() -> None:
    """A book big enough for a second, narrower window (tested on the first's orders)."""
    bp, bq, ap, aq = _random_book(9, 400_000, False)
    levels = []
    test = book._test_kernel

    def spy(*args: Any) -> Any:
        levels.append(args[2] is not None)
        return test(*args)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(book, "_test_kernel", spy)
        fast = book.cross(bp, bq, ap, aq, kernel=True)
    assert True in levels  # a narrower window was tried
    same_fields(fast, book.cross(bp, bq, ap, aq, kernel=False), CROSSING)


def test_cross_window_kernel_when_nothing_crosses() -> None:
    n = 30_000
    rng = np.random.default_rng(0)
    bp, ap, q = rng.uniform(0, 1, n), rng.uniform(2, 3, n), np.ones(n)
    same_fields(book.cross(bp, q, ap, q, kernel=True), book.cross(bp, q, ap, q, kernel=False),
                CROSSING)


@pytest.mark.parametrize("seed", range(6))
def test_window_test_kernel_equals_numpy(seed: int) -> None:
    """Same decision and window, including exact ties that the estimates cannot call."""
    rng = np.random.default_rng(seed)
    n = 2_000
    bp, ap = rng.integers(0, 20, n) / 4.0, rng.integers(0, 20, n) / 4.0
    bq, aq = rng.integers(0, 3, n).astype(float), rng.integers(0, 3, n).astype(float)
    if seed % 2:  # supply up to hi == demand above hi exactly: the margin is 0
        aq[ap <= 2.0] = 0.0
        aq[np.flatnonzero(ap <= 2.0)[0]] = float(bq[bp > 2.0].sum())
    rows = rng.permutation(n) if seed % 3 else None
    for lo, hi in ((1.0, 2.0), (2.0, 2.0), (0.5, 3.5), (2.25, 2.5), (4.0, 1.0)):
        for d_above, s_below in ((0.0, 0.0), (5.0, 3.0)):
            args = (bp, bq, rows, ap, aq, rows, d_above, s_below, lo, hi)
            fast, ref = book._test_kernel(*args), book._test_numpy(*args)
            assert (fast is None) == (ref is None), (lo, hi)
            if fast is not None and ref is not None:
                same_fields(fast, ref, ("d_above", "s_below", "b_rows", "b_price", "b_qty",
                                        "a_rows", "a_price", "a_qty"))


def test_resource_book_kernel_equals_numpy() -> None:
    bp, bq, ap, aq = _random_book(4, 40_000, True)
    n = bp.size
    bids = Bids.single(np.arange(n), 1, bq, bp)
    res = np.where(np.arange(n) % 3 == 0, 2, 1)  # asks on two resources: row gathers
    asks = Asks.single(np.arange(n, 2 * n), res, aq, ap)
    for r in range(N_RESOURCES):
        fast = book.resource_book(Market(bids, asks), r, kernel=True)
        ref = book.resource_book(Market(bids, asks), r, kernel=False)
        same_fields(fast.crossing, ref.crossing, CROSSING)
        same_fields(fast, ref, ("ranked_bid_rows", "ranked_bid_qty", "ranked_bid_price",
                                "ranked_ask_rows", "ranked_ask_qty", "ranked_ask_price",
                                "bid_cum", "ask_cum", "bid_take", "ask_take", "accepted_value",
                                "accepted_cost"))


# --- whole clearings ----------------------------------------------------------------------

def random_market(rng: np.random.Generator, n: int, bundles: bool) -> Market:
    """Single-resource or bundle bids, coarse or fine prices, zero and tenth quantities."""
    demand = np.zeros((n, N_RESOURCES))
    if bundles:
        demand = rng.choice([0.0, 0.5, 1.0, 2.0], (n, N_RESOURCES))
    else:
        demand[np.arange(n), rng.integers(0, N_RESOURCES, n)] = rng.choice([1.0, 2.5], n)
    coarse = rng.random() < 0.5
    value = rng.integers(0, 8, n) / 2.0 if coarse else rng.random(n) * 4
    bids = Bids(rng.integers(0, 50, n), demand, value, rng.choice([0.0, 0.1, 1.0, 2.0, 3.3], n))
    price = rng.integers(0, 6, n) / 2.0 if coarse else rng.random(n) * 3
    qty = rng.choice([0.0, 0.1, 0.2, 1.0, 2.5, 7.0], n)
    asks = Asks(rng.integers(100, 150, n), rng.integers(0, N_RESOURCES, n), qty, price)
    return Market(bids, asks)


def clear_both(name: str, bids: Bids, asks: Asks, monkeypatch: pytest.MonkeyPatch,
               optimum: bool = True, **params: Any) -> tuple[ClearingResult, ClearingResult]:
    """Clearings of fresh markets with kernels on and off (``optimum=False``: skip the
    optimal welfare, an LP for bundle markets)."""
    out = []
    for on in (True, False):
        monkeypatch.setattr(matching, "KERNELS", on)
        m = Market(bids, asks)
        if not optimum:
            m.cache["optimal_welfare"] = math.nan
        out.append(get_mechanism(name, **params).clear(m))
    return out[0], out[1]


@pytest.mark.parametrize("name", ["uniform", "mcafee", "tatonnement", "equilibrium"])
@pytest.mark.parametrize("bundles", [False, True])
@pytest.mark.parametrize("seed", range(4))
def test_clear_kernels_on_equals_off(name: str, bundles: bool, seed: int,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    m = random_market(np.random.default_rng(seed), 10 + 15 * seed, bundles)
    same_result(*clear_both(name, m.bids, m.asks, monkeypatch))


@pytest.mark.parametrize("name,params", [("uniform", {"k": 0.3}), ("mcafee", {"unit": 0.5})])
@pytest.mark.parametrize("seed", range(2))
def test_clear_large_kernels_on_equals_off(name: str, params: dict[str, float], seed: int,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Books above the window threshold: the windowed crossing and the merge kernels."""
    bp, bq, ap, aq = _random_book(10 + seed, 60_000, bool(seed))
    n = bp.size
    bids = Bids.single(np.arange(n), 0, bq, bp)
    asks = Asks.single(np.arange(n, 2 * n), 0, aq, ap)
    same_result(*clear_both(name, bids, asks, monkeypatch, **params))


def test_clear_large_bundles_kernels_on_equals_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bundle bids split over resources, asks on several: row gathers on both sides."""
    m = random_market(np.random.default_rng(7), 90_000, True)
    same_result(*clear_both("uniform", m.bids, m.asks, monkeypatch, optimum=False))


def test_kernels_switch() -> None:
    assert matching.use_kernels(None) is matching.KERNELS
    assert matching.use_kernels(False) is False
