"""Pricing and bidding strategies, pluggable by name, in the scikit-learn style.

A strategy is a small class whose parameters are the keyword arguments of ``__init__``
(stored under the same names), registered with ``@register_strategy(name)`` and built from
a scenario with ``get_strategy(name, kind=..., **params)``. One instance acts for a whole
group of agents at once, on arrays, so the hot path stays vectorized:

- node strategies: ``quote(obs) -> (n, 4)`` ask prices (credits/unit) from a
  :class:`NodeObservation`, and ``update(obs)`` after the round is cleared;
- device strategies: ``bid(value, budget, obs) -> (n,)`` bid values (credits per bundle),
  ``update(served, paid, value, obs)`` after the round, and optionally ``sells(obs)``, the
  broker switch of their devices at the start of a round. ``obs`` is a
  :class:`DeviceObservation`: for each device of the group, the same local features a
  learning device sees in the RL envs (built by one code path,
  :mod:`agents.learning.observations`), plus which device made each request. Strategies
  written for the older ``bid(value, budget)`` / ``update(served, paid, value)`` still run
  (they are called without ``obs``); a ``bid`` that cannot take ``(value, budget)`` is
  refused when it is registered. Brokers price with a *node* strategy
  (``devices.broker_strategy``, :mod:`agents.brokers`).

Learned state lives in attributes with a trailing underscore, created on first use for the
group's size (``fit``-like), and ``reset()`` forgets it. A user strategy is one small
subclass (see docs/scenarios.md).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import numpy as np
from numpy.typing import NDArray

from market import pricing

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class NodeObservation:
    """What a node-pricing strategy sees for its n nodes (all arrays (n, 4), per resource).

    cost: marginal cost incl. energy, credits/unit. capacity: units offered per round.
    last_ask: the node's previous ask price. sold: units sold last round. demand: units
    wanted last round in the node's market (all bids at their maximum). market_price:
    last clearing price in the node's market (nan if nothing traded). sla_rate: (n,) share
    of the requests the node mainly served last round that met every QoAIS requirement
    (1.0 when it served none) -- the node's QoAIS feedback.
    """

    round: int
    cost: FloatArray
    capacity: FloatArray
    last_ask: FloatArray
    sold: FloatArray
    demand: FloatArray
    market_price: FloatArray
    sla_rate: FloatArray | None = None


@dataclass(frozen=True)
class DeviceObservation:
    """What a device strategy sees of its k devices: their state at the end of the last
    round (before the first round: at the start), per device row ``rows`` (k,).

    budget: credits left / the scenario's initial budget. battery: charge / capacity.
    is_broker: 1.0 if the device sells idle resources. shade: the bid shading of its last
    bids, 1 − Σ bid / Σ value (kept while it makes no request). served: share of its last
    round's requests served. utility: last round's value of what it got − what it paid +
    broker income − broker true cost, over its service class's value. price: (k, 4)
    clearing price / marginal cost at its attached node per resource (0 if unattached or
    nothing traded). attached: 1.0 if attached to a node. request: (r,) for ``bid`` and
    ``update``, the position in ``rows`` of each request's device (empty for ``sells``).
    """

    round: int
    rows: IntArray
    budget: FloatArray
    battery: FloatArray
    is_broker: FloatArray
    shade: FloatArray
    served: FloatArray
    utility: FloatArray
    price: FloatArray
    attached: FloatArray
    request: IntArray


class Strategy:
    """Base class: parameters in ``__init__``, ``get_params``, ``reset`` and a registry kind."""

    #: "node" or "device"; set by the subclasses below.
    kind: ClassVar[str] = ""
    #: Registry name, set by :func:`register_strategy`.
    name: ClassVar[str] = ""

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values()
                if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]

    def get_params(self) -> dict[str, Any]:
        """The constructor parameters."""
        return {k: getattr(self, k) for k in self._param_names()}

    def reset(self) -> None:
        """Forget learned state (attributes ending in ``_``)."""
        for k in [k for k in vars(self) if k.endswith("_") and not k.startswith("_")]:
            delattr(self, k)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


class NodeStrategy(Strategy):
    """Prices the resources of a group of edge nodes (or, as ``devices.broker_strategy``,
    of every broker)."""

    kind = "node"

    def for_role(self, role: str) -> None:
        """Told once, before the first quote, whom it prices for: "node" (the default) or
        "broker" (agents.brokers). Default: nothing; a learned policy picks its module."""
        return None

    def quote(self, obs: NodeObservation, rng: np.random.Generator) -> FloatArray:
        """(n, 4) ask prices in credits/unit for this round."""
        raise NotImplementedError

    def update(self, obs: NodeObservation, rng: np.random.Generator) -> None:
        """Learn from the round just cleared (``obs`` holds its outcome). Default: nothing."""
        return None


class DeviceStrategy(Strategy):
    """Bids for a group of devices (brokers price with a node strategy: agents/brokers.py)."""

    kind = "device"
    #: False: ``bid`` and ``update`` ignore ``obs``, and the model builds none for them.
    observes: ClassVar[bool] = True

    def bid(self, value: FloatArray, budget: FloatArray,
            obs: DeviceObservation | None = None) -> FloatArray:
        """(n,) bid in credits per bundle for requests worth ``value`` credits; request i
        comes from device ``obs.rows[obs.request[i]]``."""
        raise NotImplementedError

    def update(self, served: FloatArray, paid: FloatArray, value: FloatArray,
               obs: DeviceObservation | None = None) -> None:
        """Learn from the round: per request bundles served, credits paid, value; ``obs``
        is the state after the round. Default: nothing."""
        return None

    def sells(self, obs: DeviceObservation) -> NDArray[np.bool_] | None:
        """(k,) whether each device sells its idle resources as a broker this round (the
        RL broker switch); None (the default) leaves the scenario's brokers as they are."""
        return None


_TAKES_OBS: dict[tuple[type, str], bool] = {}


def _takes_obs(cls: type, name: str, n_args: int) -> bool:
    """Whether method ``name`` of ``cls`` accepts ``obs`` after its ``n_args`` positional
    arguments (cached per class: the model asks every round)."""
    key = (cls, name)
    if key not in _TAKES_OBS:
        params = list(inspect.signature(getattr(cls, name)).parameters.values())[1:]  # self
        positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        _TAKES_OBS[key] = (any(p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL) or p.name == "obs"
                               for p in params) or len(positional) > n_args)
    return _TAKES_OBS[key]


def _check_signature(cls: type, name: str, args: tuple[str, ...]) -> None:
    """Refuse a device strategy whose ``name`` method cannot be called with ``args``."""
    fn = getattr(cls, name)
    try:
        inspect.signature(fn).bind(None, *args)
    except TypeError:
        want = ", ".join(args)
        raise TypeError(f"device strategy {cls.__name__}: {name}() must accept ({want}[, obs]); "
                        f"it is {name}{inspect.signature(fn)}") from None


def device_bid(strategy: DeviceStrategy, value: FloatArray, budget: FloatArray,
               obs: DeviceObservation | None) -> FloatArray:
    """``strategy.bid`` with the observation, or without it for an old-style strategy."""
    if _takes_obs(type(strategy), "bid", 2):
        return strategy.bid(value, budget, obs)
    return strategy.bid(value, budget)


def device_update(strategy: DeviceStrategy, served: FloatArray, paid: FloatArray,
                  value: FloatArray, obs: DeviceObservation | None) -> None:
    """``strategy.update`` with the observation, or without it for an old-style strategy."""
    if _takes_obs(type(strategy), "update", 3):
        strategy.update(served, paid, value, obs)
    else:
        strategy.update(served, paid, value)


def decides_brokers(strategy: DeviceStrategy) -> bool:
    """Whether the strategy overrides ``sells`` (so the model builds it an observation)."""
    return type(strategy).sells is not DeviceStrategy.sells


# --- registry --------------------------------------------------------------------------------

_REGISTRY: dict[tuple[str, str], type[Strategy]] = {}
S = TypeVar("S", bound=type[Strategy])


def register_strategy(name: str) -> Callable[[S], S]:
    """Class decorator: make a NodeStrategy/DeviceStrategy subclass available by name."""

    def deco(cls: S) -> S:
        if not (isinstance(cls, type) and issubclass(cls, NodeStrategy | DeviceStrategy)):
            raise TypeError(f"{cls!r} is not a NodeStrategy or DeviceStrategy subclass")
        if issubclass(cls, DeviceStrategy):
            _check_signature(cls, "bid", ("value", "budget"))
            _check_signature(cls, "update", ("served", "paid", "value"))
        key = (cls.kind, name)
        if key in _REGISTRY and _REGISTRY[key] is not cls:
            raise ValueError(f"{cls.kind} strategy {name!r} is already registered")
        cls.name = name
        _REGISTRY[key] = cls
        return cls

    return deco


def available_strategies(kind: str | None = None) -> list[str]:
    """Registered strategy names (of one kind: "node" or "device"), sorted."""
    return sorted({n for k, n in _REGISTRY if kind is None or k == kind})


def get_strategy(name: str, kind: str | None = None, **params: Any) -> Strategy:
    """A new strategy instance; ValueError if unknown, TypeError for bad parameters."""
    kinds = [k for k, n in _REGISTRY if n == name and (kind is None or k == kind)]
    if len(kinds) != 1:
        what = f"{kind} strategy" if kind else "strategy"
        known = ", ".join(available_strategies(kind))
        if len(kinds) > 1:
            raise ValueError(f"strategy {name!r} exists for several kinds; pass kind=")
        raise ValueError(f"unknown {what} {name!r} (available: {known})")
    cls = _REGISTRY[(kinds[0], name)]
    try:
        return cls(**params)
    except ValueError as exc:  # parameter out of range: report it as a bad parameter
        raise TypeError(str(exc)) from None


# --- node strategies -----------------------------------------------------------------------


@register_strategy("fixed_markup")
class FixedMarkup(NodeStrategy):
    """Ask = marginal cost × (1 + markup): the simplest cost-plus pricing."""

    def __init__(self, markup: float = 0.3) -> None:
        if markup < 0:
            raise ValueError("markup must be >= 0")
        self.markup = markup

    def quote(self, obs: NodeObservation, rng: np.random.Generator) -> FloatArray:
        return obs.cost * (1.0 + self.markup)


@register_strategy("tatonnement")
class TatonnementPricing(NodeStrategy):
    """Walrasian price adjustment per node and resource on the node's own excess demand.

    Uses the market's rule (:class:`market.pricing.TatonnementRule`): the ask moves by
    ``exp(eta·z)`` with z = (D − S)/(D + S), D the node's pro-rata share of the demand in its
    market and S its capacity, never below marginal cost. ``decay`` = 0 keeps the step size
    constant, which suits a market whose demand keeps moving.
    """

    def __init__(self, rate: float = 0.3, decay: float = 0.0, initial_markup: float = 0.3) -> None:
        if initial_markup < 0:
            raise ValueError("initial_markup must be >= 0")
        pricing.TatonnementRule(rate=rate, decay=decay)  # validates rate and decay
        self.rate, self.decay, self.initial_markup = rate, decay, initial_markup

    def quote(self, obs: NodeObservation, rng: np.random.Generator) -> FloatArray:
        if not hasattr(self, "price_") or self.price_.shape != obs.cost.shape:
            self.price_ = obs.cost * (1.0 + self.initial_markup)
            self.rule_ = pricing.TatonnementRule(rate=self.rate, decay=self.decay)
        return np.maximum(self.price_, obs.cost)

    def update(self, obs: NodeObservation, rng: np.random.Generator) -> None:
        if not hasattr(self, "price_"):
            return
        self.price_ = self.rule_.update(self.price_, obs.demand, obs.capacity, floor=obs.cost)


@register_strategy("zip")
class ZIP(NodeStrategy):
    """Cliff's Zero-Intelligence-Plus seller, one learner per (node, resource).

    Each keeps a profit margin μ (ask = cost × (1 + μ)) and moves its ask toward a target
    just above the market price when it sold (raise: it could have asked more) or just below
    it when it failed to sell (lower), by the Widrow-Hoff rule with learning rate β and
    momentum γ (Cliff 1997, HP Labs HPL-97-141). β, γ and the initial μ are drawn per learner.
    """

    def __init__(self, beta_min: float = 0.1, beta_max: float = 0.5, gamma_max: float = 0.1,
                 margin_min: float = 0.05, margin_max: float = 0.35, sold_threshold: float = 0.9,
                 r_max: float = 0.05, a_max: float = 0.05) -> None:
        if not 0 < beta_min <= beta_max <= 1:
            raise ValueError("need 0 < beta_min <= beta_max <= 1")
        if not 0 <= gamma_max < 1:
            raise ValueError("gamma_max must be in [0, 1)")
        if not 0 <= margin_min <= margin_max:
            raise ValueError("need 0 <= margin_min <= margin_max")
        self.beta_min, self.beta_max, self.gamma_max = beta_min, beta_max, gamma_max
        self.margin_min, self.margin_max = margin_min, margin_max
        self.sold_threshold, self.r_max, self.a_max = sold_threshold, r_max, a_max

    def _init_state(self, shape: tuple[int, ...], rng: np.random.Generator) -> None:
        self.margin_ = rng.uniform(self.margin_min, self.margin_max, shape)
        self.beta_ = rng.uniform(self.beta_min, self.beta_max, shape)
        self.gamma_ = rng.uniform(0.0, self.gamma_max, shape)
        self.momentum_ = np.zeros(shape)

    def quote(self, obs: NodeObservation, rng: np.random.Generator) -> FloatArray:
        if not hasattr(self, "margin_") or self.margin_.shape != obs.cost.shape:
            self._init_state(obs.cost.shape, rng)
        return obs.cost * (1.0 + self.margin_)

    def update(self, obs: NodeObservation, rng: np.random.Generator) -> None:
        if not hasattr(self, "margin_"):
            return
        cost = obs.cost
        ask = cost * (1.0 + self.margin_)
        q = obs.market_price
        traded = np.isfinite(q)
        offered = obs.capacity > 0
        sold_well = obs.sold >= self.sold_threshold * obs.capacity
        r1 = rng.uniform(1.0, 1.0 + self.r_max, cost.shape)
        a1 = rng.uniform(0.0, self.a_max, cost.shape) * cost
        r2 = rng.uniform(1.0 - self.r_max, 1.0, cost.shape)
        a2 = rng.uniform(0.0, self.a_max, cost.shape) * cost
        qq = np.where(traded, q, ask)
        raise_ = offered & traded & sold_well & (ask <= qq)
        # Unsold capacity: undercut the market price, or drift toward cost if nothing traded.
        lower = offered & ~sold_well
        target = np.where(raise_, qq * r1 + a1,
                          np.where(lower, np.where(traded, qq * r2 - a2, ask * r2), ask))
        delta = self.beta_ * (target - ask)
        self.momentum_ = self.gamma_ * self.momentum_ + (1.0 - self.gamma_) * delta
        new_ask = ask + np.where(raise_ | lower, self.momentum_, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            margin = np.where(cost > 0, new_ask / cost - 1.0, self.margin_)
        self.margin_ = np.clip(margin, 0.0, 10.0)


# --- device strategies ----------------------------------------------------------------------


@register_strategy("truthful")
class Truthful(DeviceStrategy):
    """Bid the request's true value (capped by the budget)."""

    observes = False

    def bid(self, value: FloatArray, budget: FloatArray,
            obs: DeviceObservation | None = None) -> FloatArray:
        return np.minimum(value, budget)


@register_strategy("shading")
class Shading(DeviceStrategy):
    """Bid a fixed fraction below value: ``value × (1 - shade)`` (capped by the budget)."""

    observes = False

    def __init__(self, shade: float = 0.2) -> None:
        if not 0 <= shade < 1:
            raise ValueError("shade must be in [0, 1)")
        self.shade = shade

    def bid(self, value: FloatArray, budget: FloatArray,
            obs: DeviceObservation | None = None) -> FloatArray:
        return np.minimum(value * (1.0 - self.shade), budget)


# The learned strategies ("rllib" for nodes, brokers and devices,
# agents.learning.policy_strategy) register themselves on import; importing them here makes
# them available wherever the registry is. They import neither Ray nor torch until a policy
# is actually queried.
from agents.learning import policy_strategy as _policy_strategy  # noqa: E402, F401
