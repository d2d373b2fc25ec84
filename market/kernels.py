"""Compiled (numba) kernels for the clearing hot path.

Each kernel fuses several numpy passes over the order arrays into one linear loop and
reproduces a numpy reference bit for bit; the references stay in the calling modules
(:mod:`market.matching`, :mod:`market.book`), and ``market.matching.KERNELS = False`` (or the
environment variable ``EDGEMARKET_KERNELS=0``) switches back to them. Floating-point results
come from the same operations in the same order: running sums are sequential like
``np.cumsum`` (``np.add.accumulate``); pairwise sums and BLAS dot products stay in numpy.

Inputs arrive as read-only C-contiguous arrays (``market.matching.kernel_input``) and an
empty ``rows`` array stands for "the positions themselves", so that each kernel compiles
once rather than once per combination of flags. Output arrays are allocated by the caller
with numpy, which asks the OS for huge pages on large allocations: first-touch page faults
on 4 KiB pages would otherwise cost about as much as the loops themselves. Kernels compile
lazily on first call and are cached next to this file (``cache=True``); importing this
module imports numba (~0.3 s), so callers import it only when a kernel is first needed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

Array = Any  # numba dispatchers are untyped for mypy


@njit(inline="always")
def _emit_pos(t: int, q: float, tol: float, i: int, j: int,
              buy: Array, sell: Array, qty: Array) -> int:
    # Write unconditionally and advance only for kept segments: no branch to mispredict.
    buy[t] = i
    sell[t] = j
    qty[t] = q
    return t + (q > tol)


@njit(cache=True, nogil=True)
def merge_positions(
    cb: Array, cs: Array, nb: int, ns: int, total: float, tol: float,
    buy: Array, sell: Array, qty: Array,
) -> int:
    """Interval matching as a two-pointer merge (reference: ``match_intervals``).

    Merges the segment ends ``cb[:nb]``, ``cs[:ns]`` (all < ``total``) and ``total``, a
    buyer end before an equal seller end as in a stable sort; every segment longer than
    ``tol`` is written as (buyer position, seller position, length) to ``buy``, ``sell``,
    ``qty`` (room for ``nb + ns + 1``). Returns the number written.
    """
    i = j = t = 0
    prev = 0.0
    while i < nb and j < ns:  # the hot loop: both sides left, no bounds tests
        x, y = cb[i], cs[j]
        tb = x <= y
        end = x if tb else y
        t = _emit_pos(t, end - prev, tol, i, j, buy, sell, qty)
        prev = end
        i += tb
        j += not tb
    while i < nb:
        t = _emit_pos(t, cb[i] - prev, tol, i, j, buy, sell, qty)
        prev = cb[i]
        i += 1
    while j < ns:
        t = _emit_pos(t, cs[j] - prev, tol, i, j, buy, sell, qty)
        prev = cs[j]
        j += 1
    return _emit_pos(t, total - prev, tol, i, j, buy, sell, qty)


@njit(inline="always")
def _emit_rows(t: int, q: float, tol: float, i: int, j: int,
               brow: Array, srow: Array, bown: Array, sown: Array,
               buy: Array, sell: Array, buyer: Array, seller: Array, qty: Array) -> int:
    r, s = brow[i], srow[j]
    buy[t] = r
    sell[t] = s
    buyer[t] = bown[r]
    seller[t] = sown[s]
    qty[t] = q
    return t + (q > tol)


@njit(cache=True, nogil=True)
def merge_rows(
    cb: Array, cs: Array, nb: int, ns: int, total: float, tol: float,
    brow: Array, srow: Array, bown: Array, sown: Array,
    buy: Array, sell: Array, buyer: Array, seller: Array, qty: Array,
) -> int:
    """:func:`merge_positions` writing rows and owners instead of positions.

    Segment (i, j) is written as ``brow[i]``, ``srow[j]``, ``bown[brow[i]]``,
    ``sown[srow[j]]`` and its length: the gathers overlap the merge's latency-bound loop
    instead of taking four more passes.
    """
    i = j = t = 0
    prev = 0.0
    while i < nb and j < ns:
        x, y = cb[i], cs[j]
        tb = x <= y
        end = x if tb else y
        t = _emit_rows(t, end - prev, tol, i, j, brow, srow, bown, sown,
                       buy, sell, buyer, seller, qty)
        prev = end
        i += tb
        j += not tb
    while i < nb:
        t = _emit_rows(t, cb[i] - prev, tol, i, j, brow, srow, bown, sown,
                       buy, sell, buyer, seller, qty)
        prev = cb[i]
        i += 1
    while j < ns:
        t = _emit_rows(t, cs[j] - prev, tol, i, j, brow, srow, bown, sown,
                       buy, sell, buyer, seller, qty)
        prev = cs[j]
        j += 1
    # nb < brow.size whenever total <= cb[-1]; the clamp only guards a NaN total (whose
    # segment is never kept), as the reference's clamp of the last segment does.
    i, j = min(i, brow.size - 1), min(j, srow.size - 1)
    return _emit_rows(t, total - prev, tol, i, j, brow, srow, bown, sown,
                      buy, sell, buyer, seller, qty)


@njit(cache=True, nogil=True)
def window_side(
    p: Array, q: Array, rows: Array, lo: float, hi: float, upper: bool,
    full: Array, in_rows: Array, in_p: Array, in_q: Array,
) -> tuple[int, float, float]:
    """One side's pass of the order book's window test (reference: ``book._window_holds``).

    ``upper`` (bids): the orders priced above ``hi`` trade in full, those below ``lo`` not at
    all; otherwise (asks) the reverse. Writes ``full[i]`` = 1.0 / 0.0 (the exact masked sum
    is then numpy's dot product with it), and the rows (``rows[i]``, or i when ``rows`` is
    empty), prices and quantities of the orders priced inside [lo, hi] to ``in_rows``,
    ``in_p``, ``in_q`` (room for ``p.size``). Returns how many are inside, the units not
    excluded by the far bound and all units, as sequential sums (estimates of numpy's).
    """
    k = 0
    kept = 0.0
    total = 0.0
    own = rows.size == 0
    for i in range(p.size):
        x, u = p[i], q[i]
        near = x > hi if upper else x < lo  # beyond the bound that trades in full
        far = x < lo if upper else x > hi  # beyond the bound that never trades
        full[i] = 1.0 if near else 0.0
        kept += 0.0 if far else u
        total += u
        in_rows[k] = i if own else rows[i]
        in_p[k] = x
        in_q[k] = u
        k += not (near or far)
    return k, kept, total


@njit(cache=True, nogil=True)
def order_rows(p: Array, bound: float, upper: bool, tail: Array, out: Array) -> int:
    """The positions i with ``p[i] > bound`` (``upper``) or ``p[i] < bound``, ascending,
    then ``tail``, written to ``out``; returns how many (reference: ``np.concatenate(
    [np.flatnonzero(p > bound), tail])``)."""
    k = 0
    for i in range(p.size):
        out[k] = i
        k += p[i] > bound if upper else p[i] < bound
    for i in range(tail.size):
        out[k + i] = tail[i]
    return k + tail.size


@njit(cache=True, nogil=True)
def rank_side(
    order: Array, rows: Array, qty: Array, price: Array, total: float,
    out_rows: Array, out_qty: Array, out_price: Array, cum: Array, take: Array,
) -> None:
    """Gathers a side's orders in ``order`` and derives their running sums and takes.

    Writes ``rows[order]`` (skipped when ``rows`` is empty), ``qty[order]``,
    ``price[order]``, the running sum of the ranked quantities (``np.cumsum``) and the units
    each takes within the first ``total`` (``market.matching.taken``).
    """
    n = order.size
    gather_rows = rows.size > 0
    s = 0.0
    # Index of the first order ending at or after total (searchsorted left): n if none.
    k = n
    for i in range(n):
        o = order[i]
        if gather_rows:
            out_rows[i] = rows[o]
        u = qty[o]
        out_qty[i] = u
        out_price[i] = price[o]
        s = u if i == 0 else s + u  # np.cumsum starts from the first element, not 0.0 + it
        cum[i] = s
        if k == n and s >= total:
            k = i
        take[i] = u if k == n else 0.0
    if k < n:
        # As taken(): min(q, max(0.0, total - (end - q))) with Python's min / max.
        u = out_qty[k]
        v = total - (cum[k] - u)
        v = v if v > 0.0 else 0.0
        take[k] = v if v < u else u


_RADIX_BITS = 11
_RADIX_PASSES = 6  # 6 x 11 bits cover the 64-bit keys


@njit(cache=True, nogil=True)
def stable_argsort(x: Array, descending: bool, out: Array) -> None:
    """``np.argsort(-x if descending else x, kind="stable")`` into ``out``, as an LSD radix
    sort.

    Each value becomes an unsigned key ordered like the floats: -0.0 and 0.0 share a key
    (numpy treats them as equal), NaNs share the largest (numpy sorts them last, in order).
    Stable counting passes keep equal keys in index order; passes whose digit is the same
    for every key are skipped.
    """
    n = x.size
    vals = np.empty(n, np.float64)
    for i in range(n):
        v = -x[i] if descending else x[i]
        vals[i] = v + 0.0  # -0.0 + 0.0 == +0.0
    keys = vals.view(np.uint64)
    top = np.uint64(1) << np.uint64(63)
    for i in range(n):
        if vals[i] != vals[i]:
            keys[i] = ~np.uint64(0)
        elif keys[i] & top:
            keys[i] = ~keys[i]
        else:
            keys[i] = keys[i] | top
    size = 1 << _RADIX_BITS
    mask = np.uint64(size - 1)
    hist = np.zeros((_RADIX_PASSES, size), np.int64)
    for i in range(n):
        k = keys[i]
        for p in range(_RADIX_PASSES):
            hist[p, (k >> np.uint64(p * _RADIX_BITS)) & mask] += 1
    idx = np.arange(n)
    keys2, idx2 = np.empty(n, np.uint64), np.empty(n, np.int64)
    for p in range(_RADIX_PASSES):
        h = hist[p]
        if h.max() == n:  # one digit value only: the pass would not move anything
            continue
        start = 0
        for d in range(size):  # bucket counts -> first slot of each bucket
            c = h[d]
            h[d] = start
            start += c
        shift = np.uint64(p * _RADIX_BITS)
        for i in range(n):
            k = keys[i]
            d = (k >> shift) & mask
            slot = h[d]
            h[d] = slot + 1
            keys2[slot] = k
            idx2[slot] = idx[i]
        keys, keys2 = keys2, keys
        idx, idx2 = idx2, idx
    out[:] = idx


@njit(cache=True, nogil=True)
def _cumsum(q: Array) -> Array:
    out = np.empty(q.size, np.float64)
    s = 0.0
    for i in range(q.size):
        s = q[i] if i == 0 else s + q[i]  # as np.cumsum: the first element itself
        out[i] = s
    return out


@njit(cache=True, nogil=True)
def _count_right(c: Array, v: float) -> int:
    """np.searchsorted(c, v, side="right") on a sorted c without NaNs."""
    lo, hi = 0, c.size
    while lo < hi:
        mid = (lo + hi) >> 1
        if v < c[mid]:
            hi = mid
        else:
            lo = mid + 1
    return lo


@njit(cache=True, nogil=True)
def _count_ok(p: Array, c: Array, other_p: Array, other_c: Array, bids: bool) -> int:
    """How many orders' first units trade against the order facing them: for each order,
    the other side's order at ``searchsorted(other_c, start, "right")`` (starts ascend, so
    one pointer walks ``other_c``), compared by price."""
    n_other = other_c.size
    k = 0
    count = 0
    for i in range(p.size):
        start = 0.0 if i == 0 else c[i - 1]
        while k < n_other and other_c[k] <= start:
            k += 1
        if k < n_other:
            count += p[i] >= other_p[k] if bids else other_p[k] >= p[i]
    return count


@njit(cache=True, nogil=True)
def cross_sorted(bp: Array, bq: Array, ap: Array, aq: Array) -> tuple[float, int, int, int, int]:
    """The crossing of ranked curves (reference: ``book._cross_sorted``): Q*, the last
    accepted bid and ask, and the first bid and ask with units beyond Q*."""
    if bp.size == 0 or ap.size == 0:
        return 0.0, -1, -1, 0, 0
    cb, ca = _cumsum(bq), _cumsum(aq)
    last_b = _count_ok(bp, cb, ap, ca, True) - 1
    last_a = _count_ok(ap, ca, bp, cb, False) - 1
    if last_b < 0 or last_a < 0:
        return 0.0, -1, -1, 0, 0
    x, y = cb[last_b], ca[last_a]
    q = y if y < x else x  # Python's min(x, y)
    return q, last_b, last_a, _count_right(cb, q), _count_right(ca, q)


@njit(cache=True, nogil=True)
def searchsorted_in_groups(a: Array, bounds: Array, q: Array, q_group: Array,
                           right: bool) -> Array:
    """``np.searchsorted(a[bounds[g]:bounds[g+1]], q[i], side)`` for every query i of group
    g = ``q_group[i]`` (reference: ``market.batch._group_searchsorted_numpy``): a binary
    search with numpy's comparisons, ``<`` for side "left" and ``<=`` for "right"."""
    out = np.empty(q.size, np.int64)
    for i in range(q.size):
        g = q_group[i]
        lo, hi, x = bounds[g], bounds[g + 1], q[i]
        start = lo
        while lo < hi:
            mid = (lo + hi) >> 1
            if a[mid] < x or (right and a[mid] == x):
                lo = mid + 1
            else:
                hi = mid
        out[i] = lo - start
    return out
