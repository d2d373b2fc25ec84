"""Local observations of learning agents, built from arrays (one builder for envs and runs).

:class:`NodeFeatures` turns what a node-pricing strategy sees each round
(:class:`agents.strategies.NodeObservation`: cost, capacity, last ask, units sold, demand,
market price) into a fixed-size float32 vector per node, with a short history. The RL envs
*and* the ``rllib`` strategy used in ordinary runs build observations with this same class,
so a trained policy sees in a run exactly what it saw in training.

Per node, for each of the last ``history`` rounds (most recent first), per resource
(communication, caching, computation, learning):

- ``util``: units sold / capacity (own utilization), in [0, 1];
- ``demand``: units wanted in its market (its pro-rata share) / capacity, clipped to [0, 4];
- ``price``: the market's clearing price / own marginal cost (0 if nothing traded),
  clipped to [0, 10];
- ``ask``: own ask / marginal cost, clipped to [0, 10];

then ``cap_share`` (4): the credit value of each resource's capacity (capacity × cost) as a
share of the node's total (what it mostly sells), ``qoais`` (1): QoAIS feedback, the SLA
rate of the requests it served last round when the observation carries one (field
``sla_rate`` of the NodeObservation; 1.0 otherwise), and ``valid`` (history): 1 for history
slots already filled. Everything is clipped into the Box ``[0, 10]``.

:class:`DeviceFeatures` does the same for learning devices (budget, battery, broker flag,
last shade, served share, prices at the attached node).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from market.resources import N_RESOURCES

FloatArray = NDArray[np.float64]
F32Array = NDArray[np.float32]

#: Upper bound of every observation feature (the Box is [0, OBS_HIGH]).
OBS_HIGH = 10.0
_PER_ROUND = ("util", "demand", "price", "ask")
_RESOURCES = ("comm", "cache", "compute", "learn")


def node_feature_names(history: int) -> list[str]:
    """Names of the node observation columns, in order."""
    names = [f"{what}_{res}_t-{h}" for h in range(history) for what in _PER_ROUND
             for res in _RESOURCES]
    names += [f"cap_share_{res}" for res in _RESOURCES]
    names += ["qoais"]
    names += [f"valid_t-{h}" for h in range(history)]
    return names


def node_obs_dim(history: int) -> int:
    """Length of a node observation."""
    return len(node_feature_names(history))


class NodeFeatures:
    """Rolling node observations for n nodes (``push`` after each round, ``features`` before)."""

    def __init__(self, history: int = 2) -> None:
        self.history = int(history)
        self._buf: FloatArray | None = None  # (history, n, 16) most recent first
        self._valid: FloatArray | None = None  # (history,)
        self._cap_share: FloatArray | None = None
        self._qoais: FloatArray | None = None

    @property
    def dim(self) -> int:
        """Observation length."""
        return node_obs_dim(self.history)

    def reset(self) -> None:
        """Forget the history (a new episode or run)."""
        self._buf = self._valid = self._cap_share = self._qoais = None

    def _ensure(self, n: int) -> None:
        if self._buf is None or self._buf.shape[1] != n:
            self._buf = np.zeros((self.history, n, 4 * N_RESOURCES))
            self._valid = np.zeros(self.history)
            self._qoais = np.ones(n)

    def push(self, obs: object) -> None:
        """Record the outcome of a cleared round (a NodeObservation or any object with its fields)."""
        cost = np.asarray(obs.cost, dtype=np.float64)  # type: ignore[attr-defined]
        cap = np.asarray(obs.capacity, dtype=np.float64)  # type: ignore[attr-defined]
        n = cost.shape[0]
        self._ensure(n)
        assert self._buf is not None and self._valid is not None
        with np.errstate(divide="ignore", invalid="ignore"):
            safe_cap = np.where(cap > 0, cap, 1.0)
            safe_cost = np.where(cost > 0, cost, 1.0)
            util = np.where(cap > 0, np.asarray(obs.sold) / safe_cap, 0.0)  # type: ignore[attr-defined]
            demand = np.where(cap > 0, np.asarray(obs.demand) / safe_cap, 0.0)  # type: ignore[attr-defined]
            price = np.nan_to_num(np.asarray(obs.market_price) / safe_cost, nan=0.0)  # type: ignore[attr-defined]
            ask = np.asarray(obs.last_ask) / safe_cost  # type: ignore[attr-defined]
        row = np.concatenate([np.clip(util, 0, 1), np.clip(demand, 0, 4),
                              np.clip(price, 0, OBS_HIGH), np.clip(ask, 0, OBS_HIGH)], axis=1)
        self._buf = np.roll(self._buf, 1, axis=0)
        self._buf[0] = row
        self._valid = np.roll(self._valid, 1)
        self._valid[0] = 1.0
        sla = getattr(obs, "sla_rate", None)
        self._qoais = np.ones(n) if sla is None else np.clip(np.asarray(sla, dtype=np.float64), 0, 1)
        self._cap_share = self._capacity_share(cost, cap)

    @staticmethod
    def _capacity_share(cost: FloatArray, cap: FloatArray) -> FloatArray:
        worth = np.maximum(cost, 0.0) * np.maximum(cap, 0.0)
        tot = worth.sum(axis=1, keepdims=True)
        return np.divide(worth, tot, out=np.full_like(worth, 1.0 / N_RESOURCES), where=tot > 0)

    def features(self, obs: object | None = None) -> F32Array:
        """(n, dim) float32 observations from the history (``obs`` gives n and capacity
        before the first round)."""
        if self._buf is None:
            if obs is None:
                raise ValueError("no round recorded yet: pass the current NodeObservation")
            cost = np.asarray(obs.cost, dtype=np.float64)  # type: ignore[attr-defined]
            cap = np.asarray(obs.capacity, dtype=np.float64)  # type: ignore[attr-defined]
            self._ensure(cost.shape[0])
            self._cap_share = self._capacity_share(cost, cap)
        assert self._buf is not None and self._valid is not None and self._qoais is not None
        n = self._buf.shape[1]
        hist = np.transpose(self._buf, (1, 0, 2)).reshape(n, -1)
        out = np.concatenate([hist, self._cap_share, self._qoais[:, None],
                              np.broadcast_to(self._valid, (n, self.history))], axis=1)
        return np.clip(out, 0.0, OBS_HIGH).astype(np.float32)


# ------------------------------------------------------------------------------ devices

DEVICE_FEATURES = (
    "budget", "battery", "is_broker", "shade", "served", "utility",
    "price_comm", "price_cache", "price_compute", "price_learn", "attached",
)


def device_obs_dim() -> int:
    """Length of a device observation."""
    return len(DEVICE_FEATURES)


def device_features(budget_share: FloatArray, battery_share: FloatArray, is_broker: FloatArray,
                    shade: FloatArray, served_share: FloatArray, utility_share: FloatArray,
                    price_over_cost: FloatArray, attached: FloatArray) -> F32Array:
    """(k, 11) device observations (see DEVICE_FEATURES), clipped into [0, OBS_HIGH]."""
    cols = [np.clip(budget_share, 0, OBS_HIGH), np.clip(battery_share, 0, 1), is_broker,
            shade, np.clip(served_share, 0, 1), np.clip(utility_share + 1.0, 0, OBS_HIGH)]
    out = np.column_stack([*cols, np.clip(np.nan_to_num(price_over_cost, nan=0.0), 0, OBS_HIGH),
                           attached])
    return np.clip(out, 0.0, OBS_HIGH).astype(np.float32)


def unsquash(a: NDArray[np.float64] | NDArray[np.float32], low: NDArray[np.float32] | float,
             high: NDArray[np.float32] | float) -> FloatArray:
    """Map [-1, 1] onto [low, high] (clipped), as RLlib does for normalized Box actions."""
    x = np.clip(np.asarray(a, dtype=np.float64), -1.0, 1.0)
    lo, hi = np.asarray(low, np.float64), np.asarray(high, np.float64)
    return lo + (x + 1.0) * 0.5 * (hi - lo)
