"""Interval matching and the order book's crossing (window fast path == full sort)."""

from __future__ import annotations

import brute_market as brute
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from market import book
from market.matching import match_intervals


@given(
    st.lists(st.integers(0, 6), min_size=0, max_size=12),
    st.lists(st.integers(0, 6), min_size=0, max_size=12),
    st.one_of(st.none(), st.floats(0, 40)),
)
def test_match_intervals_conserves_units(bq: list[int], sq: list[int], total: float | None) -> None:
    b, s = np.array(bq, float), np.array(sq, float)
    m = match_intervals(b, s, total)
    want = min(b.sum(), s.sum()) if total is None else min(b.sum(), s.sum(), total)
    assert m.quantity.sum() == pytest.approx(want)
    assert np.all(m.quantity > 0)
    # per order: matched units == take, never above the quantity, priority order respected
    if m.quantity.size:
        got_b = np.bincount(m.buy_pos, weights=m.quantity, minlength=b.size)
        got_s = np.bincount(m.sell_pos, weights=m.quantity, minlength=s.size)
        assert np.allclose(got_b, m.buy_take) and np.allclose(got_s, m.sell_take)
        assert np.all(got_b <= b + 1e-12) and np.all(got_s <= s + 1e-12)
        assert np.all(np.diff(m.buy_pos) >= 0) and np.all(np.diff(m.sell_pos) >= 0)
        # a later order trades only once every earlier one is full
        full_b = np.isclose(got_b, b)
        last = int(m.buy_pos.max())
        assert full_b[:last].all()


def test_match_intervals_float_noise_is_dropped() -> None:
    m = match_intervals(np.array([0.1, 0.2, 0.3]), np.array([0.3, 0.3]))
    assert m.buy_pos.tolist() == [0, 1, 2] and m.sell_pos.tolist() == [0, 0, 1]


@given(
    st.lists(st.tuples(st.floats(0, 10), st.floats(0, 5)), max_size=15),
    st.lists(st.tuples(st.floats(0, 10), st.floats(0, 5)), max_size=15),
)
def test_full_crossing_matches_brute_force(
    bids: list[tuple[float, float]], asks: list[tuple[float, float]]
) -> None:
    bp, bq = np.array([b[0] for b in bids]), np.array([b[1] for b in bids])
    ap, aq = np.array([a[0] for a in asks]), np.array([a[1] for a in asks])
    c = book.cross(bp, bq, ap, aq, window=False)
    vol, mb, ma = brute.crossing(bids, asks)
    assert c.quantity == pytest.approx(vol, abs=1e-9)
    if vol > 1e-9:
        assert c.bid_price == mb and c.ask_price == ma
    else:
        assert c.quantity == pytest.approx(0.0, abs=1e-9)


def _random_book(seed: int, n: int, ties: bool) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    if ties:  # coarse prices: many equal prices at the margin
        bp = rng.integers(50, 150, n) / 100.0
        ap = rng.integers(20, 120, n) / 100.0
    else:
        bp, ap = rng.uniform(0.5, 1.5, n), rng.uniform(0.2, 1.2, n)
    bq = rng.integers(0, 10, n).astype(float)  # includes zero quantities
    aq = rng.uniform(0, 10, n) * (rng.random(n) > 0.1)
    return bp, bq, ap, aq


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_window_equals_full_sort(seed: int, ties: bool) -> None:
    n = 60_000  # above the window threshold
    bp, bq, ap, aq = _random_book(seed, n, ties)
    fast = book.cross(bp, bq, ap, aq)
    full = book.cross(bp, bq, ap, aq, window=False)
    assert fast.quantity == pytest.approx(full.quantity, rel=1e-12)
    for attr in ("bid_price", "ask_price", "next_bid", "next_ask"):
        assert getattr(fast, attr) == getattr(full, attr), attr
    # the accepted sets (units per order) are identical
    def accepted(order: np.ndarray, q: np.ndarray, total: float) -> np.ndarray:
        out = np.zeros(q.size)
        cum = np.cumsum(q[order])
        out[order] = np.clip(total - (cum - q[order]), 0, q[order])
        return out
    assert np.allclose(accepted(fast.bid_order, bq, fast.quantity),
                       accepted(full.bid_order, bq, full.quantity))
    assert np.allclose(accepted(fast.ask_order, aq, fast.quantity),
                       accepted(full.ask_order, aq, full.quantity))


def test_window_used_on_large_books() -> None:
    bp, bq, ap, aq = _random_book(5, 100_000, False)
    assert book._cross_window(bp, bq, ap, aq) is not None


def test_window_falls_back_when_nothing_crosses() -> None:
    n = 30_000
    rng = np.random.default_rng(0)
    bp, ap = rng.uniform(0, 1, n), rng.uniform(2, 3, n)
    q = np.ones(n)
    c = book.cross(bp, q, ap, q)
    assert c.quantity == 0 and np.isnan(c.bid_price)
    assert c.next_bid == bp.max() and c.next_ask == ap.min()
