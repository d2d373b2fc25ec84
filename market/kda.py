"""The k-double auction's price: a point of the Walrasian interval, k weighting its ends.

With bids ranked highest first and asks lowest first (unit by unit, or the divisible step
curves), q the efficient volume, b_q / a_q the prices of the last accepted bid and ask unit
and b_{q+1} / a_{q+1} those of the first unit beyond q, every price in

    [lo, hi] = [max(a_q, b_{q+1}), min(b_q, a_{q+1})]

clears the market at q: each accepted trader wants to trade at it, and no rejected one does
(a missing b_{q+1} or a_{q+1}, i.e. an exhausted side, drops out of its max / min). The
k-double auction (Chatterjee & Samuelson 1983; Satterthwaite & Williams 1989) trades q at

    p = k * hi + (1 - k) * lo,      0 <= k <= 1

(k = 1: the top of the interval, the sellers' end; k = 0: the buyers' end). With divisible
quantities an order split by q pins the price: a partly filled ask at a makes b_{q+1} < a
and a_{q+1} = a, so lo = hi = a (and likewise for a partly filled bid).

Weighting only the marginal accepted bid and ask, as an earlier version did, leaves the
interval whenever the first rejected order is closer: 100 units offered at 1 and ten unit
bids at 5..10 cleared at 3 (k = 0.5), where the only Walrasian price is 1.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


def walrasian_interval(
    bid: FloatArray | float, ask: FloatArray | float,
    next_bid: FloatArray | float, next_ask: FloatArray | float,
) -> tuple[FloatArray, FloatArray]:
    """(lo, hi) of the Walrasian interval; nan ``next_*`` (exhausted side) are ignored."""
    lo = np.fmax(np.asarray(ask, np.float64), np.asarray(next_bid, np.float64))
    hi = np.fmin(np.asarray(bid, np.float64), np.asarray(next_ask, np.float64))
    # hi >= lo holds exactly for the efficient q (b_{q+1} < a_{q+1}, a_q <= b_q); the clip
    # only guards a caller passing prices from somewhere else.
    return lo, np.maximum(hi, lo)


def kda_price(
    bid: FloatArray | float, ask: FloatArray | float,
    next_bid: FloatArray | float, next_ask: FloatArray | float, k: float,
) -> FloatArray:
    """``k * hi + (1 - k) * lo`` of :func:`walrasian_interval`, elementwise.

    Scalars and arrays go through the same numpy operations, so the single-market and the
    batched paths get bit-identical prices. The clip keeps rounding inside the interval:
    0.8 * x + 0.2 * x need not be x, and a price a hair off a partly filled order's price
    would put that order on the wrong side of it.
    """
    lo, hi = walrasian_interval(bid, ask, next_bid, next_ask)
    return np.clip(k * hi + (1.0 - k) * lo, lo, hi)
