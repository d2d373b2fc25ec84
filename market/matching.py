"""Vectorized interval matching: pair buyers with sellers without a per-order loop.

Lay the buyers' quantities end to end on a line, in priority order, and the sellers'
quantities on a second line; every maximal segment on which the same buyer faces the same
seller is one trade. The segment ends are the union of both cumulative sums: one linear
merge (a stable sort of two sorted runs) and two cumulative counts give, for every segment,
its buyer, its seller and its length.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Segments shorter than this fraction of the matched total are rounding noise of the
#: cumulative sums (e.g. 0.1 + 0.2 != 0.3) and are dropped.
REL_TOL = 1e-12


@dataclass(frozen=True)
class Matching:
    """Pairs (buy_pos[t], sell_pos[t]) exchanging quantity[t] units; positions index the
    inputs. buy_take / sell_take: units each input order exchanged in total."""

    buy_pos: NDArray[np.integer[Any]]
    sell_pos: NDArray[np.integer[Any]]
    quantity: FloatArray
    buy_take: FloatArray
    sell_take: FloatArray


def taken(qty: FloatArray, total: float, cum: FloatArray | None = None) -> FloatArray:
    """Units of each order that fall within the first ``total`` units of the line.

    The orders ending by ``total`` trade in full, the next one partly, the rest not: one
    copy and a searchsorted instead of a clip over every order.
    """
    end = np.cumsum(qty) if cum is None else cum
    out = qty.copy()
    k = int(np.searchsorted(end, total, side="left"))  # first order ending at/after total
    if k < out.size:
        out[k] = min(float(qty[k]), max(0.0, total - (float(end[k]) - float(qty[k]))))
        out[k + 1 :] = 0.0
    return out


def match_intervals(
    buy_qty: FloatArray,
    sell_qty: FloatArray,
    total: float | None = None,
    *,
    buy_cum: FloatArray | None = None,
    sell_cum: FloatArray | None = None,
    takes: bool = True,
) -> Matching:
    """Match ordered buy quantities against ordered sell quantities.

    Covers the first ``total`` units (default: all that can be matched). Zero-quantity
    orders never trade. ``buy_cum`` / ``sell_cum``: the cumulative sums, if already known;
    ``takes=False`` skips the per-order totals (left empty).
    """
    nb_all, ns_all = buy_qty.size, sell_qty.size
    empty_i, empty_f = np.empty(0, np.int64), np.empty(0)
    if nb_all == 0 or ns_all == 0:
        return Matching(empty_i, empty_i, empty_f, np.zeros(nb_all), np.zeros(ns_all))
    cb = np.cumsum(buy_qty) if buy_cum is None else buy_cum
    cs = np.cumsum(sell_qty) if sell_cum is None else sell_cum
    cap = float(min(cb[-1], cs[-1]))
    total = cap if total is None else min(float(total), cap)
    if total <= 0:
        return Matching(empty_i, empty_i, empty_f, np.zeros(nb_all), np.zeros(ns_all))
    nb = int(np.searchsorted(cb, total, side="left"))
    ns = int(np.searchsorted(cs, total, side="left"))
    # Merge the segment ends inside (0, total); ``total`` itself goes last. A stable sort of
    # sorted runs is a linear merge, and it puts a buyer end before an equal seller end.
    ends = np.concatenate([cb[:nb], cs[:ns], [total]])
    order = np.argsort(ends, kind="stable")
    ends = ends[order]
    is_buy = order < nb
    idx = np.intp  # fancy indexing wants intp: int32 positions would be converted per gather
    buy_pos: NDArray[np.integer[Any]] = np.cumsum(is_buy, dtype=idx)
    np.subtract(buy_pos, is_buy, out=buy_pos)  # buyer ends strictly before = this segment's
    sell_pos: NDArray[np.integer[Any]] = np.arange(ends.size, dtype=idx)
    np.subtract(sell_pos, buy_pos, out=sell_pos)
    qty = np.empty_like(ends)  # np.diff(prepend=) would copy the array once more
    qty[0] = ends[0]
    np.subtract(ends[1:], ends[:-1], out=qty[1:])
    keep = qty > REL_TOL * total
    if not keep.all():
        keep_i = np.flatnonzero(keep)
        buy_pos, sell_pos, qty = buy_pos[keep_i], sell_pos[keep_i], qty[keep_i]
    # Only the segment ending at ``total`` can point one past the end of a side.
    if buy_pos.size:
        buy_pos[-1] = min(int(buy_pos[-1]), nb_all - 1)
        sell_pos[-1] = min(int(sell_pos[-1]), ns_all - 1)
    if takes:
        buy_take, sell_take = taken(buy_qty, total, cb), taken(sell_qty, total, cs)
    else:
        buy_take, sell_take = empty_f, empty_f
    return Matching(buy_pos, sell_pos, qty, buy_take, sell_take)
