"""Independent pure-Python references for the market tests (no numpy in the algorithms).

Quantities are whole units; every order is expanded into unit traders and everything is
done with plain sorts and loops, the obvious way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class Unit:
    price: float
    owner: int  # order row


def expand(orders: list[tuple[float, int]]) -> list[Unit]:
    """(unit price, whole units) per order -> one Unit per unit, in order."""
    return [Unit(p, i) for i, (p, q) in enumerate(orders) for _ in range(int(q))]


def ranked(bids: list[tuple[float, int]], asks: list[tuple[float, int]]) -> tuple[list[Unit], list[Unit]]:
    """Bid units by price descending, ask units ascending; ties by row (Python's sort is
    stable, so equal prices keep their order)."""
    b = sorted(expand(bids), key=lambda u: -u.price)
    a = sorted(expand(asks), key=lambda u: u.price)
    return b, a


def efficient_units(b: list[Unit], a: list[Unit]) -> int:
    """Largest k with b[k-1] >= a[k-1]."""
    k = 0
    while k < min(len(b), len(a)) and b[k].price >= a[k].price:
        k += 1
    return k


@dataclass
class AuctionOutcome:
    volume: int
    buyer_price: float
    seller_price: float
    welfare: float
    bought: dict[int, int]  # bid row -> units
    sold: dict[int, int]  # ask row -> units


def uniform(bids: list[tuple[float, int]], asks: list[tuple[float, int]], k: float) -> AuctionOutcome:
    """k-double auction on units: all efficient units trade at k*hi + (1-k)*lo of the
    Walrasian interval [max(a_q, b_{q+1}), min(b_q, a_{q+1})] (textbook order statistics)."""
    b, a = ranked(bids, asks)
    n = efficient_units(b, a)
    if n == 0:
        return AuctionOutcome(0, math.nan, math.nan, 0.0, {}, {})
    lo = max([a[n - 1].price] + ([b[n].price] if n < len(b) else []))
    hi = min([b[n - 1].price] + ([a[n].price] if n < len(a) else []))
    p = k * hi + (1 - k) * lo
    return _outcome(b, a, n, p, p)


def clearing_prices(bids: list[tuple[float, int]], asks: list[tuple[float, int]]) -> tuple[int, float, float]:
    """Brute force, no order statistics: (q, lo, hi) with q the efficient unit count and
    [lo, hi] the prices at which exactly q units clear, found by trying every order price.

    At price p a bid unit priced above p must buy and one priced at p may; an ask unit
    priced below p must sell and one at p may. p clears q units iff both sides can trade
    exactly q there. The set of such prices is an interval whose ends are order prices.
    """
    b, a = ranked(bids, asks)
    q = efficient_units(b, a)
    if q == 0:
        return 0, math.nan, math.nan
    ok = []
    for p in sorted({u.price for u in b + a}):
        must_b = sum(1 for u in b if u.price > p)
        may_b = sum(1 for u in b if u.price >= p)
        must_a = sum(1 for u in a if u.price < p)
        may_a = sum(1 for u in a if u.price <= p)
        if must_b <= q <= may_b and must_a <= q <= may_a:
            ok.append(p)
    return q, min(ok), max(ok)


def mcafee(bids: list[tuple[float, int]], asks: list[tuple[float, int]]) -> AuctionOutcome:
    """McAfee (1992) on units."""
    b, a = ranked(bids, asks)
    n = efficient_units(b, a)
    if n == 0:
        return AuctionOutcome(0, math.nan, math.nan, 0.0, {}, {})
    if n < len(b) and n < len(a):
        p0 = (b[n].price + a[n].price) / 2
        if a[n - 1].price <= p0 <= b[n - 1].price:
            return _outcome(b, a, n, p0, p0)
    if n == 1:
        return AuctionOutcome(0, math.nan, math.nan, 0.0, {}, {})
    return _outcome(b, a, n - 1, b[n - 1].price, a[n - 1].price)


def _outcome(b: list[Unit], a: list[Unit], n: int, pb: float, ps: float) -> AuctionOutcome:
    bought: dict[int, int] = {}
    sold: dict[int, int] = {}
    welfare = 0.0
    for i in range(n):
        bought[b[i].owner] = bought.get(b[i].owner, 0) + 1
        sold[a[i].owner] = sold.get(a[i].owner, 0) + 1
        welfare += b[i].price - a[i].price
    return AuctionOutcome(n, pb, ps, welfare, bought, sold)


def crossing(bids: list[tuple[float, float]], asks: list[tuple[float, float]]) -> tuple[float, float, float]:
    """Divisible quantities: (Q*, marginal bid price, marginal ask price) by walking both
    sorted curves segment by segment."""
    b = sorted([(p, q, i) for i, (p, q) in enumerate(bids) if q > 0], key=lambda t: (-t[0], t[2]))
    a = sorted([(p, q, i) for i, (p, q) in enumerate(asks) if q > 0], key=lambda t: (t[0], t[2]))
    i = j = 0
    rb = b[0][1] if b else 0.0
    ra = a[0][1] if a else 0.0
    volume, mb, ma = 0.0, math.nan, math.nan
    while i < len(b) and j < len(a) and b[i][0] >= a[j][0]:
        q = min(rb, ra)
        volume += q
        mb, ma = b[i][0], a[j][0]
        rb -= q
        ra -= q
        if rb <= 1e-12:
            i += 1
            rb = b[i][1] if i < len(b) else 0.0
        if ra <= 1e-12:
            j += 1
            ra = a[j][1] if j < len(a) else 0.0
    return volume, mb, ma
