"""The round's prices per venue and pooled, for RoundResult.info (issue 11, item 5).

- ``venue_prices``: every venue's clearing price next to its LP dual and traded volume.
- ``pooled_prices`` / ``equilibrium_prices``: edge and cloud venues pooled, price and dual
  weighted the same way (units traded per venue, same venues); any gap between them is
  then economics (mechanism vs Walrasian price), not averaging.
- ``edge_prices`` / ``edge_equilibrium`` and ``cloud_prices`` / ``cloud_equilibrium``:
  the same pooling over the edge venues only and over the cloud venue(s) only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from agents.marketplace import Clearing, pooled_prices, venue_prices


def _list(a: np.ndarray) -> list[float]:
    return [float(x) for x in a]


def round_prices(edge: Clearing, cloud: Clearing) -> dict[str, Any]:
    """The price entries of a round's ``info`` (NaN where undefined)."""
    p, d = pooled_prices([edge, cloud])
    ep, ed = pooled_prices([edge])
    cp, cd = pooled_prices([cloud])
    return {"venue_prices": venue_prices([edge, cloud]),
            "pooled_prices": _list(p), "equilibrium_prices": _list(d),
            "edge_prices": _list(ep), "edge_equilibrium": _list(ed),
            "cloud_prices": _list(cp), "cloud_equilibrium": _list(cd)}
