"""Random but reproducible markets for demos, tests and benchmarks.

Prices are drawn around reference unit costs per resource (credits per unit) so that bids
and asks overlap and markets actually trade. Everything is driven by one seed.
"""

from __future__ import annotations

import numpy as np

from market.orders import Asks, Bids, Market
from market.pool import ResourcePool
from market.resources import N_RESOURCES

#: Typical unit costs in credits: per Mbps·round, GB·round, GFLOP, LU.
REFERENCE_COST = np.array([0.8, 0.3, 0.05, 2.0])
#: Typical units per AI-service bundle: Mbps·round, GB·round, GFLOP, LU.
TYPICAL_BUNDLE = np.array([20.0, 2.0, 150.0, 1.0])


def random_pool(n_sellers: int, seed: int | np.random.Generator = 0) -> ResourcePool:
    """Providers with lognormal capacities and costs spread around the reference costs.

    Provider ids are 1_000_000 + i so that they never clash with buyers' ids.
    """
    rng = np.random.default_rng(seed)
    cap = rng.lognormal(0.0, 0.5, (n_sellers, N_RESOURCES)) * TYPICAL_BUNDLE * 4.0
    cap *= rng.random((n_sellers, N_RESOURCES)) < 0.8  # not every node offers everything
    cost = REFERENCE_COST * rng.uniform(0.4, 1.6, (n_sellers, N_RESOURCES))
    return ResourcePool(cap, cost, agent=1_000_000 + np.arange(n_sellers, dtype=np.int64))


def random_bundle_bids(n_buyers: int, seed: int | np.random.Generator = 0) -> Bids:
    """Leontief bundle bids (AI service requests) valued around their reference cost."""
    rng = np.random.default_rng(seed)
    demand = rng.lognormal(0.0, 0.4, (n_buyers, N_RESOURCES)) * TYPICAL_BUNDLE
    demand *= rng.random((n_buyers, N_RESOURCES)) < 0.85
    ref = demand @ REFERENCE_COST
    value = ref * rng.uniform(0.5, 2.0, n_buyers)
    max_bundles = rng.integers(1, 4, n_buyers).astype(np.float64)
    return Bids.bundles(np.arange(n_buyers, dtype=np.int64), demand, value, max_bundles)


def random_market(
    n_buyers: int = 200, n_sellers: int = 40, seed: int = 0, *, bundles: bool = True
) -> Market:
    """A bundle market (default) or a per-resource market of single-resource bids."""
    rng = np.random.default_rng(seed)
    asks = random_pool(n_sellers, rng).asks()
    if bundles:
        return Market(random_bundle_bids(n_buyers, rng), asks)
    resource = rng.integers(0, N_RESOURCES, n_buyers)
    qty = np.round(rng.lognormal(0.0, 0.5, n_buyers) * TYPICAL_BUNDLE[resource], 0) + 1.0
    price = REFERENCE_COST[resource] * rng.uniform(0.5, 1.8, n_buyers)
    return Market(Bids.single(np.arange(n_buyers), resource, qty, price), asks)


def random_single_resource(
    n_bids: int, n_asks: int, seed: int = 0, resource: int = 0
) -> Market:
    """One resource, integer quantities 1..9, bid prices U(0.5, 1.5), asks U(0.2, 1.2)."""
    rng = np.random.default_rng(seed)
    bids = Bids.single(
        np.arange(n_bids), resource, rng.integers(1, 10, n_bids).astype(np.float64),
        rng.uniform(0.5, 1.5, n_bids),
    )
    asks = Asks.single(
        np.arange(n_bids, n_bids + n_asks), resource,
        rng.integers(1, 10, n_asks).astype(np.float64), rng.uniform(0.2, 1.2, n_asks),
    )
    return Market(bids, asks)
