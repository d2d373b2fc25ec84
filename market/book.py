"""The order book of one resource: where the demand and supply curves cross.

Bids are ranked by unit price, highest first, asks lowest first; ties go to the lower row
index (arrival order). Laying the ranked quantities end to end gives the step curves B(x)
(bid price of the x-th unit) and A(x) (ask price). Units x with B(x) >= A(x) form a prefix
[0, Q*): Q* is the efficient volume, and the last accepted unit's bid and ask prices are the
marginal prices every per-resource auction prices from.

Fast path ("window"): only the orders near the crossing need sorting. A strided sample
locates the crossing approximately; a price window [lo, hi] around it is accepted only if
two exact O(n) tests prove that every bid above ``hi`` and every ask below ``lo`` trades in
full (and, by the same argument, nothing outside the window on the other side trades):

    supply(price <= hi) >= demand(price > hi)   and   demand(price >= lo) >= supply(price < lo)

Only the window is then sorted; the blocks outside it enter the local computation as one
pseudo-order each, priced at their worst member, which is exact for the crossing. If a test
fails or the margin lands on a pseudo-order, the window widens, and finally the whole book
is sorted. Results are identical to sorting everything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_SAMPLE = 4096  # sample size per side used to guess the window
_MIN_N = 20_000  # below this many orders a full sort is cheaper than guessing


@dataclass(frozen=True)
class Crossing:
    """Where a resource's curves cross.

    bid_order / ask_order: row positions (into the arrays given to :func:`cross`) in priority
    order, covering at least every order that trades; the first ``quantity`` units along
    them are the efficient trades. bid_price / ask_price: prices of the last accepted unit
    (nan when nothing trades). next_bid / next_ask: prices of the first unit beyond
    ``quantity`` on each side (nan when that side is exhausted).
    """

    quantity: float
    bid_price: float
    ask_price: float
    next_bid: float
    next_ask: float
    bid_order: IntArray
    ask_order: IntArray


def _ranked(price: FloatArray, descending: bool) -> IntArray:
    key = -price if descending else price
    return np.argsort(key, kind="stable").astype(np.int64, copy=False)


@dataclass(frozen=True)
class _Local:
    quantity: float
    bid_price: float
    ask_price: float
    next_bid: float
    next_ask: float
    bid_pos: int  # position of the marginal bid in the local arrays (-1: none)
    ask_pos: int


def _cross_sorted(bp: FloatArray, bq: FloatArray, ap: FloatArray, aq: FloatArray) -> _Local:
    """The crossing of already ranked curves (bp descending, ap ascending)."""
    nan = math.nan
    if bp.size == 0 or ap.size == 0:
        nb = float(bp[np.argmax(bq > 0)]) if bq.size and bq.max() > 0 else nan
        na = float(ap[np.argmax(aq > 0)]) if aq.size and aq.max() > 0 else nan
        return _Local(0.0, nan, nan, nb, na, -1, -1)
    cb = np.cumsum(bq)
    ca = np.cumsum(aq)
    total = min(float(cb[-1]), float(ca[-1]))
    edges = np.unique(np.concatenate([cb[cb <= total], ca[ca <= total], [total]]))
    edges = edges[edges > 0]
    bi = np.searchsorted(cb, edges, side="left")
    ai = np.searchsorted(ca, edges, side="left")
    ok = bp[bi] >= ap[ai]
    n_ok = int(ok.sum())  # ok is a prefix: bid prices fall, ask prices rise along x
    q = float(edges[n_ok - 1]) if n_ok else 0.0
    j = int(np.searchsorted(cb, q, side="right"))
    i = int(np.searchsorted(ca, q, side="right"))
    next_bid = float(bp[j]) if j < bp.size else nan
    next_ask = float(ap[i]) if i < ap.size else nan
    if n_ok == 0:
        return _Local(0.0, nan, nan, next_bid, next_ask, -1, -1)
    last_b, last_a = int(bi[n_ok - 1]), int(ai[n_ok - 1])
    return _Local(q, float(bp[last_b]), float(ap[last_a]), next_bid, next_ask, last_b, last_a)


def _full(bp: FloatArray, bq: FloatArray, ap: FloatArray, aq: FloatArray) -> Crossing:
    bo, ao = _ranked(bp, True), _ranked(ap, False)
    loc = _cross_sorted(bp[bo], bq[bo], ap[ao], aq[ao])
    return Crossing(loc.quantity, loc.bid_price, loc.ask_price, loc.next_bid, loc.next_ask, bo, ao)


def _guess_window(
    bp: FloatArray, bq: FloatArray, ap: FloatArray, aq: FloatArray, width: int
) -> tuple[float, float] | None:
    """A price window around the crossing of a strided sample, ``width`` sample ranks wide."""
    sb, sa = max(1, bp.size // _SAMPLE), max(1, ap.size // _SAMPLE)
    # Scale the sampled quantities so both samples represent their whole side.
    sbp, sbq = bp[::sb], bq[::sb] * (bq.sum() / max(bq[::sb].sum(), 1e-300))
    sap, saq = ap[::sa], aq[::sa] * (aq.sum() / max(aq[::sa].sum(), 1e-300))
    c = _full(sbp, sbq, sap, saq)
    if c.quantity <= 0:
        return None
    mid = 0.5 * (c.bid_price + c.ask_price)
    lo, hi = math.inf, -math.inf
    for s in (np.sort(sbp), np.sort(sap)):
        k = int(np.searchsorted(s, mid))
        lo = min(lo, float(s[max(k - width, 0)]))
        hi = max(hi, float(s[min(k + width, s.size - 1)]))
    return lo, hi


def _cross_window(
    bp: FloatArray, bq: FloatArray, ap: FloatArray, aq: FloatArray, lo: float, hi: float
) -> Crossing | None:
    """The crossing using only the orders priced in [lo, hi]; None if that is not exact."""
    b_hi, a_lo = bp > hi, ap < lo
    d_above = float(bq.sum(where=b_hi))
    s_below = float(aq.sum(where=a_lo))
    if float(aq.sum(where=ap <= hi)) < d_above or float(bq.sum(where=bp >= lo)) < s_below:
        return None
    b_lo, a_hi = bp < lo, ap > hi
    wb = np.flatnonzero(~(b_hi | b_lo))
    wa = np.flatnonzero(~(a_lo | a_hi))
    wb = wb[_ranked(bp[wb], True)]
    wa = wa[_ranked(ap[wa], False)]
    # Pseudo-orders: the block above (priced at its lowest), the window, the best order below.
    parts_bp, parts_bq = [bp[wb]], [bq[wb]]
    parts_ap, parts_aq = [ap[wa]], [aq[wa]]
    head_b = head_a = 0
    if d_above > 0:
        parts_bp.insert(0, np.array([bp.min(where=b_hi, initial=math.inf)]))
        parts_bq.insert(0, np.array([d_above]))
        head_b = 1
    if s_below > 0:
        parts_ap.insert(0, np.array([ap.max(where=a_lo, initial=-math.inf)]))
        parts_aq.insert(0, np.array([s_below]))
        head_a = 1
    if b_lo.any():
        parts_bp.append(np.array([bp.max(where=b_lo, initial=-math.inf)]))
        parts_bq.append(np.array([1.0]))
    if a_hi.any():
        parts_ap.append(np.array([ap.min(where=a_hi, initial=math.inf)]))
        parts_aq.append(np.array([1.0]))
    loc = _cross_sorted(
        np.concatenate(parts_bp), np.concatenate(parts_bq),
        np.concatenate(parts_ap), np.concatenate(parts_aq),
    )
    # The margin must be a real window order on both sides, not a block.
    if not (head_b <= loc.bid_pos < head_b + wb.size and head_a <= loc.ask_pos < head_a + wa.size):
        return None
    bid_order = np.concatenate([np.flatnonzero(b_hi), wb])
    ask_order = np.concatenate([np.flatnonzero(a_lo), wa])
    return Crossing(
        loc.quantity, loc.bid_price, loc.ask_price, loc.next_bid, loc.next_ask, bid_order, ask_order
    )


def cross(
    bid_price: FloatArray,
    bid_qty: FloatArray,
    ask_price: FloatArray,
    ask_qty: FloatArray,
    *,
    window: bool = True,
) -> Crossing:
    """The crossing of one resource's bids and asks (see the module doc)."""
    if window and min(bid_price.size, ask_price.size) >= _MIN_N:
        for width in (40, 400):
            guess = _guess_window(bid_price, bid_qty, ask_price, ask_qty, width)
            if guess is None:
                break
            c = _cross_window(bid_price, bid_qty, ask_price, ask_qty, *guess)
            if c is not None:
                return c
    return _full(bid_price, bid_qty, ask_price, ask_qty)
