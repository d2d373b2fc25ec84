"""Vectorized interval matching: pair buyers with sellers without a per-order loop.

Lay the buyers' quantities end to end on a line, in priority order, and the sellers'
quantities on a second line; every maximal segment on which the same buyer faces the same
seller is one trade. The segment ends are the union of both cumulative sums: one linear
merge (a stable sort of two sorted runs) and two cumulative counts give, for every segment,
its buyer, its seller and its length.

By default the merge runs as a compiled two-pointer loop (:mod:`market.kernels`) that gives
bit-identical results; ``kernel=False`` (or ``KERNELS = False``) runs the numpy reference.
:func:`match_rows` reads a matching through the orders' rows and owners, the gathers done in
the same loop.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Segments shorter than this fraction of the matched total are rounding noise of the
#: cumulative sums (e.g. 0.1 + 0.2 != 0.3) and are dropped.
REL_TOL = 1e-12

#: Use the compiled kernels of :mod:`market.kernels` where a caller does not say; False (or
#: the environment variable ``EDGEMARKET_KERNELS=0``) runs the numpy reference code instead.
KERNELS = os.environ.get("EDGEMARKET_KERNELS", "1") != "0"


def use_kernels(kernel: bool | None) -> bool:
    """``kernel``, or the module default :data:`KERNELS` when None."""
    return KERNELS if kernel is None else kernel


def kernels() -> ModuleType:
    """:mod:`market.kernels`, imported on first use (importing numba costs ~0.3 s)."""
    from market import kernels as k

    return k


#: ``rows`` argument of a kernel meaning "the positions themselves".
NO_ROWS: NDArray[np.int64] = np.empty(0, np.int64)
NO_ROWS.flags.writeable = False


def kernel_input(a: NDArray[Any]) -> NDArray[Any]:
    """A read-only, C-contiguous view of ``a`` (a copy if not contiguous). numba compiles a
    kernel once per combination of array types, flags included: inputs all take this one."""
    v = np.ascontiguousarray(a).view()
    v.flags.writeable = False
    return v


@dataclass(frozen=True)
class Matching:
    """Pairs (buy_pos[t], sell_pos[t]) exchanging quantity[t] units; positions index the
    inputs. buy_take / sell_take: units each input order exchanged in total."""

    buy_pos: NDArray[np.integer[Any]]
    sell_pos: NDArray[np.integer[Any]]
    quantity: FloatArray
    buy_take: FloatArray
    sell_take: FloatArray


@dataclass(frozen=True)
class RowMatching:
    """A :class:`Matching` read through the orders' rows and owners: trade t pairs row
    buy_row[t] (owned by buyer[t]) with row sell_row[t] (owned by seller[t])."""

    buy_row: IntArray
    sell_row: IntArray
    buyer: IntArray
    seller: IntArray
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


@dataclass(frozen=True)
class _Span:
    """What both matchings need: cumulative sums, the matched total, and how many ends
    of each side lie strictly inside (0, total)."""

    cb: FloatArray
    cs: FloatArray
    total: float
    nb: int
    ns: int


def _span(
    buy_qty: FloatArray, sell_qty: FloatArray, total: float | None,
    buy_cum: FloatArray | None, sell_cum: FloatArray | None,
) -> _Span | None:
    """The span to match, or None when nothing can trade."""
    if buy_qty.size == 0 or sell_qty.size == 0:
        return None
    cb = np.cumsum(buy_qty) if buy_cum is None else buy_cum
    cs = np.cumsum(sell_qty) if sell_cum is None else sell_cum
    cap = float(min(cb[-1], cs[-1]))
    total = cap if total is None else min(float(total), cap)
    if total <= 0:
        return None
    nb = int(np.searchsorted(cb, total, side="left"))
    ns = int(np.searchsorted(cs, total, side="left"))
    return _Span(cb, cs, total, nb, ns)


def _takes(buy_qty: FloatArray, sell_qty: FloatArray, sp: _Span | None,
           takes: bool) -> tuple[FloatArray, FloatArray]:
    """Units each order exchanged (zeros when nothing trades; empty when not wanted)."""
    if sp is None:
        return np.zeros(buy_qty.size), np.zeros(sell_qty.size)
    if not takes:
        return np.empty(0), np.empty(0)
    return taken(buy_qty, sp.total, sp.cb), taken(sell_qty, sp.total, sp.cs)


def _merge_numpy(sp: _Span) -> tuple[NDArray[np.intp], NDArray[np.intp], FloatArray]:
    """The reference merge: (buy_pos, sell_pos, qty) of the segments kept, unclamped."""
    nb, total = sp.nb, sp.total
    # Merge the segment ends inside (0, total); ``total`` itself goes last. A stable sort of
    # sorted runs is a linear merge, and it puts a buyer end before an equal seller end.
    ends = np.concatenate([sp.cb[:nb], sp.cs[: sp.ns], [total]])
    order = np.argsort(ends, kind="stable")
    ends = ends[order]
    is_buy = order < nb
    idx = np.intp  # fancy indexing wants intp: int32 positions would be converted per gather
    buy_pos: NDArray[np.intp] = np.cumsum(is_buy, dtype=idx)
    np.subtract(buy_pos, is_buy, out=buy_pos)  # buyer ends strictly before = this segment's
    sell_pos: NDArray[np.intp] = np.arange(ends.size, dtype=idx)
    np.subtract(sell_pos, buy_pos, out=sell_pos)
    qty = np.empty_like(ends)  # np.diff(prepend=) would copy the array once more
    qty[0] = ends[0]
    np.subtract(ends[1:], ends[:-1], out=qty[1:])
    keep = qty > REL_TOL * total
    if not keep.all():
        keep_i = np.flatnonzero(keep)
        buy_pos, sell_pos, qty = buy_pos[keep_i], sell_pos[keep_i], qty[keep_i]
    return buy_pos, sell_pos, qty


def _merge_kernel(sp: _Span) -> tuple[NDArray[np.intp], NDArray[np.intp], FloatArray]:
    """:func:`_merge_numpy` as one compiled pass."""
    n = sp.nb + sp.ns + 1
    buy, sell, qty = np.empty(n, np.intp), np.empty(n, np.intp), np.empty(n)
    ki = kernel_input
    t = kernels().merge_positions(ki(sp.cb), ki(sp.cs), sp.nb, sp.ns, sp.total,
                                  REL_TOL * sp.total, buy, sell, qty)
    return buy[:t], sell[:t], qty[:t]


def match_intervals(
    buy_qty: FloatArray,
    sell_qty: FloatArray,
    total: float | None = None,
    *,
    buy_cum: FloatArray | None = None,
    sell_cum: FloatArray | None = None,
    takes: bool = True,
    kernel: bool | None = None,
) -> Matching:
    """Match ordered buy quantities against ordered sell quantities.

    Covers the first ``total`` units (default: all that can be matched). Zero-quantity
    orders never trade. ``buy_cum`` / ``sell_cum``: the cumulative sums, if already known;
    ``takes=False`` skips the per-order totals (left empty). ``kernel``: compiled merge or
    numpy reference (default :data:`KERNELS`); the results are identical.
    """
    sp = _span(buy_qty, sell_qty, total, buy_cum, sell_cum)
    buy_take, sell_take = _takes(buy_qty, sell_qty, sp, takes)
    if sp is None:
        empty_i = np.empty(0, np.int64)
        return Matching(empty_i, empty_i, np.empty(0), buy_take, sell_take)
    merge = _merge_kernel if use_kernels(kernel) else _merge_numpy
    buy_pos, sell_pos, qty = merge(sp)
    # Only the segment ending at ``total`` can point one past the end of a side.
    if buy_pos.size:
        buy_pos[-1] = min(int(buy_pos[-1]), buy_qty.size - 1)
        sell_pos[-1] = min(int(sell_pos[-1]), sell_qty.size - 1)
    return Matching(buy_pos, sell_pos, qty, buy_take, sell_take)


def match_rows(
    buy_qty: FloatArray,
    sell_qty: FloatArray,
    buy_rows: IntArray,
    sell_rows: IntArray,
    buy_owner: IntArray,
    sell_owner: IntArray,
    total: float | None = None,
    *,
    buy_cum: FloatArray | None = None,
    sell_cum: FloatArray | None = None,
    takes: bool = True,
    kernel: bool | None = None,
) -> RowMatching:
    """:func:`match_intervals`, with positions mapped to rows (``buy_rows[buy_pos]``) and
    rows to owners (``buy_owner[row]``); the kernel does the gathers in the merge loop."""
    if not use_kernels(kernel):
        mt = match_intervals(buy_qty, sell_qty, total, buy_cum=buy_cum, sell_cum=sell_cum,
                             takes=takes, kernel=False)
        bi, ai = buy_rows[mt.buy_pos], sell_rows[mt.sell_pos]
        return RowMatching(bi, ai, buy_owner[bi], sell_owner[ai], mt.quantity,
                           mt.buy_take, mt.sell_take)
    sp = _span(buy_qty, sell_qty, total, buy_cum, sell_cum)
    buy_take, sell_take = _takes(buy_qty, sell_qty, sp, takes)
    n = 0 if sp is None else sp.nb + sp.ns + 1
    bi, ai = np.empty(n, buy_rows.dtype), np.empty(n, sell_rows.dtype)
    buyer, seller = np.empty(n, buy_owner.dtype), np.empty(n, sell_owner.dtype)
    qty = np.empty(n)
    if sp is not None:
        ki = kernel_input
        n = kernels().merge_rows(ki(sp.cb), ki(sp.cs), sp.nb, sp.ns, sp.total,
                                 REL_TOL * sp.total, ki(buy_rows), ki(sell_rows),
                                 ki(buy_owner), ki(sell_owner), bi, ai, buyer, seller, qty)
    return RowMatching(bi[:n], ai[:n], buyer[:n], seller[:n], qty[:n], buy_take, sell_take)
