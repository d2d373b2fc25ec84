"""The compiled flat clearing (market.batch_kernels) equals the numpy reference bit for bit.

``market.batch.clear_uniform_flat`` runs :func:`market.batch_kernels.clear_flat` by default
and its numpy code with kernels off; every field of the two ``VenueClearing`` results must
be the same bits (dtypes included) on random venues: unit, single-resource, bundle and empty
bids, zero quantities, coarse prices (many ties) and books long enough for the merge passes
of the per-group sort.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from test_batched_clearing import random_market

from market import batch, matching
from market.orders import Asks, Bids, Market, Trades
from market.resources import N_RESOURCES


def big_market(rng: np.random.Generator) -> Market:
    """Up to a few hundred bids, mostly bundles: groups longer than the sort's runs."""
    nb = int(rng.integers(0, 300))
    na = int(rng.integers(0, 120))
    bundle = rng.random() < 0.8
    if bundle:
        demand = np.where(rng.random((nb, N_RESOURCES)) < 0.6,
                          rng.choice([0.3, 1.0, 2.0, 4.7], (nb, N_RESOURCES)), 0.0)
    else:
        demand = np.zeros((nb, N_RESOURCES))
        demand[np.arange(nb), rng.integers(0, N_RESOURCES, nb)] = rng.choice([1.0, 2.5], nb)
    grid = rng.random() < 0.5
    value = rng.integers(0, 6, nb).astype(float) if grid else rng.random(nb) * 10
    bids = Bids(rng.integers(0, 50, nb), demand, value,
                rng.choice([1.0, 0.5, 2.0, 0.0, 3.3], nb))
    price = rng.integers(0, 6, na).astype(float) if grid else rng.random(na) * 8
    asks = Asks(rng.integers(100, 150, na), rng.integers(0, N_RESOURCES, na),
                rng.choice([0.0, 0.1, 0.2, 1.0, 2.5, 7.0, 30.0], na), price)
    return Market(bids, asks)


def _flat(markets: list[Market], k: float, kernel: bool,
          monkeypatch: pytest.MonkeyPatch) -> batch.VenueClearing:
    with monkeypatch.context() as m:
        m.setattr(matching, "KERNELS", kernel)
        return batch.clear_uniform_flat(
            np.array([len(x.bids) for x in markets], np.int64),
            np.array([len(x.asks) for x in markets], np.int64),
            Bids._concat_trusted([x.bids for x in markets]),
            Asks._concat_trusted([x.asks for x in markets]), k)


def _assert_same(a: batch.VenueClearing, b: batch.VenueClearing) -> None:
    for f in dataclasses.fields(batch.VenueClearing):
        np.testing.assert_array_equal(getattr(a, f.name), getattr(b, f.name),
                                      err_msg=f.name, strict=True)


@pytest.mark.parametrize("seed", range(200))
def test_kernel_flat_clearing_equals_numpy_small(seed: int,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(seed)
    markets = [random_market(rng) for _ in range(int(rng.integers(1, 9)))]
    k = float(rng.choice([0.5, 0.0, 1.0, 0.3]))
    _assert_same(_flat(markets, k, True, monkeypatch), _flat(markets, k, False, monkeypatch))


@pytest.mark.parametrize("seed", range(40))
def test_kernel_flat_clearing_equals_numpy_large(seed: int,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(1000 + seed)
    markets = [big_market(rng) for _ in range(int(rng.integers(1, 6)))]
    k = float(rng.choice([0.5, 0.25]))
    ref = _flat(markets, k, False, monkeypatch)
    _assert_same(_flat(markets, k, True, monkeypatch), ref)


def test_large_cases_exercise_trades_and_trim(monkeypatch: pytest.MonkeyPatch) -> None:
    """The random venues above do trade, bundles get trimmed, and groups outgrow a run."""
    rng = np.random.default_rng(1000)
    markets = [big_market(rng) for _ in range(5)]
    vc = _flat(markets, 0.5, True, monkeypatch)
    assert vc.t_qty.size > 100
    untrimmed = batch.uniform_venues(batch._books_of(
        np.array([len(x.bids) for x in markets]), np.array([len(x.asks) for x in markets]),
        Bids._concat_trusted([x.bids for x in markets]),
        Asks._concat_trusted([x.asks for x in markets])), 0.5, exact=False)
    assert not np.array_equal(vc.t_qty, untrimmed.t_qty)  # some trades were scaled
    assert int(batch._books_of(
        np.array([len(x.bids) for x in markets]), np.array([len(x.asks) for x in markets]),
        Bids._concat_trusted([x.bids for x in markets]),
        Asks._concat_trusted([x.asks for x in markets])).bcnt.max()) > 100


@pytest.mark.parametrize("seed", range(20))
def test_group_sorts_equal_numpy(seed: int) -> None:
    """The per-group sorts by (key, row): from row order they are numpy's stable sort by
    key; from any order (shuffled, nearly sorted, reversed: the insertion sort's fallback)
    the same rows."""
    from numba import njit

    from market import batch_kernels

    @njit
    def sort_groups(key, idx, off, tk, ti, nearly):  # type: ignore[no-untyped-def]
        for g in range(off.size - 1):
            if nearly:
                batch_kernels._sort_nearly_sorted(key, idx, off[g], off[g + 1], tk, ti)
            else:
                batch_kernels._sort_pairs(key, idx, off[g], off[g + 1], tk, ti)

    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 3000))
    key = rng.integers(0, 20, n).astype(float) if seed % 2 else rng.random(n)
    key[rng.random(n) < 0.05] = -0.0  # equal to 0.0 for numpy's sort
    cuts = np.sort(rng.integers(0, n + 1, int(rng.integers(0, 8))))
    off = np.concatenate([[0], cuts, [n]]).astype(np.int64)
    group = np.repeat(np.arange(off.size - 1), np.diff(off))
    expected = np.lexsort((key, group))
    scratch = (np.empty(n), np.empty(n, np.int64))
    for nearly in (False, True):
        k, idx = key.copy(), np.arange(n, dtype=np.int64)
        sort_groups(k, idx, off, *scratch, nearly)
        np.testing.assert_array_equal(idx, expected)
        np.testing.assert_array_equal(k, key[expected])
        # Other starting orders within each group: shuffled, sorted but for a few swaps,
        # reversed.
        shuffled = np.lexsort((rng.random(n), group))
        almost = expected.copy()
        for a in rng.integers(0, max(n - 1, 1), n // 50):
            if group[a] == group[a + 1]:
                almost[[a, a + 1]] = almost[[a + 1, a]]
        reverse = np.lexsort((-key, group))
        for start in (shuffled, almost, reverse):
            k, idx = key[start], start.astype(np.int64)
            sort_groups(k, idx, off, *scratch, nearly)
            np.testing.assert_array_equal(idx, expected)


def _net_credits_reference(t: Trades) -> dict[int, float]:
    """The np.unique formula net_credits used before (any ids)."""
    ids = np.concatenate([t.buyer, t.seller])
    flows = np.concatenate([-t.quantity * t.price, t.quantity * t.seller_price])
    uniq, inv = np.unique(ids, return_inverse=True)
    sums = np.bincount(inv, weights=flows, minlength=uniq.shape[0])
    return dict(zip(uniq.tolist(), sums.tolist(), strict=True))


@pytest.mark.parametrize("spread", [10, 1000, 10**9])
@pytest.mark.parametrize("seed", range(5))
def test_net_credits_equals_unique_reference(spread: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 500))
    lo = int(rng.integers(-50, 50))
    t = Trades(rng.integers(lo, lo + spread, n), rng.integers(lo, lo + spread, n),
               rng.integers(0, N_RESOURCES, n), rng.random(n) * 3, rng.random(n) * 7,
               np.arange(n), np.arange(n), rng.random(n) * 7)
    got, ref = t.net_credits(), _net_credits_reference(t)
    assert list(got) == list(ref)  # same ids in the same (ascending) order
    assert all(type(x) is int for x in got)
    assert repr(got) == repr(ref)  # same bits
