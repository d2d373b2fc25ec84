"""Batched clearing: many independent markets ("venues") cleared in one vectorized pass.

The per-resource books of every (venue, resource) group are built, ranked, crossed and
matched together: one lexsort by (group, price), per-group cumulative sums, per-group
searchsorted via merged sorts, and vectorized interval matching across groups. Only the
few per-group and per-venue reductions (dot products, sums) that BLAS / numpy's pairwise
summation would order differently on other array lengths run per group, on the same
slices the single-market path uses, so results are bit-identical to calling
``Mechanism.clear`` on each market in turn (the tests check this).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from market import matching
from market.exposure import completed_quantities, has_bundles, trim_trades
from market.kda import kda_price
from market.matching import REL_TOL
from market.orders import MULTI_RESOURCE, NO_RESOURCE, Asks, Bids, Market, Trades
from market.resources import N_RESOURCES
from market.result import ClearingResult
from market.welfare import assemble_result, build_result, bundles_from_trades

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


def group_offsets(group: IntArray, n_groups: int) -> tuple[IntArray, IntArray]:
    """Counts per group and start offsets (n_groups + 1) of a group-sorted key array."""
    counts = np.bincount(group, minlength=n_groups).astype(np.int64, copy=False)
    off = np.zeros(n_groups + 1, np.int64)
    np.cumsum(counts, out=off[1:])
    return counts, off


def segmented_cumsum(x: FloatArray, group: IntArray, counts: IntArray, off: IntArray) -> FloatArray:
    """Cumulative sums restarting at every group (``group`` sorted): bit-identical to
    ``np.cumsum`` of each group's slice (sequential adds along a padded 2-d array)."""
    n = x.size
    if n == 0:
        return np.zeros(0)
    g = counts.size
    width = int(counts.max())
    pos = np.arange(n, dtype=np.int64) - off[group]
    if g * width <= 4 * n + 4096:
        pad = np.zeros((g, width))
        pad[group, pos] = x
        return np.cumsum(pad, axis=1)[group, pos]
    out = np.empty(n)
    for k in np.flatnonzero(counts).tolist():
        a, b = int(off[k]), int(off[k + 1])
        np.cumsum(x[a:b], out=out[a:b])
    return out


def group_searchsorted(a: FloatArray, a_group: IntArray, q: FloatArray, q_group: IntArray,
                       side: str) -> IntArray:
    """For each query, ``np.searchsorted(a_slice, q, side)`` within its group's slice of
    ``a`` (ascending within groups, groups ascending), for finite values.

    By default one binary search per query in a compiled loop
    (:func:`market.kernels.searchsorted_in_groups`, numpy's comparisons); with kernels off
    (``EDGEMARKET_KERNELS=0``) the numpy reference below.
    """
    nq = q.size
    if nq == 0:
        return np.zeros(0, np.int64)
    if not matching.use_kernels(None):
        return _group_searchsorted_numpy(a, a_group, q, q_group, side)
    n_groups = int(max(int(a_group[-1]) if a_group.size else 0, int(q_group.max()))) + 1
    bounds = np.searchsorted(a_group, np.arange(n_groups + 1), side="left")
    ki = matching.kernel_input
    return matching.kernels().searchsorted_in_groups(
        ki(np.asarray(a, np.float64)), ki(bounds.astype(np.int64, copy=False)),
        ki(np.asarray(q, np.float64)), ki(np.asarray(q_group, np.int64)), side == "right")


def _group_searchsorted_numpy(a: FloatArray, a_group: IntArray, q: FloatArray,
                              q_group: IntArray, side: str) -> IntArray:
    """The numpy reference of :func:`group_searchsorted`: one merged sort (or, for a few
    large groups, a searchsorted per group)."""
    na, nq = a.size, q.size
    if nq == 0:
        return np.zeros(0, np.int64)
    if na and nq > 1 and bool(np.all(q_group[1:] >= q_group[:-1])):
        # Few large groups: a searchsorted per group beats one big merged sort.
        q_keys, q_start = np.unique(q_group, return_index=True)
        if q_keys.size * 32 < na + nq:
            lo = np.searchsorted(a_group, q_keys, side="left")
            hi = np.searchsorted(a_group, q_keys, side="right")
            q_end = np.r_[q_start[1:], nq]
            res = np.empty(nq, np.int64)
            for a0, a1, q0, q1 in zip(lo.tolist(), hi.tolist(), q_start.tolist(),
                                      q_end.tolist(), strict=True):
                res[q0:q1] = np.searchsorted(a[a0:a1], q[q0:q1], side=side)  # type: ignore[call-overload]
            return res
    is_q = np.concatenate([np.zeros(na, np.bool_), np.ones(nq, np.bool_)])
    # On ties, side="right" counts the equal elements of a (they sort first), "left" not.
    tag = is_q if side == "right" else ~is_q
    order = np.lexsort((tag, np.concatenate([a, q]), np.concatenate([a_group, q_group])))
    qs = is_q[order]
    a_before = np.cumsum(~qs) - ~qs  # elements of a strictly before each position
    out = np.empty(nq, np.int64)
    out[order[qs] - na] = a_before[qs]
    # Minus the elements of a in earlier groups.
    first = np.searchsorted(a_group, q_group, side="left")
    return out - first



def _group_sum(group: IntArray, x: FloatArray, n_groups: int) -> FloatArray:
    """Sum of ``x`` per group (float64)."""
    return np.bincount(group, weights=x, minlength=n_groups).astype(np.float64, copy=False)


def _first_of_groups(counts: IntArray, off: IntArray) -> IntArray:
    return off[:-1][counts > 0]


@dataclass
class _Books:
    """Every market's orders concatenated, and the ranked per-(venue, resource) books."""

    n_v: int
    b_off: IntArray
    a_off: IntArray
    B_agent: IntArray
    B_dem: FloatArray
    B_val: FloatArray
    B_mb: FloatArray
    B_res: NDArray[np.int8]
    b_ven: IntArray
    A_agent: IntArray
    A_qty: FloatArray
    shares: FloatArray
    rb_row: IntArray  # ranked split bids: global bid row, units, unit price, group
    rb_q: FloatArray
    rb_p: FloatArray
    rb_g: IntArray
    ra_row: IntArray  # ranked asks: global ask row, units, price, group
    ra_q: FloatArray
    ra_p: FloatArray
    ra_g: IntArray
    bcnt: IntArray
    boff: IntArray
    acnt: IntArray
    aoff: IntArray


def _books(markets: Sequence[Market]) -> _Books:
    """The books of ``markets``, their orders concatenated market after market."""
    return _books_of(
        np.array([len(m.bids) for m in markets], np.int64),
        np.array([len(m.asks) for m in markets], np.int64),
        Bids._concat_trusted([m.bids for m in markets]),
        Asks._concat_trusted([m.asks for m in markets]))


def _books_of(nb: IntArray, na: IntArray, bids: Bids, asks: Asks) -> _Books:
    """The books of venues whose orders lie venue after venue in ``bids`` / ``asks``
    (``nb[v]`` / ``na[v]`` rows of venue v)."""
    n_v = nb.size
    R = N_RESOURCES
    G = n_v * R
    b_off = np.zeros(n_v + 1, np.int64)
    np.cumsum(nb, out=b_off[1:])
    a_off = np.zeros(n_v + 1, np.int64)
    np.cumsum(na, out=a_off[1:])
    B_agent, B_dem, B_val, B_mb, B_res = (
        bids.agent, bids.demand, bids.value, bids.max_bundles, bids.resource)
    A_agent, A_qty, A_price = asks.agent, asks.quantity, asks.price
    A_res = asks.resource.astype(np.int64)
    b_ven = np.repeat(np.arange(n_v, dtype=np.int64), nb)
    a_ven = np.repeat(np.arange(n_v, dtype=np.int64), na)
    n_bids = B_val.size

    # Value shares (market.split.value_shares) with per-venue reference prices.
    shares = np.zeros((n_bids, R))
    single = B_res >= 0
    shares[np.flatnonzero(single), B_res[single].astype(np.int64)] = 1.0
    multi = np.flatnonzero(B_res == MULTI_RESOURCE)
    if multi.size:
        akey = a_ven * R + A_res
        qsum = np.bincount(akey, weights=A_qty, minlength=G).reshape(n_v, R)
        csum = np.bincount(akey, weights=A_qty * A_price, minlength=G).reshape(n_v, R)
        with np.errstate(invalid="ignore", divide="ignore"):
            ref = csum / qsum
        good = np.isfinite(ref) & (ref > 0)
        tot = np.zeros(n_v)
        for r in range(R):  # sequential, as np.mean sums a handful of values
            tot = tot + np.where(good[:, r], ref[:, r], 0.0)
        cnt = good.sum(axis=1)
        fill = np.where(cnt > 0, tot / np.maximum(cnt, 1), 1.0)
        ref = np.where(good, ref, fill[:, None])
        w = B_dem[multi] * ref[b_ven[multi]]
        shares[multi] = w / w.sum(axis=1, keepdims=True)
    shares[B_res == NO_RESOURCE] = 1.0 / R

    # Split bids, ranked per (venue, resource) group: price descending, then row.
    rows, rs = np.nonzero(B_dem > 0)
    d = B_dem[rows, rs]
    s_qty = d * B_mb[rows]
    s_price = B_val[rows] * shares[rows, rs] / d
    s_grp = b_ven[rows] * R + rs
    o = np.lexsort((-s_price, s_grp))
    rb_row, rb_q, rb_p, rb_g = rows[o], s_qty[o], s_price[o], s_grp[o]
    a_grp = a_ven * R + A_res
    o = np.lexsort((A_price, a_grp))
    ra_row, ra_q, ra_p, ra_g = o.astype(np.int64), A_qty[o], A_price[o], a_grp[o]
    bcnt, boff = group_offsets(rb_g, G)
    acnt, aoff = group_offsets(ra_g, G)
    return _Books(n_v, b_off, a_off, B_agent, B_dem, B_val, B_mb, B_res, b_ven, A_agent,
                  A_qty, shares, rb_row, rb_q, rb_p, rb_g, ra_row, ra_q, ra_p, ra_g,
                  bcnt, boff, acnt, aoff)


@dataclass
class _Cross:
    """Per group crossing (market.book._cross_sorted): groups with a positive volume, the
    volume, and the marginal / next prices (nan where a side is exhausted)."""

    groups: IntArray
    quantity: FloatArray
    bid_price: FloatArray
    ask_price: FloatArray
    next_bid: FloatArray
    next_ask: FloatArray


def _cross_groups(bk: _Books, bq: FloatArray, bcum: FloatArray, aq: FloatArray,
                  acum: FloatArray, nexts: bool) -> _Cross:
    """Crossing of every group on its positive-quantity ranked orders."""
    G = bk.n_v * N_RESOURCES
    bp_i, ap_i = np.flatnonzero(bq > 0), np.flatnonzero(aq > 0)
    cb, bp, bg = bcum[bp_i], bk.rb_p[bp_i], bk.rb_g[bp_i]
    ca, ap, ag = acum[ap_i], bk.ra_p[ap_i], bk.ra_g[ap_i]
    z_i, z_f = np.zeros(0, np.int64), np.zeros(0)
    if not (cb.size and ca.size):
        return _Cross(z_i, z_f, z_f, z_f, z_f, z_f)
    pbc, pbo = group_offsets(bg, G)
    pac, pao = group_offsets(ag, G)
    b_start = np.empty_like(cb)
    b_start[1:] = cb[:-1]
    b_start[_first_of_groups(pbc, pbo)] = 0.0
    a_start = np.empty_like(ca)
    a_start[1:] = ca[:-1]
    a_start[_first_of_groups(pac, pao)] = 0.0
    j = group_searchsorted(ca, ag, b_start, bg, "right")
    n_a = pac[bg]
    idx = np.minimum(pao[bg] + np.minimum(j, n_a - 1), ca.size - 1)
    ok_b = (j < n_a) & (bp >= ap[np.maximum(idx, 0)])
    i = group_searchsorted(cb, bg, a_start, ag, "right")
    n_b = pbc[ag]
    idx = np.minimum(pbo[ag] + np.minimum(i, n_b - 1), cb.size - 1)
    ok_a = (i < n_b) & (bp[np.maximum(idx, 0)] >= ap)
    nok_b = np.bincount(bg[ok_b], minlength=G)
    nok_a = np.bincount(ag[ok_a], minlength=G)
    cand = np.flatnonzero((nok_b > 0) & (nok_a > 0))
    lb = pbo[cand] + nok_b[cand] - 1
    la = pao[cand] + nok_a[cand] - 1
    qc = np.minimum(cb[lb], ca[la])
    nb_p = nb_a = z_f
    if nexts and cand.size:
        nb = group_searchsorted(cb, bg, qc, cand, "right")
        na = group_searchsorted(ca, ag, qc, cand, "right")
        nb_p = np.where(nb < pbc[cand], bp[np.minimum(pbo[cand] + nb, cb.size - 1)], math.nan)
        nb_a = np.where(na < pac[cand], ap[np.minimum(pao[cand] + na, ca.size - 1)], math.nan)
    return _Cross(cand, qc, bp[lb], ap[la], nb_p, nb_a)


@dataclass
class VenueClearing:
    """Uniform-price clearing of many venues as flat arrays (no per-venue objects).

    Per venue (V rows): ``prices`` (the k-price; nan where a resource did not cross),
    ``volume``, ``value_r`` / ``cost_r`` (value of bundles served attributed to each
    resource, ask cost of units sold). Per order of the concatenated books: ``served``
    (bundles each bid got) and ``sold`` (units each ask sold). Trades, venue-major:
    ``t_venue``, global rows ``t_bid`` / ``t_ask`` into the concatenated bids / asks,
    their local rows within the venue, and the columns of :class:`Trades`.
    ``b_off`` / ``a_off`` / ``t_off``: where each venue's bids, asks and trades start.
    """

    prices: FloatArray
    volume: FloatArray
    value_r: FloatArray
    cost_r: FloatArray
    served: FloatArray
    sold: FloatArray
    b_off: IntArray
    a_off: IntArray
    t_off: IntArray
    t_venue: IntArray
    t_bid: IntArray
    t_ask: IntArray
    t_bid_local: IntArray
    t_ask_local: IntArray
    t_buyer: IntArray
    t_seller: IntArray
    t_res: NDArray[np.int8]
    t_qty: FloatArray
    t_price: FloatArray

    def trades(self, v: int) -> Trades:
        """Venue ``v``'s trades, indexed by its local bid and ask rows."""
        t0, t1 = int(self.t_off[v]), int(self.t_off[v + 1])
        tp = self.t_price[t0:t1]
        return Trades._trusted(self.t_buyer[t0:t1], self.t_seller[t0:t1], self.t_res[t0:t1],
                               self.t_qty[t0:t1], tp, self.t_bid_local[t0:t1],
                               self.t_ask_local[t0:t1], tp)


def clear_uniform_many(markets: Sequence[Market], k: float, name: str) -> list[ClearingResult]:
    """``UniformPrice(k).clear(m)`` for every market in ``markets``, in one pass."""
    if not markets:
        return []
    vc = uniform_venues(_books(markets), k)
    out: list[ClearingResult] = []
    for v, market in enumerate(markets):
        b0, b1, a0, a1 = int(vc.b_off[v]), int(vc.b_off[v + 1]), int(vc.a_off[v]), int(vc.a_off[v + 1])
        if has_bundles(market.bids):  # no exposure, as UniformPrice.clear does
            served = vc.served[b0:b1]
            out.append(build_result(market, name, trim_trades(market.bids, vc.trades(v), served),
                                    vc.prices[v], bundles_served=served))
            continue
        out.append(assemble_result(market, name, vc.trades(v), vc.prices[v], vc.served[b0:b1],
                                   vc.volume[v], vc.sold[a0:a1], vc.value_r[v], vc.cost_r[v]))
    return out


def clear_uniform_flat(nb: IntArray, na: IntArray, bids: Bids, asks: Asks,
                       k: float) -> VenueClearing:
    """Uniform-price clearing of venues whose orders lie venue after venue in ``bids`` /
    ``asks`` (``nb[v]`` / ``na[v]`` rows of venue v): the arrays of
    :func:`clear_uniform_many` without building a Market or a ClearingResult per venue.

    Prices, trades, bundles served and units sold are identical to those of
    :func:`clear_uniform_many`; the welfare totals (``value_r``, ``cost_r``, ``volume``)
    are segmented sums, equal to its per-group reductions up to float rounding.

    By default the whole clearing runs as compiled loops
    (:func:`market.batch_kernels.clear_flat`, bit-identical to the numpy code below, which
    runs with kernels off: ``EDGEMARKET_KERNELS=0``).
    """
    if matching.use_kernels(None):
        return _clear_flat_kernel(nb, na, bids, asks, k)
    bk = _books_of(nb, na, bids, asks)
    vc = uniform_venues(bk, k, exact=False)
    if vc.t_qty.size and bool(np.any(bk.B_res == MULTI_RESOURCE)):
        vc = _trim_flat(vc, bk, asks)
    return vc


def _clear_flat_kernel(nb: IntArray, na: IntArray, bids: Bids, asks: Asks,
                       k: float) -> VenueClearing:
    """:func:`clear_uniform_flat` through :func:`market.batch_kernels.clear_flat`."""
    from market import batch_kernels

    ki = matching.kernel_input
    R = N_RESOURCES
    nb = np.asarray(nb, np.int64)
    na = np.asarray(na, np.int64)
    n_v = nb.size
    (prices, volume, value, cost, served, sold, t_grp, t_bid, t_ask, t_qty,
     _trimmed) = batch_kernels.clear_flat(
        ki(nb), ki(na), ki(bids.demand), ki(bids.value), ki(bids.max_bundles),
        ki(bids.resource), ki(asks.resource), ki(asks.quantity), ki(asks.price), float(k),
        REL_TOL)
    b_off = np.zeros(n_v + 1, np.int64)
    np.cumsum(nb, out=b_off[1:])
    a_off = np.zeros(n_v + 1, np.int64)
    np.cumsum(na, out=a_off[1:])
    t_ven, t_res, t_bid_local, t_ask_local, t_buyer, t_seller, t_price, t_off = \
        batch_kernels.trade_columns(t_grp, t_bid, t_ask, prices, b_off, a_off,
                                    ki(bids.agent), ki(asks.agent))
    return VenueClearing(prices.reshape(n_v, R), volume.reshape(n_v, R),
                         value.reshape(n_v, R), cost.reshape(n_v, R), served, sold, b_off,
                         a_off, t_off, t_ven, t_bid, t_ask, t_bid_local, t_ask_local, t_buyer,
                         t_seller, t_res, t_qty, t_price)


def _trim_flat(vc: VenueClearing, bk: _Books, asks: Asks) -> VenueClearing:
    """No exposure on the flat path (market.exposure): bundle bids keep their completed
    fractions only. Trades, units sold and volumes equal the per-venue path's exactly (the
    same sums per bid, ask and resource in the same order); costs are segmented sums."""
    q = completed_quantities(vc.t_bid, vc.t_res, vc.t_qty, bk.B_dem, bk.B_res, vc.served)
    keep = np.flatnonzero(q > 0)
    n_v, R = bk.n_v, N_RESOURCES
    t_ven = vc.t_venue[keep]
    t_q = q[keep]
    t_ask = vc.t_ask[keep]
    _, t_off = group_offsets(t_ven, n_v)
    volume = np.bincount(t_ven * R + vc.t_res[keep], weights=t_q,
                         minlength=n_v * R).astype(np.float64).reshape(n_v, R)
    sold = np.bincount(t_ask, weights=t_q, minlength=asks.quantity.size).astype(np.float64)
    a_ven = np.repeat(np.arange(n_v, dtype=np.int64), np.diff(vc.a_off))
    cost_r = np.bincount(a_ven * R + asks.resource, weights=sold * asks.price,
                         minlength=n_v * R).astype(np.float64).reshape(n_v, R)
    return VenueClearing(vc.prices, volume, vc.value_r, cost_r, vc.served, sold, vc.b_off,
                         vc.a_off, t_off, t_ven, vc.t_bid[keep], t_ask, vc.t_bid_local[keep],
                         vc.t_ask_local[keep], vc.t_buyer[keep], vc.t_seller[keep],
                         vc.t_res[keep], t_q, vc.t_price[keep])


def uniform_venues(bk: _Books, k: float, exact: bool = True) -> VenueClearing:
    """The k-double auction of every (venue, resource) group of ``bk`` at once.

    ``exact``: reduce each group's welfare totals exactly as the single-market path does
    (one dot product per group: bit-identical results); False sums all groups at once.
    """
    n_v = bk.n_v
    R = N_RESOURCES
    G = n_v * R
    b_off, a_off, B_agent, B_dem, B_val, B_mb, B_res = (
        bk.b_off, bk.a_off, bk.B_agent, bk.B_dem, bk.B_val, bk.B_mb, bk.B_res)
    b_ven, A_agent, A_qty, shares = bk.b_ven, bk.A_agent, bk.A_qty, bk.shares
    rb_row, rb_q, rb_p, rb_g = bk.rb_row, bk.rb_q, bk.rb_p, bk.rb_g
    ra_row, ra_q, ra_p, ra_g = bk.ra_row, bk.ra_q, bk.ra_p, bk.ra_g
    bcnt, boff, acnt, aoff = bk.bcnt, bk.boff, bk.acnt, bk.aoff
    n_bids = B_val.size
    bcum = segmented_cumsum(rb_q, rb_g, bcnt, boff)
    acum = segmented_cumsum(ra_q, ra_g, acnt, aoff)

    c = _cross_groups(bk, rb_q, bcum, ra_q, acum, nexts=True)
    prices = np.full((n_v, R), math.nan)
    traded = np.zeros(G, np.bool_)
    q = np.zeros(G)
    pos = c.quantity > 0
    tg = c.groups[pos]
    q[tg] = c.quantity[pos]
    traded[tg] = True
    prices.reshape(-1)[tg] = kda_price(c.bid_price[pos], c.ask_price[pos], c.next_bid[pos],
                                       c.next_ask[pos], k)
    tg = np.flatnonzero(traded)

    # Units each ranked order takes at Q* (market.matching.taken), per traded group.
    btake = _taken(rb_q, bcum, rb_g, bcnt, boff, q, traded, tg)
    atake = _taken(ra_q, acum, ra_g, acnt, aoff, q, traded, tg)

    # Trades: interval matching of every traded group at once.
    cap = np.minimum(bcum[boff[tg + 1] - 1], acum[aoff[tg + 1] - 1]) if tg.size else np.zeros(0)
    total = np.minimum(q[tg], cap)
    live = total > 0
    tt, total = tg[live], total[live]
    t_buy, t_sell, t_qty, t_grp = _match_groups(bcum, rb_g, boff, acum, ra_g, aoff, tt, total, bcnt, acnt)
    t_bid = rb_row[boff[t_grp] + t_buy]
    t_ask = ra_row[aoff[t_grp] + t_sell]
    t_ven = t_grp // R
    t_res = (t_grp % R).astype(np.int8)
    t_price = prices.reshape(-1)[t_grp]
    t_buyer = B_agent[t_bid]
    t_seller = A_agent[t_ask]
    t_bid_local = t_bid - b_off[t_ven]
    t_ask_local = t_ask - a_off[t_ven]
    _, t_off = group_offsets(t_ven, n_v)

    # Fills: units got per (bid, resource) and sold per ask; bundles served.
    got = np.zeros((n_bids, R))
    in_t = traded[rb_g]
    got[rb_row[in_t], rb_g[in_t] % R] = btake[in_t]
    sold = np.zeros(A_qty.size)
    in_t = traded[ra_g]
    sold[ra_row[in_t]] = atake[in_t]
    with np.errstate(divide="ignore", invalid="ignore"):
        served = np.where(B_dem > 0, got / B_dem, np.inf).min(axis=1)
    np.minimum(served, B_mb, out=served)

    is_single = np.bincount(b_ven[B_res == MULTI_RESOURCE], minlength=n_v) == 0
    if not exact:  # one segmented sum per total: equal to the loop below up to rounding
        v_value = _group_sum(rb_g, rb_p * btake, G).reshape(n_v, R)
        v_cost = _group_sum(ra_g, ra_p * atake, G).reshape(n_v, R)
        v_volume = _group_sum(ra_g, atake, G).reshape(n_v, R)
        earned = served * B_val
        multi_r = np.stack([_group_sum(b_ven, earned * shares[:, r], n_v) for r in range(R)],
                           axis=1)
        free_r = _group_sum(b_ven, np.where(B_res < 0, earned, 0.0), n_v) / R
        value_r = np.where(is_single[:, None], v_value + free_r[:, None], multi_r)
        return VenueClearing(prices, v_volume, value_r, v_cost, served, sold, b_off, a_off,
                             t_off, t_ven, t_bid, t_ask, t_bid_local, t_ask_local, t_buyer,
                             t_seller, t_res, t_qty, t_price)
    acc_value = np.zeros(G)
    acc_cost = np.zeros(G)
    volume = np.zeros(G)
    for g in tg.tolist():
        b0, b1, a0, a1 = int(boff[g]), int(boff[g + 1]), int(aoff[g]), int(aoff[g + 1])
        acc_value[g] = float(rb_p[b0:b1] @ btake[b0:b1])
        acc_cost[g] = float(ra_p[a0:a1] @ atake[a0:a1])
        volume[g] = float(atake[a0:a1].sum())
    v_value = acc_value.reshape(n_v, R)
    v_cost = acc_cost.reshape(n_v, R)
    v_volume = volume.reshape(n_v, R)
    # Per-venue value of the bundles served, with the single-market path's own reductions.
    value_r = v_value.copy()
    has_free = np.bincount(b_ven[B_res < 0], minlength=n_v) > 0
    for v in np.flatnonzero(~is_single | has_free).tolist():
        b0, b1 = int(b_off[v]), int(b_off[v + 1])
        srv = served[b0:b1]
        if is_single[v]:
            free = B_res[b0:b1] < 0
            value_r[v] += float(srv[free] @ B_val[b0:b1][free]) / R
        else:
            value_r[v] = (srv * B_val[b0:b1]) @ shares[b0:b1]
    return VenueClearing(prices, v_volume, value_r, v_cost, served, sold, b_off, a_off, t_off,
                         t_ven, t_bid, t_ask, t_bid_local, t_ask_local, t_buyer, t_seller,
                         t_res, t_qty, t_price)


def _taken(qty: FloatArray, cum: FloatArray, grp: IntArray, cnt: IntArray, off: IntArray,
           q: FloatArray, traded: BoolArray, tg: IntArray) -> FloatArray:
    """Per ranked order: units within the first q[group] units of its group's line (0 in
    groups that did not trade)."""
    take = np.zeros(qty.size)
    if tg.size == 0:
        return take
    kq = group_searchsorted(cum, grp, q[tg], tg, "left")  # first order ending at/after q
    kpos = np.full(cnt.size, np.iinfo(np.int64).max)
    kpos[tg] = kq
    local = np.arange(qty.size, dtype=np.int64) - off[grp]
    kk = kpos[grp]
    in_t = traded[grp]
    take[in_t & (local < kk)] = qty[in_t & (local < kk)]
    part = np.flatnonzero(kq < cnt[tg])
    if part.size:
        at = off[tg[part]] + kq[part]
        qk, ck = qty[at], cum[at]
        take[at] = np.minimum(qk, np.maximum(0.0, q[tg[part]] - (ck - qk)))
    return take


def _match_groups(
    bcum: FloatArray, bgrp: IntArray, boff: IntArray, acum: FloatArray, agrp: IntArray,
    aoff: IntArray, groups: IntArray, total: FloatArray, bcnt: IntArray, acnt: IntArray,
) -> tuple[IntArray, IntArray, FloatArray, IntArray]:
    """market.matching.match_intervals for every group in ``groups`` (ascending) at once.

    Returns (buy position, sell position) within each group's ranked orders, quantities and
    groups of the trades, group-major in segment order.
    """
    if groups.size == 0:
        z = np.zeros(0, np.int64)
        return z, z, np.zeros(0), z
    nbk = group_searchsorted(bcum, bgrp, total, groups, "left")
    nsk = group_searchsorted(acum, agrp, total, groups, "left")
    lim_b = np.zeros(bcnt.size, np.int64)
    lim_b[groups] = nbk
    lim_a = np.zeros(acnt.size, np.int64)
    lim_a[groups] = nsk
    sel_b = np.flatnonzero(np.arange(bcum.size) - boff[bgrp] < lim_b[bgrp])
    sel_a = np.flatnonzero(np.arange(acum.size) - aoff[agrp] < lim_a[agrp])
    vals = np.concatenate([bcum[sel_b], acum[sel_a], total])
    grp = np.concatenate([bgrp[sel_b], agrp[sel_a], groups])
    kind = np.concatenate([np.zeros(sel_b.size, np.int8), np.ones(sel_a.size, np.int8),
                           np.full(groups.size, 2, np.int8)])
    # Stable: on equal ends, buyer ends (in order) before seller ends before the total,
    # as the stable argsort of [buyer ends, seller ends, total] in match_intervals.
    o = np.lexsort((vals, grp))
    ends, egrp = vals[o], grp[o]
    is_buy = kind[o] == 0
    ecnt, eoff = group_offsets(egrp, bcnt.size)
    n = ends.size
    first = eoff[egrp]
    before = np.cumsum(is_buy) - is_buy
    buy_pos = before - before[first]
    sell_pos = np.arange(n, dtype=np.int64) - first - buy_pos
    qty = np.empty(n)
    qty[1:] = ends[1:] - ends[:-1]
    heads = _first_of_groups(ecnt, eoff)
    qty[heads] = ends[heads]
    tot = np.zeros(bcnt.size)
    tot[groups] = total
    keep = qty > REL_TOL * tot[egrp]
    buy_pos = np.minimum(buy_pos[keep], bcnt[egrp[keep]] - 1)
    sell_pos = np.minimum(sell_pos[keep], acnt[egrp[keep]] - 1)
    return buy_pos.astype(np.int64), sell_pos.astype(np.int64), qty[keep], egrp[keep]


def clear_mcafee_many(markets: Sequence[Market], unit: float, name: str,
                      slack: float) -> list[ClearingResult]:
    """``McAfee(unit).clear(m)`` for every market in ``markets``, in one pass (volumes and
    welfare per market by :func:`market.welfare.build_result`, as ``clear`` does)."""
    n_v = len(markets)
    if n_v == 0:
        return []
    R = N_RESOURCES
    G = n_v * R
    bk = _books(markets)
    bu = np.floor(bk.rb_q / unit + slack)
    au = np.floor(bk.ra_q / unit + slack)
    c = _cross_groups(bk, bu, segmented_cumsum(bu, bk.rb_g, bk.bcnt, bk.boff),
                      au, segmented_cumsum(au, bk.ra_g, bk.acnt, bk.aoff), nexts=True)
    k = np.rint(c.quantity).astype(np.int64)
    go = k > 0
    g, k = c.groups[go], k[go]
    bp, ap, nb, na = c.bid_price[go], c.ask_price[go], c.next_bid[go], c.next_ask[go]
    p0 = 0.5 * (nb + na)
    efficient = np.isfinite(p0) & (ap <= p0) & (p0 <= bp)
    pb = np.where(efficient, p0, bp)
    ps = np.where(efficient, p0, ap)
    n_units = np.where(efficient, k, k - 1)
    reduced = np.zeros(G, np.bool_)
    reduced[g[~efficient]] = True
    keep = n_units > 0
    g, pb, ps, n_units = g[keep], pb[keep], ps[keep], n_units[keep]
    prices = np.full(G, math.nan)
    seller_prices = np.full(G, math.nan)
    prices[g], seller_prices[g] = pb, ps

    # Trades: unit quantities laid end to end, the first n_units * unit of each group.
    bq, aq = bu * unit, au * unit
    bcum = segmented_cumsum(bq, bk.rb_g, bk.bcnt, bk.boff)
    acum = segmented_cumsum(aq, bk.ra_g, bk.acnt, bk.aoff)
    cap = np.minimum(bcum[bk.boff[g + 1] - 1], acum[bk.aoff[g + 1] - 1]) if g.size else np.zeros(0)
    total = np.minimum(n_units * unit, cap)
    live = total > 0
    t_buy, t_sell, t_qty, t_grp = _match_groups(bcum, bk.rb_g, bk.boff, acum, bk.ra_g, bk.aoff,
                                                g[live], total[live], bk.bcnt, bk.acnt)
    t_bid = bk.rb_row[bk.boff[t_grp] + t_buy]
    t_ask = bk.ra_row[bk.aoff[t_grp] + t_sell]
    t_ven = t_grp // R
    t_res = (t_grp % R).astype(np.int8)
    t_price, t_sprice = prices[t_grp], seller_prices[t_grp]
    t_buyer, t_seller = bk.B_agent[t_bid], bk.A_agent[t_ask]
    t_bid_local = t_bid - bk.b_off[t_ven]
    t_ask_local = t_ask - bk.a_off[t_ven]
    _, t_off = group_offsets(t_ven, n_v)
    prices_v = prices.reshape(n_v, R)
    sp_v = seller_prices.reshape(n_v, R)
    red_v = reduced.reshape(n_v, R)
    out: list[ClearingResult] = []
    for v, market in enumerate(markets):
        t0, t1 = int(t_off[v]), int(t_off[v + 1])
        trades = Trades._trusted(t_buyer[t0:t1], t_seller[t0:t1], t_res[t0:t1], t_qty[t0:t1],
                                 t_price[t0:t1], t_bid_local[t0:t1], t_ask_local[t0:t1],
                                 t_sprice[t0:t1])
        info = {"seller_prices": sp_v[v].tolist(), "reduced": [bool(x) for x in red_v[v]]}
        if has_bundles(market.bids):  # no exposure, as McAfee.clear does
            served = bundles_from_trades(market.bids, trades)
            out.append(build_result(market, name, trim_trades(market.bids, trades, served),
                                    prices_v[v].copy(), bundles_served=served, info=info))
            continue
        out.append(build_result(market, name, trades, prices_v[v].copy(), info=info))
    return out


def single_resource_optima(markets: Sequence[Market]) -> FloatArray:
    """The optimal welfare of each market of single-resource bids, in one pass.

    With every bid on one resource the welfare LP (market.lp) splits into one problem per
    resource, whose optimum is the area between the ranked bid and ask curves up to the
    efficient volume: the divisible crossing's accepted value minus accepted cost. Equal to
    ``solve_welfare_lp(m).welfare`` up to float rounding (tested); used where solving
    one LP per market would dominate (``edgemarket market clear`` with a market column).
    """
    if not markets:
        return np.zeros(0)
    if not all(m.bids.is_single for m in markets):
        raise ValueError("single_resource_optima needs single-resource bids only")
    vc = uniform_venues(_books(markets), 0.5, exact=False)
    return np.asarray(vc.value_r.sum(axis=1) - vc.cost_r.sum(axis=1), np.float64)
