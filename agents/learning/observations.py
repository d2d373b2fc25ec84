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

:class:`DeviceFeedback` keeps every device's state at the end of each round (budget,
battery, broker flag, last bid shading, served share, utility, prices at the attached
node); the model hands slices of it (a :class:`~agents.strategies.DeviceObservation`) to
device strategies, and :func:`device_features` turns one into the float32 vector a
learning device sees, in the envs and in the ``rllib`` device strategy alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from market.resources import N_RESOURCES

if TYPE_CHECKING:  # agents.strategies imports this module (through policy_strategy)
    from agents.strategies import DeviceObservation

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
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

    @property
    def started(self) -> bool:
        """Whether a round was recorded (``features`` then needs no observation)."""
        return self._buf is not None

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
        # Shift the history one round back in place (np.roll's numbers, without a new
        # buffer per round) and write the new round, clipped, into slot 0.
        buf = self._buf
        buf[1:] = buf[:-1]
        r = N_RESOURCES
        np.clip(util, 0, 1, out=buf[0, :, 0:r])
        np.clip(demand, 0, 4, out=buf[0, :, r:2 * r])
        np.clip(price, 0, OBS_HIGH, out=buf[0, :, 2 * r:3 * r])
        np.clip(ask, 0, OBS_HIGH, out=buf[0, :, 3 * r:4 * r])
        self._valid[1:] = self._valid[:-1]
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


def device_features(obs: DeviceObservation) -> F32Array:
    """(k, 11) device observations (see DEVICE_FEATURES) of a DeviceObservation, clipped
    into [0, OBS_HIGH]; utility is shifted by +1 so a loss of up to one class value shows."""
    cols = [np.clip(obs.budget, 0, OBS_HIGH), np.clip(obs.battery, 0, 1), obs.is_broker,
            obs.shade, np.clip(obs.served, 0, 1), np.clip(obs.utility + 1.0, 0, OBS_HIGH)]
    out = np.column_stack([*cols, np.clip(np.nan_to_num(obs.price, nan=0.0), 0, OBS_HIGH),
                           obs.attached])
    return np.clip(out, 0.0, OBS_HIGH).astype(np.float32)


class DeviceFeedback:
    """Every device's observation state (the fields of
    :class:`~agents.strategies.DeviceObservation`) at the end of the last round.

    The model records it once per round (``record``, after settlement) and hands slices of
    it to device strategies (``observation``); the RL envs read the same slices for their
    learning devices, so a trained device policy sees in ``edgemarket run`` what it saw in
    training. Before the first round it holds the initial state (``capture``).
    """

    def __init__(self, n: int) -> None:
        self.round = 0
        self.shade = np.zeros(n)
        self.served = np.zeros(n)
        self.utility = np.zeros(n)
        self.budget = np.ones(n)
        self.battery = np.ones(n)
        self.is_broker = np.zeros(n)
        self.price = np.zeros((n, N_RESOURCES))
        self.attached = np.zeros(n)

    def capture(self, model: Any) -> None:
        """Copy the devices' state (budget, battery, broker flag, attachment and the
        clearing price over marginal cost at the attached node) from the model."""
        dev, nodes = model.devices, model.nodes
        n = dev.uid.size
        self.round = int(model.steps)
        self.budget = dev.budget_credits / max(model.scenario.devices.budget_credits, 1e-9)
        self.battery = np.divide(dev.battery_j, dev.battery_capacity_j, out=np.zeros(n),
                                 where=dev.battery_capacity_j > 0)
        self.is_broker = dev.is_broker.astype(np.float64)
        att = dev.attached
        ok = att >= 0
        self.attached = ok.astype(np.float64)
        # Per node first (m rows), then one gather; a last zero row serves the unattached
        # (att = -1): masked division and assignment over n device rows cost ~50x more.
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.nan_to_num(nodes.market_price / nodes.cost, nan=0.0, posinf=0.0)
        ratio = np.vstack([ratio.reshape(-1, N_RESOURCES), np.zeros((1, N_RESOURCES))])
        self.price = ratio.take(att, axis=0)

    def record(self, model: Any, device: IntArray, bid: FloatArray, value: FloatArray,
               served: FloatArray, paid: FloatArray) -> None:
        """After a settled round: per request its device, the strategy's bid, its value,
        bundles served and payment; broker income and sales come from the device table."""
        dev = model.devices
        n = dev.uid.size
        n_req = np.bincount(device, minlength=n)
        asked = n_req > 0
        bid_sum = np.bincount(device, weights=bid, minlength=n)
        val_sum = np.bincount(device, weights=value, minlength=n)
        self.shade = np.where(asked & (val_sum > 0),
                              1.0 - np.divide(bid_sum, val_sum, out=np.ones(n), where=val_sum > 0),
                              self.shade)
        self.served = np.divide(np.bincount(device, weights=served, minlength=n), n_req,
                                out=np.zeros(n), where=asked)
        got = np.bincount(device, weights=served * value, minlength=n)
        spent = np.bincount(device, weights=paid, minlength=n)
        utility = got - spent + broker_margin(dev)
        cls_value = model.classes.value_credits[dev.cls]
        self.utility = np.divide(utility, cls_value, out=np.zeros(n), where=cls_value > 0)
        self.capture(model)

    def observation(self, rows: IntArray, request_device: IntArray | None = None) -> DeviceObservation:
        """The DeviceObservation of the devices at ``rows`` (sorted); ``request_device``:
        the device row of each request (all in ``rows``)."""
        from agents.strategies import DeviceObservation

        rows = np.asarray(rows, dtype=np.int64)
        n = self.shade.size
        if rows.size == n:  # every device (sorted, unique): rows is arange(n); no gathers
            req = (np.zeros(0, np.int64) if request_device is None
                   else np.asarray(request_device, np.int64))
            return DeviceObservation(
                round=self.round, rows=rows, budget=self.budget, battery=self.battery,
                is_broker=self.is_broker, shade=self.shade, served=self.served,
                utility=self.utility, price=self.price, attached=self.attached, request=req)
        req = (np.zeros(0, np.int64) if request_device is None
               else np.searchsorted(rows, request_device).astype(np.int64))
        return DeviceObservation(
            round=self.round, rows=rows, budget=self.budget[rows], battery=self.battery[rows],
            is_broker=self.is_broker[rows], shade=self.shade[rows], served=self.served[rows],
            utility=self.utility[rows], price=self.price[rows], attached=self.attached[rows],
            request=req)


def broker_margin(dev: Any) -> FloatArray:
    """(n,) each device's broker income last round minus the true cost of what it sold."""
    margin = np.array(dev.broker_income_credits, dtype=np.float64)
    # Few devices sell: only their rows (a flat scan; .any(axis=1) costs 20x more).
    # flatnonzero is ascending, so the distinct rows are where the row changes (np.unique
    # would sort it again).
    rows = np.flatnonzero(dev.sold.reshape(-1)) // N_RESOURCES
    if rows.size > 1:
        rows = rows[np.concatenate(([True], rows[1:] != rows[:-1]))]
    sold = dev.sold[rows]
    cost = np.where(sold > 0, dev.cost[rows], 0.0)  # an unsold resource's cost may be inf
    margin[rows] -= (sold * cost).sum(axis=1)
    return margin


def encode_unified(features: F32Array, role: str, roles: tuple[str, ...] | list[str],
                   width: int) -> F32Array:
    """(k, d) features of ``role`` -> (k, width) unified observations: the role's one-hot
    over ``roles``, then the features, zero-padded (envs and ``rllib`` strategies alike)."""
    out = np.zeros((features.shape[0], width), np.float32)
    out[:, list(roles).index(role)] = 1.0
    out[:, len(roles):len(roles) + features.shape[1]] = features
    return out


def unsquash(a: NDArray[np.float64] | NDArray[np.float32], low: NDArray[np.float32] | float,
             high: NDArray[np.float32] | float) -> FloatArray:
    """Map [-1, 1] onto [low, high] (clipped), as RLlib does for normalized Box actions."""
    x = np.clip(np.asarray(a, dtype=np.float64), -1.0, 1.0)
    lo, hi = np.asarray(low, np.float64), np.asarray(high, np.float64)
    return lo + (x + 1.0) * 0.5 * (hi - lo)
