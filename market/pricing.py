"""Posted-price dynamics: the tâtonnement step rule, shared by the market and the agents.

Prices move with normalized excess demand z = (D - S) / (D + S), which lies in [-1, 1]:

- ``step="multiplicative"``: p <- p * exp(eta_t * z)   (scale-free; the default)
- ``step="additive"``:       p <- p + eta_t * z * scale (credits; ``scale``: a scalar or
  one per resource, best set to the price level, e.g. the mean ask)

with a step size eta_t = rate / (1 + t) ** decay that decays over the rule's update count t.
decay = 0 keeps it constant (geometric convergence on smooth curves, a small oscillation
on step curves); the default 0.2 damps that oscillation while still converging quickly;
0.5 < decay <= 1 gives the Robbins-Monro conditions (Σ eta = ∞, Σ eta² < ∞) but slows
convergence. Prices never go below ``floor`` (per resource; e.g. the cheapest ask, below
which nothing is supplied) nor below ``min_price`` (a multiplicative rule must stay > 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
StepKind = Literal["multiplicative", "additive"]


def excess_demand(demand: ArrayLike, supply: ArrayLike) -> FloatArray:
    """(D - S) / (D + S), 0 where both are 0."""
    d = np.asarray(demand, dtype=np.float64)
    s = np.asarray(supply, dtype=np.float64)
    tot = d + s
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(tot > 0, (d - s) / tot, 0.0)


@dataclass
class TatonnementRule:
    """Stateful price-update rule: ``update(prices, demand, supply) -> prices``."""

    step: StepKind = "multiplicative"
    rate: float = 0.5
    decay: float = 0.2
    scale: float | FloatArray = 1.0
    min_price: float = 1e-9
    t: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.step not in ("multiplicative", "additive"):
            raise ValueError(f"step must be 'multiplicative' or 'additive', got {self.step!r}")
        if not (isinstance(self.rate, int | float) and math.isfinite(self.rate) and self.rate > 0):
            raise ValueError(f"rate must be a positive number, got {self.rate!r}")
        sc = np.asarray(self.scale, dtype=np.float64)
        if not np.all(np.isfinite(sc) & (sc > 0)):
            raise ValueError(f"scale must be positive, got {self.scale!r}")
        if not (isinstance(self.decay, int | float) and 0 <= self.decay <= 2):
            raise ValueError(f"decay must be in [0, 2], got {self.decay!r}")
        if not (isinstance(self.min_price, int | float) and self.min_price > 0):
            raise ValueError(f"min_price must be > 0, got {self.min_price!r}")

    def step_size(self) -> float:
        """eta_t for the next update."""
        return float(self.rate / (1.0 + self.t) ** self.decay)

    def update(
        self,
        prices: ArrayLike,
        demand: ArrayLike,
        supply: ArrayLike,
        floor: ArrayLike | None = None,
    ) -> FloatArray:
        """New prices from the current ones and the demand/supply they drew; advances t."""
        p = np.asarray(prices, dtype=np.float64)
        z = excess_demand(demand, supply)
        eta = self.step_size()
        self.t += 1
        new = p * np.exp(eta * z) if self.step == "multiplicative" else p + eta * z * self.scale
        lower = np.full_like(new, self.min_price)
        if floor is not None:
            lower = np.maximum(lower, np.nan_to_num(np.asarray(floor, dtype=np.float64), nan=0.0))
        return np.maximum(new, lower)

    def reset(self) -> None:
        """Restart the step-size schedule."""
        self.t = 0
