"""`market clear` with a `market` column, uniform price: every market in one flat pass.

:func:`market.batch.clear_uniform_flat` clears all markets at once and returns flat
arrays (no Market or ClearingResult per market); this module turns those arrays into the
per-market JSON documents of :func:`app.commands.market.clear_report`. Prices, quantities,
trades and payments are those of clearing each market alone, exactly; the welfare totals
are segmented sums of the same terms (equal up to float rounding). The optimum of a
single-resource market is its crossing's surplus (market.batch.single_resource_optima),
which the uniform k-DA attains: its efficiency is 1 up to rounding.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from market.batch import clear_uniform_flat
from market.csvio import OrderFile
from market.resources import N_RESOURCES, RESOURCE_NAMES, RESOURCE_UNITS
from market.welfare import efficiency_of


def _num(x: float) -> float | None:
    return None if math.isnan(x) or math.isinf(x) else float(x)


def uniform_markets_report(book: OrderFile, k: float) -> dict[str, Any]:
    """{"markets": {id: clear_report-like document}} for every market id of ``book``."""
    assert book.market_ids is not None and book.bid_market is not None
    assert book.ask_market is not None
    ids, R = book.market_ids, N_RESOURCES
    n_v = len(ids)
    bo = np.argsort(book.bid_market, kind="stable")
    ao = np.argsort(book.ask_market, kind="stable")
    bids, asks = book.market.bids.take(bo), book.market.asks.take(ao)
    nb = np.bincount(book.bid_market, minlength=n_v).astype(np.int64)
    na = np.bincount(book.ask_market, minlength=n_v).astype(np.int64)
    vc = clear_uniform_flat(nb, na, bids, asks, k)
    b_ven = np.repeat(np.arange(n_v), nb)
    a_ven = np.repeat(np.arange(n_v), na)
    present = np.zeros(n_v * R, bool)
    present[b_ven * R + np.maximum(bids.resource, 0)] = True
    present[a_ven * R + asks.resource] = True
    present = present.reshape(n_v, R)
    key = vc.t_venue * R + vc.t_res
    # Trades stay venue-major and in each venue's order: these sums add the same terms in
    # the same order as ClearingResult.per_resource does market by market.
    pay = np.bincount(key, vc.t_qty * vc.t_price, n_v * R).reshape(n_v, R)
    rev = pay  # uniform price: sellers get what buyers pay
    welfare_r = vc.value_r - vc.cost_r
    welfare = welfare_r.sum(axis=1)
    # The optimum: the crossing's surplus, which the efficient volume the k-DA trades
    # attains (single-resource divisible bids; see market.batch.single_resource_optima).
    optimum = welfare
    prices = np.where(vc.volume > 0, vc.prices, np.nan)
    labels = np.asarray(book.agents.labels, dtype=object)
    t_buy = labels[vc.t_buyer].tolist()
    t_sell = labels[vc.t_seller].tolist()
    t_q, t_p, t_r = vc.t_qty.tolist(), vc.t_price.tolist(), vc.t_res.tolist()
    t_off = vc.t_off.tolist()
    params = {"k": k}
    out: dict[str, Any] = {}
    for v, mid in enumerate(ids):
        per: dict[str, list[dict[str, Any]]] = {RESOURCE_NAMES[r]: [] for r in range(R)
                                                 if present[v, r]}
        for i in range(t_off[v], t_off[v + 1]):
            per[RESOURCE_NAMES[t_r[i]]].append({"buyer": t_buy[i], "seller": t_sell[i],
                                                 "quantity": t_q[i], "price": t_p[i],
                                                 "seller_price": t_p[i]})
        res_doc: dict[str, Any] = {}
        for r in range(R):
            if not present[v, r]:
                continue
            trades = per[RESOURCE_NAMES[r]]
            p = float(pay[v, r])
            res_doc[RESOURCE_NAMES[r]] = {
                "price": _num(float(prices[v, r])),
                "seller_price": trades[0]["seller_price"] if trades else None,
                "quantity": float(vc.volume[v, r]), "unit": RESOURCE_UNITS[r],
                "trades": trades, "welfare": _num(float(welfare_r[v, r])),
                "buyer_payments": p, "seller_revenue": float(rev[v, r]),
                "platform_surplus": 0.0,
            }
        w, o = float(welfare[v]), float(optimum[v])
        b_tot = float(sum(pay[v]))
        out[mid] = {"mechanism": "uniform", "params": params, "resources": res_doc,
                    "welfare": w, "optimal_welfare": o, "efficiency": _num(efficiency_of(w, o)),
                    "buyer_payments": b_tot, "seller_revenue": b_tot, "platform_surplus": 0.0}
    return {"markets": out}
