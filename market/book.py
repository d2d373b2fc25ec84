"""The order book of one resource: where the demand and supply curves cross.

Bids are ranked by unit price, highest first, asks lowest first; ties go to the lower row
index (arrival order). Laying the ranked quantities end to end gives the step curves B(x)
(bid price of the x-th unit) and A(x) (ask price). Units x with B(x) >= A(x) form a prefix
[0, Q*): Q* is the efficient volume, and the last accepted unit's bid and ask prices are the
marginal prices every per-resource auction prices from.

Fast path ("window"): only the orders near the crossing need sorting. A strided sample
locates the crossing approximately, and a price window [lo, hi] around it is kept only if
two exact tests prove that every bid above ``hi`` and every ask below ``lo`` trade in full
(and then, by the same argument, no bid below ``lo`` and no ask above ``hi`` trades):

    supply(price <= hi) >= demand(price > hi)   and   demand(price >= lo) >= supply(price < lo)

The first window is tested with O(n) array passes; narrower windows inside it are found and
tested on the window's orders only. Only the final window is sorted; the blocks outside it
enter the local computation as one pseudo-order each. If a test fails the window stays wider;
if the margin lands on a block, the whole book is sorted. Results are identical to sorting
everything (``cross(..., window=False)``), which the tests check.

Compiled kernels (:mod:`market.kernels`, default; ``kernel=False`` runs the numpy reference)
do the O(n) passes (the window test, the rows beyond the window, the ranked sides with their
running sums and takes) and the stable sorts (a radix sort). The window test's two
decision-only sums are sequential estimates there: within their error bound of a tie, the
reference test decides. Books, crossings and takes are bit-identical either way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from market import matching
from market.matching import taken
from market.orders import Market
from market.split import split_bids

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_MIN_N = 20_000  # below this many orders per side a full sort is cheaper than a window
_SAMPLE = 8_192  # sample size per side used to guess a window
_SMALL = 20_000  # stop narrowing once the window holds this few orders per side (sorting is cheap)
# A sample's crossing is off by about sqrt(sample) ranks; a window spans a few times that.
_WIDTH_SIGMAS = (3.0, 12.0)


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


def _ranked(price: FloatArray, descending: bool, kernel: bool) -> IntArray:
    """Positions by price (highest first if ``descending``), ties in position order."""
    if kernel:  # a radix sort: several times faster than numpy's stable (tim)sort
        out = np.empty(price.size, np.int64)
        matching.kernels().stable_argsort(matching.kernel_input(price), descending, out)
        return out
    key = -price if descending else price
    return np.argsort(key, kind="stable").astype(np.int64, copy=False)


@dataclass(frozen=True)
class _Local:
    """Crossing of small ranked arrays; positions index those arrays (-1: none)."""

    quantity: float
    bid_pos: int  # marginal (last accepted) bid
    ask_pos: int
    next_bid_pos: int  # first order with units beyond ``quantity`` (== size: none)
    next_ask_pos: int


def _cross_sorted(
    bp: FloatArray, bq: FloatArray, ap: FloatArray, aq: FloatArray, kernel: bool
) -> _Local:
    """The crossing of ranked curves (bp descending, ap ascending, quantities > 0).

    A bid trades iff its first unit does: the bid's price is >= the ask price facing the
    position where it starts, and those tests hold for a prefix of the bids (bid prices
    fall, ask prices rise along the line); likewise for asks. Q* ends at the first
    breakpoint after the last accepted bid's and ask's starts: min of their ends.
    """
    if kernel:  # the same counts by two pointers, one pass per side
        ki = matching.kernel_input
        return _Local(*matching.kernels().cross_sorted(ki(bp), ki(bq), ki(ap), ki(aq)))
    nb, na = bp.size, ap.size
    if nb == 0 or na == 0:
        return _Local(0.0, -1, -1, 0, 0)
    cb, ca = np.cumsum(bq), np.cumsum(aq)
    b_start = np.concatenate([[0.0], cb[:-1]])
    a_start = np.concatenate([[0.0], ca[:-1]])
    j = np.searchsorted(ca, b_start, side="right")  # ask facing each bid's first unit
    ok_b = (j < na) & (bp >= ap[np.minimum(j, na - 1)])
    i = np.searchsorted(cb, a_start, side="right")  # bid facing each ask's first unit
    ok_a = (i < nb) & (bp[np.minimum(i, nb - 1)] >= ap)
    last_b, last_a = int(ok_b.sum()) - 1, int(ok_a.sum()) - 1
    if last_b < 0 or last_a < 0:
        return _Local(0.0, -1, -1, 0, 0)
    q = float(min(cb[last_b], ca[last_a]))
    nxt_b = int(np.searchsorted(cb, q, side="right"))
    nxt_a = int(np.searchsorted(ca, q, side="right"))
    return _Local(q, last_b, last_a, nxt_b, nxt_a)


def _price_at(price: FloatArray, pos: int) -> float:
    return float(price[pos]) if 0 <= pos < price.size else math.nan


def _full(
    bp: FloatArray, bq: FloatArray, ap: FloatArray, aq: FloatArray, kernel: bool
) -> Crossing:
    bo, ao = _ranked(bp, True, kernel), _ranked(ap, False, kernel)
    bo_pos, ao_pos = bo[bq[bo] > 0], ao[aq[ao] > 0]  # zero quantities never trade
    sbp, sap = bp[bo_pos], ap[ao_pos]
    loc = _cross_sorted(sbp, bq[bo_pos], sap, aq[ao_pos], kernel)
    return Crossing(
        loc.quantity,
        _price_at(sbp, loc.bid_pos), _price_at(sap, loc.ask_pos),
        _price_at(sbp, loc.next_bid_pos), _price_at(sap, loc.next_ask_pos),
        bo, ao,
    )


def _guess(
    bp: FloatArray, bq: FloatArray, ap: FloatArray, aq: FloatArray,
    d_above: float, s_below: float, sigmas: float, kernel: bool,
) -> tuple[float, float] | None:
    """A price window around the crossing of a strided sample of these orders.

    d_above / s_below: demand priced above and supply priced below all these orders (they
    shift the sample's curves); the sampled quantities are scaled to their side's total.
    """
    sb, sa = max(1, bp.size // _SAMPLE), max(1, ap.size // _SAMPLE)
    sbp, sbq, sap, saq = bp[::sb], bq[::sb], ap[::sa], aq[::sa]
    sbq = sbq * (float(bq.sum()) / max(float(sbq.sum()), 1e-300))
    saq = saq * (float(aq.sum()) / max(float(saq.sum()), 1e-300))
    bo, ao = _ranked(sbp, True, kernel), _ranked(sap, False, kernel)
    rbp = np.concatenate([[math.inf], sbp[bo]])
    rbq = np.concatenate([[d_above], sbq[bo]])
    rap = np.concatenate([[-math.inf], sap[ao]])
    raq = np.concatenate([[s_below], saq[ao]])
    keep_b, keep_a = rbq > 0, raq > 0
    rbp, rbq, rap, raq = rbp[keep_b], rbq[keep_b], rap[keep_a], raq[keep_a]
    loc = _cross_sorted(rbp, rbq, rap, raq, kernel)
    if loc.bid_pos < 0:
        return None
    mid = 0.5 * (rbp[loc.bid_pos] + rap[loc.ask_pos])
    if not math.isfinite(mid):
        return None
    lo, hi = math.inf, -math.inf
    for srt in (sbp[bo[::-1]], sap[ao]):  # both ascending
        w = max(8, int(sigmas * math.sqrt(srt.size)))
        k = int(np.searchsorted(srt, mid))
        lo = min(lo, float(srt[max(k - w, 0)]))
        hi = max(hi, float(srt[min(k + w, srt.size - 1)]))
    return lo, hi


def _window_holds(
    bp: FloatArray, bq: FloatArray, ap: FloatArray, aq: FloatArray,
    d_above: float, s_below: float, lo: float, hi: float,
) -> tuple[float, float, NDArray[np.bool_], NDArray[np.bool_]] | None:
    """The exact window test on these orders plus the outside blocks.

    If the window [lo, hi] holds, returns the new demand above hi and supply below lo and
    the masks of these bids and asks priced inside it. Masked sums are dot products:
    several times faster than sum(where=...).
    """
    b_hi, b_lo = bp > hi, bp < lo
    a_lo, a_hi = ap < lo, ap > hi
    d_hi = d_above + float(bq @ b_hi)
    s_lo = s_below + float(aq @ a_lo)
    s_le_hi = s_below + float(aq.sum()) - float(aq @ a_hi)
    d_ge_lo = d_above + float(bq.sum()) - float(bq @ b_lo)
    if s_le_hi >= d_hi and d_ge_lo >= s_lo:
        return d_hi, s_lo, ~(b_hi | b_lo), ~(a_lo | a_hi)
    return None


@dataclass(frozen=True)
class _Window:
    """A proven window's outside blocks and inside orders.

    d_above / s_below: demand priced above it and supply priced below it (they trade in
    full); b_* / a_*: rows (positions in the arrays given to :func:`cross`), prices and
    quantities of the bids and asks priced inside it, in row order.
    """

    d_above: float
    s_below: float
    b_rows: IntArray
    b_price: FloatArray
    b_qty: FloatArray
    a_rows: IntArray
    a_price: FloatArray
    a_qty: FloatArray


def _test_numpy(
    bp: FloatArray, bq: FloatArray, b_rows: IntArray | None,
    ap: FloatArray, aq: FloatArray, a_rows: IntArray | None,
    d_above: float, s_below: float, lo: float, hi: float,
) -> _Window | None:
    """The window test (:func:`_window_holds`) on these orders (rows ``b_rows`` /
    ``a_rows``; None: the whole book), and the orders inside if it holds."""
    held = _window_holds(bp, bq, ap, aq, d_above, s_below, lo, hi)
    if held is None:
        return None
    d_hi, s_lo, in_b, in_a = held
    ib, ia = np.flatnonzero(in_b), np.flatnonzero(in_a)
    return _Window(
        d_hi, s_lo,
        ib if b_rows is None else b_rows[ib], bp[ib], bq[ib],
        ia if a_rows is None else a_rows[ia], ap[ia], aq[ia],
    )


#: Relative error bound per summed order for the kernel's estimates of the test's sums
#: (any summation order of n non-negative terms errs by at most about n * 2**-53 of the
#: total; twice that, and once more for numpy's own sums, with room to spare).
_SUM_ERR = 4 * 2.0**-52


def _side_pass(
    p: FloatArray, q: FloatArray, rows: IntArray | None, lo: float, hi: float, upper: bool
) -> tuple[float, float, float, tuple[IntArray, FloatArray, FloatArray]]:
    """kernels.window_side on one side: units priced beyond the near bound (numpy's dot
    product, as in the reference), the kept and total units (estimates), and the rows,
    prices and quantities inside the window."""
    n = p.size
    full, in_rows, in_p, in_q = np.empty(n), np.empty(n, np.int64), np.empty(n), np.empty(n)
    ki = matching.kernel_input
    m, kept, total = matching.kernels().window_side(
        ki(p), ki(q), matching.NO_ROWS if rows is None else ki(rows), lo, hi, upper,
        full, in_rows, in_p, in_q)
    return float(q @ full), kept, total, (in_rows[:m], in_p[:m], in_q[:m])


def _test_kernel(
    bp: FloatArray, bq: FloatArray, b_rows: IntArray | None,
    ap: FloatArray, aq: FloatArray, a_rows: IntArray | None,
    d_above: float, s_below: float, lo: float, hi: float,
) -> _Window | None:
    """:func:`_test_numpy` with one compiled pass per side; same decision, same window.

    The blocks' new totals (demand above hi, supply below lo) are numpy's dot products with
    the masks the pass writes, as in the reference. The test's other two sums are the
    pass's sequential estimates: when one lands within their error bound of the decision,
    the reference test decides instead.
    """
    bd, b_kept, b_total, b_in = _side_pass(bp, bq, b_rows, lo, hi, True)
    ad, a_kept, a_total, a_in = _side_pass(ap, aq, a_rows, lo, hi, False)
    d_hi, s_lo = d_above + bd, s_below + ad
    # Reference: s_le_hi = s_below + sum(aq) - aq @ (ap > hi), d_ge_lo likewise.
    supply_margin = s_below + a_kept - d_hi
    demand_margin = d_above + b_kept - s_lo
    a_err = _SUM_ERR * (ap.size + 4) * (s_below + a_total + d_hi)
    b_err = _SUM_ERR * (bp.size + 4) * (d_above + b_total + s_lo)
    if supply_margin < -a_err or demand_margin < -b_err:  # fails, whatever the rounding
        return None
    # Too close to call (or not finite: comparisons with nan are False): the reference.
    if not (supply_margin > a_err and demand_margin > b_err):
        if _window_holds(bp, bq, ap, aq, d_above, s_below, lo, hi) is None:
            return None
    return _Window(d_hi, s_lo, *b_in, *a_in)


def _find_window(
    bp: FloatArray, bq: FloatArray, ap: FloatArray, aq: FloatArray, kernel: bool
) -> tuple[float, float, _Window] | None:
    """A proven window [lo, hi] and its blocks and orders (see the module doc)."""
    test = _test_kernel if kernel else _test_numpy
    found = None
    for sigmas in _WIDTH_SIGMAS:  # first window: tested on the whole book
        guess = _guess(bp, bq, ap, aq, 0.0, 0.0, sigmas, kernel)
        if guess is None:
            return None
        found = test(bp, bq, None, ap, aq, None, 0.0, 0.0, *guess)
        if found is not None:
            lo, hi = guess
            break
    if found is None:
        return None
    w = found
    # Narrower windows: guessed and tested on the window's orders only.
    while max(w.b_rows.size, w.a_rows.size) > _SMALL:
        guess = _guess(w.b_price, w.b_qty, w.a_price, w.a_qty, w.d_above, w.s_below,
                       _WIDTH_SIGMAS[0], kernel)
        if guess is None or (guess[0] <= lo and guess[1] >= hi):
            break
        found = test(w.b_price, w.b_qty, w.b_rows, w.a_price, w.a_qty, w.a_rows,
                     w.d_above, w.s_below, *guess)
        if found is None:
            break
        (lo, hi), w = guess, found
    return lo, hi, w


def _ranked_rows(
    price: FloatArray, lo: float, hi: float, bids: bool, window: IntArray, kernel: bool
) -> IntArray:
    """A side's order: the rows beyond the window on the trading side (ascending), then
    the window's rows (ranked)."""
    bound = hi if bids else lo
    if not kernel:
        beyond = np.flatnonzero(price > bound) if bids else np.flatnonzero(price < bound)
        return np.concatenate([beyond, window])
    out = np.empty(price.size + window.size, np.int64)
    ki = matching.kernel_input
    n = matching.kernels().order_rows(ki(price), bound, bids, ki(window), out)
    return out[:n]


def _cross_window(
    bp: FloatArray, bq: FloatArray, ap: FloatArray, aq: FloatArray, kernel: bool | None = None
) -> Crossing | None:
    """The crossing sorting only a proven window; None if the window cannot be used."""
    kernel = matching.use_kernels(kernel)
    found = _find_window(bp, bq, ap, aq, kernel)
    if found is None:
        return None
    lo, hi, w = found
    d_above, s_below = w.d_above, w.s_below
    wb = w.b_rows[_ranked(w.b_price, True, kernel)]
    wa = w.a_rows[_ranked(w.a_price, False, kernel)]
    wbn, wan = wb[bq[wb] > 0], wa[aq[wa] > 0]  # zero quantities never trade
    # Blocks that trade in full enter as one pseudo-order at the head of each side.
    head_b, head_a = int(d_above > 0), int(s_below > 0)
    lbp = np.concatenate([[math.inf] * head_b, bp[wbn]])
    lbq = np.concatenate([[d_above] * head_b, bq[wbn]])
    lap = np.concatenate([[-math.inf] * head_a, ap[wan]])
    laq = np.concatenate([[s_below] * head_a, aq[wan]])
    loc = _cross_sorted(lbp, lbq, lap, laq, kernel)
    if loc.bid_pos < head_b or loc.ask_pos < head_a:  # margin inside a block
        return None
    # First units beyond Q*: in the window, else the best order outside it (rarely needed).
    if loc.next_bid_pos < lbp.size:
        next_bid = float(lbp[loc.next_bid_pos])
    else:
        rest = bp[(bp < lo) & (bq > 0)]
        next_bid = float(rest.max()) if rest.size else math.nan
    if loc.next_ask_pos < lap.size:
        next_ask = float(lap[loc.next_ask_pos])
    else:
        rest = ap[(ap > hi) & (aq > 0)]
        next_ask = float(rest.min()) if rest.size else math.nan
    return Crossing(
        loc.quantity, float(lbp[loc.bid_pos]), float(lap[loc.ask_pos]), next_bid, next_ask,
        _ranked_rows(bp, lo, hi, True, wb, kernel), _ranked_rows(ap, lo, hi, False, wa, kernel),
    )


def cross(
    bid_price: FloatArray,
    bid_qty: FloatArray,
    ask_price: FloatArray,
    ask_qty: FloatArray,
    *,
    window: bool = True,
    kernel: bool | None = None,
) -> Crossing:
    """The crossing of one resource's bids and asks (see the module doc).

    ``kernel``: compiled passes or the numpy reference (default
    :data:`market.matching.KERNELS`); the results are identical.
    """
    kernel = matching.use_kernels(kernel)
    if window and min(bid_price.size, ask_price.size) >= _MIN_N:
        c = _cross_window(bid_price, bid_qty, ask_price, ask_qty, kernel)
        if c is not None:
            return c
    return _full(bid_price, bid_qty, ask_price, ask_qty, kernel)


@dataclass(frozen=True)
class ResourceBook:
    """One resource's (split) bids and its asks, and where they cross.

    The ``ranked_*`` arrays follow the crossing's priority order (``crossing.bid_order`` /
    ``ask_order``): market rows, quantities and unit prices.
    """

    resource: int
    crossing: Crossing
    ranked_bid_rows: IntArray
    ranked_bid_qty: FloatArray
    ranked_bid_price: FloatArray
    ranked_ask_rows: IntArray
    ranked_ask_qty: FloatArray
    ranked_ask_price: FloatArray

    @cached_property
    def bid_cum(self) -> FloatArray:
        """Cumulative ranked bid quantities."""
        return np.cumsum(self.ranked_bid_qty)

    @cached_property
    def ask_cum(self) -> FloatArray:
        """Cumulative ranked ask quantities."""
        return np.cumsum(self.ranked_ask_qty)

    @cached_property
    def bid_take(self) -> FloatArray:
        """Units each ranked bid trades at the efficient volume."""
        return taken(self.ranked_bid_qty, self.crossing.quantity, self.bid_cum)

    @cached_property
    def ask_take(self) -> FloatArray:
        """Units each ranked ask trades at the efficient volume."""
        return taken(self.ranked_ask_qty, self.crossing.quantity, self.ask_cum)

    @cached_property
    def accepted_value(self) -> float:
        """Sum of unit bid price x units over the efficient trades."""
        return float(self.ranked_bid_price @ self.bid_take)

    @cached_property
    def accepted_cost(self) -> float:
        """Sum of ask price x units over the efficient trades."""
        return float(self.ranked_ask_price @ self.ask_take)

    def surplus(self) -> float:
        """Welfare of the efficient trades: accepted bid value - accepted ask cost."""
        if self.crossing.quantity <= 0:
            return 0.0
        return self.accepted_value - self.accepted_cost


def _ranked_side(
    order: IntArray, rows: IntArray | None, qty: FloatArray, price: FloatArray, total: float,
) -> tuple[IntArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """One compiled pass for a side's ranked rows (``order`` itself when ``rows`` is None),
    quantities and prices, with their running sums and takes at ``total``."""
    n = order.size
    out_rows = order if rows is None else np.empty(n, rows.dtype)
    out_qty, out_price, cum, take = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    ki = matching.kernel_input
    matching.kernels().rank_side(ki(order), matching.NO_ROWS if rows is None else ki(rows),
                                 ki(qty), ki(price), total, out_rows, out_qty, out_price, cum,
                                 take)
    return out_rows, out_qty, out_price, cum, take


def resource_book(
    market: Market, resource: int, *, window: bool = True, kernel: bool | None = None
) -> ResourceBook:
    """The order book of ``resource`` with divisible quantities, memoised on the market.

    ``kernel``: compiled passes or the numpy reference (default
    :data:`market.matching.KERNELS`); the books are identical.
    """
    key = ("book", resource, window)
    cached = market.cache.get(key)
    if isinstance(cached, ResourceBook):
        return cached
    kernel = matching.use_kernels(kernel)
    asks = market.asks
    rb = split_bids(market.bids, asks, resource)
    if rb.unit:  # lets Fills skip dividing by the demand per bundle
        market.cache["unit_demand"] = True
    is_r = asks.resource == resource
    if int(np.count_nonzero(is_r)) == len(asks):  # one-resource market: skip the gathers
        arows = None
        ap, aq = asks.price, asks.quantity
    else:
        arows = np.flatnonzero(is_r)
        ap, aq = asks.price[arows], asks.quantity[arows]
    c = cross(rb.price, rb.quantity, ap, aq, window=window, kernel=kernel)
    bo, ao = c.bid_order, c.ask_order
    if not kernel:
        book = ResourceBook(
            resource, c,
            bo if rb.all_rows else rb.rows[bo], rb.quantity[bo], rb.price[bo],
            ao if arows is None else arows[ao], aq[ao], ap[ao],
        )
    else:
        b_rows, b_qty, b_price, b_cum, b_take = _ranked_side(
            bo, None if rb.all_rows else rb.rows, rb.quantity, rb.price, c.quantity)
        a_rows, a_qty, a_price, a_cum, a_take = _ranked_side(ao, arows, aq, ap, c.quantity)
        book = ResourceBook(resource, c, b_rows, b_qty, b_price, a_rows, a_qty, a_price)
        # cached_property reads the instance dict first: these are what it would compute.
        book.__dict__.update(bid_cum=b_cum, ask_cum=a_cum, bid_take=b_take, ask_take=a_take)
    market.cache[key] = book
    return book
