"""Vectorized interval matching: pair buyers with sellers without a per-order loop.

Lay the buyers' quantities end to end on a line, in priority order, and the sellers'
quantities on a second line; every maximal segment on which the same buyer faces the same
seller is one trade. The segment ends are the union of both cumulative sums, so the whole
matching is two cumsums, one merge and two searchsorted calls.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Segments shorter than this fraction of the matched total are rounding noise of the
#: cumulative sums (e.g. 0.1 + 0.2 != 0.3) and are dropped.
REL_TOL = 1e-12


def match_intervals(
    buy_qty: FloatArray, sell_qty: FloatArray, total: float | None = None
) -> tuple[IntArray, IntArray, FloatArray]:
    """Match ordered buy quantities against ordered sell quantities.

    Returns ``(buy_pos, sell_pos, quantity)``: positions into the two inputs and the units
    exchanged, for the first ``total`` units (default: all that can be matched). Each
    buyer's (seller's) matched quantities sum to its quantity, except the last one served.
    """
    if buy_qty.size == 0 or sell_qty.size == 0:
        e = np.empty(0, np.int64)
        return e, e.copy(), np.empty(0)
    cb = np.cumsum(buy_qty)
    cs = np.cumsum(sell_qty)
    cap = float(min(cb[-1], cs[-1]))
    total = cap if total is None else min(float(total), cap)
    if total <= 0:
        e = np.empty(0, np.int64)
        return e, e.copy(), np.empty(0)
    # Only edges inside (0, total]; both runs are sorted, so a stable sort is a linear merge.
    nb = int(np.searchsorted(cb, total, side="left"))
    ns = int(np.searchsorted(cs, total, side="left"))
    edges = np.concatenate([cb[:nb], cs[:ns], [total]])
    edges.sort(kind="stable")
    start = np.empty_like(edges)
    start[0] = 0.0
    start[1:] = edges[:-1]
    qty = edges - start
    keep = qty > REL_TOL * total
    edges, qty = edges[keep], qty[keep]
    # The segment ending at e belongs to the first order whose cumulative end is >= e.
    buy_pos = np.searchsorted(cb, edges, side="left")
    sell_pos = np.searchsorted(cs, edges, side="left")
    np.minimum(buy_pos, buy_qty.size - 1, out=buy_pos)
    np.minimum(sell_pos, sell_qty.size - 1, out=sell_pos)
    return buy_pos.astype(np.int64, copy=False), sell_pos.astype(np.int64, copy=False), qty
