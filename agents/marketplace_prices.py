"""The round's prices per venue and pooled, for RoundResult.info (issue 11, item 4).

- ``venue_prices``: every venue's clearing price next to its LP duals, traded volume and
  supply (lists in venue order, one row of 4 per venue; None where undefined), with the
  venue's ``name`` and ``kind``:

  * ``price``: the venue's clearing price, i.e. the mechanism's uniform buyer price per
    resource (uniform k-DA: the k-weighted Walrasian-interval price; McAfee: the buyers'
    price; tatonnement: the posted price; equilibrium: the dual). Every mechanism here
    charges all buyers of a venue and resource one price, so this equals the venue's
    volume-weighted trade price wherever the resource traded; None where it did not.
  * ``dual``: LP dual of the venue's welfare LP on the orders as submitted.
  * ``dual_true``: LP dual on true values and costs (agents.venue_duals); None when the
    round skips the optimum.
  * ``volume``: units traded; ``supply``: units offered.
  * ``kind``: ``edge`` (one market per cell or zone; brokers sell in their node's venue),
    ``pool`` (scope pool: all edge resources of a world, brokers included, one market),
    ``cloud``; ``name``: ``cell 3``, ``zone 1``, ``pool 0``, ``cloud 0``.
- ``pooled_prices`` / ``equilibrium_prices``: edge and cloud venues pooled, price and dual
  weighted the same way (units traded per venue, same venues); any gap between them is
  then economics (mechanism vs Walrasian price), not averaging.
- ``edge_prices`` / ``edge_equilibrium`` and ``cloud_prices`` / ``cloud_equilibrium``:
  the same pooling over the edge venues only and over the cloud venue(s) only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from agents.marketplace import Clearing, none_rows, pooled_prices, venue_prices


def _list(a: np.ndarray) -> list[float]:
    return [float(x) for x in a]


def venue_label(venue: int, scope: str) -> tuple[str, str]:
    """(kind, name) of a venue id (cloud venues are -1 - world)."""
    if venue < 0:
        return "cloud", f"cloud {-1 - venue}"
    kind = "pool" if scope == "pool" else "edge"
    return kind, f"{scope if scope in ('cell', 'zone', 'pool') else 'venue'} {venue}"




def round_prices(edge: Clearing, cloud: Clearing, *, scope: str = "cell",
                 true_duals: dict[int, np.ndarray] | None = None) -> dict[str, Any]:
    """The price entries of a round's ``info`` (NaN where undefined)."""
    p, d = pooled_prices([edge, cloud])
    ep, ed = pooled_prices([edge])
    cp, cd = pooled_prices([cloud])
    vp = venue_prices([edge, cloud])
    cs = [c for c in (edge, cloud) if c.venues.size]
    supply = np.concatenate([c.supply_total for c in cs]) if cs else np.zeros((0, 4))
    nan = np.full(4, np.nan)
    td = true_duals or {}
    vp["supply"] = none_rows(supply)
    vp["dual_true"] = none_rows(np.array([td.get(v, nan) for v in vp["venue"]]).reshape(-1, 4))
    labels = [venue_label(v, scope) for v in vp["venue"]]
    vp["kind"] = [k for k, _ in labels]
    vp["name"] = [n for _, n in labels]
    return {"venue_prices": vp,
            "pooled_prices": _list(p), "equilibrium_prices": _list(d),
            "edge_prices": _list(ep), "edge_equilibrium": _list(ed),
            "cloud_prices": _list(cp), "cloud_equilibrium": _list(cd)}


def venue_summary(vp: dict[str, Any] | None, resources: tuple[str, ...],
                  digits: int = 9) -> list[dict[str, Any]]:
    """``info["venue_prices"]`` as one JSON-able dict per venue (for the run summary):
    venue, name, kind and, per resource name, price / dual / dual_true / volume / supply
    (None where undefined; only the resources offered in the venue)."""
    if not vp or not vp.get("venue"):
        return []
    n = len(vp["venue"])
    none4 = [[None] * len(resources)] * n

    def r(x: float | None) -> float | None:
        return None if x is None else round(float(x), digits)

    out = []
    for i, v in enumerate(vp["venue"]):
        kind, name = (vp["kind"][i], vp["name"][i]) if "kind" in vp else venue_label(v, "cell")
        sup = vp.get("supply", none4)[i]
        keep = [j for j in range(len(resources)) if sup[j] is None or sup[j] > 0]
        out.append({"venue": int(v), "name": name, "kind": kind, **{
            field: {resources[j]: r(vp.get(field, none4)[i][j]) for j in keep}
            for field in ("price", "dual", "dual_true", "volume", "supply")}})
    return out
