"""Splitting bundle bids into per-resource bids, for the per-resource auctions.

Rule (documented, deterministic): a bundle bid i with demand d_i (units per bundle), value
v_i (credits per bundle) and max_bundles m_i becomes, for every resource r it demands, a bid
for ``d_ir * m_i`` units at unit price ``v_i * s_ir / d_ir``, where the value share

    s_ir = d_ir * ref_r / sum_r' d_ir' * ref_r'

weighs each part by its cost at the reference price ref_r = the quantity-weighted mean ask
price of resource r (resources with no positive asks use the mean of the other references,
or 1 credit). Single-resource bids are left unchanged (share 1). The parts clear
independently; a bundle is only worth its value when every part is filled, so welfare counts
``m_i * min_r fill_ir`` bundles (see :func:`market.welfare.bundles_from_trades`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from market.orders import MULTI_RESOURCE, NO_RESOURCE, Asks, Bids
from market.resources import N_RESOURCES

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def reference_prices(asks: Asks) -> FloatArray:
    """(4,) quantity-weighted mean ask price per resource (fallbacks as in the module doc)."""
    qty = np.bincount(asks.resource, weights=asks.quantity, minlength=N_RESOURCES).astype(np.float64, copy=False)
    cost = np.bincount(asks.resource, weights=asks.quantity * asks.price, minlength=N_RESOURCES).astype(np.float64, copy=False)
    with np.errstate(invalid="ignore", divide="ignore"):
        ref = cost / qty
    good = np.isfinite(ref) & (ref > 0)
    fill = float(ref[good].mean()) if good.any() else 1.0
    return np.where(good, ref, fill)


def value_shares(bids: Bids, asks: Asks) -> FloatArray:
    """(n, 4) share of each bid's value attributed to each resource; rows sum to 1."""
    n = len(bids)
    shares = np.zeros((n, N_RESOURCES))
    single = bids.resource >= 0
    shares[np.flatnonzero(single), bids.resource[single].astype(np.int64)] = 1.0
    multi = np.flatnonzero(bids.resource == MULTI_RESOURCE)
    if multi.size:
        w = bids.demand[multi] * reference_prices(asks)
        shares[multi] = w / w.sum(axis=1, keepdims=True)
    shares[bids.resource == NO_RESOURCE] = 1.0 / N_RESOURCES
    return shares


@dataclass(frozen=True)
class ResourceBids:
    """The per-resource bids of one resource: rows of the original Bids, units, unit prices."""

    rows: IntArray
    quantity: FloatArray
    price: FloatArray
    all_rows: bool = False  # rows == arange(n_bids): callers may skip gathers
    unit: bool = False  # every row demands exactly 1 unit per bundle


def split_bids(bids: Bids, asks: Asks, resource: int,
               shares: FloatArray | None = None) -> ResourceBids:
    """The bids for ``resource`` after splitting bundles (see the module doc).

    ``shares``: :func:`value_shares` of these bids, if already known (a caller splitting
    every resource computes them once)."""
    if bids.is_single:  # fast path, the common per-resource market
        mask = bids.resource == resource
        if int(np.count_nonzero(mask)) == len(bids):  # one-resource market: no gathers
            d = bids.demand[:, resource]
            rows = np.arange(len(bids), dtype=np.int64)
            if bool(np.all(d == 1.0)):  # plain unit bids (Bids.single): nothing to rescale
                return ResourceBids(rows, bids.max_bundles, bids.value, all_rows=True, unit=True)
            return ResourceBids(rows, d * bids.max_bundles, bids.value / d, all_rows=True)
        rows = np.flatnonzero(mask)
        d = bids.demand[rows, resource]
        return ResourceBids(rows, d * bids.max_bundles[rows], bids.value[rows] / d)
    d_all = bids.demand[:, resource]
    rows = np.flatnonzero(d_all > 0)
    d = d_all[rows]
    share = (value_shares(bids.take(rows), asks) if shares is None else shares[rows])[:, resource]
    return ResourceBids(rows, d * bids.max_bundles[rows], bids.value[rows] * share / d)
