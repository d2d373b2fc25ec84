"""Compiled (numba) uniform-price clearing of many venues: the flat batched path in loops.

:func:`clear_flat` does what :func:`market.batch.clear_uniform_flat`'s numpy reference
(``_books_of``, ``uniform_venues(exact=False)``, ``_trim_flat``) does, group by group
instead of pass by pass over every order: value shares, split bids, the ranked books of
every (venue, resource) group, crossing, k-price, takes, interval matching, fills, the
segmented welfare sums and the no-exposure trim. At the model's sizes the numpy version is
~40 passes of a few thousand elements, each paying its own call and temporary; the loops
touch each order a handful of times.

Results are bit-identical to the numpy reference (tests/market/test_batch_kernels.py):
every float comes from the same operations in the same order -- sums are sequential in the
order ``np.bincount`` / ``np.cumsum`` take their terms, a row of 4 is summed left to right
as numpy's ``sum(axis=1)`` does, and the ranked books are sorted by (price, row) within
each group, which is the numpy code's stable sort of the rows in row order. A venue's bids
are first ranked once by value per unit of reference cost, which orders every resource's
book up to rounding, so each book needs only an insertion pass.

House style as agents/queue_kernels.py: serial, ``cache=True``, imported lazily.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

Array = Any  # numba dispatchers are untyped for mypy

_R = 4  # market.resources.N_RESOURCES
_MULTI = -1  # market.orders.MULTI_RESOURCE
_NONE = -2  # market.orders.NO_RESOURCE
_INSERTION = 24  # runs up to this length are insertion-sorted before merging


@njit(inline="always")
def _before(ka: float, ia: int, kb: float, ib: int) -> bool:
    # (key, index) order: equal keys (-0.0 == 0.0, as in numpy's sorts) by index.
    return ka < kb or (ka == kb and ia < ib)


@njit(cache=True, nogil=True, error_model="numpy")
def _sort_pairs(key: Array, idx: Array, lo: int, hi: int, tk: Array, ti: Array) -> None:
    """Sort ``key[lo:hi]`` / ``idx[lo:hi]`` by (key, idx) ascending, in place.

    With distinct indices the result does not depend on the input order, and it is a
    stable sort by key of the rows taken in index order (numpy's stable argsort / lexsort
    of them). Insertion sort of short runs, then bottom-up merges (``tk`` / ``ti``:
    scratch of the size of ``key``).
    """
    n = hi - lo
    if n < 2:
        return
    for s in range(lo, hi, _INSERTION):
        _insertion(key, idx, s, min(s + _INSERTION, hi), n * n)
    width = _INSERTION
    while width < n:
        for s in range(lo, hi, 2 * width):
            m = min(s + width, hi)
            e = min(s + 2 * width, hi)
            if m >= e:
                continue
            i, j, t = s, m, s
            while i < m and j < e:
                # Selects rather than branches: the comparison is a coin flip on random
                # prices.
                kl, kr, il, ir = key[i], key[j], idx[i], idx[j]
                right = _before(kr, ir, kl, il)
                tk[t] = kr if right else kl
                ti[t] = ir if right else il
                j += right
                i += not right
                t += 1
            while i < m:
                tk[t] = key[i]
                ti[t] = idx[i]
                i += 1
                t += 1
            while j < e:
                tk[t] = key[j]
                ti[t] = idx[j]
                j += 1
                t += 1
            for p in range(s, e):
                key[p] = tk[p]
                idx[p] = ti[p]
        width *= 2


@njit(cache=True, nogil=True, error_model="numpy")
def _insertion(key: Array, idx: Array, lo: int, hi: int, budget: int) -> bool:
    """Insertion sort of ``key[lo:hi]`` / ``idx[lo:hi]`` by (key, idx); gives up (False,
    the slice then partly sorted) after ``budget`` moves."""
    moves = 0
    for i in range(lo + 1, hi):
        k, x = key[i], idx[i]
        j = i - 1
        while j >= lo and _before(k, x, key[j], idx[j]):
            key[j + 1] = key[j]
            idx[j + 1] = idx[j]
            j -= 1
        key[j + 1] = k
        idx[j + 1] = x
        moves += i - 1 - j
        if moves > budget:
            return False
    return True


@njit(cache=True, nogil=True, error_model="numpy")
def _sort_nearly_sorted(key: Array, idx: Array, lo: int, hi: int, tk: Array,
                        ti: Array) -> None:
    """:func:`_sort_pairs` for input that is almost in order: insertion sort (linear plus
    the inversions), the full sort if it meets more than a few inversions per element."""
    if not _insertion(key, idx, lo, hi, 8 * (hi - lo) + 64):
        _sort_pairs(key, idx, lo, hi, tk, ti)


@njit(cache=True, nogil=True, error_model="numpy")
def _ok_count(p: Array, q: Array, c: Array, s0: int, s1: int, op: Array, oq: Array,
              oc: Array, o0: int, o1: int, bids: bool) -> int:
    """market.batch._cross_groups' count of orders whose first unit trades: over the
    positive-quantity orders of one group, each order's start (the previous positive
    order's end, 0.0 first) is looked up among the other side's positive ends
    (searchsorted "right") and compared by price with the order found there."""
    k = o0
    count = 0
    start = 0.0
    for i in range(s0, s1):
        if not q[i] > 0:
            continue
        while k < o1 and not (oq[k] > 0 and oc[k] > start):
            k += 1  # skips other-side orders ending by start, and zero-quantity ones
        if k < o1:
            count += (p[i] >= op[k]) if bids else (op[k] >= p[i])
        start = c[i]
    return count


@njit(cache=True, nogil=True, error_model="numpy")
def _nth_positive(q: Array, s0: int, s1: int, n: int) -> int:
    """Position of the n-th (0-based) positive-quantity order in ``q[s0:s1]``."""
    for i in range(s0, s1):
        if q[i] > 0:
            if n == 0:
                return i
            n -= 1
    return -1


@njit(cache=True, nogil=True, error_model="numpy")
def _next_price(p: Array, q: Array, c: Array, s0: int, s1: int, x: float) -> float:
    """Price of the first positive-quantity order ending after ``x`` (nan if none)."""
    for i in range(s0, s1):
        if q[i] > 0 and c[i] > x:
            return p[i]
    return math.nan


@njit(cache=True, nogil=True, error_model="numpy")
def _take(q: Array, c: Array, s0: int, s1: int, total: float, out: Array) -> None:
    """market.batch._taken for one group: units within its first ``total`` units."""
    for i in range(s0, s1):
        if c[i] >= total:  # first order ending at or after total (searchsorted "left")
            u = q[i]
            v = total - (c[i] - u)
            v = v if v > 0.0 else 0.0
            out[i] = v if v < u else u
            return
        out[i] = q[i]


@njit(cache=True, nogil=True, error_model="numpy")
def clear_flat(
    nb: Array, na: Array, dem: Array, val: Array, mb: Array, bres: Array,
    a_res: Array, a_qty: Array, a_price: Array, k: float, rel_tol: float,
) -> tuple[Array, ...]:
    """Uniform k-price clearing of venues laid out venue after venue (``nb[v]`` bids and
    ``na[v]`` asks each); the no-exposure trim applied when any bid is a bundle.

    Returns per group (venue * 4 + resource): prices (nan where nothing crossed), volume,
    value, cost; per bid: served; per ask: sold; per trade (venue-major, then resource, in
    matching order): group, global bid row, global ask row, quantity; and whether the
    trades were trimmed.
    """
    n_v = nb.size
    G = n_v * _R
    n_bids = val.size
    n_asks = a_qty.size
    b_ven = np.empty(n_bids, np.int64)
    a_ven = np.empty(n_asks, np.int64)
    i = 0
    j = 0
    for v in range(n_v):
        for _ in range(nb[v]):
            b_ven[i] = v
            i += 1
        for _ in range(na[v]):
            a_ven[j] = v
            j += 1

    # Value shares (batch._books_of / market.split.value_shares).
    any_multi = False
    for i in range(n_bids):
        if bres[i] == _MULTI:
            any_multi = True
            break
    shares = np.zeros((n_bids, _R))
    ref = np.zeros((n_v, _R))
    # Reference prices per venue (the shares of bundle bids; they also rank the books).
    qsum = np.zeros(G)
    csum = np.zeros(G)
    for j in range(n_asks):
        g = a_ven[j] * _R + a_res[j]
        qsum[g] += a_qty[j]
        csum[g] += a_qty[j] * a_price[j]
    for v in range(n_v):
        tot = 0.0
        cnt = 0
        for r in range(_R):
            x = csum[v * _R + r] / qsum[v * _R + r]
            good = np.isfinite(x) and x > 0
            tot = tot + (x if good else 0.0)
            cnt += good
            ref[v, r] = x if good else math.nan
        fill = tot / max(cnt, 1) if cnt > 0 else 1.0
        for r in range(_R):
            if not ref[v, r] == ref[v, r]:
                ref[v, r] = fill
    w = np.empty(_R)
    # approx[i]: minus the bid's value per unit of reference cost. Every split part of a
    # bid is priced about ref_r times it (exactly, but for rounding), so ranking a venue's
    # bids once by it leaves each group's book almost sorted.
    approx = np.zeros(n_bids)
    for i in range(n_bids):
        t = bres[i]
        v = b_ven[i]
        if t >= 0:
            shares[i, t] = 1.0
            approx[i] = -(val[i] / (dem[i, t] * ref[v, t]))
        elif t == _MULTI:
            for r in range(_R):
                w[r] = dem[i, r] * ref[v, r]
            s = ((w[0] + w[1]) + w[2]) + w[3]  # numpy's sum(axis=1) of a row of 4
            for r in range(_R):
                shares[i, r] = w[r] / s
            approx[i] = -(val[i] / s)
        else:
            for r in range(_R):
                shares[i, r] = 1.0 / _R

    # Ranked books: split bids bucketed by group in row order, then sorted by price
    # descending within each group (stable); asks likewise by price ascending.
    bcnt = np.zeros(G, np.int64)
    for i in range(n_bids):
        for r in range(_R):
            if dem[i, r] > 0:
                bcnt[b_ven[i] * _R + r] += 1
    boff = np.zeros(G + 1, np.int64)
    for g in range(G):
        boff[g + 1] = boff[g] + bcnt[g]
    ns = boff[G]
    rb_row = np.empty(ns, np.int64)
    rb_q = np.empty(ns)
    rb_p = np.empty(ns)
    key = np.empty(ns)
    fillp = boff[:G].copy()
    no_order = np.empty(0, np.int64)
    b0 = 0
    for v in range(n_v):
        b1 = b0 + nb[v]
        # Small venues (the env's) keep row order: their books are short enough for the
        # insertion sort, and an argsort per venue would cost more than it saves.
        presort = b1 - b0 > _INSERTION
        order = np.argsort(approx[b0:b1]) if presort else no_order
        for o in range(b1 - b0):
            i = b0 + (order[o] if presort else o)
            for r in range(_R):
                d = dem[i, r]
                if d > 0:
                    g = v * _R + r
                    p = fillp[g]
                    fillp[g] = p + 1
                    rb_row[p] = i
                    key[p] = -(val[i] * shares[i, r] / d)
        b0 = b1
    tk = np.empty(ns)
    ti = np.empty(ns, np.int64)
    for g in range(G):
        # By (minus price, row): the stable sort by price of the rows in row order.
        _sort_nearly_sorted(key, rb_row, boff[g], boff[g + 1], tk, ti)
    for g in range(G):
        r = g % _R
        for p in range(boff[g], boff[g + 1]):
            i = rb_row[p]
            d = dem[i, r]
            rb_q[p] = d * mb[i]
            rb_p[p] = val[i] * shares[i, r] / d

    acnt = np.zeros(G, np.int64)
    for j in range(n_asks):
        acnt[a_ven[j] * _R + a_res[j]] += 1
    aoff = np.zeros(G + 1, np.int64)
    for g in range(G):
        aoff[g + 1] = aoff[g] + acnt[g]
    ra_row = np.empty(n_asks, np.int64)
    akey = np.empty(n_asks)
    fillp = aoff[:G].copy()
    for j in range(n_asks):
        g = a_ven[j] * _R + a_res[j]
        p = fillp[g]
        fillp[g] = p + 1
        ra_row[p] = j
        akey[p] = a_price[j]
    tk = np.empty(n_asks)
    ti = np.empty(n_asks, np.int64)
    for g in range(G):
        _sort_pairs(akey, ra_row, aoff[g], aoff[g + 1], tk, ti)
    ra_q = np.empty(n_asks)
    ra_p = np.empty(n_asks)
    for p in range(n_asks):
        ra_q[p] = a_qty[ra_row[p]]
        ra_p[p] = a_price[ra_row[p]]

    # Per group: running sums, crossing, price, takes, matching.
    bcum = np.empty(ns)
    acum = np.empty(n_asks)
    btake = np.zeros(ns)
    atake = np.zeros(n_asks)
    prices = np.full(G, math.nan)
    cap_t = ns + n_asks + G
    t_grp = np.empty(cap_t, np.int64)
    t_bid = np.empty(cap_t, np.int64)
    t_ask = np.empty(cap_t, np.int64)
    t_qty = np.empty(cap_t)
    nt = 0
    v_value = np.zeros(G)
    v_cost = np.zeros(G)
    v_volume = np.zeros(G)
    for g in range(G):
        b0, b1, a0, a1 = boff[g], boff[g + 1], aoff[g], aoff[g + 1]
        s = 0.0
        for p in range(b0, b1):
            s = rb_q[p] if p == b0 else s + rb_q[p]
            bcum[p] = s
        s = 0.0
        for p in range(a0, a1):
            s = ra_q[p] if p == a0 else s + ra_q[p]
            acum[p] = s
        if b1 == b0 or a1 == a0:
            continue
        nok_b = _ok_count(rb_p, rb_q, bcum, b0, b1, ra_p, ra_q, acum, a0, a1, True)
        nok_a = _ok_count(ra_p, ra_q, acum, a0, a1, rb_p, rb_q, bcum, b0, b1, False)
        if nok_b == 0 or nok_a == 0:
            continue
        lb = _nth_positive(rb_q, b0, b1, nok_b - 1)
        la = _nth_positive(ra_q, a0, a1, nok_a - 1)
        x, y = bcum[lb], acum[la]
        q = y if y < x else x  # np.minimum of two positive ends
        if not q > 0:
            continue
        # kda_price: the k-point of the Walrasian interval (market.kda).
        nbp = _next_price(rb_p, rb_q, bcum, b0, b1, q)
        nap = _next_price(ra_p, ra_q, acum, a0, a1, q)
        bp, ap = rb_p[lb], ra_p[la]
        lo = ap if (ap >= nbp or nbp != nbp) else nbp  # np.fmax
        hi = bp if (bp <= nap or nap != nap) else nap  # np.fmin
        hi = hi if hi >= lo else lo  # np.maximum(hi, lo)
        pr = k * hi + (1.0 - k) * lo
        pr = pr if pr >= lo else lo  # np.clip(pr, lo, hi)
        pr = pr if pr <= hi else hi
        prices[g] = pr
        _take(rb_q, bcum, b0, b1, q, btake)
        _take(ra_q, acum, a0, a1, q, atake)
        cap = bcum[b1 - 1]
        cap = acum[a1 - 1] if acum[a1 - 1] < cap else cap
        total = cap if cap < q else q
        if total > 0:
            # Interval matching (market.kernels.merge_positions) on the ends below total.
            nbk = b0
            while nbk < b1 and bcum[nbk] < total:
                nbk += 1
            nsk = a0
            while nsk < a1 and acum[nsk] < total:
                nsk += 1
            tol = rel_tol * total
            ib, ia = b0, a0
            prev = 0.0
            while True:
                if ib < nbk and (ia >= nsk or bcum[ib] <= acum[ia]):
                    end = bcum[ib]
                    nxt = 0
                elif ia < nsk:
                    end = acum[ia]
                    nxt = 1
                else:
                    end = total
                    nxt = 2
                seg = end - prev
                if seg > tol:
                    t_grp[nt] = g
                    t_bid[nt] = rb_row[min(ib, b1 - 1)]
                    t_ask[nt] = ra_row[min(ia, a1 - 1)]
                    t_qty[nt] = seg
                    nt += 1
                prev = end
                if nxt == 0:
                    ib += 1
                elif nxt == 1:
                    ia += 1
                else:
                    break
        # Segmented sums (np.bincount: sequential, in ranked order).
        acc = 0.0
        for p in range(b0, b1):
            acc += rb_p[p] * btake[p]
        v_value[g] = acc
        acc = 0.0
        acc2 = 0.0
        for p in range(a0, a1):
            acc += ra_p[p] * atake[p]
            acc2 += atake[p]
        v_cost[g] = acc
        v_volume[g] = acc2

    # Fills: units got per (bid, resource) and bundles served; units sold per ask.
    got = np.zeros((n_bids, _R))
    for g in range(G):
        r = g % _R
        for p in range(boff[g], boff[g + 1]):
            got[rb_row[p], r] = btake[p]
    served = np.empty(n_bids)
    for i in range(n_bids):
        m = math.inf
        for r in range(_R):
            d = dem[i, r]
            x = got[i, r] / d if d > 0 else math.inf
            m = x if x < m else m
        served[i] = mb[i] if mb[i] < m else m
    sold = np.zeros(n_asks)
    for p in range(n_asks):
        sold[ra_row[p]] = atake[p]

    # Per-venue value of the bundles served (uniform_venues, exact=False).
    multi_r = np.zeros((n_v, _R))
    free_r = np.zeros(n_v)
    n_multi = np.zeros(n_v, np.int64)
    for i in range(n_bids):
        v = b_ven[i]
        e = served[i] * val[i]
        for r in range(_R):
            multi_r[v, r] += e * shares[i, r]
        free_r[v] += e if bres[i] < 0 else 0.0
        n_multi[v] += bres[i] == _MULTI
    value = np.empty(G)
    for v in range(n_v):
        fr = free_r[v] / _R
        for r in range(_R):
            value[v * _R + r] = v_value[v * _R + r] + fr if n_multi[v] == 0 else multi_r[v, r]

    trimmed = nt > 0 and any_multi
    if not trimmed:
        return (prices, v_volume, value, v_cost, served, sold, t_grp[:nt], t_bid[:nt],
                t_ask[:nt], t_qty[:nt], False)
    # No exposure (batch._trim_flat / market.exposure.completed_quantities).
    gsum = np.zeros((n_bids, _R))
    for t in range(nt):
        gsum[t_bid[t], t_grp[t] % _R] += t_qty[t]
    keep = 0
    volume = np.zeros(G)
    sold = np.zeros(n_asks)
    for t in range(nt):
        i, r, x = t_bid[t], t_grp[t] % _R, t_qty[t]
        if bres[i] == _MULTI:
            gt = gsum[i, r]
            if gt > 0:
                sc = served[i] * dem[i, r] / gt
                sc = 1.0 if 1.0 <= sc else sc
            else:
                sc = 0.0
            x = x * sc
        if x > 0:
            t_grp[keep] = t_grp[t]
            t_bid[keep] = i
            t_ask[keep] = t_ask[t]
            t_qty[keep] = x
            keep += 1
            volume[t_grp[t]] += x
            sold[t_ask[t]] += x
    cost = np.zeros(G)
    for j in range(n_asks):
        cost[a_ven[j] * _R + a_res[j]] += sold[j] * a_price[j]
    return (prices, volume, value, cost, served, sold, t_grp[:keep], t_bid[:keep],
            t_ask[:keep], t_qty[:keep], True)


@njit(cache=True, nogil=True, error_model="numpy")
def trade_columns(
    t_grp: Array, t_bid: Array, t_ask: Array, prices: Array, b_off: Array, a_off: Array,
    b_agent: Array, a_agent: Array,
) -> tuple[Array, ...]:
    """The derived columns of :func:`clear_flat`'s trades in one pass: venue, resource,
    local bid and ask rows, buyer, seller and price; and where each venue's trades start
    (n_v + 1 offsets; the trades are venue-major)."""
    n = t_grp.size
    n_v = b_off.size - 1
    t_ven = np.empty(n, np.int64)
    t_res = np.empty(n, np.int8)
    bid_local = np.empty(n, np.int64)
    ask_local = np.empty(n, np.int64)
    buyer = np.empty(n, np.int64)
    seller = np.empty(n, np.int64)
    price = np.empty(n)
    t_off = np.zeros(n_v + 1, np.int64)
    for t in range(n):
        g = t_grp[t]
        v = g // _R
        i, j = t_bid[t], t_ask[t]
        t_ven[t] = v
        t_res[t] = g % _R
        bid_local[t] = i - b_off[v]
        ask_local[t] = j - a_off[v]
        buyer[t] = b_agent[i]
        seller[t] = a_agent[j]
        price[t] = prices[g]
        t_off[v + 1] += 1
    for v in range(n_v):
        t_off[v + 1] += t_off[v]
    return t_ven, t_res, bid_local, ask_local, buyer, seller, price, t_off
