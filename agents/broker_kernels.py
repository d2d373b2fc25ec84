"""Compiled (numba) loop of the brokers' unit assignment (agents.brokers.assign_units).

:func:`assign_groups` does, group by group, what ``assign_units`` does with numpy calls per
group (merit order of the group's asks, buyers ranked by harm, north-west corner deal):
the same steps in the same order, so the trades it returns are the same rows; sums are
taken one value after another where numpy sums pairwise, so quantities and prices agree to
float rounding (tests/agents/test_brokers_market.py checks it against the numpy code). In
the 128-world env the per-group numpy calls cost a third of the round (350 groups).
Imported lazily; switched off with the market's kernels (``EDGEMARKET_KERNELS=0``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

Array = Any  # numba dispatchers are untyped for mypy


@njit(cache=True, nogil=True, error_model="numpy")
def assign_groups(groups: Array, t_order: Array, t_lo: Array, t_hi: Array, a_order: Array,
                  a_lo: Array, a_hi: Array, quantity: Array, price: Array, seller_price: Array,
                  bid_index: Array, buyer: Array, harm: Array, a_price: Array,
                  a_offered: Array, a_broker: Array, a_agent: Array,
                  n_resources: int) -> tuple[Array, Array, Array, Array, Array, Array,
                                             Array, Array]:
    """The reassigned trades of ``groups`` (ascending): group k's trade rows are
    ``t_order[t_lo[k]:t_hi[k]]`` and its live ask rows (offer > 0)
    ``a_order[a_lo[k]:a_hi[k]]``, both ascending. Returns buyer, seller,
    bid_index, ask_index, quantity, price, seller_price and resource of the new trades,
    group after group."""
    cap = t_order.size + a_order.size + groups.size
    o_buyer = np.empty(cap, np.int64)
    o_seller = np.empty(cap, np.int64)
    o_bid = np.empty(cap, np.int64)
    o_ask = np.empty(cap, np.int64)
    o_qty = np.empty(cap)
    o_price = np.empty(cap)
    o_sprice = np.empty(cap)
    o_res = np.empty(cap, np.int8)
    out = 0
    for k in range(groups.size):
        rows = t_order[t_lo[k]: t_hi[k]]
        total = 0.0
        paid_s = 0.0
        for r in rows:
            total += quantity[r]
            paid_s += quantity[r] * seller_price[r]
        s_price = paid_s / total
        # 1. Merit order: asks by price, nodes before brokers, then row.
        a_rows = a_order[a_lo[k]: a_hi[k]]
        if a_rows.size == 0:
            raise ValueError("a group with trades has no live ask")
        a_rows = a_rows[np.argsort(a_broker[a_rows], kind="mergesort")]
        a_rows = a_rows[np.argsort(a_price[a_rows], kind="mergesort")]
        na = a_rows.size
        a_q = np.empty(na)
        cum = 0.0
        prev = 0.0
        for j in range(na):
            cum += a_offered[a_rows[j]]
            a_q[j] = min(cum, total) - min(prev, total)
            prev = cum
        a_q[na - 1] += max(total - cum, 0.0)  # float dust of a book sold out
        filled = a_rows[a_q > 0]
        f_q = a_q[a_q > 0]
        # Node units dealt first, then brokers', each by row.
        deal = np.argsort(filled, kind="mergesort")
        filled, f_q = filled[deal], f_q[deal]
        deal = np.argsort(a_broker[filled], kind="mergesort")
        filled, f_q = filled[deal], f_q[deal]
        # 2. Buyers (request rows), aggregated in row order, most harmed first.
        by_bid = rows[np.argsort(bid_index[rows], kind="mergesort")]
        nb = 0
        b_id = np.empty(rows.size, np.int64)
        b_q = np.zeros(rows.size)
        b_pay = np.zeros(rows.size)
        b_harm = np.full(rows.size, -np.inf)
        b_agent = np.zeros(rows.size, np.int64)
        for r in by_bid:
            if nb == 0 or b_id[nb - 1] != bid_index[r]:
                b_id[nb] = bid_index[r]
                nb += 1
            b = nb - 1
            b_q[b] += quantity[r]
            b_pay[b] += quantity[r] * price[r]
            b_harm[b] = max(b_harm[b], harm[r])
            b_agent[b] = buyer[r]
        bo = np.argsort(-b_harm[:nb], kind="mergesort")  # ties keep ascending bid
        bc = np.cumsum(b_q[:nb][bo])
        sc = np.cumsum(f_q)
        bc[nb - 1] = total
        sc[sc.size - 1] = total
        cuts = np.unique(np.concatenate((np.zeros(1), bc, sc)))
        for c in range(cuts.size - 1):
            lo, hi = cuts[c], cuts[c + 1]
            amount = hi - lo
            if not amount > 0:
                continue
            mid = (lo + hi) / 2
            bi = bo[min(np.searchsorted(bc, mid), nb - 1)]
            si = min(np.searchsorted(sc, mid), filled.size - 1)
            ask = filled[si]
            o_buyer[out] = b_agent[bi]
            o_seller[out] = a_agent[ask]
            o_bid[out] = b_id[bi]
            o_ask[out] = ask
            o_qty[out] = amount
            o_price[out] = b_pay[bi] / b_q[bi]
            o_sprice[out] = s_price
            o_res[out] = groups[k] % n_resources
            out += 1
    return (o_buyer[:out], o_seller[:out], o_bid[:out], o_ask[:out], o_qty[:out],
            o_price[:out], o_sprice[:out], o_res[:out])
