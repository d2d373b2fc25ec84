"""Device mobility in a 2-D area, vectorized over all devices of a group.

Models (positions in m, speeds in m/s, time steps in s):

- ``static``: devices stay where they were placed.
- ``random_waypoint``: walk at a uniform random speed to a uniform random waypoint, pause,
  repeat (Johnson & Maltz).
- ``manhattan``: vehicles on a grid of roads ``block_m`` apart; at each intersection a
  vehicle turns left or right with probability ``turn_prob`` (half each), else goes
  straight; it makes a U-turn at the area's edge.
- ``highway``: vehicles in ``lanes`` lanes per direction along the x axis through the middle
  of the area, at a constant per-vehicle speed, wrapping around at the ends.

Each model owns the positions of its group; :class:`Mobility` holds the groups and writes
into one (n, 2) position array shared with the model's state table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from agents.scenario import Area, MobilitySpec

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


class MobilityModel:
    """Moves the devices at ``idx`` (rows of the shared position array)."""

    def __init__(self, spec: MobilitySpec, area: Area, idx: IntArray) -> None:
        self.spec, self.area, self.idx = spec, area, idx
        self.n = int(idx.size)

    def place(self, rng: np.random.Generator) -> FloatArray:
        """(n, 2) initial positions, m."""
        return np.column_stack([rng.uniform(0, self.area.width_m, self.n),
                                rng.uniform(0, self.area.height_m, self.n)])

    def advance(self, pos: FloatArray, dt_s: float, rng: np.random.Generator) -> FloatArray:
        """(n, 2) positions after ``dt_s`` seconds (``pos`` is this group's rows)."""
        return pos

    def _speeds(self, rng: np.random.Generator, n: int) -> FloatArray:
        return rng.uniform(self.spec.speed_min_mps, self.spec.speed_max_mps, n)


class Static(MobilityModel):
    """Devices that never move."""


class RandomWaypoint(MobilityModel):
    """Random waypoint with pauses."""

    def place(self, rng: np.random.Generator) -> FloatArray:
        pos = super().place(rng)
        self.target = super().place(rng)
        self.speed = self._speeds(rng, self.n)
        self.pause_left = np.zeros(self.n)
        return pos

    def advance(self, pos: FloatArray, dt_s: float, rng: np.random.Generator) -> FloatArray:
        if self.n == 0:
            return pos
        moving_time = np.maximum(dt_s - self.pause_left, 0.0)
        self.pause_left = np.maximum(self.pause_left - dt_s, 0.0)
        delta = self.target - pos
        dist = np.hypot(delta[:, 0], delta[:, 1])
        step = self.speed * moving_time
        arrived = step >= dist
        frac = np.divide(step, dist, out=np.ones_like(dist), where=dist > 0)
        new = np.where(arrived[:, None], self.target, pos + delta * frac[:, None])
        # Arrived devices pause, then head for a fresh waypoint at a fresh speed
        # (one draw per device keeps the random stream independent of who arrived).
        fresh_target = super().place(rng)
        fresh_speed = self._speeds(rng, self.n)
        self.target = np.where(arrived[:, None], fresh_target, self.target)
        self.speed = np.where(arrived, fresh_speed, self.speed)
        self.pause_left = np.where(arrived, self.spec.pause_s, self.pause_left)
        return new


class Manhattan(MobilityModel):
    """Vehicles on a Manhattan grid of roads (one turn decision per intersection)."""

    def place(self, rng: np.random.Generator) -> FloatArray:
        b = self.spec.block_m
        self.nx = max(int(self.area.width_m // b), 1)  # vertical roads at x = k·b
        self.ny = max(int(self.area.height_m // b), 1)
        self.axis = rng.integers(0, 2, self.n)  # 0: along x (horizontal road), 1: along y
        self.sign = rng.choice(np.array([-1.0, 1.0]), self.n)
        self.speed = self._speeds(rng, self.n)
        along_x = rng.uniform(0, self.area.width_m, self.n)
        along_y = rng.uniform(0, self.area.height_m, self.n)
        road_y = rng.integers(0, self.ny + 1, self.n) * b
        road_x = rng.integers(0, self.nx + 1, self.n) * b
        x = np.where(self.axis == 0, along_x, np.minimum(road_x, self.area.width_m))
        y = np.where(self.axis == 0, np.minimum(road_y, self.area.height_m), along_y)
        return np.column_stack([x, y])

    def advance(self, pos: FloatArray, dt_s: float, rng: np.random.Generator) -> FloatArray:
        if self.n == 0:
            return pos
        b = self.spec.block_m
        limits = np.array([self.area.width_m, self.area.height_m])
        rows = np.arange(self.n)
        p = pos.copy()
        remaining = self.speed * dt_s
        turn_draw = rng.random(self.n)
        side_draw = rng.random(self.n)
        # Distance to the next intersection along the current axis.
        coord = p[rows, self.axis]
        nxt = np.where(self.sign > 0, (np.floor(coord / b) + 1) * b, (np.ceil(coord / b) - 1) * b)
        to_int = np.abs(nxt - coord)
        to_int = np.where(to_int <= 1e-9, b, to_int)
        reach = remaining >= to_int
        first = np.where(reach, to_int, remaining)
        p[rows, self.axis] = coord + self.sign * first
        remaining = remaining - first
        # At the intersection: maybe turn onto the crossing road.
        turn = reach & (turn_draw < self.spec.turn_prob)
        self.axis = np.where(turn, 1 - self.axis, self.axis)
        self.sign = np.where(turn, np.where(side_draw < 0.5, -1.0, 1.0), self.sign)
        coord = p[rows, self.axis] + self.sign * remaining
        p[rows, self.axis] = coord
        # U-turn at the edges of the area (reflect).
        lim = limits[self.axis]
        over, under = coord > lim, coord < 0
        p[rows, self.axis] = np.where(over, 2 * lim - coord, np.where(under, -coord, coord))
        self.sign = np.where(over | under, -self.sign, self.sign)
        return np.clip(p, 0.0, limits)


class Highway(MobilityModel):
    """Vehicles on a multi-lane two-way highway along the x axis (wrap-around)."""

    def place(self, rng: np.random.Generator) -> FloatArray:
        lanes, w = self.spec.lanes, self.spec.lane_width_m
        lane = rng.integers(0, 2 * lanes, self.n)
        self.sign = np.where(lane < lanes, 1.0, -1.0)
        centre = self.area.height_m / 2.0
        offset = (lane - lanes + 0.5) * w
        self.speed = self._speeds(rng, self.n)
        x = rng.uniform(0, self.area.width_m, self.n)
        return np.column_stack([x, np.clip(centre + offset, 0, self.area.height_m)])

    def advance(self, pos: FloatArray, dt_s: float, rng: np.random.Generator) -> FloatArray:
        p = pos.copy()
        p[:, 0] = np.mod(p[:, 0] + self.sign * self.speed * dt_s, self.area.width_m)
        return p


MODELS: dict[str, type[MobilityModel]] = {
    "static": Static,
    "random_waypoint": RandomWaypoint,
    "manhattan": Manhattan,
    "highway": Highway,
}


@dataclass
class Mobility:
    """All devices' mobility: one model per group of devices sharing a MobilitySpec."""

    groups: list[MobilityModel]
    pos: FloatArray

    @classmethod
    def build(cls, specs: list[MobilitySpec], group_of: IntArray, area: Area,
              rng: np.random.Generator) -> Mobility:
        """``specs[g]`` moves the devices with ``group_of == g``; places them all."""
        pos = np.zeros((group_of.size, 2))
        groups = []
        for g, spec in enumerate(specs):
            idx = np.flatnonzero(group_of == g)
            model = MODELS[spec.model](spec, area, idx)
            pos[idx] = model.place(rng)
            groups.append(model)
        return cls(groups=groups, pos=pos)

    def advance(self, dt_s: float, rng: np.random.Generator) -> FloatArray:
        """Move everyone by ``dt_s`` seconds; returns (n,) metres moved by each device."""
        old = self.pos.copy()
        for model in self.groups:
            if model.n:
                self.pos[model.idx] = model.advance(self.pos[model.idx], dt_s, rng)
        d = self.pos - old
        return np.hypot(d[:, 0], d[:, 1])
