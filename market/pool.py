"""The virtual resource pool: many providers' 3C-L capacities seen as one market side.

Following the source's "virtualizing all the resources into the virtual resource pool",
m providers each offer capacity (m, 4) units of every resource at a marginal cost (m, 4)
credits per unit. The pool turns them into ``Asks`` (one per provider and resource with
capacity) and into per-resource supply curves: the cheapest units first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from market.orders import Asks
from market.resources import N_RESOURCES

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class SupplyCurve:
    """One resource's supply: ask prices ascending and the cumulative units up to each."""

    price: FloatArray
    cumulative: FloatArray

    @property
    def capacity(self) -> float:
        """Total units offered."""
        return float(self.cumulative[-1]) if self.cumulative.size else 0.0

    def quantity_at(self, price: ArrayLike) -> FloatArray:
        """Units offered at unit price <= ``price`` (vectorized over prices)."""
        k = np.searchsorted(self.price, np.asarray(price, dtype=np.float64), side="right")
        padded = np.concatenate([[0.0], self.cumulative])
        return np.asarray(padded[k], dtype=np.float64)

    def marginal_cost(self, quantity: ArrayLike) -> FloatArray:
        """Ask price of the unit that brings supply to ``quantity`` (inf beyond capacity;
        0 for quantity 0)."""
        q = np.asarray(quantity, dtype=np.float64)
        k = np.searchsorted(self.cumulative, q, side="left")
        padded = np.concatenate([self.price, [np.inf]])
        return np.where(q <= 0, 0.0, padded[np.minimum(k, self.price.size)])


@dataclass(frozen=True, eq=False)
class ResourcePool:
    """Providers' capacities (m, 4) in resource units and costs (m, 4) in credits per unit."""

    capacity: FloatArray
    cost: FloatArray
    agent: IntArray = field(default_factory=lambda: np.empty(0, np.int64))

    def __post_init__(self) -> None:
        cap = np.atleast_2d(np.asarray(self.capacity, dtype=np.float64))
        cost = np.atleast_2d(np.asarray(self.cost, dtype=np.float64))
        if cap.ndim != 2 or cap.shape[1] != N_RESOURCES or cost.shape != cap.shape:
            raise ValueError(
                f"capacity and cost must both have shape (m, {N_RESOURCES}), "
                f"got {cap.shape} and {cost.shape}"
            )
        for name, arr in (("capacity", cap), ("cost", cost)):
            if not np.all(np.isfinite(arr) & (arr >= 0)):
                raise ValueError(f"{name} must be finite and >= 0")
        agent = np.asarray(self.agent, dtype=np.int64)
        if agent.size == 0:
            agent = np.arange(cap.shape[0], dtype=np.int64)
        if agent.shape != (cap.shape[0],):
            raise ValueError(f"agent must have shape ({cap.shape[0]},), got {agent.shape}")
        object.__setattr__(self, "capacity", cap)
        object.__setattr__(self, "cost", cost)
        object.__setattr__(self, "agent", agent)

    @property
    def n_providers(self) -> int:
        """Number of providers m."""
        return int(self.capacity.shape[0])

    def total_capacity(self) -> FloatArray:
        """(4,) units offered per resource."""
        return self.capacity.sum(axis=0)

    def asks(self) -> Asks:
        """One ask per (provider, resource) with positive capacity."""
        return Asks.from_pool(self.capacity, self.cost, self.agent)

    def supply_curve(self, resource: int) -> SupplyCurve:
        """The supply curve of ``resource``: cheapest units first (ties by provider)."""
        cap, cost = self.capacity[:, resource], self.cost[:, resource]
        has = np.flatnonzero(cap > 0)
        order = has[np.argsort(cost[has], kind="stable")]
        return SupplyCurve(cost[order], np.cumsum(cap[order]))

    def supply_at(self, prices: ArrayLike) -> FloatArray:
        """(4,) units offered at or below the given per-resource unit prices."""
        p = np.broadcast_to(np.asarray(prices, dtype=np.float64), (N_RESOURCES,))
        return np.asarray((self.capacity * (self.cost <= p)).sum(axis=0), dtype=np.float64)

    def scaled(self, factor: ArrayLike) -> ResourcePool:
        """The pool with capacities multiplied by ``factor`` (scalar, (4,) or (m, 4)),
        e.g. availability after mobility or failures."""
        return ResourcePool(self.capacity * np.asarray(factor, dtype=np.float64), self.cost, self.agent)
