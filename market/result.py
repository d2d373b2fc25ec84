"""``ClearingResult``: what a mechanism reports for one clearing of a market."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from market.orders import Trades
from market.resources import N_RESOURCES, RESOURCE_NAMES, RESOURCE_UNITS

FloatArray = NDArray[np.float64]


def _num(x: float) -> float | None:
    """JSON has no NaN: report it as null."""
    return None if math.isnan(x) else float(x)


@dataclass(frozen=True, eq=False)
class ClearingResult:
    """Outcome of ``Mechanism.clear(market)``. Money in credits, quantities in resource units.

    prices: (4,) buyer's unit price per resource (nan where the resource did not trade).
    trades: the executed trades. bundles_served: (n_bids,) bundles each bid received (a
    per-resource auction of a bundle bid counts only the fully filled fraction).
    volume: (4,) units traded; unmet_demand: (4,) units wanted (all bids at their max) but
    not traded. welfare: value of bundles served minus ask cost of units sold;
    optimal_welfare: the welfare-maximizing LP on the same market; efficiency: their ratio
    (1.0 when both are 0). buyer_payments - seller_revenue = platform_surplus (>= 0).
    sold: (n_asks,) units each ask sold. resource_welfare: (4,) welfare attributed to each
    resource (bundle values split by :func:`market.split.value_shares`); sums to welfare.
    info: mechanism-specific extras (e.g. McAfee's seller prices, tatonnement's posted
    prices and round counter).
    """

    mechanism: str
    prices: FloatArray
    trades: Trades
    bundles_served: FloatArray
    volume: FloatArray
    unmet_demand: FloatArray
    welfare: float
    optimal_welfare: float
    efficiency: float
    buyer_payments: float
    seller_revenue: float
    platform_surplus: float
    sold: FloatArray = field(default_factory=lambda: np.empty(0))
    resource_welfare: FloatArray = field(default_factory=lambda: np.full(N_RESOURCES, np.nan))
    info: dict[str, Any] = field(default_factory=dict)

    def per_resource(self) -> dict[str, dict[str, Any]]:
        """Per resource name: price, quantity, unit, trades (count), welfare, payments."""
        t = self.trades
        pay = np.bincount(t.resource, weights=t.quantity * t.price, minlength=N_RESOURCES).astype(np.float64, copy=False)
        rev = np.bincount(t.resource, weights=t.quantity * t.seller_price, minlength=N_RESOURCES).astype(np.float64, copy=False)
        count = np.bincount(t.resource, minlength=N_RESOURCES)
        out: dict[str, dict[str, Any]] = {}
        for r in range(N_RESOURCES):
            out[RESOURCE_NAMES[r]] = {
                "price": _num(float(self.prices[r])),
                "quantity": float(self.volume[r]),
                "unit": RESOURCE_UNITS[r],
                "trades": int(count[r]),
                "unmet_demand": float(self.unmet_demand[r]),
                "welfare": _num(float(self.resource_welfare[r])),
                "buyer_payments": float(pay[r]),
                "seller_revenue": float(rev[r]),
                "platform_surplus": float(pay[r] - rev[r]),
            }
        return out

    def to_dict(self, *, trades: bool = False) -> dict[str, Any]:
        """A JSON-able summary; ``trades=True`` also lists every trade."""
        d: dict[str, Any] = {
            "mechanism": self.mechanism,
            "prices": {n: _num(float(p)) for n, p in zip(RESOURCE_NAMES, self.prices, strict=True)},
            "volume": {n: float(v) for n, v in zip(RESOURCE_NAMES, self.volume, strict=True)},
            "unmet_demand": {
                n: float(v) for n, v in zip(RESOURCE_NAMES, self.unmet_demand, strict=True)
            },
            "n_trades": len(self.trades),
            "bundles_served": float(self.bundles_served.sum()),
            "welfare": float(self.welfare),
            "optimal_welfare": float(self.optimal_welfare),
            "efficiency": _num(float(self.efficiency)),
            "buyer_payments": float(self.buyer_payments),
            "seller_revenue": float(self.seller_revenue),
            "platform_surplus": float(self.platform_surplus),
            "per_resource": self.per_resource(),
        }
        if trades:
            d["trades"] = self.trades.to_records()
        return d

    def net_credits(self) -> dict[int, float]:
        """Agent id -> credits received (+) or paid (-) in this clearing."""
        return self.trades.net_credits()
