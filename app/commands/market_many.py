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

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from market.batch import clear_uniform_flat
from market.csvio import OrderFile
from market.resources import N_RESOURCES, RESOURCE_NAMES, RESOURCE_UNITS
from market.welfare import efficiency_of


def _num(x: float) -> float | None:
    return None if math.isnan(x) or math.isinf(x) else float(x)


@dataclass
class _Flat:
    """The flat clearing of every market of a book, as the reports need it."""

    ids: list[str]
    vc: Any  # market.batch.VenueClearing
    present: np.ndarray  # (V, 4) resource offered or bid in the market
    pay: np.ndarray  # (V, 4) buyers' payments (= sellers' revenue: one uniform price)
    welfare_r: np.ndarray  # (V, 4)
    welfare: np.ndarray  # (V,)
    prices: np.ndarray  # (V, 4), NaN where nothing traded
    labels: list[str]


def _flat(book: OrderFile, k: float) -> _Flat:
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
    key = vc.t_venue * R + vc.t_res
    # Trades stay venue-major and in each venue's order: these sums add the same terms in
    # the same order as ClearingResult.per_resource does market by market.
    pay = np.bincount(key, vc.t_qty * vc.t_price, n_v * R).reshape(n_v, R)
    welfare_r = vc.value_r - vc.cost_r
    prices = np.where(vc.volume > 0, vc.prices, np.nan)
    return _Flat(ids, vc, present.reshape(n_v, R), pay, welfare_r, welfare_r.sum(axis=1),
                 prices, book.agents.labels)


def uniform_markets_report(book: OrderFile, k: float) -> dict[str, Any]:
    """{"markets": {id: clear_report-like document}} for every market id of ``book``."""
    f = _flat(book, k)
    ids, R, vc, present, pay = f.ids, N_RESOURCES, f.vc, f.present, f.pay
    rev = pay  # uniform price: sellers get what buyers pay
    welfare_r, welfare, prices = f.welfare_r, f.welfare, f.prices
    # The optimum: the crossing's surplus, which the efficient volume the k-DA trades
    # attains (single-resource divisible bids; see market.batch.single_resource_optima).
    optimum = welfare
    labels = np.asarray(f.labels, dtype=object)
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


def _texts(a: np.ndarray) -> list[str]:
    """json.dumps's text of each float (``float.__repr__``; ``null`` where not finite,
    as :func:`_num` makes None). Each distinct value is formatted once: a market's trades
    share its price, and quantities repeat."""
    a = np.asarray(a, np.float64)
    if a.size == 0:
        return []
    u, inv = np.unique(a, return_inverse=True)  # NaNs sort last; each one its own entry
    text = np.asarray(list(map(float.__repr__, u.tolist())), dtype=object)
    text[~np.isfinite(u)] = "null"
    out = text[inv.ravel()]
    out[(a == 0) & np.signbit(a)] = "-0.0"  # unique() merges -0.0 into 0.0; repr does not
    return out.tolist()


def uniform_markets_json(book: OrderFile, k: float) -> str:
    """``json.dumps(uniform_markets_report(book, k), allow_nan=False)``, character for
    character, without building the dicts: the text of every trade, resource and market
    is formatted from the flat arrays (floats through ``float.__repr__``, as json does),
    so the per-market Python work is a few string joins (bench/bench_clear_markets.py)."""
    f = _flat(book, k)
    vc, R = f.vc, N_RESOURCES
    n_v = len(f.ids)
    if not (np.isfinite(f.welfare).all() and np.isfinite(f.pay).all()):
        # json.dumps refuses NaN there (allow_nan=False): let it raise the same error
        return json.dumps(uniform_markets_report(book, k), allow_nan=False)
    obj = np.asarray
    lab = obj([json.dumps(x) for x in f.labels], dtype=object)
    key = vc.t_venue * R + vc.t_res
    order = np.argsort(key, kind="stable")  # by (market, resource), trade order kept
    cut = np.searchsorted(key[order], np.arange(n_v * R + 1))
    t_p = _texts(vc.t_price[order])
    # f-strings in comprehensions: ~2x faster than str.format per item
    trades = [f'{{"buyer": {b}, "seller": {s}, "quantity": {q}, "price": {p}, '
              f'"seller_price": {p}}}' for b, s, q, p in zip(
                  lab[vc.t_buyer[order]].tolist(), lab[vc.t_seller[order]].tolist(),
                  _texts(vc.t_qty[order]), t_p, strict=True)]
    js = np.flatnonzero(f.present.ravel())  # (market, resource) pairs in the report, in order
    r_of = js % R
    a_l, b_l = cut[js].tolist(), cut[js + 1].tolist()
    t_lists = [", ".join(trades[a:b]) for a, b in zip(a_l, b_l, strict=True)]
    first = [t_p[a] if b > a else "null" for a, b in zip(a_l, b_l, strict=True)]
    res_texts = [
        f'{n}: {{"price": {p}, "seller_price": {sp}, "quantity": {q}, "unit": {u}, '
        f'"trades": [{t}], "welfare": {w}, "buyer_payments": {b}, "seller_revenue": {b}, '
        f'"platform_surplus": 0.0}}' for n, p, sp, q, u, t, w, b in zip(
            obj([json.dumps(n) for n in RESOURCE_NAMES], dtype=object)[r_of].tolist(),
            _texts(f.prices.ravel()[js]), first, _texts(vc.volume.ravel()[js]),
            obj([json.dumps(u) for u in RESOURCE_UNITS], dtype=object)[r_of].tolist(),
            t_lists, _texts(f.welfare_r.ravel()[js]), _texts(f.pay.ravel()[js]), strict=True)]
    m_cut = np.searchsorted(js // R, np.arange(n_v + 1)).tolist()
    res_docs = [", ".join(res_texts[m_cut[v]:m_cut[v + 1]]) for v in range(n_v)]
    # Python's sum over a row (0 + p0 + p1 + ...), the same additions in the same order
    tot = f.pay[:, 0].copy()
    for r in range(1, R):
        tot = tot + f.pay[:, r]
    b_tot = _texts(tot)
    w_txt = _texts(f.welfare)
    eff = [("null" if math.isnan(e) or math.isinf(e) else float.__repr__(e))
           for e in (efficiency_of(x, x) for x in f.welfare.tolist())]
    kt = float.__repr__(float(k))
    docs = [f'{m}: {{"mechanism": "uniform", "params": {{"k": {kt}}}, "resources": {{{r}}}, '
            f'"welfare": {w}, "optimal_welfare": {w}, "efficiency": {e}, '
            f'"buyer_payments": {b}, "seller_revenue": {b}, "platform_surplus": 0.0}}'
            for m, r, w, e, b in zip([json.dumps(m) for m in f.ids], res_docs, w_txt, eff, b_tot,
                                     strict=True)]
    return '{"markets": {' + ", ".join(docs) + "}}"


def uniform_markets_table(book: OrderFile, k: float, shown: int) -> tuple[list[tuple], int, float]:
    """What the CLI's table of many markets shows, from the flat arrays (no dicts):
    (rows of the first ``shown`` markets: id, trades, welfare, optimum, efficiency, buyers
    pay, sellers get; the number of markets; the total welfare, = the total optimum).
    Each figure is the one of :func:`uniform_markets_report`, summed the same way."""
    f = _flat(book, k)
    n_tr = np.diff(np.asarray(f.vc.t_off)).tolist()
    tot = f.pay[:, 0].copy()
    for r in range(1, N_RESOURCES):
        tot = tot + f.pay[:, r]
    w = f.welfare.tolist()
    rows = [(mid, n_tr[v], w[v], w[v], _num(efficiency_of(w[v], w[v])), float(tot[v]),
             float(tot[v])) for v, mid in enumerate(f.ids[:shown])]
    return rows, len(f.ids), sum(w)
