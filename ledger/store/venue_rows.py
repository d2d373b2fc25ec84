"""Rows of the ``venue_prices`` table from a round's ``info["venue_prices"]``
(agents/marketplace_prices.py defines every figure; ledger/store/models.VenuePriceRow)."""

from __future__ import annotations

from typing import Any

from market.resources import RESOURCE_NAMES

VENUE_PRICE_COLUMNS = ("run_id", "round", "venue", "resource", "name", "kind", "price",
                       "volume", "supply", "dual", "dual_true")


def venue_price_rows(run_id: int, rr: Any) -> list[tuple]:
    """One row per venue and offered resource (supply > 0): a resource nobody offers in a
    venue has no market there, so no price and no meaningful dual."""
    vp = (getattr(rr, "info", None) or {}).get("venue_prices") or {}
    if not vp.get("venue"):
        return []
    n = len(vp["venue"])
    none4 = [[None] * len(RESOURCE_NAMES)] * n
    kinds = vp.get("kind") or ["cloud" if v < 0 else "edge" for v in vp["venue"]]
    names = vp.get("name") or [str(v) for v in vp["venue"]]
    rows = []
    for i, v in enumerate(vp["venue"]):
        supply = vp.get("supply", none4)[i]
        for r, res in enumerate(RESOURCE_NAMES):
            s = supply[r]
            if not s:  # None (older info) or 0: nothing offered
                continue
            rows.append((run_id, int(rr.round), int(v), res, names[i], kinds[i],
                         vp["price"][i][r], float(vp["volume"][i][r] or 0.0), float(s),
                         vp["dual"][i][r], vp.get("dual_true", none4)[i][r]))
    return rows


def venue_price_frame(bind: Any, run_id: int, rnd: int | None = None) -> Any:
    """The stored ``venue_prices`` rows of a run (or of one round) as a DataFrame, in
    (round, venue, resource) order: round, venue, name, kind, resource, price, dual,
    dual_true, volume, supply. Cloud venues (< 0) come first within a round."""
    from sqlalchemy import select

    from ledger.store.models import VenuePriceRow as V
    from ledger.store.queries import _frame

    q = select(V.round, V.venue, V.name, V.kind, V.resource, V.price, V.dual, V.dual_true,
               V.volume, V.supply).where(V.run_id == run_id)
    if rnd is not None:
        q = q.where(V.round == rnd)
    df = _frame(bind, q.order_by(V.round, V.venue, V.resource))
    order = {n: i for i, n in enumerate(RESOURCE_NAMES)}  # resources in their index order
    if len(df):
        df = df.assign(_r=df["resource"].map(order)).sort_values(
            ["round", "venue", "_r"], kind="stable").drop(columns="_r").reset_index(drop=True)
    return df
