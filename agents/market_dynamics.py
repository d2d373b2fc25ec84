"""Scarce, non-stationary markets: heterogeneous node costs, moving hotspots, buyers who leave.

Three optional features of a scenario's ``dynamics:`` section (all off by default, so
every other scenario is unchanged), used by ``scenarios/scarce_hotspots.yaml`` and the
learned-pricing benchmark (docs/learning.md):

- ``node_cost_spread`` s: each node's marginal cost of each resource is multiplied by a
  factor drawn uniformly from [1 − s, 1 + s] once per run (sites with cheap or dear
  power, leases, hardware).
- ``hotspots``: a share of the devices follow demand centres that orbit the middle of the
  area (one revolution every ``period_rounds``, centres evenly spaced in phase); a follower
  stays at a fixed Gaussian offset (σ = ``radius_m``) from its centre, so the load moves
  from cell to cell over the rounds.
- ``reservation_min_share`` ρ_min: each request draws a reservation share ρ ~ U(ρ_min, 1)
  and its buyer **leaves** (bids nowhere this round, edge nor cloud) when its bundle at
  the asks its node posts this round, Σ_r demand_r × ask_r, exceeds ρ × its value: demand
  falls as posted prices rise (price-elastic demand).

The features draw from their own random stream (seeded from the run's seed), so switching
them on does not shift the model's other random draws.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from agents.marketplace import OrderArrays

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Salt of this module's random stream (any constant: it only separates the streams).
_STREAM = 0x5CA7CE


class HotspotConfig(BaseModel):
    """Moving demand centres (``count`` 0: none)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    count: int = Field(0, ge=0, description="number of demand centres")
    share: float = Field(0.5, ge=0, le=1, description="share of devices that follow a centre")
    radius_m: float = Field(150.0, gt=0, description="m, σ of a follower's offset from its centre")
    orbit_m: float = Field(300.0, ge=0, description="m, radius of the centres' circular path "
                                                     "around the middle of the area")
    period_rounds: float = Field(40.0, gt=0, description="rounds per revolution of the centres")


class DynamicsConfig(BaseModel):
    """The scenario's ``dynamics:`` section (module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    node_cost_spread: float = Field(0.0, ge=0, lt=1, description="± fraction, uniform per node "
                                                                 "and resource, on marginal cost")
    hotspots: HotspotConfig = Field(default_factory=lambda: HotspotConfig.model_validate({}))
    reservation_min_share: float | None = Field(
        None, ge=0, le=1, description="lowest reservation share of a request's value; None: "
                                      "buyers never leave")


class MarketDynamics:
    """The dynamics of one model run (state: follower offsets, last round's leavers)."""

    def __init__(self, cfg: DynamicsConfig, seed: int | None, n_devices: int) -> None:
        self.cfg = cfg
        self.rng = np.random.default_rng([int(seed or 0) & 0xFFFFFFFF, _STREAM])
        hs = cfg.hotspots
        self.followers = np.zeros(0, np.int64)
        if hs.count > 0 and n_devices:
            self.followers = np.flatnonzero(self.rng.random(n_devices) < hs.share)
            self.centre_of = self.rng.integers(0, hs.count, self.followers.size)
            self.offset = self.rng.normal(0.0, hs.radius_m, (self.followers.size, 2))
        #: Requests whose buyer left in the last round (bool per request row) and, for the
        #: benchmark's oracle, their edge orders at true value (OrderArrays or None).
        self.left = np.zeros(0, bool)
        self.left_orders: OrderArrays | None = None
        #: True values of the last round's requests (the benchmark reads them).
        self.values = np.zeros(0)

    # -- construction ---------------------------------------------------------------------

    def spread_costs(self, cost: FloatArray) -> FloatArray:
        """(m, 4) node marginal costs with the per-node spread applied."""
        s = self.cfg.node_cost_spread
        if s <= 0:
            return cost
        return cost * self.rng.uniform(1.0 - s, 1.0 + s, cost.shape)

    # -- hotspots ---------------------------------------------------------------------------

    def centres(self, round_no: int, width_m: float, height_m: float) -> FloatArray:
        """(count, 2) positions of the demand centres in round ``round_no``, m."""
        hs = self.cfg.hotspots
        phase = 2 * math.pi * (round_no / hs.period_rounds + np.arange(hs.count) / max(hs.count, 1))
        return np.column_stack([width_m / 2 + hs.orbit_m * np.cos(phase),
                                height_m / 2 + hs.orbit_m * np.sin(phase)])

    def move_followers(self, pos: FloatArray, moved: FloatArray, round_no: int,
                       width_m: float, height_m: float) -> FloatArray:
        """Put every follower at its centre + offset (``pos`` in place, each world's rows
        in its own area's coordinates); returns ``moved`` with their distances."""
        f = self.followers
        if f.size == 0:
            return moved
        c = self.centres(round_no, width_m, height_m)[self.centre_of]
        new = np.clip(c + self.offset, [0.0, 0.0], [width_m, height_m])
        d = new - pos[f]
        pos[f] = new
        out = moved.copy()
        out[f] = np.hypot(d[:, 0], d[:, 1])
        return out

    # -- buyers who leave -------------------------------------------------------------------

    def withdraw(self, value: FloatArray, venue: IntArray, feasible: NDArray[np.bool_],
                 demand: FloatArray, ask: FloatArray, bid_value: FloatArray,
                 node_venue: IntArray, bidder_uid: IntArray) -> FloatArray:
        """Bids with the leavers' set to 0 (they then bid nowhere).

        ``venue``: node row of each request (< 0: the cloud; those never leave here),
        ``demand``: its edge bundle (n, 4), ``ask``: (m, 4) the nodes' posted asks.
        """
        self.values = value
        rho_min = self.cfg.reservation_min_share
        n = value.size
        self.left, self.left_orders = np.zeros(n, bool), None
        if rho_min is None or n == 0:
            return bid_value
        rho = self.rng.uniform(rho_min, 1.0, n)
        at_edge = venue >= 0
        node = np.where(at_edge, venue, 0)
        price = (demand * ask[node]).sum(axis=1) if ask.size else np.zeros(n)
        left = at_edge & feasible & (bid_value > 0) & (price > rho * value)
        self.left = left
        rows = np.flatnonzero(left)
        if rows.size:
            self.left_orders = OrderArrays(
                bid_venue=node_venue[venue[rows]].astype(np.int64), bid_row=rows,
                bid_agent=bidder_uid[rows], bid_demand=demand[rows], bid_value=value[rows],
                ask_venue=np.zeros(0, np.int64), ask_agent=np.zeros(0, np.int64),
                ask_resource=np.zeros(0, np.int8), ask_quantity=np.zeros(0),
                ask_price=np.zeros(0))
        return np.where(left, 0.0, bid_value)


def dynamics_of(model: Any) -> MarketDynamics | None:
    """The model's MarketDynamics (None for a model built without one)."""
    return getattr(model, "dynamics", None)


__all__ = ["DynamicsConfig", "HotspotConfig", "MarketDynamics", "dynamics_of"]
